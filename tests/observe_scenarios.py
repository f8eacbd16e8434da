"""Seeded designs with injected faults, and the findings each fault must cause (and no more).

The expected findings are worked out here from the simulator's walk (``simulate.walk``), not
from ``lanedesign.observe``: which calls a dropped context or a missing version touches, and
which of them a metric can show at all.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from benchmarks.generate import synthetic_design
from lanedesign import examples
from lanedesign.model import LaneDesign
from lanedesign.observe import (
    DropsContext,
    ExtraCall,
    MissingVersion,
    ambient_samples,
    synthetic_samples,
)
from lanedesign.observe.calls import Sample
from lanedesign.simulate import walk


@dataclass(frozen=True)
class Scenario:
    name: str
    design: LaneDesign
    faults: tuple
    tagged: bool
    expected: frozenset  # {(code, path)} of the error and warning findings
    # Istio ambient: the services behind a waypoint (the rest report L4 only); None: sidecars
    behind_waypoint: tuple[str, ...] | None = None

    def samples(self) -> list[Sample]:
        """What Prometheus stores for the scenario's traffic."""
        if self.behind_waypoint is None:
            return synthetic_samples(self.design, faults=self.faults, tagged=self.tagged)
        return ambient_samples(self.design, self.behind_waypoint, faults=self.faults,
                               tagged=self.tagged)


def version(design: LaneDesign, lane: str) -> str:
    return design.lane(lane).label_map["version"]


def call_path(design: LaneDesign, caller: str, callee: str) -> str:
    i = design.service_names.index(caller)
    return f"spec.services[{i}].calls[{design.services[i].calls.index(callee)}]"


def lane_hops(design: LaneDesign, lane: str):
    return walk(design, design.ingress.entry, lane)[0]


def in_context_everywhere(design: LaneDesign, lane: str, service: str) -> bool:
    """``service`` is reached in ``lane`` and every path to it carries the lane."""
    hops = [h for h in lane_hops(design, lane) if h.service == service]
    return bool(hops) and all(h.context == lane for h in hops)


def pick_faults(design: LaneDesign, seed: int) -> tuple[tuple, frozenset]:
    """A dropped context, a missing lane version and an extra call, on unrelated services."""
    rng = random.Random(seed)
    base_v = version(design, design.baseline)
    lanes = [ln.name for ln in design.lanes if ln.name != design.baseline]
    rng.shuffle(lanes)
    drop_lane, missing_lane = lanes[0], lanes[1]
    expected = set()
    # 1. a propagating app in drop_lane whose callees' lane versions differ from the baseline
    drops = []
    for svc in design.services:
        if not svc.propagates or not in_context_everywhere(design, drop_lane, svc.name):
            continue
        visible = [c for c in svc.calls
                   if version(design, design.serving_lane(drop_lane, c)) != base_v]
        if visible:
            drops.append((svc.name, visible))
    dropper, visible = rng.choice(drops)
    expected |= {("LD802", call_path(design, dropper, c)) for c in visible}
    # 2. a service of missing_lane whose lane version nothing else routes to, reached in lane
    below = {h.service for h in lane_hops(design, drop_lane)}
    options = []
    for name in design.lane(missing_lane).services:
        if name == design.ingress.entry or not in_context_everywhere(design, missing_lane, name):
            continue
        others = [ln for ln in design.lane_names if ln != missing_lane
                  and design.serving_lane(ln, name) == missing_lane]
        if not others and name != dropper:
            options.append(name)
    missing = rng.choice(options)
    callers = {h.caller for h in lane_hops(design, missing_lane)
               if h.service == missing and h.context == missing_lane}
    expected |= {("LD803", call_path(design, c, missing)) for c in callers}
    # 3. an extra call from a reached service to a leaf it does not call
    leaves = [s.name for s in design.services if not s.calls
              and s.name not in (missing, dropper)]
    callers = [s for s in design.services if s.name in below and s.name != dropper]
    while True:
        caller, leaf = rng.choice(callers), rng.choice(leaves)
        if leaf not in caller.calls and leaf != caller.name:
            break
    i = design.service_names.index(caller.name)
    expected.add(("LD804", f"spec.services[{i}].calls"))
    faults = (DropsContext(dropper, drop_lane, 0.4), MissingVersion(missing, missing_lane),
              ExtraCall(caller.name, leaf))
    return faults, frozenset(expected)


def mock_all_versions() -> LaneDesign:
    """The mock with s2 holding every service: each lane's version pair is its own, except
    the gateway's and mocka v1's calls (s1 and s3)."""
    design = examples.load("mock-baggage")
    return design.with_membership("s2", "mockb", True)


def scenarios() -> list[Scenario]:
    out = []
    for seed in (1, 2, 3):
        design = synthetic_design(16, 4, seed=seed, name=f"seeded-{seed}")
        faults, expected = pick_faults(design, seed)
        out.append(Scenario(f"seeded-{seed}", design, faults, True, expected))
    mock = examples.load("mock-baggage")
    out.append(Scenario("mock-clean", mock, (), True, frozenset()))
    out.append(Scenario("mock-tagged", mock, (DropsContext("mockb", "s2", 0.4),), True,
                        frozenset({("LD802", "spec.services[1].calls[0]")})))
    full = mock_all_versions()
    out.append(Scenario(
        "untagged", full, (DropsContext("mockb", "s2", 0.4), MissingVersion("mockb", "s3"),
                           ExtraCall("mocka", "mockc")), False,
        # the drop shows (mockb v2 is s2's alone); s3's missing mockb falls back to v1, which
        # is what s1 calls from mocka v1: that hop cannot be told apart (LD806, info)
        frozenset({("LD802", "spec.services[1].calls[0]"), ("LD804", "spec.services[0].calls")})))
    # ambient: the waypoint reports the requests (reporter="waypoint"); the same dropped
    # context is found where mockc is behind the waypoint, and cannot be seen where only
    # ztunnel's L4 counts reach it (LD966, info; no LD805 for the unobservable call)
    ambient = mock.with_(data_plane="ambient")
    dropped = (DropsContext("mockb", "s2", 0.4),)
    out.append(Scenario("ambient-waypoint", ambient, dropped, True,
                        frozenset({("LD802", "spec.services[1].calls[0]")}),
                        ("mocka", "mockb", "mockc")))
    out.append(Scenario("ambient-l4", ambient, dropped, True, frozenset(),
                        ("mocka", "mockb")))
    return out
