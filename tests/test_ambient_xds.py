"""Real Istio in ambient mode: its own control plane translates the gateway-api export for
waypoint proxies, and every waypoint routes every lane as ``simulate`` says.

``tests/go/istio/xdsdump`` runs with ``PILOT_ENABLE_AMBIENT=true`` (istiod's ambient profile):
the fake discovery server of Istio's tests then runs the ambient index, which binds Services to
waypoints by their ``istio.io/use-waypoint`` label (or their Namespace's), and a proxy of type
``waypoint`` gets what a waypoint's Envoy receives. The export's version Services and
HTTPRoutes (``parentRefs`` a Service, GAMMA) go in as for the sidecar tier
(``test_emit_gateway_api_xds``), beside the waypoint objects of ``ambient_cluster``
(``ambient_objects``: what the export adds for ``dataPlane: ambient``) and the cluster moved to
ambient (namespaces ``istio.io/dataplane-mode: ambient``, pods without sidecars).

A waypoint serves a Service on its ``main_internal`` listener, in the filter chain
``inbound-vip|PORT|http|HOST`` whose inline route configuration carries the HTTPRoute's rules;
for every lane-routed Service, every lane (and none, and an unknown one) the route taken for
the lane's headers must reach exactly the pods of the version ``simulate`` names, on the
container port the app's Service targets; and requests through the ingress gateway (Gateway API,
class ``istio``, as in the sidecar tier) then through each callee's waypoint follow
``simulate`` hop by hop. Cases: the built-in examples, the Boutique-shaped
design, seeded random designs (as in the sidecar tier), Online Boutique from
``../shared/realapps``; each with a waypoint per namespace and (examples, Boutique) one per
Service.

The negative case shows Istio's side of the silent trap: a Service without the
``use-waypoint`` label gets no waypoint routing at all - no waypoint has a chain for it, and in
what ztunnel receives (each case's ``addresses``, the WDS) the Service names no waypoint, so
ztunnel balances over every workload listing the Service: every version's pods.

What does not run in-process: Istio's gateway deployment controller (it renders the waypoint's
Deployment/Service from the injection templates and writes the Gateway's status address), and
ztunnel itself (a Rust data plane, not part of the control plane). The test plays the first
(``ambient_cluster.Waypoint``) and reads the second's input, the WDS addresses, instead of its
behaviour. Everything in between - waypoint binding, GAMMA translation, routes, endpoints - is
Istio's code.
"""

from __future__ import annotations

import base64
import functools
import ipaddress
import time
from dataclasses import dataclass, field

import pytest
from ambient_cluster import (
    DATAPLANE_MODE,
    USE_WAYPOINT,
    Waypoint,
    ambient_cluster,
    ambient_objects,
    routed_services,
)
from gateway_schema import with_defaults
from gotools import go_tool
from http_headers import Headers, app_copies, headers_of
from istio_runs import run_xdsdump, write_yaml, yaml_stream
from istio_workloads import port_of, resolve, service_ports
from realapps import as_created, boutique_gateway_api_design, pods_of
from realapps import boutique as boutique_app
from realapps import endpoint_slice as app_endpoint_slice
from request_cases import PickLane, gateway_host
from test_emit_gateway_api import carried
from test_emit_gateway_api_xds import (
    CASE_NAMES,
    cluster_for,
    requests,
    variants,
    wrong_export,
)
from xds_reader import Proxy, XdsError

from lanedesign import examples
from lanedesign.emit.gateway_api import emit_gateway_api
from lanedesign.model import LaneDesign
from lanedesign.simulate import routing_table, simulate

pytestmark = pytest.mark.istio

TUNNEL = "connect_originate;"  # an endpoint reached through HBONE (the pod's ztunnel)
BOUTIQUE_APP = "online-boutique"
SERVICE_SCOPED = ["mock-header", "mock-weighted", "shop", "boutique"]
NO_WAYPOINT = "mock-header-unlabelled"  # mockb loses its use-waypoint label
UNLABELLED = "mockb"
WRONG = "mock-header-wrong"  # mockb's route sends lane s3 to the baseline


@dataclass
class Backend:
    """One pod behind a Service: which service and lane it runs, its IP and app ports."""

    service: str
    lane: str
    ip: str
    ports: list[dict]  # its container ports


@dataclass
class Case:
    name: str
    design: LaneDesign
    scope: str
    exported: list[dict]
    objects: list[dict] = field(default_factory=list)  # the ambient cluster Istio is given
    waypoints: list[Waypoint] = field(default_factory=list)
    backends: list[Backend] = field(default_factory=list)
    services: dict[str, list[dict]] = field(default_factory=dict)  # app Service ports
    dump: dict = field(default_factory=dict)
    ingress: dict | None = None  # the Gateway API gateway's pod, as a proxy (synthetic cases)

    def request(self) -> dict:
        extra = [self.ingress] if self.ingress is not None else []
        return {"name": self.name, "config": "", "kube": yaml_stream(self.objects),
                "proxies": [*(w.proxy for w in self.waypoints), *extra]}

    def bound(self, service: str) -> Waypoint | None:
        """The waypoint the cluster's labels give ``service`` (the Service's, else its
        Namespace's), read from the objects Istio was given."""
        namespace = self.design.namespace_of(service)
        for kind, name in (("Service", service), ("Namespace", namespace)):
            (obj,) = [o for o in self.objects if o["kind"] == kind
                      and o["metadata"]["name"] == name
                      and o["metadata"].get("namespace", namespace) == namespace]
            label = (obj["metadata"].get("labels") or {}).get(USE_WAYPOINT)
            if label is not None:
                (found,) = [w for w in self.waypoints
                            if (w.namespace, w.name) == (namespace, label)]
                return found
        return None


def synthetic_case(shared, name: str, design: LaneDesign, scope: str, subnet: int,
                   exported: list[dict] | None = None) -> Case:
    exported = emit_gateway_api(design) if exported is None else exported
    kube, pods = cluster_for(shared, design, exported)
    objects, waypoints = ambient_cluster(kube, ambient_objects(design, scope), subnet)
    backends = [Backend(w.service, w.lane or "", w.ip, w.container_ports)
                for w in pods if w.service is not None and w.lane is not None]
    (gateway,) = [w.proxy for w in pods if w.service is None]
    return Case(name, design, scope, exported, objects, waypoints, backends,
                {s: service_ports(design, s) for s in design.service_names}, ingress=gateway)


def boutique_case(shared, name: str, scope: str, subnet: int) -> Case:
    """Online Boutique as shipped: its Services and pods (``realapps``), its Gateway API
    design's export, moved to ambient."""
    app, design = boutique_app(shared), boutique_gateway_api_design()
    exported = [with_defaults(shared, o) for o in emit_gateway_api(design)]
    services = [as_created(s, f"10.96.{subnet}.{n}") for n, s in enumerate(app.services, 10)]
    versions = [as_created(s, f"10.96.{subnet}.{n}") for n, s in enumerate(
        (o for o in exported if o["kind"] == "Service"), start=100)]
    pods = pods_of(app, subnet)
    kube = [app.namespace_object, *services, *versions,
            *(app_endpoint_slice(s, pods) for s in [*services, *versions]),
            *(p.object() for p in pods), *(o for o in exported if o["kind"] == "HTTPRoute")]
    objects, waypoints = ambient_cluster(kube, ambient_objects(design, scope), subnet)
    by_selector = {s["metadata"]["name"]: s["spec"]["selector"] for s in app.services}
    backends = []
    for p in pods:
        selected = [s for s in design.service_names
                    if all(p.labels.get(k) == v for k, v in by_selector[s].items())]
        if selected:  # (loadgenerator is behind no Service)
            (service,) = selected
            backends.append(Backend(service, p.version or "", p.ip, list(p.container_ports)))
    return Case(name, design, scope, exported, objects, waypoints, backends,
                {s["metadata"]["name"]: s["spec"]["ports"] for s in services})


def unlabelled(shared, subnet: int) -> Case:
    """mock-header, a waypoint per Service, with mockb's use-waypoint label dropped (a user
    who applied the routes but not the label, or a label that was removed)."""
    case = synthetic_case(shared, NO_WAYPOINT, examples.load("mock-header"), "service", subnet)
    (svc,) = [o for o in case.objects if o["kind"] == "Service"
              and o["metadata"]["name"] == UNLABELLED]
    del svc["metadata"]["labels"][USE_WAYPOINT]
    return case


@functools.cache
def case_names() -> list[str]:
    return [*(f"{n}-ns" for n in CASE_NAMES), *(f"{n}-svc" for n in SERVICE_SCOPED),
            f"{BOUTIQUE_APP}-ns", f"{BOUTIQUE_APP}-svc"]


@pytest.fixture(scope="module")
def cases(realapps_shared) -> dict[str, Case]:
    designs = variants()
    out: dict[str, Case] = {}
    subnet = 0
    for name in CASE_NAMES:
        for scope in ("namespace", "service") if name in SERVICE_SCOPED else ("namespace",):
            subnet += 1
            key = f"{name}-{'ns' if scope == 'namespace' else 'svc'}"
            out[key] = synthetic_case(realapps_shared, key, designs[name], scope, subnet)
    for scope, suffix in (("namespace", "ns"), ("service", "svc")):
        subnet += 1
        key = f"{BOUTIQUE_APP}-{suffix}"
        out[key] = boutique_case(realapps_shared, key, scope, subnet)
    out[NO_WAYPOINT] = unlabelled(realapps_shared, subnet + 1)
    header = examples.load("mock-header")
    out[WRONG] = synthetic_case(realapps_shared, WRONG, header, "service", subnet + 2,
                                exported=wrong_export(header))
    start = time.monotonic()
    answers, took = run_xdsdump(go_tool("xdsdump"), [c.request() for c in out.values()],
                                ambient=True)
    print(f"\nambient xdsdump: {len(out)} cases, "
          f"{sum(len(c.waypoints) for c in out.values())} waypoints in {took:.1f} s "
          f"(fixture {time.monotonic() - start:.1f} s)")
    for name, case in out.items():
        case.dump = answers[name]
    return out


# -- reading a waypoint -----------------------------------------------------------------------
def chain_route(proxy: Proxy, port: int, host: str) -> str | None:
    """The route configuration of the waypoint's chain for Service ``host`` port ``port`` on
    ``main_internal`` (None: the waypoint does not serve it)."""
    (internal,) = [ln for ln in proxy.dump["listeners"] if ln["name"] == "main_internal"]
    found = [c for c in internal["chains"] if c["name"] == f"inbound-vip|{port}|http|{host}"]
    if not found:
        return None
    (chain,) = found
    return chain["routeConfig"]


def served_hosts(proxy: Proxy) -> set[str]:
    """The Services a waypoint has chains for on ``main_internal``."""
    (internal,) = [ln for ln in proxy.dump["listeners"] if ln["name"] == "main_internal"]
    return {c["name"].split("|")[3] for c in internal["chains"]
            if c["name"].startswith("inbound-vip|")}


def endpoints(proxy: Proxy, cluster: str) -> list[tuple[str, int]]:
    """(pod IP, port) behind ``cluster``; every one reached through HBONE (ztunnel), as the
    pods are in the ambient mesh."""
    if cluster not in proxy.dump["endpoints"]:
        raise XdsError(f"{proxy.name}: no cluster {cluster!r} (503 NC)")
    out = []
    for addr in proxy.dump["endpoints"][cluster]:
        assert addr.startswith(TUNNEL), (cluster, addr)
        ip, port = addr[len(TUNNEL):].rsplit(":", 1)
        out.append((ip, int(port)))
    return out


def routed_port(case: Case, service: str) -> int:
    return port_of(case.design, service)


def waypoint_call(case: Case, service: str, headers: Headers) -> list[Backend]:
    """What the waypoint bound to ``service`` does with a call to its routed port: the pods
    it reaches (checked on the container port the app's own Service targets)."""
    waypoint = case.bound(service)
    assert waypoint is not None, f"{service} has no waypoint"
    proxy = Proxy(waypoint.proxy["name"], case.dump["proxies"][waypoint.proxy["name"]])
    port = routed_port(case, service)
    host = f"{service}.{case.design.namespace_of(service)}.svc.cluster.local"
    config = chain_route(proxy, port, host)
    assert config is not None, f"{waypoint.name} serves no {host}:{port}"
    routed = proxy.route(config, host, "/", headers)
    assert routed.status == 200 and len(routed.clusters) == 1, (service, headers, routed)
    (cluster,) = routed.clusters
    reached = endpoints(proxy, cluster.name)
    by_ip = {b.ip: b for b in case.backends}
    pods = [by_ip[ip] for ip, _ in reached]
    (own,) = [p for p in case.services[service] if p["port"] == port]
    for pod, (_, pod_port) in zip(pods, reached, strict=True):
        assert pod_port == resolve(own, pod.ports), (service, cluster.name, pod.ip, pod_port)
    return pods


def lane_checks(design: LaneDesign) -> list[tuple[str | None, str]]:
    """(lane, headers' lane) for every lane, none and an unknown lane."""
    return [*((lane, lane) for lane in design.lane_names), (None, ""), ("no-such-lane", "")]


def check_waypoints(case: Case) -> int:
    """Every lane-routed Service, every lane: the waypoint sends to the simulator's version.
    Returns how many (service, lane) calls were checked."""
    design = case.design
    table = routing_table(design)
    checked = 0
    routed = [name for _, name in routed_services(case.exported)]
    assert routed, case.name
    for service in routed:
        for lane, _ in lane_checks(design):
            headers = headers_of({}) if lane is None else carried(design, lane)
            served = table[service][lane] if lane in design.lane_names else design.baseline
            pods = waypoint_call(case, service, headers)
            assert pods, (service, lane)
            assert {(p.service, p.lane) for p in pods} == {(service, served)}, (
                case.name, service, lane, [p.ip for p in pods])
            checked += 1
    # every waypoint the export deploys served at least one of them
    assert {case.bound(s) for s in routed} == set(case.waypoints), case.name
    return checked


def mesh_call(case: Case, service: str, headers: Headers) -> Backend:
    """A call inside the ambient mesh: through the Service's waypoint when it has one, else
    ztunnel straight to the Service's pods (a TCP service, or one without HTTPRoutes in a
    waypoint-per-Service case: all its pods are the baseline's). The one pod it reaches."""
    found = case.design.service(service)
    assert found is not None
    if case.bound(service) is not None and not found.tcp_only:
        pods = waypoint_call(case, service, headers)
    else:
        pods = [b for b in case.backends if b.service == service]
    assert len(pods) == 1, (service, [p.ip for p in pods])
    return pods[0]


def follow(case: Case, entry: Backend, headers: Headers) -> list[tuple[str | None, str, str]]:
    """(caller, service, lane of the pod) for every call below the entry pod, depth first;
    each app carries on what an OpenTelemetry app would (the first ``baggage`` line) or its
    route header, as in the sidecar tier."""
    design = case.design
    calls: list[tuple[str | None, str, str]] = []
    carried_on = ("baggage",) if design.pass_through.method == "baggage" else (
        design.route_header,)

    def serve(caller: str | None, pod: Backend, received: Headers, path: tuple) -> None:
        calls.append((caller, pod.service, pod.lane))
        service = design.service(pod.service)
        assert service is not None
        here = (*path, pod.service)
        for callee in dict(service.lane_calls).get(pod.lane, service.calls):
            if callee in here or design.service(callee) is None:
                continue  # the simulator follows no cycle and no unknown service either
            out = app_copies(received, carried_on, service.forwards, service.propagates)
            serve(pod.service, mesh_call(case, callee, out), out, here)

    serve(None, entry, headers, ())
    return calls


def check_request(case: Case, pairs: list[tuple[str, str]], path: str) -> None:
    """Through the ingress gateway (Gateway API, class ``istio``), then every hop through the
    callees' waypoints, against ``simulate``."""
    design = case.design
    assert case.ingress is not None
    host = gateway_host(design)
    gateway = Proxy(case.ingress["name"], case.dump["proxies"][case.ingress["name"]])
    routed = gateway.route("http.80", host, path, headers_of(pairs))
    if routed.status == 404:
        assert simulate(design, pairs, path=path, host=host).status == 404, (pairs, path)
        return
    by_ip = {b.ip: b for b in case.backends}
    for cluster in routed.clusters:
        (lane,) = cluster.headers[design.route_header]  # the gateway names the lane it chose
        trace = simulate(design, pairs, path=path, host=host, rng=PickLane(lane))
        assert (trace.status, trace.lane) == (200, lane), (pairs, path)
        ips = {addr.removeprefix(TUNNEL).rsplit(":", 1)[0]
               for addr in gateway.dump["endpoints"][cluster.name]}
        assert len(ips) == 1, (cluster.name, ips)
        entry = by_ip[ips.pop()]
        expected = [(h.caller, h.service, h.lane) for h in trace.hops]
        assert follow(case, entry, cluster.headers) == expected, (case.name, pairs, lane)


# -- the tests --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", [*case_names(), NO_WAYPOINT])
def test_istio_translates_the_ambient_export_for_its_waypoints(cases, name):
    case = cases[name]
    assert case.dump["errors"] == []
    expected = {w.proxy["name"] for w in case.waypoints}
    assert set(case.dump["proxies"]) == expected | (
        {case.ingress["name"]} if case.ingress is not None else set())
    # the ambient index ran: ztunnel's view holds the workloads and Services
    assert case.dump.get("addresses"), "no WDS addresses: ambient was not on"


@pytest.mark.parametrize("name", case_names())
def test_every_waypoint_routes_every_lane_like_the_simulator(cases, name):
    assert check_waypoints(cases[name]) > 0


SYNTHETIC = [n for n in case_names() if not n.startswith(BOUTIQUE_APP)]


@pytest.mark.parametrize("name", SYNTHETIC)
def test_requests_through_the_gateway_and_the_waypoints_follow_the_simulator(cases, name):
    """Every lane header, none, an unknown lane and client baggage, on three paths: the
    ingress gateway picks the version Service, then each call goes through its callee's
    waypoint, hop by hop as ``simulate`` walks it."""
    case = cases[name]
    for pairs in requests(case.design):
        for path in ("/", "/api/v2", "/mock"):
            check_request(case, pairs, path)


def test_the_request_check_catches_a_wrong_route(cases):
    case = cases[WRONG]
    check_request(case, [("x-asm-prefer-tag", "s2")], "/")
    with pytest.raises(AssertionError):  # lane s3 reaches mockb's baseline version
        check_request(case, [("x-asm-prefer-tag", "s3")], "/")


def test_the_waypoint_check_catches_a_wrong_route(cases):
    """The export with mockb's lane-s3 rule sent to the baseline (``wrong_export``): valid to
    Istio, its waypoint routes s3 to mockb-s1, and the check says so."""
    case = cases[WRONG]
    assert case.dump["errors"] == []
    pods = waypoint_call(case, "mockb", carried(case.design, "s3"))
    assert {p.lane for p in pods} == {case.design.baseline}
    with pytest.raises(AssertionError, match="mockb"):
        check_waypoints(case)


def wds(case: Case) -> tuple[dict[str, dict], list[dict]]:
    """ztunnel's input: Services by ``namespace/hostname``, and the workloads."""
    services, workloads = {}, []
    for address in case.dump["addresses"]:
        if "service" in address:
            s = address["service"]
            services[f"{s['namespace']}/{s['hostname']}"] = s
        else:
            workloads.append(address["workload"])
    return services, workloads


def ip_of(raw: str) -> str:
    return str(ipaddress.ip_address(base64.b64decode(raw)))


def test_a_service_without_a_waypoint_gets_no_lane_routing(cases):
    """mockb without ``istio.io/use-waypoint``: Istio gives it no waypoint routing at all, and
    ztunnel, which alone handles its traffic, goes to every version's pods."""
    case = cases[NO_WAYPOINT]
    design = case.design
    assert case.dump["errors"] == []  # valid to Istio: nothing warns
    assert case.bound(UNLABELLED) is None
    host = f"{UNLABELLED}.{design.namespace_of(UNLABELLED)}.svc.cluster.local"
    # no waypoint has a chain (so no route) for mockb, though its HTTPRoute was given and its
    # waypoint Gateway is deployed
    for w in case.waypoints:
        proxy = Proxy(w.proxy["name"], case.dump["proxies"][w.proxy["name"]])
        assert host not in served_hosts(proxy), w.name
        assert not any(vh["domains"] and any(d.startswith(f"{UNLABELLED}.") for d in
                                             vh["domains"])
                       for rc in proxy.dump["routes"] for vh in rc.get("virtual_hosts", [])
                       if rc["name"].endswith(f"|{host}"))
    mine = next(w for w in case.waypoints if w.name == f"{UNLABELLED}-waypoint")
    assert served_hosts(Proxy(mine.name, case.dump["proxies"][mine.proxy["name"]])) == set()
    # ztunnel's view: the Service names no waypoint; its workloads are every version's pods
    services, workloads = wds(case)
    key = f"{design.namespace_of(UNLABELLED)}/{host}"
    assert "waypoint" not in services[key], services[key]
    behind = {ip_of(a) for w in workloads if key in (w.get("services") or {})
              for a in w["addresses"]}
    versions = {b.lane for b in case.backends if b.ip in behind}
    holders = {lane.name for lane in design.lanes if lane.holds(UNLABELLED)}
    assert versions == holders and len(holders) > 1, (versions, holders)
    # ... while a labelled Service of the same case names its waypoint there
    other = f"{design.namespace_of('mocka')}/mocka.{design.namespace_of('mocka')}" \
            ".svc.cluster.local"
    assert "waypoint" in services[other], services[other]
    # and the check of the waypoints fails for mockb
    with pytest.raises(AssertionError, match="has no waypoint"):
        check_waypoints(case)


def test_namespace_waypoint_serves_every_service_of_the_namespace(cases):
    """A namespace waypoint takes the namespace's Services, the version Services included
    (so its lane routes go to ``inbound-vip`` clusters it serves itself)."""
    case = cases["mock-header-ns"]
    (w,) = case.waypoints
    proxy = Proxy(w.name, case.dump["proxies"][w.proxy["name"]])
    ns = case.design.namespace_of("mocka")
    version_services = {f"{o['metadata']['name']}.{ns}.svc.cluster.local"
                        for o in case.exported if o["kind"] == "Service"}
    apps = {f"{s}.{ns}.svc.cluster.local" for s in case.design.service_names}
    assert apps | version_services <= served_hosts(proxy)


# -- istioctl analyze -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def istioctl():
    return go_tool("istioctl")


def analyze(istioctl, *files) -> list[dict]:
    import json
    import subprocess

    done = subprocess.run([str(istioctl), "analyze", "-A", "--use-kube=false", "-o", "json",
                           *(str(f) for f in files)],
                          capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode in (0, 79), done.stderr[-2000:]  # 79: it found something
    return json.loads(done.stdout or "[]")


@pytest.mark.parametrize("name", [*case_names()])
def test_istioctl_analyze_says_nothing_about_the_ambient_export(cases, istioctl, tmp_path,
                                                                name):
    """``istioctl analyze -A`` over the export, the waypoints and the ambient cluster: no
    message (Info included).

    What this can and cannot show: analyze has no offline check of waypoint binding. Its
    ambient checks (``conditions.ConditionAnalyzer``) read the status conditions istiod
    writes in a live cluster (``istio.io/WaypointBound`` on a Service, ``Programmed`` on a
    Gateway), and from files it reports none of them (tried: a Service with
    ``WaypointBound: False`` in its status gives no message); a missing waypoint Gateway is
    not reported either. So the silent trap is proven by the xDS tests above, not here."""
    case = cases[name]
    assert any(o["kind"] == "Namespace" and (o["metadata"].get("labels") or {}).get(
        DATAPLANE_MODE) == "ambient" for o in case.objects)
    messages = analyze(istioctl, write_yaml(tmp_path, "cluster", case.objects))
    assert messages == [], messages


def test_istioctl_analyze_reads_the_ambient_files(cases, istioctl, tmp_path):
    """The check bites on this input: a route to a subset no DestinationRule defines, beside
    the ambient cluster, is IST0101."""
    case = cases["mock-header-ns"]
    broken = {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
              "metadata": {"name": "broken", "namespace": "default"},
              "spec": {"hosts": ["mockb"], "http": [{"route": [
                  {"destination": {"host": "mockb", "subset": "nope"}}]}]}}
    messages = analyze(istioctl, write_yaml(tmp_path, "cluster", [*case.objects, broken]))
    assert {m["code"] for m in messages} == {"IST0101"}, messages
