"""An independent interpreter of the queue rules (docs/queues.md), for the property tests.

Written from the docs, not from lanedesign's simulator: it reads the design's plain fields
only (no ``serving_lane``, ``keeps_context`` or other model helpers) and walks every call
path recursively, where the simulator explores (service, context) states once each and
derives the tree from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Step:
    """One hop of the per-path walk: who, served by which lane, carrying which lane context,
    and the topic when the hop is a message."""

    depth: int
    caller: str | None
    service: str
    lane: str
    context: str | None
    topic: str | None


class QueueRules:
    """The rules of lanes.md §2 and docs/queues.md over a design's plain fields."""

    def __init__(self, design: Any) -> None:
        self.baseline = design.baseline
        self.strict = design.mode == "strict"
        self.members: dict[str, set[str]] = {}
        for lane in design.lanes:
            self.members.setdefault(lane.name, set(lane.services))
        self.fallback = dict(design.fallback)
        self.services: dict[str, Any] = {}
        for svc in design.services:
            self.services.setdefault(svc.name, svc)
        method = design.pass_through.method
        self.context_header = ("baggage" if method == "baggage" else
                               design.pass_through.trace_header or "" if method == "traceId"
                               else design.route_header).lower()

    # lanes.md §2: the lane itself if it holds the service, else its fallback target;
    # no lane or an unknown one: the baseline
    def serving(self, lane: str | None, service: str) -> str:
        if lane is None or lane not in self.members:
            return self.baseline
        if service in self.members[lane]:
            return lane
        return self.fallback.get(service, self.baseline)

    def keeps(self, service: str) -> bool:
        svc = self.services[service]
        if not svc.propagates:
            return False
        return svc.forwards is None or self.context_header in [h.lower() for h in svc.forwards]

    def calls(self, service: str, lane: str) -> tuple[str, ...]:
        """What the version of ``service`` in ``lane`` calls (laneCalls, else calls)."""
        svc = self.services[service]
        return dict(svc.lane_calls).get(lane, svc.calls)

    def taker(self, producer_lane: str, tagged: bool, consumer: str,
              ) -> tuple[str, bool] | None:
        """(the consumer's serving lane, whether its calls carry the lane), or None when the
        message is never consumed (docs/queues.md, the table)."""
        if not tagged:
            return self.baseline, False
        if not self.services[consumer].filters_by_lane:
            return self.baseline, True
        if self.strict and consumer not in self.members.get(producer_lane, {consumer}):
            return None
        return self.serving(producer_lane, consumer), True

    def walk(self, entry: str, lane: str | None) -> list[Step]:
        """Every path from ``entry`` for a chain in ``lane``: calls in order, then each
        published topic's consumers in service order; nothing already on the path twice."""
        out: list[Step] = []
        consumers = {}
        for name, svc in self.services.items():
            for topic in svc.consumes:
                consumers.setdefault(topic, []).append(name)

        def visit(caller: str | None, service: str, served: str, context: str | None,
                  topic: str | None, path: tuple[str, ...]) -> None:
            out.append(Step(len(path), caller, service, served, context, topic))
            here = (*path, service)
            onward = context if self.keeps(service) else None
            for callee in self.calls(service, served):
                if callee in self.services and callee not in here:
                    visit(service, callee, self.serving(onward, callee), onward, None, here)
            tagged = onward is not None
            for name in self.services[service].publishes:
                for consumer in consumers.get(name, ()):
                    if consumer in here:
                        continue
                    taken = self.taker(served, tagged, consumer)
                    if taken is not None:
                        visit(service, consumer, taken[0], onward if taken[1] else None,
                              name, here)

        visit(None, entry, self.serving(lane, entry), lane, None, ())
        return out
