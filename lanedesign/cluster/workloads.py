"""What an application's own Kubernetes objects say about it, read from plain dicts.

The import (``importer.py``) asks this module four things: which Services are the app's
services (not lanedesign's own objects, not a second Service over the same pods, not a
per-version Service), which Deployments sit behind each, what each version of a workload
calls (the Service names in its environment), and where requests enter (an existing
Gateway and the service its routes send to, or a LoadBalancer/NodePort Service).
Nothing here talks to a server, so every rule is tested on the manifests apps ship.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ..emit.common import MANAGED_BY, MANAGER
from ..findings import Finding, make
from ..model import ServicePort

# Service types that take traffic from outside the cluster: offered as the ingress entry
EXTERNAL_TYPES = ("LoadBalancer", "NodePort")
# env keys whose bare value (no port, no scheme) is a host name
_HOST_KEYS = re.compile(r"(_|^)(HOST|HOSTNAME|ADDR|ADDRESS|SERVICE|SVC)$", re.IGNORECASE)
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://(?:[^@/]*@)?(?P<host>[^/:?#]+)(?::\d+)?", re.I)
_HOST_PORT = re.compile(r"^(?P<host>[a-z0-9]([a-z0-9.-]*[a-z0-9])?):\d{1,5}$", re.I)
_HOST = re.compile(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$", re.I)


def meta(obj: dict) -> dict:
    return obj.get("metadata") or {}


def spec(obj: dict) -> dict:
    return obj.get("spec") or {}


def is_managed(obj: dict) -> bool:
    """True for an object lanedesign made (``emit.common.managed_labels``)."""
    return (meta(obj).get("labels") or {}).get(MANAGED_BY) == MANAGER


@dataclass(frozen=True)
class Workload:
    """A Deployment as the import needs it: its pods' labels and the env of its containers."""

    namespace: str
    name: str
    labels: dict[str, str] = field(hash=False)
    env: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, dep: dict, namespace: str) -> Workload:
        template = spec(dep).get("template") or {}
        labels = {str(k): str(v) for k, v in (meta(template).get("labels") or {}).items()}
        env = tuple((str(e.get("name", "")), str(e["value"]))
                    for c in (spec(template).get("containers") or [])
                    for e in (c.get("env") or []) if isinstance(e, dict) and "value" in e)
        return cls(meta(dep).get("namespace") or namespace, meta(dep).get("name", ""),
                   labels, env)


@dataclass(frozen=True)
class AppService:
    """A Service with a pod selector and the workloads it selects."""

    namespace: str
    name: str
    type: str
    selector: dict[str, str] = field(hash=False)
    ports: tuple[ServicePort, ...]
    workloads: tuple[Workload, ...]

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)

    @property
    def pods(self) -> frozenset[tuple[str, str]]:
        return frozenset((w.namespace, w.name) for w in self.workloads)

    @property
    def external(self) -> bool:
        return self.type in EXTERNAL_TYPES


@dataclass
class Reading:
    """The app services found, and what was left out or folded, said as notes and findings."""

    services: list[AppService]
    aliases: dict[tuple[str, str], str]  # a folded Service -> the service it belongs to
    entry_candidates: list[str]  # services behind a LoadBalancer/NodePort Service
    notes: list[str]
    findings: list[Finding]


def service_ports(raw: Iterable[dict]) -> tuple[ServicePort, ...]:
    """``spec.ports`` as the model has them (name, port, targetPort, appProtocol, protocol)."""
    ports = []
    for p in raw:
        if not isinstance(p, dict) or not isinstance(p.get("port"), int):
            continue
        target = p.get("targetPort")
        ports.append(ServicePort(
            port=p["port"], name=p.get("name") or None,
            # the same number as `port` is what Kubernetes fills in; keep the design short
            target_port=None if target in (None, p["port"]) else target,
            app_protocol=p.get("appProtocol") or None,
            transport=str(p.get("protocol") or "TCP").upper()))
    return tuple(ports)


def read_services(services: Sequence[dict], workloads: Sequence[Workload]) -> Reading:
    """The app's services among ``services``: lanedesign's own objects, Services without a
    selector, a second Service over the same pods and per-version Services are left out
    (each said once)."""
    notes: list[str] = []
    findings: list[Finding] = []
    managed = [s for s in services if is_managed(s)]
    if managed:
        names = ", ".join(sorted(meta(s).get("name", "") for s in managed)[:4])
        notes.append(f"{len(managed)} Service(s) lanedesign manages ({names}"
                     f"{', ...' if len(managed) > 4 else ''}) are its own objects, not app "
                     "services; not read")
    found: list[AppService] = []
    for svc in services:
        if is_managed(svc):
            continue
        ns, name = meta(svc).get("namespace") or "default", meta(svc).get("name", "")
        selector = {str(k): str(v) for k, v in (spec(svc).get("selector") or {}).items()}
        kind = str(spec(svc).get("type") or "ClusterIP")
        if not selector:
            what = ("an ExternalName Service" if kind == "ExternalName" else
                    "headless, without a pod selector"
                    if spec(svc).get("clusterIP") == "None" else "a Service without a pod "
                    "selector")
            if name != "kubernetes" or ns != "default":  # the API server's own Service
                findings.append(make("LD922", f"Service {ns}/{name}", f"service {ns}/{name} "
                                     f"is {what}: it has no pods of its own to put in lanes; "
                                     "left out"))
            continue
        behind = tuple(w for w in workloads if w.namespace == ns and
                       all(w.labels.get(k) == v for k, v in selector.items()))
        found.append(AppService(ns, name, kind, selector, service_ports(spec(svc).get("ports")
                                                                        or ()), behind))
    return _fold(found, Reading([], {}, [], notes, findings))


def _fold(found: list[AppService], reading: Reading) -> Reading:
    """Keep one service per set of pods; fold the rest into it with a note."""
    def primary_first(svc: AppService) -> tuple:
        # the Service the app's own calls name: the widest selector (no version in it),
        # ClusterIP, then the shorter name
        return (len(svc.selector), svc.external, len(svc.name), svc.name)

    groups: dict[tuple[str, frozenset], list[AppService]] = {}
    for svc in found:
        groups.setdefault((svc.namespace, svc.pods), []).append(svc)
    kept: list[AppService] = []
    for svc in found:
        group = groups[(svc.namespace, svc.pods)]
        primary = min(group, key=primary_first)
        if not svc.workloads or svc is primary:
            kept.append(svc)
            continue
        if _narrower(svc, primary):
            _fold_version(svc, primary, reading)
            continue
        reading.aliases[svc.key] = primary.name
        reading.notes.append(f"service {svc.namespace}/{svc.name} ({svc.type}) selects the "
                             f"same pods as {primary.name}: folded into {primary.name}, "
                             "not a service of its own")
        if svc.external and primary.name not in reading.entry_candidates:
            reading.entry_candidates.append(primary.name)
    for svc in list(kept):
        if svc.external and svc.name not in reading.entry_candidates:
            reading.entry_candidates.append(svc.name)
        whole = _per_version_of(svc, kept)
        if whole is not None:
            kept.remove(svc)
            _fold_version(svc, whole, reading)
    reading.services = kept
    return reading


def _narrower(svc: AppService, other: AppService) -> bool:
    """True when ``svc``'s selector is ``other``'s plus more labels (a version of its pods)."""
    return len(svc.selector) > len(other.selector) and \
        all(svc.selector.get(k) == v for k, v in other.selector.items())


def _fold_version(svc: AppService, whole: AppService, reading: Reading) -> None:
    extra = ", ".join(f"{k}={v}" for k, v in svc.selector.items() if k not in whole.selector)
    reading.aliases[svc.key] = whole.name
    reading.notes.append(
        f"service {svc.namespace}/{svc.name} selects only the {extra} pods of {whole.name} "
        f"(a per-version Service): they are {whole.name}'s version in a lane, not a service "
        "of their own")


def _per_version_of(svc: AppService, kept: list[AppService]) -> AppService | None:
    """The Service whose pods ``svc`` selects a part of by more labels, or None."""
    if not svc.workloads:
        return None
    for other in kept:
        if other is not svc and other.namespace == svc.namespace and \
                _narrower(svc, other) and svc.pods < other.pods:
            return other
    return None


# -- calls named in the environment ----------------------------------------------------------
def env_host(key: str, value: str) -> str | None:
    """The host an env var names (``name:port``, a URL, or a bare host under an ``*_ADDR`` /
    ``*_HOST`` key), or None."""
    value = value.strip()
    for pattern in (_URL, _HOST_PORT):
        found = pattern.match(value)
        if found:
            return found.group("host").lower()
    if _HOST_KEYS.search(key) and _HOST.match(value):
        return value.lower()
    return None


def service_of_host(host: str, namespace: str, known: dict[tuple[str, str], str],
                    ) -> str | None:
    """The design service a DNS name reaches from ``namespace`` (``name``, ``name.ns``,
    ``name.ns.svc``, ``name.ns.svc.<cluster domain>``), or None."""
    parts = host.rstrip(".").split(".")
    if len(parts) == 1:
        return known.get((namespace, parts[0]))
    if len(parts) == 2 or parts[2] == "svc":
        return known.get((parts[1], parts[0]))
    return None


def calls_in_env(workloads: Iterable[Workload], own: str,
                 known: dict[tuple[str, str], str]) -> tuple[list[str], list[str]]:
    """The services the workloads' env names (first-seen order, not ``own``) and the
    ``KEY=value`` pairs that named them."""
    calls: dict[str, None] = {}
    evidence: list[str] = []
    for w in workloads:
        for key, value in w.env:
            host = env_host(key, value)
            callee = service_of_host(host, w.namespace, known) if host else None
            if callee and callee != own:
                calls.setdefault(callee)
                if f"{key}={value}" not in evidence:
                    evidence.append(f"{key}={value}")
    return list(calls), evidence


# -- where requests enter --------------------------------------------------------------------
@dataclass(frozen=True)
class EntryProposal:
    """An entry service, and the gateway and hosts that lead to it (None: not found)."""

    entry: str
    gateway: str | None
    hosts: tuple[str, ...]
    why: str


def _ref(name: str, namespace: str) -> str:
    return name if "/" in name else f"{namespace}/{name}"


def istio_entry(objects: Sequence[dict], known: dict[tuple[str, str], str],
                ) -> EntryProposal | None:
    """The service the first gateway-bound Istio VirtualService routes to."""
    for vs in (o for o in objects if o.get("kind") == "VirtualService" and not is_managed(o)):
        ns = meta(vs).get("namespace") or "default"
        gateways = [g for g in spec(vs).get("gateways") or [] if g != "mesh"]
        if not gateways:
            continue
        for route in spec(vs).get("http") or []:
            for dest in route.get("route") or []:
                host = str((dest.get("destination") or {}).get("host", ""))
                entry = service_of_host(host, ns, known)
                if entry:
                    hosts = tuple(str(h) for h in spec(vs).get("hosts") or ()) or ("*",)
                    return EntryProposal(entry, _ref(gateways[0], ns), hosts,
                                         f"VirtualService {ns}/{meta(vs).get('name')} routes "
                                         f"Gateway {_ref(gateways[0], ns)}'s requests to it")
    return None


def gateway_api_entry(objects: Sequence[dict], known: dict[tuple[str, str], str],
                      ) -> EntryProposal | None:
    """The Service the first HTTPRoute attached to a Gateway sends to."""
    for route in (o for o in objects if o.get("kind") == "HTTPRoute" and not is_managed(o)):
        ns = meta(route).get("namespace") or "default"
        parents = [p for p in spec(route).get("parentRefs") or []
                   if p.get("kind", "Gateway") == "Gateway"]
        if not parents:
            continue
        for rule in spec(route).get("rules") or []:
            for ref in rule.get("backendRefs") or []:
                if ref.get("kind", "Service") != "Service":
                    continue
                entry = known.get((ref.get("namespace") or ns, str(ref.get("name", ""))))
                if entry:
                    gateway = f"{parents[0].get('namespace') or ns}/{parents[0]['name']}"
                    hosts = tuple(str(h) for h in spec(route).get("hostnames") or ()) or ("*",)
                    return EntryProposal(entry, gateway, hosts,
                                         f"HTTPRoute {ns}/{meta(route).get('name')} sends "
                                         f"Gateway API Gateway {gateway}'s requests to it")
    return None


def istio_gateways(objects: Sequence[dict]) -> list[str]:
    """``namespace/name`` of every Istio Gateway among ``objects``."""
    return [f"{meta(o).get('namespace') or 'default'}/{meta(o).get('name')}" for o in objects
            if o.get("kind") == "Gateway" and
            str(o.get("apiVersion", "")).startswith("networking.istio.io/")]
