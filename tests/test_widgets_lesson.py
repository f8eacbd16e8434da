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


def _text(html_text: str) -> str:
    import html
    import re

    return html.unescape(re.sub(r"<[^>]+>", " ", html_text))


def test_the_hop_stepper_highlights_one_hop_and_moves_within_the_chain():
    explorer = LaneExplorer(examples.load("mock-baggage"))
    assert (explorer.step.min, explorer.step.max, explorer.step.value) == (1, 3, 1)
    assert explorer.hops.value.count("ld-lesson-current") == 1
    assert explorer.prev.disabled and not explorer.next.disabled
    explorer.prev.click()  # stops at the first hop
    assert explorer.step.value == 1
    explorer.next.click()
    assert explorer.step.value == 2
    # the highlighted row is the second hop's, and only it
    current = explorer.hops.value.split('class="ld-lesson-current"')[1].split("</tr>")[0]
    assert "mocka → mockb" in current and explorer.hops.value.count("▶") == 1
    detail = _text(explorer.detail.value)
    assert "Hop 2 of 3: mocka → mockb" in detail
    assert "Lane s2 has no mockb, so its fallback (s1) serves" in detail
    explorer.next.click()
    explorer.next.click()  # stops at the last hop
    assert explorer.step.value == 3 and explorer.next.disabled
    # a lane with a shorter or equal chain keeps the stepper inside it
    explorer.lane.value = "s1"
    assert explorer.step.value <= explorer.step.max == len(explorer.trace.hops)


def test_each_header_on_a_hop_says_who_put_it_there():
    from lanedesign.widgets.headers import carried_headers
    from lanedesign.widgets.lesson import hop_carries

    explorer = LaneExplorer(examples.load("mock-baggage"))
    explorer.method.value = "traceId"
    design, hops = explorer.design, explorer.trace.hops
    first = hop_carries(design, hops, 0)
    assert ("x-asm-prefer-tag", "s2", "the gateway sets it: its rule chose the lane") in first
    assert [name for name, _, _ in first] == ["x-asm-prefer-tag", "my-trace-id"]
    assert "sidecar remembers trace id -> s2" in first[1][2]
    second = hop_carries(design, hops, 1)
    # a call hop carries exactly what carried_headers says an app must forward
    assert [f"{n}: {v}   ({w})" for n, v, w in second] == \
        carried_headers(design, "s2").splitlines()
    assert ("x-asm-prefer-tag", "s2", "re-added by the mesh from trace -> lane") in second
    explorer.step.value = 2
    assert "re-added by the mesh from trace -&gt; lane" in explorer.detail.value
    # the baggage method: the gateway adds the baggage member too
    explorer.method.value = "baggage"
    assert ("baggage", "x-asm-prefer-tag=s2", "the gateway adds it") in hop_carries(
        explorer.design, explorer.trace.hops, 0)
    # a dropped context: the next call carries nothing of the lane
    explorer.propagates["mockb"].value = False
    assert hop_carries(explorer.design, explorer.trace.hops, 2) == []
    explorer.step.value = 3
    assert "No lane context" in explorer.detail.value


def test_a_message_hop_shows_the_filter_key_and_the_tag_the_producer_wrote():
    from lanedesign.widgets.lesson import hop_carries

    explorer = LaneExplorer(examples.load("orders-queue"))
    assert list(explorer.filters) == ["shipping"]  # only consumers get the checkbox
    explorer.lane.value = "s3"
    hops = explorer.trace.hops
    assert [h.topic for h in hops] == [None, None, None, "orders", None]
    explorer.step.value = 4
    message = hop_carries(explorer.design, hops, 3)
    # filter key: the producer's serving lane (checkout falls back to s1); tag: the request's
    assert [(n, v) for n, v, _ in message] == [("x-lane-key", hops[1].lane),
                                               ("x-asm-prefer-tag", "s3")]
    assert hops[1].lane == "s1"
    detail = _text(explorer.detail.value)
    assert "checkout ~> shipping" in detail and "message properties" in detail
    assert "The filter key is s1, so shipping@s1 takes it" in detail
    assert "chain returns to lane s3" in detail
    assert "~&gt; shipping" in explorer.hops.value
    # after the queue, the consumer's call takes the lane from the message's tag
    assert hop_carries(explorer.design, hops, 4) == [
        ("x-asm-prefer-tag", "s3", "shipping sets it from the message's tag")]
    # in s2 the producer runs in s2, so the key is s2 (not a constant)
    explorer.lane.value = "s2"
    assert hop_carries(explorer.design, explorer.trace.hops, 3)[0][1] == "s2"


def test_a_consumer_that_does_not_filter_and_a_producer_that_drops_the_context():
    from lanedesign.widgets.lesson import hop_carries

    explorer = LaneExplorer(examples.load("orders-queue"))
    explorer.step.value = 4
    assert "does not filter" not in explorer.warnings.value
    explorer.filters["shipping"].value = False
    assert not explorer.design.service("shipping").filters_by_lane
    assert "shipping does not filter orders by lane" in explorer.warnings.value
    assert "any of its versions may take the message" in _text(explorer.detail.value)
    explorer.filters["shipping"].value = True
    explorer.propagates["checkout"].value = False
    assert hop_carries(explorer.design, explorer.trace.hops, 3) == []
    assert "the message is untagged" in _text(explorer.detail.value)
    assert "untagged message: the producer dropped the lane context" in explorer.hops.value


def test_a_design_without_topics_has_no_filter_controls():
    assert LaneExplorer(examples.load("mock-header")).filters == {}


def test_a_stored_explorer_reads_unrun_as_a_snapshot():
    explorer = LaneExplorer(examples.load("orders-queue"))
    explorer.lane.value = "s3"
    explorer.step.value = 4
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle  # live: the widget
    assert bundle["text/plain"] == "LaneExplorer: lane s3, pass-through header, hop 4 of 5"
    snapshot = bundle["text/html"]
    assert 'src="data:image/svg+xml;base64,' in snapshot  # the chain as an <img>
    assert "Hop 4 of 5" in snapshot and snapshot.count("ld-lesson-current") == 1
    assert "VBox" not in snapshot
