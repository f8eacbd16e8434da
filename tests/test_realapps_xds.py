"""Real Istio on real apps: what its control plane generates from the istio and the
gateway-api exports, with Online Boutique's and Bookinfo's own Services (ports, names,
targetPorts, gRPC and TCP), routes every lane as ``simulate`` says.

One run of ``tests/go/istio/xdsdump`` for every case: each app's export, its Services with
ClusterIPs, a Pod per Deployment from the pod template (labels incl. ``version``, container
ports) and the EndpointSlices the Services make, the ingress gateway. Then every sidecar (one
per Deployment, loadgenerator included) and the gateway are read with ``xds_reader``: each
call lands on the pod of the version ``simulate`` names, on the container port the app's
Service targets; redis-cart's TCP connections go to its v1 pods through a TCP proxy.

The gateway-api cases (``*-gw``) give Istio the export's version Services (``<service>-<lane>``,
with ClusterIPs and the EndpointSlices their selectors make) and HTTPRoutes (with the CRD's
defaults), and the Gateway API ``Gateway`` the app ships, served by a gateway pod as Istio's
deployment controller makes one. There each call must reach the version Service of the pod's
version, and every version Service must hold exactly that version's pods, on the container
port the app's own Service targets (Boutique: frontend 80 -> 8080, emailservice 5000 -> 8080).
Boutique's design there chooses lane v2 by ``x-user: tester`` (``boutique_gateway_api_design``:
the Gateway API cannot express its baggage default rules, LD623).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import pytest
from gateway_schema import with_defaults
from gotools import go_tool
from http_headers import Headers, headers_of
from istio_runs import run_xdsdump as run_xdsdump_cases
from istio_runs import yaml_stream
from opentelemetry import baggage as otel_baggage
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from realapps import (
    BOUTIQUE_TESTER,
    App,
    Pod,
    as_created,
    bookinfo,
    bookinfo_design,
    boutique,
    boutique_design,
    boutique_gateway_api_design,
    endpoint_slice,
    gateway_api_gateway,
    gateway_pod,
    gateway_service,
    istio_gateway,
    pods_of,
)
from xds_reader import Proxy, lua_chain, run_chain

from lanedesign.emit.gateway_api import emit_gateway_api
from lanedesign.emit.istio import emit_istio
from lanedesign.model import LaneDesign
from lanedesign.simulate import routing_table, simulate

pytestmark = [pytest.mark.realapps, pytest.mark.istio]

GATEWAY_NS = "istio-system"
GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name"
GATEWAY_API = "gateway.networking.k8s.io/v1"


@dataclass
class Case:
    """One app, its design's export, the cluster Istio is given, and what Istio generated."""

    name: str
    app: App
    design: LaneDesign
    objects: list[dict]  # the export
    extras: list[dict]  # objects beside it: the ingress Gateway (Istio's, or Gateway API's)
    gateway_port: int
    target: str = "istio"
    services: list[dict] = field(default_factory=list)  # the app's, with ClusterIPs
    versions: list[dict] = field(default_factory=list)  # gateway-api: the export's Services
    pods: list[Pod] = field(default_factory=list)
    dump: dict = field(default_factory=dict)

    @property
    def gateway_api(self) -> bool:
        return self.target == "gateway-api"

    def config(self) -> list[dict]:
        """Istio's own objects (the istio export); the Gateway API ones are Kubernetes'."""
        return [] if self.gateway_api else [*self.objects, *self.extras]

    def kube(self) -> list[dict]:
        namespaces = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": GATEWAY_NS}},
                      self.app.namespace_object]
        if self.gateway_api:
            gw_service = gateway_api_service(self.gateway, self.gateway_port)
            routes = [o for o in self.objects if o["kind"] == "HTTPRoute"]
            api = [gateway_class(), *self.extras, *routes]
        else:
            gw_service, api = gateway_service(GATEWAY_NS, self.gateway_port), []
        services = [*self.services, *self.versions, gw_service]
        return [*namespaces, *services, *(endpoint_slice(s, self.pods) for s in services),
                *(p.object() for p in self.pods), *api]

    @property
    def gateway(self) -> Pod:
        (found,) = [p for p in self.pods if p.deployment is None]
        return found

    @property
    def sidecars(self) -> list[Pod]:
        return [p for p in self.pods if p.deployment is not None]

    def proxy(self, pod: Pod) -> Proxy:
        return Proxy(pod.name, self.dump["proxies"][pod.name])

    def service(self, name: str) -> dict:
        (found,) = [s for s in self.services if s["metadata"]["name"] == name]
        return found

    def host(self, service: str) -> str:
        return f"{service}.{self.app.namespace}.svc.cluster.local"


def make_case(name: str, app: App, design: LaneDesign, extras: list[dict], gateway_port: int,
              subnet: int, objects: list[dict] | None = None) -> Case:
    case = Case(name, app, design, emit_istio(design) if objects is None else objects, extras,
                gateway_port)
    case.services = [as_created(s, f"10.96.{subnet}.{n}")
                     for n, s in enumerate(app.services, start=10)]
    case.pods = [*pods_of(app, subnet), gateway_pod(GATEWAY_NS, f"10.{subnet}.9.1", gateway_port)]
    return case


def make_gateway_api_case(name: str, shared, app: App, design: LaneDesign, subnet: int,
                          objects: list[dict] | None = None) -> Case:
    """The gateway-api export beside the app: its version Services as the API server creates
    them, its HTTPRoutes with the CRD's defaults, and the app's own Gateway API Gateway."""
    exported = emit_gateway_api(design) if objects is None else objects
    exported = [with_defaults(shared, o) for o in exported]
    case = Case(name, app, design, exported, [served_as_v1(gateway_api_gateway(shared, app))],
                80, target="gateway-api")
    case.services = [as_created(s, f"10.96.{subnet}.{n}")
                     for n, s in enumerate(app.services, start=10)]
    case.versions = [as_created(s, f"10.96.{subnet}.{n}") for n, s in enumerate(
        (o for o in exported if o["kind"] == "Service"), start=100)]
    assert design.ingress is not None
    gateway = design.ingress.gateway_name
    # the pod Istio's deployment controller runs for the Gateway, labelled with its name
    case.pods = [*pods_of(app, subnet),
                 Pod(f"{gateway}-istio", app.namespace, f"10.{subnet}.9.1",
                     {GATEWAY_NAME_LABEL: gateway}, None,
                     ({"name": "http", "containerPort": 80},))]
    return case


def served_as_v1(obj: dict) -> dict:
    """A Gateway API object as the API server serves it to Istio, which reads v1 (Boutique
    ships its Gateway as v1beta1, a version the server converts)."""
    return {**copy.deepcopy(obj), "apiVersion": GATEWAY_API}


def gateway_class() -> dict:
    """The GatewayClass ``istio`` an Istio install creates."""
    return {"apiVersion": GATEWAY_API, "kind": "GatewayClass", "metadata": {"name": "istio"},
            "spec": {"controllerName": "istio.io/gateway-controller"}}


def gateway_api_service(pod: Pod, port: int) -> dict:
    """The Service Istio's deployment controller puts in front of a Gateway's pod
    (``<gateway>-istio``)."""
    gateway = pod.labels[GATEWAY_NAME_LABEL]
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": f"{gateway}-istio", "namespace": pod.namespace},
            "spec": {"selector": {GATEWAY_NAME_LABEL: gateway}, "clusterIP": "10.96.0.3",
                     "ports": [{"name": "http", "port": port, "targetPort": port,
                                "protocol": "TCP"}]}}


def run_xdsdump(binary, cases: list[Case]) -> float:
    """One run of the program for every case; fills each case's dump; returns seconds taken."""
    request = {"cases": [{"name": c.name, "config": yaml_stream(c.config()),
                          "kube": yaml_stream(c.kube()),
                          "proxies": [p.proxy for p in c.pods]} for c in cases]}
    answers, took = run_xdsdump_cases(binary, request["cases"])
    for case in cases:
        case.dump = answers[case.name]
    return took


def broken_boutique(app: App) -> list[dict]:
    """Boutique's export with two faults Istio accepts: lane v2's cartservice route sent to
    v1, and redis-cart's VirtualService (its ``tcp`` route) gone."""
    objects = copy.deepcopy(emit_istio(boutique_design()))
    cart = next(o for o in objects if o["kind"] == "VirtualService"
                and o["metadata"]["name"] == "boutique-cartservice")
    for route in cart["spec"]["http"]:
        for dest in route["route"]:
            dest["destination"]["subset"] = "v1"
    return [o for o in objects if not (o["kind"] == "VirtualService"
                                       and o["metadata"]["name"] == "boutique-redis-cart")]


def ports_dropped(design: LaneDesign) -> list[dict]:
    """The gateway-api export with its version Services as they were before ports were
    modelled (issue 18): no targetPort, every port ``http``. Istio takes them."""
    objects = emit_gateway_api(design)
    for obj in objects:
        if obj["kind"] == "Service":
            obj["spec"]["ports"] = [{"name": "http", "port": p["port"]}
                                    for p in obj["spec"]["ports"]]
    return objects


def cart_to_v1(design: LaneDesign) -> list[dict]:
    """The gateway-api export with cartservice's lane v2 rule sent to ``cartservice-v1``."""
    objects = emit_gateway_api(design)
    route = next(o for o in objects if o["kind"] == "HTTPRoute"
                 and o["metadata"]["name"] == "boutique-cartservice")
    for rule in route["spec"]["rules"]:
        for backend in rule["backendRefs"]:
            backend["name"] = "cartservice-v1"
    return objects


@pytest.fixture(scope="module")
def cases(realapps_shared) -> dict[str, Case]:
    shop, books = boutique(realapps_shared), bookinfo(realapps_shared)
    # Boutique's design names its Gateway API Gateway `istio-gateway`; an Istio Gateway of
    # that name is what `export --with-gateway` (branch istiofix) emits: a stand-in here.
    shop_gateway = [istio_gateway(shop.namespace, "istio-gateway", 80)]
    out = {c.name: c for c in (
        make_case("boutique", shop, boutique_design(), shop_gateway, 80, 1),
        # Bookinfo's own Gateway, HTTP on 8080 (the stock gateway pod's port)
        make_case("bookinfo", books, bookinfo_design(),
                  [books.mesh_object("Gateway", "bookinfo-gateway")], 8080, 2),
        make_case("boutique-broken", shop, boutique_design(), shop_gateway, 80, 3,
                  objects=broken_boutique(shop)),
        # the gateway-api export, through the Gateway API Gateway each app ships
        make_gateway_api_case("boutique-gw", realapps_shared, shop,
                              boutique_gateway_api_design(), 4),
        make_gateway_api_case("bookinfo-gw", realapps_shared, books, bookinfo_design(), 5),
        make_gateway_api_case("boutique-gw-ports-dropped", realapps_shared, shop,
                              boutique_gateway_api_design(), 6,
                              objects=ports_dropped(boutique_gateway_api_design())),
        make_gateway_api_case("boutique-gw-broken", realapps_shared, shop,
                              boutique_gateway_api_design(), 7,
                              objects=cart_to_v1(boutique_gateway_api_design())),
    )}
    took = run_xdsdump(go_tool("xdsdump"), list(out.values()))
    print(f"\nxdsdump: {len(out)} cases, {sum(len(c.pods) for c in out.values())} proxies "
          f"in {took:.1f} s")
    return out


# -- what an app does with the request it received --------------------------------------------
BAGGAGE = W3CBaggagePropagator()


def app_lane(design: LaneDesign, received: Headers) -> str | None:
    """The lane the app reads: an OpenTelemetry app's baggage (Boutique), else the route
    header (Bookinfo's end-user)."""
    if design.pass_through.method == "baggage":
        return otel_baggage.get_baggage(design.baggage_key, BAGGAGE.extract(received))
    values = received.get(design.route_header)
    return ",".join(values) if values else None


def propagated(design: LaneDesign, service: str, received: Headers) -> Headers:
    """What the app puts on each call it makes: Boutique's OpenTelemetry SDK re-injects the
    baggage it extracted; Bookinfo's apps copy the headers on their list (``forwards``)."""
    forwards = design.service(service).forwards
    if forwards is not None:
        return {k: list(v) for k, v in received.items() if k in forwards}
    carrier: dict[str, str] = {}
    BAGGAGE.inject(carrier, BAGGAGE.extract(received))
    return headers_of(carrier)


# -- following a call through the dump ------------------------------------------------------------
def pod_behind(case: Case, proxy: Proxy, cluster: str, service: str) -> Pod:
    """The one pod behind ``cluster`` (EDS), checked to be reached on the container port the
    app's Service targets."""
    addresses = case.dump["proxies"][proxy.name]["endpoints"].get(cluster)
    assert addresses and len(addresses) == 1, (proxy.name, cluster, addresses)
    ip, port = addresses[0].rsplit(":", 1)
    (pod,) = [p for p in case.pods if p.ip == ip]
    (sp,) = case.service(service)["spec"]["ports"]  # each of these apps' Services has one
    expected = pod.container_port(sp.get("targetPort", sp["port"]))
    assert int(port) == expected, f"{cluster} reaches {pod.name} on {port}, its app on {expected}"
    return pod


def service_port(case: Case, service: str) -> int:
    (sp,) = case.service(service)["spec"]["ports"]
    return sp["port"]


def outbound(case: Case, caller: Pod, callee: str, headers: Headers) -> tuple[Pod, str]:
    """A call from ``caller``'s app to ``callee``: its sidecar's Lua and route (or, for a TCP
    service, its TCP proxy), to one pod."""
    design = case.design
    proxy = case.proxy(caller)
    port = service_port(case, callee)
    host = case.host(callee)
    if design.service(callee).tcp_only:
        ip = case.service(callee)["spec"]["clusterIP"]
        (tcp,) = proxy.tcp_proxies(f"{ip}_{port}")
        assert set(tcp) >= {"cluster"} and "weighted_clusters" not in tcp, tcp
        cluster = tcp["cluster"]
    else:
        (chain,) = proxy.http_filters("OUTBOUND", port)
        lua = lua_chain(chain)
        assert not (case.gateway_api and lua), "gateway-api: nothing may rewrite the headers"
        headers = run_chain(lua, headers)
        grpc = design.service(callee).route_port.protocol == "grpc"
        path = f"/hipstershop.{callee}/Call" if grpc else "/"
        routed = proxy.route(str(port), host, path, headers)
        assert routed.status == 200 and len(routed.clusters) == 1, (caller.name, callee, routed)
        (found,) = routed.clusters
        cluster = found.name
    direction, cport, _subset, chost = cluster.split("|")
    assert (direction, int(cport)) == ("outbound", port), cluster
    pod = pod_behind(case, proxy, cluster, callee)
    if case.gateway_api and not design.service(callee).tcp_only:
        # the route's backend is the version Service of the version it reached
        assert chost == case.host(f"{callee}-{pod.version}"), (caller.name, cluster, pod.name)
    else:
        assert chost == host, cluster
    return pod, cluster


def inbound(case: Case, pod: Pod, headers: Headers) -> Headers:
    """What the app behind ``pod`` receives: its sidecar's inbound Lua applied."""
    (port,) = [p["containerPort"] for p in pod.container_ports]
    chains = case.proxy(pod).http_filters("INBOUND", port)
    assert chains, f"{pod.name}: no inbound HTTP chain for port {port}"
    sources = {tuple(lua_chain(c)) for c in chains}
    assert len(sources) == 1, f"{pod.name}: inbound chains disagree"
    return run_chain(list(sources.pop()), headers)


def follow(case: Case, entry: Pod, headers: Headers) -> list[tuple]:
    """(caller, service, version, lane the app reads) of every call below the entry pod, depth
    first in call order; a pod's calls are those of its version (``laneCalls``)."""
    design = case.design
    out: list[tuple] = []

    def serve(caller: str | None, pod: Pod, sent: Headers) -> None:
        service = pod.labels["app"]
        if design.service(service).tcp_only:  # Redis: no HTTP, no context, no calls
            out.append((caller, service, pod.version, None))
            return
        received = inbound(case, pod, sent)
        out.append((caller, service, pod.version, app_lane(design, received)))
        for callee in design.service(service).calls_in(pod.version):
            sent_on = propagated(design, service, received)
            target, _ = outbound(case, pod, callee, sent_on)
            serve(service, target, sent_on)

    serve(None, entry, headers)
    return out


def expected(design: LaneDesign, trace) -> list[tuple]:
    return [(h.caller, h.service, h.lane,
             None if design.service(h.service).tcp_only else h.context) for h in trace.hops]


def requests(design: LaneDesign) -> list[list[tuple[str, str]]]:
    """The route header for each lane, none, an unknown lane; for baggage the same in baggage;
    the headers each explicit ingress rule matches, another value of them, and them with
    client baggage naming the baseline."""
    route = design.route_header
    out = [[], [(route, "no-such-lane")], *([(route, lane)] for lane in design.lane_names)]
    if design.pass_through.method == "baggage":
        out += [[("baggage", f"userId=alice,{design.baggage_key}={lane}")]
                for lane in design.lane_names]
    assert design.ingress is not None
    for rule in design.ingress.rules or ():
        exact = [(n, m.value) for n, m in (rule.match.headers if rule.match else ())
                 if m.kind == "exact"]
        if exact:
            out += [exact, [(n, f"not-{v}") for n, v in exact],
                    [*exact, ("baggage", f"{design.baggage_key}={design.baseline}")]]
    return out


def lane_headers(case: Case, lane: str) -> Headers:
    """What a call in ``lane`` carries on a hop: the route header, which the istio export's
    Lua keeps in step with baggage; the gateway-api export has no Lua, so a baggage design's
    hops carry the lane in baggage only (as Boutique's apps re-inject it)."""
    design = case.design
    if case.gateway_api and design.pass_through.method == "baggage":
        return headers_of({"baggage": f"userId=alice,{design.baggage_key}={lane}"})
    return headers_of({design.route_header: lane})


ENTRY_PATH = {"boutique": "/", "bookinfo": "/productpage"}


def check_request(case: Case, pairs: list[tuple[str, str]]) -> str:
    """Through the gateway's Lua and route, then every hop: as ``simulate`` says; the lane."""
    design = case.design
    gateway = case.proxy(case.gateway)
    (chain,) = gateway.http_filters("OUTBOUND")
    headers = run_chain(lua_chain(chain), headers_of(pairs))
    path = ENTRY_PATH[case.app.name]
    routed = gateway.route(f"http.{case.gateway_port}", "shop.example.com", path, headers)
    assert routed.status == 200 and len(routed.clusters) == 1, (pairs, routed)
    (cluster,) = routed.clusters
    (lane,) = cluster.headers[design.route_header]  # the gateway names the lane it chose
    trace = simulate(design, pairs, path=path, host="shop.example.com")
    assert (trace.status, trace.lane) == (200, lane), pairs
    entry = pod_behind(case, gateway, cluster.name, design.ingress.entry)
    assert follow(case, entry, cluster.headers) == expected(design, trace), pairs
    return lane


# -- the tests -----------------------------------------------------------------------------------
APPS = ["boutique", "bookinfo"]
GATEWAY_API_APPS = ["boutique-gw", "bookinfo-gw"]
ROUTED = [*APPS, *GATEWAY_API_APPS]
BROKEN = ["boutique-broken", "boutique-gw-ports-dropped", "boutique-gw-broken"]


@pytest.mark.parametrize("name", [*ROUTED, *BROKEN])
def test_istio_generates_valid_envoy_configuration(cases, name):
    case = cases[name]
    assert case.dump["errors"] == []  # the control plane's and xdstest's own checks
    assert set(case.dump["proxies"]) == {p.name for p in case.pods}


@pytest.mark.parametrize("name", ROUTED)
def test_every_sidecar_routes_every_lane_to_the_simulators_pods(cases, name):
    """Each Deployment's sidecar (loadgenerator's too), each service, each lane, none and an
    unknown lane: the version ``routing_table`` names, on the Service's targetPort."""
    case = cases[name]
    design = case.design
    table = routing_table(design)
    seen = set()
    for caller in case.sidecars:
        for callee in design.service_names:
            lanes = [*((lane, table[callee][lane]) for lane in design.lane_names),
                     (None, design.baseline), ("no-such-lane", design.baseline)]
            for lane, served in lanes:
                headers = {} if lane is None else lane_headers(case, lane)
                pod, cluster = outbound(case, caller, callee, headers)
                assert (pod.labels["app"], pod.version) == (callee, served), \
                    (caller.name, lane, cluster)
                seen.add((callee, pod.version))
    # the v2/v3 pods are reached (the check is not vacuous on versions)
    assert {v for _, v in seen} == set(design.lane_names)


@pytest.mark.parametrize("name", ROUTED)
def test_requests_through_the_gateway_follow_the_simulator(cases, name):
    case = cases[name]
    lanes = {check_request(case, pairs) for pairs in requests(case.design)}
    assert lanes == set(case.design.lane_names)  # every lane is entered: not vacuous


def test_boutique_grpc_ports_are_routed_by_the_lane_header(cases):
    """cartservice (gRPC, 7070) has a v2: the header picks it on Istio's gRPC route."""
    case = cases["boutique"]
    caller = next(p for p in case.sidecars if p.name == "frontend")
    proxy = case.proxy(caller)
    assert any(vh["name"].startswith("cartservice.") for rc in proxy.dump["routes"]
               if rc["name"] == "7070" for vh in rc["virtual_hosts"])
    for lane in ("v1", "v2"):
        pod, cluster = outbound(case, caller, "cartservice",
                                headers_of({"x-asm-prefer-tag": lane}))
        assert (pod.name, cluster) == (
            "cartservice" if lane == "v1" else "cartservice-v2",
            f"outbound|7070|{lane}|cartservice.boutique.svc.cluster.local")
    # emailservice: port 5000 on the Service, 8080 on the pods (checked in pod_behind)
    pod, _ = outbound(case, caller, "emailservice", {})
    assert pod.container_port(8080) == 8080 and service_port(case, "emailservice") == 5000


def test_boutique_redis_cart_is_a_tcp_proxy_to_its_v1_pods(cases):
    """No HTTP route for the TCP service: every sidecar proxies its connections to the v1
    subset, whatever lane the caller's request is in."""
    case = cases["boutique"]
    ip = case.service("redis-cart")["spec"]["clusterIP"]
    for caller in case.sidecars:
        proxy = case.proxy(caller)
        assert [p["cluster"] for p in proxy.tcp_proxies(f"{ip}_6379")] == [
            "outbound|6379|v1|redis-cart.boutique.svc.cluster.local"]
        assert not any(vh["name"].startswith("redis-cart.") for rc in proxy.dump["routes"]
                       for vh in rc.get("virtual_hosts", [])), caller.name


def test_the_comparison_catches_wrong_objects(cases):
    """The broken export (lane v2's cartservice sent to v1, no tcp route for redis-cart):
    valid for Istio, caught by the same comparisons."""
    case = cases["boutique-broken"]
    assert case.dump["errors"] == []
    with pytest.raises(AssertionError):
        check_request(case, [("x-asm-prefer-tag", "v2")])
    caller = next(p for p in case.sidecars if p.name == "cartservice")
    ip = case.service("redis-cart")["spec"]["clusterIP"]
    # without the tcp route Istio balances over every redis-cart pod (the subset-less cluster)
    assert [p["cluster"] for p in case.proxy(caller).tcp_proxies(f"{ip}_6379")] == [
        "outbound|6379||redis-cart.boutique.svc.cluster.local"]  # what the test above refuses


# -- the gateway-api export --------------------------------------------------------------------
# The version Services the export must add: the versions lanes are served by, of every service
# with an HTTP or gRPC port (redis-cart, TCP only, gets none), written out by hand
VERSION_SERVICES = {
    "boutique-gw": {"frontend-v1", "frontend-v2", "adservice-v1", "currencyservice-v1",
                    "cartservice-v1", "cartservice-v2", "recommendationservice-v1",
                    "checkoutservice-v1", "emailservice-v1", "paymentservice-v1",
                    "shippingservice-v1", "productcatalogservice-v1"},
    "bookinfo-gw": {"details-v1", "ratings-v1", "reviews-v1", "reviews-v2", "reviews-v3",
                    "productpage-v1"},
}


def check_version_services(case: Case) -> None:
    """Each version Service ``<service>-<lane>``, as every sidecar sees it (EDS): exactly the
    pods the app's own Service selects that carry ``version: <lane>``, each on the container
    port the app's own Service targets - from the manifests, not from the export."""
    for caller in case.sidecars:
        endpoints = case.dump["proxies"][caller.name]["endpoints"]
        for version in case.versions:
            name = version["metadata"]["name"]
            service, lane = name.rsplit("-", 1)
            own = case.app.service(service)  # as shipped
            pods = [p for p in case.sidecars if p.version == lane
                    and all(p.labels.get(k) == v for k, v in own["spec"]["selector"].items())]
            assert pods, name
            for sp in own["spec"]["ports"]:
                target = sp.get("targetPort", sp["port"])
                want = sorted(f"{p.ip}:{p.container_port(target)}" for p in pods)
                got = sorted(endpoints.get(f"outbound|{sp['port']}||{case.host(name)}", []))
                assert got == want, f"{caller.name}: {name} port {sp['port']} reaches {got}, " \
                    f"the app's pods listen on {want}"


@pytest.mark.parametrize("name", GATEWAY_API_APPS)
def test_version_services_select_the_versions_pods_on_the_apps_target_ports(cases, name):
    case = cases[name]
    assert {s["metadata"]["name"] for s in case.versions} == VERSION_SERVICES[name]
    check_version_services(case)


def test_boutique_on_the_gateway_api_grpc_by_lane_target_ports_and_redis_cart(cases):
    """cartservice's gRPC port 7070 picks ``cartservice-v2`` by the lane's baggage; the
    storefront's lanes reach frontend's pods on 8080 and emailservice's on 8080 (Service
    ports 80 and 5000); redis-cart has no route: a TCP proxy to its own Service, whose one
    pod is v1, in every lane."""
    case = cases["boutique-gw"]
    caller = next(p for p in case.sidecars if p.name == "frontend-v2")
    proxy = case.proxy(caller)
    for lane in ("v1", "v2"):
        pod, cluster = outbound(case, caller, "cartservice", lane_headers(case, lane))
        assert (pod.name, cluster) == (
            "cartservice" if lane == "v1" else "cartservice-v2",
            f"outbound|7070||cartservice-{lane}.boutique.svc.cluster.local")
        pod, cluster = outbound(case, caller, "frontend", lane_headers(case, lane))
        assert proxy.endpoint_ports(cluster) == [8080] and pod.version == lane
    pod, cluster = outbound(case, caller, "emailservice", lane_headers(case, "v2"))
    assert (cluster, proxy.endpoint_ports(cluster)) == (
        "outbound|5000||emailservice-v1.boutique.svc.cluster.local", [8080])
    ip = case.service("redis-cart")["spec"]["clusterIP"]
    for sidecar in case.sidecars:
        p = case.proxy(sidecar)
        assert [t["cluster"] for t in p.tcp_proxies(f"{ip}_6379")] == [
            "outbound|6379||redis-cart.boutique.svc.cluster.local"]
        assert not any(vh["name"].startswith("redis-cart.") for rc in p.dump["routes"]
                       for vh in rc.get("virtual_hosts", [])), sidecar.name
    pod, _ = outbound(case, caller, "redis-cart", lane_headers(case, "v2"))
    assert (pod.name, pod.version) == ("redis-cart", "v1")


def test_the_gateway_api_checks_catch_version_services_without_their_ports(cases):
    """The version Services as before ports were modelled: Istio takes them, and the checks
    above fail: frontend-v2 is reached on port 80 of pods listening on 8080."""
    case = cases["boutique-gw-ports-dropped"]
    assert case.dump["errors"] == []
    with pytest.raises(AssertionError, match="its app on 8080"):
        check_request(case, [BOUTIQUE_TESTER])
    with pytest.raises(AssertionError, match="the app's pods listen on"):
        check_version_services(case)


def test_the_gateway_api_checks_catch_a_wrong_route(cases):
    """cartservice's lane v2 rule sent to ``cartservice-v1``: valid for Istio, caught."""
    case = cases["boutique-gw-broken"]
    assert case.dump["errors"] == []
    check_version_services(case)  # the Services are right; the route is not
    check_request(case, [])  # the baseline is unaffected
    with pytest.raises(AssertionError, match="cartservice', 'v1', 'v2'"):  # v1 in lane v2
        check_request(case, [BOUTIQUE_TESTER])
