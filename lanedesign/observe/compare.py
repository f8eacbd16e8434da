"""Designed vs observed: the calls a mesh made, compared with the calls a design expects.

Pure: request counts per Prometheus label set in, a :class:`Comparison` (per lane and call:
the versions the design expects and those traffic reached) and findings out. No I/O here;
``prometheus.py`` fetches the samples and ``synthetic.py`` makes them for tests and teaching.

Two kinds of data (``tagged.py`` and ``untagged.py`` attribute the calls of each):
- **tagged**: the metric carries the lane of each request (the Istio Telemetry resource that
  ``lanedesign export --telemetry`` adds copies the route header into a ``lane`` tag). Every
  call is attributed to its lane; a call without the tag where its caller received lane
  traffic lost the lane context in that app.
- **untagged**: only caller and callee versions. A call is attributed to a lane only where
  its version pair belongs to one lane; the hops where lanes share a version pair are listed,
  since traffic there cannot be told apart.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from ..findings import make
from ..model import LaneDesign
from .calls import (
    DEFAULT_TOLERANCE,
    LANE_TAG,
    NO_LANE,
    UNKNOWN,
    Call,
    Cell,
    Comparison,
    Context,
    Sample,
    edge_text,
    num,
    pct,
    round_count,
)
from .expect import Edge, call_paths, lane_expectations, lane_version
from .query import L4, LAYER_LABEL
from .tagged import (
    ingress_split,
    lanes_without_traffic,
    tagged_cells,
    unknown_tag_findings,
    without_tag_label,
)
from .untagged import indistinguishable_hops, untagged_cells

__all__ = ["DEFAULT_TOLERANCE", "LANE_TAG", "NO_LANE", "UNKNOWN", "Call", "Cell", "Comparison",
           "Sample", "compare", "read_calls"]


# -- reading samples -------------------------------------------------------------------------
def read_calls(design: LaneDesign, samples: Iterable[Sample], lane_tag: str = LANE_TAG,
               ) -> tuple[list[Call], bool]:
    """Map workloads to the design's services; ``tagged`` if any series has the lane tag."""
    names = set(design.service_names)
    by_prefix = sorted(names, key=len, reverse=True)
    namespace_of = {n: design.namespace_of(n) for n in names}
    callers: dict[tuple, str | None] = {}
    calls: list[Call] = []
    tagged = False
    for sample in samples:
        lab = sample.label_map
        if sample.value <= 0:
            continue
        tag = lab.get(lane_tag) or None
        tagged = tagged or tag is not None
        callee = lab.get("destination_service_name", "")
        callee_ns = lab.get("destination_service_namespace", "")
        if callee not in names or (callee_ns and callee_ns != namespace_of[callee]):
            callee = f"{callee}.{callee_ns}" if callee_ns else callee
        workload = lab.get("source_workload", "")
        source_ns = lab.get("source_workload_namespace", "")
        key = (lab.get("source_canonical_service"), lab.get("source_app"), workload)
        if key not in callers:  # a few workloads make many series
            callers[key] = _service_of(lab, workload, names, by_prefix)
        caller = callers[key]
        if caller is not None and source_ns and source_ns != namespace_of[caller]:
            caller = None
        calls.append(Call(
            caller=caller, source=f"{source_ns}/{workload}" if source_ns else workload,
            caller_version=_version(lab.get("source_version")),
            callee=callee, callee_version=_version(lab.get("destination_version")),
            lane=None if tag in (None, NO_LANE, UNKNOWN) else tag, count=sample.value,
            response_code=lab.get("response_code", ""), callee_namespace=callee_ns,
            has_tag=tag is not None))
    return calls, tagged


def _version(value: str | None) -> str:
    return "" if value in (None, UNKNOWN) else value


def _service_of(labels: Mapping[str, str], workload: str, names: set[str],
                by_prefix: list[str]) -> str | None:
    """The design service a workload belongs to: its canonical service or app label, else
    the longest service name the workload's name starts with (``mockb-v1`` -> ``mockb``)."""
    for key in ("source_canonical_service", "source_app"):
        if labels.get(key) in names:
            return labels[key]
    if workload in names:
        return workload
    return next((n for n in by_prefix if workload.startswith(n + "-")), None)


# -- the comparison --------------------------------------------------------------------------
def compare(design: LaneDesign, samples: Iterable[Sample], tolerance: float = DEFAULT_TOLERANCE,
            lane_tag: str = LANE_TAG) -> Comparison:
    """Compare observed request counts with the design (see the module docstring)."""
    samples = list(samples)
    l4 = [s for s in samples if s.label_map.get(LAYER_LABEL) == L4]
    if l4:  # ambient: ztunnel's connection counts, beside the waypoints' requests
        samples = [s for s in samples if s.label_map.get(LAYER_LABEL) != L4]
    calls, tagged = read_calls(design, samples, lane_tag)
    # per-lane expectations are needed to attribute untagged calls; tagged calls carry it
    ctx = Context(design, tolerance, {} if tagged else lane_expectations(design),
                   call_paths(design), {ln.name: lane_version(ln) for ln in design.lanes},
                   defaultdict(set))
    for call in calls:
        ctx.seen_versions[call.callee].add(call.callee_version)
    _unobservable_lanes(ctx)
    l4_only = _l4_only(ctx, calls, l4)
    if not calls:
        ctx.findings.append(make("LD810", "spec.services", "no istio_requests_total series "
                                 "for the design's services in this window"))
        return Comparison(tagged, len(samples), (), (), (), (), tuple(ctx.findings))
    designed, extra = _split_designed(ctx, calls)
    if tagged:
        judged = without_tag_label(ctx, designed)
        cells, unknown_tags = tagged_cells(ctx, judged)
        unknown_tag_findings(ctx, unknown_tags)
        indistinguishable: list[dict[str, Any]] = []
        lanes_without_traffic(ctx, judged)
        ingress_split(ctx, judged)
    else:
        cells = untagged_cells(ctx, designed)
        indistinguishable = indistinguishable_hops(ctx)
    for cell in cells:
        _judge(ctx, cell, tagged)
    unseen = _unseen(ctx, designed, l4_only)
    ordered = sorted(cells, key=lambda c: (c.lanes, c.caller or "", c.callee))
    return Comparison(tagged, len(samples), tuple(ordered), tuple(extra), tuple(unseen),
                      tuple(indistinguishable), tuple(ctx.findings))


def _unobservable_lanes(ctx: Context) -> None:
    for i, lane in enumerate(ctx.design.lanes):
        if ctx.versions.get(lane.name) is None:
            ctx.findings.append(make(
                "LD809", f"spec.lanes[{i}].labels",
                f"lane {lane.name}: its pod labels have no version label "
                f"({', '.join(k for k in ('version', 'app.kubernetes.io/version'))}), so "
                "Istio's metrics cannot show which calls its pods served"))


def _split_designed(ctx: Context, calls: list[Call]) -> tuple[list[Call], list[dict]]:
    """Calls on designed edges (the ingress -> entry included) and the others, reported."""
    designed, extra = [], defaultdict(float)
    for call in calls:
        if call.edge in ctx.paths:
            designed.append(call)
        else:
            caller = call.caller or call.source
            extra[(caller, call.callee, call.caller is not None)] += call.count
    rows = []
    index = {s.name: i for i, s in reversed(list(enumerate(ctx.design.services)))}
    for (caller, callee, known), count in sorted(extra.items()):
        rows.append({"caller": caller, "callee": callee, "count": round_count(count),
                     "caller_in_design": known})
        if known and callee in index:
            what = f"{caller} calls {callee}, a call the design lacks"
            hint = f"add {callee} to the calls of {caller} if the call is meant"
        elif known:
            what = f"{caller} calls {callee}, a service the design lacks"
            hint = f"add {callee.split('.')[0]} to spec.services and to the calls of {caller}"
        else:
            what = f"workload {caller} (not a service of the design) calls {callee}"
            hint = "add the calling service to the design, or check where the calls come from"
        path = f"spec.services[{index[caller]}].calls" if known else "spec.services"
        ctx.findings.append(make("LD804", path, f"{what} ({num(count)} calls)", hint))
    return designed, rows


# -- judging cells ---------------------------------------------------------------------------
def _judge(ctx: Context, cell: Cell, tagged: bool) -> None:
    if not cell.expected or all(v in cell.expected for v in cell.reached):
        return  # the common case, decided without sums
    share = cell.share
    if not cell.total or share <= ctx.tolerance:
        return
    wrong = sorted(v for v in cell.reached if v not in cell.expected)
    who = ("calls without lane context" if not cell.lanes else
           f"lane {cell.lanes[0]}" if len(cell.lanes) == 1 else
           f"lanes {', '.join(cell.lanes)} (not told apart without a lane tag)")
    edge = (cell.caller, cell.callee)
    what = (f"{who}: {edge_text(edge)} reached {', '.join(v or '?' for v in wrong)} in "
            f"{pct(share)} of calls ({num(cell.unexpected)} of {num(cell.total)}); the "
            f"design expects {', '.join(cell.expected)}")
    path = ctx.paths[edge]
    absent = [v for v in cell.expected if v not in ctx.seen_versions[cell.callee]]
    baseline_v = ctx.versions.get(ctx.design.baseline)
    caller = cell.caller or "the ingress gateway"
    lost_context = bool(cell.lanes) and (
        cell.lost >= cell.unexpected / 2 if tagged else
        wrong == [baseline_v] and cell.caller is not None and not absent)
    if lost_context:
        cause = (f"{num(cell.lost)} of them carried no lane context" if tagged else
                 "without a lane tag the cause cannot be confirmed")
        ctx.findings.append(make(
            "LD802", path, what,
            f"{caller} may drop the lane context ({cause}): propagate it (e.g. "
            "OpenTelemetry baggage), or mark the service `propagates: false`"))
    elif absent and cell.lanes:
        ctx.findings.append(make(
            "LD803", path, what,
            f"no {cell.callee} pod with version {', '.join(absent)} served a call in the "
            "window: the lane's version may not be deployed (or not ready), so calls fell "
            "back" + (f" or failed ({num(cell.errors)} answered 5xx)" if cell.errors else "")
            + "; deploy it or take the service out of the lane"))
    else:
        ctx.findings.append(make(
            "LD801", path, what,
            f"the mesh routes {cell.callee} differently from the design: compare the applied "
            f"VirtualService of {cell.callee} with `lanedesign diff`"))


def _l4_only(ctx: Context, calls: list[Call], l4: list[Sample]) -> set[str]:
    """Design services ztunnel saw connections to but no waypoint reported a request for
    (LD966, info): only L4 is observable there, so their calls are neither judged nor
    missed."""
    reached = {c.callee for c in calls}
    seen = {(lab.get("destination_service_name"), lab.get("destination_service_namespace"))
            for lab in (s.label_map for s in l4 if s.value > 0)}
    index = {s.name: i for i, s in reversed(list(enumerate(ctx.design.services)))}
    only = set()
    for name, i in sorted(index.items(), key=lambda x: x[1]):
        if (name, ctx.design.namespace_of(name)) in seen and name not in reached:
            only.add(name)
            ctx.findings.append(make(
                "LD966", f"spec.services[{i}]", f"{name}: ztunnel saw connections but no "
                "waypoint reported a request, so only L4 (istio_tcp_*) is observable: which "
                "version each lane reached cannot be seen"))
    return only


def _unseen(ctx: Context, calls: list[Call],
            l4_only: frozenset[str] | set[str] = frozenset()) -> list[Edge]:
    """Designed calls reachable from the ingress that no series shows (calls to services
    only ztunnel reports are not missing: they are not observable)."""
    seen = {c.edge for c in calls}
    called = {c.callee for c in calls}
    reachable = _reachable_calls(ctx.design)
    # a caller that received no call explains its own silence: report the first hop only
    unseen = [edge for edge in ctx.paths if edge in reachable and edge not in seen
              and edge[1] not in l4_only
              and (edge[0] is None or edge[0] in called or edge[0] in l4_only)]
    for edge in unseen:
        ctx.findings.append(make(
            "LD805", ctx.paths[edge], f"{edge_text(edge)}: the design has this call, but "
            "no request made it in the window",
            "remove the call from the design if the app no longer makes it, or check that "
            "traffic reaches the caller"))
    return unseen


def _reachable_calls(design: LaneDesign) -> set[Edge]:
    """The designed calls a request from the ingress can make (the same in every lane)."""
    entry = design.ingress.entry if design.ingress else ""
    services = {s.name: s for s in reversed(design.services)}
    if entry not in services:
        return set()
    calls: set[Edge] = {(None, entry)}
    seen, stack = {entry}, [entry]
    while stack:
        name = stack.pop()
        for callee in services[name].calls:
            if callee in services:
                calls.add((name, callee))
                if callee not in seen:
                    seen.add(callee)
                    stack.append(callee)
    return calls
