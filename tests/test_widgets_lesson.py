"""Notebook 01's controls: a lane, a method, who propagates; the chain and headers follow."""

from __future__ import annotations

from lanedesign import examples
from lanedesign.widgets.lesson import LaneExplorer


def test_a_service_that_stops_propagating_sends_the_rest_to_the_baseline():
    explorer = LaneExplorer(examples.load("mock-baggage"))
    assert explorer.lane.value == "s2"
    assert "mockb → mockc" in explorer.hops.value and "no lane context" not in explorer.hops.value
    explorer.propagates["mockb"].value = False
    assert "no lane context: the caller dropped it" in explorer.hops.value
    assert "drops the lane context" in explorer.picture.value
    explorer.propagates["mockb"].value = True
    assert "no lane context" not in explorer.hops.value


def test_the_method_switch_changes_the_headers_each_hop_carries():
    explorer = LaneExplorer(examples.load("mock-baggage"))
    assert "baggage: x-asm-prefer-tag=s2" in explorer.hops.value
    explorer.method.value = "traceId"
    assert "my-trace-id: " in explorer.hops.value and "baggage:" not in explorer.hops.value
    explorer.method.value = "header"
    assert "x-asm-prefer-tag: s2   (the app forwards it)" in explorer.hops.value
    explorer.lane.value = "s3"
    assert "x-asm-prefer-tag: s3   (the app forwards it)" in explorer.hops.value
    assert "lane s3" in explorer.picture.value


def test_notebooks_students_read_carry_tags_not_test_markers():
    import nbformat
    from conftest import ROOT

    for name in ("01-lanes-explained", "02-designer"):
        book = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
        code = [c for c in book.cells if c.cell_type == "code"]
        assert not [c.id for c in code if "NBVAL" in c.source]
        checked = [c for c in code if "nbval-check-output" in c.metadata.get("tags", [])]
        assert checked and all(c.outputs and c.execution_count for c in checked)
