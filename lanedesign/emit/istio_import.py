"""Reading lanedesign's Istio objects back into a lane design (the inverse of ``istio.py``).

Services, lanes and their labels, the route header, baseline, fallbacks and ingress come from
the DestinationRules, VirtualServices and EnvoyFilters ``emit_istio`` writes. Calls between
services are not in the mesh config; a note says so.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from ..model import (
    DEFAULT_ROUTE_HEADER,
    Ingress,
    IngressRule,
    Lane,
    LaneDesign,
    PassThrough,
    RequestMatch,
    Service,
    StringMatch,
)
from .common import GROUP_LABEL
from .target import ReadResult

# the key line of the Lua baggage filter emit.istio writes (keys are HTTP tokens: no quotes)
_LUA_BAGGAGE_KEY = re.compile(r'^local BAGGAGE_KEY = "([^"\\]+)"$', re.M)


def read_objects(objects: list[dict]) -> ReadResult:
    """The design behind one lane group's Istio objects; named after the group's label."""
    groups = Counter(((o.get("metadata") or {}).get("labels") or {}).get(GROUP_LABEL)
                     for o in objects)
    groups.pop(None, None)
    group = groups.most_common(1)[0][0] if groups else "imported"
    return design_from_istio(objects, group)


def design_from_istio(objects: Sequence[dict], group: str) -> ReadResult:
    """Services, lanes and their labels, route header, baseline, fallbacks and ingress
    from lanedesign's DestinationRules, VirtualServices and EnvoyFilters."""
    notes = ["calls between services cannot be read from the mesh config; add them by hand"]
    services: dict[str, tuple[str, int | None]] = {}
    lane_labels: dict[str, dict] = {}
    members: dict[str, list[str]] = {}
    for dr in _kind(objects, "DestinationRule"):
        svc, ns = _service_of(dr["spec"].get("host", ""), dr["metadata"].get("namespace"))
        services.setdefault(svc, (ns, None))
        for subset in dr["spec"].get("subsets") or []:
            lane, labels = subset.get("name", ""), subset.get("labels") or {}
            if lane_labels.setdefault(lane, labels) != labels:
                notes.append(f"lane {lane!r} selects different labels in {svc}; kept "
                             f"{lane_labels[lane]}")
            members.setdefault(lane, []).append(svc)
    route_header, defaults, redirects = None, Counter(), {}
    vss = _kind(objects, "VirtualService")
    for vs in (v for v in vss if _is_mesh(v)):
        svc, ns = _service_of((vs["spec"].get("hosts") or [""])[0],
                              vs["metadata"].get("namespace"))
        for route in vs["spec"].get("http") or []:
            dest = ((route.get("route") or [{}])[0]).get("destination") or {}
            port = (dest.get("port") or {}).get("number")
            if port and svc in services:
                services[svc] = (services[svc][0], port)
            for match in route.get("match") or []:
                for header, string_match in (match.get("headers") or {}).items():
                    if "exact" in string_match:
                        route_header = route_header or header
                        redirects[(svc, string_match["exact"])] = dest.get("subset")
            if not route.get("match"):
                defaults[dest.get("subset")] += 1
    complete = [ln for ln, svcs in members.items() if set(svcs) == set(services)]
    baseline = defaults.most_common(1)[0][0] if defaults else (complete or [""])[0]
    # a lane lacking the service routes to its fallback target; only overrides are kept
    fallback = {svc: target for (svc, lane), target in redirects.items()
                if target not in (lane, baseline)}
    gateways = [v for v in vss if not _is_mesh(v)]
    baggage_key, ingress = None, None
    if gateways:
        if len(gateways) > 1:
            notes.append("several gateway VirtualServices; the ingress comes from the first")
        route_header, baggage_key, ingress = _ingress(gateways[0], route_header)
    filters = _kind(objects, "EnvoyFilter")
    method = "baggage" if filters else "header"
    baggage_key = next(filter(None, map(_filter_baggage_key, filters)), baggage_key)
    header = route_header or DEFAULT_ROUTE_HEADER
    pass_through = PassThrough(method, header if method == "header" else None,
                               baggage_key if baggage_key not in (None, header) else None)
    counts = Counter(ns for ns, _ in services.values())
    namespace = counts.most_common(1)[0][0] if counts else "default"
    lanes = tuple(Lane(ln, tuple(lane_labels[ln].items()), tuple(members[ln]))
                  for ln in members)
    design = LaneDesign(
        name=group, namespace=namespace, baseline=baseline or "", route_header=header,
        services=tuple(Service(s, namespace=None if ns == namespace else ns, port=port)
                       for s, (ns, port) in services.items()),
        lanes=lanes, pass_through=pass_through, fallback=tuple(fallback.items()),
        ingress=ingress,
        mode="strict" if all(set(ln.services) == set(services) for ln in lanes) else "loose",
    )
    return ReadResult(design, tuple(notes))


def _filter_baggage_key(envoy_filter: dict) -> str | None:
    """The baggage key the emitted Lua filter reads (``local BAGGAGE_KEY = "..."``)."""
    for patch in envoy_filter.get("spec", {}).get("configPatches") or []:
        value = (patch.get("patch") or {}).get("value") or {}
        source = (((value.get("typed_config") or {}).get("default_source_code") or {})
                  .get("inline_string") or "")
        found = _LUA_BAGGAGE_KEY.search(source)
        if found:
            return found.group(1)
    return None


def _kind(objects: Sequence[dict], kind: str) -> list[dict]:
    return [o for o in objects if o.get("kind") == kind]


def _is_mesh(vs: dict) -> bool:
    gateways = vs["spec"].get("gateways") or []
    return not gateways or "mesh" in gateways


def _service_of(host: str, namespace: str | None) -> tuple[str, str]:
    """``svc.ns.svc.cluster.local`` (or ``svc.ns``, ``svc``) -> (service, namespace)."""
    parts = host.split(".")
    return parts[0], parts[1] if len(parts) > 1 else (namespace or "default")


def _ingress(vs: dict, route_header: str | None,
             ) -> tuple[str | None, str | None, Ingress]:
    """(route header, baggage key, ingress) from a gateway-bound VirtualService."""
    gateway = (vs["spec"].get("gateways") or ["ingressgateway"])[0]
    if "/" not in gateway:
        gateway = f"{vs['metadata'].get('namespace', 'istio-system')}/{gateway}"
    rules, weights, group_match, default, entry, baggage_key = [], {}, None, None, "", None
    for route in vs["spec"].get("http") or []:
        lanes = []  # (lane, weight) per destination
        for dest in route.get("route") or []:
            request = ((dest.get("headers") or route.get("headers") or {}).get("request")
                       or {})
            sets = request.get("set") or {}
            route_header = route_header or next(iter(sets), None)
            destination = dest.get("destination") or {}
            lane = sets.get(route_header) or destination.get("subset")
            lanes.append((_unescape(lane), dest.get("weight")))
            for member in str((request.get("add") or {}).get("baggage", "")).split(","):
                if "=" in member:
                    baggage_key = _unescape(member.split("=", 1)[0].strip())
            entry = entry or destination.get("host", "").split(".")[0]
        matches = [_request_match(m) for m in route.get("match") or []]
        if len(lanes) > 1:
            weights = {lane: int(weight or 0) for lane, weight in lanes}
            group_match = matches[0] if matches else None
        elif lanes and matches:
            rules += [IngressRule(lanes[0][0], m) for m in matches]
        elif lanes:
            default = lanes[0][0]
    ingress = Ingress(gateway=gateway, hosts=tuple(vs["spec"].get("hosts") or ["*"]),
                      entry=entry, strategy="weighted" if weights else "rules",
                      rules=None if weights else tuple(rules), match=group_match,
                      weights=tuple(weights.items()), default=default)
    return route_header, baggage_key, ingress


def _unescape(value: str | None) -> str | None:
    """A header value as written for Envoy (``%`` doubled, since it starts a formatter)."""
    return value.replace("%%", "%") if value else value


def _request_match(match: dict) -> RequestMatch:
    def string_match(raw: dict) -> StringMatch | None:
        kind = next((k for k in ("exact", "prefix", "regex") if k in raw), None)
        return StringMatch(kind, raw[kind]) if kind else None

    uri = string_match(match["uri"]) if match.get("uri") else None
    headers = tuple((name, sm) for name, raw in (match.get("headers") or {}).items()
                    if (sm := string_match(raw)) is not None)
    return RequestMatch(uri=uri, headers=headers)
