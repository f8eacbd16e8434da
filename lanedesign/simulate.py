"""The request simulator: which lane serves each hop of a request (``lanes.md`` §2-3).

``serving_lane`` is the one rule everything else uses; ``enter`` is the gateway;
``simulate`` explores the call graph once per (service, lane context) state and derives the
per-path tree from that; ``distribution`` repeats weighted entry; ``routing_table``
tabulates ``serving_lane`` for every service and lane (``render.tables.routing_matrix`` makes
a DataFrame of it).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import unquote

from .matching import request_matches, string_matches
from .model import LaneDesign
from .names import is_dns1123_label

MAX_HOPS = 10_000  # the per-path tree (``Trace.hops``) stops here; the state graph never does


def lane_resolver(design: LaneDesign) -> Callable[[str | None, str], str]:
    """``serving_lane`` for one design, indexed once (the rule lives in the model)."""
    return design.serving_lane_resolver()


def serving_lane(design: LaneDesign, lane: str | None, service: str) -> str:
    """The lane whose version serves ``service`` for a chain in ``lane`` (see the model)."""
    return design.serving_lane(lane, service)


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


@dataclass(frozen=True)
class Entry:
    """What the gateway decided: status, the chain's lane and which rule chose it."""

    status: int
    lane: str | None
    via: str | None  # "rules[0]", "weights", "default", or None for a 404
    warnings: tuple[str, ...] = ()


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
        hops: list[Hop] = []
        stack: list[tuple[int | None, int, tuple[str, ...]]] = [(None, 0, ())] if names else []
        while stack:
            if limit is not None and len(hops) >= limit:
                break
            caller, i, path = stack.pop()
            name = names[i]
            note = notes[i] if notes is not None else None
            hops.append(Hop(None if caller is None else names[caller], name, lanes[i],
                            hows[i] == "fallback",
                            note.labels if note else labels.get(lanes[i], ()), contexts[i],
                            len(path), *((note.route, note.fault, note.status) if note
                                         else ())))
            here = (*path, name)
            for j in reversed(self.calls[i]):
                if names[j] not in here:
                    stack.append((i, j, here))
        if not stack:
            return Tree(tuple(hops))
        total = self.paths
        if total is not None:
            return Tree(tuple(hops), total - len(hops))
        # each call still on the stack roots a subtree of at least its uncut paths
        uncut = self.shape.uncut_paths
        return Tree(tuple(hops), sum(uncut[j] for _, j, _ in stack), exact=False)

    def state_dicts(self) -> list[dict[str, Any]]:
        """The states as JSON-ready dicts (``id`` is the index that ``callers`` refer to)."""
        callers, notes = self.callers, self.notes
        if notes is not None:
            return [{"id": i, "service": name, "context": self.contexts[i],
                     "lane": self.lanes[i], "how": n.how, "labels": dict(n.labels),
                     "callers": list(callers[i]), **_team_fields(n.route, n.fault, n.status)}
                    for i, (name, n) in enumerate(zip(self.services, notes))]
        return [{"id": i, "service": name, "context": self.contexts[i], "lane": self.lanes[i],
                 "how": self.hows[i], "labels": dict(self.labels.get(self.lanes[i], ())),
                 "callers": list(callers[i])}
                for i, name in enumerate(self.services)]


@dataclass(frozen=True)
class Trace:
    """The result of one simulated request: the state graph, and the per-path tree from it.

    ``hops`` is the tree cut at ``MAX_HOPS`` (computed on first use: large meshes have
    millions of paths, and the state graph alone answers where the request goes).
    """

    status: int
    lane: str | None
    graph: StateGraph | None
    warnings: tuple[str, ...]
    via: str | None = None

    def tree(self, limit: int | None = MAX_HOPS) -> Tree:
        """The per-path tree, at most ``limit`` hops (``+N more paths`` in its ``note``)."""
        if self.graph is None:
            return Tree(())
        if limit == MAX_HOPS:
            return self._tree
        return self.graph.tree(limit)

    @cached_property
    def _tree(self) -> Tree:
        return self.graph.tree(MAX_HOPS) if self.graph is not None else Tree(())

    @property
    def hops(self) -> tuple[Hop, ...]:
        return self.tree().hops

    def to_dict(self) -> dict[str, Any]:
        tree = self.tree()
        graph = self.graph
        return {
            "status": self.status,
            "lane": self.lane,
            "via": self.via,
            "hops": [h.to_dict() for h in tree.hops],
            "warnings": list(self.warnings),
            "more_paths": tree.more_paths,
            "more_paths_exact": tree.exact,
            "paths": graph.paths if graph is not None else 0,
            "states": graph.state_dicts() if graph is not None else [],
        }


def normalize_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]] | None,
                      ) -> dict[str, str]:
    """Lowercase names; repeated headers are joined with ',' as Envoy does before matching."""
    if headers is None:
        return {}
    items = headers.items() if isinstance(headers, Mapping) else headers
    out: dict[str, str] = {}
    for name, value in items:
        key = name.lower()
        out[key] = f"{out[key]},{value}" if key in out else value
    return out


OWS = " \t"  # RFC 9110 optional whitespace, as the W3C baggage grammar allows around members


def baggage_member(baggage: str | None, key: str) -> str | None:
    """The percent-decoded value of member ``key`` in a W3C baggage list (properties dropped).

    The *last* member with the key wins: the gateway appends the lane it chose after any
    member the client sent, and OpenTelemetry SDKs resolve duplicates the same way.
    """
    found = None
    for member in (baggage or "").split(","):
        name, sep, value = member.split(";", 1)[0].partition("=")
        if sep and name.strip(OWS) == key:
            found = unquote(value.strip(OWS))
    return found


def lane_from_baggage(baggage: str | None, key: str) -> str | None:
    """The lane the baggage names, if it is a DNS-1123 label (what the emitted Lua accepts)."""
    value = baggage_member(baggage, key)
    return value if value is not None and is_dns1123_label(value) else None


def _host_served(hosts: tuple[str, ...], host: str | None) -> bool:
    if host is None:
        return True
    host = host.split(":", 1)[0].lower()
    return any(h == "*" or h == host or (h.startswith("*.") and host.endswith(h[1:]))
               for h in hosts)


def enter(design: LaneDesign, headers: Mapping[str, str] | None = None, path: str = "/",
          host: str | None = None, rng: random.Random | None = None) -> Entry:
    """The gateway's choice of lane for one request (first matching rule, or weights)."""
    ingress = design.ingress
    if ingress is None:
        return Entry(404, None, None, ("the design has no ingress",))
    hdrs = normalize_headers(headers)
    warnings: list[str] = []
    route = design.route_header
    if design.pass_through.method == "baggage" and route not in hdrs:
        # the gateway's Lua filter turns the baggage member into the route header
        member = lane_from_baggage(hdrs.get("baggage"), design.baggage_key)
        if member:
            hdrs[route] = member
    asked = hdrs.get(route)
    if asked is not None and design.lane(asked) is None:
        warnings.append(f"unknown lane: {route}: {asked} names no lane of this design")
    if not _host_served(ingress.hosts, host):
        warnings.append(f"host {host!r} is not among the ingress hosts "
                        f"{', '.join(ingress.hosts)}")
        return Entry(404, None, None, tuple(warnings))
    path = path.split("?", 1)[0] or "/"
    lane, via = None, None
    if ingress.strategy == "weighted":
        if request_matches(ingress.match, path, hdrs):
            lane, via = _weighted_choice(ingress.weights, design, rng or random.Random()), "weights"
    else:
        for i, rule in enumerate(design.effective_rules):
            if request_matches(rule.match, path, hdrs):
                lane, via = rule.lane, f"rules[{i}]"
                break
    if lane is None and ingress.default is not None:
        lane, via = ingress.default, "default"
    if lane is None:
        warnings.append("no ingress rule matches: the gateway answers 404 (NR)")
        return Entry(404, None, None, tuple(warnings))
    return Entry(200, lane, via, tuple(warnings))


def _weighted_choice(weights: tuple[tuple[str, int], ...], design: LaneDesign,
                     rng: random.Random) -> str | None:
    options = [(lane, w) for lane, w in weights if w > 0 and design.lane(lane) is not None]
    if not options:
        return None
    return rng.choices([lane for lane, _ in options], [w for _, w in options])[0]


def simulate(design: LaneDesign, headers: Mapping[str, str] | None = None, path: str = "/",
             host: str | None = None, seed: int | None = None, lane: str | None = None,
             rng: random.Random | None = None) -> Trace:
    """One request through the ingress and down the call graph.

    ``lane`` skips the ingress and starts the chain at the entry service in that lane.
    """
    if lane is not None:
        entry = Entry(200, lane, "lane", ())
        if design.lane(lane) is None:
            entry = Entry(200, lane, "lane", (f"unknown lane: {lane} names no lane of this "
                                               "design; served by the baseline",))
    else:
        entry = enter(design, headers, path, host, rng or random.Random(seed))
    start = design.ingress.entry if design.ingress else ""
    if entry.status != 200:
        return Trace(entry.status, None, None, entry.warnings, entry.via)
    if design.service(start) is None:
        return Trace(404, entry.lane, None, (*entry.warnings, f"entry service {start!r} is not "
                                             "a service of the design"), entry.via)
    graph, warnings = explore(design, start, entry.lane, headers)
    return Trace(200, entry.lane, graph, (*entry.warnings, *warnings), entry.via)


def explore(design: LaneDesign, start: str, lane: str | None,
            headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
            ) -> tuple[StateGraph, list[str]]:
    """The state graph of a chain in ``lane`` entering at ``start``, and what to warn about.

    The states and calls come from the design's ``Shape`` (explored once per design and
    entry); this request only says who serves each state: its lane where the lane holds the
    service and the context is kept, else the fallback target, else the baseline. Where a
    team's routing steers (``LaneDesign.team_steered``), the request's ``headers`` matter
    too and ``explore_routed`` does the work.
    """
    if design.team_steered:
        return explore_routed(design, start, lane, normalize_headers(headers))
    shape, labels = _shape(design, start, lane is None, lane)
    holder = design.lane(lane) if lane else None
    if holder is None:  # no lane, or an unknown one: the baseline serves every state
        served = (design.baseline,) * len(shape.services)
    else:
        column = list(shape.away)
        at = shape.kept_index
        for member in holder.services:
            i = at.get(member)
            if i is not None:
                column[i] = lane  # type: ignore[call-overload]
        served = tuple(column)
    graph = StateGraph(lane, shape, served, labels, real=holder is not None)
    return graph, list(shape.warnings)


_SHAPES = "_lanedesign_simulate_shapes"  # where a design keeps its explored shapes


def _shape(design: LaneDesign, start: str, laneless: bool, lane: str | None = None,
           ) -> tuple[Shape, Mapping[str, tuple[tuple[str, str], ...]]]:
    """The design's shape for chains from ``start`` (with a lane, or without), made once.

    Kept on the design object like the model's own indexes: a design is immutable, and an
    edit makes a new one, so the cache can never go stale. Where some version calls other
    services than its service (``laneCalls``), which calls a state makes depends on who
    serves it, so the shape is made per lane.
    """
    cache = design.__dict__.setdefault(_SHAPES, {})
    per_lane = design.has_lane_calls and not laneless and design.lane(lane) is not None
    key = (start, laneless, lane if per_lane else None)
    if key not in cache:
        if "labels" not in cache:
            cache["labels"] = {ln.name: ln.labels for ln in reversed(design.lanes)}
        cache[key] = _explore_shape(design, start, not laneless,
                                    lane if per_lane else None)
    return cache[key], cache["labels"]


def forget_shapes(design: LaneDesign) -> None:
    """Drop what ``simulate`` keeps on ``design`` (for benchmarks that time a first request)."""
    design.__dict__.pop(_SHAPES, None)


def _explore_shape(design: LaneDesign, start: str, has_lane: bool,
                   lane: str | None = None) -> Shape:
    """One depth-first search over (service, context kept) states from ``start``.

    Each state is listed, warned about and expanded once, so the work grows with the
    services reached, not with the paths to them. Warnings come once each: a service that
    drops the context, a call to an unknown service, and every call back onto the search's
    path (each cycle of the call graph that a request meets gets at least one).
    """
    services = {}
    for svc in design.services:
        services.setdefault(svc.name, svc)
    fallback = design.fallback_map
    baseline = design.baseline
    index: dict[tuple[str, bool], int] = {}
    names: list[str] = []
    kept: list[bool] = []
    calls: list[list[int]] = []
    callees: list[tuple[str, ...]] = []  # the known callees of each state, in call order
    finish: list[int] = []
    warnings: list[str] = []
    warned: set[tuple[str, str]] = set()
    dropped: set[str] = set()
    on_path: dict[str, int] = {}  # services on the search's current path (a count each)
    path: list[str] = []
    cyclic = False
    keeps = {name: design.keeps_context(name) for name in services}
    holder = design.lane(lane) if lane is not None else None

    def calls_of(name: str, context: bool) -> tuple[str, ...]:
        """What the version serving this state calls (``laneCalls``, else ``calls``)."""
        svc = services[name]
        if not svc.lane_calls:
            return svc.calls
        if holder is not None and context and holder.holds(name):
            return svc.calls_in(holder.name)
        return svc.calls_in(fallback.get(name, baseline) if context and holder is not None
                            else baseline)

    def visit(name: str, context: bool) -> int:
        """A new state: list it, note its warnings and callees, put it on the path."""
        nonlocal cyclic
        i = len(names)
        index[(name, context)] = i
        names.append(name)
        kept.append(context)
        calls.append([])
        svc = services[name]
        known = []
        own_calls = calls_of(name, context)
        if own_calls:
            if not keeps[name] and context and name not in dropped:
                dropped.add(name)
                why = ("does not propagate the lane context" if not svc.propagates else
                       f"forwards only {', '.join(svc.forwards or ()) or 'no headers'}, not "
                       f"{design.context_header}")
                warnings.append(f"context dropped: {name} {why}; its calls "
                                f"({', '.join(own_calls)}) are served by the baseline")
            for callee in reversed(own_calls):  # the order the per-path walk warned in
                if callee not in services:
                    if (name, callee) not in warned:
                        warned.add((name, callee))
                        warnings.append(f"{name} calls unknown service {callee!r}; not "
                                        "followed")
                    continue
                if callee in on_path or callee == name:
                    cyclic = True
                    if (name, callee) not in warned:
                        warned.add((name, callee))
                        warnings.append(f"cycle: {name} calls {callee}, already on the path "
                                        f"{' -> '.join((*path, name))}; not followed")
                known.append(callee)
            known.reverse()
        callees.append(tuple(known))
        path.append(name)
        on_path[name] = on_path.get(name, 0) + 1
        return i

    stack = [[visit(start, has_lane), 0]]  # a state and how many of its callees are done
    while stack:
        frame = stack[-1]
        i, k = frame
        todo = callees[i]
        if k == len(todo):
            stack.pop()
            name = path.pop()
            if on_path[name] == 1:
                del on_path[name]
            else:
                on_path[name] -= 1
            finish.append(i)
            continue
        frame[1] = k + 1
        callee = todo[k]
        carried = kept[i] and keeps[names[i]]
        j = index.get((callee, carried))
        if j is None:
            j = visit(callee, carried)
            stack.append([j, 0])
        elif callee in on_path:
            cyclic = True
        calls[i].append(j)
    away = tuple(fallback.get(name, baseline) if k else baseline
                 for name, k in zip(names, kept))
    kept_index = {name: i for i, (name, k) in enumerate(zip(names, kept)) if k}
    return Shape(tuple(names), tuple(kept), tuple(tuple(c) for c in calls), tuple(finish),
                 cyclic, tuple(warnings), kept_index, away)


# -- a team's routing (docs/istio.md, "A team's routing") ------------------------------------
def explore_routed(design: LaneDesign, start: str, lane: str | None,
                   headers: Mapping[str, str]) -> tuple[StateGraph, list[str]]:
    """The state graph where teams' routes decide the baseline's traffic.

    A state is (service, context kept, the team-tested headers still carried): a team route
    tests the request's own headers, which an app passes on unless it drops them
    (``propagates: false``) or its ``forwards`` list lacks them. Kept apart from
    ``_explore_shape`` so that designs without team routes keep their lane-independent,
    cached shape. Cached per (entry, lane, tested header values).
    """
    tested = tuple(sorted(h for h in design.team_headers if h in headers))
    key = ("routed", start, lane, tuple(headers[h] for h in tested))
    cache = design.__dict__.setdefault(_SHAPES, {})
    if key not in cache:
        cache[key] = _RoutedWalk(design, lane, {h: headers[h] for h in tested}).run(start)
    graph, warnings = cache[key]
    return graph, list(warnings)


class _RoutedWalk:
    """One depth-first search over routed states, with an explicit stack (as ``_explore_shape``)."""

    def __init__(self, design: LaneDesign, lane: str | None, headers: dict[str, str]) -> None:
        self.design = design
        self.lane = lane
        self.headers = headers
        self.real = design.lane(lane) is not None
        self.serve = design.serving_lane_resolver()
        self.services = {}
        for svc in design.services:
            self.services.setdefault(svc.name, svc)
        self.keeps = {name: design.keeps_context(name) for name in self.services}
        self.index: dict[tuple[str, bool, frozenset[str]], int] = {}
        self.names: list[str] = []
        self.kept: list[bool] = []
        self.carried: list[frozenset[str]] = []
        self.served: list[str] = []
        self.notes: list[StateNote] = []
        self.calls: list[list[int]] = []
        self.callees: list[tuple[str, ...]] = []
        self.finish: list[int] = []
        self.warnings: list[str] = []
        self.warned: set[tuple[str, str]] = set()
        self.on_path: dict[str, int] = {}
        self.path: list[str] = []
        self.cyclic = False

    def _warn(self, key: tuple[str, str], text: str) -> None:
        if key not in self.warned:
            self.warned.add(key)
            self.warnings.append(text)

    def passes(self, name: str, carried: frozenset[str]) -> frozenset[str]:
        """The tested headers ``name``'s app passes on to its calls."""
        svc = self.services[name]
        if not svc.propagates:
            return frozenset()
        if svc.forwards is None:
            return carried
        return carried & frozenset(svc.forwards)

    def choose(self, name: str, kept: bool, carried: frozenset[str], entry: bool,
               ) -> tuple[str, StateNote]:
        """Who serves this state and why (the precedence rule)."""
        design, lane = self.design, self.lane
        svc = self.services[name]
        routing = svc.routing
        lost = lane is not None and not kept
        if entry or (kept and self.real and lane != design.baseline) or routing is None:
            # the gateway's choice at the entry; a lane's own route; or no team routing
            served = self.serve(lane if kept else None, name)
            how = "lost" if lost else (
                "fallback" if kept and self.real and served != lane else "lane")
            settings = routing.settings if routing is not None and not entry else {}
            return served, self._note(name, served, how, None, settings)
        how = "lost" if lost else "lane"
        for j, route in enumerate(routing.routes):
            if any(self._matches(name, route.name or f"routes[{j}]", m, carried)
                   for m in route.matches):
                label = route.name or f"routes[{j}]"
                served = self._pick(name, label, route.destinations)
                return served, self._note(name, served, how, label, route.settings)
        if routing.default:
            served = self._pick(name, "default", routing.default)
            return served, self._note(name, served, how, "default", routing.settings)
        served = design.baseline
        return served, self._note(name, served, how, None, routing.settings)

    def _matches(self, service: str, route: str, match: Any, carried: frozenset[str]) -> bool:
        if match.uri is not None:
            self._warn((service, f"path {route}"), f"{service}: team route {route} matches "
                       "the path, which the design does not know for calls between apps; "
                       "taken as not matched")
            return False
        return all(string_matches(m, self.headers.get(h.lower()) if h.lower() in carried
                                  else None) for h, m in match.headers)

    def _pick(self, service: str, route: str, destinations: Sequence[Any]) -> str:
        if len(destinations) == 1:
            return destinations[0].subset
        best = max(destinations, key=lambda d: d.weight or 0)  # max keeps the first of a tie
        split = ", ".join(f"{d.subset} {d.weight or 0}" for d in destinations)
        self._warn((service, f"split {route}"), f"{service}: team route {route} splits "
                   f"{split}; followed {best.subset} (the largest share)")
        return best.subset

    def _note(self, name: str, served: str, how: str, route: str | None,
              settings: Mapping[str, Any]) -> StateNote:
        fault, status = describe_fault(settings.get("fault"))
        return StateNote(how, self.design.subset_labels(name, served), route, fault, status)

    def visit(self, name: str, kept: bool, carried: frozenset[str], entry: bool) -> int:
        i = len(self.names)
        self.index[(name, kept, carried)] = i
        served, note = self.choose(name, kept, carried, entry)
        self.names.append(name)
        self.kept.append(kept)
        self.carried.append(carried)
        self.served.append(served)
        self.notes.append(note)
        self.calls.append([])
        svc = self.services[name]
        own = () if note.status is not None else svc.calls_in(served)  # an abort: no app
        known = []
        if own and kept and not self.keeps[name]:
            why = ("does not propagate the lane context" if not svc.propagates else
                   f"forwards only {', '.join(svc.forwards or ()) or 'no headers'}, not "
                   f"{self.design.context_header}")
            self._warn((name, ""), f"context dropped: {name} {why}; its calls "
                       f"({', '.join(own)}) are served by the baseline")
        for callee in own:
            if callee not in self.services:
                self._warn((name, callee), f"{name} calls unknown service {callee!r}; not "
                           "followed")
                continue
            if callee in self.on_path or callee == name:
                self.cyclic = True
                self._warn((name, callee), f"cycle: {name} calls {callee}, already on the "
                           f"path {' -> '.join((*self.path, name))}; not followed")
            known.append(callee)
        self.callees.append(tuple(known))
        self.path.append(name)
        self.on_path[name] = self.on_path.get(name, 0) + 1
        return i

    def run(self, start: str) -> tuple[StateGraph, tuple[str, ...]]:
        carried0 = frozenset(self.headers)
        stack = [[self.visit(start, self.lane is not None, carried0, True), 0]]
        while stack:
            frame = stack[-1]
            i, k = frame
            todo = self.callees[i]
            if k == len(todo):
                stack.pop()
                name = self.path.pop()
                self.on_path[name] -= 1
                if not self.on_path[name]:
                    del self.on_path[name]
                self.finish.append(i)
                continue
            frame[1] = k + 1
            callee = todo[k]
            name = self.names[i]
            state = (callee, self.kept[i] and self.keeps[name],
                     self.passes(name, self.carried[i]))
            j = self.index.get(state)
            if j is None:
                j = self.visit(*state, False)
                stack.append([j, 0])
            elif callee in self.on_path:
                self.cyclic = True
            self.calls[i].append(j)
        shape = Shape(tuple(self.names), tuple(self.kept), tuple(tuple(c) for c in self.calls),
                      tuple(self.finish), self.cyclic, tuple(self.warnings), {},
                      tuple(self.served))
        graph = StateGraph(self.lane, shape, tuple(self.served), {}, real=self.real,
                           notes=tuple(self.notes))
        return graph, tuple(self.warnings)


def describe_fault(fault: Any) -> tuple[str | None, int | None]:
    """A team fault as the hop shows it, and the status an abort hitting every request answers.

    Istio applies a delay or abort to ``percentage.value`` percent of requests, and to none
    when the percentage is left out. ``({"delay": {"fixedDelay": "7s", "percentage":
    {"value": 100}}})`` -> ``("delay 7s", None)``.
    """
    if not isinstance(fault, Mapping):
        return None, None
    parts, status = [], None
    for kind in ("delay", "abort"):
        spec = fault.get(kind)
        if not isinstance(spec, Mapping):
            continue
        pct = spec.get("percentage")
        share = float(pct.get("value", 0)) if isinstance(pct, Mapping) else 0.0
        if kind == "delay":
            what = f"delay {spec.get('fixedDelay', '?')}"
        else:
            code = spec.get("httpStatus")
            what = f"abort {code}" if code is not None else f"abort grpc {spec.get('grpcStatus')}"
            if share >= 100 and isinstance(code, int):
                status = code
        parts.append(what if share >= 100 else f"{what} ({share:g}%)")
    return (", ".join(parts) or None), status


def walk(design: LaneDesign, start: str, lane: str | None,
         max_hops: int = MAX_HOPS) -> tuple[tuple[Hop, ...], list[str]]:
    """The per-path tree from ``start`` (each service calls each callee once, in order).

    Derived from the state graph (``explore``); cut at ``max_hops`` with a warning.
    """
    graph, warnings = explore(design, start, lane)
    tree = graph.tree(max_hops)
    if tree.more_paths:
        warnings.append(f"walk stopped after {max_hops} hops ({tree.note} in the tree; the "
                        "state graph has every service reached)")
    return tree.hops, warnings


@dataclass(frozen=True)
class Distribution:
    """How N requests spread over the lanes (weighted ingress), plus 404s."""

    requests: int
    counts: dict[str, int] = field(default_factory=dict)
    unmatched: int = 0

    @property
    def fractions(self) -> dict[str, float]:
        n = self.requests or 1
        return {lane: count / n for lane, count in self.counts.items()}


def distribution(design: LaneDesign, requests: int, seed: int | None = None,
                 headers: Mapping[str, str] | None = None, path: str = "/",
                 host: str | None = None) -> Distribution:
    """Send ``requests`` identical requests through the gateway and count the lanes."""
    rng = random.Random(seed)
    counts: Counter[str] = Counter({lane: 0 for lane in design.lane_names})
    unmatched = 0
    for _ in range(requests):
        entry = enter(design, headers, path, host, rng)
        if entry.lane is None:
            unmatched += 1
        else:
            counts[entry.lane] += 1
    return Distribution(requests, dict(counts), unmatched)


def routing_table(design: LaneDesign) -> dict[str, dict[str, str]]:
    """``{service: {lane: serving lane}}`` for every service and lane of the design."""
    services, columns = serving_columns(design)
    lanes = list(columns)
    return {svc: dict(zip(lanes, row)) for svc, row in zip(services, zip(*columns.values()))}


def serving_columns(design: LaneDesign) -> tuple[list[str], dict[str, list[str]]]:
    """The services (once each) and, per lane, the lane serving each of them: the routing table.

    The rule of ``lane_resolver`` computed a column at a time: the designer recomputes this on
    every edit and it has services x lanes cells, so a column starts as a copy of every
    service's fallback target and only the lane's own services are then set one by one.
    """
    services = list(dict.fromkeys(design.service_names))
    row_of = {svc: i for i, svc in enumerate(services)}
    fallback = design.fallback_map
    away = [fallback.get(svc, design.baseline) for svc in services]
    columns: dict[str, list[str]] = {}
    for lane in design.lanes:
        if lane.name in columns:  # the first lane of a duplicated name wins, as in routing
            continue
        if not lane.name:  # a lane with an empty name is "no lane": the baseline serves it
            columns[lane.name] = [design.baseline] * len(services)
            continue
        column = away.copy()
        for svc in lane.services:
            if svc in row_of:
                column[row_of[svc]] = lane.name
        columns[lane.name] = column
    return services, columns
