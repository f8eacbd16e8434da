"""Synthetic mesh traffic: the request counts Istio would record for a design, with faults.

For tests, benchmarks and teaching, never for a real mesh. Each lane sends ``requests``
requests through the entry service; every service calls each of its callees once per call it
receives, and the version serving each call follows the design's rule (``serving_lane``),
unless a fault says otherwise:

- ``DropsContext(service, lane, share)``: the app loses the lane context on ``share`` of its
  outbound calls (in ``lane``, or every lane): those calls and all below them are served by
  the baseline and carry no lane tag;
- ``MissingVersion(service, lane)``: the lane's version of the service is not deployed, so its
  calls fall back to the service's fallback target (ASM permissive mode's behaviour);
- ``ExtraCall(caller, callee)``: the app makes a call the design lacks;
- ``UnusedCall(caller, callee)``: the app never makes a call the design has.

The samples have exactly the labels ``query.requests_query`` groups by, so they go through the
same ``compare`` as Prometheus's answer; ``openmetrics`` writes them as counters over a window
for ``promtool tsdb create-blocks-from openmetrics``.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..model import LaneDesign
from .calls import LANE_TAG, NO_LANE, UNKNOWN, Sample
from .expect import lane_version
from .query import L4_METRIC, METRIC

GATEWAY_WORKLOAD, GATEWAY_NAMESPACE = "istio-ingressgateway", "istio-system"


@dataclass(frozen=True)
class DropsContext:
    service: str
    lane: str | None = None  # None: in every lane
    share: float = 1.0


@dataclass(frozen=True)
class MissingVersion:
    service: str
    lane: str


@dataclass(frozen=True)
class ExtraCall:
    caller: str
    callee: str  # a service of the design, or a name it lacks
    share: float = 1.0  # calls per call the caller receives


@dataclass(frozen=True)
class UnusedCall:
    caller: str
    callee: str


Fault = DropsContext | MissingVersion | ExtraCall | UnusedCall
State = tuple[str, str | None]  # (service, lane context)


def synthetic_samples(design: LaneDesign, requests: float = 600.0,
                      faults: Sequence[Fault] = (), tagged: bool = True,
                      lanes: Iterable[str] | None = None,
                      weights: dict[str, float] | None = None) -> list[Sample]:
    """Request counts per label set for ``requests`` requests into each of ``lanes``.

    A weighted ingress splits the same total by its weights (lanes of weight 0 get none);
    ``weights`` overrides the split (e.g. to play a gateway that ignores the design's).
    """
    counts: dict[tuple, float] = defaultdict(float)
    chosen = list(dict.fromkeys(design.lane_names if lanes is None else lanes))
    split = weights
    if split is None and design.ingress is not None and design.ingress.strategy == "weighted" \
            and lanes is None:
        split = {lane: float(w) for lane, w in design.ingress.weights}
    if split:
        total = sum(split.values()) or 1.0
        per_lane = {lane: requests * len(chosen) * split.get(lane, 0.0) / total
                    for lane in chosen}
    else:
        per_lane = {lane: requests for lane in chosen}
    for lane, n in per_lane.items():
        if n > 0:
            _lane_traffic(design, lane, n, faults, counts)
    samples = []
    for key, value in sorted(counts.items()):
        labels = dict(key)
        if not tagged:
            labels.pop(LANE_TAG)
        samples.append(Sample.of(labels, value))
    if tagged:
        return samples
    merged: dict[tuple, float] = defaultdict(float)  # without the tag, lanes add up
    for s in samples:
        merged[s.labels] += s.value
    return [Sample(k, v) for k, v in sorted(merged.items())]


def _lane_traffic(design: LaneDesign, lane: str, requests: float, faults: Sequence[Fault],
                  counts: dict[tuple, float]) -> None:
    services = {s.name: s for s in reversed(design.services)}
    entry = design.ingress.entry if design.ingress else ""
    if entry not in services:
        return
    serve = design.serving_lane_resolver()
    missing = {(f.service, f.lane) for f in faults if isinstance(f, MissingVersion)}
    unused = {(f.caller, f.callee) for f in faults if isinstance(f, UnusedCall)}
    extra = [f for f in faults if isinstance(f, ExtraCall)]

    def version(context: str | None, service: str) -> str:
        served = serve(context, service)
        if (service, served) in missing:
            served = design.fallback_for(service)
        return lane_version(design.lane(served)) or UNKNOWN

    def dropped(service: str) -> float:
        if not services[service].propagates:
            return 1.0
        return max((f.share for f in faults if isinstance(f, DropsContext)
                    and f.service == service and f.lane in (None, lane)), default=0.0)

    # the state graph: (service, context) -> [(child state or None, share, labels)]
    graph: dict[State, list[tuple[State | None, float, tuple]]] = {}
    start: State = (entry, lane)
    queue = deque([start])
    graph[start] = []
    while queue:
        state = queue.popleft()
        name, context = state
        here = version(context, name)
        drop = dropped(name) if context is not None else 0.0
        callees = [(c, 1.0) for c in services[name].calls
                   if c in services and (name, c) not in unused]
        callees += [(f.callee, f.share) for f in extra if f.caller == name]
        for callee, per_call in callees:
            for carried, share in ((context, 1.0 - drop), (None, drop)):
                if share <= 0:
                    continue
                known = callee in services
                callee_v = version(carried, callee) if known else "v1"
                labels = _labels(design, name, here, callee, callee_v, carried)
                child = (callee, carried) if known else None
                graph[state].append((child, share * per_call, labels))
                if child is not None and child not in graph:
                    graph[child] = []
                    queue.append(child)
    rates = _rates(graph, start, requests)
    counts[_labels(design, None, UNKNOWN, entry, version(lane, entry), lane)] += requests
    for state, edges in graph.items():
        for _child, share, labels in edges:
            counts[labels] += rates[state] * share


def _rates(graph: dict[State, list], start: State, requests: float) -> dict[State, float]:
    """Calls each state receives: the sum over its callers (a call closing a cycle is made
    but not followed, as in the simulator)."""
    back = _back_edges(graph, start)
    indegree: dict[State, int] = defaultdict(int)
    for state, edges in graph.items():
        for child, _, _ in edges:
            if child is not None and (state, child) not in back:
                indegree[child] += 1
    rates: dict[State, float] = defaultdict(float)
    rates[start] = requests
    ready = deque([start])
    while ready:
        state = ready.popleft()
        for child, share, _ in graph[state]:
            if child is None or (state, child) in back:
                continue
            rates[child] += rates[state] * share
            indegree[child] -= 1
            if indegree[child] == 0:
                ready.append(child)
    return rates


def _back_edges(graph: dict[State, list], start: State) -> set[tuple[State, State]]:
    back, on_path, done = set(), {start}, set()
    stack = [(start, iter(graph[start]))]
    while stack:
        state, edges = stack[-1]
        for child, _, _ in edges:
            if child is None:
                continue
            if child in on_path:
                back.add((state, child))
            elif child not in done:
                on_path.add(child)
                stack.append((child, iter(graph[child])))
                break
        else:
            stack.pop()
            on_path.discard(state)
            done.add(state)
    return back


def _labels(design: LaneDesign, caller: str | None, caller_v: str, callee: str,
            callee_v: str, context: str | None) -> tuple:
    if caller is None:
        workload, namespace, canonical = GATEWAY_WORKLOAD, GATEWAY_NAMESPACE, GATEWAY_WORKLOAD
    else:
        workload, namespace, canonical = (f"{caller}-{caller_v}", design.namespace_of(caller),
                                          caller)
    known = design.service(callee) is not None
    return (("destination_service_name", callee),
            ("destination_service_namespace",
             design.namespace_of(callee) if known else design.namespace),
            ("destination_version", callee_v), (LANE_TAG, context or NO_LANE),
            ("response_code", "200"), ("source_canonical_service", canonical),
            ("source_version", caller_v), ("source_workload", workload),
            ("source_workload_namespace", namespace))


def openmetrics(samples: Iterable[Sample], end: float, window: float = 900.0,
                step: float = 15.0, reporter: str = "destination") -> str:
    """Counters that grow evenly over ``window`` up to ``end`` (unix seconds), so that
    ``increase(...[window])`` at ``end`` gives back each sample's value. A sample's own
    ``reporter`` label wins over ``reporter``; its ``__name__`` (``ambient_samples``' L4
    series) names another metric than ``istio_requests_total``."""
    steps = max(1, round(window / step))
    families: dict[str, list[Sample]] = {}
    for sample in samples:
        families.setdefault(sample.label_map.get("__name__", METRIC), []).append(sample)
    lines = []
    for metric, members in families.items():
        lines += [f"# HELP {metric} Synthetic Istio counts (lanedesign tests).",
                  f"# TYPE {metric} counter"]
        for sample in members:
            own = {k: v for k, v in sample.label_map.items() if k != "__name__"}
            labels = ",".join(f'{k}="{_escape(v)}"'
                              for k, v in sorted({"reporter": reporter, **own}.items()))
            per_step = sample.value / steps
            for i in range(steps + 1):
                t = end - window + i * step
                lines.append(f"{metric}{{{labels}}} {per_step * i!r} {t:.3f}")
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


# the labels ztunnel's L4 series carry that the query reads (no request, version or lane)
_L4_LABELS = ("destination_service_name", "destination_service_namespace",
              "source_workload", "source_workload_namespace")


def ambient_samples(design: LaneDesign, behind_waypoint: Iterable[str],
                    **kwargs: object) -> list[Sample]:
    """``synthetic_samples`` as Istio ambient reports them: calls to a service behind a
    waypoint are the waypoint's requests (``reporter="waypoint"``, the app workloads as
    source and destination); calls to the others are only ztunnel's L4 connection counts
    (``istio_tcp_connections_opened_total``, reporter ``destination``)."""
    behind = set(behind_waypoint)
    l7, l4 = [], defaultdict(float)
    for sample in synthetic_samples(design, **kwargs):  # type: ignore[arg-type]
        labels = sample.label_map
        if labels["destination_service_name"] in behind:
            l7.append(Sample.of({**labels, "reporter": "waypoint"}, sample.value))
        else:
            l4[tuple((k, labels[k]) for k in _L4_LABELS)] += sample.value
    return l7 + [Sample.of({**dict(key), "__name__": L4_METRIC, "reporter": "destination"},
                           value) for key, value in sorted(l4.items())]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
