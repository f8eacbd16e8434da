"""The diagram's lane legend: chips for a few lanes, a searchable chooser for many."""

from __future__ import annotations

import sys

from conftest import ROOT

from lanedesign.model import Service
from lanedesign.widgets import Designer
from lanedesign.widgets.legend import CHIP_LANES

sys.path.insert(0, str(ROOT))
from benchmarks.generate import synthetic_design


def test_a_few_lanes_are_a_chip_each_and_no_chooser():
    designer = Designer("mock-baggage")
    panel = designer.diagram
    assert [chip[0] for chip in panel.canvas.lanes] == ["s1", "s2", "s3"]
    assert panel.canvas.lanes[0][2] == "s1 (baseline)"
    assert panel.legend.widget.layout.display == "none"
    assert panel.lane.layout.display == ""  # the plain lane menu


def test_fifty_lanes_are_a_chooser_and_chips_for_the_lanes_drawn():
    designer = Designer(synthetic_design(50, 50))
    panel = designer.diagram
    lanes = list(designer.design.lane_names)
    assert len(lanes) == 50 > CHIP_LANES
    assert panel.legend.widget.layout.display == ""
    assert list(panel.legend.find.options) == lanes  # every lane can be found by typing
    chips = [chip[0] for chip in panel.canvas.lanes]
    assert 1 <= len(chips) <= 3 and panel.shown_lane in chips and "base" in chips
    assert panel.legend.find.value == panel.shown_lane
    assert "of 50 lanes" in panel.legend.count.value
    assert panel.lane.layout.display == "none"  # the chooser stands in for the plain menu


def test_choosing_a_lane_in_the_chooser_shows_it_like_a_chip():
    designer = Designer(synthetic_design(50, 50))
    panel = designer.diagram
    panel.legend.find.value = "feat-037"
    assert panel.shown_lane == "feat-037" and panel.canvas.lane == "feat-037"
    assert "feat-037" in [chip[0] for chip in panel.canvas.lanes]
    assert panel.title_html.value.count("feat-037") == 1


def test_text_that_names_no_lane_changes_nothing():
    designer = Designer(synthetic_design(50, 50))
    panel = designer.diagram
    before = panel.shown_lane
    panel.legend.find.value = "feat-9"  # a prefix being typed, not a lane
    assert panel.shown_lane == before


def test_comparing_lanes_puts_each_compared_lane_in_the_legend():
    designer = Designer(synthetic_design(50, 50))
    panel = designer.diagram
    panel.compare.value = ["base", "feat-010", "feat-020"]
    panel.view.value = "compare"
    chips = [chip[0] for chip in panel.canvas.lanes]
    assert {"base", "feat-010", "feat-020"} <= set(chips) and len(chips) < 10


def test_a_redraw_after_an_edit_keeps_what_someone_is_typing_in_the_chooser():
    designer = Designer(synthetic_design(50, 50))
    panel = designer.diagram
    shown = panel.shown_lane
    panel.legend.find.value = "feat-03"  # half typed: no lane of that name yet
    assert panel.shown_lane == shown
    before = designer.design
    designer.state.edit("add a service", lambda d: d.with_service(Service("brand-new")))
    assert designer.design != before
    assert panel.legend.find.value == "feat-03"  # the edit redrew; the typing stays
    other = [lane for lane in designer.design.lane_names if lane != shown][-1]
    panel.show_lane(other)  # a new current lane is put in the chooser
    assert panel.legend.find.value == other
