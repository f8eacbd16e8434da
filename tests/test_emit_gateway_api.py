"""The Gateway API emitter: shape, refusals, CRD schemas, and an independent reading.

The interpreter (``gateway_interpreter.py``) reads the emitted Services and HTTPRoutes the
way the Gateway API specification says a mesh and a gateway do (precedence by specificity,
404 when nothing matches); the simulator says what should happen. Both must agree for every
service, lane and request, on the examples and on random designs the target accepts.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import yaml
from gateway_interpreter import Backend, Mesh, MeshError
from gateway_schema import cel_problems, schema_errors
from http_headers import Headers, app_copies, headers_of
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from istio_workloads import service_object, service_ports
from request_cases import PickLane, gateway_host, requests
from strategies import designs

from lanedesign import examples
from lanedesign.cli import main
from lanedesign.designfile import parse_design
from lanedesign.emit import TargetError, dump_manifests, emit
from lanedesign.emit.gateway_api import emit_gateway_api, gateway_api_problems
from lanedesign.findings import has_errors
from lanedesign.model import (
    IngressRule,
    Lane,
    LaneDesign,
    PassThrough,
    RequestMatch,
    Service,
    ServicePort,
    StringMatch,
)
from lanedesign.simulate import routing_table, simulate
from lanedesign.validate import validate

GOLDEN = Path(__file__).parent / "golden"
EXPRESSIBLE = ["mock-header", "mock-weighted", "shop"]
REFUSED = {"mock-baggage": "LD623", "mock-traceid": "LD620"}
PROPERTY = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
HEADER = examples.load("mock-header")


# Online Boutique's shape, its ports as its own Services have them (../shared/realapps):
# frontend 80 -> 8080 `http`, gRPC services named `grpc` (emailservice 5000 -> 8080), redis-cart
# `tcp-redis`, which only the baseline can hold; lane v2 has new frontend and cartservice.
BOUTIQUE = """
apiVersion: lanedesign/v1alpha1
kind: LaneDesign
metadata: {name: boutique}
spec:
  namespace: boutique
  routeHeader: x-lane
  passThrough: {method: header, traceHeader: x-lane}
  baseline: v1
  services:
  - name: frontend
    calls: [cartservice, checkoutservice]
    ports: [{name: http, port: 80, targetPort: 8080}]
  - name: checkoutservice
    calls: [cartservice, emailservice]
    ports: [{name: grpc, port: 5050, targetPort: 5050}]
  - name: cartservice
    calls: [redis-cart]
    ports: [{name: grpc, port: 7070, targetPort: 7070}]
  - name: emailservice
    ports: [{name: grpc, port: 5000, targetPort: 8080}]
  - name: redis-cart
    ports: [{name: tcp-redis, port: 6379, targetPort: 6379}]
  lanes:
  - name: v1
    labels: {version: v1}
    services: [frontend, checkoutservice, cartservice, emailservice, redis-cart]
  - name: v2
    labels: {version: v2}
    services: [frontend, cartservice]
  ingress: {gateway: istio-system/ingressgateway, entry: frontend, default: v1}
"""


def boutique() -> LaneDesign:
    loaded = parse_design(BOUTIQUE)
    assert loaded.design is not None and not loaded.findings, loaded.findings
    return loaded.design


def codes(design: LaneDesign) -> list[str]:
    return [f.code for f in gateway_api_problems(design)]


def expressible(design: LaneDesign) -> LaneDesign:
    """The design, after checking that the validator and the target accept it."""
    errors = [f for f in validate(design, "gateway-api") if f.severity == "error"]
    assert not errors, errors
    assert gateway_api_problems(design) == []
    return design


def app_services(design: LaneDesign) -> list[dict]:
    """The application's own Services, as its cluster has them (not emitted: the user's)."""
    return [service_object(s.name, design.namespace_of(s.name), s.selector_map, 0,
                           service_ports(design, s.name)) for s in design.services]


def by_kind(objects: list[dict], kind: str) -> list[dict]:
    return [o for o in objects if o["kind"] == kind]


def named(objects: list[dict], name: str, kind: str = "HTTPRoute") -> dict:
    return next(o for o in objects if o["metadata"]["name"] == name and o["kind"] == kind)


def header_rule(lane: str, **conditions: StringMatch) -> IngressRule:
    return IngressRule(lane, RequestMatch(headers=tuple(conditions.items())))


# -- shape -------------------------------------------------------------------------------------
def test_apply_order_is_services_then_mesh_routes_then_the_ingress():
    objects = emit_gateway_api(HEADER)
    assert [(o["kind"], o["metadata"]["name"]) for o in objects] == [
        ("Service", "mocka-s1"), ("Service", "mocka-s2"),
        ("Service", "mockb-s1"), ("Service", "mockb-s3"),
        ("Service", "mockc-s1"), ("Service", "mockc-s2"),
        ("HTTPRoute", "mock-header-mocka"), ("HTTPRoute", "mock-header-mockb"),
        ("HTTPRoute", "mock-header-mockc"), ("HTTPRoute", "mock-header-ingress"),
    ]
    assert all(o["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "lanedesign",
                                           "lanedesign.io/group": "mock-header"}
               for o in objects)


def test_a_version_service_selects_the_service_selector_and_the_lane_labels():
    design = HEADER.with_service(replace(HEADER.service("mockb"),
                                         selector={"app.kubernetes.io/name": "mockb"}))
    service = named(emit_gateway_api(expressible(design)), "mockb-s3", "Service")
    assert service["metadata"]["namespace"] == "default"
    assert service["spec"] == {
        "selector": {"app.kubernetes.io/name": "mockb", "version": "v3"},
        "ports": [{"name": "http", "port": 8000}],
    }
    default = named(emit_gateway_api(HEADER), "mocka-s2", "Service")
    assert default["spec"]["selector"] == {"app": "mocka", "version": "v2"}


def test_a_mesh_route_sends_only_the_lanes_that_change_version():
    route = named(emit_gateway_api(HEADER), "mock-header-mockb")
    assert route["spec"]["parentRefs"] == [
        {"group": "", "kind": "Service", "name": "mockb", "port": 8000}]
    # s3 holds mockb; s1 (the baseline) and s2 (falls back to it) need no match
    assert route["spec"]["rules"] == [
        {"name": "to-s3",
         "matches": [{"headers": [{"type": "Exact", "name": "x-asm-prefer-tag", "value": "s3"}]}],
         "backendRefs": [{"group": "", "kind": "Service", "name": "mockb-s3", "port": 8000}]},
        {"name": "default",
         "backendRefs": [{"group": "", "kind": "Service", "name": "mockb-s1", "port": 8000}]},
    ]


def test_lanes_served_by_one_version_share_a_rule():
    design = expressible(HEADER.with_lane(Lane("s4", {"version": "v4"}, ["mockc"]))
                         .with_fallback("mockb", "s3").with_ingress(default="s1"))
    rules = named(emit_gateway_api(design), "mock-header-mockb")["spec"]["rules"]
    # s2 and s4 lack mockb: its fallback target s3 serves them, like s3 itself
    assert [(r["name"], [m["headers"][0]["value"] for m in r.get("matches", [])])
            for r in rules] == [("to-s3", ["s2", "s3", "s4"]), ("default", [])]


def many_lanes(count: int, method: str = "header", holding: bool = True) -> LaneDesign:
    """``count`` lanes, entered by a weighted split, that hold ``mockb`` (or only ``mockc``,
    with ``mockb`` falling back to lane s3)."""
    held = ["mockb"] if holding else ["mockc"]
    lanes = [*HEADER.lanes, *(Lane(f"l{i}", {"version": f"x{i}"}, held) for i in range(count))]
    pass_through = PassThrough(method) if method == "baggage" else HEADER.pass_through
    weights = (("s1", 100), *((lane.name, 0) for lane in lanes[1:]))
    design = HEADER.with_(lanes=tuple(lanes), pass_through=pass_through).with_ingress(
        strategy="weighted", rules=None, weights=weights)
    return design if holding else design.with_fallback("mockb", "s3")


@pytest.mark.parametrize(("holding", "routes", "rules"), [(True, 19, 302), (False, 3, 6)])
def test_beyond_the_crd_limits_the_rules_split_over_routes_we_name(holding, routes, rules):
    design = expressible(many_lanes(300, holding=holding))
    objects = emit_gateway_api(design)
    found = [o for o in by_kind(objects, "HTTPRoute")
             if o["spec"]["parentRefs"][0]["name"] == "mockb"]
    assert [r["metadata"]["name"] for r in found] == [
        "mock-header-mockb", *(f"mock-header-mockb-part-{k}" for k in range(2, routes + 1))]
    assert sum(len(r["spec"]["rules"]) for r in found) == rules
    for route in found:
        assert len(route["spec"]["rules"]) <= 16
        assert all(len(r.get("matches", [{}])) <= 64 for r in route["spec"]["rules"])
        assert cel_problems(route) == []  # at most 128 matches, unique rule names
    lanes = [m["headers"][0]["value"] for r in found for rule in r["spec"]["rules"]
             for m in rule.get("matches", [])]
    expected = [lane for lane in design.lane_names if design.serving_lane(lane, "mockb") != "s1"]
    assert sorted(lanes) == sorted(expected)  # each lane that leaves the baseline, once
    assert sum("matches" not in rule for r in found for rule in r["spec"]["rules"]) == 1
    check_mesh_routes(design, objects)


def test_a_part_name_taken_by_a_service_route_is_not_reused():
    design = many_lanes(300)
    design = design.with_service(Service("mockb-part-2", port=8000)).with_calls(
        "mockc", ["mockb-part-2"]).with_membership("s1", "mockb-part-2", True)
    objects = emit_gateway_api(expressible(design))
    names = [o["metadata"]["name"] for o in by_kind(objects, "HTTPRoute")]
    assert len(set(names)) == len(names)
    assert "mock-header-mockb-part-2-2" in names


def test_the_ingress_sets_the_route_header_and_sends_to_the_serving_version():
    route = named(emit_gateway_api(HEADER), "mock-header-ingress")
    spec = route["spec"]
    assert route["metadata"]["namespace"] == "default"  # beside the entry service
    assert spec["parentRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "Gateway",
                                   "namespace": "istio-system", "name": "ingressgateway"}]
    assert "hostnames" not in spec  # hosts: ['*']
    s3 = spec["rules"][2]
    assert s3 == {
        "name": "rule-2-s3",
        "matches": [{"headers": [{"type": "Exact", "name": "x-asm-prefer-tag", "value": "s3"}]}],
        "filters": [{"type": "RequestHeaderModifier", "requestHeaderModifier": {
            "set": [{"name": "x-asm-prefer-tag", "value": "s3"}]}}],
        "backendRefs": [{"group": "", "kind": "Service", "name": "mocka-s1", "port": 8000}],
    }


def test_weighted_ingress_sets_the_lane_and_the_baggage_per_backend():
    route = named(emit_gateway_api(examples.load("mock-weighted")), "mock-weighted-ingress")
    (rule,) = route["spec"]["rules"]  # no default lane: unmatched requests get 404
    assert rule["matches"] == [{"path": {"type": "Exact", "value": "/mock"}}]
    assert [(b["name"], b["weight"], b["filters"][0]["requestHeaderModifier"])
            for b in rule["backendRefs"]] == [
        (f"mocka-{version}", weight, {"set": [{"name": "x-asm-prefer-tag", "value": lane},
                                              {"name": "baggage",
                                               "value": f"x-asm-prefer-tag={lane}"}]})
        for version, weight, lane in (("s1", 60, "s1"), ("s2", 20, "s2"), ("s1", 20, "s3"))]


def test_shop_hosts_become_hostnames_and_routes_live_in_each_services_namespace():
    objects = emit_gateway_api(examples.load("shop"))
    assert named(objects, "shop-ingress")["spec"]["hostnames"] == ["shop.example.com"]
    payment = named(objects, "shop-payment")
    assert payment["metadata"]["namespace"] == "payments"
    assert named(objects, "fraud-payments-v3", "Service")["metadata"]["namespace"] == "payments"


def test_the_default_lane_is_a_match_less_last_rule_and_dead_rules_are_left_out():
    rules = (header_rule("s2", **{"x-user": StringMatch("exact", "a")}),
             IngressRule("s3", None), header_rule("s1", **{"x-user": StringMatch("exact", "b")}))
    design = HEADER.with_ingress(rules=rules, default="s1")
    assert codes(design) == []
    names = [r["name"] for r in named(emit_gateway_api(design),
                                      "mock-header-ingress")["spec"]["rules"]]
    assert names == ["rule-0-s2", "rule-1-s3"]  # the catch-all makes the rest unreachable
    with_default = HEADER.with_ingress(rules=rules[:1], default="s3")
    names = [r["name"] for r in named(emit_gateway_api(with_default),
                                      "mock-header-ingress")["spec"]["rules"]]
    assert names == ["rule-0-s2", "default"]


def lanes_by_header(count: int) -> LaneDesign:
    """``count`` more lanes holding ``mockb``, entered by the default rule per lane."""
    lanes = [*HEADER.lanes, *(Lane(f"l{i}", {"version": f"x{i}"}, ["mockb"])
                              for i in range(count))]
    return HEADER.with_(lanes=tuple(lanes)).with_ingress(default="s1")


def test_many_ingress_rules_continue_in_further_routes_where_no_two_can_tie():
    design = expressible(lanes_by_header(40))  # 43 rules and the default
    objects = emit_gateway_api(design)
    ingress = [o for o in by_kind(objects, "HTTPRoute")
               if o["spec"]["parentRefs"][0]["kind"] == "Gateway"]
    assert [r["metadata"]["name"] for r in ingress] == [
        "mock-header-ingress", "mock-header-ingress-part-2", "mock-header-ingress-part-3"]
    assert [len(r["spec"]["rules"]) for r in ingress] == [16, 16, 12]
    assert ingress[-1]["spec"]["rules"][-1]["name"] == "default"
    for pairs in ([], [("x-asm-prefer-tag", "l39")], [("x-asm-prefer-tag", "s2")]):
        check_request(design, pairs, "/", "a.example.com")
    check_mesh_routes(design, objects)


def test_rules_that_could_tie_across_routes_are_refused():
    fillers = [header_rule("s2", **{"x-user": StringMatch("exact", f"u{i}")})
               for i in range(16)]
    overlapping = header_rule("s3", **{"x-env": StringMatch("exact", "b")})  # and x-user: u0
    design = HEADER.with_ingress(rules=(*fillers, overlapping))
    assert codes(design) == ["LD626"]
    assert codes(HEADER.with_ingress(rules=(*fillers[:15], overlapping))) == []  # one route
    exclusive = header_rule("s3", **{"x-user": StringMatch("exact", "other")})
    assert codes(HEADER.with_ingress(rules=(*fillers, exclusive))) == []


def test_no_ingress_route_when_nothing_can_enter():
    design = HEADER.with_ingress(rules=(), default=None)
    assert not [o for o in emit_gateway_api(design)
                if o["metadata"]["name"] == "mock-header-ingress"]


def test_emitting_is_pure_and_deterministic():
    before = repr(HEADER)
    first = emit_gateway_api(HEADER)
    assert emit_gateway_api(HEADER) == first and emit(HEADER, "gateway-api") == first
    assert repr(HEADER) == before


# -- ports ---------------------------------------------------------------------------------------
def test_version_services_carry_the_app_services_ports_exactly():
    design = expressible(boutique())
    objects = emit_gateway_api(design)
    frontend = named(objects, "frontend-v2", "Service")["spec"]
    assert frontend == {"selector": {"app": "frontend", "version": "v2"},
                        "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}
    email = named(objects, "emailservice-v1", "Service")["spec"]["ports"]
    assert email == [{"name": "grpc", "port": 5000, "targetPort": 8080}]
    several = (ServicePort(7070, "grpc", "rpc", "kubernetes.io/h2c"),
               ServicePort(9090, "metrics", 9091), ServicePort(53, "dns", None, None, "UDP"))
    cart = replace(design.service("cartservice"), ports=several)
    ports = named(emit_gateway_api(design.with_service(cart)), "cartservice-v2",
                  "Service")["spec"]["ports"]
    assert ports == [
        {"name": "grpc", "port": 7070, "targetPort": "rpc", "appProtocol": "kubernetes.io/h2c"},
        {"name": "metrics", "port": 9090, "targetPort": 9091},
        {"name": "dns", "port": 53, "protocol": "UDP"}]


def test_without_ports_the_one_port_is_named_http_as_before():
    service = named(emit_gateway_api(HEADER), "mockb-s3", "Service")
    assert service["spec"]["ports"] == [{"name": "http", "port": 8000}]


def test_routes_and_backends_name_the_routed_port():
    objects = emit_gateway_api(boutique())
    for service, port in (("frontend", 80), ("cartservice", 7070), ("emailservice", 5000)):
        route = named(objects, f"boutique-{service}")
        assert route["spec"]["parentRefs"] == [
            {"group": "", "kind": "Service", "name": service, "port": port}]
        assert {b["port"] for r in route["spec"]["rules"] for b in r["backendRefs"]} == {port}
    ingress = named(objects, "boutique-ingress")
    assert {b["port"] for r in ingress["spec"]["rules"] for b in r["backendRefs"]} == {80}
    # `port` picks the routed port among several; without it, the first HTTP or gRPC one
    cart = replace(boutique().service("cartservice"), port=None, ports=(
        ServicePort(6379, "tcp-cache"), ServicePort(7070, "grpc"), ServicePort(8080, "http")))
    route = named(emit_gateway_api(boutique().with_service(cart)), "boutique-cartservice")
    assert route["spec"]["parentRefs"][0]["port"] == 7070
    route = named(emit_gateway_api(boutique().with_service(replace(cart, port=8080))),
                  "boutique-cartservice")
    assert route["spec"]["parentRefs"][0]["port"] == 8080


def test_grpc_ports_route_by_header_with_an_httproute():
    route = named(emit_gateway_api(boutique()), "boutique-cartservice")
    assert route["kind"] == "HTTPRoute"
    assert route["spec"]["rules"][0]["matches"] == [
        {"headers": [{"type": "Exact", "name": "x-lane", "value": "v2"}]}]
    for app_protocol in ("grpc", "kubernetes.io/h2c"):
        cart = replace(boutique().service("cartservice"), ports=(
            ServicePort(7070, "rpc", app_protocol=app_protocol),))
        design = expressible(boutique().with_service(cart))
        check_mesh_routes(design)


def test_a_tcp_service_only_the_baseline_holds_gets_no_route_and_no_version_service():
    objects = emit_gateway_api(expressible(boutique()))
    assert not [o for o in objects if "redis-cart" in o["metadata"]["name"]]
    assert [o["metadata"]["name"] for o in by_kind(objects, "HTTPRoute")] == [
        "boutique-frontend", "boutique-checkoutservice", "boutique-cartservice",
        "boutique-emailservice", "boutique-ingress"]


def test_a_lane_holding_a_tcp_service_is_refused_by_the_target_as_by_the_validator():
    design = boutique().with_membership("v2", "redis-cart", True)
    assert "LD213" in [f.code for f in validate(design)]
    assert codes(design) == ["LD213"]
    with pytest.raises(TargetError) as err:
        emit_gateway_api(design)
    assert err.value.finding.code == "LD213"
    assert err.value.finding.path == "spec.services[4].ports"


def test_a_tcp_entry_and_a_routed_tcp_port_are_refused():
    entry = boutique().with_ingress(entry="redis-cart")
    assert codes(entry) == ["LD630"]
    cart = replace(boutique().service("cartservice"), port=6379, ports=(
        ServicePort(7070, "grpc"), ServicePort(6379, "tcp-cache")))
    assert codes(boutique().with_service(cart)) == ["LD631"]
    udp = replace(cart, port=53, ports=(ServicePort(7070, "grpc"),
                                        ServicePort(53, "dns", transport="UDP")))
    assert codes(boutique().with_service(udp)) == ["LD631"]


def test_another_http_port_of_a_lane_routed_service_is_a_warning_and_still_exported():
    cart = replace(boutique().service("cartservice"), ports=(
        ServicePort(7070, "grpc"), ServicePort(9090, "http-metrics")))
    design = boutique().with_service(cart)
    (finding,) = gateway_api_problems(design)
    assert (finding.code, finding.severity) == ("LD632", "warning")
    assert "9090" in finding.message
    assert named(emit_gateway_api(design), "boutique-cartservice")  # a warning does not stop it
    # the baseline serves every lane of emailservice: nothing routed, nothing to warn about
    email = replace(boutique().service("emailservice"), ports=(
        ServicePort(5000, "grpc", 8080), ServicePort(9090, "http-metrics")))
    assert codes(boutique().with_service(email)) == []


def test_boutique_routes_like_the_simulator_on_the_right_target_ports(shared_dir):
    design = boutique()
    objects = emit_gateway_api(design)
    for obj in objects:
        assert schema_errors(shared_dir, obj) == [], obj["metadata"]["name"]
        assert cel_problems(obj) == [], obj["metadata"]["name"]
    check_mesh_routes(design, objects)
    for pairs in ([], [("x-lane", "v2")], [("x-lane", "v1")], [("x-lane", "nope")]):
        check_request(design, pairs, "/", "shop.example.com")


def test_the_port_checks_catch_a_version_service_without_its_target_port():
    design = boutique()
    objects = emit_gateway_api(design)
    del named(objects, "frontend-v2", "Service")["spec"]["ports"][0]["targetPort"]
    with pytest.raises(AssertionError, match="8080"):
        check_mesh_routes(design, objects)
    objects = emit_gateway_api(design)
    named(objects, "boutique-cartservice")["spec"]["rules"][0]["backendRefs"][0]["port"] = 80
    with pytest.raises(MeshError, match="no port 80"):
        check_mesh_routes(design, objects)


def test_an_httproute_on_a_tcp_port_routes_nothing_in_the_reading():
    design = boutique()
    route = json.loads(json.dumps(named(emit_gateway_api(design), "boutique-cartservice")))
    route["metadata"]["name"] = "redis-lanes"
    route["spec"]["parentRefs"][0].update(name="redis-cart", port=6379)
    route["spec"]["rules"][1]["backendRefs"][0].update(name="redis-cart", port=6379)
    route["spec"]["rules"] = route["spec"]["rules"][1:]
    mesh = Mesh([*emit_gateway_api(design), route, *app_services(design)])
    routed = mesh.to_service("boutique", "redis-cart", 6379, "/", headers_of({}))
    assert routed.rule is None  # the proxy handles port 6379 as TCP: the Service itself
    tcp_named_http = json.loads(json.dumps(route))
    tcp_named_http["spec"]["parentRefs"][0].update(name="cartservice", port=7070)
    mesh = Mesh([*emit_gateway_api(design), tcp_named_http, *app_services(design)])
    with pytest.raises(MeshError, match="TCP port"):  # a backend on redis's TCP port
        mesh.to_service("boutique", "cartservice", 7070, "/", headers_of({}))


# -- refusals ----------------------------------------------------------------------------------
REFUSALS = {
    "LD620": (examples.load("mock-traceid"), "spec.passThrough.method"),
    "LD621": (HEADER.with_service(replace(HEADER.service("mockc"), port=None)),
              "spec.services[2].port"),
    "LD622": (HEADER.with_service(Service("mockb-s3", port=8000)).with_membership(
        "s1", "mockb-s3", True), "spec.services[1].name"),
    "LD623": (examples.load("mock-baggage"), "spec.ingress.rules[0].match.headers."
              "x-asm-prefer-tag"),
    "LD624": (HEADER.with_ingress(rules=(IngressRule("s2", RequestMatch(
        uri=StringMatch("prefix", "/api"))),)), "spec.ingress.rules[0].match.uri"),
    "LD625": (HEADER.with_ingress(rules=(
        header_rule("s2", **{"x-user": StringMatch("exact", "a")}),
        header_rule("s3", **{"x-env": StringMatch("exact", "b"),
                             "x-zone": StringMatch("exact", "c")}))), "spec.ingress.rules"),
    "LD626": (HEADER.with_ingress(hosts=tuple(f"h{i}.example.com" for i in range(17))),
              "spec.ingress.hosts"),
    "LD627": (HEADER.with_ingress(hosts=("10.0.0.1",)), "spec.ingress.hosts[0]"),
    "LD628": (HEADER.with_ingress(rules=(header_rule("s2", **{"x-user": StringMatch(
        "exact", "")}),)), "spec.ingress.rules[0].match.headers.x-user"),
    "LD629": (examples.load("mock-weighted").with_pass_through(baggage_key="lane%key"),
              "spec.passThrough.baggageKey"),
    "LD109": (HEADER.with_lane(replace(HEADER.lane("s3"), labels={"app": "mockb-v3"})),
              "spec.services[1].selector"),
    "LD630": (boutique().with_ingress(entry="redis-cart"), "spec.ingress.entry"),
    "LD631": (boutique().with_service(replace(boutique().service("cartservice"), port=6379,
                                              ports=(ServicePort(7070, "grpc"),
                                                     ServicePort(6379, "tcp-cache")))),
              "spec.services[2].port"),
}


@pytest.mark.parametrize("code", sorted(REFUSALS))
def test_each_refusal_is_coded_and_emitting_raises_it(code):
    design, path = REFUSALS[code]
    assert not has_errors(validate(design)), validate(design)
    findings = gateway_api_problems(design)
    hits = [f for f in findings if f.code == code]
    assert hits and path in [f.path for f in hits], [str(f) for f in findings]
    assert all(f.severity == "error" and f.hint for f in hits)
    with pytest.raises(TargetError) as err:
        emit_gateway_api(design)
    assert err.value.finding == findings[0]


def test_refusals_name_every_problem_at_once():
    design = REFUSALS["LD621"][0].with_pass_through(method="traceId",
                                                    trace_header="x-b3-traceid")
    assert codes(design) == ["LD620", "LD621"]


def test_the_baggage_method_is_fine_where_the_ingress_does_not_test_the_route_header():
    assert codes(examples.load("mock-weighted")) == []
    rules = (header_rule("s2", **{"x-user": StringMatch("exact", "a")}),)
    assert codes(examples.load("mock-baggage").with_ingress(rules=rules)) == []
    assert codes(examples.load("mock-baggage").with_ingress(rules=None)) == ["LD623"]


def test_precedence_is_refused_only_when_it_would_change_the_lane():
    more_specific_later = REFUSALS["LD625"][0]
    assert codes(more_specific_later) == ["LD625"]
    rules = more_specific_later.ingress.rules
    assert codes(HEADER.with_ingress(rules=rules[::-1])) == []  # most specific first
    same_lane = (rules[0], replace(rules[1], lane="s2"))
    assert codes(HEADER.with_ingress(rules=same_lane)) == []
    exclusive = (rules[0], header_rule("s3", **{"x-user": StringMatch("exact", "b"),
                                                 "x-env": StringMatch("exact", "b")}))
    assert codes(HEADER.with_ingress(rules=exclusive)) == []
    shadowed = (rules[0], header_rule("s3", **{"x-user": StringMatch("exact", "a"),
                                                "x-env": StringMatch("exact", "b")}))
    # the simulator never reaches the second rule, so it is left out rather than refused
    shadowed_design = HEADER.with_ingress(rules=shadowed)
    assert codes(shadowed_design) == []
    assert codes(HEADER.with_ingress(hosts=("Shop.example.com",))) == ["LD627"]
    ingress = named(emit_gateway_api(shadowed_design), "mock-header-ingress")
    assert [r["name"] for r in ingress["spec"]["rules"]] == ["rule-0-s2"]
    exact_path = (IngressRule("s2", RequestMatch(headers=(("x-user", StringMatch("exact",
                                                                                   "a")),))),
                  IngressRule("s3", RequestMatch(uri=StringMatch("exact", "/x"))))
    assert codes(HEADER.with_ingress(rules=exact_path)) == ["LD625"]  # exact path outranks


def test_uri_prefix_slash_and_exact_paths_are_expressible():
    slash = (IngressRule("s2", RequestMatch(uri=StringMatch("prefix", "/"))),)
    assert codes(HEADER.with_ingress(rules=slash)) == []
    for bad in ("/a//b", "/a/./b", "/a#b", "/a%2fb"):
        design = HEADER.with_ingress(rules=(IngressRule("s2", RequestMatch(
            uri=StringMatch("exact", bad))),))
        assert codes(design) == ["LD624"], bad


# -- schemas -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", EXPRESSIBLE)
def test_examples_match_the_crd_schemas(shared_dir, name):
    for obj in emit_gateway_api(examples.load(name)):
        assert schema_errors(shared_dir, obj) == [], obj["metadata"]["name"]
        assert cel_problems(obj) == [], obj["metadata"]["name"]


@pytest.mark.parametrize("name", EXPRESSIBLE)
def test_with_gateway_emits_the_gateway_the_ingress_routes_attach_to(shared_dir, name):
    """Opt-in: class istio, one HTTP listener on 80 admitting exactly the namespace the
    ingress routes live in; before those routes; the rest of the export unchanged."""
    design = examples.load(name)
    plain, objects = emit_gateway_api(design), emit_gateway_api(design, with_gateway=True)
    (gateway,) = [o for o in objects if o["kind"] == "Gateway"]
    assert [o for o in objects if o is not gateway] == plain
    ingress = [o for o in objects if o["kind"] == "HTTPRoute"
               and o["spec"]["parentRefs"][0]["kind"] == "Gateway"]
    assert ingress and objects.index(gateway) < min(objects.index(o) for o in ingress)
    meta = gateway["metadata"]
    for route in ingress:
        (parent,) = route["spec"]["parentRefs"]
        assert (parent["namespace"], parent["name"]) == (meta["namespace"], meta["name"])
    (listener,) = gateway["spec"]["listeners"]
    assert gateway["spec"]["gatewayClassName"] == "istio"
    assert (listener["port"], listener["protocol"]) == (80, "HTTP")
    route_ns = {r["metadata"]["namespace"] for r in ingress}
    allowed = listener["allowedRoutes"]["namespaces"]
    if route_ns == {meta["namespace"]}:
        assert allowed == {"from": "Same"}
    else:
        (ns,) = route_ns
        assert allowed == {"from": "Selector", "selector": {
            "matchLabels": {"kubernetes.io/metadata.name": ns}}}
    assert schema_errors(shared_dir, gateway) == [] and cel_problems(gateway) == []
    assert emit(design, "gateway-api", with_gateway=True) == objects


def test_routes_in_the_gateways_namespace_are_admitted_as_same():
    design = HEADER.with_ingress(gateway="ingress-gw")  # beside the routes
    (gateway,) = [o for o in emit_gateway_api(design, with_gateway=True)
                  if o["kind"] == "Gateway"]
    assert gateway["metadata"]["namespace"] == design.namespace_of(design.ingress.entry)
    assert gateway["spec"]["listeners"][0]["allowedRoutes"] == {"namespaces": {"from": "Same"}}


def test_the_gateway_schema_and_cel_checks_bite(shared_dir):
    (gateway,) = [o for o in emit_gateway_api(HEADER, with_gateway=True)
                  if o["kind"] == "Gateway"]
    broken = json.loads(json.dumps(gateway))
    broken["spec"]["listeners"][0]["protocol"] = 80
    assert any("protocol" in e for e in schema_errors(shared_dir, broken))
    broken = json.loads(json.dumps(gateway))
    broken["spec"]["listeners"].append(dict(broken["spec"]["listeners"][0]))
    assert "Listener name must be unique within the Gateway" in cel_problems(broken)


def test_the_strict_schema_and_the_cel_rules_catch_wrong_objects(shared_dir):
    objects = emit_gateway_api(examples.load("mock-weighted"))
    ingress = named(objects, "mock-weighted-ingress")
    assert schema_errors(shared_dir, ingress) == []
    misspelt = json.loads(json.dumps(ingress))
    misspelt["spec"]["rules"][0]["backendRefs"][0]["wieght"] = 60
    assert any("wieght" in e for e in schema_errors(shared_dir, misspelt))
    string_weight = json.loads(json.dumps(ingress))
    string_weight["spec"]["rules"][0]["backendRefs"][0]["weight"] = "60"
    assert any("'60' is not of type 'integer'" in e
               for e in schema_errors(shared_dir, string_weight))
    header_type = json.loads(json.dumps(ingress))
    header_type["spec"]["rules"][0]["matches"][0]["path"]["type"] = "Prefix"
    assert any("'Prefix' is not one of" in e for e in schema_errors(shared_dir, header_type))
    no_port = json.loads(json.dumps(ingress))
    del no_port["spec"]["rules"][0]["backendRefs"][0]["port"]
    assert schema_errors(shared_dir, no_port) == []  # a CEL rule, not the schema, says it
    assert cel_problems(no_port) == ["rules[0]: Must have port for Service reference"]
    service = json.loads(json.dumps(objects[0]))
    service["spec"]["selector"]["version"] = "v1*"
    service["metadata"]["name"] = "1mocka"
    errors = schema_errors(shared_dir, service)
    assert any(e.startswith("spec.selector.version") for e in errors)
    assert any(e.startswith("metadata.name") for e in errors)


def gatewayable(design: LaneDesign) -> LaneDesign:
    """A random design moved towards what the target takes: ports, and the header method
    where a baggage design's ingress rules test the route header (LD623)."""
    design = design.with_(services=tuple(s if s.port else replace(s, port=8080)
                                         for s in design.services))
    if (design.pass_through.method == "baggage" and design.ingress is not None
            and design.ingress.strategy == "rules"):
        design = design.with_(pass_through=PassThrough("header"))
    return design


GATEWAYABLE = designs().map(gatewayable).filter(
    lambda d: not has_errors(validate(d)) and not gateway_api_problems(d))


def port_shapes(i: int) -> dict[str, tuple[ServicePort, ...]]:
    """Ports as applications have them, numbered apart per service ``i``."""
    return {
        "port": (),  # only `port`: one `http` port, as before ports were modelled
        "http-target": (ServicePort(80, "http", 8080 + i),),
        "grpc": (ServicePort(7000 + i, "grpc"),),
        "h2c": (ServicePort(9000 + i, "api", "rpc", "kubernetes.io/h2c"),),
        "unnamed": (ServicePort(8000 + i, None, 18000 + i),),
        "grpc-and-metrics": (ServicePort(7000 + i, "grpc"), ServicePort(9090, "http-metrics")),
        # numbered apart: TCP services without cluster IPs on one port would share a listener
        "tcp": (ServicePort(6379 + i, "tcp-redis"),),
    }


def with_ports(design: LaneDesign, shapes: list[str]) -> LaneDesign:
    """``design`` with the ports ``shapes`` names per service; TCP only where only the
    baseline holds the service and it is not the entry (elsewhere the target refuses it)."""
    services = []
    entry = design.ingress.entry if design.ingress is not None else None
    for i, (svc, shape) in enumerate(zip(design.services, shapes)):
        tested = any(lane.name != design.baseline and lane.holds(svc.name)
                     for lane in design.lanes)
        if shape == "tcp" and (tested or svc.name == entry):
            shape = "grpc"
        ports = port_shapes(i)[shape]
        services.append(replace(svc, port=None, ports=ports) if ports else svc)
    return design.with_(services=tuple(services))


# random designs with the ports of real applications: gRPC, targetPorts, TCP in the baseline
PORTED = designs().map(gatewayable).flatmap(
    lambda d: st.lists(st.sampled_from(sorted(port_shapes(0))), min_size=len(d.services),
                       max_size=len(d.services)).map(lambda shapes: with_ports(d, shapes))
).filter(lambda d: not has_errors(validate(d)) and not has_errors(gateway_api_problems(d)))


@PROPERTY
@given(st.one_of(GATEWAYABLE, PORTED))
def test_random_designs_match_the_crd_schemas(shared_dir, design):
    objects = emit_gateway_api(design)
    for obj in objects:
        assert schema_errors(shared_dir, obj) == [], obj
        assert cel_problems(obj) == [], obj
    keys = [(o["kind"], o["metadata"]["namespace"], o["metadata"]["name"]) for o in objects]
    assert len(set(keys)) == len(keys)


# -- the interpreter agrees with the simulator ---------------------------------------------------
def lane_pods(design: LaneDesign, service: str, lane: str) -> dict[str, str]:
    """The labels of ``service``'s pods in ``lane``: its selector plus the lane's labels."""
    found = design.lane(lane)
    svc = design.service(service)
    assert found is not None and svc is not None
    return {**svc.selector_map, **found.label_map}


def carried(design: LaneDesign, lane: str) -> Headers:
    """The headers a chain in ``lane`` carries on a hop inside the mesh."""
    if design.pass_through.method == "baggage":
        return headers_of({"baggage": f"userId=1,{design.baggage_key}={lane}"})
    return headers_of({design.route_header: lane})


def pods(mesh: Mesh, backend: Backend, design: LaneDesign | None = None,
         service: str | None = None) -> dict[str, str] | None:
    """The labels of the pods ``backend`` selects. The service's own Service (no route
    applied, e.g. a TCP port) selects every version's pods: given the design, that is the
    baseline's pods when no other lane holds the service."""
    selector = mesh.selector(backend.namespace, backend.name)
    if design is not None and backend.name == service:
        svc = design.service(service)
        holders = [lane.name for lane in design.lanes if lane.holds(service)]
        if svc is not None and selector == svc.selector_map and holders == [design.baseline]:
            return lane_pods(design, service, design.baseline)
    return selector


def mesh_of(design: LaneDesign, objects: list[dict] | None) -> Mesh:
    """The export (or ``objects``) beside the application's own Services."""
    return Mesh([*(emit_gateway_api(design) if objects is None else objects),
                 *app_services(design)], ambient=design.ambient)


def app_target(mesh: Mesh, design: LaneDesign, service: str) -> int | str | None:
    """The pod port a call to ``service``'s routed port reaches through its own Service."""
    svc = design.service(service)
    assert svc is not None
    own = Backend(design.namespace_of(service), service, svc.routed_port, 1, ())
    return mesh.target_port(own)


def check_mesh_routes(design: LaneDesign, objects: list[dict] | None = None) -> None:
    """Every service, every lane (and none, and an unknown one) lands on the simulator's pods,
    on the container port the service's own Service reaches."""
    mesh = mesh_of(design, objects)
    table = routing_table(design)
    for svc in design.services:
        ns = design.namespace_of(svc.name)
        cases = [*((carried(design, lane), table[svc.name][lane]) for lane in design.lane_names),
                 ({}, design.baseline), (carried(design, "no-such-lane"), design.baseline)]
        for headers, expected in cases:
            routed = mesh.to_service(ns, svc.name, svc.routed_port, "/", headers)
            assert routed.status == 200 and len(routed.backends) == 1, (svc.name, headers)
            (backend,) = routed.backends
            assert pods(mesh, backend, design, svc.name) == lane_pods(
                design, svc.name, expected), (svc.name, headers)
            assert mesh.target_port(backend) == app_target(mesh, design, svc.name), (
                svc.name, backend.name, mesh.target_port(backend))


@dataclass(frozen=True)
class Call:
    caller: str | None
    service: str
    labels: dict[str, str] | None


def propagated(design: LaneDesign) -> tuple[str, ...]:
    """The headers the apps copy from their inbound request to their outbound calls."""
    return {"baggage": ("baggage",), "header": (design.route_header,)}[
        design.pass_through.method]


def drive(mesh: Mesh, design: LaneDesign, headers: Headers, entry: Backend) -> list[Call]:
    """A request the gateway sent to ``entry``, followed hop by hop through the mesh."""
    calls: list[Call] = []

    def serve(caller: str | None, name: str, backend: Backend, sent: Headers,
              path: tuple) -> None:
        labels = pods(mesh, backend, design, name)
        calls.append(Call(caller, name, labels))
        assert mesh.target_port(backend) == app_target(mesh, design, name), backend
        received = backend.forward(sent)
        service = design.service(name)
        assert service is not None
        here = (*path, name)
        # the version whose pods answered makes the calls (its lane's labels are on them)
        version = next((ln.name for ln in design.lanes
                        if labels and all(labels.get(k) == v for k, v in ln.labels)), None)
        for callee in dict(service.lane_calls).get(version, service.calls):
            target = design.service(callee)
            if callee in here or target is None:
                continue  # the simulator follows neither cycles nor unknown services
            # an OpenTelemetry app carries on only the first baggage line it received, and
            # an app with a fixed list copies only what is on it
            outbound = app_copies(received, propagated(design), service.forwards,
                                  service.propagates)
            routed = mesh.to_service(design.namespace_of(callee), callee, target.routed_port,
                                     "/", outbound)
            assert routed.status == 200 and len(routed.backends) == 1
            serve(name, callee, routed.backends[0], outbound, here)

    assert design.ingress is not None
    serve(None, design.ingress.entry, entry, headers, ())
    return calls


def check_request(design: LaneDesign, pairs: list[tuple[str, str]], path: str, host: str,
                  objects: list[dict] | None = None) -> None:
    """The gateway and every hop after it, read from the objects, against ``simulate``."""
    ing = design.ingress
    assert ing is not None
    mesh = mesh_of(design, objects)
    headers = headers_of(pairs)
    routed = mesh.at_gateway(ing.gateway_namespace or design.namespace, ing.gateway_name,
                             host, path, headers)
    if routed.status == 404:
        assert simulate(design, pairs, path=path, host=host).status == 404, (pairs, path, host)
        return
    shares, offered = {}, None
    for backend, share in routed.shares:
        forwarded = backend.forward(headers)
        (lane,) = forwarded[design.route_header]  # the gateway names the lane it chose
        if design.pass_through.method == "baggage":
            # one line: an OpenTelemetry app reads only the first
            assert forwarded.get("baggage") == [f"{design.baggage_key}={lane}"]
        shares[lane] = share
        rng = PickLane(lane)
        trace = simulate(design, pairs, path=path, host=host, rng=rng)
        assert (trace.status, trace.lane) == (200, lane), (pairs, path)
        offered = rng.offered
        expected = [Call(h.caller, h.service, lane_pods(design, h.service, h.lane))
                    for h in trace.hops]
        assert drive(mesh, design, headers, backend) == expected, (pairs, lane)
    if len(routed.backends) > 1 or offered is not None:  # a weighted split
        assert offered == pytest.approx(shares)


REQUESTS = {
    "mock-header": [[], [("x-asm-prefer-tag", "s2")], [("x-asm-prefer-tag", "s3")],
                    [("X-ASM-Prefer-Tag", "s1")], [("x-asm-prefer-tag", "nope")],
                    [("baggage", "x-asm-prefer-tag=s2")]],
    "mock-weighted": [[], [("baggage", "x-asm-prefer-tag=s3")], [("x-asm-prefer-tag", "s2")]],
    "shop": [[], [("x-shop-lane", "search-exp")], [("baggage", "shop-lane=payments-v3")]],
}


@pytest.mark.parametrize("name", EXPRESSIBLE)
def test_mesh_routes_land_on_the_simulators_pods(name):
    check_mesh_routes(examples.load(name))


@pytest.mark.parametrize("name", EXPRESSIBLE)
def test_requests_through_the_gateway_follow_the_simulator(name):
    design = examples.load(name)
    for pairs in REQUESTS[name]:
        for path in ("/", "/mock", "/mock/x", "/other"):
            check_request(design, pairs, path, gateway_host(design))
    check_request(design, [], "/", "not-served.example.org")


def test_the_comparison_catches_wrong_objects():
    objects = emit_gateway_api(HEADER)
    route = named(objects, "mock-header-mockb")
    route["spec"]["rules"][0]["backendRefs"][0]["name"] = "mockb-s1"  # ignores lane s3
    with pytest.raises(AssertionError):
        check_mesh_routes(HEADER, objects)
    # list order does not decide: moving the catch-all first changes nothing ...
    objects = emit_gateway_api(HEADER)
    rules = named(objects, "mock-header-mockb")["spec"]["rules"]
    rules.reverse()
    check_mesh_routes(HEADER, objects)
    # ... but a rule that is not more specific than the catch-all loses to list order
    rules[1]["matches"] = [{}]
    with pytest.raises(AssertionError):
        check_mesh_routes(HEADER, objects)
    weighted = examples.load("mock-weighted")
    objects = emit_gateway_api(weighted)
    for backend in named(objects, "mock-weighted-ingress")["spec"]["rules"][0]["backendRefs"]:
        backend["filters"][0]["requestHeaderModifier"]["set"].pop()  # no baggage member
    with pytest.raises(AssertionError):  # the lane is lost after the first hop
        check_request(weighted, [], "/mock", "a.example.com", objects)
    # appending the member instead: an app reading the first line carries the client's lane
    objects = emit_gateway_api(weighted)
    for backend in named(objects, "mock-weighted-ingress")["spec"]["rules"][0]["backendRefs"]:
        modifier = backend["filters"][0]["requestHeaderModifier"]
        modifier["add"] = [modifier["set"].pop()]
    client = [("baggage", "x-asm-prefer-tag=s3")]
    check_request(weighted, [], "/mock", "a.example.com", objects)  # fine without client baggage
    with pytest.raises(AssertionError):
        check_request(weighted, client, "/mock", "a.example.com", objects)
    # a route that only creation time would order against ours is an error, not a guess
    rival = json.loads(json.dumps(named(objects, "mock-weighted-mockb")))
    rival["metadata"]["name"] = "rival"
    rival["spec"]["rules"][0]["backendRefs"][0]["name"] = "mockb-s1"
    with pytest.raises(MeshError):
        check_mesh_routes(weighted, [*objects, rival])


def test_the_ingress_rule_order_the_target_refuses_would_route_differently():
    design = REFUSALS["LD625"][0]
    import lanedesign.emit.gateway_api as target

    objects = [target.version_service(design, s, lane) for s in design.services
               for lane in design.lane_names if design.lane(lane).holds(s.name)]
    serve = design.serving_lane_resolver()
    objects += target.ingress_routes(design, serve)
    mesh = Mesh(objects)
    request = {"x-user": "a", "x-env": "b", "x-zone": "c"}
    chosen = mesh.at_gateway("istio-system", "ingressgateway", "a.example.com", "/",
                             headers_of(request))
    assert chosen.rule == "rule-1-s3"  # the more specific rule, though listed second
    assert simulate(design, request).lane == "s2"


@PROPERTY
@given(st.one_of(GATEWAYABLE, PORTED))
def test_random_designs_route_the_mesh_like_the_simulator(design):
    check_mesh_routes(design)


@PROPERTY
@given(st.data())
def test_random_designs_route_requests_like_the_simulator(data):
    design = data.draw(st.one_of(GATEWAYABLE, PORTED))
    for _ in range(3):
        pairs, path, host = data.draw(requests(design))
        check_request(design, pairs, path, host)


def test_many_baggage_lanes_route_like_the_simulator():
    design = expressible(many_lanes(40, method="baggage"))
    check_mesh_routes(design)
    check_request(design, [("baggage", "x-asm-prefer-tag=l7")], "/", "a.example.com")


# -- golden files --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", EXPRESSIBLE)
def test_golden_manifests(name):
    text = dump_manifests(emit_gateway_api(examples.load(name)))
    path = GOLDEN / f"{name}.gateway-api.yaml"
    if os.environ.get("LANEDESIGN_UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"{path.name} is missing; create it with LANEDESIGN_UPDATE_GOLDEN=1"
    assert path.read_text(encoding="utf-8") == text, (
        f"{path.name} is out of date; rerun with LANEDESIGN_UPDATE_GOLDEN=1 and review the diff")


# -- command line --------------------------------------------------------------------------------
def test_cli_export_prints_multi_document_yaml(capsys):
    assert main(["export", str(examples.path("mock-header")), "--target", "gateway-api"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# 10 gateway-api objects for lane design 'mock-header'")
    assert list(yaml.safe_load_all(out)) == emit_gateway_api(HEADER)


def test_cli_export_writes_one_file_per_object(tmp_path, capsys):
    out = tmp_path / "manifests"
    assert main(["export", str(examples.path("shop")), "--target", "gateway-api", "--out",
                 str(out)]) == 0
    files = sorted(out.rglob("*.yaml"))
    objects = emit_gateway_api(examples.load("shop"))
    assert len(files) == len(objects) == len(capsys.readouterr().out.splitlines())


@pytest.mark.parametrize(("name", "code"), sorted(REFUSED.items()))
@pytest.mark.parametrize("command", ["export", "validate"])
def test_cli_refusals_are_coded_findings(capsys, name, code, command):
    args = [command, str(examples.path(name)), "--target", "gateway-api", "--format", "json"]
    assert main(args) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    assert code in [f["code"] for f in json.loads(captured.out)["findings"]]


@pytest.mark.parametrize("name", EXPRESSIBLE)
def test_cli_validate_accepts_what_the_target_can_express(capsys, name):
    assert main(["validate", str(examples.path(name)), "--target", "gateway-api"]) == 0
    assert "LD62" not in capsys.readouterr().out


# -- the cluster: discovery, make-before-break and prune through the registry --------------
GATEWAY_SERVED = ("gateway.networking.k8s.io", "v1", "httproutes", "HTTPRoute")


def test_apply_creates_services_before_routes_and_prunes_after_them(tmp_path):
    from kube_standin import CORE, running

    from lanedesign.cluster import TargetNotServed, apply, connect, diff, discover

    design = HEADER
    with running(tmp_path, *CORE) as served, connect(served.kubeconfig) as cluster:
        assert "gateway-api" not in discover(cluster).targets
        with pytest.raises(TargetNotServed) as refused:
            diff(cluster, emit_gateway_api(design), design.name)
        assert "Gateway API CRDs" in refused.value.hint
    with running(tmp_path, GATEWAY_SERVED, *CORE) as served, \
            connect(served.kubeconfig) as cluster:
        found = discover(cluster)
        assert "gateway-api" in found.targets and found.groups[""] == ["v1"]
        assert "  core: v1" in found.summary().splitlines()
        first = apply(cluster, emit_gateway_api(design), design.name, settle_seconds=0)
        assert first.failed is None
        phases = [(s.phase, s.ref.kind) for s in first.done]
        assert phases == [("prepare", "Service")] * 6 + [("route", "HTTPRoute")] * 4
        # lane s3 goes: its version Service of mockb goes after the route stops naming it
        smaller = design.without_lane("s3")
        again = apply(cluster, emit_gateway_api(smaller), design.name, prune=True,
                      settle_seconds=0)
        assert again.failed is None
        done = [(s.phase, s.verb, s.ref.kind, s.ref.name) for s in again.done]
        assert ("cleanup", "delete", "Service", "mockb-s3") in done
        assert done.index(("cleanup", "delete", "Service", "mockb-s3")) > max(
            i for i, d in enumerate(done) if d[2] == "HTTPRoute")


def test_the_interpreter_and_schema_checks_import_nothing_of_lanedesign():
    import ast

    for name in ("gateway_interpreter.py", "gateway_schema.py"):
        tree = ast.parse((Path(__file__).parent / name).read_text(encoding="utf-8"))
        imported = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import)
                     for a in n.names]
        assert not [m for m in imported if m.startswith("lanedesign")], name


# -- a real API server (kube tier): the CRD's CEL rules and strict field validation ------------
def dry_run(plane, obj: dict) -> None:
    """A server-side apply of ``obj`` with ``dryRun=All`` and strict field validation."""
    from kube_real import object_path

    plane.request("PATCH", object_path(obj), obj,
                  [("fieldManager", "lanedesign"), ("force", "true"), ("dryRun", "All"),
                   ("fieldValidation", "Strict")], "application/apply-patch+yaml")


@pytest.mark.kube
def test_a_real_api_server_takes_every_object(control_plane):
    several = replace(boutique().service("cartservice"), ports=(
        ServicePort(7070, "grpc", "rpc", "kubernetes.io/h2c"), ServicePort(9090, "metrics", 9091),
        ServicePort(53, "dns", None, None, "UDP")))
    designs = [*(examples.load(n) for n in EXPRESSIBLE), many_lanes(300),
               many_lanes(300, holding=False), lanes_by_header(40), many_lanes(40, "baggage"),
               boutique(), boutique().with_service(several)]
    exported = [emit_gateway_api(design) for design in designs]
    for objects in exported:
        for namespace in sorted({o["metadata"]["namespace"] for o in objects}):
            control_plane.ensure_namespace(namespace)
        for obj in objects:
            dry_run(control_plane, obj)  # raises ControlPlaneError on any refusal


@pytest.mark.kube
def test_a_real_api_server_refuses_what_our_cel_checks_refuse(control_plane):
    from kube_real import ControlPlaneError

    route = named(emit_gateway_api(HEADER), "mock-header-mocka")
    no_port = json.loads(json.dumps(route))
    del no_port["spec"]["rules"][0]["backendRefs"][0]["port"]
    crowded = json.loads(json.dumps(route))
    crowded["spec"]["rules"] = [
        {"name": f"r{i}", "backendRefs": route["spec"]["rules"][0]["backendRefs"],
         "matches": [{"headers": [{"type": "Exact", "name": "x-lane", "value": f"l{i}-{j}"}]}
                     for j in range(9)]} for i in range(15)]  # 135 matches
    for wrong in (no_port, crowded):
        assert cel_problems(wrong)
        with pytest.raises(ControlPlaneError) as refused:
            dry_run(control_plane, wrong)
        assert refused.value.status == 422  # type: ignore[attr-defined]
    dry_run(control_plane, route)


@pytest.mark.kube
def test_apply_and_prune_through_a_real_api_server(control_plane, tmp_path):
    from lanedesign.cluster import apply, connect

    control_plane.reset()
    try:
        with connect(control_plane.kubeconfig(tmp_path)) as cluster:
            first = apply(cluster, emit_gateway_api(HEADER), HEADER.name, settle_seconds=0)
            assert first.failed is None and len(first.done) == 10
            smaller = HEADER.without_lane("s3")
            second = apply(cluster, emit_gateway_api(smaller), HEADER.name, prune=True,
                           settle_seconds=0)
            assert second.failed is None
            deleted = [s.ref.name for s in second.done if s.verb == "delete"]
            assert deleted == ["mockb-s3"]
            again = apply(cluster, emit_gateway_api(smaller), HEADER.name, prune=True,
                          settle_seconds=0)
            assert again.failed is None and again.done == ()  # nothing left to change
    finally:
        control_plane.reset()
