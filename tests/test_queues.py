"""Message topics: the model and format, the simulator's asynchronous hops, the validator
(LD410-LD419), the CLI tree (docs/queues.md)."""

from __future__ import annotations

import json

import pytest

from lanedesign import examples
from lanedesign.cli import main
from lanedesign.designfile import design_to_dict, dump_design, parse_design
from lanedesign.findings import CATALOGUE
from lanedesign.model import Lane, LaneDesign, Service, Topic
from lanedesign.simulate import simulate
from lanedesign.validate import validate


def t6(**changes) -> LaneDesign:
    """ASM's MQ example (asm-lanes.md T6): a -> b (publishes orders); c consumes, calls d.
    v2 = {a, d}: b and c fall back to v1, and the chain returns to v2 at d."""
    design = LaneDesign(
        name="t6", baseline="v1", topics=(Topic("orders"),),
        services=(Service("a", calls=("b",)), Service("b", publishes=("orders",)),
                  Service("c", calls=("d",), consumes=("orders",)), Service("d")),
        lanes=(Lane("v1", {"version": "v1"}, ("a", "b", "c", "d")),
               Lane("v2", {"version": "v2"}, ("a", "d"))),
    ).with_ingress(entry="a", default="v1")
    return design.with_(**changes) if changes else design


def chain(design: LaneDesign, lane: str | None) -> list[tuple]:
    trace = simulate(design, lane=lane) if lane else simulate(design)
    return [(h.service, h.lane, h.context, h.topic) for h in trace.hops]


def codes(design: LaneDesign) -> list[str]:
    return [f.code for f in validate(design)]


# -- model and format ------------------------------------------------------------------------
def test_topics_round_trip_and_defaults_are_left_out():
    design = t6().with_topic(Topic("jobs", broker="rabbitmq", kind="queue")).with_service(
        Service("c", calls=("d",), consumes=("orders", "jobs"), filters_by_lane=False))
    data = design_to_dict(design)
    assert data["spec"]["topics"] == [{"name": "orders"},
                                      {"name": "jobs", "broker": "rabbitmq", "kind": "queue"}]
    services = {s["name"]: s for s in data["spec"]["services"]}
    assert services["b"] == {"name": "b", "publishes": ["orders"]}
    assert services["c"]["filtersByLane"] is False
    assert "filtersByLane" not in services["a"] and "publishes" not in services["a"]
    loaded = parse_design(dump_design(design))
    assert loaded.findings == () and loaded.design == design


def test_a_design_without_topics_writes_no_topics_key():
    assert "topics" not in design_to_dict(examples.load("mock-baggage"))["spec"]


def test_format_errors_are_findings():
    text = dump_design(t6()).replace("- {name: orders}", "- {name: orders, kind: pipe}")
    text = text.replace("publishes: [orders]", "publishes: orders")
    found = {(f.code, f.path) for f in parse_design(text).findings}
    assert ("LD006", "spec.topics[0].kind") in found
    assert ("LD004", "spec.services[1].publishes") in found


def test_topic_edits_keep_references_consistent():
    design = t6()
    renamed = design.rename_topic("orders", "orders-v2")
    assert renamed.topic_names == ("orders-v2",)
    assert renamed.service("b").publishes == ("orders-v2",)
    assert renamed.service("c").consumes == ("orders-v2",)
    dropped = design.without_topic("orders")
    assert dropped.topics == () and dropped.service("b").publishes == ()
    assert not dropped.has_queues
    moved = design.rename_service("b", "bee")
    assert moved.producers("orders") == ("bee",)
    assert design.without_service("c").consumers("orders") == ()
    edited = (design.with_publishes("a", ["orders"]).with_consumes("d", ["orders"])
              .with_filters_by_lane("d", False))
    assert edited.producers("orders") == ("a", "b")
    assert edited.consumers("orders") == ("c", "d")
    assert edited.service("d").filters_by_lane is False
    with pytest.raises(KeyError):
        design.with_publishes("nope", ["orders"])


def test_has_queues_needs_a_producer_and_a_consumer_of_one_topic():
    assert t6().has_queues
    assert not t6().with_consumes("c", ()).has_queues
    assert not examples.load("shop").has_queues


# -- simulator -------------------------------------------------------------------------------
def test_asm_t6_consumer_of_the_producers_lane_then_back_to_the_request_lane():
    assert chain(t6(), "v2") == [("a", "v2", "v2", None), ("b", "v1", "v2", None),
                                 ("c", "v1", "v2", "orders"), ("d", "v2", "v2", None)]
    trace = simulate(t6(), lane="v2")
    assert [h.fallback for h in trace.hops] == [False, True, True, False]
    assert trace.warnings == ()


def test_a_lane_with_producer_and_consumer_keeps_the_message():
    design = t6().with_membership("v2", "b", True).with_membership("v2", "c", True)
    assert [(s, ln) for s, ln, _, _ in chain(design, "v2")] == [
        ("a", "v2"), ("b", "v2"), ("c", "v2"), ("d", "v2")]


def test_loose_lane_without_its_consumer_goes_to_the_consumers_fallback_target():
    design = (t6().with_membership("v2", "b", True)
              .with_lane(Lane("v3", {"version": "v3"}, ("c",))).with_fallback("c", "v3"))
    steps = chain(design, "v2")
    assert steps[2] == ("c", "v3", "v2", "orders")  # c's override, not the baseline
    assert steps[3] == ("d", "v2", "v2", None)
    warnings = simulate(design, lane="v2").warnings
    assert any("lane v2 publishes to orders but has no c" in w for w in warnings)
    baseline = t6().with_membership("v2", "b", True)
    assert chain(baseline, "v2")[2] == ("c", "v1", "v2", "orders")


def test_strict_lane_without_its_consumer_never_consumes():
    design = t6(mode="strict").with_membership("v2", "b", True)
    trace = simulate(design, lane="v2")
    assert [h.service for h in trace.hops] == ["a", "b"]
    assert any("never consumed: strict lane v2 has no c" in w for w in trace.warnings)
    # the same design in loose mode does consume (the path is not cut for another reason)
    assert [h.service for h in simulate(design.with_(mode="loose"), lane="v2").hops] == [
        "a", "b", "c", "d"]


def test_a_producer_that_drops_the_context_sends_untagged_messages():
    design = t6().with_service(Service("b", publishes=("orders",), propagates=False))
    design = design.with_membership("v2", "b", True).with_membership("v2", "c", True)
    assert chain(design, "v2") == [("a", "v2", "v2", None), ("b", "v2", "v2", None),
                                   ("c", "v1", None, "orders"), ("d", "v1", None, None)]
    states = simulate(design, lane="v2").to_dict()["states"]
    assert states[2]["how"] == "lost"


def test_a_consumer_that_does_not_filter_is_shown_as_the_baselines_with_a_warning():
    design = (t6().with_membership("v2", "b", True).with_membership("v2", "c", True)
              .with_filters_by_lane("c", False))
    assert chain(design, "v2")[2] == ("c", "v1", "v2", "orders")
    warnings = simulate(design, lane="v2").warnings
    assert any("c does not filter orders by lane: any of its versions (v1, v2)" in w
               for w in warnings)


def test_json_hop_has_topic_only_on_async_hops_and_states_list_topic_callers():
    data = simulate(t6(), lane="v2").to_dict()
    assert ["topic" in h for h in data["hops"]] == [False, False, True, False]
    assert data["hops"][2]["topic"] == "orders"
    assert data["states"][2]["topics"] == [{"caller": 1, "topic": "orders"}]
    assert all("topics" not in s for i, s in enumerate(data["states"]) if i != 2)
    graph = simulate(t6(), lane="v2").graph
    assert graph.topic_edges == {(1, 2): "orders"}


def test_sync_only_designs_have_no_async_parts():
    trace = simulate(examples.load("mock-baggage"), lane="s2")
    assert trace.graph.shape.via == () and trace.graph.shape.pinned == {}
    assert all(h.topic is None for h in trace.hops)
    assert all("topic" not in h for h in trace.to_dict()["hops"])


def test_a_message_back_to_a_service_on_the_path_is_a_cycle():
    design = t6().with_publishes("d", ["orders"]).with_consumes("a", ["orders"])
    trace = simulate(design, lane="v1")
    assert [h.service for h in trace.hops] == ["a", "b", "c", "d"]
    assert trace.graph.cyclic
    assert ("cycle: b publishes to orders, which a consumes, already on the path a -> b; not "
            "followed") in trace.warnings


def test_laneless_request_is_baseline_everywhere_through_the_topic():
    assert [(s, ln) for s, ln, _, _ in chain(t6(), None)] == [
        ("a", "v1"), ("b", "v1"), ("c", "v1"), ("d", "v1")]


def test_cli_tree_draws_the_async_hop(capsys):
    assert main(["simulate", str(examples.path("orders-queue")), "--header",
                 "x-asm-prefer-tag=s3"]) == 0
    out = capsys.readouterr().out
    assert "   └~> shipping @s1 [version=v1]  (via kafka topic orders)  fallback -> s1" in out
    assert "      └─ notify @s3 [version=v3]" in out
    assert main(["simulate", str(examples.path("orders-queue")), "--header",
                 "x-asm-prefer-tag=s2", "--format", "json"]) == 0
    hops = json.loads(capsys.readouterr().out)["hops"]
    assert [(h["service"], h["lane"], h.get("topic")) for h in hops] == [
        ("web", "s1", None), ("checkout", "s2", None), ("payment", "s1", None),
        ("shipping", "s2", "orders"), ("notify", "s1", None)]


def test_cli_chain_line_marks_the_message():
    design = t6()
    from lanedesign.cli import trace_text
    text = trace_text(design, simulate(design, lane="v2"))
    assert "chain: a@v2 -> b@v1 (fallback) ~> c@v1 (fallback) -> d@v2" in text


# -- validator -------------------------------------------------------------------------------
def test_orders_queue_example_is_clean():
    assert [f for f in validate(examples.load("orders-queue"), "asm")
            if f.severity != "info"] == []
    assert [f.code for f in validate(t6())] == []


def hits(design: LaneDesign, code: str) -> list:
    found = [f for f in validate(design) if f.code == code]
    assert all(f.severity == CATALOGUE[code].severity and f.hint for f in found)
    return found


def test_LD410_bad_duplicate_topic_names_and_empty_broker():
    design = t6(topics=(Topic("orders"), Topic("orders"), Topic("bad name"),
                        Topic("x", broker=" ")))
    assert {f.path for f in hits(design, "LD410")} == {
        "spec.topics[1].name", "spec.topics[2].name", "spec.topics[3].broker"}
    assert hits(t6(), "LD410") == []


def test_LD411_unknown_topic():
    design = t6().with_publishes("a", ["nope"]).with_consumes("d", ["orders", "nada"])
    assert {f.path for f in hits(design, "LD411")} == {
        "spec.services[0].publishes[0]", "spec.services[3].consumes[1]"}


def test_LD412_no_consumer_and_LD413_no_producer():
    assert [f.path for f in hits(t6().with_consumes("c", ()), "LD412")] == ["spec.topics[0]"]
    assert [f.path for f in hits(t6().with_publishes("b", ()), "LD413")] == ["spec.topics[0]"]
    assert hits(t6(), "LD412") == hits(t6(), "LD413") == []


def test_LD414_loose_lane_producer_without_consumer():
    design = t6().with_membership("v2", "b", True)
    found = hits(design, "LD414")
    assert [f.path for f in found] == ["spec.lanes[1].services"]
    assert "c@v1 only if that consumer also takes filter key 'v2'" in found[0].message
    assert hits(design, "LD415") == []


def test_LD415_strict_lane_producer_without_consumer():
    design = t6(mode="strict").with_membership("v2", "b", True)
    assert [f.path for f in hits(design, "LD415")] == ["spec.lanes[1].services"]
    assert hits(design, "LD414") == []


def test_LD416_lane_consumer_without_producer():
    design = t6().with_membership("v2", "c", True)
    assert [f.path for f in hits(design, "LD416")] == ["spec.lanes[1].services"]
    # with the producer too, the deployment is legal
    assert hits(design.with_membership("v2", "b", True), "LD416") == []


def test_LD417_consumer_not_filtering_only_when_several_lanes_hold_it():
    only_baseline = t6().with_filters_by_lane("c", False)
    assert hits(only_baseline, "LD417") == []  # one version takes everything: no competition
    design = only_baseline.with_membership("v2", "c", True).with_membership("v2", "b", True)
    assert [f.path for f in hits(design, "LD417")] == ["spec.services[2].filtersByLane"]


def test_LD418_producer_drops_context():
    design = t6().with_service(Service("b", publishes=("orders",), propagates=False))
    assert [f.path for f in hits(design, "LD418")] == ["spec.services[1].publishes"]
    forwards = t6().with_service(Service("b", publishes=("orders",), forwards=("x-request-id",)))
    assert [f.path for f in hits(forwards, "LD418")] == ["spec.services[1].publishes"]


def test_LD739_a_queue_read_by_two_services():
    two = t6().with_consumes("d", ("orders",))
    assert hits(two, "LD739") == []  # a topic fans out: each service its own subscription
    queue = two.with_topic(Topic("orders", kind="queue"))
    (found,) = hits(queue, "LD739")
    assert found.path == "spec.topics[0].kind" and "c, d" in found.message
    assert hits(t6().with_topic(Topic("orders", kind="queue")), "LD739") == []  # one reader


def test_LD419_unused_topic():
    design = t6().with_topic(Topic("spare"))
    assert [f.path for f in hits(design, "LD419")] == ["spec.topics[1]"]


def test_a_consumer_reached_only_by_a_message_is_reachable():
    assert "LD404" not in codes(t6())
    assert "LD404" in codes(t6().with_publishes("b", ()))
