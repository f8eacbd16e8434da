"""Designed vs observed: the calls a mesh made, compared with the calls a design expects.

Pure: request counts per Prometheus label set in, a :class:`Comparison` (per lane and call:
the versions the design expects and those traffic reached) and findings out. No I/O here;
``prometheus.py`` fetches the samples and ``synthetic.py`` makes them for tests and teaching.

Two kinds of data:
- **tagged**: the metric carries the lane of each request (the Istio Telemetry resource that
  ``lanedesign export --telemetry`` adds copies the route header into a ``lane`` tag). Every
  call is attributed to its lane; a call without the tag where its caller received lane
  traffic lost the lane context in that app.
- **untagged**: only caller and callee versions. A call is attributed to a lane only where
  its version pair belongs to one lane; the hops where lanes share a version pair are listed,
  since traffic there cannot be told apart.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..findings import Finding, make
from ..model import LaneDesign
from .expect import Edge, Expectation, call_paths, lane_expectations, lane_version

LANE_TAG = "lane"  # the tag name the Telemetry resource adds
NO_LANE = "none"  # the tag's value when the request carried no route header
UNKNOWN = "unknown"  # what Istio writes for a label it could not read
DEFAULT_TOLERANCE = 0.01  # shares of unexpected calls below this are noise (retries, probes)
SAMPLE_LIMIT = 5  # names listed in one finding's message before "and N more"


@dataclass(frozen=True)
class Sample:
    """One series of the query's answer: its labels and the requests it counted."""

    labels: tuple[tuple[str, str], ...]
    value: float

    @classmethod
    def of(cls, labels: Mapping[str, str], value: float) -> Sample:
        return cls(tuple(sorted(labels.items())), float(value))

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)


@dataclass(frozen=True)
class Call:
    """An observed series read against the design: who called whom, which versions, lane."""

    caller: str | None  # a design service, or None for the ingress gateway / an outsider
    source: str  # the calling workload as Prometheus names it (namespace/workload)
    caller_version: str
    callee: str  # a design service, or "name.namespace" when the design lacks it
    callee_version: str
    lane: str | None  # the lane tag; None: no lane context (or the metric has no tag)
    count: float
    response_code: str = ""
    callee_namespace: str = ""
    has_tag: bool = False  # the series has the lane label at all (even "none")

    @property
    def edge(self) -> Edge:
        return (self.caller, self.callee)


@dataclass
class Cell:
    """One lane (or lanes the data cannot tell apart) x one call: expected vs reached."""

    lanes: tuple[str, ...]  # () = calls without lane context
    caller: str | None
    callee: str
    expected: tuple[str, ...]  # versions the design expects ((): the lane has no version)
    # version -> calls (a defaultdict: tens of thousands of cells, and Counter() is slow)
    reached: defaultdict = field(default_factory=lambda: defaultdict(float))
    lost: float = 0.0  # calls of the lane attributed here after they lost the lane context
    errors: float = 0.0  # calls answered 5xx (e.g. 503 UH: a subset without ready pods)
    inferred: bool = False  # attributed from versions alone (no lane tag)

    @property
    def total(self) -> float:
        return sum(self.reached.values())

    @property
    def unexpected(self) -> float:
        if not self.expected:
            return 0.0
        return sum(n for v, n in self.reached.items() if v not in self.expected)

    @property
    def share(self) -> float:
        """The share of calls that reached a version the design does not expect."""
        return self.unexpected / self.total if self.total else 0.0

    def to_dict(self) -> dict[str, Any]:
        total = self.total or 1.0
        return {
            "lanes": list(self.lanes), "caller": self.caller, "callee": self.callee,
            "expected": list(self.expected),
            "reached": {v: {"count": _round(n), "share": round(n / total, 4)}
                        for v, n in sorted(self.reached.items())},
            "calls": _round(self.total), "unexpected_share": round(self.share, 4),
            "lost_context": _round(self.lost), "errors_5xx": _round(self.errors),
            "inferred": self.inferred,
        }


@dataclass(frozen=True)
class Comparison:
    """What ``compare`` found: per-lane cells, calls outside the design, findings."""

    tagged: bool
    series: int
    cells: tuple[Cell, ...]
    extra_calls: tuple[dict[str, Any], ...]
    unseen_calls: tuple[Edge, ...]
    indistinguishable: tuple[dict[str, Any], ...]
    findings: tuple[Finding, ...]

    @property
    def divergent(self) -> bool:
        return any(f.severity in ("error", "warning") for f in self.findings)

    def cell(self, lane: str, caller: str | None, callee: str) -> Cell | None:
        return next((c for c in self.cells if c.lanes == (lane,) and c.caller == caller
                     and c.callee == callee), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tagged": self.tagged, "series": self.series,
            "calls": [c.to_dict() for c in self.cells],
            "extra_calls": list(self.extra_calls),
            "unseen_calls": [{"caller": a, "callee": b} for a, b in self.unseen_calls],
            "indistinguishable": list(self.indistinguishable),
            "findings": [f.to_dict() for f in self.findings],
        }


def _round(x: float) -> float | int:
    return round(x) if abs(x - round(x)) < 1e-6 else round(x, 2)


def _pct(share: float) -> str:
    return f"{share:.0%}" if share >= 0.01 else f"{share:.1%}"


def _num(x: float) -> str:
    return f"{_round(x):g}" if isinstance(_round(x), float) else str(_round(x))


def _some(names: Iterable[str]) -> str:
    items = list(names)
    more = len(items) - SAMPLE_LIMIT
    return ", ".join(items[:SAMPLE_LIMIT]) + (f" and {more} more" if more > 0 else "")


def _edge_text(edge: Edge) -> str:
    caller, callee = edge
    return f"{caller or 'ingress'} -> {callee}"


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
@dataclass
class _Context:
    design: LaneDesign
    tolerance: float
    expectations: dict[str, dict[Edge, set[Expectation]]]
    paths: dict[Edge, str]
    versions: dict[str, str | None]  # lane -> version
    seen_versions: dict[str, set[str]]  # service -> versions that received calls
    findings: list[Finding] = field(default_factory=list)


def compare(design: LaneDesign, samples: Iterable[Sample], tolerance: float = DEFAULT_TOLERANCE,
            lane_tag: str = LANE_TAG) -> Comparison:
    """Compare observed request counts with the design (see the module docstring)."""
    samples = list(samples)
    calls, tagged = read_calls(design, samples, lane_tag)
    # per-lane expectations are needed to attribute untagged calls; tagged calls carry it
    ctx = _Context(design, tolerance, {} if tagged else lane_expectations(design),
                   call_paths(design), {ln.name: lane_version(ln) for ln in design.lanes},
                   defaultdict(set))
    for call in calls:
        ctx.seen_versions[call.callee].add(call.callee_version)
    _unobservable_lanes(ctx)
    if not calls:
        ctx.findings.append(make("LD810", "spec.services", "no istio_requests_total series "
                                 "for the design's services in this window"))
        return Comparison(tagged, len(samples), (), (), (), (), tuple(ctx.findings))
    designed, extra = _split_designed(ctx, calls)
    if tagged:
        judged = _without_tag_label(ctx, designed)
        cells, unknown_tags = _tagged_cells(ctx, judged)
        _unknown_tag_findings(ctx, unknown_tags)
        indistinguishable: list[dict[str, Any]] = []
        _lanes_without_traffic(ctx, judged)
        _ingress_split(ctx, judged)
    else:
        cells = _untagged_cells(ctx, designed)
        indistinguishable = _indistinguishable(ctx)
    for cell in cells:
        _judge(ctx, cell, tagged)
    unseen = _unseen(ctx, designed)
    ordered = sorted(cells, key=lambda c: (c.lanes, c.caller or "", c.callee))
    return Comparison(tagged, len(samples), tuple(ordered), tuple(extra), tuple(unseen),
                      tuple(indistinguishable), tuple(ctx.findings))


def _unobservable_lanes(ctx: _Context) -> None:
    for i, lane in enumerate(ctx.design.lanes):
        if ctx.versions.get(lane.name) is None:
            ctx.findings.append(make(
                "LD809", f"spec.lanes[{i}].labels",
                f"lane {lane.name}: its pod labels have no version label "
                f"({', '.join(k for k in ('version', 'app.kubernetes.io/version'))}), so "
                "Istio's metrics cannot show which calls its pods served"))


def _split_designed(ctx: _Context, calls: list[Call]) -> tuple[list[Call], list[dict]]:
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
        rows.append({"caller": caller, "callee": callee, "count": _round(count),
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
        ctx.findings.append(make("LD804", path, f"{what} ({_num(count)} calls)", hint))
    return designed, rows


# -- tagged data -----------------------------------------------------------------------------
def _tagged_cells(ctx: _Context, calls: list[Call]) -> tuple[list[Cell], Counter]:
    design, lanes = ctx.design, set(ctx.design.lane_names)
    serve = design.serving_lane_resolver()
    cells: dict[tuple, Cell] = {}
    unknown = Counter()
    inbound: dict[str, Counter] = defaultdict(Counter)  # service -> lane (or None) -> calls
    outbound: dict[Edge, Counter] = defaultdict(Counter)  # edge -> lane (or None) -> calls
    untagged_versions: dict[Edge, Counter] = defaultdict(Counter)
    for call in calls:
        if call.lane is not None and call.lane not in lanes:
            unknown[call.lane] += call.count
            continue
        inbound[call.callee][call.lane] += call.count
        outbound[call.edge][call.lane] += call.count
        if call.lane is None:
            untagged_versions[call.edge][call.callee_version] += call.count
        key = ((call.lane,) if call.lane else (), call.caller, call.callee)
        if key not in cells:
            version = ctx.versions.get(serve(call.lane, call.callee))
            cells[key] = Cell(key[0], call.caller, call.callee, (version,) if version else ())
        cells[key].reached[call.callee_version] += call.count
        if call.response_code.startswith("5"):
            cells[key].errors += call.count
    for edge, by_lane in outbound.items():
        _attribute_lost(ctx, edge, by_lane, inbound, untagged_versions[edge], cells)
    return list(cells.values()), unknown


def _attribute_lost(ctx: _Context, edge: Edge, out: Counter, inbound: dict[str, Counter],
                    versions: Counter, cells: dict[tuple, Cell]) -> None:
    """Untagged calls a caller makes beyond the untagged calls it receives lost the lane
    context in that caller; they are charged to the lanes whose calls fall short."""
    caller, callee = edge
    svc = ctx.design.service(caller) if caller else None
    if svc is None or not svc.propagates or not out[None]:
        return  # the ingress, or an app the design says drops the context
    into = inbound.get(caller, Counter())
    total_in, total_out = sum(into.values()), sum(out.values())
    if not total_in:
        return
    k = total_out / total_in  # calls out per call in, the same in every lane
    lost = out[None] - into[None] * k
    if lost <= ctx.tolerance * total_out:
        return
    deficits = {lane: into[lane] * k - out[lane] for lane in into if lane is not None}
    deficits = {lane: d for lane, d in deficits.items() if d > ctx.tolerance * total_out}
    short = sum(deficits.values())
    if not short:
        ctx.findings.append(make(
            "LD802", ctx.paths[edge],
            f"{_edge_text(edge)}: {_num(lost)} calls carried no lane context, and no lane's "
            f"calls into {caller} fall short to explain them",
            f"{caller} may drop the lane context on some calls; check its propagation"))
        return
    serve = ctx.design.serving_lane_resolver()
    reached = sum(versions.values())
    for lane, deficit in sorted(deficits.items()):
        charged = min(deficit, lost * deficit / short)
        key = ((lane,), caller, callee)
        if key not in cells:
            version = ctx.versions.get(serve(lane, callee))
            cells[key] = Cell((lane,), caller, callee, (version,) if version else ())
        cells[key].lost += charged
        for version, n in versions.items():
            cells[key].reached[version] += charged * n / reached


def _without_tag_label(ctx: _Context, calls: list[Call]) -> list[Call]:
    """Calls whose series lack the lane label although others have it: their namespace is
    not covered by the Telemetry (a partial roll-out). Reported, not judged: read as "no
    lane context" they would all look like lost contexts."""
    missing: Counter = Counter()
    for call in calls:
        if not call.has_tag:
            missing[call.callee_namespace or "?"] += call.count
    for namespace, count in sorted(missing.items()):
        ctx.findings.append(make(
            "LD811", "spec.namespace",
            f"{_num(count)} calls into namespace {namespace} have no lane tag while others "
            "have one; they are not judged",
            f"apply the Telemetry of `lanedesign export --telemetry` in namespace "
            f"{namespace} too"))
    return [c for c in calls if c.has_tag] if missing else calls


def _ingress_split(ctx: _Context, calls: list[Call]) -> None:
    """A weighted ingress: do the lanes get their weights' shares of the entry's calls?

    The default lane also takes the requests the weighted match misses, so it is left out,
    and the shares are compared among the other lanes of positive weight.
    """
    ingress = ctx.design.ingress
    if ingress is None or ingress.strategy != "weighted":
        return
    weights = {lane: w for lane, w in ingress.weights if w > 0 and lane != ingress.default}
    if len(weights) < 2:
        return
    entered: Counter = Counter()
    for call in calls:
        if call.caller is None and call.callee == ingress.entry and call.lane in weights:
            entered[call.lane] += call.count
    total, weight_sum = sum(entered.values()), sum(weights.values())
    if not total:
        return
    for lane, weight in weights.items():
        expected, seen = weight / weight_sum, entered[lane] / total
        # binomial noise of a real gateway's random split, three standard deviations
        noise = 3 * math.sqrt(expected * (1 - expected) / total) + ctx.tolerance
        if abs(seen - expected) > noise:
            ctx.findings.append(make(
                "LD812", f"spec.ingress.weights.{lane}",
                f"lane {lane} received {_pct(seen)} of the requests the weighted ingress "
                f"split ({_num(entered[lane])} of {_num(total)}); its weight gives "
                f"{_pct(expected)}",
                "check the gateway VirtualService's weights against the design "
                "(`lanedesign diff`), then apply the design"))


def _unknown_tag_findings(ctx: _Context, unknown: Counter) -> None:
    for tag, count in sorted(unknown.items()):
        ctx.findings.append(make(
            "LD807", "spec.lanes",
            f"{_num(count)} calls carry lane tag {tag!r}, which names no lane of the design "
            "(the mesh serves them from the baseline)",
            "add the lane to the design, or find the client sending this route header value"))


def _lanes_without_traffic(ctx: _Context, calls: list[Call]) -> None:
    seen = {c.lane for c in calls}
    for i, lane in enumerate(ctx.design.lanes):
        if lane.name not in seen:
            ctx.findings.append(make(
                "LD808", f"spec.lanes[{i}]",
                f"lane {lane.name}: no call carried it in this window"))


# -- untagged data ---------------------------------------------------------------------------
def _untagged_cells(ctx: _Context, calls: list[Call]) -> list[Cell]:
    """Attribute each call by its version pair; lanes sharing the pair share a cell."""
    cells: dict[tuple, Cell] = {}
    for call in calls:
        candidates = _candidates(ctx, call.edge, call.caller_version)
        consistent = tuple(ln for ln, vs in candidates.items() if call.callee_version in vs)
        lanes = consistent or tuple(candidates)
        key = (lanes, call.caller, call.callee)
        if key not in cells:
            expected = sorted({v for ln in lanes for v in candidates[ln]})
            cells[key] = Cell(lanes, call.caller, call.callee, tuple(expected),
                              inferred=True)
        cells[key].reached[call.callee_version] += call.count
        if call.response_code.startswith("5"):
            cells[key].errors += call.count
    return list(cells.values())


def _candidates(ctx: _Context, edge: Edge, caller_version: str) -> dict[str, set[str]]:
    """Lanes whose call on ``edge`` comes from ``caller_version``: the versions each expects."""
    found: dict[str, set[str]] = {}
    caller = edge[0]
    for lane, edges in ctx.expectations.items():
        for exp in edges.get(edge, ()):
            if caller is not None and caller_version not in _caller_versions(ctx, caller, exp):
                continue
            version = ctx.versions.get(exp.callee_lane)
            if version:
                found.setdefault(lane, set()).add(version)
    return found


def _caller_versions(ctx: _Context, caller: str, exp: Expectation) -> set[str | None]:
    """The versions the caller may answer in: its lane's, or, where that version served no
    call at all (not deployed), the version its calls fall back to."""
    own = ctx.versions.get(exp.caller_lane)
    if own in ctx.seen_versions[caller]:
        return {own}
    return {own, ctx.versions.get(ctx.design.fallback_for(caller))}


def _indistinguishable(ctx: _Context) -> list[dict[str, Any]]:
    """Hops where several lanes call from the same version: without a lane tag their calls
    are one stream, so a call of one lane that reaches another's version looks like the
    other's own call (and lanes expecting the same callee version share one cell)."""
    rows = []
    for edge in ctx.paths:
        groups: dict[str, dict[str, set[str]]] = defaultdict(dict)
        for lane, edges in ctx.expectations.items():
            for exp in edges.get(edge, ()):
                caller_v = "" if edge[0] is None else ctx.versions.get(exp.caller_lane) or "?"
                callee_v = ctx.versions.get(exp.callee_lane) or "?"
                groups[caller_v].setdefault(lane, set()).add(callee_v)
        for caller_v, lanes in groups.items():
            if len(lanes) > 1:
                rows.append({"caller": edge[0], "callee": edge[1],
                             "caller_version": caller_v or None,
                             "lanes": {ln: sorted(vs) for ln, vs in lanes.items()}})
    if rows:
        hops = [f"{_edge_text((r['caller'], r['callee']))} ({'/'.join(r['lanes'])})"
                for r in rows]
        ctx.findings.append(make(
            "LD806", "spec.lanes",
            f"without a lane tag, {len(rows)} hop(s) cannot be told apart: several lanes call "
            f"from the same version, so a call of one that reaches another's version looks "
            f"like the other's own: {_some(hops)}",
            "export with `--telemetry` so that Istio's metrics carry the lane"))
    return rows


# -- judging cells ---------------------------------------------------------------------------
def _judge(ctx: _Context, cell: Cell, tagged: bool) -> None:
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
    what = (f"{who}: {_edge_text(edge)} reached {', '.join(v or '?' for v in wrong)} in "
            f"{_pct(share)} of calls ({_num(cell.unexpected)} of {_num(cell.total)}); the "
            f"design expects {', '.join(cell.expected)}")
    path = ctx.paths[edge]
    absent = [v for v in cell.expected if v not in ctx.seen_versions[cell.callee]]
    baseline_v = ctx.versions.get(ctx.design.baseline)
    caller = cell.caller or "the ingress gateway"
    lost_context = bool(cell.lanes) and (
        cell.lost >= cell.unexpected / 2 if tagged else
        wrong == [baseline_v] and cell.caller is not None and not absent)
    if lost_context:
        cause = (f"{_num(cell.lost)} of them carried no lane context" if tagged else
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
            "back" + (f" or failed ({_num(cell.errors)} answered 5xx)" if cell.errors else "")
            + "; deploy it or take the service out of the lane"))
    else:
        ctx.findings.append(make(
            "LD801", path, what,
            f"the mesh routes {cell.callee} differently from the design: compare the applied "
            f"VirtualService of {cell.callee} with `lanedesign diff`"))


def _unseen(ctx: _Context, calls: list[Call]) -> list[Edge]:
    """Designed calls reachable from the ingress that no series shows."""
    seen = {c.edge for c in calls}
    called = {c.callee for c in calls}
    reachable = _reachable_calls(ctx.design)
    # a caller that received no call explains its own silence: report the first hop only
    unseen = [edge for edge in ctx.paths if edge in reachable and edge not in seen
              and (edge[0] is None or edge[0] in called)]
    for edge in unseen:
        ctx.findings.append(make(
            "LD805", ctx.paths[edge], f"{_edge_text(edge)}: the design has this call, but "
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
