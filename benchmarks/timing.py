"""Timing a piece of work against its floor, interleaved so both see the same machine load.

The machine may be shared (other jobs, two cores), so absolute seconds drift between runs.
Each sample times the work and then its floor back to back; a burst of load hits both, and the
ratio of their medians stays meaningful where the seconds alone would not.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Budget:
    """How long to spend per metric: seconds of samples, and bounds on their number."""

    seconds: float
    min_repeats: int
    max_repeats: int

    def repeats(self, estimate: float) -> int:
        """Samples that fit the budget for work taking ``estimate`` seconds (slow work: fewer)."""
        fit = int(self.seconds / max(estimate, 1e-9))
        return max(self.min_repeats, min(self.max_repeats, fit))


FULL = Budget(seconds=3.0, min_repeats=3, max_repeats=50)
QUICK = Budget(seconds=0.3, min_repeats=1, max_repeats=5)
# Beyond this many seconds per sample (an XL export), first-call costs are lost in the noise:
# the warm-up counts as a sample and one more is taken, so XL stays within minutes.
SLOW_WORK = 5.0


@dataclass(frozen=True)
class Metric:
    """One measured figure with its floor from the same run; ``ratio`` = median / floor."""

    name: str
    median: float
    floor: float
    unit: str  # "s" for seconds, "B" for bytes
    repeats: int
    floor_is: str  # what the floor measures, in a few words
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.median / self.floor if self.floor > 0 else float("inf")

    def to_dict(self) -> dict[str, Any]:
        return {"median": self.median, "floor": self.floor, "ratio": self.ratio,
                "unit": self.unit, "repeats": self.repeats, "floor_is": self.floor_is,
                **({"detail": self.detail} if self.detail else {})}


def timed(fn: Callable[[], object]) -> float:
    """Seconds one call of ``fn`` takes (garbage collected first, so old garbage is not billed)."""
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(name: str, work: Callable[[], object], floor: Callable[[], object], floor_is: str,
            budget: Budget, detail: dict[str, Any] | None = None) -> Metric:
    """Median seconds of ``work`` and of ``floor``, sampled alternately after one warm-up each.

    The warm-up absorbs first-call costs (imports, caches, compiling the wasm renderer) that
    an interactive session pays once, and gives the estimate that sizes the sample count.
    """
    return measure_against({name: work}, floor, floor_is, budget, detail)[0]


def measure_against(works: dict[str, Callable[[], object]], floor: Callable[[], object],
                    floor_is: str, budget: Budget,
                    detail: dict[str, Any] | None = None) -> list[Metric]:
    """``measure`` for several pieces of work sharing one floor, sampled in turn with it."""
    fns = [*works.values(), floor]
    times = [[timed(fn)] for fn in fns]
    estimate = sum(t[0] for t in times)
    if estimate > SLOW_WORK:
        repeats = 1
    else:
        repeats = budget.repeats(estimate)
        times = [[] for _ in fns]  # the warm-up paid first-call costs: not a sample
    for _ in range(repeats):
        for fn, samples in zip(fns, times):
            samples.append(timed(fn))
    floor_median = statistics.median(times[-1])
    return [Metric(name, statistics.median(samples), floor_median, "s", len(samples), floor_is,
                   detail or {})
            for name, samples in zip(works, times)]
