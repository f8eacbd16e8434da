"""The validator: every rule of ``lanes.md`` §5 as findings with stable codes.

``validate`` never raises; it reads whatever design it is given, however incomplete.
Each check is a small function over the design that yields findings; the order of checks is
the order of the design file, so output reads top to bottom.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

from .emit import registry
from .findings import Finding, has_errors, make
from .matching import covers, regex_problem
from .model import Ingress, Lane, LaneDesign, RequestMatch, Service, Waypoint
from .names import (
    is_dns1035_label,
    is_dns1123_label,
    is_header_name,
    is_host,
    is_label_key,
    is_label_value,
    is_token,
)

# Headers an app forwards that cannot carry a lane by the header method: the gateway would
# overwrite what the app and its clients put there.
NOT_ROUTE_HEADERS = frozenset({"baggage", "user-agent", "authorization", "jwt", "host",
                               "content-type"})
# Headers whose value is unique per trace: what ASM's traceId method can map to a lane
TRACE_ID_HEADERS = frozenset({"x-request-id", "traceparent", "b3", "x-b3-traceid",
                              "x-datadog-trace-id", "x-cloud-trace-context", "uber-trace-id",
                              "sw8"})
# Prefixes of tracing systems' own headers (sampling flags and the like): no place for a lane
TRACING_PREFIXES = ("x-b3-", "x-datadog-", "x-ot-", "x-cloud-trace", "uber-trace", "sw8")
# Headers that carry trace context; a lane name in one of them would break tracing (ASM G).
TRACE_HEADERS = frozenset({
    "traceparent", "tracestate", "b3", "x-b3-traceid", "x-b3-spanid", "x-b3-parentspanid",
    "x-b3-sampled", "x-b3-flags", "x-request-id", "x-datadog-trace-id", "x-datadog-parent-id",
    "x-cloud-trace-context", "grpc-trace-bin", "x-ot-span-context", "uber-trace-id", "sw8",
})


def validate(design: LaneDesign, target: str | None = None) -> list[Finding]:
    """All findings for ``design``; ``target`` (a registered name: istio, asm, gateway-api)
    adds every reason that target cannot express it, once the design itself has no errors."""
    findings: list[Finding] = []
    for check in _CHECKS:
        findings.extend(check(design))
    if target is not None and not has_errors(findings):
        # a target's checks, like its emitter, may assume a design without errors
        findings.extend(registry.target(target).problems(design))
    return findings


# -- names ------------------------------------------------------------------------------
def _names(d: LaneDesign) -> Iterator[Finding]:
    yield from _dns_label(d.name, "metadata.name", "the design name")
    yield from _dns_label(d.namespace, "spec.namespace", "the namespace")
    for i, svc in enumerate(d.services):
        path = f"spec.services[{i}]"
        if not svc.name:
            yield make("LD003", f"{path}.name", "a service has no name")
        elif not is_dns1035_label(svc.name):
            yield make("LD101", f"{path}.name", f"service name {svc.name!r} is not a DNS-1035 "
                       "label (Kubernetes Service names start with a letter)")
        if svc.namespace is not None:
            yield from _dns_label(svc.namespace, f"{path}.namespace", "the namespace")
    for i, lane in enumerate(d.lanes):
        yield from _dns_label(lane.name, f"spec.lanes[{i}].name", "a lane name")
    yield from _duplicates(d.service_names, "spec.services", "service")
    yield from _duplicates(d.lane_names, "spec.lanes", "lane")


def _dns_label(name: str, path: str, what: str) -> Iterator[Finding]:
    if not name:
        yield make("LD003", path, f"{what} is missing")
    elif not is_dns1123_label(name):
        yield make("LD101", path, f"{what} {name!r} is not a DNS-1123 label")


def _duplicates(names: tuple[str, ...], path: str, what: str) -> Iterator[Finding]:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name and name in seen:
            yield make("LD104", f"{path}[{i}].name", f"{what} {name!r} is defined twice")
        seen.add(name)


# -- service selectors ------------------------------------------------------------------
def _selectors(d: LaneDesign) -> Iterator[Finding]:
    for i, svc in enumerate(d.services):
        if svc.selector is None:
            continue
        path = f"spec.services[{i}].selector"
        if not svc.selector:
            yield make("LD108", path, f"{svc.name!r} has an empty selector, which would "
                       "select no pods")
        for key, value in svc.selector:
            if not is_label_key(key):
                yield make("LD107", path, f"selector key {key!r} is not a valid label key")
            if not is_label_value(value):
                yield make("LD107", f"{path}.{key}", f"selector value {value!r} is not a "
                           "valid label value")
        # a default selector (app: <name>) is checked by the targets that use it
        selector = svc.selector_map
        for lane in d.lanes:
            if not lane.holds(svc.name):
                continue
            for key, value in lane.labels:
                if key in selector and selector[key] != value:
                    yield make("LD109", f"{path}.{key}", f"lane {lane.name!r} labels its "
                               f"pods {key}={value}, but every pod of {svc.name!r} has "
                               f"{key}={selector[key]}")


# -- ports and protocols -------------------------------------------------------------------
def _ports(d: LaneDesign) -> Iterator[Finding]:
    for i, svc in enumerate(d.services):
        path = f"spec.services[{i}]"
        names: set[str] = set()
        numbers: set[tuple[int, str]] = set()
        for j, port in enumerate(svc.ports):
            where = f"{path}.ports[{j}]"
            if port.name is not None:
                if not is_dns1123_label(port.name):
                    yield make("LD110", f"{where}.name", f"port name {port.name!r} is not a "
                               "DNS-1123 label")
                if port.name in names:
                    yield make("LD110", f"{where}.name", f"two ports of {svc.name!r} are "
                               f"named {port.name!r}")
                names.add(port.name)
            elif len(svc.ports) > 1:
                yield make("LD110", f"{where}.name", f"{svc.name!r} has several ports, so "
                           "Kubernetes needs each to have a name")
            if (port.port, port.transport) in numbers:
                yield make("LD110", f"{where}.port", f"two ports of {svc.name!r} are "
                           f"{port.port}/{port.transport}")
            numbers.add((port.port, port.transport))
            target = port.target_port
            if isinstance(target, int) and not 1 <= target <= 65535:
                yield make("LD110", f"{where}.targetPort", f"targetPort {target} is not "
                           "1-65535")
            if port.transport != "TCP":
                yield make("LD112", where, f"port {port.port}/{port.transport} of "
                           f"{svc.name!r}: the mesh does not proxy {port.transport}, so "
                           "no lane routes it")
        if svc.ports and svc.port is not None and all(p.port != svc.port for p in svc.ports):
            yield make("LD111", f"{path}.port", f"`port` {svc.port} is not one of "
                       f"{svc.name!r}'s ports ({', '.join(str(p.port) for p in svc.ports)})")
        if svc.tcp_only:
            protocols = ", ".join(sorted({p.protocol for p in svc.ports}))
            for k, lane in enumerate(d.lanes):
                if lane.name != d.baseline and lane.holds(svc.name):
                    yield make("LD213", f"spec.lanes[{k}].services", f"lane {lane.name!r} "
                               f"holds {svc.name!r}, whose ports are {protocols} only: "
                               "a header cannot pick its version, so every lane would "
                               "reach every version's pods")


# -- headers and pass-through ------------------------------------------------------------
def _headers(d: LaneDesign) -> Iterator[Finding]:
    route = d.route_header
    pt = d.pass_through
    if not route:
        yield make("LD003", "spec.routeHeader", "the route header is missing")
    elif route.startswith(":") or route in ("host", "baggage") or route in TRACE_HEADERS:
        yield make("LD302", "spec.routeHeader", f"the route header {route!r} is reserved "
                   "(baggage, a trace header, a pseudo-header or host)")
    elif not is_header_name(route):
        yield make("LD102", "spec.routeHeader", f"{route!r} is not a lowercase HTTP token")
    path = "spec.passThrough"
    if pt.trace_header is not None and not is_header_name(pt.trace_header):
        yield make("LD102", f"{path}.traceHeader",
                   f"{pt.trace_header!r} is not a lowercase HTTP token")
    if pt.method == "traceId":
        if not pt.trace_header:
            yield make("LD303", f"{path}.traceHeader", "the traceId method needs a trace header")
        elif pt.trace_header == route:
            yield make("LD304", f"{path}.traceHeader", "the trace header equals the route "
                       "header; a per-trace id cannot name a lane")
    elif pt.method == "header":
        if pt.trace_header is not None and pt.trace_header != route:
            yield make("LD301", f"{path}.traceHeader", f"traceHeader {pt.trace_header!r} "
                       f"differs from routeHeader {route!r}; with the header method they are "
                       "one header")
    elif pt.trace_header is not None and pt.trace_header != "baggage":
        yield make("LD305", f"{path}.traceHeader", "the baggage method ignores traceHeader")
    if pt.baggage_key is not None:
        if pt.method != "baggage":
            yield make("LD305", f"{path}.baggageKey", f"the {pt.method} method ignores "
                       "baggageKey")
        elif not is_token(pt.baggage_key):
            yield make("LD105", f"{path}.baggageKey",
                       f"baggage key {pt.baggage_key!r} is not a token")


# -- lanes and the baseline --------------------------------------------------------------
def _lanes(d: LaneDesign) -> Iterator[Finding]:
    known = set(d.service_names)
    seen_labels: dict[tuple, str] = {}
    for i, lane in enumerate(d.lanes):
        path = f"spec.lanes[{i}]"
        if not lane.labels:
            yield make("LD209", f"{path}.labels", f"lane {lane.name!r} has no pod labels")
        for key, value in lane.labels:
            if not is_label_key(key):
                yield make("LD103", f"{path}.labels", f"label key {key!r} is not valid")
            if not is_label_value(value):
                yield make("LD103", f"{path}.labels.{key}", f"label value {value!r} is not "
                           "valid")
        labels = tuple(sorted(lane.labels))
        if labels and labels in seen_labels:
            yield make("LD204", f"{path}.labels", f"lane {lane.name!r} has the same labels as "
                       f"lane {seen_labels[labels]!r}")
        seen_labels.setdefault(labels, lane.name)
        members = set(lane.services)
        # the common case, no unknown or repeated member, is settled at set speed
        if not members <= known or len(members) < len(lane.services):
            yield from _members(lane, path, known)
        if not lane.services and lane.name != d.baseline and d.mode == "loose":
            yield make("LD212", f"{path}.services", f"lane {lane.name!r} holds no service")
    yield from _baseline(d)
    if d.mode == "strict":
        for i, lane in enumerate(d.lanes):
            if lane.name == d.baseline:
                continue
            held = set(lane.services)
            for svc in d.service_names:
                if svc and svc not in held:
                    yield make("LD203", f"spec.lanes[{i}].services", f"strict mode: lane "
                               f"{lane.name!r} lacks service {svc!r}")


def _members(lane: Lane, path: str, known: set[str]) -> Iterator[Finding]:
    counts = Counter(lane.services)
    for j, svc in enumerate(lane.services):
        if svc not in known:
            yield make("LD205", f"{path}.services[{j}]", f"lane {lane.name!r} lists "
                       f"unknown service {svc!r}")
        elif counts[svc] > 1 and lane.services.index(svc) != j:
            yield make("LD210", f"{path}.services[{j}]", f"lane {lane.name!r} lists "
                       f"{svc!r} twice")


def _baseline(d: LaneDesign) -> Iterator[Finding]:
    if not d.baseline:
        yield make("LD201", "spec.baseline", "no baseline lane is set")
        return
    if d.baseline not in d.lane_names:
        yield make("LD201", "spec.baseline", f"baseline {d.baseline!r} names no lane")
        return
    i = d.lane_names.index(d.baseline)
    held = set(d.lanes[i].services)
    for svc in d.service_names:
        if svc and svc not in held:
            yield make("LD202", f"spec.lanes[{i}].services", f"baseline {d.baseline!r} lacks "
                       f"service {svc!r}")


def _fallbacks(d: LaneDesign) -> Iterator[Finding]:
    if d.fallback and d.mode == "strict":
        yield make("LD211", "spec.fallback", "fallback overrides have no effect in strict mode")
    for svc, target in d.fallback:
        path = f"spec.fallback.{svc}"
        lane = d.lane(target)
        if d.service(svc) is None:
            yield make("LD207", path, f"fallback override for unknown service {svc!r}")
        elif lane is None:
            yield make("LD208", path, f"fallback target {target!r} is not a lane")
        elif not lane.holds(svc):
            yield make("LD206", path, f"fallback target {target!r} does not hold {svc!r}",
                       f"Add {svc!r} to lane {target!r}, or pick a lane that holds it.")


# -- the call graph ----------------------------------------------------------------------
def _calls(d: LaneDesign) -> Iterator[Finding]:
    known = set(d.service_names)
    for i, svc in enumerate(d.services):
        for j, callee in enumerate(svc.calls):
            if callee not in known:
                yield make("LD401", f"spec.services[{i}].calls[{j}]", f"{svc.name!r} calls "
                           f"unknown service {callee!r}")
        for lane, calls in svc.lane_calls:
            holder = d.lane(lane)
            if holder is None or not holder.holds(svc.name):
                yield make("LD405", f"spec.services[{i}].laneCalls.{lane}", f"lane {lane!r} "
                           + ("does not exist" if holder is None else
                              f"has no version of {svc.name!r}")
                           + "; what its version calls is never used")
            for j, callee in enumerate(calls):
                if callee not in known:
                    yield make("LD401", f"spec.services[{i}].laneCalls.{lane}[{j}]",
                               f"{svc.name!r} in lane {lane!r} calls unknown service "
                               f"{callee!r}")
        if svc.propagates and svc.all_calls and not d.keeps_context(svc.name):
            yield make("LD406", f"spec.services[{i}].forwards", _lost_message(d, svc))
        if not svc.propagates and svc.calls:
            yield make("LD403", f"spec.services[{i}].propagates", f"{svc.name!r} does not "
                       f"propagate the lane context; {', '.join(svc.calls)} will be served by "
                       "the baseline")
    yield from _cycles(d)
    entry = d.ingress.entry if d.ingress else ""
    if entry in known:
        reached = _reachable(d, entry)
        for i, svc in enumerate(d.services):
            if svc.name and svc.name not in reached:
                yield make("LD404", f"spec.services[{i}]", f"{svc.name!r} is not reachable "
                           f"from the entry service {entry!r}")


def _lost_message(d: LaneDesign, svc: Service) -> str:
    """Why ``svc`` loses the lane, and which pass-through would survive its forwarded list."""
    forwards = svc.forwards or ()
    method = d.pass_through.method
    survive = []
    traces = [h for h in forwards if h in TRACE_ID_HEADERS]
    if traces:
        survive.append(f"traceId with traceHeader {traces[0]} (ASM)")
    business = [h for h in forwards if h not in TRACE_HEADERS and h not in NOT_ROUTE_HEADERS
                and not h.startswith(TRACING_PREFIXES)]
    if business:
        survive.append(f"header with routeHeader {' or '.join(business[:3])}")
    tail = (f"; a method that would survive: {'; '.join(survive)}" if survive else
            "; no pass-through method survives its list")
    return (f"{svc.name!r} forwards only {', '.join(forwards) or 'no headers'}, not "
            f"{d.context_header!r}: the {method} method loses the lane after it and "
            f"{', '.join(svc.all_calls)} are served by the baseline{tail}")


def _graph(d: LaneDesign) -> dict[str, tuple[str, ...]]:
    graph: dict[str, tuple[str, ...]] = {}
    for svc in d.services:
        graph.setdefault(svc.name, svc.all_calls)
    return graph


def _reachable(d: LaneDesign, start: str) -> set[str]:
    """The services a request from ``start`` reaches by calls and by messages."""
    graph = _graph(d)
    if d.has_queues:
        graph = {name: (*callees, *(c for t in d.service(name).publishes  # type: ignore[union-attr]
                                    for c in d.consumers(t)))
                 for name, callees in graph.items()}
    seen, todo = {start}, [start]
    while todo:
        for callee in graph.get(todo.pop(), ()):
            if callee in graph and callee not in seen:
                seen.add(callee)
                todo.append(callee)
    return seen


def _cycles(d: LaneDesign) -> Iterator[Finding]:
    """One LD402 per back edge of an iterative depth-first search (no recursion limit)."""
    graph = _graph(d)
    index = {name: i for i, name in enumerate(d.service_names)}
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    for root in graph:
        if root in state:
            continue
        path = [root]
        stack = [(root, iter(graph[root]))]
        state[root] = 1
        while stack:
            node, callees = stack[-1]
            callee = next(callees, None)
            if callee is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif callee not in graph:
                continue
            elif state.get(callee) == 1:
                loop = [*path[path.index(callee):], callee]
                j = graph[node].index(callee)
                yield make("LD402", f"spec.services[{index[node]}].calls[{j}]",
                           f"call cycle: {' -> '.join(loop)}")
            elif callee not in state:
                state[callee] = 1
                path.append(callee)
                stack.append((callee, iter(graph[callee])))


# -- ingress ---------------------------------------------------------------------------------
def _ingress(d: LaneDesign) -> Iterator[Finding]:
    ing = d.ingress
    if ing is None:
        yield make("LD501", "spec.ingress", "the design has no ingress; requests cannot enter "
                   "the lanes")
        return
    p = "spec.ingress"
    if not ing.entry:
        yield make("LD501", f"{p}.entry", "no entry service is set")
    elif d.service(ing.entry) is None:
        yield make("LD501", f"{p}.entry", f"entry service {ing.entry!r} is not a service")
    ns, name = ing.gateway_namespace, ing.gateway_name
    if not is_dns1123_label(name) or (ns is not None and not is_dns1123_label(ns)):
        yield make("LD106", f"{p}.gateway", f"gateway {ing.gateway!r} is not namespace/name")
    if not ing.hosts:
        yield make("LD510", f"{p}.hosts", "the ingress needs at least one host")
    for i, host in enumerate(ing.hosts):
        if not is_host(host):
            yield make("LD510", f"{p}.hosts[{i}]", f"{host!r} is not a host name")
    lanes = set(d.lane_names)
    if ing.default is not None and ing.default not in lanes:
        yield make("LD502", f"{p}.default", f"default lane {ing.default!r} does not exist")
    if ing.default is None and not _some_rule_catches_all(d, ing):
        yield make("LD511", f"{p}.default", "requests that name no lane (and match no rule) "
                   "get HTTP 404 at the gateway", f"Set `spec.ingress.default: {d.baseline}` "
                   "so they reach the baseline, unless a 404 is what you want.")
    if ing.strategy == "weighted":
        yield from _weighted(ing, lanes, p)
    else:
        yield from _rules(d, ing, lanes, p)
    yield from _lanes_not_entered(d)


def _rules(d: LaneDesign, ing: Ingress, lanes: set[str], p: str) -> Iterator[Finding]:
    if ing.weights:
        yield make("LD507", f"{p}.weights", "the rules strategy ignores weights")
    if ing.match is not None:
        yield make("LD507", f"{p}.match", "the rules strategy ignores the group-wide match; "
                   "put matches in the rules")
    rules = ing.rules or ()
    for i, rule in enumerate(rules):
        path = f"{p}.rules[{i}]"
        if not rule.lane:
            yield make("LD003", f"{path}.lane", "a rule has no lane")
        elif rule.lane not in lanes:
            yield make("LD502", f"{path}.lane", f"rule sends traffic to unknown lane "
                       f"{rule.lane!r}")
        yield from _match(rule.match, f"{path}.match")
        for k in range(i):
            if covers(rules[k].match, rule.match):
                yield make("LD503", path, f"rule {i} (lane {rule.lane!r}) is shadowed by rule "
                           f"{k} (lane {rules[k].lane!r}), which matches everything it does")
                break


def _weighted(ing: Ingress, lanes: set[str], p: str) -> Iterator[Finding]:
    if ing.rules:
        yield make("LD507", f"{p}.rules", "the weighted strategy ignores rules")
    yield from _match(ing.match, f"{p}.match")
    if not ing.weights:
        yield make("LD508", f"{p}.weights", "weighted ingress without weights")
        return
    for lane, weight in ing.weights:
        if lane not in lanes:
            yield make("LD502", f"{p}.weights.{lane}", f"weight for unknown lane {lane!r}")
        if weight < 0:
            yield make("LD505", f"{p}.weights.{lane}", f"weight {weight} is negative")
    total = sum(w for _, w in ing.weights)
    if total != 100:
        yield make("LD504", f"{p}.weights", f"weights sum to {total}, not 100")


def _match(match: RequestMatch | None, path: str) -> Iterator[Finding]:
    if match is None:
        return
    conditions = [("uri", match.uri)] if match.uri is not None else []
    conditions += [(f"headers.{name}", m) for name, m in match.headers]
    for where, m in conditions:
        if where.startswith("headers.") and not is_header_name(where[8:]):
            yield make("LD102", f"{path}.{where}", f"{where[8:]!r} is not a lowercase HTTP "
                       "token")
        if m.kind == "regex":
            problem = regex_problem(m.value)
            if problem:
                yield make("LD506", f"{path}.{where}.regex", f"{problem}")
        elif m.kind == "prefix" and not m.value and where != "uri":
            yield make("LD506", f"{path}.{where}.prefix", "an empty header prefix",
                       "Use a presence-free match such as a non-empty prefix.")


def _some_rule_catches_all(d: LaneDesign, ing: Ingress) -> bool:
    if ing.strategy == "weighted":
        return ing.match is None or ing.match.is_catch_all
    return any(r.match is None or r.match.is_catch_all for r in d.effective_rules)


def _lanes_not_entered(d: LaneDesign) -> Iterator[Finding]:
    missed = set(d.lanes_not_entered)
    for i, lane in enumerate(d.lanes):
        if lane.name in missed:
            yield make("LD509", f"spec.lanes[{i}]", f"no ingress rule or weight sends traffic "
                       f"into lane {lane.name!r}")


# -- a team's routing (services[].routing) -------------------------------------------------
def _team_routing(d: LaneDesign) -> Iterator[Finding]:
    lane_headers = {d.route_header.lower(), "baggage", d.context_header.lower()} - {""}
    tested = d.team_headers
    entry = d.ingress.entry if d.ingress is not None else None
    for i, svc in enumerate(d.services):
        routing = svc.routing
        if routing is None:
            continue
        p = f"spec.services[{i}].routing"
        if svc.tcp_only:
            yield make("LD947", p, f"{svc.name} has TCP ports only: a team's HTTP routing "
                       "cannot apply to it")
        if svc.name == entry and (routing.steers or routing.settings):
            yield make("LD944", p, f"{svc.name} is the entry: the gateway sends requests to "
                       "its subset directly, so its team routes and settings apply only to "
                       "calls from inside the mesh")
        yield from _team_settings(routing.settings, f"{p}.settings", lane_headers | tested)
        for j, route in enumerate(routing.routes):
            rp = f"{p}.routes[{j}]"
            if not route.matches:
                yield make("LD947", f"{rp}.match", "a team route needs a match (a catch-all "
                           "is `default`)")
            for k, match in enumerate(route.matches):
                yield from _match(match, f"{rp}.match[{k}]")
                if match.uri is None and not match.headers:
                    yield make("LD947", f"{rp}.match[{k}]", "an empty match block (Istio "
                               "refuses it; leave the route out or write conditions)")
                if match.uri is not None:
                    yield make("LD945", f"{rp}.match[{k}].uri", f"team route "
                               f"{route.name or j} matches the path")
                for name, _ in match.headers:
                    if name.lower() in lane_headers:
                        yield make("LD942", f"{rp}.match[{k}].headers.{name}", f"team route "
                                   f"{route.name or j} matches {name}, which carries the lane")
            yield from _team_settings(route.settings, rp, lane_headers | tested)
            yield from _team_destinations(d, svc, route.destinations, f"{rp}.route")
        if routing.default:
            yield from _team_destinations(d, svc, routing.default, f"{p}.default")
        for j, subset in enumerate(routing.subsets):
            sp = f"{p}.subsets[{j}]"
            if not subset.name:
                yield make("LD947", f"{sp}.name", "a team subset has no name")
            lane = d.lane(subset.name)
            if lane is not None and lane.holds(svc.name) and lane.labels and (
                    dict(lane.labels) != subset.label_map):
                yield make("LD941", sp, f"team subset {subset.name!r} of {svc.name} has "
                           f"labels {subset.label_map}, lane {lane.name!r} has "
                           f"{lane.label_map}")


def _team_settings(settings: dict, path: str, guarded: set[str] | frozenset[str],
                   ) -> Iterator[Finding]:
    ops = settings.get("headers")
    request = ops.get("request") if isinstance(ops, dict) else None
    if not isinstance(request, dict):
        return
    for op in ("set", "add", "remove"):
        names = request.get(op) or ()
        for name in names:
            if isinstance(name, str) and name.lower() in guarded:
                yield make("LD943", f"{path}.headers.request.{op}", f"the team's settings "
                           f"{op} {name}, which carries the lane or a team match tests")


def _team_destinations(d: LaneDesign, svc: Service, destinations: tuple, path: str,
                       ) -> Iterator[Finding]:
    routing = svc.routing
    assert routing is not None
    if not destinations:
        yield make("LD947", path, "a team route needs a destination")
    weights = [dest.weight for dest in destinations]
    if len(destinations) > 1:
        if any(w is None for w in weights) or sum(w or 0 for w in weights) <= 0:
            yield make("LD947", path, "several destinations need weights summing to more "
                       "than 0")
        else:
            yield make("LD946", path, "the team splits traffic " + ", ".join(
                f"{dest.subset} {dest.weight}" for dest in destinations))
    for k, dest in enumerate(destinations):
        lane = d.lane(dest.subset)
        if not (lane is not None and lane.holds(svc.name)) and routing.subset(
                dest.subset) is None:
            yield make("LD940", f"{path}[{k}].destination.subset", f"subset {dest.subset!r} "
                       f"of {svc.name} is neither a lane holding it nor a team subset")


# -- the data plane (docs/ambient.md) ------------------------------------------------------
def _data_plane(d: LaneDesign) -> Iterator[Finding]:
    if not d.ambient:
        if d.waypoint != Waypoint():
            yield make("LD644", "spec.waypoint", "the waypoint settings apply to "
                       "`dataPlane: ambient` only; this design targets sidecars")
        return
    method = d.pass_through.method
    if method == "traceId":
        yield make("LD641", "spec.passThrough.method", "in ambient mode no sidecar remembers "
                   "which lane a trace id belongs to")
    else:
        yield make("LD642", "spec.passThrough.method", _ambient_context(d))
    yield from _waypoint_names(d)
    if d.waypoint.scope == "namespace" and d.waypoint_services():
        namespaces = ", ".join(dict.fromkeys(ns for ns, _ in d.waypoints()))
        yield make("LD647", "spec.waypoint.scope", f"the label on namespace {namespaces} "
                   f"sends calls to every Service there through waypoint {d.waypoint.name!r}")


def _ambient_context(d: LaneDesign) -> str:
    """What carries the lane in ambient mode: who sets it, who must forward it."""
    if d.pass_through.method == "baggage":
        carried = (f"the `baggage` member {d.baggage_key}=<lane> (an OpenTelemetry SDK "
                   "forwards it)")
        sets = f"`{d.route_header}` and `baggage: {d.baggage_key}=<lane>`"
    else:
        carried = f"the route header `{d.route_header}`"
        sets = f"`{d.route_header}: <lane>`"
    return (f"no sidecar copies the lane context: every app must forward {carried} on its "
            f"own outbound calls, and the ingress gateway's route sets {sets}; the waypoints "
            "route each call by it")


def _waypoint_names(d: LaneDesign) -> Iterator[Finding]:
    if d.waypoint.scope == "namespace":
        if not is_dns1123_label(d.waypoint.name):
            yield make("LD645", "spec.waypoint.name", f"{d.waypoint.name!r} is not a DNS-1123 "
                       "label")
        return
    routed = set(d.waypoint_services())
    for i, svc in enumerate(d.services):
        name = d.waypoint_for(svc.name)
        if svc.name in routed and not is_dns1123_label(name):
            yield make("LD645", f"spec.services[{i}].name", f"the waypoint of {svc.name!r} "
                       f"would be called {name!r}, which is not a DNS-1123 label")


# -- message topics (docs/queues.md) ----------------------------------------------------------
# What every broker we label accepts: Kafka's topic alphabet and length limit (RabbitMQ,
# RocketMQ and SQS accept these names too).
TOPIC_NAME = re.compile(r"[A-Za-z0-9._-]{1,249}")


def _topics(d: LaneDesign) -> Iterator[Finding]:
    seen: set[str] = set()
    for i, topic in enumerate(d.topics):
        p = f"spec.topics[{i}]"
        if not TOPIC_NAME.fullmatch(topic.name):
            yield make("LD410", f"{p}.name", f"topic name {topic.name!r} is not a broker-safe "
                       "name (letters, digits, `.`, `_`, `-`; 1-249 characters)")
        elif topic.name in seen:
            yield make("LD410", f"{p}.name", f"topic {topic.name!r} is defined twice")
        if not topic.broker.strip():
            yield make("LD410", f"{p}.broker", f"topic {topic.name!r} has an empty broker "
                       "label", "Name the broker: `kafka`, `rabbitmq`, `rocketmq`, `sqs`, ...")
        seen.add(topic.name)
    known = set(d.topic_names)
    for i, svc in enumerate(d.services):
        for field, names in (("publishes", svc.publishes), ("consumes", svc.consumes)):
            for j, name in enumerate(names):
                if name not in known:
                    yield make("LD411", f"spec.services[{i}].{field}[{j}]", f"{svc.name!r} "
                               f"{field} unknown topic {name!r}")
    first: dict[str, int] = {}
    for i, name in enumerate(d.topic_names):
        first.setdefault(name, i)
    for name, i in first.items():
        yield from _topic_use(d, name, f"spec.topics[{i}]")
    yield from _topic_services(d)


def _topic_use(d: LaneDesign, topic: str, p: str) -> Iterator[Finding]:
    """A topic's producers and consumers: none at all, or only one side."""
    producers, consumers = d.producers(topic), d.consumers(topic)
    if not producers and not consumers:
        yield make("LD419", p, f"no service publishes to or consumes topic {topic!r}")
    elif not consumers:
        yield make("LD412", p, f"{', '.join(producers)} publish(es) to {topic!r} but no "
                   "service consumes it: the request's path ends there")
    elif not producers:
        yield make("LD413", p, f"{', '.join(consumers)} consume(s) {topic!r} but no service "
                   "publishes to it: they never receive a message")
    else:
        yield from _legal_deployment(d, topic, producers, consumers)
    if d.topic(topic).kind == "queue" and len(consumers) > 1:  # type: ignore[union-attr]
        yield make("LD739", f"{p}.kind", f"queue {topic!r} is consumed by "
                   f"{', '.join(consumers)}: on a queue they compete for each message, but "
                   "the simulator delivers every message to each of them")


def _legal_deployment(d: LaneDesign, topic: str, producers: tuple[str, ...],
                      consumers: tuple[str, ...]) -> Iterator[Finding]:
    """ASM's rule, lane by lane: a topic's producer and consumer both present or both absent
    (the baseline holds every service, so it is never the one to blame)."""
    strict = d.mode == "strict"
    for i, lane in enumerate(d.lanes):
        if lane.name == d.baseline:
            continue
        p = f"spec.lanes[{i}].services"
        made = [s for s in producers if lane.holds(s)]
        taken = [s for s in consumers if lane.holds(s)]
        if made:
            for consumer in consumers:
                if lane.holds(consumer):
                    continue
                if strict:
                    yield make("LD415", p, f"strict lane {lane.name!r} holds {', '.join(made)} "
                               f"(publishes to {topic!r}) but not its consumer {consumer!r}: "
                               "nothing takes that lane's messages")
                else:
                    taker = d.fallback_for(consumer)
                    yield make("LD414", p, f"lane {lane.name!r} holds {', '.join(made)} "
                               f"(publishes to {topic!r}) but not its consumer {consumer!r}: "
                               f"its messages go to {consumer}@{taker} only if that consumer "
                               f"also takes filter key {lane.name!r}")
        elif taken:
            yield make("LD416", p, f"lane {lane.name!r} holds {', '.join(taken)} (consumes "
                       f"{topic!r}) but none of its producers ({', '.join(producers)}): its "
                       "consumer never receives a message, since the fallback producer writes "
                       "its own lane as the filter key")


def _topic_services(d: LaneDesign) -> Iterator[Finding]:
    """Per service: a consumer that does not filter; a producer that drops the context."""
    consumed = {t for s in d.services for t in s.consumes}
    for i, svc in enumerate(d.services):
        if svc.consumes and not svc.filters_by_lane:
            lanes = [ln.name for ln in d.lanes if ln.holds(svc.name)]
            if len(lanes) > 1:
                yield make("LD417", f"spec.services[{i}].filtersByLane", f"{svc.name!r} "
                           f"does not filter by lane, and lanes {', '.join(lanes)} hold it: "
                           f"its versions compete for every message of "
                           f"{', '.join(svc.consumes)}")
        published = [t for t in svc.publishes if t in consumed]
        if published and not d.keeps_context(svc.name):
            yield make("LD418", f"spec.services[{i}].publishes", f"{svc.name!r} "
                       f"{d.context_loss(svc.name)}: its messages on {', '.join(published)} "
                       "carry no lane tag, so the baseline's consumer takes them")


_CHECKS = (_names, _selectors, _ports, _headers, _lanes, _fallbacks, _calls, _topics,
           _ingress, _team_routing, _data_plane)
