"""The simulator against lanes.md §2-3 and the product page's documented chains."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from strategies import designs

from lanedesign import examples, routing_matrix, routing_table, serving_lane, simulate
from lanedesign.model import Lane, Service
from lanedesign.simulate import baggage_member, distribution, enter, lane_from_baggage

MOCKS = ["mock-baggage", "mock-header", "mock-traceid"]


def chain(trace) -> list[tuple[str, str, bool]]:
    return [(h.service, h.lane, h.fallback) for h in trace.hops]


@pytest.mark.parametrize("name", MOCKS)
@pytest.mark.parametrize(
    ("lane", "expected"),
    [
        ("s1", [("mocka", "s1", False), ("mockb", "s1", False), ("mockc", "s1", False)]),
        ("s2", [("mocka", "s2", False), ("mockb", "s1", True), ("mockc", "s2", False)]),
        ("s3", [("mocka", "s1", True), ("mockb", "s3", False), ("mockc", "s1", True)]),
    ],
)
def test_documented_chains_for_every_method(name, lane, expected):
    design = examples.load(name)
    trace = simulate(design, {"x-asm-prefer-tag": lane})
    assert trace.status == 200
    assert trace.lane == lane
    assert chain(trace) == expected
    assert [h.caller for h in trace.hops] == [None, "mocka", "mockb"]
    assert trace.warnings == ()


def test_hop_labels_are_the_serving_lanes_labels(mock):
    trace = simulate(mock, {"x-asm-prefer-tag": "s2"})
    assert [dict(h.labels) for h in trace.hops] == [
        {"version": "v2"}, {"version": "v1"}, {"version": "v2"}]


def test_header_method_with_the_apps_own_header():
    design = examples.load("mock-header")
    trace = simulate(design, [("X-ASM-Prefer-Tag", "s3")])  # names are case-insensitive
    assert chain(trace)[1] == ("mockb", "s3", False)


def test_baggage_member_picks_the_lane_when_the_header_is_absent(mock):
    trace = simulate(mock, {"baggage": "userId=alice, x-asm-prefer-tag = s2;ttl=3,other=1"})
    assert trace.lane == "s2"
    assert chain(trace)[0] == ("mocka", "s2", False)


def test_baggage_is_ignored_outside_the_baggage_method():
    design = examples.load("mock-header")
    trace = simulate(design, {"baggage": "x-asm-prefer-tag=s2"})
    assert trace.status == 404 and trace.lane is None  # no default lane, and not s2


@pytest.mark.parametrize(
    ("baggage", "expected"),
    [
        ("k=v", "v"),
        ("a=1,k=v2", "v2"),
        (" a = 1 , k = v3 ;prop=x", "v3"),
        ("k=first,k=second", "second"),  # the last member wins
        ("a=1", None),
        ("k", None),
        ("", None),
        ("k=%73%32", "s2"),
    ],
)
def test_baggage_member(baggage, expected):
    assert baggage_member(baggage, "k") == expected


def test_no_header_goes_to_the_default_lane(mock):
    trace = simulate(mock, {})
    assert trace.lane == "s1" and trace.via == "default"
    assert [h.lane for h in trace.hops] == ["s1", "s1", "s1"]


def test_unknown_lane_is_a_warning_and_served_by_the_baseline(mock):
    trace = simulate(mock, {"x-asm-prefer-tag": "s9"})
    assert trace.status == 200 and trace.lane == "s1"
    assert any("unknown lane" in w and "s9" in w for w in trace.warnings)


def test_unmatched_request_without_default_is_404(mock):
    design = mock.with_ingress(default=None)
    trace = simulate(design, {"x-asm-prefer-tag": "nope"})
    assert trace.status == 404 and trace.lane is None and trace.hops == ()
    assert any("404" in w for w in trace.warnings)


def test_first_matching_rule_wins():
    design = examples.load("mock-traceid")
    entry = enter(design, {"x-asm-prefer-tag": "s3"}, "/anything")
    assert (entry.lane, entry.via) == ("s3", "rules[2]")


def test_host_not_served_is_404(shop):
    assert simulate(shop, host="evil.example.org").status == 404
    assert simulate(shop, host="shop.example.com:443", seed=1).status == 200


def test_query_string_is_not_part_of_the_path():
    design = examples.load("mock-weighted")
    assert enter(design, path="/mock?x=1", rng=None).status == 200
    assert enter(design, path="/mock/x").status == 404


def test_lane_argument_skips_the_ingress(mock):
    trace = simulate(mock, lane="s3")
    assert [h.lane for h in trace.hops] == ["s1", "s3", "s1"]
    assert trace.via == "lane"


def test_non_propagating_service_sends_its_calls_to_the_baseline(mock):
    svc = mock.service("mockb")
    design = mock.with_service(type(svc)(svc.name, svc.calls, propagates=False))
    trace = simulate(design, {"x-asm-prefer-tag": "s2"})
    assert chain(trace) == [("mocka", "s2", False), ("mockb", "s1", True),
                            ("mockc", "s1", False)]
    assert trace.hops[2].context is None
    assert any("context dropped" in w and "mockb" in w for w in trace.warnings)


def test_cycle_is_reported_and_not_followed(mock):
    design = mock.with_calls("mockc", ["mocka"])
    trace = simulate(design, {"x-asm-prefer-tag": "s2"})
    assert [h.service for h in trace.hops] == ["mocka", "mockb", "mockc"]
    assert any(w.startswith("cycle") and "mocka" in w for w in trace.warnings)


def test_each_callee_is_called_once_per_caller_in_order(shop):
    trace = simulate(shop, lane="checkout-v2")
    front = [h.service for h in trace.hops if h.caller == "frontend"]
    assert front == ["user", "catalog", "search", "cart", "checkout"]
    # diamond: catalog is reached from frontend and from search, once on each path
    assert [h.caller for h in trace.hops if h.service == "catalog"] == [
        "frontend", "search", "recommendations"]


def test_per_service_fallback_target(shop):
    trace = simulate(shop, lane="checkout-v2")
    fraud = next(h for h in trace.hops if h.service == "fraud")
    assert fraud.lane == "payments-v3" and fraud.fallback
    assert dict(fraud.labels) == {"version": "payments-v3"}
    pay = next(h for h in trace.hops if h.service == "payment")
    assert pay.lane == "base"


def test_serving_lane_rules(shop):
    assert serving_lane(shop, "checkout-v2", "cart") == "checkout-v2"
    assert serving_lane(shop, "checkout-v2", "user") == "base"
    assert serving_lane(shop, "search-exp", "fraud") == "payments-v3"
    assert serving_lane(shop, None, "fraud") == "base"
    assert serving_lane(shop, "nope", "fraud") == "base"


def test_weighted_distribution_is_seeded_and_close_to_the_weights():
    design = examples.load("mock-weighted")
    dist = distribution(design, 5000, seed=7, path="/mock")
    assert dist.unmatched == 0
    assert sum(dist.counts.values()) == 5000
    for lane, weight in {"s1": 0.6, "s2": 0.2, "s3": 0.2}.items():
        assert abs(dist.fractions[lane] - weight) < 0.03
    assert distribution(design, 500, seed=7, path="/mock") == distribution(
        design, 500, seed=7, path="/mock")
    assert distribution(design, 10, seed=7, path="/other").unmatched == 10


def test_zero_weight_lane_gets_nothing(shop):
    design = shop.with_ingress(weights=(("base", 100), ("checkout-v2", 0)))
    dist = distribution(design, 300, seed=1)
    assert dist.counts["base"] == 300 and dist.counts["checkout-v2"] == 0


def test_routing_table_and_matrix(mock):
    table = routing_table(mock)
    assert table == {
        "mocka": {"s1": "s1", "s2": "s2", "s3": "s1"},
        "mockb": {"s1": "s1", "s2": "s1", "s3": "s3"},
        "mockc": {"s1": "s1", "s2": "s2", "s3": "s1"},
    }
    frame = routing_matrix(mock)
    assert list(frame.index) == ["mocka", "mockb", "mockc"]
    assert list(frame.columns) == ["s1", "s2", "s3"]
    assert frame.loc["mockb", "s2"] == "s1"


def assert_table_follows_serving_lane(design) -> None:
    table = routing_table(design)
    frame = routing_matrix(design)
    services = list(dict.fromkeys(design.service_names))
    lanes = list(dict.fromkeys(design.lane_names))
    assert list(table) == services and list(frame.index) == services
    assert list(frame.columns) == lanes
    for svc in services:
        assert list(table[svc]) == lanes
        for lane in lanes:
            expected = serving_lane(design, lane, svc)
            assert table[svc][lane] == expected
            assert frame.loc[svc, lane] == expected


@settings(max_examples=150, deadline=None)
@given(designs())
def test_routing_table_and_matrix_follow_serving_lane(design):
    assert_table_follows_serving_lane(design)


def test_routing_table_of_a_half_typed_design(mock):
    # what a designer may hold mid-edit: a duplicated lane and service, a lane with no name
    design = (mock.with_(lanes=(*mock.lanes, Lane("s2", {"version": "v9"}, ["mockb"]),
                                Lane("", {"version": "v8"}, ["mockb"])),
                         services=(*mock.services, Service("mockb")))
              .with_fallback("mockc", "s3"))
    assert_table_follows_serving_lane(design)
    table = routing_table(design)
    assert table["mockb"] == {"s1": "s1", "s2": "s1", "s3": "s3", "": "s1"}
    assert table["mockc"]["s3"] == "s3"  # the override, even though s3 lacks mockc
    assert routing_matrix(mock.with_(services=())).shape == (0, 3)


def test_walk_stops_at_the_hop_limit(mock):
    from lanedesign.simulate import walk

    hops, warnings = walk(mock, "mocka", "s2", max_hops=2)
    assert len(hops) == 2 and any("stopped" in w for w in warnings)


@pytest.mark.parametrize(
    ("baggage", "lane"),
    [("k=s2", "s2"), ("k=S2", None), ("k=s2\n", None), ("k=" + "a" * 64, None), ("a=1", None),
     ("k=s2,k=s3", "s3")],
)
def test_lane_from_baggage_accepts_lane_names_only(baggage, lane):
    assert lane_from_baggage(baggage, "k") == lane


def test_the_gateway_ignores_a_baggage_lane_that_is_no_lane_name(mock):
    assert enter(mock, {"baggage": "x-asm-prefer-tag=S2"}).via == "default"
    assert enter(mock, {"baggage": "x-asm-prefer-tag=s2"}).via == "rules[0]"


# -- the state graph ----------------------------------------------------------------------------
def states(trace) -> list[tuple[str, str | None, str, str]]:
    graph = trace.graph
    return [(graph.services[i], graph.contexts[i], graph.lanes[i], graph.hows[i])
            for i in range(len(graph))]


def test_the_state_graph_of_the_documented_chain(mock):
    trace = simulate(mock, lane="s2")
    assert states(trace) == [("mocka", "s2", "s2", "lane"), ("mockb", "s2", "s1", "fallback"),
                             ("mockc", "s2", "s2", "lane")]
    assert trace.graph.calls == ((1,), (2,), ())
    assert trace.graph.callers == ((), (0,), (1,))
    assert trace.graph.paths == 3 and not trace.graph.cyclic


def test_a_lost_context_is_its_own_state(shop):
    svc = shop.service("search")
    design = shop.with_service(type(svc)(svc.name, svc.calls, propagates=False))
    trace = simulate(design, lane="search-exp")
    found = {(s, c): how for s, c, _, how in states(trace)}
    # catalog is called by frontend (context kept) and by search (context lost): two states
    assert found[("catalog", "search-exp")] in ("lane", "fallback")
    assert found[("catalog", None)] == "lost"
    lost = [i for i, c in enumerate(trace.graph.contexts) if c is None]
    assert all(trace.graph.lanes[i] == "base" for i in lost)


def test_a_shared_callee_is_one_state_with_every_caller(shop):
    trace = simulate(shop, lane="checkout-v2")
    graph = trace.graph
    kept = graph.services.index("catalog")
    assert graph.contexts[kept] == "checkout-v2"
    assert sorted(graph.services[i] for i in graph.callers[kept]) == ["frontend", "search"]
    # recommendations drops the context: its call reaches catalog's other state
    (lost,) = (i for i, s in enumerate(graph.services) if s == "catalog" and i != kept)
    assert graph.contexts[lost] is None and graph.hows[lost] == "lost"
    assert [graph.services[i] for i in graph.callers[lost]] == ["recommendations"]
    # the tree still shows catalog once per path, as the walk always did
    assert [h.caller for h in trace.hops if h.service == "catalog"] == [
        "frontend", "search", "recommendations"]


def test_the_json_keeps_its_fields_and_adds_the_states(mock):
    doc = simulate(mock, {"x-asm-prefer-tag": "s2"}).to_dict()
    assert [(h["service"], h["lane"], h["fallback"]) for h in doc["hops"]] == [
        ("mocka", "s2", False), ("mockb", "s1", True), ("mockc", "s2", False)]
    assert {"status", "lane", "via", "hops", "warnings"} <= set(doc)
    assert doc["paths"] == 3 and doc["more_paths"] == 0 and doc["more_paths_exact"]
    assert doc["states"][1] == {"id": 1, "service": "mockb", "context": "s2", "lane": "s1",
                                "how": "fallback", "labels": {"version": "v1"}, "callers": [0]}
    missing = simulate(mock.with_ingress(default=None), {"x-asm-prefer-tag": "nope"}).to_dict()
    assert missing["status"] == 404 and missing["hops"] == [] and missing["states"] == []


def test_a_large_mesh_is_explored_whole_and_its_tree_shortened():
    from benchmarks import floors
    from benchmarks.generate import design_for

    design = design_for("L")
    entry = design.ingress.entry
    reached = floors.bfs(floors.call_graph(design), entry)
    lane = design.lanes[-1].name
    trace = simulate(design, lane=lane)
    graph = trace.graph
    assert len(set(graph.services)) == reached  # every service reached, nothing cut off
    assert not any("stopped" in w for w in trace.warnings)
    for i, name in enumerate(graph.services):  # each served by the rule, by context
        assert graph.lanes[i] == serving_lane(design, graph.contexts[i], name)
    short = trace.tree(50)
    assert len(short.hops) == 50 and short.more_paths > 0
    assert short.note.startswith("+") and short.note.endswith("paths")
    # a new design object explores afresh; the same one reuses its shape
    assert states(simulate(design, lane=lane)) == states(trace)
    again = design.with_membership(lane, entry, not design.lane(lane).holds(entry))
    assert simulate(again, lane=lane).graph.lanes[0] != graph.lanes[0]
