"""Observed calls and the cells they fill: the data ``compare`` works on and returns."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..findings import Finding
from ..model import LaneDesign
from .expect import Edge, Expectation

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
            "reached": {v: {"count": round_count(n), "share": round(n / total, 4)}
                        for v, n in sorted(self.reached.items())},
            "calls": round_count(self.total), "unexpected_share": round(self.share, 4),
            "lost_context": round_count(self.lost), "errors_5xx": round_count(self.errors),
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


def round_count(x: float) -> float | int:
    return round(x) if abs(x - round(x)) < 1e-6 else round(x, 2)


def pct(share: float) -> str:
    return f"{share:.0%}" if share >= 0.01 else f"{share:.1%}"


def num(x: float) -> str:
    return f"{round_count(x):g}" if isinstance(round_count(x), float) else str(round_count(x))


def some(names: Iterable[str]) -> str:
    items = list(names)
    more = len(items) - SAMPLE_LIMIT
    return ", ".join(items[:SAMPLE_LIMIT]) + (f" and {more} more" if more > 0 else "")


def edge_text(edge: Edge) -> str:
    caller, callee = edge
    return f"{caller or 'ingress'} -> {callee}"


@dataclass
class Context:
    """One comparison's inputs and the findings it collects."""

    design: LaneDesign
    tolerance: float
    expectations: dict[str, dict[Edge, set[Expectation]]]
    paths: dict[Edge, str]
    versions: dict[str, str | None]  # lane -> version
    seen_versions: dict[str, set[str]]  # service -> versions that received calls
    findings: list[Finding] = field(default_factory=list)
