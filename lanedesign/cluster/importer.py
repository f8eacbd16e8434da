"""Import a design from a running cluster.

Two sources: the workloads (the app's Services, with their selectors and ports, and the
pod-template labels of the Deployments behind them, grouped into lanes by one label key), or
the objects a lane group already owns (read back by the target that makes them:
``Target.read`` of the registry). Calls are inferred from the Service names in the
workloads' environment (``workloads.py``), or taken from an existing design. The functions
that build designs take plain dicts, so they are tested without a server.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..designfile import design_to_dict, dump_design
from ..emit import istio_adopt, istio_import, registry
from ..emit.target import ReadResult, Target
from ..findings import Finding, make
from ..model import Ingress, Lane, LaneDesign, Service
from ..names import is_dns1123_label
from ..validate import validate
from . import ambient
from .client import Cluster, ObjectRef
from .errors import ApiError
from .plan import comparable, owned_objects
from .workloads import (
    AppService,
    Reading,
    Workload,
    calls_in_env,
    gateway_api_entry,
    is_managed,
    istio_entry,
    istio_gateways,
    read_services,
)

# lane names people give their stable version; preferred as the baseline when several
# lanes hold every service
_BASELINE_NAMES = ("baseline", "base", "stable", "main", "prod", "production", "v1")


@dataclass(frozen=True)
class ImportResult(ReadResult):
    """A proposed design (``None`` when nothing could be read), what was assumed, findings."""

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
# What may hold the ingress: Istio's Gateway and gateway-bound VirtualServices, the Gateway
# API's Gateways and HTTPRoutes; and a team's routing (VirtualServices, DestinationRules);
# each read only where the cluster serves the kind (first version served wins).
TEAM_KINDS: tuple[tuple[tuple[str, str], ...], ...] = (
    (("networking.istio.io/v1", "VirtualService"),
     ("networking.istio.io/v1beta1", "VirtualService")),
    (("networking.istio.io/v1", "DestinationRule"),
     ("networking.istio.io/v1beta1", "DestinationRule")),
)
MESH_KINDS: tuple[tuple[tuple[str, str], ...], ...] = (
    (("networking.istio.io/v1", "Gateway"), ("networking.istio.io/v1beta1", "Gateway")),
    *TEAM_KINDS,
    (("gateway.networking.k8s.io/v1", "Gateway"), ("gateway.networking.k8s.io/v1beta1",
                                                   "Gateway")),
    (("gateway.networking.k8s.io/v1", "HTTPRoute"), ("gateway.networking.k8s.io/v1beta1",
                                                     "HTTPRoute")),
)


def import_design(cluster: Cluster, namespaces: Sequence[str], label_key: str = "version",
                  name: str | None = None, baseline: str | None = None,
                  existing: LaneDesign | None = None, adopt: bool = False) -> ImportResult:
    """Propose a design from the Services and Deployments in ``namespaces`` (and the Gateways
    and routes there that show where requests enter); ``adopt``: with the team routing
    there read into its services (``design_from_workloads``)."""
    found = cluster.require([("v1", "Service"), ("apps/v1", "Deployment")])
    missing = [ns for ns in namespaces if _namespace_exists(cluster, ns) is False]
    findings = [make("LD920", f"namespace {ns}", f"namespace {ns!r} does not exist in the "
                     f"cluster{f' (context {cluster.context})' if cluster.context else ''}")
                for ns in missing]
    present = [ns for ns in namespaces if ns not in missing]
    if not present:
        return ImportResult(None, (), tuple(findings))
    services, deployments, mesh = [], [], []
    for namespace in present:
        services += cluster.list(found[("v1", "Service")], namespace)
        deployments += cluster.list(found[("apps/v1", "Deployment")], namespace)
    notes: list[str] = []
    for choices in MESH_KINDS:
        mesh += _list_served(cluster, choices, present, notes)
    result = design_from_workloads(services, deployments, label_key,
                                   name or _dns_name(present[0]), baseline, existing, mesh,
                                   present, adopt, _namespace_objects(cluster, present))
    return ImportResult(result.design, (*notes, *result.notes),
                        (*findings, *result.findings))


def _namespace_exists(cluster: Cluster, namespace: str) -> bool | None:
    """Whether ``namespace`` exists; None when the cluster does not say (no Namespace kind
    served, or no right to read it). A list in a missing namespace is merely empty."""
    if cluster.resource("v1", "Namespace") is None:
        return None
    try:
        return cluster.get(ObjectRef("Namespace", None, namespace, "v1")) is not None
    except ApiError as exc:
        if exc.status == 403:
            return None
        raise


def _namespace_objects(cluster: Cluster, namespaces: Sequence[str]) -> list[dict]:
    """The Namespaces (their labels say ambient and waypoint), where they can be read."""
    if cluster.resource("v1", "Namespace") is None:
        return []
    found = []
    for ns in namespaces:
        try:
            obj = cluster.get(ObjectRef("Namespace", None, ns, "v1"))
        except ApiError as exc:
            if exc.status != 403:
                raise
            obj = None
        if obj is not None:
            found.append(obj)
    return found


def _list_served(cluster: Cluster, choices: Sequence[tuple[str, str]],
                 namespaces: Sequence[str], notes: list[str]) -> list[dict]:
    for api_version, kind in choices:
        res = cluster.resource(api_version, kind)
        if res is None:
            continue
        try:
            return [o for ns in namespaces for o in cluster.list(res, ns)]
        except ApiError as exc:
            if exc.status != 403:
                raise
            notes.append(f"no right to list {api_version} {kind}; "
                         + ("a team's routing is not read" if kind == "DestinationRule"
                            else "its ingress is not read"))
            return []
    return []


def design_from_workloads(services: Sequence[dict], deployments: Sequence[dict],
                          label_key: str = "version", name: str = "imported",
                          baseline: str | None = None, existing: LaneDesign | None = None,
                          mesh: Sequence[dict] = (), namespaces: Sequence[str] = (),
                          adopt: bool = False,
                          namespace_objects: Sequence[dict] = ()) -> ImportResult:
    """Lanes from the ``label_key`` values of the pods behind each app Service; calls from
    the Service names in the workloads' environment; the ingress from ``mesh`` (Gateways,
    VirtualServices, HTTPRoutes) or a LoadBalancer/NodePort Service. The team's
    VirtualServices and DestinationRules in ``mesh`` are read into the services' routing
    when ``adopt`` (``team_routing``), else only named in a note. The ``namespace_objects``
    labels and the waypoints in ``mesh`` give ``dataPlane`` and ``waypoint`` (``ambient``)."""
    workloads = [Workload.of(d, "default") for d in deployments]
    reading = read_services(services, workloads)
    notes, findings = list(reading.notes), list(reading.findings)
    values_of: dict[tuple[str, str], list[str]] = {}
    behind = {svc.key: svc for svc in reading.services}
    for svc in reading.services:
        values = set()
        for w in svc.workloads:
            if label_key in w.labels:
                values.add(w.labels[label_key])
            else:
                notes.append(f"deployment {w.namespace}/{w.name} behind service {svc.name} "
                             f"has no pod label {label_key!r}; in no lane")
        if not values:
            notes.append(f"service {svc.namespace}/{svc.name}: no Deployment with pod label "
                         f"{label_key!r} behind it; left out")
            continue
        values_of[svc.key] = sorted(values)
    findings += _empty_namespaces(reading, namespaces or
                                  sorted({svc.namespace for svc in reading.services}))
    if not values_of:
        if any(svc.workloads for svc in reading.services):
            findings.append(_no_lane_label(reading, label_key))
        return ImportResult(None, tuple(notes), tuple(findings))
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
        services=tuple(_service(behind[key], namespace) for key in values_of),
        lanes=lanes)
    design = design.with_(baseline=_pick_baseline(design, baseline, notes))
    design, tcp_findings = _tcp_in_baseline_only(design)
    findings += tcp_findings
    design = design.with_(mode="strict" if all(len(ln.services) == len(design.services)
                                               for ln in design.lanes) else "loose")
    known = {key: key[1] for key in values_of}
    known.update({k: v for k, v in reading.aliases.items() if v in design.service_names})
    design = _calls_from_env(design, {key[1]: behind[key] for key in values_of}, known, notes)
    design = design.with_(ingress=_propose_ingress(design, reading, mesh, known, notes))
    if existing:
        design = _with_existing(design, existing)
        notes.append("calls, headers and ingress taken from the existing design where it "
                     "has them")
    elif not any(s.all_calls for s in design.services):
        notes.append("calls between services cannot be read from Kubernetes and no "
                     "workload's environment names another service; add them by hand (or "
                     "from traffic: lanedesign import-traffic)")
    design = team_routing(design, mesh, adopt, notes, findings)
    opted_out = {svc.name for key, svc in behind.items() if key in values_of and any(
        w.labels.get(ambient.DATAPLANE_MODE) == "none" for w in svc.workloads)}
    design, ambient_notes, ambient_findings = ambient.propose(design, namespace_objects,
                                                              services, mesh, opted_out)
    notes += ambient_notes
    findings += ambient_findings
    return ImportResult(design, tuple(notes), (*findings, *validate(design)))


def team_routing(design: LaneDesign, objects: Sequence[dict], adopt: bool,
                 notes: list[str], findings: list[Finding]) -> LaneDesign:
    """``design`` with its services' team routing read from the VirtualServices and
    DestinationRules among ``objects`` (``emit.istio_adopt.adopt``) when ``adopt``; without
    it the design is unchanged and a note says which services have such objects. Notes say
    which objects went into which service; a refused service keeps no routing, and the
    findings say why."""
    team = [o for o in objects if o.get("kind") in ("VirtualService", "DestinationRule")
            and not is_managed(o)]
    if not team:
        return design
    done = istio_adopt.adopt(design, team)
    order = {n: i for i, n in enumerate(design.service_names)}
    services = sorted({*done.adopted, *done.refused}, key=lambda n: order.get(n, len(order)))
    gateway = done.ingress or next((f.path for f in done.findings if f.code == "LD958"), None)
    if not adopt:
        if services or gateway:
            what = [f"{len(services)} service(s)" + (f" ({', '.join(services)})"
                                                    if services else "")]
            if gateway:
                what.append(f"the ingress (a gateway route: {gateway.split(':')[0]})")
            notes.append(f"team routing objects (VirtualServices, DestinationRules) exist for "
                         f"{' and '.join(what)}; not read: --adopt reads them into the "
                         "design (services[].routing, the ingress's paths)")
        return design
    for name in services:
        if name in done.adopted:
            notes.append(f"{name}: adopted {', '.join(done.adopted[name])} into its routing")
        else:
            notes.append(f"{name}: routing not adopted, {', '.join(done.refused[name])} "
                         "refused (the findings say why); its routing stays unset")
    if done.ingress:
        notes.append(f"ingress: adopted the gateway route {done.ingress}; each ingress "
                     "rule (and the default, as the last rule) tests the paths it serves")
    elif gateway:
        notes.append(f"ingress: the gateway route {gateway.split(':')[0]} refused (the "
                     "findings say why); the ingress is as proposed")
    findings.extend(done.findings)
    return done.design


def _service(svc: AppService, namespace: str) -> Service:
    """The design's service for an app Service: its selector unless ``app: <name>``, its
    ports, and the port lanes route (the first HTTP or gRPC one)."""
    selector = None if svc.selector == {"app": svc.name} else tuple(svc.selector.items())
    draft = Service(svc.name, ports=svc.ports)
    return Service(svc.name, namespace=None if svc.namespace == namespace else svc.namespace,
                   port=draft.routed_port, selector=selector, ports=svc.ports)


def _empty_namespaces(reading: Reading, namespaces: Sequence[str]) -> list[Finding]:
    held = {svc.namespace for svc in reading.services if svc.workloads}
    return [make("LD921", f"namespace {ns}", f"namespace {ns!r} holds no Service that "
                 "selects a Deployment") for ns in namespaces if ns not in held]


def _no_lane_label(reading: Reading, label_key: str) -> Finding:
    selector_keys = {k for svc in reading.services for k in svc.selector}
    keys = sorted({k for svc in reading.services for w in svc.workloads for k in w.labels}
                  - selector_keys)
    found = (f"their pods carry {', '.join(keys)} besides the Services' selectors" if keys
             else "their pods carry no label besides the Services' selectors")
    return make("LD924", f"--label-key {label_key}", f"no Deployment behind the Services has "
                f"pod label {label_key!r}; {found}",
                f"Label each Deployment's pod template with its version ({label_key}: v1, "
                f"and {label_key}: v2 on the new copies)"
                + (f", or pass --label-key with one of {', '.join(keys)}." if keys else "."))


def _tcp_in_baseline_only(design: LaneDesign) -> tuple[LaneDesign, list[Finding]]:
    """Take TCP-only services out of the lanes other than the baseline (LD213 would refuse
    them: no header picks a TCP service's version)."""
    findings = []
    for svc in design.services:
        if not svc.tcp_only or not design.baseline_lane() or \
                not design.baseline_lane().holds(svc.name):
            continue
        others = [ln.name for ln in design.lanes
                  if ln.name != design.baseline and ln.holds(svc.name)]
        if not others:
            continue
        protocols = ", ".join(sorted({p.protocol for p in svc.ports}))
        findings.append(make("LD923", f"service {svc.name}", f"{svc.name} has versions in "
                             f"lanes {', '.join(others)}, but its ports are {protocols} only: "
                             f"kept in the baseline {design.baseline!r} only"))
        design = design.with_(lanes=tuple(
            replace(ln, services=tuple(s for s in ln.services if s != svc.name))
            if ln.name in others else ln for ln in design.lanes))
    return design, findings


def _calls_from_env(design: LaneDesign, behind: dict[str, AppService],
                    known: dict[tuple[str, str], str], notes: list[str]) -> LaneDesign:
    """Each version's calls: the services its Deployments' environment names (a version is
    the workloads behind the service that carry a lane's labels). A version that calls
    other services than the baseline's gets calls of its own (``laneCalls``)."""
    for name, svc in behind.items():
        per_lane: dict[str, list[str]] = {}
        evidence: list[str] = []
        for lane in design.lanes:
            if not lane.holds(name):
                continue
            calls, seen = calls_in_env([w for w in svc.workloads if all(
                w.labels.get(k) == v for k, v in lane.labels)], name, known)
            per_lane[lane.name] = calls
            evidence += [e for e in seen if e not in evidence]
        if not evidence:
            continue
        default = per_lane.get(design.baseline, next(iter(per_lane.values())))
        design = design.with_calls(name, default)
        differ = [(lane, calls) for lane, calls in per_lane.items() if calls != default]
        for lane, calls in differ:
            design = design.with_lane_calls(name, lane, calls)
        text = ", ".join(dict.fromkeys(c for cs in per_lane.values() for c in cs))
        notes.append(f"calls of {name} inferred from its environment: {text} "
                     f"({'; '.join(evidence)})")
        if differ:
            notes.append(f"the versions of {name} call different services (inferred): "
                         + "; ".join(f"{lane} -> {', '.join(c) or 'nothing'}"
                                     for lane, c in per_lane.items()))
    return design


def _propose_ingress(design: LaneDesign, reading: Reading, mesh: Sequence[dict],
                     known: dict[tuple[str, str], str], notes: list[str]) -> Ingress:
    """Where requests enter: the service an existing gateway route sends to, else the one
    behind a LoadBalancer/NodePort Service, else the only service nothing calls; requests
    that name no lane go to the baseline."""
    found = istio_entry(mesh, known) or gateway_api_entry(mesh, known)
    entry, gateway, hosts = "", None, ("*",)
    if found:
        entry, gateway, hosts = found.entry, found.gateway, found.hosts
        notes.append(f"ingress entry {entry}: {found.why}")
    elif reading.entry_candidates:
        entry = reading.entry_candidates[0]
        notes.append(f"ingress entry {entry}: a LoadBalancer/NodePort Service leads to it")
    else:
        called = {c for s in design.services for c in s.all_calls}
        roots = [s for s in design.service_names if s not in called]
        if called and len(roots) == 1:
            entry = roots[0]
            notes.append(f"ingress entry {entry} (inferred): the only service no other calls")
        else:
            notes.append("no ingress entry found (no gateway route, LoadBalancer or NodePort "
                         "Service leads to a service); set spec.ingress.entry")
    if gateway is None:
        istio = istio_gateways(mesh)
        if istio:
            gateway = istio[0]
            notes.append(f"ingress gateway {gateway}: an Istio Gateway in the namespace"
                         + (f" (of {', '.join(istio)})" if len(istio) > 1 else ""))
    elif found and "Gateway API" in found.why:
        notes.append(f"gateway {gateway} is a Gateway API Gateway: right for --target "
                     "gateway-api; for --target istio or asm set spec.ingress.gateway to an "
                     "Istio Gateway")
    if gateway is None:
        gateway = Ingress().gateway
        notes.append(f"no Gateway found in the namespaces; the proposal names {gateway} "
                     "(check that it exists)")
    if design.baseline:
        notes.append(f"requests that name no lane go to the baseline {design.baseline!r} "
                     "(ingress.default)")
    return Ingress(gateway=gateway, hosts=hosts, entry=entry, default=design.baseline or None)


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
    """Take what Kubernetes cannot tell (calls, per-version calls, what each app forwards,
    headers, ingress) from ``existing``, for the services and lanes both have."""
    names, lanes = set(design.service_names), set(design.lane_names)
    for svc in existing.services:
        mine = design.service(svc.name)
        if mine is None:
            continue
        lane_calls = tuple((lane, tuple(c for c in calls if c in names))
                           for lane, calls in svc.lane_calls if lane in lanes)
        design = design.with_service(replace(
            mine, calls=tuple(c for c in svc.calls if c in names), lane_calls=lane_calls,
            propagates=svc.propagates, forwards=svc.forwards))
    ingress = existing.ingress if existing.ingress and existing.ingress.entry in names \
        else design.ingress
    fallback = tuple((s, t) for s, t in existing.fallback if s in names and t in lanes)
    return design.with_(route_header=existing.route_header,
                        pass_through=existing.pass_through, ingress=ingress,
                        fallback=fallback)


# -- from the objects a lane group owns -------------------------------------------------------
def import_owned(cluster: Cluster, group: str,
                 existing: LaneDesign | None = None, adopt: bool = False) -> ImportResult:
    """The design behind the objects lane group ``group`` owns, read by the target that made
    them (the readable target with the most objects among them); the ports, selectors and
    environment calls of its services from their Services and Deployments; what
    ``existing`` holds (calls, headers, ingress) over what was read; ``adopt``: the team
    routing still beside the group's objects read into its services (``team_routing``)."""
    owned = [comparable(o) for o in owned_objects(cluster, group, registry.group_kinds())]
    if not owned:
        return ImportResult(None, (f"the cluster holds no objects of lane group {group!r}",))
    chosen = _reader_of(owned)
    if chosen is None or chosen.read is None:
        return ImportResult(None, (f"no target reads the objects of lane group {group!r}",))
    mine = [o for o in owned if (o.get("apiVersion"), o.get("kind")) in chosen.kinds]
    read = chosen.read(mine)
    notes = list(read.notes)
    if len(mine) < len(owned):
        notes.append(f"objects of the group that {chosen.label} does not make were ignored")
    if read.design is None:
        return ImportResult(None, tuple(notes), read.findings)
    design = read.design
    services, deployments = _app_objects(cluster, design, notes)
    design = with_workloads(design, services, deployments, notes)
    if existing:
        design = _with_existing(design, existing)
        notes.append("calls, headers and ingress taken from the existing design where it "
                     "has them")
    findings = list(read.findings)
    team = _team_objects(cluster, design, notes)
    design = team_routing(design, team, adopt, notes, findings)
    return ImportResult(design, tuple(notes), (*findings, *validate(design)))


def _team_objects(cluster: Cluster, design: LaneDesign, notes: list[str]) -> list[dict]:
    """The VirtualServices and DestinationRules in the namespaces of the design's services
    and of its ingress gateway (where a team's routing for them lives), where served."""
    namespaces = {design.namespace_of(s) for s in design.service_names}
    if design.ingress is not None:
        namespaces.add(design.ingress.gateway_namespace or design.namespace)
    found: list[dict] = []
    for choices in TEAM_KINDS:
        found += _list_served(cluster, choices, sorted(namespaces), notes)
    return found


def _app_objects(cluster: Cluster, design: LaneDesign, notes: list[str],
                 ) -> tuple[list[dict], list[dict]]:
    """The Services and Deployments in the namespaces of the design's services."""
    namespaces = sorted({design.namespace_of(s) for s in design.service_names})
    found: list[list[dict]] = [[], []]
    for i, (api_version, kind) in enumerate((("v1", "Service"), ("apps/v1", "Deployment"))):
        res = cluster.resource(api_version, kind)
        try:
            found[i] = [o for ns in namespaces for o in cluster.list(res, ns)] if res else []
        except ApiError as exc:
            if exc.status != 403:
                raise
            notes.append(f"no right to list {kind}s; their ports and calls are not read")
    return found[0], found[1]


def with_workloads(design: LaneDesign, services: Sequence[dict], deployments: Sequence[dict],
                   notes: list[str]) -> LaneDesign:
    """``design`` with each service's ports and selector from its Service, and (when the
    design has no calls) the calls its workloads' environment names, per lane."""
    reading = read_services(services, [Workload.of(d, "default") for d in deployments])
    apps = {svc.key: svc for svc in reading.services}
    behind: dict[str, AppService] = {}
    for svc in design.services:
        app = apps.get((design.namespace_of(svc.name), svc.name))
        if app is None:
            continue
        behind[svc.name] = app
        kept = svc.port is not None and any(p.port == svc.port for p in app.ports)
        fresh = _service(app, design.namespace)
        design = design.with_service(replace(svc, ports=app.ports, selector=fresh.selector,
                                             port=svc.port if kept else fresh.port))
    if behind:
        notes.append(f"ports and selectors of {', '.join(behind)} read from their Services")
    if not any(s.all_calls for s in design.services):
        known = {(design.namespace_of(n), n): n for n in design.service_names}
        known.update({k: v for k, v in reading.aliases.items() if v in behind})
        design = _calls_from_env(design, behind, known, notes)
    return design


def _reader_of(objects: Sequence[dict]) -> Target | None:
    """The readable target most of ``objects`` belong to; the first registered on a tie."""
    def count(t: Target) -> int:
        return sum((o.get("apiVersion"), o.get("kind")) in t.kinds for o in objects)

    readable = [t for t in registry.targets() if t.read is not None and count(t)]
    return max(readable, key=count, default=None)


def design_from_istio(objects: Sequence[dict], group: str) -> ImportResult:
    """Istio objects -> design (``emit.istio_import``), with the validator's findings."""
    read = istio_import.design_from_istio(objects, group)
    return _result(read.design, read.notes)
