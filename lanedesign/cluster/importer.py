"""Import a design from a running cluster.

Two sources: the workloads (Services and the pod-template labels of the Deployments behind
them, grouped into lanes by one label key), or the objects a lane group already owns
(read back by the target that makes them: ``Target.read`` of the registry).
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

from ..designfile import design_to_dict, dump_design
from ..emit import istio_import, registry
from ..emit.target import ReadResult, Target
from ..model import Lane, LaneDesign, Service
from ..names import is_dns1123_label
from ..validate import validate
from .client import Cluster
from .plan import comparable, owned_objects

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
    """The design behind the objects lane group ``group`` owns, read by the target that made
    them (the readable target with the most objects among them)."""
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
    return ImportResult(read.design, tuple(notes),
                        tuple(read.findings) + tuple(validate(read.design)))


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
