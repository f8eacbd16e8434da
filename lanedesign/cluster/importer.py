"""Import a design from a running cluster.

Two sources: the workloads (Services and the pod-template labels of the Deployments behind
them, grouped into lanes by one label key), or the objects a lane group already owns
(Istio DestinationRules/VirtualServices, or ASM swimlanes via ``emit.asm.import_asm``).
Calls between services cannot be read from Kubernetes; they stay empty unless an existing
design supplies them. The functions that build designs take plain dicts, so they are
tested without a server.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from ..designfile import design_to_dict, dump_design
from ..findings import Finding
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
from ..names import is_dns1123_label
from ..validate import validate
from .client import Cluster
from .plan import GROUP_KINDS, comparable, owned_objects

# lane names people give their stable version; preferred as the baseline when several
# lanes hold every service
_BASELINE_NAMES = ("baseline", "base", "stable", "main", "prod", "production", "v1")
# the key line of the Lua baggage filter emit.istio writes (keys are HTTP tokens: no quotes)
_LUA_BAGGAGE_KEY = re.compile(r'^local BAGGAGE_KEY = "([^"\\]+)"$', re.M)


@dataclass(frozen=True)
class ImportResult:
    """A proposed design (``None`` when nothing could be read), what was assumed, findings."""

    design: LaneDesign | None
    notes: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"design": design_to_dict(self.design) if self.design else None,
                "notes": list(self.notes), "findings": [f.to_dict() for f in self.findings]}

    def yaml(self) -> str:
        return dump_design(self.design) if self.design else ""

    def summary(self) -> str:
        d = self.design
        if d is None:
            lines = ["nothing to import"]
        else:
            lines = [f"design {d.name!r}: {len(d.services)} service(s), {len(d.lanes)} "
                     f"lane(s), baseline {d.baseline or '(none)'}, {d.mode} mode"]
        lines += [f"  note: {n}" for n in self.notes]
        lines += [f"  {f}" for f in self.findings]
        return "\n".join(lines)


def _result(design: LaneDesign | None, notes: Iterable[str]) -> ImportResult:
    findings = tuple(validate(design)) if design is not None else ()
    return ImportResult(design, tuple(notes), findings)


# -- from workloads --------------------------------------------------------------------------
def import_design(cluster: Cluster, namespaces: Sequence[str], label_key: str = "version",
                  name: str | None = None, baseline: str | None = None,
                  existing: LaneDesign | None = None) -> ImportResult:
    """Propose a design from the Services and Deployments in ``namespaces``."""
    found = cluster.require([("v1", "Service"), ("apps/v1", "Deployment")])
    services, deployments = [], []
    for namespace in namespaces:
        services += cluster.list(found[("v1", "Service")], namespace)
        deployments += cluster.list(found[("apps/v1", "Deployment")], namespace)
    return design_from_workloads(services, deployments, label_key,
                                 name or _dns_name(namespaces[0] if namespaces else "imported"),
                                 baseline, existing)


def design_from_workloads(services: Sequence[dict], deployments: Sequence[dict],
                          label_key: str = "version", name: str = "imported",
                          baseline: str | None = None, existing: LaneDesign | None = None,
                          ) -> ImportResult:
    """Lanes from the ``label_key`` values of the pods behind each Service."""
    notes: list[str] = []
    values_of: dict[tuple[str, str], list[str]] = {}  # (namespace, service) -> label values
    ports: dict[tuple[str, str], int | None] = {}
    for svc in services:
        meta, spec = svc.get("metadata") or {}, svc.get("spec") or {}
        key = (meta.get("namespace") or "default", meta.get("name", ""))
        selector = spec.get("selector") or {}
        if not selector:
            notes.append(f"service {key[0]}/{key[1]} has no pod selector; left out")
            continue
        values = set()
        for dep in deployments:
            dmeta = dep.get("metadata") or {}
            labels = (((dep.get("spec") or {}).get("template") or {}).get("metadata")
                      or {}).get("labels") or {}
            if dmeta.get("namespace", key[0]) != key[0] or \
                    any(labels.get(k) != v for k, v in selector.items()):
                continue
            if label_key in labels:
                values.add(str(labels[label_key]))
            else:
                notes.append(f"deployment {key[0]}/{dmeta.get('name')} behind service "
                             f"{key[1]} has no pod label {label_key!r}; in no lane")
        if not values:
            notes.append(f"service {key[0]}/{key[1]}: no Deployment with pod label "
                         f"{label_key!r} behind it; left out")
            continue
        values_of[key] = sorted(values)
        port_list = spec.get("ports") or [{}]
        ports[key] = port_list[0].get("port")
    if not values_of:
        notes.append(f"no Service has Deployments with pod label {label_key!r} behind it")
        return ImportResult(None, tuple(notes))
    lane_names = _lane_names(sorted({v for vs in values_of.values() for v in vs}), notes)
    namespace = Counter(ns for ns, _ in values_of).most_common(1)[0][0]
    svc_names = [svc for _, svc in values_of]
    if len(set(svc_names)) != len(svc_names):
        notes.append("the same service name in several namespaces; the design needs unique "
                     "names, rename one")
    lanes = tuple(
        Lane(lane, ((label_key, value),),
             tuple(svc for (_, svc), vs in values_of.items() if value in vs))
        for value, lane in lane_names.items()
    )
    design = LaneDesign(
        name=name, namespace=namespace,
        services=tuple(Service(svc, namespace=None if ns == namespace else ns,
                               port=ports[(ns, svc)]) for ns, svc in values_of),
        lanes=lanes,
        mode="strict" if all(len(ln.services) == len(values_of) for ln in lanes) else "loose",
    )
    design = design.with_(baseline=_pick_baseline(design, baseline, notes))
    notes.append("calls between services cannot be read from Kubernetes"
                 + ("; taken from the existing design" if existing else "; add them by hand"))
    return _result(_with_existing(design, existing) if existing else design, notes)


def _lane_names(values: list[str], notes: list[str]) -> dict[str, str]:
    """Label value -> a DNS-1123 lane name (unique)."""
    names: dict[str, str] = {}
    for value in values:
        lane = _dns_name(value)
        base, n = lane, 2
        while lane in names.values():
            lane, n = f"{base[:60]}-{n}", n + 1
        if lane != value:
            notes.append(f"label value {value!r} became lane name {lane!r}")
        names[value] = lane
    return names


def _dns_name(text: str) -> str:
    name = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:63].strip("-")
    return name if is_dns1123_label(name) else "lane"


def _pick_baseline(design: LaneDesign, wanted: str | None, notes: list[str]) -> str:
    complete = [ln.name for ln in design.lanes if len(ln.services) == len(design.services)]
    if wanted:
        if wanted not in complete:
            notes.append(f"baseline {wanted!r} is not a lane holding every service")
        return wanted
    if not complete:
        notes.append("no lane holds every service, so there is no baseline; deploy one "
                     "version of every service with the same label value")
        return ""
    chosen = next((n for n in _BASELINE_NAMES if n in complete), complete[0])
    if len(complete) > 1:
        notes.append(f"lanes {', '.join(complete)} hold every service; baseline {chosen!r} "
                     "chosen (pass --baseline to choose)")
    return chosen


def _with_existing(design: LaneDesign, existing: LaneDesign) -> LaneDesign:
    """Take what Kubernetes cannot tell (calls, headers, ingress) from ``existing``."""
    names = set(design.service_names)
    for svc in existing.services:
        if svc.name in names:
            design = design.with_calls(svc.name, [c for c in svc.calls if c in names])
    ingress = existing.ingress if existing.ingress and existing.ingress.entry in names else None
    lanes = set(design.lane_names)
    fallback = tuple((s, t) for s, t in existing.fallback if s in names and t in lanes)
    return design.with_(route_header=existing.route_header,
                        pass_through=existing.pass_through, ingress=ingress,
                        fallback=fallback)


# -- from the objects a lane group owns -------------------------------------------------------
def import_owned(cluster: Cluster, group: str) -> ImportResult:
    """The design behind the Istio or ASM objects lane group ``group`` owns in the cluster."""
    owned = owned_objects(cluster, group, GROUP_KINDS)
    asm = [o for o in owned if o["apiVersion"].startswith("istio.alibabacloud.com/")]
    if asm:
        from ..emit.asm import import_asm

        loaded = import_asm(yaml.safe_dump_all([comparable(o) for o in asm], sort_keys=False),
                            group)
        notes = [] if not owned[len(asm):] else ["Istio objects of the group were ignored"]
        return ImportResult(loaded.design, tuple(notes), tuple(loaded.findings))
    if not owned:
        return ImportResult(None, (f"the cluster holds no objects of lane group {group!r}",))
    return design_from_istio(owned, group)


def design_from_istio(objects: Sequence[dict], group: str) -> ImportResult:
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
    return _result(design, notes)


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
