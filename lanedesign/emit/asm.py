"""The Alibaba Cloud ASM target: one ASMSwimLaneGroup plus one ASMSwimLane per lane.

Field names follow ASM's public Go types (``asm-lanes.md`` §1); both kinds are cluster-scoped.
ASM builds the DestinationRules, VirtualServices and TrafficLabels itself, so the emitter only
states the group. Anything ASM cannot express is refused with a coded finding
(``asm_problems``) rather than emitted in a form that routes differently from the simulator;
``docs/asm.md`` gives the reasons. ``import_asm`` reads such YAML back (``asm_import``).
"""

from __future__ import annotations

from collections.abc import Iterator
from copy import deepcopy
from typing import Any

from ..fields import Loaded
from ..findings import Finding, make
from ..matching import disjoint
from ..model import (
    IngressRule,
    Lane,
    LaneDesign,
    RequestMatch,
    RouteDestination,
    Service,
    StringMatch,
)
from .asm_api import (
    API_VERSION,
    BAGGAGE,
    GATEWAY_TYPE,
    GROUP_KIND,
    GROUP_LABEL,
    LANE_KIND,
    RULE_BASED,
    WEIGHTED,
)
from .asm_import import read_asm, read_asm_objects
from .common import (
    TargetError,
    managed_labels,
    object_name,
    request_match_dict,
    service_host,
)
from .target import ReadResult, Target

__all__ = ["API_VERSION", "BAGGAGE", "GATEWAY_TYPE", "GROUP_KIND", "GROUP_LABEL", "LANE_KIND",
           "RULE_BASED", "TARGET", "WEIGHTED", "asm_problems", "emit_asm", "import_asm"]


def emit_asm(design: LaneDesign) -> list[dict]:
    """The group, then its lanes in design order; ``TargetError`` if ASM cannot express it."""
    problems = asm_problems(design)
    if problems:
        raise TargetError(problems[0])
    rules = _asm_rules(design)
    return [_group(design), *(_lane(design, lane, rules) for lane in design.lanes)]


def import_asm(text: str | bytes, group: str | None = None) -> Loaded:
    """A design from ASMSwimLaneGroup/ASMSwimLane YAML; problems become findings."""
    return read_asm(text, group)


def read_objects(objects: list[dict]) -> ReadResult:
    """The design behind one group's ASMSwimLaneGroup/ASMSwimLane objects (from a cluster)."""
    loaded = read_asm_objects(objects)
    return ReadResult(loaded.design, (), tuple(loaded.findings))


# -- what ASM cannot express -------------------------------------------------------------
def asm_problems(design: LaneDesign) -> list[Finding]:
    """Every reason the ASM target cannot express ``design`` faithfully (empty: it can)."""
    return [*_pass_through_problems(design), *_strict_context_problems(design),
            *_match_problems(design), *_ingress_order_problems(design),
            *_team_routing_problems(design), *_ambient_problems(design)]


def _ambient_problems(d: LaneDesign) -> Iterator[Finding]:
    # ASM has an ambient mode, but documents its lanes for sidecars only: a warning, not a
    # refusal (every ASM lane page lives under help/.../asm/sidecar/)
    if d.ambient:
        yield make("LD643", "spec.dataPlane", "ASM documents ASMSwimLaneGroup lanes for "
                   "sidecars; in its ambient mode they are untested")


TARGET = Target(
    name="asm",
    label="Alibaba Cloud ASM",
    kinds=((API_VERSION, GROUP_KIND), (API_VERSION, LANE_KIND)),
    # the lanes carry the ingress rules and weights; the group only lists services
    routing_kinds=frozenset({LANE_KIND}),
    install_hint={"istio.alibabacloud.com": "The ASMSwimLaneGroup/ASMSwimLane CRDs come with "
                  "Alibaba Cloud Service Mesh: use the ASM control plane's kubeconfig, or "
                  "--target istio on a plain Istio cluster."},
    problems=asm_problems,
    emit=emit_asm,
    read=read_objects,
)


def _pass_through_problems(d: LaneDesign) -> Iterator[Finding]:
    pt = d.pass_through
    # ASMHeaderPropagation carries the route header in baggage under the header's own name.
    if pt.method == "baggage" and d.baggage_key != d.route_header:
        yield make("LD612", "spec.passThrough.baggageKey", f"baggage key {d.baggage_key!r} "
                   f"differs from the route header {d.route_header!r}; ASM carries the route "
                   "header in baggage under its own name")
    # ASM derives the method from traceHeader; `baggage` there always means the baggage method.
    if pt.method == "traceId" and pt.trace_header == BAGGAGE:
        yield make("LD615", "spec.passThrough.traceHeader", "traceHeader `baggage` would make "
                   "ASM use the baggage method, not trace-id memory")


def _strict_context_problems(d: LaneDesign) -> Iterator[Finding]:
    # In loose mode a service that drops the context is the app's doing: the emitted objects
    # are the same either way, and ASM, like the simulator, loses the lane on those calls.
    # In strict mode ASM keeps the lane from each pod's own label (asm-lanes.md §2), so the
    # simulator's "its calls go to the baseline" would not happen.
    if d.mode != "strict":
        return
    for i, svc in enumerate(d.services):
        if not d.keeps_context(svc.name) and svc.all_calls:
            field = "propagates" if not svc.propagates else "forwards"
            yield make("LD613", f"spec.services[{i}].{field}", f"{svc.name!r} drops the "
                       "lane context, but in ASM strict mode its calls stay in the lane")


def _team_routing_problems(d: LaneDesign) -> Iterator[Finding]:
    """What of a team's routing ASM has no place for (docs/asm.md, "A team's routing").

    The group's per-service ``httpRoutePatch`` and ``trafficPolicyPatch`` carry the routing's
    ``settings`` and ``trafficPolicy``. ASM generates the routes and subsets from the lanes, so
    the team's match routes, a default other than the baseline's subset, the team's other
    subsets and a subset's own policy have none.
    """
    for i, svc in enumerate(d.services):
        routing = svc.routing
        if routing is None:
            continue
        p = f"spec.services[{i}].routing"
        for j, route in enumerate(routing.routes):
            label = repr(route.name) if route.name else f"{j}"
            to = ", ".join(dest.subset for dest in route.destinations)
            yield make("LD948", f"{p}.routes[{j}]", f"ASM has no place for the team route {label} "
                       f"of {svc.name} (to {to}): the VirtualService ASM generates holds the "
                       "lanes' routes only, and httpRoutePatch changes every route alike")
        if routing.default and routing.default != (RouteDestination(d.baseline),):
            to = ", ".join(_show_destination(dest) for dest in routing.default)
            yield make("LD948", f"{p}.default", f"the team default of {svc.name} sends the "
                       f"baseline's traffic to {to}; ASM sends it to the baseline's subset "
                       f"({d.baseline}) and has no place for another default")
        yield from _team_subset_problems(d, svc, p)


def _team_subset_problems(d: LaneDesign, svc: Service, path: str) -> Iterator[Finding]:
    assert svc.routing is not None
    lanes = {lane.name for lane in d.lanes if lane.holds(svc.name)}
    for k, subset in enumerate(svc.routing.subsets):
        # a team subset named after a lane holding the service is that lane's subset (LD941
        # checks the labels agree), which ASM generates itself
        if subset.name not in lanes:
            yield make("LD948", f"{path}.subsets[{k}]", f"ASM generates one subset per lane "
                       f"holding {svc.name}; the team's subset {subset.name!r} has no place")
        elif subset.traffic_policy:
            yield make("LD948", f"{path}.subsets[{k}].trafficPolicy", f"the team's subset "
                       f"{subset.name!r} of {svc.name} has a traffic policy of its own; ASM's "
                       "trafficPolicyPatch is the whole host's, so it has no place")


def _show_destination(dest: RouteDestination) -> str:
    return dest.subset if dest.weight is None else f"{dest.subset} ({dest.weight})"


def _match_problems(d: LaneDesign) -> Iterator[Finding]:
    ing = d.ingress
    if ing is None:
        return
    if ing.strategy == "weighted":
        matches = [("spec.ingress.match", ing.match)]
    else:
        matches = [(f"spec.ingress.rules[{i}].match", r.match)
                   for i, r in enumerate(d.effective_rules)]
    for path, match in matches:
        for where, m in _conditions(match):
            if not m.value:
                yield make("LD614", f"{path}.{where}", f"the {where} match has an empty "
                           f"{m.kind} value, which ASM drops")


def _conditions(match: RequestMatch | None) -> list[tuple[str, StringMatch]]:
    if match is None:
        return []
    uri = [("uri", match.uri)] if match.uri is not None else []
    return uri + [(f"headers.{name}", m) for name, m in match.headers]


def _ingress_order_problems(d: LaneDesign) -> Iterator[Finding]:
    """Refuse rules whose outcome would depend on the order ASM gives the lanes.

    ASM keeps each lane's rules in that lane, in order, and puts the lanes in an order it does
    not document. The simulator's first match is therefore reproduced exactly when no request
    can match rules of two different lanes: then the lane order cannot matter.
    """
    ing = d.ingress
    if ing is None:
        return
    if ing.strategy == "weighted":
        # unmatched weighted requests go to the default; ASM has no route for them
        if ing.default is not None and not _is_catch_all(ing.match):
            yield make("LD610", "spec.ingress.default", f"requests outside the weighted match "
                       f"would go to lane {ing.default!r}; in ASM they get 404")
        return
    rules = d.effective_rules
    if _live_default(d) is not None:
        other = next((r.lane for r in rules if r.lane != ing.default), None)
        if other is not None:
            yield make("LD610", "spec.ingress.default", f"unmatched requests go to lane "
                       f"{ing.default!r}; in ASM a catch-all rule for it could come before the "
                       f"rules of lane {other!r}")
            return
    for j, later in enumerate(rules):
        for i in range(j):
            earlier = rules[i]
            if earlier.lane != later.lane and not disjoint(earlier.match, later.match):
                yield make("LD611", f"spec.ingress.rules[{j}]", f"rule {j} (lane "
                           f"{later.lane!r}) and rule {i} (lane {earlier.lane!r}) can match "
                           "the same request; ASM may try either lane first")
                break


def _is_catch_all(match: RequestMatch | None) -> bool:
    return match is None or match.is_catch_all


def _live_default(d: LaneDesign) -> str | None:
    """The default lane if some request can reach it (no rule matches everything)."""
    ing = d.ingress
    if ing is None or ing.default is None:
        return None
    return None if any(_is_catch_all(r.match) for r in d.effective_rules) else ing.default


def _asm_rules(design: LaneDesign) -> tuple[IngressRule, ...]:
    """The rule-based ingress as ASM holds it: the effective rules, then the default lane.

    Only call on designs without ``asm_problems``: a live default then has no rule of
    another lane to race, so a catch-all rule in its lane is exactly "unmatched requests".
    """
    rules = tuple(design.effective_rules)
    default = _live_default(design)
    return rules if default is None else (*rules, IngressRule(default, None))


# -- the objects --------------------------------------------------------------------------
def _group(design: LaneDesign) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if design.ingress is not None:
        spec["ingress"] = _group_ingress(design)
    spec["isPermissive"] = design.mode == "loose"
    # Strict mode has no fallback and keeps lanes by pod labels: the permissive settings
    # (route header, trace header, fallback targets) mean nothing there and are left out.
    if design.mode == "loose":
        spec["permissiveModeConfiguration"] = _permissive(design)
    spec["services"] = [_group_service(design, name) for name in design.service_names]
    return {
        "apiVersion": API_VERSION,
        "kind": GROUP_KIND,
        "metadata": {"name": design.name, "labels": managed_labels(design)},
        "spec": spec,
    }


def _group_ingress(design: LaneDesign) -> dict[str, Any]:
    ing = design.ingress
    assert ing is not None
    gateway = {"name": ing.gateway_name}
    if ing.gateway_namespace:
        gateway["namespace"] = ing.gateway_namespace
    gateway["type"] = GATEWAY_TYPE
    if ing.strategy != "weighted":
        return {"gateway": gateway, "ingressRouting": {"ingressRoutingStrategy": RULE_BASED}}
    rule = {"hosts": list(ing.hosts), "requestMatches": [_match(ing.match)]}
    return {"gateway": gateway, "ingressRouting": {"ingressRoutingStrategy": WEIGHTED,
                                                   "weightedRoutingRule": rule}}


def _permissive(design: LaneDesign) -> dict[str, Any]:
    config: dict[str, Any] = {
        "traceHeader": _trace_header(design),
        "routeHeader": design.route_header,
        "fallbackTarget": design.baseline,
    }
    if design.fallback:  # ASM >= 1.21
        config["serviceLevelFallbackTarget"] = {
            f"{design.namespace_of(svc)}/{svc}": lane for svc, lane in design.fallback}
    return config


def _trace_header(design: LaneDesign) -> str:
    """ASM's ``traceHeader``: it names the pass-through method (``asm-lanes.md`` §1.2)."""
    method = design.pass_through.method
    if method == "baggage":
        return BAGGAGE
    if method == "header":
        return design.route_header
    return design.pass_through.trace_header or ""


def _service_ref(design: LaneDesign, name: str) -> dict[str, str]:
    return {"name": name, "namespace": design.namespace_of(name)}


def _group_service(design: LaneDesign, name: str) -> dict[str, Any]:
    """The group's reference to a service, with its team's settings and traffic policy as
    ASM's per-service patches (in the Go type's field order). ASM merges them into the
    DestinationRule and every HTTP route it generates for the service (docs/asm.md)."""
    ref: dict[str, Any] = _service_ref(design, name)
    service = design.service(name)
    routing = service.routing if service is not None else None
    if routing is not None and routing.traffic_policy:
        ref["trafficPolicyPatch"] = deepcopy(dict(routing.traffic_policy))
    if routing is not None and routing.settings:
        ref["httpRoutePatch"] = deepcopy(dict(routing.settings))
    return ref


def _lane(design: LaneDesign, lane: Lane, rules: tuple[IngressRule, ...]) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "labelSelector": dict(lane.labels),
        "services": [_service_ref(design, name) for name in lane.services],
    }
    ing = design.ingress
    if ing is not None and ing.strategy == "weighted":
        weight = ing.weight_map.get(lane.name)
        if weight is not None:
            spec["ingressWeight"] = {"destination": _destination(design), "weight": weight}
    elif ing is not None:
        own = [r for r in rules if r.lane == lane.name]
        if own:
            spec["ingressRules"] = [_rule(design, lane.name, k, r) for k, r in enumerate(own)]
    return {
        "apiVersion": API_VERSION,
        "kind": LANE_KIND,
        "metadata": {"name": lane.name,
                     "labels": {GROUP_LABEL: design.name, **managed_labels(design)}},
        "spec": spec,
    }


def _rule(design: LaneDesign, lane: str, index: int, rule: IngressRule) -> dict[str, Any]:
    ing = design.ingress
    assert ing is not None
    # rule names are per lane (the design's rules have none): r-s2, r-s2-2, ...
    name = object_name("r", lane) if index == 0 else object_name("r", lane, str(index + 1))
    return {
        "name": name,
        "online": True,
        "hosts": list(ing.hosts),
        "match": _match(rule.match),
        "route": {"destination": _destination(design)},
    }


def _match(match: RequestMatch | None) -> dict[str, dict]:
    # A match-everything rule is spelled `uri: {prefix: /}`: an empty match would rely on how
    # ASM reads Go zero values, which it does not document.
    return (request_match_dict(match) if match is not None else {}) or {"uri": {"prefix": "/"}}


def _destination(design: LaneDesign) -> dict[str, Any]:
    """The entry service; the lane's subset is implied by the lane holding the rule."""
    ing = design.ingress
    assert ing is not None
    out: dict[str, Any] = {"host": service_host(design, ing.entry)}
    entry = design.service(ing.entry)
    if entry is not None and entry.routed_port is not None:
        out["portNum"] = entry.routed_port
    return out
