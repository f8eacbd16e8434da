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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import unquote

from .matching import request_matches
from .model import LaneDesign
from .names import is_dns1123_label
from .simulate_queues import Messages

# The result types live in ``stategraph`` and a team's routing in ``simulate_team``; they are
# named here too, so that ``lanedesign.simulate`` stays the one place a caller imports from.
from .simulate_team import describe_fault as describe_fault
from .simulate_team import explore_routed
from .stategraph import HOWS as HOWS
from .stategraph import SHAPE_CACHE, Shape, StateGraph, Tree
from .stategraph import Hop as Hop
from .stategraph import StateNote as StateNote

MAX_HOPS = 10_000  # the per-path tree (``Trace.hops``) stops here; the state graph never does


def lane_resolver(design: LaneDesign) -> Callable[[str | None, str], str]:
    """``serving_lane`` for one design, indexed once (the rule lives in the model)."""
    return design.serving_lane_resolver()


def serving_lane(design: LaneDesign, lane: str | None, service: str) -> str:
    """The lane whose version serves ``service`` for a chain in ``lane`` (see the model)."""
    return design.serving_lane(lane, service)


@dataclass(frozen=True)
class Entry:
    """What the gateway decided: status, the chain's lane and which rule chose it."""

    status: int
    lane: str | None
    via: str | None  # "rules[0]", "weights", "default", or None for a 404
    warnings: tuple[str, ...] = ()


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
        for i, pin in shape.pinned.items():
            column[i] = pin
        served = tuple(column)
    graph = StateGraph(lane, shape, served, labels, real=holder is not None)
    return graph, list(shape.warnings)



def _shape(design: LaneDesign, start: str, laneless: bool, lane: str | None = None,
           ) -> tuple[Shape, Mapping[str, tuple[tuple[str, str], ...]]]:
    """The design's shape for chains from ``start`` (with a lane, or without), made once.

    Kept on the design object like the model's own indexes: a design is immutable, and an
    edit makes a new one, so the cache can never go stale. Where some version calls other
    services than its service (``laneCalls``), which calls a state makes depends on who
    serves it, so the shape is made per lane.
    """
    cache = design.__dict__.setdefault(SHAPE_CACHE, {})
    # laneCalls and message topics make who serves a state decide what follows it
    per_lane = ((design.has_lane_calls or design.has_queues) and not laneless
                and design.lane(lane) is not None)
    key = (start, laneless, lane if per_lane else None)
    if key not in cache:
        if "labels" not in cache:
            cache["labels"] = {ln.name: ln.labels for ln in reversed(design.lanes)}
        cache[key] = _explore_shape(design, start, not laneless,
                                    lane if per_lane else None)
    return cache[key], cache["labels"]


def forget_shapes(design: LaneDesign) -> None:
    """Drop what ``simulate`` keeps on ``design`` (for benchmarks that time a first request)."""
    design.__dict__.pop(SHAPE_CACHE, None)


def _explore_shape(design: LaneDesign, start: str, has_lane: bool,
                   lane: str | None = None) -> Shape:
    """One depth-first search over (service, context kept) states from ``start``.

    Each state is listed, warned about and expanded once, so the work grows with the
    services reached, not with the paths to them. Warnings come once each: a service that
    drops the context, a call to an unknown service, and every call back onto the search's
    path (each cycle of the call graph that a request meets gets at least one).
    A design with message topics also follows each publish to the topic's consumers
    (``_Queues``); its consumer states may be pinned to the lane the message's producer
    decides, so such a shape is made per lane.
    """
    services = {}
    for svc in design.services:
        services.setdefault(svc.name, svc)
    fallback = design.fallback_map
    baseline = design.baseline
    index: dict[tuple[str, bool, str | None], int] = {}
    names: list[str] = []
    kept: list[bool] = []
    calls: list[list[int]] = []
    # the known callees of each state, in call order: a name for a call, and for a message
    # (designs with topics) ``(consumer, context, pinned lane, topic)``
    callees: list[tuple] = []
    finish: list[int] = []
    warnings: list[str] = []
    warned: set[tuple[str, str]] = set()
    dropped: set[str] = set()
    on_path: dict[str, int] = {}  # services on the search's current path (a count each)
    path: list[str] = []
    cyclic = False
    keeps = {name: design.keeps_context(name) for name in services}
    holder = design.lane(lane) if lane is not None else None
    queues = Messages(design, lane, services, warnings) if design.has_queues else None
    serve = design.serving_lane_resolver()
    via: list[list[str | None]] = []
    pinned: dict[int, str] = {}

    def calls_of(name: str, context: bool, pin: str | None) -> tuple[str, ...]:
        """What the version serving this state calls (``laneCalls``, else ``calls``)."""
        svc = services[name]
        if not svc.lane_calls:
            return svc.calls
        if pin is not None:
            return svc.calls_in(pin)
        if holder is not None and context and holder.holds(name):
            return svc.calls_in(holder.name)
        return svc.calls_in(fallback.get(name, baseline) if context and holder is not None
                            else baseline)

    def warn_cycle(name: str, callee: str, topic: str | None = None) -> bool:
        """True (and a warning, once) when calling ``callee`` (or sending it a message on
        ``topic``) goes back onto the path."""
        nonlocal cyclic
        if callee in on_path or callee == name:
            cyclic = True
            if (name, callee) not in warned:
                warned.add((name, callee))
                how = f"calls {callee}" if topic is None else (
                    f"publishes to {topic}, which {callee} consumes,")
                warnings.append(f"cycle: {name} {how} already on the path "
                                f"{' -> '.join((*path, name))}; not followed")
            return True
        return False

    def visit(name: str, context: bool, pin: str | None = None) -> int:
        """A new state: list it, note its warnings and callees, put it on the path."""
        i = len(names)
        index[(name, context, pin)] = i
        names.append(name)
        kept.append(context)
        calls.append([])
        if pin is not None:
            pinned[i] = pin
        known: list = []
        own_calls = calls_of(name, context, pin)
        if own_calls:
            if not keeps[name] and context and name not in dropped:
                dropped.add(name)
                warnings.append(f"context dropped: {name} {design.context_loss(name)}; its calls "
                                f"({', '.join(own_calls)}) are served by the baseline")
            for callee in reversed(own_calls):  # the order the per-path walk warned in
                if callee not in services:
                    if (name, callee) not in warned:
                        warned.add((name, callee))
                        warnings.append(f"{name} calls unknown service {callee!r}; not "
                                        "followed")
                    continue
                warn_cycle(name, callee)
                known.append(callee)
            known.reverse()
        if queues is not None:
            via.append([])
            # the producer's serving lane is what it writes as the filter key
            producing = pin if pin is not None else (serve(lane, name) if context
                                                     else baseline)
            for message in queues.messages(name, producing, context and keeps[name]):
                warn_cycle(name, message[0], message[3])
                known.append(message)
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
        if isinstance(callee, tuple):  # a message: the consumer state the producer decides
            callee, carried, pin, topic = callee
            via[i].append(topic)
        else:
            carried, pin = kept[i] and keeps[names[i]], None
            if queues is not None:
                via[i].append(None)
        j = index.get((callee, carried, pin))
        if j is None:
            j = visit(callee, carried, pin)
            stack.append([j, 0])
        elif callee in on_path:
            cyclic = True
        calls[i].append(j)
    away = tuple(fallback.get(name, baseline) if k else baseline
                 for name, k in zip(names, kept))
    kept_index = {name: i for i, (name, k) in enumerate(zip(names, kept))
                  if k and i not in pinned}
    return Shape(tuple(names), tuple(kept), tuple(tuple(c) for c in calls), tuple(finish),
                 cyclic, tuple(warnings), kept_index, away,
                 tuple(tuple(v) for v in via), pinned)


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
