"""The Lanes tab: membership grid, fallbacks, lanes, baseline and mode; undo restores."""

from __future__ import annotations

import pytest
from synthetic import layered_design
from widget_helpers import dashed_calls, fallback_cells

from lanedesign import examples
from lanedesign.widgets import Designer
from lanedesign.widgets.common import parse_labels


# -- membership, the heart of it --------------------------------------------------------------
def test_unticking_a_service_makes_a_fallback_everywhere_and_undo_restores_it(designer):
    assert fallback_cells(designer) == {("mockb", "s2"), ("mocka", "s3"), ("mockc", "s3")}
    assert dashed_calls(designer) == {"mocka->mockb"}  # lane s2: mocka -> mockb falls back

    designer.show(designer.lanes).checkboxes[("s2", "mockc")].value = False

    assert designer.design.lane("s2").services == ("mocka",)
    assert ("mockc", "s2") in fallback_cells(designer)
    assert "↩ s1" in designer.matrix.output.value
    assert dashed_calls(designer) == {"mocka->mockb", "mockb->mockc"}
    assert "fallback -> s1" in designer.diagram.diagram.source
    assert designer.undo_button.description == "Undo: untick mockc in s2"

    designer.undo()
    assert designer.design == examples.load("mock-baggage")
    assert ("mockc", "s2") not in fallback_cells(designer)
    assert designer.show(designer.lanes).checkboxes[("s2", "mockc")].value is True
    assert designer.undo_button.disabled


def test_ticking_a_service_removes_its_fallback(designer):
    designer.show(designer.lanes).checkboxes[("s2", "mockb")].value = True
    assert designer.design.lane("s2").services == ("mocka", "mockb", "mockc")
    assert ("mockb", "s2") not in fallback_cells(designer)
    assert dashed_calls(designer) == set()


def test_an_edit_that_breaks_the_design_shows_the_finding_not_a_crash(designer):
    designer.show(designer.lanes).checkboxes[("s1", "mockb")].value = False  # the baseline
    codes = [f.code for f in designer.state.findings]
    assert "LD202" in codes
    assert "1 error(s)" in designer.status.value
    assert designer.tabs.titles[4] == f"Findings ({len(codes)})"
    assert "LD202" in designer.show(designer.findings).table.value
    for view in (designer.diagram, designer.matrix):
        designer.show(view)
        assert "The design has 1 error(s)" in view.banner.value
    assert "Cannot show" not in designer.matrix.output.value
    assert "Cannot show" not in designer.diagram.title_html.value
    assert designer.diagram.canvas.svg.startswith("<svg")
    designer.show(designer.export)
    assert "errors before exporting to istio" in designer.export.status.value
    assert designer.export.write.disabled


def test_per_service_fallback_target(designer):
    lanes = designer.show(designer.lanes)
    designer.lanes.checkboxes[("s3", "mockc")].value = True
    menu = lanes.fallbacks["mockc"]
    assert ("s3", "s3") in menu.options
    menu.value = "s3"
    assert designer.design.fallback_map == {"mockc": "s3"}
    assert designer.show(designer.matrix).frame.loc["mockc", "s2"] == "s2"
    designer.show(designer.lanes).checkboxes[("s2", "mockc")].value = False
    assert designer.show(designer.matrix).frame.loc["mockc", "s2"] == "s3"


def test_the_grid_pages_and_filters_large_designs():
    designer = Designer(layered_design(200, 4))
    lanes = designer.show(designer.lanes)
    services, pages = lanes.page_services()
    assert len(services) == 20 and pages == 10
    assert len(lanes.checkboxes) == 20 * 4
    lanes.filter.value = "svc-019"
    assert lanes.page_services() == ([f"svc-019{i}" for i in range(10)], 1)
    lanes.checkboxes[("lane-1", "svc-0190")].value = True
    assert designer.design.lane("lane-1").holds("svc-0190")


# -- lanes ------------------------------------------------------------------------------------
def test_add_rename_relabel_and_remove_a_lane(designer):
    lanes = designer.show(designer.lanes)
    lanes.new_name.value = "s4"
    lanes.widget.children  # noqa: B018
    lanes._add()
    assert designer.design.lane("s4").label_map == {"version": "s4"}
    assert lanes.lane.value == "s4"
    lanes.labels.value = "version=v4, team=pay"
    assert designer.design.lane("s4").label_map == {"version": "v4", "team": "pay"}
    lanes.name.value = "canary"
    lanes.rename.click()
    assert designer.design.lane_names == ("s1", "s2", "s3", "canary")
    lanes.remove.click()
    assert designer.design.lane_names == ("s1", "s2", "s3")


def test_bad_pod_labels_are_a_notice(designer):
    lanes = designer.show(designer.lanes)
    lanes.lane.value = "s2"
    lanes.labels.value = "version v2"
    assert designer.design.lane("s2").label_map == {"version": "v2"}
    assert "is not key=value" in designer.notice.value


def test_baseline_and_strict_mode(designer):
    lanes = designer.show(designer.lanes)
    lanes.mode.value = "strict"
    assert designer.design.mode == "strict"
    assert {f.code for f in designer.state.findings} >= {"LD203"}
    assert all(menu.disabled for menu in lanes.fallbacks.values())
    designer.undo()
    lanes = designer.show(designer.lanes)
    lanes.baseline.value = "s2"
    assert designer.design.baseline == "s2"


@pytest.mark.parametrize(("text", "pairs"), [
    ("version=v2", (("version", "v2"),)),
    (" a=b , c=d ", (("a", "b"), ("c", "d"))),
    ("", ()),
])
def test_parse_labels(text, pairs):
    assert parse_labels(text) == pairs


# -- large designs: what the tab leaves for later ----------------------------------------------
def test_the_lane_grid_pages_its_columns():
    from benchmarks.generate import synthetic_design
    from lanedesign.widgets.lanes import LANE_PAGE_SIZE

    design = synthetic_design(30, LANE_PAGE_SIZE + 5, seed=3)
    designer = Designer(design)
    lanes = designer.show(designer.lanes)
    shown = {lane for lane, _ in lanes.checkboxes}
    assert shown == set(design.lane_names[:LANE_PAGE_SIZE])
    assert lanes.lane_page_label.value == f"lanes 1-{LANE_PAGE_SIZE} of {LANE_PAGE_SIZE + 5}"
    lanes.lane_next.click()
    assert {lane for lane, _ in lanes.checkboxes} == set(design.lane_names[LANE_PAGE_SIZE:])
    assert lanes.lane_next.disabled and not lanes.lane_prev.disabled
    lane, service = next(key for key, box in lanes.checkboxes.items() if not box.value)
    lanes.checkboxes[(lane, service)].value = True  # a tick on the second page edits
    assert designer.design.lane(lane).holds(service)
    assert lanes.lane_page == 1  # and the grid stays on that page
