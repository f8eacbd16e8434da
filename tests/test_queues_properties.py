"""Random designs with topics: the simulator agrees with an independent interpreter of the
queue rules (tests/queue_interpreter.py, written from docs/queues.md) on every hop, so on
which consumer (service, lane) takes each lane's message and what it calls next."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from queue_interpreter import QueueRules, Step
from strategies import designs_with_topics
from test_queues import t6

from lanedesign.model import (
    LaneDesign,
    RequestMatch,
    RouteDestination,
    Routing,
    StringMatch,
    TeamRoute,
)
from lanedesign.simulate import explore, simulate

PROPERTY = settings(max_examples=250, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def simulated(design: LaneDesign, lane: str | None) -> list[Step]:
    entry = design.ingress.entry
    if lane is None:
        graph, _ = explore(design, entry, None)
        tree = graph.tree(None)
    else:
        tree = simulate(design, {}, lane=lane).tree(None)
    assert not tree.more_paths
    return [Step(h.depth, h.caller, h.service, h.lane, h.context, h.topic) for h in tree.hops]


def chains(design: LaneDesign) -> list[str | None]:
    return [*design.lane_names, None, "no-such-lane"]


@PROPERTY
@given(designs_with_topics())
def test_the_simulator_agrees_with_the_interpreter_on_every_hop(design):
    rules = QueueRules(design)
    for lane in chains(design):
        assert simulated(design, lane) == rules.walk(design.ingress.entry, lane), lane


@PROPERTY
@given(designs_with_topics())
def test_each_lanes_message_reaches_the_consumer_the_producers_lane_decides(design):
    """The consumer hop of every message, and what it calls next, as the rules say."""
    rules = QueueRules(design)
    for lane in design.lane_names:
        steps = simulated(design, lane)
        for i, step in enumerate(steps):
            if step.topic is None:
                continue
            parent = next(s for s in reversed(steps[:i]) if s.depth == step.depth - 1)
            tagged = parent.context is not None and rules.keeps(parent.service)
            assert (step.lane, step.context is not None) == rules.taker(
                parent.lane, tagged, step.service)
            # its own calls: the hops right below it up to its next sibling, messages aside
            after = steps[i + 1:]
            end = next((k for k, s in enumerate(after) if s.depth <= step.depth), len(after))
            calls = [(s.service, s.lane) for s in after[:end]
                     if s.depth == step.depth + 1 and s.topic is None]
            above, depth = set(), step.depth  # the services on the path down to it
            for s in reversed(steps[:i]):
                if s.depth < depth:
                    above.add(s.service)
                    depth = s.depth
            onward = step.context if rules.keeps(step.service) else None
            expected = [(c, rules.serving(onward, c)) for c in rules.calls(step.service, step.lane)
                        if c in rules.services and c not in above | {step.service}]
            assert calls == expected


QA_ROUTE = Routing(routes=(TeamRoute("qa", (RequestMatch(headers=(
    ("x-user", StringMatch("exact", "qa")),)),), (RouteDestination("unused"),)),))


@PROPERTY
@given(designs_with_topics())
def test_the_routed_walk_follows_messages_by_the_same_rule(design):
    """Where teams' routes steer (a route no request here matches), the other walk
    (simulate_team) must still agree with the interpreter through every topic."""
    steered = design
    for name in design.service_names:
        steered = steered.with_routing(name, QA_ROUTE)
    assert steered.team_steered
    rules = QueueRules(design)
    for lane in design.lane_names:
        assert simulated(steered, lane) == rules.walk(design.ingress.entry, lane), lane


class RequestLaneConsumer(QueueRules):
    """A wrong rule: the consumer of the *request's* lane takes the message."""

    def walk(self, entry, lane):
        self._lane = lane
        return super().walk(entry, lane)

    def taker(self, producer_lane, tagged, consumer):
        found = super().taker(producer_lane, tagged, consumer)
        return found and (self.serving(self._lane, consumer), found[1])


def test_the_interpreter_reproduces_asm_t6():
    steps = QueueRules(t6()).walk("a", "v2")
    assert [(s.service, s.lane, s.context, s.topic) for s in steps] == [
        ("a", "v2", "v2", None), ("b", "v1", "v2", None), ("c", "v1", "v2", "orders"),
        ("d", "v2", "v2", None)]


def test_the_comparison_catches_a_wrong_rule():
    """Where the producer fell back and the consumer's lane holds it, the wrong rule differs."""
    design = t6()
    design = design.with_(lanes=(design.lanes[0], replace(design.lanes[1],
                                                          services=("a", "c", "d"))))
    assert simulated(design, "v2") == QueueRules(design).walk("a", "v2")
    assert simulated(design, "v2") != RequestLaneConsumer(design).walk("a", "v2")


def test_random_designs_do_reach_consumers():
    """Not vacuous: the strategy makes designs whose requests cross topics in every way."""
    seen: set[str] = set()

    class Recording(QueueRules):
        def taker(self, producer_lane, tagged, consumer):
            found = super().taker(producer_lane, tagged, consumer)
            if found is None:
                seen.add("never consumed")
            return found

    @settings(max_examples=500, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(designs_with_topics())
    def collect(design):
        rules = Recording(design)
        for lane in design.lane_names:
            rules.walk(design.ingress.entry, lane)
            for step in simulated(design, lane):
                if step.topic is None:
                    continue
                seen.add("message")
                if step.context is None:
                    seen.add("untagged")
                elif step.lane != rules.serving(step.context, step.service):
                    seen.add("pinned")
                if not rules.services[step.service].filters_by_lane:
                    seen.add("competing")

    collect()
    assert seen == {"message", "untagged", "pinned", "competing", "never consumed"}
