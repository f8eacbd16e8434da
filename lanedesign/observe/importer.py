"""``import-traffic``: the call graph the mesh's metrics show, added to a design (or a new one).

Kubernetes objects cannot say who calls whom; Istio's request metrics can. The pure part,
``design_with_traffic``, takes samples as ``compare`` does; ``import_traffic`` asks
Prometheus once. Every addition is explained in a note.
"""

from __future__ import annotations

import re
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace

from ..findings import Finding
from ..model import Ingress, Lane, LaneDesign, Service
from ..names import is_dns1123_label
from ..validate import validate
from .compare import UNKNOWN, Sample, read_calls
from .prometheus import Prometheus, PrometheusError, redact
from .query import L4, LAYER_LABEL, requests_query, samples_from_answer

_PREFERRED_BASELINES = ("v1", "stable", "base", "baseline", "main", "prod")


@dataclass(frozen=True)
class TrafficImport:
    """The design with the observed calls, what was inferred, and the validator's findings."""

    design: LaneDesign
    notes: tuple[str, ...]
    findings: tuple[Finding, ...]


def import_traffic(design: LaneDesign | None, prometheus: Prometheus, window: str = "15m",
                   at: float | None = None, min_calls: float = 1.0,
                   reporter: str | None = None) -> TrafficImport:
    """Ask ``prometheus`` once for the window's calls and add them to ``design``."""
    at = time.time() if at is None else at
    base = design or LaneDesign(name="observed")
    promql = requests_query(base, window, reporter=reporter)
    answer = prometheus.query(promql, at)
    try:
        samples = samples_from_answer(answer)
    except ValueError as exc:
        raise PrometheusError(f"unexpected answer: {exc}", redact(prometheus.url)) from None
    # ztunnel's L4 series (an ambient design's query) name no caller version: not calls
    samples = [s for s in samples if s.label_map.get(LAYER_LABEL) != L4]
    return design_with_traffic(design, samples, min_calls)


def design_with_traffic(design: LaneDesign | None, samples: Iterable[Sample],
                        min_calls: float = 1.0) -> TrafficImport:
    """``design`` plus every observed call (and service) seen at least ``min_calls`` times."""
    samples = [s for s in samples if s.value > 0]
    notes: list[str] = []
    if design is None:
        design = _new_design(samples, notes)
    design, added = _add_services(design, samples, notes)
    calls, _ = read_calls(design, samples)
    counts: Counter = Counter()
    for call in calls:
        # a service's versions are one caller; outsiders are told apart by workload
        counts[(call.caller, "" if call.caller else call.source, call.callee)] += call.count
    entry_votes: Counter = Counter()
    rare = []
    for (caller, source, callee), n in sorted(counts.items(), key=lambda x: str(x[0])):
        if n < min_calls:
            rare.append(f"{caller or source} -> {callee}")
            continue
        if design.service(callee) is None:
            continue  # outside the design's namespaces; noted by _add_services
        if caller is None:
            entry_votes[callee] += n
            continue
        svc = design.service(caller)
        if callee not in svc.calls:
            design = design.with_calls(caller, (*svc.calls, callee))
            notes.append(f"added call {caller} -> {callee} ({round(n)} calls in the window)")
    if rare:
        notes.append(f"{len(rare)} call(s) seen fewer than {min_calls:g} times left out: "
                     + ", ".join(rare[:5]) + (" ..." if len(rare) > 5 else ""))
    design = _entry(design, entry_votes, notes)
    seen = {(c.caller, c.callee) for c in calls}
    unseen = [f"{s.name} -> {c}" for s in design.services for c in s.calls
              if (s.name, c) not in seen]
    if unseen:
        notes.append(f"{len(unseen)} call(s) of the design were not seen and are kept: "
                     + ", ".join(unseen[:5]) + (" ..." if len(unseen) > 5 else ""))
    if added:
        notes.append("new services join the baseline and each lane whose version label "
                     "value they showed; check `propagates` and ports by hand")
    return TrafficImport(design, tuple(notes), tuple(validate(design)))


def _svc_labels(sample: Sample) -> Iterable[tuple[str, str, str]]:
    """(service, namespace, version) of the callee, and of the caller where it is named."""
    lab = sample.label_map
    yield (lab.get("destination_service_name", ""), lab.get("destination_service_namespace", ""),
           lab.get("destination_version", ""))
    caller = lab.get("source_canonical_service") or lab.get("source_app") or ""
    if caller and caller != UNKNOWN and "gateway" not in caller:
        yield caller, lab.get("source_workload_namespace", ""), lab.get("source_version", "")


def _add_services(design: LaneDesign, samples: list[Sample], notes: list[str],
                  ) -> tuple[LaneDesign, list[str]]:
    """Services the traffic names that the design lacks, in its namespaces."""
    namespaces = {design.namespace_of(s) for s in design.service_names} | {design.namespace}
    versions: dict[tuple[str, str], set[str]] = defaultdict(set)
    for sample in samples:
        for name, ns, version in _svc_labels(sample):
            if name and design.service(name) is None:
                versions[(name, ns)].add(version)
    added = []
    by_version = {lane.label_map.get("version"): lane.name for lane in design.lanes}
    for (name, ns), seen in sorted(versions.items()):
        if ns and ns not in namespaces:
            notes.append(f"service {name}.{ns} is outside the design's namespaces; left out")
            continue
        if not is_dns1123_label(name) or design.service(name) is not None:
            notes.append(f"service {name!r} ({ns}) cannot be added: its name is not a "
                         "DNS-1123 label or is taken in another namespace")
            continue
        design = design.with_service(Service(name, namespace=None if ns in ("", design.namespace)
                                             else ns))
        lanes = {design.baseline} | {by_version[v] for v in seen if v in by_version}
        for lane in sorted(ln for ln in lanes if design.lane(ln) is not None):
            design = design.with_membership(lane, name, True)
        added.append(name)
        notes.append(f"added service {name} (namespace {ns or design.namespace}; versions "
                     f"{', '.join(sorted(v or '?' for v in seen))})")
    return design, added


def _new_design(samples: list[Sample], notes: list[str]) -> LaneDesign:
    """An empty design whose lanes are the version label values the traffic shows."""
    namespaces: Counter = Counter()
    services_of: dict[str, set[str]] = defaultdict(set)
    for sample in samples:
        for name, ns, version in _svc_labels(sample):
            namespaces[ns] += 1
            if version and version != UNKNOWN:
                services_of[version].add(name)
    namespace = namespaces.most_common(1)[0][0] if namespaces else "default"
    names = {v: _lane_name(v) for v in sorted(services_of)}
    everywhere = [v for v in names if services_of[v] >= set().union(*services_of.values())]
    baseline = next((v for v in _PREFERRED_BASELINES if v in everywhere),
                    everywhere[0] if everywhere else "")
    lanes = tuple(Lane(names[v], (("version", v),)) for v in names)
    notes.append(f"a new design: lanes from the version label values seen ({', '.join(names)})"
                 + (f"; baseline {names[baseline]} (every service showed it)" if baseline else
                    "; no version served every service, so there is no baseline yet"))
    return LaneDesign(name="observed", namespace=namespace or "default", lanes=lanes,
                      baseline=names.get(baseline, ""), ingress=Ingress())


def _lane_name(version: str) -> str:
    name = re.sub(r"[^a-z0-9-]+", "-", version.lower()).strip("-")[:63].strip("-")
    return name if is_dns1123_label(name) else "lane"


def _entry(design: LaneDesign, votes: Counter, notes: list[str]) -> LaneDesign:
    if not votes:
        return design
    entry = votes.most_common(1)[0][0]
    ingress = design.ingress or Ingress()
    if ingress.entry and design.service(ingress.entry) is not None:
        if ingress.entry != entry:
            notes.append(f"the gateway called {entry} most, but the design's entry is "
                         f"{ingress.entry}; kept")
        return design
    notes.append(f"entry service {entry}: the one the ingress gateway called most")
    return design.with_(ingress=replace(ingress, entry=entry))
