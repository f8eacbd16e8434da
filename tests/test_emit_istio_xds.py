"""Real Istio: what its own control plane generates from the export routes like the simulator.

The Go program ``tests/go/istio/xdsdump`` runs Istio's in-process control plane (the fake
discovery server of Istio's own tests) over the exported objects and a cluster made from the
design (``istio_workloads``), and dumps what every sidecar and the ingress gateway receive.
``xds_reader`` reads that dump the way Envoy does; a request is followed hop by hop - the
gateway's Lua and routes, then each app's sidecar - and must land on the pods ``simulate``
names, for every example and for seeded random designs. All designs go through one run of
the program.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field, replace

import pytest
from gotools import go_tool
from http_headers import Headers, headers_of
from hypothesis import HealthCheck, Phase, given, settings
from istio_interpreter import run_lua
from istio_runs import run_xdsdump as run_xdsdump_cases
from istio_runs import yaml_stream
from istio_workloads import Workload, istio_extras, kube_objects, workloads
from opentelemetry import baggage as otel_baggage
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from request_cases import PickLane, gateway_host
from strategies import TEAM_HEADERS, designs, designs_with_team_routing
from test_emit_lua import BAGGAGE_CASES
from xds_reader import LUA_TYPE, ROUTER, Proxy, XdsError, lua_chain, pods_by_ip, run_chain

from lanedesign import examples
from lanedesign.emit.istio import emit_istio
from lanedesign.model import LaneDesign
from lanedesign.simulate import routing_table, simulate
from lanedesign.validate import validate

pytestmark = pytest.mark.istio

RANDOM_DESIGNS = 25
TEAM_DESIGNS = 6  # random designs with random team routing (strategies.team_routings)
# traceId needs ASM; an ambient design is refused for the gateway-api target (LD640)
EMITTING = [n for n in examples.names() if examples.load(n).pass_through.method != "traceId"
            and not examples.load(n).ambient]


def seeded_designs(count: int, strategy=None) -> list[LaneDesign]:
    """``count`` distinct random designs the istio target accepts, the same on every run."""
    found: dict[str, LaneDesign] = {}

    @settings(max_examples=count * 10, derandomize=True, database=None, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(strategy if strategy is not None else designs())
    def collect(design: LaneDesign) -> None:
        if len(found) < count and design.pass_through.method != "traceId" \
                and not any(f.severity == "error" for f in validate(design, "istio")):
            found.setdefault(repr(design), design)

    collect()
    assert len(found) == count, f"only {len(found)} distinct random designs"
    return list(found.values())


@functools.cache
def variants() -> dict[str, LaneDesign]:
    """The examples, a few edits of them, and the seeded random designs, by case name."""
    out = {name: examples.load(name) for name in EMITTING}
    mock = examples.load("mock-baggage")
    out["mock-baggage-strict"] = mock.with_(mode="strict", fallback=()).with_membership(
        "s2", "mockb", True).with_membership("s3", "mocka", True).with_membership(
        "s3", "mockc", True)
    header = examples.load("mock-header")
    mockb = header.service("mockb")
    assert mockb is not None and mockb.calls  # the app in the middle of the chain
    out["mock-header-drops"] = header.with_service(replace(mockb, propagates=False))
    # the route header and baggage key the LuaJIT cases of test_emit_lua use
    out["mock-baggage-lane"] = mock.with_(route_header="x-lane").with_pass_through(
        baggage_key="lane")
    for i, design in enumerate(seeded_designs(RANDOM_DESIGNS)):
        out[f"random-{i:02d}"] = design
    team = seeded_designs(TEAM_DESIGNS, designs_with_team_routing().filter(
        lambda d: any(s.routing is not None for s in d.services)))
    for i, design in enumerate(team):
        out[f"team-{i:02d}"] = design
    for name, design in out.items():
        errors = [f for f in validate(design, "istio") if f.severity == "error"]
        assert not errors, (name, errors)
    return out


@dataclass
class Case:
    """One design, its export, its cluster and what Istio generated from them."""

    name: str
    design: LaneDesign
    objects: list[dict]
    kube: list[dict]
    pods: list[Workload]
    dump: dict = field(default_factory=dict)
    extras: bool = True  # the user's Gateway beside the export (istio_extras)
    clusters: tuple[str, ...] = ()  # hosts whose outbound clusters (CDS) the dump keeps

    def proxy(self, workload: Workload) -> Proxy:
        return Proxy(workload.name, self.dump["proxies"][workload.name])

    def pod(self, service: str, lane: str) -> Workload:
        (found,) = [w for w in self.pods if w.service == service and w.lane == lane]
        return found

    @property
    def gateway(self) -> Workload:
        (found,) = [w for w in self.pods if w.service is None]
        return found


def run_xdsdump(binary, cases: list[Case]) -> float:
    """One run of the program for every case; fills each case's dump; returns seconds taken."""
    request = {"cases": [{
        "name": c.name,
        "config": yaml_stream([*c.objects, *(istio_extras(c.design) if c.extras else [])]),
        "kube": yaml_stream(c.kube),
        "proxies": [w.proxy for w in c.pods],
        **({"clusters": list(c.clusters)} if c.clusters else {}),
    } for c in cases]}
    answers, took = run_xdsdump_cases(binary, request["cases"])
    for case in cases:
        case.dump = answers[case.name]
    return took


@pytest.fixture(scope="session")
def xdsdump():
    return go_tool("xdsdump")


@pytest.fixture(scope="session")
def cases(xdsdump) -> dict[str, Case]:
    out = {}
    for name, design in variants().items():
        objects = emit_istio(design)
        out[name] = Case(name, design, objects, kube_objects(design), workloads(design))
    took = run_xdsdump(xdsdump, list(out.values()))
    print(f"\nxdsdump: {len(out)} designs, "
          f"{sum(len(c.pods) for c in out.values())} proxies in {took:.1f} s")
    return out


CASE_NAMES = [*EMITTING, "mock-baggage-strict", "mock-header-drops", "mock-baggage-lane",
              *(f"random-{i:02d}" for i in range(RANDOM_DESIGNS)),
              *(f"team-{i:02d}" for i in range(TEAM_DESIGNS))]


# -- following a request through the dump -------------------------------------------------
def pod_behind(case: Case, proxy: Proxy, cluster: str) -> Workload:
    """The one pod behind ``cluster``, as the proxy's endpoints (EDS) name it."""
    by_ip = {w.ip: w for w in case.pods}
    ips = proxy.endpoints(cluster)
    pods = pods_by_ip(case.kube)
    assert all(ip in pods for ip in ips), (cluster, ips)
    assert len(ips) == 1, f"{cluster}: {len(ips)} endpoints {ips}"
    return by_ip[ips[0]]


BAGGAGE = W3CBaggagePropagator()


def app_lane(design: LaneDesign, received: Headers) -> str | None:
    """The lane the app behind a sidecar reads from the request it received.

    In the baggage method the app is an OpenTelemetry app: its W3C propagator reads the
    baggage (only the first ``baggage`` line, as OpenTelemetry does). In the header method it
    reads the route header.
    """
    if design.pass_through.method == "baggage":
        return otel_baggage.get_baggage(design.baggage_key, BAGGAGE.extract(received))
    values = received.get(design.route_header)
    return ",".join(values) if values else None


def propagated(design: LaneDesign, received: Headers) -> Headers:
    """What an app puts on each call it makes, from the request it received.

    The OpenTelemetry app re-injects the baggage it extracted (one line); the header app
    copies the route header.
    """
    if design.pass_through.method == "baggage":
        carrier: dict[str, str] = {}
        BAGGAGE.inject(carrier, BAGGAGE.extract(received))
        return headers_of(carrier)
    name = design.route_header
    return {name: list(received[name])} if name in received else {}


def team_headers(design: LaneDesign, service, received: Headers) -> Headers:
    """The request headers a team's route tests, as the app passes them on (all of them
    unless its `forwards` list says otherwise); none when no team routes anything."""
    tested = {name.lower() for svc in design.services if svc.routing
              for route in svc.routing.routes for match in route.matches
              for name, _ in match.headers}
    return {h: list(received[h]) for h in sorted(tested) if h in received
            and (service.forwards is None or h in service.forwards)}


def outbound(case: Case, caller: Workload, callee: str, headers: Headers) -> tuple[Workload, str]:
    """A call from ``caller``'s app to ``callee``: its sidecar's Lua and route, to one pod."""
    design = case.design
    proxy = case.proxy(caller)
    port = case.pod(callee, design.baseline).port
    (chain,) = proxy.http_filters("OUTBOUND", port)
    headers = run_chain(lua_chain(chain), headers)
    host = f"{callee}.{design.namespace_of(callee)}.svc.cluster.local"
    routed = proxy.route(str(port), host, "/", headers)
    assert routed.status == 200 and routed.clusters, (caller.name, callee, routed)
    # a team's weighted route: the simulator follows the largest share, the first on a tie
    # (docs/istio.md, LD946); lane routes always have one cluster
    cluster = max(routed.clusters, key=lambda c: c.share)
    direction, cport, _subset, chost = cluster.parts
    assert (direction, cport, chost) == ("outbound", port, host), cluster.name
    return pod_behind(case, proxy, cluster.name), cluster.name


def inbound(case: Case, pod: Workload, headers: Headers) -> Headers:
    """What the app behind ``pod`` receives: its sidecar's inbound Lua applied."""
    chains = case.proxy(pod).http_filters("INBOUND", pod.app_port)
    assert chains, f"{pod.name}: no inbound HTTP chain for port {pod.app_port}"
    sources = {tuple(lua_chain(c)) for c in chains}
    assert len(sources) == 1, f"{pod.name}: inbound chains disagree"
    return run_chain(list(sources.pop()), headers)


@dataclass(frozen=True)
class Call:
    caller: str | None
    service: str
    lane: str | None  # the lane of the pod that served the call
    labels: dict[str, str]
    context: str | None  # the lane the app reads from what it received


def follow(case: Case, entry: Workload, headers: Headers) -> list[Call]:
    """The calls below the entry pod, depth first in call order (as the simulator walks)."""
    design = case.design
    calls: list[Call] = []

    def serve(caller: str | None, pod: Workload, sent: Headers, path: tuple) -> None:
        assert pod.service is not None
        received = inbound(case, pod, sent)
        calls.append(Call(caller, pod.service, pod.lane,
                          {k: v for k, v in pod.labels.items() if k != "app"},
                          app_lane(design, received)))
        service = design.service(pod.service)
        assert service is not None
        here = (*path, pod.service)
        for callee in service.calls_in(pod.lane):  # what the pod's version calls
            if callee in here or design.service(callee) is None:
                continue  # the simulator follows no cycle and no unknown service either
            # an app copies only what it forwards (`forwards`), and nothing if it drops it all
            context = {h: v for h, v in propagated(design, received).items()
                       if service.forwards is None or h in service.forwards}
            out = ({**context, **team_headers(design, service, received)}
                   if service.propagates else {})
            target, _ = outbound(case, pod, callee, out)
            serve(pod.service, target, out, here)

    serve(None, entry, headers, ())
    return calls


def expected_calls(trace) -> list[Call]:
    return [Call(h.caller, h.service, h.lane, dict(h.labels), h.context) for h in trace.hops]


def check_request(case: Case, pairs: list[tuple[str, str]], path: str, host: str) -> None:
    """The gateway and every hop after it, read from Istio's output, against ``simulate``."""
    design = case.design
    assert design.ingress is not None
    gateway = case.proxy(case.gateway)
    (chain,) = gateway.http_filters("OUTBOUND")
    headers = run_chain(lua_chain(chain), headers_of(pairs))
    routed = gateway.route("http.80", host, path, headers)
    if routed.status == 404:
        assert simulate(design, pairs, path=path, host=host).status == 404, (pairs, path, host)
        return
    shares, offered = {}, None
    for cluster in routed.clusters:
        (lane,) = cluster.headers[design.route_header]  # the gateway names the lane it chose
        shares[lane] = shares.get(lane, 0) + cluster.share
        rng = PickLane(lane)
        trace = simulate(design, pairs, path=path, host=host, rng=rng)
        assert (trace.status, trace.lane) == (200, lane), (pairs, path)
        offered = rng.offered
        entry = pod_behind(case, gateway, cluster.name)
        assert follow(case, entry, cluster.headers) == expected_calls(trace), (pairs, lane)
    if len(routed.clusters) > 1 or offered is not None:  # a weighted split
        assert offered == pytest.approx(shares)


def requests(design: LaneDesign) -> list[list[tuple[str, str]]]:
    """Lane header for each lane, none, an unknown lane; in baggage mode the same as baggage."""
    route = design.route_header
    out = [[], [(route, "no-such-lane")], *([(route, lane)] for lane in design.lane_names)]
    if any(s.routing is not None for s in design.services):
        # what the team's matches test (strategies.TEAM_HEADERS), with no lane, the baseline
        # and a test lane: the team's routes are for the first two only
        team = [[(h, v) for h in TEAM_HEADERS if h != route] for v in ("alice", "bob")]
        out += [t + lane for t in team
                for lane in ([], [(route, design.baseline)], [(route, design.lane_names[-1])])]
    if design.pass_through.method == "baggage":
        key = design.baggage_key
        lanes = design.lane_names
        out += [[("baggage", f"userId=alice,{key}={lane};p=1")] for lane in lanes]
        out.append([("baggage", f"{key}=no-such-lane")])
        # the client's own baggage names another lane than the one the gateway chooses
        out += [[(route, lane), ("baggage", f"userId=alice,{key}={other}")]
                for lane, other in zip(lanes, [*lanes[1:], lanes[0]])]
    return out


# -- the tests -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", CASE_NAMES)
def test_istio_generates_valid_envoy_configuration(cases, name):
    case = cases[name]
    assert case.dump["errors"] == []  # the control plane's and xdstest's own checks
    assert set(case.dump["proxies"]) == {w.name for w in case.pods}


@pytest.mark.parametrize("name", CASE_NAMES)
def test_every_sidecar_routes_every_lane_to_the_simulators_pods(cases, name):
    """Each workload's sidecar, each service it could call, each lane, none and unknown.

    The routing table is the lanes' alone: a team's routes decide the baseline's traffic
    by its other headers, which the request-following test below sends."""
    case = cases[name]
    design = case.design
    if any(s.routing is not None for s in design.services):
        lanes_only = [lane for lane in design.lane_names if lane != design.baseline]
        table = routing_table(design)
        for caller in (p for p in case.pods if p.service is not None):
            for callee in design.service_names:
                for lane in lanes_only:
                    pod, cluster = outbound(case, caller, callee,
                                            headers_of({design.route_header: lane}))
                    assert (pod.service, pod.lane) == (callee, table[callee][lane]), cluster
        return
    table = routing_table(design)
    route = design.route_header
    for caller in case.pods:
        if caller.service is None:
            continue
        for callee in design.service_names:
            lanes = [*((lane, table[callee][lane]) for lane in design.lane_names),
                     (None, design.baseline), ("no-such-lane", design.baseline)]
            for lane, served in lanes:
                headers = {} if lane is None else headers_of({route: lane})
                pod, cluster = outbound(case, caller, callee, headers)
                assert (pod.service, pod.lane) == (callee, served), (caller.name, lane, cluster)


@pytest.mark.parametrize("name", CASE_NAMES)
def test_requests_through_the_gateway_follow_the_simulator(cases, name):
    case = cases[name]
    assert case.design.ingress is not None  # every design here has one
    host = gateway_host(case.design)
    for pairs in requests(case.design):
        for path in ("/", "/api/v2", "/mock"):
            check_request(case, pairs, path, host)
    check_request(case, [], "/", "not-served.example.org")


def test_the_comparison_catches_wrong_objects(xdsdump):
    """A broken export, run through Istio too, is caught by the same comparison."""
    design = examples.load("mock-header")
    objects = emit_istio(design)
    vs = next(o for o in objects
              if o["kind"] == "VirtualService" and o["metadata"]["name"] == "mock-header-mockb")
    s3 = next(r for r in vs["spec"]["http"] if r["name"] == "lane-s3")
    s3["route"][0]["destination"]["subset"] = "s1"  # lane s3 ignored
    broken = Case("broken", design, objects, kube_objects(design), workloads(design))
    run_xdsdump(xdsdump, [broken])
    assert broken.dump["errors"] == []  # valid for Istio: only the routing is wrong
    with pytest.raises(AssertionError):
        check_request(broken, [("x-asm-prefer-tag", "s3")], "/", "lanes.example.com")
    caller = broken.pod("mocka", "s1")
    pod, _ = outbound(broken, caller, "mockb", headers_of({"x-asm-prefer-tag": "s3"}))
    assert pod.lane == "s1"  # where Istio really sends it, not where the simulator says
    with pytest.raises(XdsError):  # a cluster Istio did not generate: 503 NC
        Proxy("x", broken.dump["proxies"][caller.name]).endpoints("outbound|1|nope|x")


def delivered_lua(case: Case, workload: Workload, direction: str,
                  port: int | None = None) -> list[str]:
    """The Lua sources in ``workload``'s HCM chains of ``direction``, each chain checked to
    end with the router and to run our filter right before it."""
    sources = set()
    chains = case.proxy(workload).http_filters(direction, port)
    assert chains, (workload.name, direction)
    group = case.design.name
    name = f"lanedesign.{group}.baggage" + ("-inbound" if direction == "INBOUND" else "")
    for chain in chains:
        names = [f["name"] for f in chain]
        assert names[-2:] == [name, ROUTER], (workload.name, names)
        (ours,) = [f for f in chain if f["name"] == name]
        assert ours["typed_config"]["@type"] == LUA_TYPE
        sources.add(ours["typed_config"]["default_source_code"]["inline_string"])
    return sorted(sources)


@pytest.mark.parametrize("name", CASE_NAMES)
def test_the_baggage_filters_sit_before_the_router_in_every_proxy(cases, name):
    case = cases[name]
    if case.design.pass_through.method != "baggage":  # the header method has no filter
        assert not any(f["name"].startswith("lanedesign.")
                       for w in case.pods for d in ("INBOUND", "OUTBOUND")
                       for chain in case.proxy(w).http_filters(d) for f in chain)
        return
    outbound_sources, inbound_sources = set(), set()
    for w in case.pods:
        if w.service is None:  # the gateway's one HTTP chain
            outbound_sources.update(delivered_lua(case, w, "OUTBOUND"))
            continue
        for callee in case.design.service_names:  # every port the app may call
            outbound_sources.update(delivered_lua(case, w, "OUTBOUND", case.pod(
                callee, case.design.baseline).port))
        inbound_sources.update(delivered_lua(case, w, "INBOUND", w.app_port))
    assert len(outbound_sources) == 1 and len(inbound_sources) == 1  # one text everywhere


@pytest.mark.parametrize(("baggage", "lane"), BAGGAGE_CASES)
def test_the_lua_as_envoy_receives_it_passes_the_luajit_cases(cases, baggage, lane):
    """test_emit_lua's cases, on the text Istio put in the gateway's and a sidecar's chain."""
    case = cases["mock-baggage-lane"]
    sidecar = case.pod("mocka", "s1")
    (gateway,) = delivered_lua(case, case.gateway, "OUTBOUND")
    (sidecar_source,) = delivered_lua(case, sidecar, "OUTBOUND", sidecar.port)
    assert gateway == sidecar_source
    values = run_lua(gateway, {"baggage": [baggage]}).headers.get("x-lane")
    assert values == (None if lane is None else [lane])


def test_without_the_inbound_filter_the_clients_baggage_wins(xdsdump):
    """The check of the client's own baggage bites: without the inbound patch, an OpenTelemetry
    app reads the client's lane, not the one the gateway routed the request in."""
    design = examples.load("mock-baggage")
    objects = emit_istio(design)
    envoy_filter = next(o for o in objects if o["kind"] == "EnvoyFilter")
    envoy_filter["spec"]["configPatches"] = [p for p in envoy_filter["spec"]["configPatches"]
                                             if p["match"]["context"] != "SIDECAR_INBOUND"]
    without = Case("no-inbound", design, objects, kube_objects(design), workloads(design))
    run_xdsdump(xdsdump, [without])
    assert without.dump["errors"] == []
    check_request(without, [("x-asm-prefer-tag", "s2")], "/", "lanes.example.com")  # fine
    with pytest.raises(AssertionError, match="context='s3'"):
        check_request(without, [("x-asm-prefer-tag", "s2"),
                                ("baggage", "userId=alice,x-asm-prefer-tag=s3")],
                      "/", "lanes.example.com")


# -- the reader refuses what it does not know ------------------------------------------------
def test_the_reader_refuses_unknown_filters_and_fields():
    router = {"name": ROUTER}
    with pytest.raises(XdsError, match="does not know"):
        lua_chain([{"name": "envoy.filters.http.ext_proc"}, router])  # could change headers
    with pytest.raises(XdsError, match="router is not the last"):
        lua_chain([router, {"name": "istio.stats"}])
    proxy = Proxy("p", {"routes": [{"name": "80", "virtual_hosts": [{
        "name": "vh", "domains": ["*"],
        "routes": [{"match": {"prefix": "/", "query_parameters": []}, "route": {"cluster": "c"}}],
    }]}]})
    with pytest.raises(XdsError, match="query_parameters"):
        proxy.route("80", "a.example.com", "/", {})


def test_the_reader_picks_virtual_hosts_as_envoy_does():
    def vh(name: str, *domains: str) -> dict:
        return {"name": name, "domains": list(domains),
                "routes": [{"match": {"prefix": "/"}, "route": {"cluster": name}}]}
    proxy = Proxy("p", {"routes": [{"name": "80", "virtual_hosts": [
        vh("any", "*"), vh("prefix", "a.example.*"), vh("suffix", "*.example.com"),
        vh("exact", "a.example.com")]}]})
    assert proxy.route("80", "a.example.com", "/", {}).clusters[0].name == "exact"
    assert proxy.route("80", "b.example.com", "/", {}).clusters[0].name == "suffix"
    assert proxy.route("80", "a.example.org", "/", {}).clusters[0].name == "prefix"
    assert proxy.route("80", "other", "/", {}).clusters[0].name == "any"


# -- the filter's priority and the exported Gateway ------------------------------------------
def someone_elses_filter(priority: int | None = None) -> dict:
    """Another EnvoyFilter in the root namespace inserting its own Lua before every router,
    named so that at the same priority it is applied after ours (ties go by name)."""
    def patch(context: str) -> dict:
        return {"applyTo": "HTTP_FILTER", "match": {"context": context, "listener": {
            "filterChain": {"filter": {"name": "envoy.filters.network.http_connection_manager",
                                       "subFilter": {"name": ROUTER}}}}},
                "patch": {"operation": "INSERT_BEFORE", "value": {
                    "name": "someone.else", "typed_config": {
                        "@type": LUA_TYPE,
                        "default_source_code": {"inline_string": "function envoy_on_request(h)"
                                                " end"}}}}}

    spec: dict = {"configPatches": [patch(c) for c in ("SIDECAR_OUTBOUND", "GATEWAY",
                                                        "SIDECAR_INBOUND")]}
    if priority is not None:
        spec["priority"] = priority
    return {"apiVersion": "networking.istio.io/v1alpha3", "kind": "EnvoyFilter",
            "metadata": {"name": "someone-else", "namespace": "istio-system"}, "spec": spec}


def test_the_priority_keeps_our_filter_right_before_the_router(xdsdump):
    """Our EnvoyFilter's priority (10) has Istio apply it after filters of the default
    priority, so ours stays right before the router beside another INSERT_BEFORE; without
    it (priority 0, the export before IST0151 was fixed) the other filter would get there."""
    design = examples.load("mock-baggage")
    ours = emit_istio(design)
    unset = json.loads(json.dumps(ours))
    (envoy_filter,) = [o for o in unset if o["kind"] == "EnvoyFilter"]
    assert envoy_filter["spec"].pop("priority") == 10
    with_ours = Case("beside-another", design, [*ours, someone_elses_filter()],
                     kube_objects(design), workloads(design))
    without = Case("beside-another-unset", design, [*unset, someone_elses_filter()],
                   kube_objects(design), workloads(design))
    run_xdsdump(xdsdump, [with_ours, without])
    assert with_ours.dump["errors"] == [] and without.dump["errors"] == []
    for w in with_ours.pods:  # delivered_lua asserts [ours, router] at every chain's end
        if w.service is None:
            delivered_lua(with_ours, w, "OUTBOUND")
        else:
            delivered_lua(with_ours, w, "INBOUND", w.port)
            delivered_lua(with_ours, w, "OUTBOUND", w.port)
    (chain,) = without.proxy(without.gateway).http_filters("OUTBOUND")
    names = [f["name"] for f in chain]
    assert names[-3:] == [f"lanedesign.{design.name}.baggage", "someone.else", ROUTER]


@pytest.mark.parametrize("name", ["mock-baggage", "shop"])
def test_the_exported_gateway_serves_the_ingress_like_the_users(xdsdump, name):
    """``with_gateway``: with the exported Gateway and no Gateway of the user's, the ingress
    gateway routes every request as the simulator says."""
    design = examples.load(name)
    case = Case(f"{name}-with-gateway", design, emit_istio(design, with_gateway=True),
                kube_objects(design), workloads(design), extras=False)
    bare = Case(f"{name}-no-gateway", design, emit_istio(design), kube_objects(design),
                workloads(design), extras=False)
    run_xdsdump(xdsdump, [case, bare])
    assert case.dump["errors"] == []
    assert len(case.proxy(case.gateway).http_filters("OUTBOUND")) == 1
    host = gateway_host(design)
    for pairs in requests(design):
        check_request(case, pairs, "/", host)
    # the check bites: without a Gateway the ingress gateway has no HTTP listener at all
    assert bare.proxy(bare.gateway).http_filters("OUTBOUND") == []


# -- Bookinfo with its team's routing adopted (docs/istio.md, "A team's routing") ------------
@pytest.fixture(scope="session")
def bookinfo(xdsdump) -> Case:
    from team_routing import bookinfo_adopted

    design = bookinfo_adopted()
    case = Case("bookinfo-adopted", design, emit_istio(design), kube_objects(design),
                workloads(design))
    run_xdsdump(xdsdump, [case])
    return case


def outbound_route(case: Case, caller: Workload, callee: str, headers: Headers):
    """The route ``caller``'s sidecar picks for a call to ``callee`` (with its fault)."""
    design = case.design
    port = case.pod(callee, design.baseline).port
    host = f"{callee}.{design.namespace_of(callee)}.svc.cluster.local"
    return case.proxy(caller).route(str(port), host, "/", headers)


def test_bookinfo_adopted_is_valid_envoy_configuration(bookinfo):
    assert bookinfo.dump["errors"] == []


def test_bookinfo_adopted_every_lane_follows_the_simulator(bookinfo):
    host = "bookinfo.example.com"
    for pairs in ([], [("end-user", "jason")], [("x-lane", "v2")], [("x-lane", "v3")],
                  [("end-user", "jason"), ("x-lane", "v3")],
                  [("end-user", "jason"), ("x-lane", "v2")],
                  [("end-user", "jason"), ("x-lane", "v1")],
                  [("end-user", "jason"), ("x-lane", "nope")]):
        check_request(bookinfo, pairs, "/productpage", host)


def test_bookinfo_jason_reaches_reviews_v2_without_a_lane_and_v3_in_lane_v3(bookinfo):
    page = bookinfo.pod("productpage", "v1")
    jason = headers_of({"end-user": "jason"})
    assert outbound(bookinfo, page, "reviews", jason)[0].lane == "v2"
    assert outbound(bookinfo, page, "reviews", {})[0].lane == "v3"  # the team's default
    in_v3 = headers_of({"end-user": "jason", "x-lane": "v3"})
    assert outbound(bookinfo, page, "reviews", in_v3)[0].lane == "v3"


def test_bookinfo_the_delay_is_on_jasons_ratings_route_only(bookinfo):
    reviews = bookinfo.pod("reviews", "v2")
    routed = outbound_route(bookinfo, reviews, "ratings", headers_of({"end-user": "jason"}))
    assert routed.fault is not None
    delay = routed.fault["delay"]
    assert delay["fixed_delay"] == "7s"
    assert delay["percentage"]["numerator"] in (100, 1000000)  # Envoy's units per denominator
    for headers in ({}, {"end-user": "jason", "x-lane": "v3"}, {"x-lane": "v2"}):
        assert outbound_route(bookinfo, reviews, "ratings", headers_of(headers)).fault is None


# -- the team's DestinationRule policy in every subset's cluster (CDS) -------------------------
# Bookinfo's destination-rule-all has no traffic policy, so the test gives reviews and ratings
# one (connection pool and outlier detection) and one team subset a load balancer of its own.
POLICY = {"connectionPool": {"http": {"http1MaxPendingRequests": 7}},
          "outlierDetection": {"consecutive5xxErrors": 3, "interval": "10s"}}
SUBSET_POLICY = {"loadBalancer": {"simple": "RANDOM"}}  # Istio's default: LEAST_REQUEST
POLICED = ("reviews", "ratings")


def with_policy(design: LaneDesign) -> LaneDesign:
    for name in POLICED:
        svc = design.service(name)
        assert svc is not None and svc.routing is not None
        subsets = tuple(replace(s, traffic_policy=SUBSET_POLICY) if s.name == "v2-mysql" else s
                        for s in svc.routing.subsets)
        routing = replace(svc.routing, traffic_policy=POLICY, subsets=subsets)
        design = design.with_service(replace(svc, routing=routing))
    return design


@pytest.fixture(scope="session")
def policed(xdsdump) -> dict[str, Case]:
    """Bookinfo adopted with and without the policy, with the two services' clusters."""
    from team_routing import bookinfo_adopted

    out = {}
    for name, design in (("with", with_policy(bookinfo_adopted())),
                         ("without", bookinfo_adopted())):
        hosts = tuple(f"{s}.{design.namespace_of(s)}.svc.cluster.local" for s in POLICED)
        out[name] = Case(f"bookinfo-policy-{name}", design, emit_istio(design),
                         kube_objects(design), workloads(design), clusters=hosts)
    run_xdsdump(xdsdump, list(out.values()))
    return out


def subset_clusters(case: Case, service: str) -> dict[str, str]:
    """``outbound|PORT|SUBSET|HOST`` for every subset the DestinationRule gives ``service``
    (each lane holding it, then the team's others), by subset name."""
    design = case.design
    svc = design.service(service)
    assert svc is not None and svc.routing is not None
    names = [lane.name for lane in design.lanes if lane.holds(service)]
    names += [s.name for s in svc.routing.subsets if s.name not in names]
    port = case.pod(service, design.baseline).port
    host = f"{service}.{design.namespace_of(service)}.svc.cluster.local"
    return {n: f"outbound|{port}|{n}|{host}" for n in names}


def max_pending(cluster: dict) -> int | None:
    thresholds = (cluster.get("circuit_breakers") or {}).get("thresholds") or [{}]
    return thresholds[0].get("max_pending_requests")


def test_the_team_policy_is_in_every_lanes_and_team_subsets_cluster(policed):
    case = policed["with"]
    assert case.dump["errors"] == []
    reviews = subset_clusters(case, "reviews")
    ratings = subset_clusters(case, "ratings")
    assert list(reviews) == ["v1", "v2", "v3"]  # every lane's subset of reviews
    assert list(ratings) == ["v1", "v2", "v2-mysql", "v2-mysql-vm"]  # and the team's
    for pod in case.pods:
        clusters = case.dump["proxies"][pod.name]["clusters"]
        for subset, name in [*reviews.items(), *ratings.items()]:
            cluster = clusters[name]
            assert max_pending(cluster) == 7, (pod.name, name)
            assert cluster["outlier_detection"]["consecutive_5xx"] == 3, (pod.name, name)
            assert cluster["outlier_detection"]["interval"] == "10s"
            # the team subset's own policy joins the host's (Istio merges field by field)
            lb = "RANDOM" if subset == "v2-mysql" else "LEAST_REQUEST"
            assert cluster.get("lb_policy") == lb, (pod.name, name)


def test_without_the_policy_no_cluster_has_it(policed):
    case = policed["without"]
    assert case.dump["errors"] == []
    names = [*subset_clusters(case, "reviews").values(),
             *subset_clusters(case, "ratings").values()]
    for pod in case.pods:
        clusters = case.dump["proxies"][pod.name]["clusters"]
        assert set(names) <= set(clusters)
        for name in names:
            assert max_pending(clusters[name]) != 7, (pod.name, name)
            assert "outlier_detection" not in clusters[name], (pod.name, name)
            assert clusters[name].get("lb_policy") == "LEAST_REQUEST"


def test_the_teams_gateway_paths_adopted_into_the_ingress_route_as_simulated(xdsdump,
                                                                               shared_dir):
    """Bookinfo's gateway route (five paths to productpage) adopted into the ingress: Istio's
    gateway routes each path and lane where the simulator does (the regex alternation)."""
    from team_routing import bookinfo_adopted
    from test_adopt import OTHER_PATHS, TEAM_PATHS, team_objects

    from lanedesign.emit.istio_adopt import adopt

    design = bookinfo_adopted()
    [vs] = [o for o in team_objects(shared_dir, ("bookinfo-gateway",))
            if o["kind"] == "VirtualService"]
    vs["spec"]["gateways"] = [design.ingress.gateway]
    done = adopt(design, [vs])
    assert done.ingress is not None and done.design.ingress.default is None
    case = Case("bookinfo-paths", done.design, emit_istio(done.design),
                kube_objects(done.design), workloads(done.design))
    run_xdsdump(xdsdump, [case])
    assert case.dump["errors"] == []
    host = gateway_host(case.design)
    route = design.route_header
    for path in (*TEAM_PATHS, *OTHER_PATHS, "/static/x?y=1"):
        for pairs in ([], [("end-user", "jason")], *([(route, lane)] for lane in
                                                     design.lane_names)):
            check_request(case, pairs, path, host)
    # the comparison sees the paths: the team's enter, the others get 404 in Istio too
    gateway = case.proxy(case.gateway)
    assert gateway.route("http.80", host, "/productpage", headers_of({})).status != 404
    assert gateway.route("http.80", host, "/", headers_of({})).status == 404
