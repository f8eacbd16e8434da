"""Real Istio on real apps: what its control plane generates from the export, with Online
Boutique's and Bookinfo's own Services (ports, names, targetPorts, gRPC and TCP), routes every
lane as ``simulate`` says.

One run of ``tests/go/istio/xdsdump`` for every case: each app's export, its Services with
ClusterIPs, a Pod per Deployment from the pod template (labels incl. ``version``, container
ports) and the EndpointSlices the Services make, the ingress gateway. Then every sidecar (one
per Deployment, loadgenerator included) and the gateway are read with ``xds_reader``: each
call lands on the pod of the version ``simulate`` names, on the container port the app's
Service targets; redis-cart's TCP connections go to its v1 pods through a TCP proxy.
"""

from __future__ import annotations

import copy
import json
import subprocess
import time
from dataclasses import dataclass, field

import pytest
import yaml
from gotools import go_tool
from http_headers import Headers, headers_of
from opentelemetry import baggage as otel_baggage
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from realapps import (
    App,
    Pod,
    as_created,
    bookinfo,
    bookinfo_design,
    boutique,
    boutique_design,
    endpoint_slice,
    gateway_pod,
    gateway_service,
    istio_gateway,
    pods_of,
)
from xds_reader import Proxy, lua_chain, run_chain

from lanedesign.emit.istio import emit_istio
from lanedesign.model import LaneDesign
from lanedesign.simulate import routing_table, simulate

pytestmark = [pytest.mark.realapps, pytest.mark.istio]

GATEWAY_NS = "istio-system"


@dataclass
class Case:
    """One app, its design's export, the cluster Istio is given, and what Istio generated."""

    name: str
    app: App
    design: LaneDesign
    objects: list[dict]  # the export
    extras: list[dict]  # Istio objects beside it: the ingress Gateway
    gateway_port: int
    services: list[dict] = field(default_factory=list)  # the app's, with ClusterIPs
    pods: list[Pod] = field(default_factory=list)
    dump: dict = field(default_factory=dict)

    def kube(self) -> list[dict]:
        namespaces = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": GATEWAY_NS}},
                      self.app.namespace_object]
        gw_service = gateway_service(GATEWAY_NS, self.gateway_port)
        return [*namespaces, *self.services, gw_service,
                *(endpoint_slice(s, self.pods) for s in [*self.services, gw_service]),
                *(p.object() for p in self.pods)]

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


def yaml_stream(objects: list[dict]) -> str:
    return "\n---\n".join(yaml.safe_dump(o, sort_keys=False) for o in objects)


def run_xdsdump(binary, cases: list[Case]) -> float:
    """One run of the program for every case; fills each case's dump; returns seconds taken."""
    request = {"cases": [{"name": c.name, "config": yaml_stream([*c.objects, *c.extras]),
                          "kube": yaml_stream(c.kube()),
                          "proxies": [p.proxy for p in c.pods]} for c in cases]}
    start = time.monotonic()
    done = subprocess.run([str(binary)], input=json.dumps(request), capture_output=True,
                          text=True, check=False, timeout=1800)
    took = time.monotonic() - start
    assert done.returncode == 0, done.stderr[-4000:]
    answers = json.loads(done.stdout)["cases"]
    assert [a["name"] for a in answers] == [c.name for c in cases]
    for case, answer in zip(cases, answers):
        case.dump = answer
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
    assert int(port) == pod.container_port(sp.get("targetPort", sp["port"])), (cluster, port)
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
        headers = run_chain(lua_chain(chain), headers)
        grpc = design.service(callee).route_port.protocol == "grpc"
        path = f"/hipstershop.{callee}/Call" if grpc else "/"
        routed = proxy.route(str(port), host, path, headers)
        assert routed.status == 200 and len(routed.clusters) == 1, (caller.name, callee, routed)
        (found,) = routed.clusters
        cluster = found.name
    direction, cport, _subset, chost = cluster.split("|")
    assert (direction, int(cport), chost) == ("outbound", port, host), cluster
    return pod_behind(case, proxy, cluster, callee), cluster


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
    """The route header for each lane, none, an unknown lane; for baggage the same in baggage."""
    route = design.route_header
    out = [[], [(route, "no-such-lane")], *([(route, lane)] for lane in design.lane_names)]
    if design.pass_through.method == "baggage":
        out += [[("baggage", f"userId=alice,{design.baggage_key}={lane}")]
                for lane in design.lane_names]
    return out


ENTRY_PATH = {"boutique": "/", "bookinfo": "/productpage"}


def check_request(case: Case, pairs: list[tuple[str, str]]) -> None:
    """Through the gateway's Lua and route, then every hop: as ``simulate`` says."""
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


# -- the tests -----------------------------------------------------------------------------------
APPS = ["boutique", "bookinfo"]


@pytest.mark.parametrize("name", [*APPS, "boutique-broken"])
def test_istio_generates_valid_envoy_configuration(cases, name):
    case = cases[name]
    assert case.dump["errors"] == []  # the control plane's and xdstest's own checks
    assert set(case.dump["proxies"]) == {p.name for p in case.pods}


@pytest.mark.parametrize("name", APPS)
def test_every_sidecar_routes_every_lane_to_the_simulators_pods(cases, name):
    """Each Deployment's sidecar (loadgenerator's too), each service, each lane, none and an
    unknown lane: the version ``routing_table`` names, on the Service's targetPort."""
    case = cases[name]
    design = case.design
    table = routing_table(design)
    route = design.route_header
    seen = set()
    for caller in case.sidecars:
        for callee in design.service_names:
            lanes = [*((lane, table[callee][lane]) for lane in design.lane_names),
                     (None, design.baseline), ("no-such-lane", design.baseline)]
            for lane, served in lanes:
                headers = {} if lane is None else headers_of({route: lane})
                pod, cluster = outbound(case, caller, callee, headers)
                assert (pod.labels["app"], pod.version) == (callee, served), \
                    (caller.name, lane, cluster)
                seen.add((callee, pod.version))
    # the v2/v3 pods are reached (the check is not vacuous on versions)
    assert {v for _, v in seen} == set(design.lane_names)


@pytest.mark.parametrize("name", APPS)
def test_requests_through_the_gateway_follow_the_simulator(cases, name):
    case = cases[name]
    for pairs in requests(case.design):
        check_request(case, pairs)


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
