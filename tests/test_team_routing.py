"""A service's team routing: the design file, the validator, the Istio objects, the simulator
(the precedence rule of docs/istio.md, "A team's routing")."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from strategies import designs_with_team_routing
from team_routing import DELAY, JASON, bookinfo_adopted, bookinfo_lanes, with_routing

from lanedesign.designfile import dump_design, parse_design
from lanedesign.emit.istio import emit_istio
from lanedesign.model import (
    RequestMatch,
    RouteDestination,
    Routing,
    StringMatch,
    TeamRoute,
    TeamSubset,
)
from lanedesign.simulate import describe_fault, simulate
from lanedesign.validate import validate


def vs(objects: list[dict], service: str) -> dict:
    return next(o for o in objects if o["kind"] == "VirtualService"
                and o["spec"]["hosts"] == [f"{service}.default.svc.cluster.local"])


def dr(objects: list[dict], service: str) -> dict:
    return next(o for o in objects if o["kind"] == "DestinationRule"
                and o["spec"]["host"] == f"{service}.default.svc.cluster.local")


def hops(design, headers) -> list[tuple]:
    return [(h.service, h.lane, h.route, h.fault) for h in simulate(design, headers).hops]


# -- the design file ---------------------------------------------------------------------------
def test_team_routing_round_trips_and_hashes():
    design = bookinfo_adopted()
    text = dump_design(design)
    assert "end-user: {exact: jason}" in text and "fixedDelay: 7s" in text
    again = parse_design(text)
    assert again.findings == () and again.design == design
    assert hash(again.design) == hash(design)  # settings (dicts) stay out of the hash
    assert design != bookinfo_lanes()


def test_unknown_routing_fields_are_findings():
    text = dump_design(bookinfo_adopted()).replace("fixedDelay: 7s", "fixedDelay: 7s\n"
                                                   "          hedging: 1", 1)
    text = text.replace("default:\n      - destination: {subset: v3}",
                        "default:\n      - destination: {subset: v3, host: x}", 1)
    found = parse_design(text).findings
    assert {f.code for f in found} == {"LD005"}
    assert any(f.path.endswith("default[0].destination.host") for f in found)


# -- the validator -----------------------------------------------------------------------------
def routed(**changes) -> Routing:
    return replace(bookinfo_adopted().service("reviews").routing, **changes)


def codes_for(routing: Routing, service: str = "reviews", design=None) -> dict[str, str]:
    design = with_routing(design or bookinfo_adopted(), {service: routing})
    return {f.code: f.path for f in validate(design)}


def test_bookinfo_adopted_is_clean():
    assert [f for f in validate(bookinfo_adopted(), "istio") if f.severity != "info"] == []


@pytest.mark.parametrize("code, routing, where", [
    ("LD940", lambda: routed(default=(RouteDestination("v9"),)), "default[0].destination.subset"),
    ("LD941", lambda: routed(subsets=(TeamSubset("v2", {"version": "two"}),)), "subsets[0]"),
    ("LD942", lambda: routed(routes=(TeamRoute("", (RequestMatch(headers=(
        ("x-lane", StringMatch("exact", "v2")),)),), (RouteDestination("v2"),)),)),
        "routes[0].match[0].headers.x-lane"),
    ("LD943", lambda: routed(settings={"headers": {"request": {"remove": ["end-user"]}}}),
     "settings.headers.request.remove"),
    ("LD945", lambda: routed(routes=(TeamRoute("p", (RequestMatch(uri=StringMatch(
        "prefix", "/api")),), (RouteDestination("v2"),)),)), "routes[0].match[0].uri"),
    ("LD946", lambda: routed(default=(RouteDestination("v2", 90), RouteDestination("v3", 10))),
     "default"),
    ("LD947", lambda: routed(default=(RouteDestination("v2"), RouteDestination("v3"))),
     "default"),
])
def test_team_routing_problems_are_coded(code, routing, where):
    found = codes_for(routing())
    assert found.get(code) == f"spec.services[2].routing.{where}", found
    assert code not in codes_for(routed())


def test_team_routing_at_the_entry_is_a_warning():
    found = codes_for(Routing(settings={"timeout": "3s"}), "productpage")
    assert found.get("LD944") == "spec.services[0].routing"
    assert "LD944" not in codes_for(Routing(subsets=(TeamSubset("v1", {"version": "v1"}),)),
                                    "productpage")


# -- the Istio objects -------------------------------------------------------------------------
@pytest.mark.parametrize("full", [False, True])
def test_lane_routes_come_first_then_the_teams_then_the_default(full):
    objects = emit_istio(bookinfo_adopted(), full_routes=full)
    http = vs(objects, "reviews")["spec"]["http"]
    assert [r.get("name") for r in http] == ["lane-v2", "lane-v3", None, "default"]
    assert http[2]["match"] == [{"headers": {"end-user": {"exact": "jason"}}}]
    assert http[2]["route"][0]["destination"]["subset"] == "v2"
    assert http[3]["route"][0]["destination"]["subset"] == "v3"  # the team's default
    ratings = vs(objects, "ratings")["spec"]["http"]
    # ratings is in no test lane, but the team steers: v2 and v3 still need their own route
    names = [r.get("name") for r in ratings]
    assert names == (["lane-v2", "lane-v3", None, "default"] if full
                     else ["fallback-v1", None, "default"])
    assert ratings[-2]["fault"] == DELAY and "fault" not in ratings[-1]
    if not full:
        assert ratings[0]["match"] == [{"headers": {"x-lane": {"regex": "v2|v3"}}}]


def test_settings_ride_on_every_lane_route_and_the_default():
    settings = {"timeout": "2s", "retries": {"attempts": 3, "perTryTimeout": "1s"}}
    design = with_routing(bookinfo_adopted(), {"reviews": routed(settings=settings)})
    http = vs(emit_istio(design), "reviews")["spec"]["http"]
    assert [all(r.get(k) == v for k, v in settings.items()) for r in http] == [
        True, True, False, True]  # the team's jason route keeps its own (none)


def test_settings_alone_keep_the_minimal_form():
    design = with_routing(bookinfo_lanes(), {"ratings": Routing(settings={"timeout": "1s"})})
    http = vs(emit_istio(design), "ratings")["spec"]["http"]
    assert http == [{"name": "default", "route": [{"destination": {
        "host": "ratings.default.svc.cluster.local", "subset": "v1"}}], "timeout": "1s"}]


def test_the_destination_rule_keeps_the_teams_subsets_and_policy():
    policy = {"loadBalancer": {"simple": "LEAST_REQUEST"},
              "outlierDetection": {"consecutive5xxErrors": 5}}
    tls = {"tls": {"mode": "ISTIO_MUTUAL"}}
    routing = replace(bookinfo_adopted().service("ratings").routing, traffic_policy=policy,
                      subsets=(TeamSubset("v1", {"version": "v1"}, tls),
                               TeamSubset("v2-mysql", {"version": "v2-mysql"})))
    design = with_routing(bookinfo_adopted(), {"ratings": routing})
    spec = dr(emit_istio(design), "ratings")["spec"]
    assert spec["trafficPolicy"] == policy
    assert spec["subsets"] == [
        {"name": "v1", "labels": {"version": "v1"}, "trafficPolicy": tls},
        {"name": "v2-mysql", "labels": {"version": "v2-mysql"}}]


def test_without_routing_nothing_changes():
    assert emit_istio(bookinfo_lanes()) == emit_istio(with_routing(bookinfo_lanes(), {
        "reviews": Routing()}))


# -- the simulator: the precedence rule -------------------------------------------------------
def test_jason_without_a_lane_follows_the_teams_routes():
    design = bookinfo_adopted()
    assert hops(design, {"end-user": "jason"}) == [
        ("productpage", "v1", None, None), ("details", "v1", None, None),
        ("reviews", "v2", "routes[0]", None), ("ratings", "v1", "routes[0]", "delay 7s")]
    assert hops(design, {}) == [
        ("productpage", "v1", None, None), ("details", "v1", None, None),
        ("reviews", "v3", "default", None), ("ratings", "v1", "default", None)]


def test_a_lane_wins_over_the_teams_routes():
    design = bookinfo_adopted()
    assert hops(design, {"end-user": "jason", "x-lane": "v3"}) == [
        ("productpage", "v1", None, None), ("details", "v1", None, None),
        ("reviews", "v3", None, None), ("ratings", "v1", None, None)]
    # the baseline's own lane and an unknown lane are the baseline's traffic
    for lane in ("v1", "nope"):
        assert hops(design, {"end-user": "jason", "x-lane": lane})[2] == (
            "reviews", "v2", "routes[0]", None)


def test_an_app_that_drops_the_header_ends_the_teams_match():
    design = bookinfo_adopted()
    for change in ({"forwards": ("x-lane", "x-request-id")}, {"propagates": False}):
        dropping = design.with_service(replace(design.service("productpage"), **change))
        assert hops(dropping, {"end-user": "jason"})[2] == ("reviews", "v3", "default", None)
    forwarding = design.with_service(replace(design.service("productpage"),
                                             forwards=("x-lane", "end-user")))
    assert hops(forwarding, {"end-user": "jason"})[2] == ("reviews", "v2", "routes[0]", None)


def test_an_abort_answers_on_the_hop_and_stops_its_calls():
    abort = {"abort": {"httpStatus": 503, "percentage": {"value": 100}}}
    routing = replace(bookinfo_adopted().service("reviews").routing, routes=(
        TeamRoute("qa-abort", (JASON,), (RouteDestination("v2"),), {"fault": abort}),))
    design = with_routing(bookinfo_adopted(), {"reviews": routing})
    trace = simulate(design, {"end-user": "jason"})
    reviews = trace.hops[2]
    assert (reviews.route, reviews.fault, reviews.status) == ("qa-abort", "abort 503", 503)
    assert [h.service for h in trace.hops] == ["productpage", "details", "reviews"]
    doc = trace.to_dict()
    assert doc["hops"][2]["status"] == 503 and "status" not in doc["hops"][1]
    assert doc["states"][2]["fault"] == "abort 503"


def test_faults_are_described_as_istio_applies_them():
    assert describe_fault(DELAY) == ("delay 7s", None)
    assert describe_fault({"delay": {"fixedDelay": "1s"}}) == ("delay 1s (0%)", None)
    assert describe_fault({"abort": {"httpStatus": 500, "percentage": {"value": 10}}}) == (
        "abort 500 (10%)", None)
    assert describe_fault(None) == (None, None)


def test_a_weighted_team_route_follows_the_largest_share_and_says_so():
    design = with_routing(bookinfo_adopted(), {"reviews": routed(
        default=(RouteDestination("v2", 10), RouteDestination("v3", 90)))})
    trace = simulate(design, {})
    assert trace.hops[2].lane == "v3"
    assert any("splits v2 10, v3 90; followed v3" in w for w in trace.warnings)


def test_a_path_condition_at_an_inner_hop_is_not_matched():
    design = with_routing(bookinfo_adopted(), {"reviews": routed(routes=(TeamRoute(
        "api", (RequestMatch(uri=StringMatch("prefix", "/")),), (RouteDestination("v2"),)),))})
    trace = simulate(design, {}, path="/")
    assert trace.hops[2].lane == "v3"
    assert any("team route api matches the path" in w for w in trace.warnings)


def test_the_text_tree_shows_the_team_route_and_fault(capsys, tmp_path):
    from lanedesign.cli import main

    path = tmp_path / "bookinfo.yaml"
    path.write_text(dump_design(bookinfo_adopted()))
    assert main(["simulate", str(path), "--header", "end-user=jason"]) == 0
    out = capsys.readouterr().out
    assert "ratings @v1 [version=v1]  team route routes[0]  fault: delay 7s" in out


@pytest.mark.parametrize("target", ["asm", "gateway-api"])
def test_targets_that_cannot_carry_team_routing_refuse_it(target):
    found = [f for f in validate(bookinfo_adopted(), target) if f.code == "LD948"]
    if target == "gateway-api":
        assert [f.path for f in found] == [f"spec.services[{i}].routing" for i in range(4)]
    else:  # ASM carries settings and policies; what it cannot is named (test_emit_asm.py)
        assert {f.path.split(".routing")[0] for f in found} == {
            "spec.services[1]", "spec.services[2]", "spec.services[3]"}
    assert not [f for f in validate(bookinfo_lanes(), target) if f.code == "LD948"]


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(designs_with_team_routing())
def test_random_team_routing_round_trips(design):
    again = parse_design(dump_design(design))
    assert again.findings == () and again.design == design
