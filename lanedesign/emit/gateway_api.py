"""The Kubernetes Gateway API target (GAMMA): version Services and HTTPRoutes.

The Gateway API has no subsets: a backend is a Service. So each version a lane needs gets a
Service of its own (the service's selector plus the lane's pod labels), and each service gets
an HTTPRoute attached to its own Service (``parentRefs`` kind Service), which the caller's
proxy applies: an Istio sidecar or waypoint, Linkerd, Cilium. The ingress is an HTTPRoute
attached to the design's Gateway. ``docs/gateway-api.md`` says what each lane feature becomes.

Version Services carry the app Service's ports exactly (names, targetPorts, appProtocols),
so a lane's Service reaches the same container ports as the app's own, and the mesh learns
each port's protocol from it as from the app's Service. Routes attach to the port lanes route
(``Service.routed_port``): HTTP, HTTP/2 and gRPC alike, since a header picks a gRPC version
the same way. A service with TCP ports only gets neither routes nor version Services: no
header can pick its version, so only the baseline may hold it (LD213).

Matching differs from Istio's first match: across all rules of all routes of one parent, the
most specific match wins (exact path, longest prefix, most headers), and list order only breaks
ties. Everything this or the API's limits would make route differently from the simulator is
refused by ``gateway_api_problems`` with a coded finding, never emitted wrong.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ..findings import Finding, make
from ..matching import covers, disjoint
from ..model import IngressRule, LaneDesign, RequestMatch, Service, StringMatch
from .baggage_match import baggage_regex, quote_regex
from .common import TargetError, managed_labels, object_name, team_routing_problems
from .target import Target

API_GROUP = "gateway.networking.k8s.io"
API_VERSION = f"{API_GROUP}/v1"
SERVICE_API_VERSION = "v1"
# CRD limits per HTTPRoute (v1.6.1): a route beyond them is rejected by the API server
MAX_RULES, MAX_RULE_MATCHES, MAX_ROUTE_MATCHES = 16, 64, 128
MAX_HOSTNAMES, MAX_BACKENDS = 16, 16
HOSTNAME = re.compile(r"(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
IPV4 = re.compile(r"[0-9]+(\.[0-9]+){3}")  # the CRD's pattern lets it pass; the spec does not
PATH_CHARS = re.compile(r"(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|%[0-9a-fA-F]{2})+")

Serve = Callable[[str | None, str], str]


def emit_gateway_api(design: LaneDesign, with_gateway: bool = False) -> list[dict]:
    """Version Services, then the mesh HTTPRoutes, then the ingress route (apply order).

    ``with_gateway`` also emits the Gateway the ingress names (``ingress_gateway``), before
    the ingress routes. Raises ``TargetError`` with the first of ``gateway_api_problems`` if
    there are any.
    """
    refused = [p for p in gateway_api_problems(design) if p.severity == "error"]
    if refused:
        raise TargetError(refused[0])
    serve = design.serving_lane_resolver()
    services: list[dict] = []
    routes: list[dict] = []
    taken = {(design.namespace_of(s.name), object_name(design.name, s.name))
             for s in design.services}
    for svc in design.services:
        if svc.tcp_only:  # no header picks its version: its own Service serves every lane
            continue
        services += [version_service(design, svc, lane) for lane in _versions(design, svc, serve)]
        routes += mesh_routes(design, svc, serve, taken)
    gateway = [ingress_gateway(design)] if with_gateway and design.ingress is not None else []
    # ambient: the waypoints exist, and the Services use them, before any route is applied
    # (an HTTPRoute on a Service no waypoint serves is silently ignored)
    return [*services, *ambient_objects(design), *routes, *gateway,
            *ingress_routes(design, serve, taken)]


def gateway_api_problems(design: LaneDesign) -> list[Finding]:
    """Every reason this target cannot express ``design`` exactly (errors; empty: it can),
    and what the export leaves unrouted (LD632, a warning)."""
    return [*_method_problems(design), *_service_problems(design),
            *_ingress_problems(design), *team_routing_problems(design, "the Gateway API"),
            *_waypoint_problems(design)]


TARGET = Target(
    name="gateway-api",
    label="Gateway API",
    # version Services first: a route whose backend Service is missing answers 500
    kinds=((SERVICE_API_VERSION, "Service"), (API_VERSION, "HTTPRoute")),
    routing_kinds=frozenset({"HTTPRoute"}),
    install_hint={API_GROUP: "Install the Gateway API CRDs (standard channel; lanedesign "
                  "checks its objects against v1.6.1): meshes that speak it (Istio, Linkerd, "
                  "Cilium) document which release they need."},
    problems=gateway_api_problems,
    emit=emit_gateway_api,
    # the Gateway (with_gateway) is not among `kinds`: the cluster never prunes an ingress
    # Gateway, which other routes than the design's may be attached to
    options=frozenset({"with_gateway"}),
)


# -- what the Gateway API cannot express -------------------------------------------------------
def _method_problems(d: LaneDesign) -> Iterator[Finding]:
    if d.pass_through.method == "traceId":
        yield make("LD620", "spec.passThrough.method", "the Gateway API cannot remember which "
                   "lane a trace id belongs to (the traceId method)")
    if d.pass_through.method == "baggage" and "%" in d.baggage_key:
        yield make("LD629", "spec.passThrough.baggageKey", f"baggage key {d.baggage_key!r} "
                   "holds '%', which Envoy-based implementations read as a formatter in "
                   "header values")


def _service_problems(d: LaneDesign) -> Iterator[Finding]:
    serve = d.serving_lane_resolver()
    owners: dict[tuple[str, str], str] = {(d.namespace_of(s.name), s.name): f"service {s.name!r}"
                                          for s in d.services}
    for i, svc in enumerate(d.services):
        path = f"spec.services[{i}]"
        yield from _port_problems(d, svc, path, serve)
        if svc.selector is None:  # the validator checks selectors given in the design
            for lane in d.lanes:
                clash = [k for k, v in lane.labels if k == "app" and v != svc.name]
                if clash and lane.holds(svc.name):
                    yield make("LD109", f"{path}.selector", f"lane {lane.name!r} labels its "
                               f"pods app={lane.label_map['app']}, but {svc.name!r} selects "
                               f"its pods by the default app={svc.name}")
        for lane in ([] if svc.tcp_only else _versions(d, svc, serve)):
            key = (d.namespace_of(svc.name), version_name(svc.name, lane))
            mine = f"the version Service of {svc.name!r} in lane {lane!r}"
            if key in owners:
                yield make("LD622", f"{path}.name", f"{mine} would be called {key[1]!r}, "
                           f"like {owners[key]}")
            owners.setdefault(key, mine)


def _port_problems(d: LaneDesign, svc: Service, path: str, serve: Serve) -> Iterator[Finding]:
    if svc.tcp_only:
        # the validator's LD213, stated again so that the emitter never makes routes for it
        held = [lane.name for lane in d.lanes if lane.name != d.baseline and lane.holds(svc.name)]
        if held:
            yield make("LD213", f"{path}.ports", f"{svc.name!r} has TCP ports only, and lane "
                       f"{held[0]!r} holds it: no HTTPRoute can pick a version of it")
        return
    port = svc.route_port
    if port is None:
        yield make("LD621", f"{path}.port", f"{svc.name!r} has no port; a Gateway API "
                   "backend that is a Service must name its port")
        return
    if not port.routes_http:
        yield make("LD631", f"{path}.port", f"{svc.name!r} routes port {port.port}, which is "
                   f"{port.protocol}: an HTTPRoute attached to it does nothing")
        return
    others = [p.port for p in svc.ports if p.routes_http and p.port != port.port]
    if others and any(serve(lane, svc.name) != d.baseline for lane in d.lane_names):
        yield make("LD632", f"{path}.ports", f"lanes route {svc.name!r} on port {port.port} "
                   f"only; calls to port {', '.join(map(str, others))} reach every version's "
                   "pods")


def _ingress_problems(d: LaneDesign) -> Iterator[Finding]:
    ing = d.ingress
    if ing is None:
        return
    p = "spec.ingress"
    entry = d.service(ing.entry)
    if entry is not None and entry.tcp_only:
        yield make("LD630", f"{p}.entry", f"the entry service {ing.entry!r} has TCP ports "
                   "only; the gateway's HTTPRoute cannot send requests to it")
    for i, host in enumerate(ing.hosts):
        if host != "*" and (not HOSTNAME.fullmatch(host) or IPV4.fullmatch(host)):
            yield make("LD627", f"{p}.hosts[{i}]", f"{host!r} is not a Gateway API hostname "
                       "(lowercase DNS name, optionally `*.`-prefixed; no IP address)")
    if "*" not in ing.hosts and len(ing.hosts) > MAX_HOSTNAMES:
        yield make("LD626", f"{p}.hosts", f"{len(ing.hosts)} hosts; an HTTPRoute holds at "
                   f"most {MAX_HOSTNAMES}")
    rules = _live_rules(d)
    route_header_tested = False
    for path, match in _matches(d):
        for finding in _match_problems(d, path, match):
            if finding.code == "LD623" and ing.rules is None:
                # the default rules: one per lane, each on the route header; say it once
                if not route_header_tested:
                    yield make("LD623", f"{p}.rules", "the default ingress rules match the "
                               "route header; with the baggage method the gateway takes the "
                               "lane from baggage when that header is absent, and a Gateway "
                               "API match cannot test that a header is absent")
                route_header_tested = True
            else:
                yield finding
    if ing.strategy == "weighted":
        backends = [lane for lane, w in ing.weights if w > 0]
        if len(backends) > MAX_BACKENDS:
            yield make("LD626", f"{p}.weights", f"{len(backends)} lanes with a weight; a rule "
                       f"holds at most {MAX_BACKENDS} backends")
        return
    yield from _precedence_problems(rules)


def _matches(d: LaneDesign) -> list[tuple[str, RequestMatch | None]]:
    ing = d.ingress
    assert ing is not None
    if ing.strategy == "weighted":
        return [("spec.ingress.match", ing.match)]
    return [(f"spec.ingress.rules[{i}].match", r.match) for i, r in enumerate(d.effective_rules)]


def _match_problems(d: LaneDesign, path: str, match: RequestMatch | None) -> Iterator[Finding]:
    if match is None:
        return
    uri = match.uri
    if uri is not None and not _catch_all_uri(uri):
        if uri.kind != "exact":
            yield make("LD624", f"{path}.uri", f"a uri {uri.kind} match: Gateway API prefixes "
                       "match whole path segments (/api matches /api/x, not /apix), and the "
                       "precedence of a regular-expression path is left to each implementation")
        elif not _exact_path_ok(uri.value):
            yield make("LD624", f"{path}.uri", f"the exact path {uri.value!r} is not one the "
                       "Gateway API accepts (absolute, no '//', '/./', '%2f', '#' ...)")
    for name, m in match.headers:
        if not m.value:
            yield make("LD628", f"{path}.headers.{name}", f"the {name} match has an empty "
                       "value; Gateway API header matches need one")
        if d.pass_through.method == "baggage" and name == d.route_header:
            yield make("LD623", f"{path}.headers.{name}", "with the baggage method the "
                       "gateway takes the lane from baggage when the route header is absent; "
                       "a Gateway API match cannot test that a header is absent")


def _catch_all_uri(uri: StringMatch) -> bool:
    return uri.kind == "prefix" and uri.value in ("", "/")


def _exact_path_ok(path: str) -> bool:
    """The CEL rules of the HTTPRoute CRD for an Exact path."""
    return (path.startswith("/") and PATH_CHARS.fullmatch(path) is not None
            and not any(bad in path for bad in ("//", "/./", "/../", "%2f", "%2F", "#"))
            and not path.endswith(("/.", "/..")))


def _live_rules(d: LaneDesign) -> list[tuple[str, IngressRule]]:
    """The rules a request can reach in the simulator (first match), the default last, each
    with its name (``rule-<index in the design>-<lane>``, ``default``).

    A rule that an earlier rule covers never matches first; left out, it cannot outrank the
    rule that shadows it by being more specific.
    """
    ing = d.ingress
    assert ing is not None
    rules = [(f"rule-{i}-{rule.lane}", rule) for i, rule in enumerate(d.effective_rules)]
    if ing.default is not None:
        rules.append(("default", IngressRule(ing.default, None)))
    live: list[tuple[str, IngressRule]] = []
    for name, rule in rules:
        if not any(covers(earlier.match, rule.match) for _, earlier in live):
            live.append((name, rule))
    return live


def _ingress_parts(rules: list) -> list[list]:
    """The ingress rules in routes of at most ``MAX_RULES`` (one match each), in order."""
    return [rules[k:k + MAX_RULES] for k in range(0, len(rules), MAX_RULES)] or [[]]


def _precedence_problems(named: list[tuple[str, IngressRule]]) -> Iterator[Finding]:
    """Where the Gateway API's choice among the live rules would differ from first match.

    Across routes equally specific matches are ordered by the routes' age, which nothing in
    the objects fixes; within a route, by list order, which is the design's.
    """
    part_of = {name: k for k, part in enumerate(_ingress_parts(named)) for name, _ in part}
    for j, (later_name, later) in enumerate(named):
        for earlier_name, earlier in named[:j]:
            if earlier.lane == later.lane or disjoint(earlier.match, later.match):
                continue
            if _rank(later.match) > _rank(earlier.match):
                yield make("LD625", "spec.ingress.rules", f"a rule of lane {later.lane!r} is "
                           f"more specific than an earlier rule of lane {earlier.lane!r} that "
                           "can match the same request; the Gateway API would choose it first")
                break
            if _rank(later.match) == _rank(earlier.match) and (
                    part_of[later_name] != part_of[earlier_name]):
                yield make("LD626", "spec.ingress.rules", f"{len(named)} ingress rules need "
                           f"more than one HTTPRoute ({MAX_RULES} rules each), and rules of "
                           f"lanes {earlier.lane!r} and {later.lane!r} in different routes "
                           "can match the same request equally specifically: the routes' age "
                           "would decide")
                return


def _rank(match: RequestMatch | None) -> tuple[int, int, int]:
    """Gateway API precedence: an exact path, then the longest prefix, then most headers."""
    if match is None:
        return (0, 1, 0)
    exact = match.uri is not None and match.uri.kind == "exact"
    return (1, 0, len(match.headers)) if exact else (0, 1, len(match.headers))


def _waypoint_problems(d: LaneDesign) -> Iterator[Finding]:
    """LD646: Istio deploys each waypoint as a Service of the Gateway's name, beside the
    design's Services and version Services; the ingress Gateway is a Gateway too."""
    if not d.ambient or not d.waypoint.create:
        return
    serve = d.serving_lane_resolver()
    names: dict[tuple[str, str], str] = {(d.namespace_of(s.name), s.name): f"service {s.name!r}"
                                         for s in d.services}
    for svc in d.services:
        for lane in ([] if svc.tcp_only else _versions(d, svc, serve)):
            names.setdefault((d.namespace_of(svc.name), version_name(svc.name, lane)),
                             f"the version Service of {svc.name!r} in lane {lane!r}")
    if d.ingress is not None:
        names.setdefault((d.ingress.gateway_namespace or d.namespace, d.ingress.gateway_name),
                         "the ingress Gateway")
    for key in d.waypoints():
        if key in names:
            yield make("LD646", "spec.waypoint.name", f"waypoint {key[1]!r} in namespace "
                       f"{key[0]!r} has the name of {names[key]}")


# -- ambient: waypoints and the labels that enrol Services in them ------------------------------
WAYPOINT_CLASS = "istio-waypoint"
WAYPOINT_PORT = 15008  # HBONE: ztunnel tunnels the calls to the waypoint on this port
USE_WAYPOINT = "istio.io/use-waypoint"
WAYPOINT_FOR = "istio.io/waypoint-for"


def ambient_objects(design: LaneDesign) -> list[dict]:
    """The waypoint Gateways (unless ``waypoint.create`` is false), then the labels that send
    the lane-routed Services' calls through them; nothing for a sidecar design.

    Only the app's Service is enrolled, not the version Services: a waypoint sends a routed
    call straight to the endpoints of the backend it picked (over HBONE to the pod's
    ztunnel), never through the backend Service's waypoint again, so the HTTPRoutes on the
    app's Service are the only routes that apply. With namespace scope the version Services
    carry the namespace's label as well, which changes nothing for that reason.
    """
    if not design.ambient:
        return []
    gateways = ([waypoint_gateway(design, ns, name) for ns, name in design.waypoints()]
                if design.waypoint.create else [])
    if design.waypoint.scope == "service":
        labels = [_labelled(design, "Service", s, design.namespace_of(s))
                  for s in design.waypoint_services()]
    else:
        labels = [_labelled(design, "Namespace", ns, None)
                  for ns in dict.fromkeys(ns for ns, _ in design.waypoints())]
    return [*gateways, *labels]


def waypoint_gateway(design: LaneDesign, namespace: str, name: str) -> dict:
    """A waypoint: a Gateway of class ``istio-waypoint`` for traffic addressed to Services,
    with the one HBONE listener Istio's own ``istioctl waypoint generate`` writes."""
    metadata = _metadata(design, name, namespace)
    metadata["labels"] = {WAYPOINT_FOR: "service", **metadata["labels"]}
    return {
        "apiVersion": API_VERSION, "kind": "Gateway", "metadata": metadata,
        "spec": {"gatewayClassName": WAYPOINT_CLASS, "listeners": [
            {"name": "mesh", "port": WAYPOINT_PORT, "protocol": "HBONE"}]},
    }


def _labelled(design: LaneDesign, kind: str, name: str, namespace: str | None) -> dict:
    """A Namespace or the app's Service with only the ``istio.io/use-waypoint`` label: applied
    server-side, it adds the label to the object and changes nothing else. It carries no
    ownership labels: lanedesign labels these objects, never owns them, so prune and remove
    never delete them (``labels_only``)."""
    metadata: dict[str, Any] = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    service = name if kind == "Service" else None
    metadata["labels"] = {USE_WAYPOINT: design.waypoint_for(service) if service
                          else design.waypoint.name}
    return {"apiVersion": SERVICE_API_VERSION, "kind": kind, "metadata": metadata}


# -- version Services --------------------------------------------------------------------------
def version_name(service: str, lane: str) -> str:
    """``<service>-<lane>``: the name bookinfo and the GAMMA guides give a version Service."""
    return object_name(service, lane)


def _versions(design: LaneDesign, service: Service, serve: Serve) -> list[str]:
    """The lanes whose version of ``service`` some lane is served by, baseline first."""
    needed = {design.baseline} | {serve(lane, service.name) for lane in design.lane_names}
    return [lane for lane in design.lane_names if lane in needed]


def version_service(design: LaneDesign, service: Service, lane: str) -> dict:
    """A Service that selects the pods of ``service`` in ``lane``: its selector + lane labels,
    and the app Service's ports (so the same container ports, and the same protocols)."""
    found = design.lane(lane)
    labels = found.label_map if found is not None else {}
    return {
        "apiVersion": SERVICE_API_VERSION,
        "kind": "Service",
        "metadata": _metadata(design, version_name(service.name, lane),
                              design.namespace_of(service.name)),
        "spec": {
            "selector": {**service.selector_map, **labels},
            "ports": version_ports(service),
        },
    }


def version_ports(service: Service) -> list[dict]:
    """The app Service's ports, as Kubernetes has them; with only ``port`` known, that port
    named ``http``.

    The name (or appProtocol) is how the mesh learns the protocol it speaks to the pods: a
    gRPC port named ``http`` would be spoken to in HTTP/1.1. Without ``ports`` the design
    says nothing better, and a port lanes route by header is an HTTP port; as Istio's
    bookinfo names its version Services.
    """
    if not service.ports:
        return [{"name": "http", "port": service.port}]
    return [p.as_kubernetes() for p in service.ports]


# -- the mesh routes ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _Rule:
    version: str
    lanes: tuple[str, ...]  # empty: the catch-all rule to the baseline
    part: int = 0  # a version with more lanes than a rule holds matches spreads over rules


def mesh_routes(design: LaneDesign, service: Service, serve: Serve,
                taken: set[tuple[str, str]]) -> list[dict]:
    """HTTPRoutes on ``service``'s Service: each lane's value to its serving version, the rest
    to the baseline.

    Only lanes served by another version than the baseline get a match (the catch-all rule
    serves the others); lanes sharing a version share a rule. Beyond the CRD limits the rules
    go on to further routes: all lane matches rank alike and exclude each other, so how the
    API orders them across routes cannot change where a request goes.
    """
    by_version: dict[str, list[str]] = {}
    for lane in design.lane_names:
        version = serve(lane, service.name)
        if version != design.baseline:
            by_version.setdefault(version, []).append(lane)
    rules = [_Rule(version, tuple(lanes[k:k + MAX_RULE_MATCHES]), k // MAX_RULE_MATCHES)
             for version, lanes in by_version.items()
             for k in range(0, len(lanes), MAX_RULE_MATCHES)]
    namespace = design.namespace_of(service.name)
    # the first route keeps room for the catch-all rule, which counts as one match (the API
    # server gives it the default match)
    parts: list[list[_Rule]] = [[]]
    rules_left, matches_left = MAX_RULES - 1, MAX_ROUTE_MATCHES - 1
    for rule in rules:
        if rules_left == 0 or len(rule.lanes) > matches_left:
            parts.append([])
            rules_left, matches_left = MAX_RULES, MAX_ROUTE_MATCHES
        parts[-1].append(rule)
        rules_left, matches_left = rules_left - 1, matches_left - len(rule.lanes)
    parts[0].append(_Rule(design.baseline, ()))
    names = [object_name(design.name, service.name)]
    for k in range(2, len(parts) + 1):
        names.append(_free_name(design, service.name, k, namespace, taken))
    return [_mesh_route(design, service, name, part) for name, part in zip(names, parts)]


def _free_name(design: LaneDesign, service: str, k: int, namespace: str,
               taken: set[tuple[str, str]]) -> str:
    """``<group>-<service>-part-<k>``, made unique if another route already has the name."""
    name = object_name(design.name, service, f"part-{k}")
    attempt = 1
    while (namespace, name) in taken:
        attempt += 1
        name = object_name(design.name, service, f"part-{k}", str(attempt))
    taken.add((namespace, name))
    return name


def _mesh_route(design: LaneDesign, service: Service, name: str, rules: list[_Rule]) -> dict:
    parent: dict[str, Any] = {"group": "", "kind": "Service", "name": service.name}
    if service.routed_port is not None:
        parent["port"] = service.routed_port
    return {
        "apiVersion": API_VERSION,
        "kind": "HTTPRoute",
        "metadata": _metadata(design, name, design.namespace_of(service.name)),
        "spec": {"parentRefs": [parent],
                 "rules": [_mesh_rule(design, service, rule) for rule in rules]},
    }


def _mesh_rule(design: LaneDesign, service: Service, rule: _Rule) -> dict:
    name = f"to-{rule.version}" + (f"-{rule.part + 1}" if rule.part else "")
    out: dict[str, Any] = {"name": name if rule.lanes else "default"}
    if rule.lanes:
        out["matches"] = [{"headers": [_lane_header(design, lane)]} for lane in rule.lanes]
    out["backendRefs"] = [_backend(design, service.name, rule.version)]
    return out


def _lane_header(design: LaneDesign, lane: str) -> dict[str, str]:
    """The header match that finds a chain in ``lane`` on a hop inside the mesh."""
    if design.pass_through.method == "baggage":
        return {"type": "RegularExpression", "name": "baggage",
                "value": baggage_regex(design.baggage_key, lane)}
    return {"type": "Exact", "name": design.route_header, "value": lane}


def _backend(design: LaneDesign, service: str, lane: str) -> dict[str, Any]:
    svc = design.service(service)
    out: dict[str, Any] = {"group": "", "kind": "Service", "name": version_name(service, lane)}
    if svc is not None and svc.routed_port is not None:
        out["port"] = svc.routed_port  # the version Service has the app Service's numbers
    return out


# -- the ingress -------------------------------------------------------------------------------
def ingress_routes(design: LaneDesign, serve: Serve,
                   taken: set[tuple[str, str]] | None = None) -> list[dict]:
    """The HTTPRoutes on the design's Gateway (none when no request can enter: all 404).

    They live in the entry service's namespace, beside the version Services they send to (a
    route in another namespace would need a ReferenceGrant); the Gateway's listener must allow
    routes from that namespace. Beyond 16 rules the rules continue in further routes, which
    ``gateway_api_problems`` allows only where no two rules of different routes can tie.
    """
    ing = design.ingress
    if ing is None or design.service(ing.entry) is None:
        return []
    if ing.strategy == "weighted":
        parts = [_weighted_rules(design, serve)]
    else:
        parts = [[_ingress_rule(design, serve, name, rule.match, rule.lane)
                  for name, rule in part] for part in _ingress_parts(_live_rules(design))]
    if not parts[0]:
        return []
    taken = set() if taken is None else taken
    namespace = design.namespace_of(ing.entry)
    name = object_name(design.name, "ingress")
    suffix = 1
    while (namespace, name) in taken:  # a service called `ingress`
        suffix += 1
        name = object_name(design.name, "ingress", str(suffix))
    taken.add((namespace, name))
    names = [name, *(_free_name(design, "ingress", k, namespace, taken)
                     for k in range(2, len(parts) + 1))]
    return [_ingress_route(design, name, namespace, rules) for name, rules in zip(names, parts)]


GATEWAY_CLASS = "istio"  # Istio's controller; another mesh's class is a one-word change
GATEWAY_PORT = 80
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"  # every namespace has it (since 1.22)


def ingress_gateway(design: LaneDesign) -> dict:
    """The Gateway the ingress routes attach to, for a cluster without one.

    One HTTP listener on port 80 with no hostname (each ingress HTTPRoute names its hosts);
    it admits routes from the namespace the ingress routes live in (the entry service's):
    ``Same`` when that is the Gateway's own, else that one namespace by its name label.
    """
    ing = design.ingress
    assert ing is not None
    namespace = ing.gateway_namespace or design.namespace
    routes_in = design.namespace_of(ing.entry)
    allowed: dict[str, Any] = {"from": "Same"} if routes_in == namespace else {
        "from": "Selector", "selector": {"matchLabels": {NAMESPACE_NAME_LABEL: routes_in}}}
    return {
        "apiVersion": API_VERSION, "kind": "Gateway",
        "metadata": _metadata(design, ing.gateway_name, namespace),
        "spec": {"gatewayClassName": GATEWAY_CLASS, "listeners": [{
            "name": "http", "port": GATEWAY_PORT, "protocol": "HTTP",
            "allowedRoutes": {"namespaces": allowed}}]},
    }


def _ingress_route(design: LaneDesign, name: str, namespace: str, rules: list[dict]) -> dict:
    ing = design.ingress
    assert ing is not None
    parent: dict[str, Any] = {"group": API_GROUP, "kind": "Gateway",
                              "namespace": ing.gateway_namespace or design.namespace,
                              "name": ing.gateway_name}
    spec: dict[str, Any] = {"parentRefs": [parent]}
    if "*" not in ing.hosts:  # no hostnames: every host the Gateway's listener accepts
        spec["hostnames"] = list(ing.hosts)
    spec["rules"] = rules
    return {"apiVersion": API_VERSION, "kind": "HTTPRoute",
            "metadata": _metadata(design, name, namespace), "spec": spec}


def _weighted_rules(design: LaneDesign, serve: Serve) -> list[dict]:
    ing = design.ingress
    assert ing is not None
    shares = [(lane, weight) for lane, weight in ing.weights if weight > 0]
    rules: list[dict] = []
    if shares:
        rule: dict[str, Any] = {"name": "weights"}
        match = _match(ing.match)
        if match:
            rule["matches"] = [match]
        backends = []
        for lane, weight in shares:
            backend = _backend(design, ing.entry, serve(lane, ing.entry))
            if len(shares) > 1:
                backend["weight"] = weight
            backend["filters"] = [_set_lane(design, lane)]
            backends.append(backend)
        rule["backendRefs"] = backends
        rules.append(rule)
        if not match:  # the default below would never be chosen
            return rules
    if ing.default is not None:
        rules.append(_ingress_rule(design, serve, "default", None, ing.default))
    return rules


def _ingress_rule(design: LaneDesign, serve: Serve, name: str, match: RequestMatch | None,
                  lane: str) -> dict:
    assert design.ingress is not None
    entry = design.ingress.entry
    rule: dict[str, Any] = {"name": name}
    block = _match(match)
    if block:
        rule["matches"] = [block]
    rule["filters"] = [_set_lane(design, lane)]
    rule["backendRefs"] = [_backend(design, entry, serve(lane, entry))]
    return rule


def _match(match: RequestMatch | None) -> dict[str, Any]:
    """A design match as one HTTPRouteMatch (its conditions ANDed); ``{}`` for a catch-all."""
    if match is None:
        return {}
    out: dict[str, Any] = {}
    if match.uri is not None and not _catch_all_uri(match.uri):
        out["path"] = {"type": "Exact", "value": match.uri.value}  # the only kind allowed
    if match.headers:
        out["headers"] = [_header(name, m) for name, m in match.headers]
    return out


def _header(name: str, match: StringMatch) -> dict[str, str]:
    if match.kind == "exact":
        return {"type": "Exact", "name": name, "value": match.value}
    regex = match.value if match.kind == "regex" else f"{quote_regex(match.value)}.*"
    return {"type": "RegularExpression", "name": name, "value": regex}


def _set_lane(design: LaneDesign, lane: str) -> dict[str, Any]:
    """Set the route header to ``lane``; in the baggage method also ``baggage`` to the member.

    ``baggage`` is *set*, replacing what the client sent: an ``add`` would give the app a
    second ``baggage`` line, and OpenTelemetry's propagator reads only the first, so the app
    would carry on the client's members instead of the lane. (Istio's target merges them in a
    Lua filter; the Gateway API has none, so the client's other members do not reach the
    entry service.)
    """
    headers = [{"name": design.route_header, "value": lane}]
    if design.pass_through.method == "baggage":
        headers.append({"name": "baggage", "value": f"{design.baggage_key}={lane}"})
    return {"type": "RequestHeaderModifier", "requestHeaderModifier": {"set": headers}}


def _metadata(design: LaneDesign, name: str, namespace: str) -> dict:
    return {"name": name, "namespace": namespace, "labels": managed_labels(design)}
