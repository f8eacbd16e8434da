"""Real Istio: its own control plane translates the Gateway API export, and sidecars route
every lane like the simulator.

The Go program ``tests/go/istio/xdsdump`` (Istio's in-process control plane, the fake
discovery server of Istio's own tests, with its Gateway API controller) reads the exported
version Services and HTTPRoutes beside a cluster made from the design (``istio_workloads``)
and dumps what each sidecar receives; ``xds_reader`` reads that as Envoy does. The version
Services get their EndpointSlices the way Kubernetes' endpoint controller would: the pods
whose labels their selector matches. The mesh routes (GAMMA, ``parentRefs`` kind Service)
are checked for every caller, callee and lane. The ingress route attaches to a Gateway API
``Gateway`` (class ``istio``) whose Service ``<name>-istio`` fronts the gateway pod, as Istio's
deployment controller would make it; requests through it are followed hop by hop, the apps
carrying on what an OpenTelemetry app would (the first ``baggage`` line), against
``simulate``.

Ports are the application's: the ``boutique`` case (Online Boutique's shape) has an HTTP port
whose pods listen elsewhere (80 -> 8080), gRPC ports (one 5000 -> 8080) and a TCP service
only the baseline holds. Every call checks that Envoy connects to the pod on the container
port the app's own Service targets, and gRPC ports are routed by the lane header like HTTP.
"""

from __future__ import annotations

import functools
from dataclasses import replace

import pytest
from gateway_schema import with_defaults
from gotools import go_tool
from http_headers import app_copies, headers_of
from hypothesis import HealthCheck, Phase, given, settings
from istio_runs import run_xdsdump, yaml_stream
from istio_workloads import (
    Workload,
    endpoint_slice,
    kube_objects,
    port_of,
    resolve,
    service_object,
    service_ports,
    slice_ports,
    workloads,
)
from request_cases import PickLane, gateway_host
from strategies import designs
from test_emit_gateway_api import EXPRESSIBLE, PORTED, boutique, carried, gatewayable
from xds_reader import Proxy, lua_chain

from lanedesign import examples
from lanedesign.emit.gateway_api import emit_gateway_api, gateway_api_problems
from lanedesign.findings import has_errors
from lanedesign.model import LaneDesign
from lanedesign.simulate import routing_table, simulate
from lanedesign.validate import validate

pytestmark = pytest.mark.istio

RANDOM_DESIGNS = 12
PORTED_DESIGNS = 3  # random designs with applications' ports: gRPC, h2c, targetPorts, TCP
GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name"


def seeded_designs(count: int) -> list[LaneDesign]:
    """``count`` distinct random designs the target accepts (default selectors, as the
    cluster of ``istio_workloads`` labels its pods ``app: <service>``), the same every run."""
    found: dict[str, LaneDesign] = {}
    kinds: dict[tuple[str, str, str], int] = {}

    @settings(max_examples=count * 40, derandomize=True, database=None, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(designs().map(gatewayable))
    def collect(design: LaneDesign) -> None:
        design = design.with_(services=tuple(replace(s, selector=None)
                                             for s in design.services))
        assert design.ingress is not None
        kind = (design.pass_through.method, design.mode, design.ingress.strategy)
        # at most a quarter of the designs of one kind, so that every kind is seen
        if (len(found) < count and kinds.get(kind, 0) < count // 4
                and not has_errors(validate(design)) and not gateway_api_problems(design)):
            found.setdefault(repr(design), design)
            kinds[kind] = kinds.get(kind, 0) + 1

    collect()
    assert len(found) == count, f"only {len(found)} distinct random designs"
    return list(found.values())


def seeded_ported(count: int) -> list[LaneDesign]:
    """``count`` distinct random designs with ports (``PORTED``), the same every run."""
    found: dict[str, LaneDesign] = {}

    @settings(max_examples=count * 40, derandomize=True, database=None, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(PORTED)
    def collect(design: LaneDesign) -> None:
        design = design.with_(services=tuple(replace(s, selector=None)
                                             for s in design.services))
        shapes = {(p.name, p.target_port is not None) for s in design.services for p in s.ports}
        if (len(found) < count and len(shapes) >= 3 and design.ingress is not None
                and not has_errors(validate(design))
                and not has_errors(gateway_api_problems(design))):
            found.setdefault(repr(design), design)

    collect()
    assert len(found) == count, f"only {len(found)} distinct random designs with ports"
    return list(found.values())


@functools.cache
def variants() -> dict[str, LaneDesign]:
    out = {name: examples.load(name) for name in EXPRESSIBLE}
    out["boutique"] = boutique()
    for i, design in enumerate(seeded_designs(RANDOM_DESIGNS)):
        out[f"random-{i:02d}"] = design
    for i, design in enumerate(seeded_ported(PORTED_DESIGNS)):
        out[f"ported-{i}"] = design
    return out


CASE_NAMES = [*EXPRESSIBLE, "boutique", *(f"random-{i:02d}" for i in range(RANDOM_DESIGNS)),
              *(f"ported-{i}" for i in range(PORTED_DESIGNS))]
WRONG = "mock-header-wrong"  # mockb's route sends lane s3 to the baseline: the check must fail
# the version Services as they were before ports were modelled: no targetPort, every port
# `http`; Istio takes them, and the storefront's lanes reach port 80 of pods listening on 8080
WRONG_PORTS = "boutique-ports-dropped"


def ports_dropped(design: LaneDesign) -> list[dict]:
    objects = emit_gateway_api(design)
    for obj in objects:
        if obj["kind"] == "Service":
            obj["spec"]["ports"] = [{"name": "http", "port": p["port"]}
                                    for p in obj["spec"]["ports"]]
    return objects


def wrong_export(design: LaneDesign) -> list[dict]:
    objects = emit_gateway_api(design)
    for obj in objects:
        if obj["metadata"]["name"] == "mock-header-mockb" and obj["kind"] == "HTTPRoute":
            obj["spec"]["rules"][0]["backendRefs"][0]["name"] = "mockb-s1"
    return objects


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def cluster_for(shared, design: LaneDesign, exported: list[dict],
                ) -> tuple[list[dict], list[Workload]]:
    """The design's cluster, the export's Services and HTTPRoutes (with the defaults the API
    server fills in), and an EndpointSlice per version Service listing the pods its selector
    matches."""
    assert design.ingress is not None
    # the gateway pod as Istio deploys one for a Gateway: labelled with the Gateway's name
    extra = {GATEWAY_NAME_LABEL: design.ingress.gateway_name}
    pods = [w if w.service is not None else replace(w, labels={**w.labels, **extra})
            for w in workloads(design)]
    objects = kube_objects(design)
    for obj in objects:
        if obj["kind"] == "Pod" and obj["metadata"]["name"] == "ingressgateway":
            obj["metadata"]["labels"].update(extra)
    objects += gateway_objects(design, pods)
    mesh = [with_defaults(shared, o) for o in exported]
    for svc in (o for o in mesh if o["kind"] == "Service"):
        meta, spec = svc["metadata"], svc["spec"]
        chosen = [w for w in pods if w.namespace == meta["namespace"] and w.service is not None
                  and selects(spec["selector"], w.labels)]
        objects.append(endpoint_slice(meta["name"], meta["namespace"], chosen,
                                      slice_ports(spec["ports"], chosen[0] if chosen else None)))
    return [*objects, *mesh], pods


def gateway_objects(design: LaneDesign, pods: list[Workload]) -> list[dict]:
    """The user's side of the ingress: the GatewayClass, the Gateway the design names (one
    HTTP listener admitting routes from every namespace) and the Service in front of the
    gateway pod that Istio would deploy for it."""
    assert design.ingress is not None
    (gw,) = [w for w in pods if w.service is None]
    namespace, name = gw.namespace, design.ingress.gateway_name
    service = f"{name}-istio"
    return [
        {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass",
         "metadata": {"name": "istio"}, "spec": {"controllerName": "istio.io/gateway-controller"}},
        {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
         "metadata": {"name": name, "namespace": namespace},
         "spec": {"gatewayClassName": "istio", "listeners": [{
             "name": "http", "port": 80, "protocol": "HTTP",
             "allowedRoutes": {"namespaces": {"from": "All"}}}]}},
        service_object(service, namespace, {GATEWAY_NAME_LABEL: name}, 80),
        endpoint_slice(service, namespace, [gw], 80),
    ]


@pytest.fixture(scope="session")
def dumps(shared_dir) -> dict[str, tuple[LaneDesign, list[dict], list[Workload], dict]]:
    binary = go_tool("xdsdump")
    cases = {}
    request = []
    exports = {name: (design, emit_gateway_api(design)) for name, design in variants().items()}
    exports[WRONG] = (examples.load("mock-header"), wrong_export(examples.load("mock-header")))
    exports[WRONG_PORTS] = (boutique(), ports_dropped(boutique()))
    for name, (design, exported) in exports.items():
        kube, pods = cluster_for(shared_dir, design, exported)
        cases[name] = (design, kube, pods)
        request.append({"name": name, "config": "", "kube": yaml_stream(kube),
                        "proxies": [w.proxy for w in pods]})
    answers, _ = run_xdsdump(binary, request)
    return {name: (*case, answers[name]) for name, case in cases.items()}


@pytest.mark.parametrize("name", CASE_NAMES)
def test_istio_translates_the_export_without_errors(dumps, name):
    _design, _kube, pods, dump = dumps[name]
    assert dump["errors"] == []
    assert set(dump["proxies"]) == {w.name for w in pods}


@pytest.mark.parametrize("name", CASE_NAMES)
def test_every_sidecar_routes_every_lane_to_the_simulators_pods(dumps, name):
    check_sidecars(*dumps[name])


def test_the_check_catches_a_wrong_route(dumps):
    assert dumps[WRONG][3]["errors"] == []  # valid to Istio, but not the design
    with pytest.raises(AssertionError, match="mockb-s1"):
        check_sidecars(*dumps[WRONG])


def call(design: LaneDesign, dump: dict, pods: list[Workload], caller: Workload,
         callee: str, headers) -> tuple[Workload, str]:
    """A call from ``caller``'s app to ``callee``'s routed port through its sidecar: the one
    pod it reaches, which must be reached on the container port the app's Service targets."""
    proxy = Proxy(caller.name, dump["proxies"][caller.name])
    service = design.service(callee)
    assert service is not None
    port = port_of(design, callee)
    host = f"{callee}.{design.namespace_of(callee)}.svc.cluster.local"
    if service.tcp_only:
        # no HTTP listener for the port: the sidecar proxies TCP to the Service's own cluster
        assert proxy.http_filters("OUTBOUND", port) == [], (caller.name, callee)
        cluster = f"outbound|{port}||{host}"
    else:
        (chain,) = proxy.http_filters("OUTBOUND", port)
        assert lua_chain(chain) == []  # no EnvoyFilter: nothing rewrites the headers
        routed = proxy.route(str(port), host, "/", headers)
        assert routed.status == 200 and len(routed.clusters) == 1, (caller.name, callee,
                                                                    headers)
        cluster = routed.clusters[0].name
    pod = pod_at(proxy, pods, cluster)
    check_target_port(design, proxy, pod, cluster)
    return pod, cluster


def check_target_port(design: LaneDesign, proxy: Proxy, pod: Workload, cluster: str) -> None:
    """Envoy connects to ``pod`` on the container port the app's own Service port targets."""
    assert pod.service is not None
    routed = port_of(design, pod.service)
    (own,) = [p for p in service_ports(design, pod.service) if p["port"] == routed]
    expected = resolve(own, pod.container_ports)
    assert proxy.endpoint_ports(cluster) == [expected], (
        f"{cluster} reaches {pod.name} on {proxy.endpoint_ports(cluster)}, its app on "
        f"{expected}")


def pod_at(proxy: Proxy, pods: list[Workload], cluster: str) -> Workload:
    ips = proxy.endpoints(cluster)
    assert len(ips) == 1, (cluster, ips)
    (pod,) = [w for w in pods if w.ip == ips[0]]
    return pod


def check_sidecars(design: LaneDesign, kube: list[dict], pods: list[Workload],
                   dump: dict) -> None:
    """Each workload's sidecar, each service, each lane (none, unknown): the simulator's pod."""
    table = routing_table(design)
    for caller in (w for w in pods if w.service is not None):
        for callee in design.service_names:
            lanes = [*((lane, table[callee][lane]) for lane in design.lane_names),
                     (None, design.baseline), ("no-such-lane", design.baseline)]
            for lane, served in lanes:
                headers = headers_of({}) if lane is None else carried(design, lane)
                pod, cluster = call(design, dump, pods, caller, callee, headers)
                assert (pod.service, pod.lane) == (callee, served), (caller.name, lane, cluster)


def follow(design: LaneDesign, dump: dict, pods: list[Workload], entry: Workload,
           headers) -> list[tuple[str | None, str, str | None]]:
    """(caller, service, lane of the pod) for every call below the entry pod, depth first."""
    calls: list[tuple[str | None, str, str | None]] = []
    carried_on = ("baggage",) if design.pass_through.method == "baggage" else (
        design.route_header,)

    def serve(caller: str | None, pod: Workload, received, path: tuple) -> None:
        assert pod.service is not None
        calls.append((caller, pod.service, pod.lane))
        service = design.service(pod.service)
        assert service is not None
        here = (*path, pod.service)
        # the pod's version makes the calls (``laneCalls``)
        for callee in dict(service.lane_calls).get(pod.lane, service.calls):
            if callee in here or design.service(callee) is None:
                continue  # the simulator follows no cycle and no unknown service either
            # an OpenTelemetry app carries on the first baggage line; a header app its header;
            # an app with a fixed list copies only what is on it
            out = app_copies(received, carried_on, service.forwards, service.propagates)
            target, _ = call(design, dump, pods, pod, callee, out)
            serve(pod.service, target, out, here)

    serve(None, entry, headers, ())
    return calls


def check_request(design: LaneDesign, pods: list[Workload], dump: dict,
                  pairs: list[tuple[str, str]], path: str, host: str) -> None:
    """The gateway as Istio configured it, then every hop, against ``simulate``."""
    (gw,) = [w for w in pods if w.service is None]
    proxy = Proxy(gw.name, dump["proxies"][gw.name])
    routed = proxy.route("http.80", host, path, headers_of(pairs))
    if routed.status == 404:
        assert simulate(design, pairs, path=path, host=host).status == 404, (pairs, path, host)
        return
    shares: dict[str, float] = {}
    offered = None
    for cluster in routed.clusters:
        (lane,) = cluster.headers[design.route_header]  # the gateway names the lane it chose
        shares[lane] = shares.get(lane, 0) + cluster.share
        rng = PickLane(lane)
        trace = simulate(design, pairs, path=path, host=host, rng=rng)
        assert (trace.status, trace.lane) == (200, lane), (pairs, path)
        offered = rng.offered
        entry = pod_at(proxy, pods, cluster.name)
        check_target_port(design, proxy, entry, cluster.name)
        expected = [(h.caller, h.service, h.lane) for h in trace.hops]
        assert follow(design, dump, pods, entry, cluster.headers) == expected, (pairs, lane)
    if len(routed.clusters) > 1 or offered is not None:  # a weighted split
        assert offered == pytest.approx(shares)


def requests(design: LaneDesign) -> list[list[tuple[str, str]]]:
    """The route header for each lane, none, an unknown lane, and client baggage."""
    route = design.route_header
    out = [[], [(route, "no-such-lane")], *([(route, lane)] for lane in design.lane_names)]
    key = design.baggage_key
    out += [[("baggage", f"userId=alice,{key}={lane}")] for lane in design.lane_names]
    return out


@pytest.mark.parametrize("name", CASE_NAMES)
def test_requests_through_the_gateway_follow_the_simulator(dumps, name):
    design, _kube, pods, dump = dumps[name]
    host = gateway_host(design)
    for pairs in requests(design):
        for path in ("/", "/api/v2", "/mock"):
            check_request(design, pods, dump, pairs, path, host)
    check_request(design, pods, dump, [], "/", "not-served.example.org")


def test_the_request_check_catches_a_wrong_route(dumps):
    design, _kube, pods, dump = dumps[WRONG]
    check_request(design, pods, dump, [("x-asm-prefer-tag", "s2")], "/", "a.example.com")
    with pytest.raises(AssertionError):  # lane s3 reaches mockb's baseline version
        check_request(design, pods, dump, [("x-asm-prefer-tag", "s3")], "/", "a.example.com")


def test_boutique_lanes_reach_the_pods_on_their_target_ports_and_grpc_routes_by_header(dumps):
    _design, _kube, pods, dump = dumps["boutique"]
    assert dump["errors"] == []
    frontend = next(w for w in pods if w.service == "frontend" and w.lane == "v2")
    proxy = Proxy(frontend.name, dump["proxies"][frontend.name])
    host = "cartservice.boutique.svc.cluster.local"
    # the gRPC port is an HTTP listener with the routes of the HTTPRoute, by the lane header
    (chain,) = proxy.http_filters("OUTBOUND", 7070)
    assert lua_chain(chain) == []
    for lane, version in (("v2", "v2"), ("v1", "v1"), (None, "v1")):
        headers = headers_of({} if lane is None else {"x-lane": lane})
        (cluster,) = proxy.route("7070", host, "/hipstershop.CartService/GetCart",
                                 headers).clusters
        assert cluster.name == f"outbound|7070||cartservice-{version}.boutique.svc.cluster.local"
        assert (pod_at(proxy, pods, cluster.name).lane, proxy.endpoint_ports(cluster.name)) \
            == (version, [7070])
    # emailservice 5000 -> 8080 through its version Service; redis-cart: TCP, the baseline
    email = "outbound|5000||emailservice-v1.boutique.svc.cluster.local"
    assert proxy.endpoint_ports(email) == [8080]
    assert proxy.http_filters("OUTBOUND", 6379) == []
    redis = "outbound|6379||redis-cart.boutique.svc.cluster.local"
    assert (pod_at(proxy, pods, redis).lane, proxy.endpoint_ports(redis)) == ("v1", [6379])


def test_the_port_check_catches_version_services_without_their_ports(dumps):
    design, kube, pods, dump = dumps[WRONG_PORTS]
    assert dump["errors"] == []  # Istio takes them: the storefront breaks only at run time
    with pytest.raises(AssertionError, match="its app on 8080"):
        check_sidecars(design, kube, pods, dump)
