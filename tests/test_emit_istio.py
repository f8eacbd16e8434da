"""The plain-Istio emitter: shape, CRD schemas, and an independent reading against the simulator.

The interpreter (``istio_interpreter.py``) reads the emitted objects the way Istio documents
them; the simulator says what should happen. Both must agree for every service, lane and
request, on the examples and on random valid designs.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from http_headers import Headers, app_copies, headers_of
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from istio_interpreter import Destination, Mesh, MeshError, Routed, fqdn
from istio_schema import schema_errors, webhook_problems
from request_cases import PickLane, gateway_host, requests
from strategies import designs

from lanedesign import examples
from lanedesign.cli import main
from lanedesign.codec import dump_manifests
from lanedesign.emit import TargetError, emit
from lanedesign.emit.istio import emit_istio
from lanedesign.model import IngressRule, LaneDesign, RequestMatch, Service, StringMatch
from lanedesign.simulate import explore, routing_table, simulate
from lanedesign.validate import validate

GOLDEN = Path(__file__).parent / "golden"
# traceId needs ASM; an ambient design is refused for the gateway-api target (LD640)
EMITTING = [n for n in examples.names() if examples.load(n).pass_through.method != "traceId"
            and not examples.load(n).ambient]
NON_TRACE_ID = designs().filter(lambda d: d.pass_through.method != "traceId")
PROPERTY = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def valid(design: LaneDesign) -> LaneDesign:
    """The design, after checking that the validator accepts it (emitters assume that)."""
    problems = [f for f in validate(design, "istio") if f.severity == "error"]
    assert not problems, problems
    return design


def with_service(design: LaneDesign, service: Service) -> LaneDesign:
    """``design`` plus ``service``, called by its last service and in the baseline."""
    design = design.with_service(service).with_calls(design.service_names[-1], [service.name])
    return design.with_membership(design.baseline, service.name, True)


def by_kind(objects: list[dict], kind: str) -> list[dict]:
    return [o for o in objects if o["kind"] == kind]


def named(objects: list[dict], name: str, kind: str = "VirtualService") -> dict:
    return next(o for o in objects if o["metadata"]["name"] == name and o["kind"] == kind)


# -- shape -------------------------------------------------------------------------------------
def test_apply_order_is_make_before_break(mock):
    objects = emit_istio(mock)
    assert [(o["kind"], o["metadata"]["name"]) for o in objects] == [
        ("DestinationRule", "mock-baggage-mocka"),
        ("DestinationRule", "mock-baggage-mockb"),
        ("DestinationRule", "mock-baggage-mockc"),
        ("VirtualService", "mock-baggage-mocka"),
        ("VirtualService", "mock-baggage-mockb"),
        ("VirtualService", "mock-baggage-mockc"),
        ("VirtualService", "mock-baggage-ingress"),
        ("EnvoyFilter", "mock-baggage-baggage"),
    ]
    assert all(o["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "lanedesign",
                                           "lanedesign.io/group": "mock-baggage"}
               for o in objects)


def test_a_destination_rule_has_a_subset_per_lane_holding_the_service(mock):
    rule = by_kind(emit_istio(mock), "DestinationRule")[1]
    assert rule["metadata"]["namespace"] == "default"
    assert rule["spec"] == {
        "host": "mockb.default.svc.cluster.local",
        "subsets": [{"name": "s1", "labels": {"version": "v1"}},
                    {"name": "s3", "labels": {"version": "v3"}}],
    }


def test_a_full_mesh_virtual_service_routes_every_lane_then_the_baseline(mock):
    vs = by_kind(emit_istio(mock, full_routes=True), "VirtualService")[1]
    assert "gateways" not in vs["spec"]
    assert vs["spec"]["hosts"] == ["mockb.default.svc.cluster.local"]
    http = vs["spec"]["http"]
    assert [(r.get("match"), r["route"][0]["destination"]["subset"]) for r in http] == [
        ([{"headers": {"x-asm-prefer-tag": {"exact": "s1"}}}], "s1"),
        ([{"headers": {"x-asm-prefer-tag": {"exact": "s2"}}}], "s1"),  # s2 lacks mockb
        ([{"headers": {"x-asm-prefer-tag": {"exact": "s3"}}}], "s3"),
        (None, "s1"),  # the default route
    ]


def test_a_minimal_mesh_virtual_service_routes_only_lanes_the_default_would_misroute(mock):
    vs = by_kind(emit_istio(mock), "VirtualService")[1]
    assert [(r.get("match"), r["route"][0]["destination"]["subset"])
            for r in vs["spec"]["http"]] == [
        ([{"headers": {"x-asm-prefer-tag": {"exact": "s3"}}}], "s3"),
        (None, "s1"),  # s1 (the baseline) and s2 (which lacks mockb) take the default route
    ]
    full = emit_istio(mock, full_routes=True)
    assert by_kind(emit_istio(mock), "DestinationRule") == by_kind(full, "DestinationRule")
    assert named(emit_istio(mock), "mock-baggage-ingress") == named(full, "mock-baggage-ingress")


def named_lanes(route: dict, header: str) -> list[str]:
    """The lane names a minimal-form lane route matches: one exact value, or a|b|c."""
    (block,) = route["match"]
    ((kind, value),) = block["headers"][header].items()
    return [value] if kind == "exact" else value.split("|")


def test_lanes_falling_back_to_one_target_share_a_route(shop):
    vs = named(emit_istio(shop), "shop-fraud")
    table = routing_table(shop)["fraud"]
    assert [r["name"] for r in vs["spec"]["http"]] == [
        "lane-payments-v3", "fallback-payments-v3", "default"]
    fallback = vs["spec"]["http"][1]
    assert fallback["route"][0]["destination"]["subset"] == "payments-v3"
    assert named_lanes(fallback, shop.route_header) == [
        lane for lane, served in table.items() if served == "payments-v3" and lane != served]


def test_many_lanes_falling_back_split_their_regex_within_istios_limit():
    from benchmarks.generate import synthetic_design

    design = valid(synthetic_design(12, 150, seed=5))
    objects = emit_istio(design)
    routes = [r for vs in by_kind(objects, "VirtualService") for r in vs["spec"]["http"]
              if r["name"].startswith("fallback-")]
    assert any(r["name"].endswith("-2") for r in routes)  # at least one regex was split
    for obj in objects:
        assert webhook_problems(obj) == [], obj["metadata"]["name"]
    check_sidecar_routes(design, objects)


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(NON_TRACE_ID)
def test_the_minimal_form_names_each_lane_that_leaves_the_baseline_once(design):
    minimal, full = emit_istio(design), emit_istio(design, full_routes=True)
    table = routing_table(design)
    hosts = {host_of(design, s): s for s in design.service_names}
    for vs in by_kind(minimal, "VirtualService"):
        if "gateways" in vs["spec"]:
            continue
        (host,) = vs["spec"]["hosts"]
        lane_routes = vs["spec"]["http"][:-1]
        named_here = [lane for r in lane_routes for lane in named_lanes(r, design.route_header)]
        assert len(named_here) == len(set(named_here))
        assert set(named_here) == {lane for lane, served in table[hosts[host]].items()
                                   if served != design.baseline}
        assert all(r["route"][0]["destination"]["subset"] != design.baseline
                   for r in lane_routes)
    assert len(minimal) == len(full)  # the same objects; only the mesh routes differ
    for small, whole in zip(minimal, full):
        if small["kind"] != "VirtualService" or "gateways" in small["spec"]:
            assert small == whole


def test_the_gateway_sets_the_route_header_and_adds_baggage(mock):
    gateway = named(emit_istio(mock), "mock-baggage-ingress")
    spec = gateway["spec"]
    assert gateway["metadata"]["namespace"] == "istio-system"
    assert spec["hosts"] == ["*"] and spec["gateways"] == ["istio-system/ingressgateway"]
    assert [r["name"] for r in spec["http"]] == ["rule-0-s2", "rule-1-s3", "default"]
    s3 = spec["http"][1]["route"]
    assert s3 == [{
        "destination": {"host": "mocka.default.svc.cluster.local", "subset": "s1",
                        "port": {"number": 8000}},  # s3 lacks mocka: its fallback serves
        "headers": {"request": {"set": {"x-asm-prefer-tag": "s3"},
                                "add": {"baggage": "x-asm-prefer-tag=s3"}}},
    }]
    assert "match" not in spec["http"][2]


def test_the_header_method_has_no_baggage_and_no_filter():
    design = examples.load("mock-header")
    objects = emit_istio(design)
    assert not by_kind(objects, "EnvoyFilter")
    http = named(objects, "mock-header-ingress")["spec"]["http"]
    # no rules given: one per lane on the route header; no default lane, so nothing else
    assert [r["name"] for r in http] == ["rule-0-s1", "rule-1-s2", "rule-2-s3"]
    assert [r["match"] for r in http] == [
        [{"headers": {"x-asm-prefer-tag": {"exact": lane}}}] for lane in ("s1", "s2", "s3")]
    assert [r["route"][0]["headers"] for r in http] == [
        {"request": {"set": {"x-asm-prefer-tag": lane}}} for lane in ("s1", "s2", "s3")]


def test_weighted_ingress_has_explicit_integer_weights():
    objects = emit_istio(examples.load("mock-weighted"))
    http = named(objects, "mock-weighted-ingress")["spec"]["http"]
    assert len(http) == 1  # no default lane: unmatched requests get 404
    assert http[0]["match"] == [{"uri": {"exact": "/mock"}}]
    # s3 lacks the entry service mocka: its share goes to mocka's s1 version, in lane s3
    assert [(r["destination"]["subset"], r["weight"]) for r in http[0]["route"]] == [
        ("s1", 60), ("s2", 20), ("s1", 20)]
    assert [r["headers"]["request"]["set"]["x-asm-prefer-tag"] for r in http[0]["route"]] == [
        "s1", "s2", "s3"]


def weighted(weights: dict[str, int], default: str | None = None,
             match: RequestMatch | None = None) -> LaneDesign:
    design = examples.load("mock-weighted")
    return valid(design.with_ingress(weights=tuple(weights.items()), default=default,
                                     match=match))


def test_zero_weights_are_dropped_and_a_lone_destination_has_no_weight():
    http = named(emit_istio(weighted({"s1": 0, "s2": 100, "s3": 0})),
                 "mock-weighted-ingress")["spec"]["http"]
    assert http[0]["route"] == [{
        "destination": {"host": "mocka.default.svc.cluster.local", "subset": "s2",
                        "port": {"number": 8000}},
        "headers": {"request": {"set": {"x-asm-prefer-tag": "s2"},
                                "add": {"baggage": "x-asm-prefer-tag=s2"}}},
    }]
    http = named(emit_istio(weighted({"s1": 50, "s2": 0, "s3": 50})),
                 "mock-weighted-ingress")["spec"]["http"]
    assert [r["weight"] for r in http[0]["route"]] == [50, 50]


def test_the_default_follows_a_weighted_match_but_not_a_catch_all():
    with_match = weighted({"s1": 50, "s2": 50}, default="s3",
                          match=RequestMatch(uri=StringMatch("prefix", "/api")))
    http = named(emit_istio(with_match), "mock-weighted-ingress")["spec"]["http"]
    assert [r["name"] for r in http] == ["weights", "default"]
    catch_all = weighted({"s1": 50, "s2": 50}, default="s3")
    http = named(emit_istio(catch_all), "mock-weighted-ingress")["spec"]["http"]
    assert [r["name"] for r in http] == ["weights"]
    assert "match" not in http[0]


def test_routes_after_a_catch_all_rule_are_not_emitted(mock):
    rules = (IngressRule("s2", RequestMatch(headers=(("x-user", StringMatch("exact", "a")),))),
             IngressRule("s3", RequestMatch(uri=StringMatch("prefix", "/"))),
             IngressRule("s1", None))
    design = mock.with_ingress(rules=rules, default="s1")
    http = named(emit_istio(design), "mock-baggage-ingress")["spec"]["http"]
    assert [r["name"] for r in http] == ["rule-0-s2", "rule-1-s3"]  # Istio would drop the rest


def test_no_gateway_virtual_service_when_nothing_can_enter(mock):
    design = valid(mock.with_ingress(rules=(), default=None))
    objects = emit_istio(design)
    assert not any(o["metadata"]["name"] == "mock-baggage-ingress" for o in objects)
    assert len(by_kind(objects, "VirtualService")) == 3


def test_a_percent_in_a_header_value_is_escaped_for_envoy(mock):
    design = valid(mock.with_pass_through(baggage_key="lane%key"))
    route = named(emit_istio(design), "mock-baggage-ingress")["spec"]["http"][0]["route"][0]
    assert route["headers"]["request"]["add"] == {"baggage": "lane%%key=s2"}


def test_trace_id_cannot_be_emitted():
    with pytest.raises(TargetError) as err:
        emit_istio(examples.load("mock-traceid"))
    finding = err.value.finding
    assert (finding.code, finding.path) == ("LD601", "spec.passThrough.method")
    assert "asm" in finding.hint and "baggage" in finding.hint


def test_a_service_named_ingress_beside_the_gateway_keeps_its_name(mock):
    design = valid(with_service(mock, Service("ingress", namespace="istio-system")))
    objects = emit_istio(design)
    keys = [(o["kind"], o["metadata"]["namespace"], o["metadata"]["name"]) for o in objects]
    assert len(set(keys)) == len(keys)
    assert ("VirtualService", "istio-system", "mock-baggage-ingress") in keys  # the service's
    assert ("VirtualService", "istio-system", "mock-baggage-ingress-2") in keys


def test_long_names_stay_within_limits(mock):
    long_service = "s" + "x" * 62
    design = valid(with_service(mock.with_(name="g" * 63), Service(long_service)))
    objects = emit_istio(design)
    names = [o["metadata"]["name"] for o in objects]
    assert all(len(n) <= 63 for n in names)
    assert len(set(names)) == len(by_kind(objects, "VirtualService")) + 1  # DR/VS share a name


def test_emitting_is_pure_and_deterministic(mock):
    before = repr(mock)
    first = emit_istio(mock)
    assert emit_istio(mock) == first and emit(mock, "istio") == first
    assert repr(mock) == before


def test_the_yaml_has_no_anchors_and_the_lua_is_a_readable_block(mock):
    text = dump_manifests(emit_istio(mock))
    assert "&id" not in text and "*id" not in text
    assert "inline_string: |\n" in text
    assert list(yaml.safe_load_all(text)) == emit_istio(mock)


# -- schemas -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", EMITTING)
def test_examples_match_the_istio_crd_schemas(shared_dir, name):
    for obj in emit_istio(examples.load(name)):
        assert schema_errors(shared_dir, obj) == [], obj["metadata"]["name"]
        assert webhook_problems(obj) == [], obj["metadata"]["name"]


@pytest.mark.parametrize("name", EMITTING)
def test_with_gateway_emits_the_gateway_the_ingress_names(shared_dir, name):
    """Opt-in: the stock ingress gateway's selector, HTTP on 80 for the design's hosts,
    before the routes bound to it; the rest of the export unchanged."""
    design = examples.load(name)
    plain, objects = emit_istio(design), emit_istio(design, with_gateway=True)
    assert by_kind(plain, "Gateway") == []
    (gateway,) = by_kind(objects, "Gateway")
    assert [o for o in objects if o is not gateway] == plain
    namespace, _, gw_name = design.ingress.gateway.rpartition("/")
    assert (gateway["metadata"]["namespace"], gateway["metadata"]["name"]) == (namespace,
                                                                              gw_name)
    assert gateway["spec"] == {"selector": {"istio": "ingressgateway"}, "servers": [{
        "port": {"number": 80, "name": "http", "protocol": "HTTP"},
        "hosts": list(design.ingress.hosts)}]}
    bound = [o for o in objects if o["kind"] == "VirtualService" and o["spec"].get("gateways")]
    assert bound and all(o["spec"]["gateways"] == [design.ingress.gateway] for o in bound)
    assert objects.index(gateway) < min(objects.index(o) for o in bound)
    assert schema_errors(shared_dir, gateway) == [] and webhook_problems(gateway) == []
    assert emit(design, "istio", with_gateway=True) == objects


def test_the_gateway_schema_check_bites(shared_dir, mock):
    (gateway,) = by_kind(emit_istio(mock, with_gateway=True), "Gateway")
    broken = json.loads(json.dumps(gateway))
    broken["spec"]["servers"][0]["port"]["nubmer"] = broken["spec"]["servers"][0]["port"].pop(
        "number")
    assert any("nubmer" in e for e in schema_errors(shared_dir, broken))
    broken = json.loads(json.dumps(gateway))
    broken["spec"]["servers"][0]["hosts"] = []
    assert webhook_problems(broken) != []


def test_a_gateway_without_a_namespace_lives_beside_its_virtual_service(mock):
    design = mock.with_ingress(gateway="my-gateway")
    objects = emit_istio(design, with_gateway=True)
    (gateway,) = by_kind(objects, "Gateway")
    bound = next(o for o in objects if o["spec"].get("gateways") == ["my-gateway"])
    assert gateway["metadata"]["name"] == "my-gateway"
    assert gateway["metadata"]["namespace"] == bound["metadata"]["namespace"]


def test_the_strict_schema_catches_a_misspelt_field_and_a_string_weight(shared_dir):
    objects = emit_istio(examples.load("mock-weighted"))
    gateway = named(objects, "mock-weighted-ingress")
    assert schema_errors(shared_dir, gateway) == []
    misspelt = json.loads(json.dumps(gateway))
    misspelt["spec"]["http"][0]["route"][0]["wieght"] = 60
    assert any("wieght" in e for e in schema_errors(shared_dir, misspelt))
    string_weight = json.loads(json.dumps(gateway))
    string_weight["spec"]["http"][0]["route"][0]["weight"] = "60"
    assert any("'60' is not of type 'integer'" in e
               for e in schema_errors(shared_dir, string_weight))
    rule = json.loads(json.dumps(objects[0]))
    rule["spec"]["subsets"][0]["lables"] = rule["spec"]["subsets"][0].pop("labels")
    assert any("lables" in e for e in schema_errors(shared_dir, rule))
    rule["metadata"]["name"] = "Not_DNS"
    assert any(e.startswith("metadata.name") for e in schema_errors(shared_dir, rule))


@PROPERTY
@given(NON_TRACE_ID)
def test_random_designs_match_the_istio_crd_schemas(shared_dir, design):
    objects = emit_istio(design)
    for obj in objects:
        assert schema_errors(shared_dir, obj) == [], obj
        assert webhook_problems(obj) == [], obj
    keys = [(o["kind"], o["metadata"]["namespace"], o["metadata"]["name"]) for o in objects]
    assert len(set(keys)) == len(keys)


# -- the interpreter agrees with the simulator -----------------------------------------------------
def host_of(design: LaneDesign, service: str) -> str:
    return fqdn(service, design.namespace_of(service))


def lane_labels(design: LaneDesign, lane: str) -> dict[str, str]:
    found = design.lane(lane)
    assert found is not None
    return found.label_map


def check_sidecar_routes(design: LaneDesign, objects: list[dict] | None = None) -> None:
    """Every service, every lane (and none, and an unknown one) lands on the simulator's pods."""
    mesh = Mesh(emit_istio(design) if objects is None else objects)
    table = routing_table(design)
    route = design.route_header
    for service in design.service_names:
        host = host_of(design, service)
        cases = [*((headers_of({route: lane}), table[service][lane])
                   for lane in design.lane_names),
                 ({}, design.baseline), (headers_of({route: "no-such-lane"}), design.baseline)]
        for headers, expected in cases:
            routed = mesh.sidecar(host, headers)
            assert routed.status == 200 and len(routed.destinations) == 1, (service, headers)
            destination = routed.destinations[0]
            assert destination.host == host
            assert destination.subset == expected, (service, headers)
            assert mesh.subset_labels(host, destination.subset) == lane_labels(design, expected)


@dataclass(frozen=True)
class Call:
    caller: str | None
    service: str
    subset: str | None
    labels: dict[str, str] | None
    status: int | None = None  # what an abort fault answers instead of the app
    faulted: bool = False  # the route that took the call injects a fault


def propagated(design: LaneDesign) -> tuple[str, ...]:
    """The headers the apps copy from their inbound request to their outbound calls."""
    return {"baggage": ("baggage",), "header": (design.route_header,)}[
        design.pass_through.method]


def team_tested(design: LaneDesign) -> tuple[str, ...]:
    """The request headers the teams' routes test: an app passes them on too (unless it
    drops its headers or its `forwards` list lacks them), as it does the client's headers."""
    return tuple(sorted({name.lower() for svc in design.services if svc.routing
                         for route in svc.routing.routes for match in route.matches
                         for name, _ in match.headers}))


def drive(mesh: Mesh, design: LaneDesign, headers: Headers, path: str, host: str,
          destination: Destination) -> list[Call]:
    """A request the gateway sent to ``destination``, followed hop by hop through sidecars.

    An app's own calls go to paths the design does not know, so sidecars match them with no
    path (a uri condition does not hold). Where a team's route splits by weight, the walk
    follows the largest share (the first on a tie), the documented choice of the simulator.
    """
    services = {host_of(design, s): s for s in design.service_names}
    passed = (*propagated(design), *team_tested(design))
    calls: list[Call] = []

    def serve(caller: str | None, dest: Destination, sent: Headers, path: tuple,
              routed: Routed | None = None) -> None:
        name = services[dest.host]
        fault = routed.fault if routed is not None else None
        aborted = fault.aborts_all if fault is not None else None
        calls.append(Call(caller, name, dest.subset, mesh.subset_labels(dest.host, dest.subset),
                          aborted, fault is not None))
        if aborted is not None:
            return  # Envoy answers for the app, which never sees the request
        received = dest.forward(sent)  # what the app sees
        service = design.service(name)
        assert service is not None
        here = (*path, name)
        # the version behind the subset makes the calls; an app copies only what it forwards
        for callee in dict(service.lane_calls).get(dest.subset, service.calls):
            if callee in here or design.service(callee) is None:
                continue  # the simulator does not follow cycles or unknown services either
            outbound = app_copies(received, passed, service.forwards, service.propagates,
                                  first_line=False)
            outbound = mesh.run_filters("SIDECAR_OUTBOUND", outbound)
            routed_call = mesh.sidecar(host_of(design, callee), outbound, None)
            assert routed_call.status == 200
            shares = dict((id(d), share) for d, share in routed_call.shares)
            chosen = max(routed_call.destinations, key=lambda d: d.weight or 0)
            assert shares.get(id(chosen), 0) > 0
            serve(name, chosen, outbound, here, routed_call)

    serve(None, destination, headers, ())
    return calls


def check_request(design: LaneDesign, pairs: list[tuple[str, str]], path: str, host: str,
                  objects: list[dict] | None = None) -> None:
    """The gateway and every hop after it, read from the objects, against ``simulate``."""
    assert design.ingress is not None
    mesh = Mesh(emit_istio(design) if objects is None else objects)
    headers = mesh.run_filters("GATEWAY", headers_of(pairs))
    routed = mesh.gateway(design.ingress.gateway, host, path, headers)
    if routed.status == 404:
        assert simulate(design, pairs, path=path, host=host).status == 404, (pairs, path, host)
        return
    shares, offered = {}, None
    for destination, share in routed.shares:
        forwarded = destination.forward(headers)
        (lane,) = forwarded[design.route_header]  # the gateway names the lane it chose
        if design.pass_through.method == "baggage":
            assert forwarded["baggage"][-1] == f"{design.baggage_key}={lane}"
        shares[lane] = share
        rng = PickLane(lane)
        trace = simulate(design, pairs, path=path, host=host, rng=rng)
        assert (trace.status, trace.lane) == (200, lane), (pairs, path)
        offered = rng.offered
        expected = [Call(h.caller, h.service, h.lane, dict(h.labels), h.status,
                         h.fault is not None) for h in trace.hops]
        assert drive(mesh, design, headers, path, host, destination) == expected, (pairs, lane)
    if len(routed.destinations) > 1 or offered is not None:  # a weighted split
        assert offered == pytest.approx(shares)


REQUESTS = {
    "mock-baggage": [
        [], [("x-asm-prefer-tag", "s2")], [("X-ASM-Prefer-Tag", "s3")],
        [("x-asm-prefer-tag", "nope")], [("baggage", "userId=1, x-asm-prefer-tag=s3;p=1")],
        [("baggage", "x-asm-prefer-tag=s2"), ("baggage", "x-asm-prefer-tag=s3")],
        [("baggage", "x-asm-prefer-tag=S2")], [("x-asm-prefer-tag", "s2"),
                                               ("baggage", "x-asm-prefer-tag=s3")],
    ],
    "mock-header": [[], [("x-asm-prefer-tag", "s2")], [("x-asm-prefer-tag", "s3")],
                    [("baggage", "x-asm-prefer-tag=s2")]],
    "mock-weighted": [[], [("baggage", "x-asm-prefer-tag=s3")]],
    "shop": [[], [("x-shop-lane", "search-exp")], [("baggage", "shop-lane=payments-v3")]],
}


FORMS = pytest.mark.parametrize("full", [False, True], ids=["minimal", "full"])


@FORMS
@pytest.mark.parametrize("name", EMITTING)
def test_sidecar_routes_land_on_the_simulators_pods(name, full):
    design = examples.load(name)
    check_sidecar_routes(design, emit_istio(design, full_routes=full))


@FORMS
@pytest.mark.parametrize("name", EMITTING)
def test_requests_through_the_gateway_follow_the_simulator(name, full):
    design = examples.load(name)
    objects = emit_istio(design, full_routes=full)
    for pairs in REQUESTS.get(name, [[]]):
        for path in ("/", "/mock", "/other"):
            check_request(design, pairs, path, gateway_host(design), objects)
    check_request(design, [], "/", "not-served.example.org", objects)


def test_the_comparison_catches_wrong_objects(mock):
    objects = emit_istio(mock, full_routes=True)
    vs = named(objects, "mock-baggage-mockb")
    vs["spec"]["http"][2]["route"][0]["destination"]["subset"] = "s1"  # ignores lane s3
    with pytest.raises(AssertionError):
        check_sidecar_routes(mock, objects)
    without_filter = [o for o in emit_istio(mock) if o["kind"] != "EnvoyFilter"]
    with pytest.raises(AssertionError):  # the lane in baggage is lost after the first hop
        check_request(mock, [("x-asm-prefer-tag", "s2")], "/", "a.example.com", without_filter)
    with pytest.raises(MeshError):  # two VirtualServices for one host
        Mesh([*objects, vs]).mesh_virtual_service("mockb.default.svc.cluster.local")
    assert Mesh(objects).subset_labels("mockb.default.svc.cluster.local", "s2") is None


def test_the_comparison_catches_a_minimal_form_that_drops_too_much(mock):
    objects = emit_istio(mock)
    check_sidecar_routes(mock, objects)
    vs = named(objects, "mock-baggage-mockc")
    assert [r["name"] for r in vs["spec"]["http"]] == ["lane-s2", "default"]
    del vs["spec"]["http"][0]  # s2 holds mockc: without its route s2 lands on the baseline
    with pytest.raises(AssertionError):
        check_sidecar_routes(mock, objects)
    with pytest.raises(AssertionError):  # and a request through the gateway notices it too
        check_request(mock, [("x-asm-prefer-tag", "s2")], "/", "a.example.com", objects)


@PROPERTY
@given(NON_TRACE_ID)
def test_random_designs_route_sidecars_like_the_simulator(design):
    check_sidecar_routes(design)
    check_sidecar_routes(design, emit_istio(design, full_routes=True))


@PROPERTY
@given(st.data())
def test_random_designs_route_requests_like_the_simulator(data):
    design = data.draw(NON_TRACE_ID)
    forms = [emit_istio(design), emit_istio(design, full_routes=True)]
    for _ in range(3):
        pairs, path, host = data.draw(requests(design))
        for objects in forms:
            check_request(design, pairs, path, host, objects)


# -- golden files --------------------------------------------------------------------------------
@FORMS
@pytest.mark.parametrize("name", EMITTING)
def test_golden_manifests(name, full):
    text = dump_manifests(emit_istio(examples.load(name), full_routes=full))
    path = GOLDEN / f"{name}.istio{'-full' if full else ''}.yaml"
    if os.environ.get("LANEDESIGN_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"{path.name} is missing; create it with LANEDESIGN_UPDATE_GOLDEN=1"
    assert path.read_text(encoding="utf-8") == text, (
        f"{path.name} is out of date; rerun with LANEDESIGN_UPDATE_GOLDEN=1 and review the diff")


# -- command line --------------------------------------------------------------------------------
def test_cli_export_prints_multi_document_yaml(capsys):
    assert main(["export", str(examples.path("mock-baggage")), "--target", "istio"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# 8 istio objects for lane design 'mock-baggage'")
    assert list(yaml.safe_load_all(out)) == emit_istio(examples.load("mock-baggage"))


def test_cli_export_full_routes(capsys):
    design = examples.load("shop")
    assert main(["export", str(examples.path("shop")), "--target", "istio",
                 "--full-routes"]) == 0
    full = list(yaml.safe_load_all(capsys.readouterr().out))
    assert full == emit_istio(design, full_routes=True) != emit_istio(design)
    routes = sum(len(vs["spec"]["http"]) for vs in by_kind(full, "VirtualService")
                 if "gateways" not in vs["spec"])
    assert routes == len(design.services) * (len(design.lanes) + 1)


def test_cli_export_writes_one_file_per_object(tmp_path, capsys):
    out = tmp_path / "manifests"
    assert main(["export", str(examples.path("shop")), "--target", "istio", "--out",
                 str(out)]) == 0
    files = sorted(out.rglob("*.yaml"))
    objects = emit_istio(examples.load("shop"))
    assert len(files) == len(objects) == len(capsys.readouterr().out.splitlines())
    read = [yaml.safe_load(f.read_text(encoding="utf-8")) for f in files]
    key = lambda o: (o["kind"], o["metadata"]["namespace"], o["metadata"]["name"])  # noqa: E731
    assert sorted(read, key=key) == sorted(objects, key=key)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_cli_export_of_trace_id_to_istio_is_a_coded_error(capsys, fmt):
    code = main(["export", str(examples.path("mock-traceid")), "--target", "istio",
                 "--format", fmt])
    captured = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in captured.err + captured.out
    if fmt == "json":
        findings = json.loads(captured.out)["findings"]
        assert [f["code"] for f in findings] == ["LD601"]
    else:  # stdout carries manifests (`export ... > out.yaml`): the refusal goes to stderr
        assert captured.out == ""
        assert "LD601" in captured.err and "--target asm" in captured.err


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_cli_export_of_a_broken_design_lists_findings(tmp_path, capsys, fmt):
    broken = examples.path("mock-baggage").read_text().replace("baseline: s1", "baseline: s9")
    path = tmp_path / "broken.yaml"
    path.write_text(broken)
    code = main(["export", str(path), "--target", "istio", "--format", fmt])
    captured = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in captured.err + captured.out
    if fmt == "json":  # one JSON document on stdout, as for every command
        assert {f["code"] for f in json.loads(captured.out)["findings"]} == {"LD201"}
    else:
        assert captured.out == "" and "LD201" in captured.err


# -- a team's routing: the interpreter agrees with the simulator's precedence rule -------------
BOOKINFO_REQUESTS = [[], [("end-user", "jason")], [("end-user", "jason"), ("x-lane", "v3")],
                     [("end-user", "jason"), ("x-lane", "v2")], [("x-lane", "v1")],
                     [("end-user", "jason"), ("x-lane", "nope")], [("End-User", "jason")]]


@FORMS
@pytest.mark.parametrize("method", ["header", "baggage"])
def test_bookinfo_adopted_routes_requests_like_the_simulator(method, full):
    from team_routing import bookinfo_adopted

    design = bookinfo_adopted(method)
    objects = emit_istio(design, full_routes=full)
    for pairs in BOOKINFO_REQUESTS:
        if method == "baggage":
            pairs = [(("baggage", f"x-lane={v}") if k == "x-lane" else (k, v)) for k, v in pairs]
        check_request(design, pairs, "/productpage", "bookinfo.example.com", objects)
    mesh = Mesh(objects)
    jason = drive(mesh, design, headers_of({"end-user": "jason", "x-lane": "v1"}), "/", "",
                  Destination(host_of(design, "productpage"), "v1", None, None, ()))
    assert [(c.service, c.subset, c.faulted) for c in jason] == [
        ("productpage", "v1", False), ("details", "v1", False), ("reviews", "v2", False),
        ("ratings", "v1", True)]


def test_the_comparison_catches_team_routes_in_the_wrong_place():
    from team_routing import bookinfo_adopted

    design = bookinfo_adopted()
    objects = emit_istio(design)
    check_request(design, [("end-user", "jason"), ("x-lane", "v3")], "/", "b.example", objects)
    http = named(objects, "bookinfo-reviews")["spec"]["http"]
    http.insert(0, http.pop(2))  # the team's jason route before the lanes: lane v3 loses
    with pytest.raises(AssertionError):
        check_request(design, [("end-user", "jason"), ("x-lane", "v3")], "/", "b.example",
                      objects)
    objects = emit_istio(design)
    ratings = named(objects, "bookinfo-ratings")["spec"]["http"]
    del ratings[-2]["fault"]  # the delay dropped: the hop no longer matches the simulator
    with pytest.raises(AssertionError):
        check_request(design, [("end-user", "jason")], "/", "b.example", objects)
    objects = emit_istio(design)
    named(objects, "bookinfo-ratings")["spec"]["http"][0]["fault"] = {"delay": {
        "fixedDelay": "1s"}, "hedge": 1}
    with pytest.raises(MeshError):  # a fault field the reading does not know
        check_request(design, [("x-lane", "v2")], "/", "b.example", objects)


@PROPERTY
@given(st.data())
def test_random_team_routing_routes_requests_like_the_simulator(shared_dir, data):
    from strategies import designs_with_team_routing

    design = data.draw(designs_with_team_routing())
    forms = [emit_istio(design), emit_istio(design, full_routes=True)]
    for obj in forms[0]:
        assert schema_errors(shared_dir, obj) == [], obj
        assert webhook_problems(obj) == [], obj
    for _ in range(2):
        pairs, path, host = data.draw(requests(design))
        for objects in forms:
            check_request(design, pairs, path, host, objects)
    # the baseline's traffic the team's routes are for (the gateway may send none there)
    for team in ([("x-user", "alice"), ("x-env", "bob")], [("x-user", "bob"), ("x-env", "alice")]):
        team = [(k, v) for k, v in team if k != design.route_header]  # x-env may name lanes
        for objects in forms:
            check_request(design, [(design.route_header, design.baseline), *team], "/api",
                          gateway_host(design), objects)
            for lane in (design.baseline, None, *design.lane_names[1:2]):
                check_chain(design, team, lane, objects)


def check_chain(design: LaneDesign, pairs: list[tuple[str, str]], lane: str | None,
                objects: list[dict]) -> None:
    """A chain from the entry service as the gateway would start it in ``lane`` (the route
    header, and baggage, naming it; nothing for no lane), against ``simulate(lane=...)``."""
    assert design.ingress is not None
    entry = design.ingress.entry
    mesh = Mesh(objects)
    sent = list(pairs)
    if lane is not None:
        sent.append((design.route_header, lane))
        if design.pass_through.method == "baggage":
            sent.append(("baggage", f"{design.baggage_key}={lane}"))
    subset = routing_table(design)[entry][lane] if lane is not None else design.baseline
    calls = drive(mesh, design, headers_of(sent), "/", "",
                  Destination(host_of(design, entry), subset, None, None, ()))
    graph, _ = explore(design, entry, lane, pairs)
    hops = graph.tree().hops
    expected = [Call(h.caller, h.service, h.lane, dict(h.labels), h.status,
                     h.fault is not None) for h in hops]
    assert calls == expected, (pairs, lane)
