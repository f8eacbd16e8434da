"""``observe``: one query to Prometheus, then the pure comparison with the design."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ..model import LaneDesign
from .compare import DEFAULT_TOLERANCE, LANE_TAG, Comparison, compare
from .prometheus import Prometheus, PrometheusError, redact
from .query import requests_query, samples_from_answer


@dataclass(frozen=True)
class Observation:
    """The comparison, and what was asked of whom (the URL redacted, never the token)."""

    comparison: Comparison
    prometheus: str
    query: str
    window: str
    at: float
    queries: int

    def to_dict(self) -> dict[str, Any]:
        return {"prometheus": self.prometheus, "window": self.window,
                "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.at)),
                "query": self.query, "queries": self.queries, **self.comparison.to_dict()}


def observe(design: LaneDesign, prometheus: Prometheus, window: str = "15m",
            at: float | None = None, tolerance: float = DEFAULT_TOLERANCE,
            lane_tag: str = LANE_TAG, reporter: str | None = None) -> Observation:
    """Ask ``prometheus`` for the window's calls once and compare them with ``design``."""
    at = time.time() if at is None else at
    promql = requests_query(design, window, lane_tag, reporter)
    before = prometheus.queries
    answer = prometheus.query(promql, at)
    try:
        samples = samples_from_answer(answer)
    except ValueError as exc:
        raise PrometheusError(f"unexpected answer: {exc}", redact(prometheus.url)) from None
    return Observation(compare(design, samples, tolerance, lane_tag), redact(prometheus.url),
                       promql, window, at, prometheus.queries - before)
