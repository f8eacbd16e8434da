"""Properties of random valid designs (hypothesis): the laws of lanes.md §2 hold everywhere."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import designs

from lanedesign.designfile import dump_design, parse_design
from lanedesign.simulate import routing_table, simulate


@settings(max_examples=200, deadline=None)
@given(designs())
def test_every_hop_is_served_by_a_lane_that_holds_the_service(design):
    for lane in design.lane_names:
        trace = simulate(design, lane=lane)
        for hop in trace.hops:
            assert design.lane(hop.lane).holds(hop.service)
            assert dict(hop.labels) == design.lane(hop.lane).label_map


@settings(max_examples=200, deadline=None)
@given(designs())
def test_chains_return_to_their_lane_after_a_fallback(design):
    for lane in design.lane_names:
        for hop in simulate(design, lane=lane).hops:
            if hop.context == lane and design.lane(lane).holds(hop.service):
                assert hop.lane == lane and not hop.fallback
            if hop.context == lane and not design.lane(lane).holds(hop.service):
                assert hop.fallback and hop.lane == design.fallback_for(hop.service)


@settings(max_examples=200, deadline=None)
@given(designs())
def test_context_is_lost_only_below_a_service_that_drops_it(design):
    for lane in design.lane_names:
        trace = simulate(design, lane=lane)
        by_depth: dict[int, object] = {}
        for hop in trace.hops:
            by_depth[hop.depth] = hop
            if hop.depth == 0:
                assert hop.context == lane
                continue
            parent = by_depth[hop.depth - 1]
            carried = parent.context if design.keeps_context(parent.service) else None
            assert hop.context == carried
            if hop.context is None:
                assert hop.lane == design.baseline


@settings(max_examples=200, deadline=None)
@given(designs())
def test_simulated_hops_agree_with_the_routing_table(design):
    table = routing_table(design)
    for lane in design.lane_names:
        for hop in simulate(design, lane=lane).hops:
            if hop.context == lane:
                assert table[hop.service][lane] == hop.lane


@settings(max_examples=200, deadline=None)
@given(designs())
def test_no_path_repeats_a_service(design):
    for lane in design.lane_names:
        stack: list[str] = []
        for hop in simulate(design, lane=lane).hops:
            del stack[hop.depth:]
            assert hop.service not in stack
            stack.append(hop.service)


@settings(max_examples=200, deadline=None)
@given(designs())
def test_save_then_load_is_the_identity(design):
    loaded = parse_design(dump_design(design))
    assert loaded.findings == ()
    assert loaded.design == design


@settings(max_examples=100, deadline=None)
@given(designs())
def test_ingress_picks_only_existing_lanes(design):
    for headers in ({}, {design.route_header: design.lane_names[-1]}, {"x-user": "alice"}):
        trace = simulate(design, headers, path="/api/v2", seed=3)
        assert trace.status in (200, 404)
        if trace.status == 200:
            assert trace.lane in design.lane_names
        else:
            assert trace.hops == ()


# -- the state graph against the per-path walk it replaced ------------------------------------
def path_walk(design, start: str, lane: str | None) -> tuple[list[tuple], list[str]]:
    """The simulator before the state graph: every call path, depth-first (no hop cap).

    Kept here as the oracle: (caller, service, context, lane, fallback, depth) per hop.
    """
    lanes = {ln.name for ln in design.lanes}
    hops, warnings = [], []
    stack = [(None, start, lane, ())]
    while stack:
        caller, name, context, path = stack.pop()
        served = design.serving_lane(context, name)
        hops.append((caller, name, context, served, context in lanes and served != context,
                     len(path)))
        svc = design.service(name)
        here = (*path, name)
        # the app drops the context, or copies a fixed list of headers without the one
        # that carries it
        keeps = svc.propagates and (svc.forwards is None or {
            "baggage": "baggage", "header": design.route_header,
            "traceId": design.pass_through.trace_header}[design.pass_through.method]
            in svc.forwards)
        carried = context if keeps else None
        # the version that serves the call makes the calls
        for callee in reversed(dict(svc.lane_calls).get(served, svc.calls)):
            if design.service(callee) is None:
                continue
            if callee in here:
                warnings.append(f"cycle: {name} calls {callee}")
            else:
                stack.append((name, callee, carried, here))
    return hops, warnings


def states_and_edges(design, lane):
    trace = simulate(design, lane=lane)
    graph = trace.graph
    states = {(graph.services[i], graph.contexts[i]): (graph.lanes[i], graph.hows[i])
              for i in range(len(graph))}
    edges = {((graph.services[i], graph.contexts[i]), (graph.services[j], graph.contexts[j]))
             for i, callees in enumerate(graph.calls) for j in callees}
    return trace, graph, states, edges


@settings(max_examples=300, deadline=None)
@given(designs())
def test_the_state_graph_agrees_with_the_path_walk(design):
    entry = design.ingress.entry
    for lane in design.lane_names:
        old, old_warnings = path_walk(design, entry, lane)
        trace, graph, states, edges = states_and_edges(design, lane)
        # the tree derived from the graph is the old walk, hop for hop
        assert [(h.caller, h.service, h.context, h.lane, h.fallback, h.depth)
                for h in trace.hops] == old
        assert trace.tree().more_paths == 0
        # every hop of the walk is a state, served alike, and every call of it an edge
        seen = {(name, context): (served, fallback)
                for _, name, context, served, fallback, _ in old}
        for key, (served, fallback) in seen.items():
            assert states[key][0] == served
            assert (states[key][1] == "fallback") == fallback
        by_depth: dict[int, tuple] = {}
        for hop in old:
            by_depth[hop[5]] = hop
            if hop[0] is not None:
                parent = by_depth[hop[5] - 1]
                assert ((parent[1], parent[2]), (hop[1], hop[2])) in edges
        # the graph holds no more than the walk, unless a call cycle hides states from it
        if not graph.cyclic:
            assert set(states) == set(seen)
            assert graph.paths == len(old)
        assert set(seen) <= set(states)
        # a cycle is reported by both or by neither
        assert graph.cyclic == bool(old_warnings)
        assert any(w.startswith("cycle:") for w in trace.warnings) == bool(old_warnings)


@settings(max_examples=100, deadline=None)
@given(designs(), st.integers(1, 12))
def test_a_shortened_tree_counts_what_it_leaves_out(design, limit):
    for lane in design.lane_names:
        trace = simulate(design, lane=lane)
        full, short = trace.tree(None), trace.tree(limit)
        assert short.hops == full.hops[:limit]
        left = len(full.hops) - len(short.hops)
        if short.exact:
            assert short.more_paths == left
        else:
            assert 0 < short.more_paths <= left
        assert bool(short.note) == (left > 0)
