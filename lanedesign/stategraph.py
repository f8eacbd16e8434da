"""What the simulator answers: the state graph of a request, and the per-path tree from it.

``simulate`` builds these (``simulate_team`` where a team's routing decides); ``render`` and
the designer read them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

SHAPE_CACHE = "_lanedesign_simulate_shapes"  # where a design keeps its explored shapes


@dataclass(frozen=True)
class Hop:
    """One call in the chain: who called whom, and which lane's version served it."""

    caller: str | None
    service: str
    lane: str
    fallback: bool
    labels: tuple[tuple[str, str], ...]
    context: str | None  # the chain's lane as carried into this call; None if lost
    depth: int
    # Where a team's routing applies (docs/istio.md, "A team's routing"): the team route that
    # chose the version ("routes[0]" when it has no name, "default"), the fault on the route
    # ("delay 7s", "abort 503 (10%)"), and the status an abort answers instead of the app.
    route: str | None = None
    fault: str | None = None
    status: int | None = None
    # The message topic the caller published to and this service consumed (an asynchronous
    # hop, docs/queues.md); None for a call.
    topic: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {
            "caller": self.caller,
            "service": self.service,
            "lane": self.lane,
            "fallback": self.fallback,
            "labels": dict(self.labels),
            "context": self.context,
            "depth": self.depth,
        }
        if self.topic is not None:
            out["topic"] = self.topic
        return {**out, **_team_fields(self.route, self.fault, self.status)}


def _team_fields(route: str | None, fault: str | None, status: int | None) -> dict[str, Any]:
    """``route``/``fault``/``status`` for the JSON, present only where a team's routing acted."""
    found = {"route": route, "fault": fault, "status": status}
    return {k: v for k, v in found.items() if v is not None}


@dataclass(frozen=True)
class StateNote:
    """What a team's routing did at one state: why it is served (``how``), the pods' labels,
    the team route, the fault, an abort's status."""

    how: str
    labels: tuple[tuple[str, str], ...]
    route: str | None = None
    fault: str | None = None
    status: int | None = None


HOWS = ("lane", "fallback", "lost")  # how a state is served: see StateGraph


@dataclass(frozen=True)
class Tree:
    """The per-path view of a request, cut at a display limit: ``hops`` then what was left out.

    ``more_paths`` counts the call paths (hops) beyond ``hops``; it is exact when ``exact``,
    else a lower bound (a cyclic call graph, where counting every path is not worth it).
    """

    hops: tuple[Hop, ...]
    more_paths: int = 0
    exact: bool = True

    @property
    def note(self) -> str:
        """``+N more paths`` (``+N or more paths`` for a bound), or "" when nothing is cut."""
        if not self.more_paths:
            return ""
        return f"+{self.more_paths:,} {'more' if self.exact else 'or more'} paths"


@dataclass(frozen=True, eq=False)
class Shape:
    """What a chain's exploration looks like whatever its lane: the lane-independent part.

    A chain that has a lane carries it unchanged until a service drops it, so the states
    a request reaches - (service, kept or lost) - and the calls between them are the same
    for every lane; only who serves each state differs. One design explores this once.
    """

    services: tuple[str, ...]
    kept: tuple[bool, ...]  # the chain's context still carried into this state
    calls: tuple[tuple[int, ...], ...]
    finish: tuple[int, ...]
    cyclic: bool
    warnings: tuple[str, ...]
    kept_index: Mapping[str, int]  # service -> its state with the context kept
    away: tuple[str, ...]  # who serves each state for a lane lacking the service
    # Designs with message topics (docs/queues.md) only; their shapes are made per lane.
    # ``via[i][k]`` is the topic of state i's k-th edge (``calls[i][k]``), None for a call:
    # an asynchronous edge runs from a producer's state to a consumer's.
    via: tuple[tuple[str | None, ...], ...] = ()
    # state -> its serving lane, for consumer states whose lane the producer's lane decides
    # (the message's filter key), not the chain's lane
    pinned: Mapping[int, str] = field(default_factory=dict)

    @cached_property
    def uncut_paths(self) -> tuple[int, ...]:
        """Per state, the call paths below it that the cycle rule can never cut.

        A call leaving its service's strongly connected component cannot lead back to any
        service on the path above (they all reach it, so they sit in earlier components),
        so paths made of such calls are in the tree whatever led there. Without cycles every
        call is one of them and the count is exact: the size of the state's subtree.
        """
        component = _components(self.services, self.calls)
        counts = [0] * len(self.services)
        for i in self.finish:  # callees first: a call between components is never a back edge
            here = component[self.services[i]]
            counts[i] = 1 + sum(counts[j] for j in self.calls[i]
                                if component[self.services[j]] != here)
        return tuple(counts)


def _components(services: Sequence[str], calls: Sequence[Sequence[int]]) -> dict[str, int]:
    """The strongly connected component of each service of the states' call graph (Kosaraju)."""
    out: dict[str, list[str]] = {}
    back: dict[str, list[str]] = {}
    for i, callees in enumerate(calls):
        out.setdefault(services[i], [])
        for j in callees:
            out[services[i]].append(services[j])
            back.setdefault(services[j], []).append(services[i])
    order: list[str] = []
    seen: set[str] = set()
    for root in out:
        if root in seen:
            continue
        seen.add(root)
        stack = [(root, iter(out[root]))]
        while stack:
            node, todo = stack[-1]
            nxt = next((n for n in todo if n not in seen), None)
            if nxt is None:
                stack.pop()
                order.append(node)
            else:
                seen.add(nxt)
                stack.append((nxt, iter(out.get(nxt, ()))))
    component: dict[str, int] = {}
    for root in reversed(order):
        if root in component:
            continue
        component[root] = root_id = len(component)
        todo = [root]
        while todo:
            for caller in back.get(todo.pop(), ()):
                if caller not in component:
                    component[caller] = root_id
                    todo.append(caller)
    return component


@dataclass(frozen=True, eq=False)
class StateGraph:
    """Every service a request reaches, once per lane context: the simulator's whole answer.

    What happens below a call depends only on the callee and the context carried into it, so
    each (service, context) pair is a *state*, visited once. Columns are indexed by state
    number, 0 being the entry service; ``calls[i]`` are the states that state i's calls lead
    to, in call order (unknown callees left out). ``hows`` says why the serving lane serves:
    ``lane`` (the chain's own lane, or the baseline for a chain without a lane), ``fallback``
    (the lane lacks the service) or ``lost`` (a caller dropped the context: the baseline).
    ``finish`` lists the states children first (DFS post-order); ``cyclic`` is true when some
    call path comes back to a service already on it.
    """

    lane: str | None  # the chain's lane (the context it starts with)
    shape: Shape
    lanes: tuple[str, ...]  # the serving lane of each state
    labels: Mapping[str, tuple[tuple[str, str], ...]]  # pod labels by lane name
    real: bool = True  # the lane is a lane of the design
    # per state, when a team's routing decides (``explore_routed``); None: lanes alone do
    notes: tuple[StateNote, ...] | None = None

    @property
    def services(self) -> tuple[str, ...]:
        return self.shape.services

    @property
    def calls(self) -> tuple[tuple[int, ...], ...]:
        return self.shape.calls

    @property
    def finish(self) -> tuple[int, ...]:
        return self.shape.finish

    @property
    def cyclic(self) -> bool:
        return self.shape.cyclic

    @cached_property
    def contexts(self) -> tuple[str | None, ...]:
        lane = self.lane
        return tuple(lane if kept else None for kept in self.shape.kept)

    @cached_property
    def hows(self) -> tuple[str, ...]:
        if self.notes is not None:
            return tuple(n.how for n in self.notes)
        lane, real = self.lane, self.real
        lost = "lost" if lane is not None else "lane"
        return tuple(lost if not kept else "fallback" if real and served != lane else "lane"
                     for kept, served in zip(self.shape.kept, self.lanes))

    def __len__(self) -> int:
        return len(self.services)

    @cached_property
    def topic_edges(self) -> dict[tuple[int, int], str]:
        """The asynchronous edges: (producer state, consumer state) -> topic (docs/queues.md)."""
        return {(i, j): topic for i, (callees, via) in enumerate(zip(self.calls, self.shape.via))
                for j, topic in zip(callees, via) if topic is not None}

    @cached_property
    def callers(self) -> tuple[tuple[int, ...], ...]:
        """For each state, the states whose calls reach it (in state order)."""
        found: list[list[int]] = [[] for _ in self.services]
        for i, callees in enumerate(self.calls):
            for j in dict.fromkeys(callees):
                found[j].append(i)
        return tuple(tuple(c) for c in found)

    @cached_property
    def path_counts(self) -> tuple[int, ...] | None:
        """Per state, the call paths (tree hops) from it down; None for a cyclic graph."""
        return None if self.cyclic else self.shape.uncut_paths

    @property
    def paths(self) -> int | None:
        """How many hops the full per-path tree has (exact; None when the graph is cyclic)."""
        counts = self.path_counts
        return counts[0] if counts else None

    def tree(self, limit: int | None = None) -> Tree:
        """The per-path tree, depth-first in call order, at most ``limit`` hops.

        A call back to a service already on the path is not followed (``lanes.md`` §2), so
        a small design's tree is exactly the walk the simulator always showed.
        """
        names, hows, lanes, contexts = self.services, self.hows, self.lanes, self.contexts
        labels, notes = self.labels, self.notes
        via = self.shape.via
        hops: list[Hop] = []
        stack: list[tuple[int | None, int, tuple[str, ...], str | None]] = (
            [(None, 0, (), None)] if names else [])
        while stack:
            if limit is not None and len(hops) >= limit:
                break
            caller, i, path, topic = stack.pop()
            name = names[i]
            note = notes[i] if notes is not None else None
            hops.append(Hop(None if caller is None else names[caller], name, lanes[i],
                            hows[i] == "fallback",
                            note.labels if note else labels.get(lanes[i], ()), contexts[i],
                            len(path), *((note.route, note.fault, note.status) if note
                                         else ()), topic=topic))
            here = (*path, name)
            if via:  # a design with topics: each edge may be a message
                for j, edge in zip(reversed(self.calls[i]), reversed(via[i])):
                    if names[j] not in here:
                        stack.append((i, j, here, edge))
                continue
            for j in reversed(self.calls[i]):
                if names[j] not in here:
                    stack.append((i, j, here, None))
        if not stack:
            return Tree(tuple(hops))
        total = self.paths
        if total is not None:
            return Tree(tuple(hops), total - len(hops))
        # each call still on the stack roots a subtree of at least its uncut paths
        uncut = self.shape.uncut_paths
        return Tree(tuple(hops), sum(uncut[j] for _, j, _, _ in stack), exact=False)

    def state_dicts(self) -> list[dict[str, Any]]:
        """The states as JSON-ready dicts (``id`` is the index that ``callers`` refer to)."""
        callers, notes = self.callers, self.notes
        if notes is not None:
            return [{"id": i, "service": name, "context": self.contexts[i],
                     "lane": self.lanes[i], "how": n.how, "labels": dict(n.labels),
                     "callers": list(callers[i]), **_team_fields(n.route, n.fault, n.status)}
                    for i, (name, n) in enumerate(zip(self.services, notes))]
        published: dict[int, list[dict[str, Any]]] = {}
        for (i, j), topic in self.topic_edges.items():
            published.setdefault(j, []).append({"caller": i, "topic": topic})
        return [{"id": i, "service": name, "context": self.contexts[i], "lane": self.lanes[i],
                 "how": self.hows[i], "labels": dict(self.labels.get(self.lanes[i], ())),
                 "callers": list(callers[i]),
                 **({"topics": published[i]} if i in published else {})}
                for i, name in enumerate(self.services)]
