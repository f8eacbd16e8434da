"""Properties of random valid designs (hypothesis): the laws of lanes.md §2 hold everywhere."""

from __future__ import annotations

from hypothesis import given, settings
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
            carried = parent.context if design.service(parent.service).propagates else None
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
