"""The designer as a whole: state, history, which tabs redraw, large designs."""

from __future__ import annotations

from synthetic import layered_design
from widget_helpers import dashed_calls

from lanedesign.widgets import Designer, DesignState


# -- state and the designer as a whole --------------------------------------------------------
def test_state_records_edits_refuses_bad_ones_and_skips_no_ops(mock):
    state = DesignState(mock)
    seen = []
    state.on_change(lambda: seen.append(state.design))
    assert not state.edit("nothing", lambda d: d)
    assert not state.edit("bad", lambda d: d.with_membership("nope", "mocka", True))
    assert state.notice.startswith("could not bad") and state.design == mock
    assert state.edit("tick", lambda d: d.with_membership("s3", "mocka", True))
    assert state.last_edit == "tick" and len(state.history) == 1
    assert state.undo() and state.design == mock and not state.undo()


def test_only_the_visible_tab_and_the_diagram_beside_it_are_redrawn(designer):
    designer.show(designer.lanes).checkboxes[("s2", "mockc")].value = False
    assert designer.matrix.stale and not designer.lanes.stale
    assert not designer.diagram.stale  # the diagram follows every edit
    assert "mockb->mockc" in dashed_calls(designer)


def test_the_designer_displays_as_a_widget(designer):
    bundle = designer._repr_mimebundle_()
    assert bundle["text/plain"] == "<Designer of lane design 'mock-baggage'>"
    assert "application/vnd.jupyter.widget-view+json" in bundle


def test_a_large_design_stays_drawable():
    designer = Designer(layered_design(1000, 10))
    diagram = designer.show(designer.diagram)
    assert len(diagram.diagram.shown) <= 60 and "left out" in diagram.diagram.note
    diagram.focus.value = "service"
    diagram.service.value = "svc-0500"
    assert diagram.diagram.shown[0] == "svc-0500"
    matrix = designer.show(designer.matrix)
    assert len(matrix.frame) == 40 and matrix.page_label.value == "page 1 of 25 (1000 services)"
    matrix.next.click()
    assert matrix.frame.index[0] == "svc-0040"


def test_a_wide_matrix_shows_fewer_rows_a_page():
    from benchmarks.generate import synthetic_design
    from lanedesign.widgets.views import MATRIX_CELLS

    designer = Designer(synthetic_design(60, 50, seed=3))
    matrix = designer.show(designer.matrix)
    assert len(matrix.frame) == MATRIX_CELLS // 50
    assert matrix.page_label.value.startswith("page 1 of 4 ")
