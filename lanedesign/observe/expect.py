"""What a design expects the mesh's metrics to show: per lane, each call and its versions.

Istio labels every request metric with the caller's and the callee's *version* (the pods'
canonical revision: ``service.istio.io/canonical-revision``, else ``app.kubernetes.io/version``,
else ``version``), so a lane is visible in the metrics only through the version label of its
pods. The expectations come from the same rule as the simulator (``serving_lane``), walked
over (service, lane context) states instead of paths: each state once, so meshes of thousands
of services take one pass, and calls that close a cycle count as calls (the mesh makes them).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from ..model import Lane, LaneDesign

# the pod labels Istio reads the version from, in its order of precedence
VERSION_LABELS = ("service.istio.io/canonical-revision", "app.kubernetes.io/version", "version")

Edge = tuple[str | None, str]  # (caller service, or None for the ingress gateway; callee)


def lane_version(lane: Lane | None) -> str | None:
    """The version label value the lane's pods report in metrics, or None if it has none."""
    if lane is None:
        return None
    labels = lane.label_map
    return next((labels[k] for k in VERSION_LABELS if labels.get(k)), None)


@dataclass(frozen=True)
class Expectation:
    """One designed call in one lane: who serves the caller and the callee, and the context
    the call carries (None: an upstream app dropped the lane, so the baseline serves it)."""

    caller_lane: str | None
    callee_lane: str
    context: str | None


def lane_expectations(design: LaneDesign) -> dict[str, dict[Edge, set[Expectation]]]:
    """``{lane: {(caller, callee): {Expectation}}}`` for every call reachable in each lane."""
    entry = design.ingress.entry if design.ingress else ""
    serve = design.serving_lane_resolver()
    services = {s.name: s for s in reversed(design.services)}
    out: dict[str, dict[Edge, set[Expectation]]] = {}
    if entry not in services:
        return {lane: {} for lane in design.lane_names}
    for lane in dict.fromkeys(design.lane_names):
        edges: dict[Edge, set[Expectation]] = {
            (None, entry): {Expectation(None, serve(lane, entry), lane)}}
        seen = {(entry, lane)}
        queue = deque(seen)
        while queue:
            name, context = queue.popleft()
            svc = services[name]
            carried = context if design.keeps_context(name) else None
            here = serve(context, name)
            for callee in svc.calls_in(here):
                if callee not in services:
                    continue
                edges.setdefault((name, callee), set()).add(
                    Expectation(here, serve(carried, callee), carried))
                if (callee, carried) not in seen:
                    seen.add((callee, carried))
                    queue.append((callee, carried))
        out[lane] = edges
    return out


def call_paths(design: LaneDesign) -> dict[Edge, str]:
    """Where each designed call sits in the design file (``spec.services[1].calls[0]``)."""
    paths: dict[Edge, str] = {}
    for i, svc in enumerate(design.services):
        for j, callee in enumerate(svc.calls):
            paths.setdefault((svc.name, callee), f"spec.services[{i}].calls[{j}]")
    if design.ingress is not None:
        paths[(None, design.ingress.entry)] = "spec.ingress.entry"
    return paths
