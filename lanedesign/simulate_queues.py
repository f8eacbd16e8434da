"""Where a message goes (docs/queues.md): the queue rule both simulator walks share.

The mesh cannot route messages; the apps carry the lane across a topic. The producer writes
its own serving lane as the message's filter key and the chain's lane as its tag (when it
keeps the context); a filtering consumer's version in the filter key's lane takes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .model import LaneDesign

# (consumer, context carried, pinned lane or None, topic): one message's consumer state
Message = tuple[str, bool, "str | None", str]


class Messages:
    """Where a state's messages go (docs/queues.md), for one chain lane.

    The producer writes its own serving lane as the message's filter key and the chain's
    lane as its tag (when it keeps the context). A filtering consumer's version in the
    filter key's lane takes the message; if that lane lacks the consumer, its fallback
    target's (loose mode) or nobody (strict mode). A consumer that does not filter: any
    version may take it; the simulator shows the baseline's. An untagged message: the
    baseline's consumer, and its calls carry no lane.
    """

    def __init__(self, design: LaneDesign, lane: str | None, services: Mapping[str, Any],
                 warnings: list[str], merge: bool = True) -> None:
        # merge: a consumer state the chain's lane would serve anyway is the usual state
        # (pinned None); the routed walk keeps every message's state pinned instead
        self.design, self.lane, self.services, self.warnings = design, lane, services, warnings
        self.merge = merge
        self.serve = design.serving_lane_resolver()
        self.baseline = design.baseline
        self.strict = design.mode == "strict"
        self.warned: set[tuple[str, ...]] = set()
        self.consumers: dict[str, list[str]] = {}
        for name, svc in services.items():
            for topic in svc.consumes:
                self.consumers.setdefault(topic, []).append(name)

    def _warn(self, key: tuple[str, ...], text: str) -> None:
        if key not in self.warned:
            self.warned.add(key)
            self.warnings.append(text)

    def messages(self, name: str, producing: str, tagged: bool) -> list[Message]:
        """The consumer state of each message ``name`` publishes, serving in ``producing``
        (the filter key it writes); ``tagged``: it carries the chain's lane into the message."""
        out = []
        for topic in self.services[name].publishes:
            for consumer in self.consumers.get(topic, ()):
                found = self._consumer(name, producing, tagged, topic, consumer)
                if found is not None:
                    out.append(found)
        return out

    def _consumer(self, producer: str, producing: str, tagged: bool, topic: str,
                  consumer: str) -> Message | None:
        if not tagged:  # an untagged message: the baseline's consumer, calls carry no lane
            return (consumer, False, None if self.merge else self.baseline, topic)
        own = self.serve(self.lane, consumer)  # who would serve a call to it in this chain
        if not self.services[consumer].filters_by_lane:
            versions = [ln.name for ln in self.design.lanes if ln.holds(consumer)]
            self._warn(("compete", topic, consumer),
                       f"{consumer} does not filter {topic} by lane: any of its versions "
                       f"({', '.join(versions)}) may take the message; shown: the baseline's "
                       f"({self.baseline})")
            return self._pinned(consumer, topic, self.baseline, own)
        holder = self.design.lane(producing)
        if self.strict and holder is not None and not holder.holds(consumer):
            self._warn(("strict", topic, producing, consumer),
                       f"message on {topic} from {producer}@{producing} is never consumed: "
                       f"strict lane {producing} has no {consumer} (no fallback in strict "
                       "mode)")
            return None
        taker = self.serve(producing, consumer)
        if taker != producing:
            self._warn(("fallback", topic, producing, consumer),
                       f"lane {producing} publishes to {topic} but has no {consumer}: its "
                       f"messages reach {consumer}@{taker} only if that consumer also takes "
                       f"filter key {producing} (ASM calls this deployment illegal)")
        return self._pinned(consumer, topic, taker, own)

    def _pinned(self, consumer: str, topic: str, taker: str, own: str) -> Message:
        """The consumer's state: the chain's usual one when the taker is the lane that would
        serve a call to it anyway (and merging), else one pinned to the taker's lane."""
        return (consumer, True, None if self.merge and taker == own else taker, topic)
