"""Call-chain diagrams as graphviz DOT, drawn from the simulator's state graph and routing.

One node per service, filled with the colour of the lane that serves it; a fallback hop is a
dashed edge labelled ``fallback -> s1``; a call without lane context (an upstream app dropped
it) is a dotted red edge; edges the walk never follows because they close a cycle are red.
A topic is a cylinder (name, broker, kind) with dashed edges publisher -> topic -> consumer;
a simulated hop through a topic (``Hop.topic``) continues the request's path along them.
Which lane serves what always comes from ``simulate`` (``explore``'s state graph, one node
per state so the drawing grows with the services, never the paths; ``lane_resolver``); this
module only draws it. Large designs are drawn in focus: a lane's services and their direct
neighbours, or a service's neighbourhood, never more than ``max_nodes`` services.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from graphviz import Digraph, nohtml

from ..model import LaneDesign, Service, Topic
from ..simulate import Trace, explore, lane_resolver
from ..stategraph import StateGraph
from .hints import context_loss_label, serving_hint
from .svg import (
    EDGE_COLOUR,
    FADED_COLOUR,
    FALLBACK_COLOUR,
    LEGEND_KEYS,
    LOST_COLOUR,
    MESSAGE_COLOUR,
    TRACE_COLOUR,
    UNKNOWN_FILL,
    Picture,
    framed_svg,
    lane_colours,
    to_svg,
)

DEFAULT_MAX_NODES = 60

FONT = "Helvetica"
SMALLEST_FONT = 9.0  # points: the smallest text the DOT asks for (edge labels, stubs)


@dataclass(frozen=True)
class Diagram:
    """A diagram's DOT source, the services it shows and those it left out; shows as SVG."""

    source: str
    title: str
    shown: tuple[str, ...]
    left_out: tuple[str, ...] = ()
    swatches: tuple[tuple[str, str], ...] = ()  # legend: (lane text, fill colour)
    keys: tuple[str, ...] = ()  # legend: which marks the diagram uses (see svg.LEGEND_KEYS)
    # for the interactive diagram: the SVG ids of service nodes and calls, and hover texts
    nodes: tuple[tuple[str, str], ...] = ()  # (node id, service)
    calls: tuple[tuple[str, str, str], ...] = ()  # (edge id, caller, callee)
    hints: tuple[tuple[str, str], ...] = ()  # (node id, why that lane serves it)
    lanes: tuple[str, ...] = ()  # the lanes drawn, in order

    @property
    def left_out_text(self) -> str:
        return _sample(self.left_out)

    @property
    def note(self) -> str:
        """What was left out, in words ('' when the diagram shows every service)."""
        if not self.left_out:
            return ""
        total = len(self.shown) + len(self.left_out)
        return (f"showing {len(self.shown)} of {total} services; {len(self.left_out)} left "
                f"out ({_sample(self.left_out)})")

    def svg(self) -> str:
        """The drawing with its title, note and legend around it."""
        return framed_svg(to_svg(self.source), self.title, self.note, self.swatches, self.keys)

    def _repr_svg_(self) -> str:
        return self.svg()

    def _repr_mimebundle_(self, **_: object) -> dict[str, str]:
        # drawn once for both: the SVG for a trusted notebook, an <img> for an untrusted one
        return Picture(self.svg(), self.title)._repr_mimebundle_() | {"text/plain": repr(self)}

    def __repr__(self) -> str:
        return (f"<Diagram {self.title!r}: {len(self.shown)} services shown, "
                f"{len(self.left_out)} left out>")


def _sample(names: Sequence[str], limit: int = 5) -> str:
    more = len(names) - limit
    return ", ".join(names[:limit]) + (f" and {more} more" if more > 0 else "")


# -- which services a diagram shows -----------------------------------------------------------
def lane_focus(design: LaneDesign, lane: str, neighbours: bool = True) -> list[str]:
    """The services ``lane`` holds, then their direct callers and callees (design order)."""
    found = design.lane(lane)
    held = list(dict.fromkeys(s for s in (found.services if found else ()) if design.service(s)))
    if not neighbours:
        return held
    near = set(held)
    for svc in design.services:
        if svc.name in near:
            near.update(svc.all_calls)
        elif near.intersection(svc.all_calls):
            near.add(svc.name)
    return list(dict.fromkeys([*held, *(s for s in design.service_names if s in near)]))


def neighbourhood(design: LaneDesign, service: str, radius: int = 1) -> list[str]:
    """``service`` and every service within ``radius`` calls of it, either direction."""
    if design.service(service) is None:
        return []
    adjacent = _adjacency(design)
    order, frontier = [service], [service]
    seen = {service}
    for _ in range(max(radius, 0)):
        nxt = []
        for name in frontier:
            for other in adjacent.get(name, ()):
                if other not in seen:
                    seen.add(other)
                    nxt.append(other)
        order += nxt
        frontier = nxt
    return order


def _adjacency(design: LaneDesign) -> dict[str, list[str]]:
    known = set(design.service_names)
    adjacent: dict[str, list[str]] = {name: [] for name in known}
    for svc in design.services:
        for callee in svc.all_calls:
            if callee in known and callee != svc.name:
                adjacent[svc.name].append(callee)
                adjacent[callee].append(svc.name)
    return adjacent


def auto_focus(design: LaneDesign, lane: str | None, max_nodes: int = DEFAULT_MAX_NODES
               ) -> list[str]:
    """What "automatic" shows: a test lane's own services and their direct neighbours; for
    the baseline (or no lane) the whole design, or the entry's area when it is large."""
    found = design.lane(lane) if lane and lane != design.baseline else None
    entry = design.ingress.entry if design.ingress else ""
    if found is not None and found.services:  # and the entry: where the gateway sends it
        held = lane_focus(design, found.name)
        # first: the cut at max_nodes keeps what comes first (then design order is restored)
        return list(dict.fromkeys([entry, *held])) if design.service(entry) else held
    if len(design.services) <= max_nodes:
        return list(design.service_names)
    start = entry if design.service(entry) else next(iter(design.service_names), "")
    return neighbourhood(design, start, 2)


def changed_services(before: LaneDesign, after: LaneDesign) -> list[str]:
    """The services of ``after`` an edit changed: added, edited (calls, ports...), or put in
    or taken out of a lane; in ``after``'s order. A call added changes its caller."""
    old = {s.name: s for s in before.services}
    changed = {s.name for s in after.services if old.get(s.name) != s}
    if before.lanes != after.lanes:
        held = {lane.name: set(lane.services) for lane in before.lanes}
        for lane in after.lanes:
            changed.update(held.get(lane.name, set()).symmetric_difference(lane.services))
    if before.fallback != after.fallback:
        changed.update(name for name, _ in set(before.fallback) ^ set(after.fallback))
    return [name for name in dict.fromkeys(after.service_names) if name in changed]


def _select(design: LaneDesign, lane: str | None, focus: Iterable[str] | None,
            max_nodes: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    automatic = focus is None
    if focus is None:
        focus = auto_focus(design, lane, max_nodes)
    wanted = [s for s in dict.fromkeys(focus) if design.service(s) is not None]
    shown = tuple(wanted[:max(max_nodes, 1)])
    if automatic:  # the lane's own come first only to survive the cut; then design order
        kept = set(shown)
        shown = tuple(s for s in dict.fromkeys(design.service_names) if s in kept)
    kept = set(shown)
    left_out = tuple(s for s in dict.fromkeys(design.service_names) if s not in kept)
    return shown, left_out


# -- what the simulator says about one lane ---------------------------------------------------
@dataclass
class _LaneView:
    """Per service and per call: which lanes served it and how (lane, fallback, lost).

    Read from the simulator's state graph (``Trace.graph``): one entry per state, so the
    work grows with the services reached, never with the paths to them.
    """

    nodes: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    edges: dict[tuple[str, str], list[tuple[str, str]]] = field(default_factory=dict)
    hop_numbers: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    cycles: set[tuple[str, str]] = field(default_factory=set)
    followed: set[tuple[str, str]] = field(default_factory=set)  # calls some path follows
    reached: set[str] = field(default_factory=set)
    # hops through a topic: (producer, topic, consumer) -> their numbers in the walk
    messages: dict[tuple[str, str, str], list[int]] = field(default_factory=dict)
    aborts: dict[str, str] = field(default_factory=dict)  # service -> "abort 503" (team fault)
    failed: bool = False  # the gateway answered an error: the request reached no service


def _lane_view(design: LaneDesign, lane: str | None, graph: StateGraph | None) -> _LaneView:
    view = _LaneView()
    if graph is not None and len(graph):
        _read_graph(design, graph, view)
    serve = lane_resolver(design)
    real_lane = design.lane(lane) is not None
    for name in design.service_names:
        if name not in view.nodes:  # not reached from the entry: what the lane would do
            served = serve(lane, name)
            view.nodes[name] = [(served, "fallback" if real_lane and served != lane else "lane")]
    for svc in design.services:
        for callee in _version_calls(svc, view.nodes.get(svc.name, ())):
            if svc.name not in view.reached and callee in view.nodes:
                view.edges.setdefault((svc.name, callee), view.nodes[callee])
    return view


def _read_graph(design: LaneDesign, graph: StateGraph, view: _LaneView) -> None:
    """Every state the request reaches, once; each call between states, once."""
    names, hows, lanes, notes = graph.services, graph.hows, graph.lanes, graph.notes
    live = _live_states(design, graph)
    for i in live:
        _add(view.nodes.setdefault(names[i], []), (lanes[i], hows[i]))
        view.reached.add(names[i])
        note = notes[i] if notes is not None else None
        if note is not None and note.status is not None:
            view.aborts[names[i]] = note.fault or f"abort {note.status}"
    stops = {i for i in live if not _passes_on(design, graph, i)}
    back = _back_calls(graph, live, stops)
    closing = back - _followed_elsewhere(graph, live, back, stops)
    messages = graph.topic_edges
    for i in live:
        passes = i not in stops
        for j in dict.fromkeys(graph.calls[i]):
            call = (names[i], names[j])
            topic = messages.get((i, j))
            if topic is not None:  # not a call: a message through a topic, drawn apart
                if passes:
                    view.messages.setdefault((names[i], topic, names[j]), []).append(j + 1)
                continue
            if not passes:  # never made (the call before it failed): drawn, not numbered
                _add(view.edges.setdefault(call, []), (lanes[j], hows[j]))
                continue
            if (i, j) in back:
                view.cycles.add(call)
                if (i, j) in closing:  # no path to i lacks the callee: never followed
                    continue
            view.followed.add(call)
            _add(view.edges.setdefault(call, []), (lanes[j], hows[j]))
            numbers = view.hop_numbers.setdefault(call, [])
            if j + 1 not in numbers:
                numbers.append(j + 1)  # the state's number: the order the request reaches it
    for call in view.cycles:
        view.edges.setdefault(call, [])


def _passes_on(design: LaneDesign, graph: StateGraph, i: int) -> bool:
    """Whether state ``i`` calls on: in strict mode a call to a service the lane lacks fails
    (404), so what it would have called is never called; a team's abort answers instead of
    the app."""
    if design.mode == "strict" and graph.hows[i] == "fallback":
        return False
    note = graph.notes[i] if graph.notes is not None else None
    return note is None or note.status is None


def _live_states(design: LaneDesign, graph: StateGraph) -> list[int]:
    """The states a request really reaches from the entry (state 0), in state order."""
    seen = {0}
    todo = [0]
    while todo:
        i = todo.pop()
        if not _passes_on(design, graph, i):
            continue
        for j in graph.calls[i]:
            if j not in seen:
                seen.add(j)
                todo.append(j)
    return sorted(seen)


def _back_calls(graph: StateGraph, live: Sequence[int], stops: set[int]
                ) -> set[tuple[int, int]]:
    """Calls from a state to a service already on the search's path: the calls that close a
    cycle, which the simulator never follows (``lanes.md`` section 2)."""
    if not graph.cyclic:
        return set()
    names, calls, alive = graph.services, graph.calls, set(live)
    back: set[tuple[int, int]] = set()
    done: set[int] = set()
    on_path: Counter[str] = Counter()
    for root in live:  # state 0 first; the loop only matters for states no search met
        if root in done:
            continue
        done.add(root)
        on_path[names[root]] += 1
        stack = [(root, iter(() if root in stops else calls[root]))]
        while stack:
            i, todo = stack[-1]
            j = next(todo, None)
            if j is None:
                stack.pop()
                on_path[names[i]] -= 1
                continue
            if j not in alive:
                continue
            if on_path[names[j]] > 0:
                back.add((i, j))
            elif j not in done:
                done.add(j)
                on_path[names[j]] += 1
                stack.append((j, iter(() if j in stops else calls[j])))
    return back


def _followed_elsewhere(graph: StateGraph, live: Sequence[int], back: set[tuple[int, int]],
                        stops: set[int]) -> set[tuple[int, int]]:
    """Back calls some other path follows: a path from the entry to the caller that never
    meets the callee's service (the search's own path did). One search per such service."""
    names, calls, alive = graph.services, graph.calls, set(live)
    reach: dict[str, set[int]] = {}
    for _, j in back:
        avoided = names[j]
        if avoided in reach:
            continue
        seen: set[int] = set() if names[0] == avoided else {0}
        todo = list(seen)
        while todo:
            i = todo.pop()
            for k in () if i in stops else calls[i]:
                if k in alive and k not in seen and names[k] != avoided:
                    seen.add(k)
                    todo.append(k)
        reach[avoided] = seen
    return {(i, j) for i, j in back if i in reach[names[j]]}


def _version_calls(svc: Service, served: Sequence[tuple[str, str]]) -> tuple[str, ...]:
    """What the versions serving ``svc`` in a view call (``laneCalls``), in first-seen order;
    every version's calls where the view says nothing about who serves it."""
    if not svc.lane_calls:
        return svc.calls
    if not served:
        return svc.all_calls
    seen: dict[str, None] = {}
    for lane, _ in served:
        seen.update(dict.fromkeys(svc.calls_in(lane)))
    return tuple(seen)


def _renumber(view: _LaneView, shown: set[str]) -> None:
    """Number the drawn steps 2, 3, 4... in the order the request takes them (1 is the
    gateway's hop into the entry).

    A step's number is its state's index in the whole state graph; in a large design most
    states are not drawn, so the raw index (``#8954``) says nothing. Only their order does.
    """
    # 1 is the entry's state: the gateway's hop, unnumbered on its edge
    drawn = sorted({1} | {n for (a, b), ns in view.hop_numbers.items() if a in shown and b in shown
                    for n in ns} | {n for (a, _, b), ns in view.messages.items()
                                    if a in shown and b in shown for n in ns})
    rank = {n: i for i, n in enumerate(drawn, 1)}
    view.hop_numbers = {call: [rank[n] for n in ns if n in rank]
                        for call, ns in view.hop_numbers.items()}
    view.messages = {key: [rank[n] for n in ns if n in rank] for key, ns in view.messages.items()}


def _add(items: list, item: object) -> None:
    if item not in items:
        items.append(item)


# -- drawing ----------------------------------------------------------------------------------
class _Painter:
    """Draws lane views into a Digraph; node ids are synthetic so names never reach DOT raw."""

    def __init__(self, design: LaneDesign, highlight: bool = False) -> None:
        self.design = design
        self.colours = lane_colours(design)
        self.highlight = highlight
        self.lanes_used: set[str] = set()
        self.used: set[str] = set()  # legend keys of the marks drawn
        self.nodes: list[tuple[str, str]] = []  # (node id, service) for the interactive diagram
        self.calls: list[tuple[str, str, str]] = []  # (edge id, caller, callee)
        self.hints: list[tuple[str, str]] = []  # (node id, why its lane serves it)

    def services(self, g: Digraph, view: _LaneView, shown: Sequence[str], prefix: str,
                 lane: str | None = None) -> None:
        ids = {name: f"{prefix}n{i}" for i, name in enumerate(shown)}
        _renumber(view, set(shown))
        for name in shown:
            self._node(g, ids[name], self.design.service(name), view)  # type: ignore[arg-type]
            self.nodes.append((ids[name], name))
            reached = (name in view.reached) if view.reached else None
            self.hints.append((ids[name], serving_hint(self.design, lane, name,
                                                       view.nodes[name], reached)))
        for svc in _unique(self.design.services):
            for callee in _version_calls(svc, view.nodes.get(svc.name, ())):
                if svc.name in ids and callee in ids:
                    self._edge(g, ids[svc.name], ids[callee], (svc.name, callee), view)
                    self.calls.append((f"{ids[svc.name]}_{ids[callee]}", svc.name, callee))
        for i, topic in enumerate(self.design.topics):
            self._topic(g, f"{prefix}t{i}", topic, ids, view)
        if len(shown) < len(set(self.design.service_names)):
            self._stubs(g, ids)

    def _topic(self, g: Digraph, topic_id: str, topic: Topic, ids: dict[str, str],
               view: _LaneView) -> None:
        """A topic among the shown services: a cylinder, dashed publisher -> topic ->
        consumer edges; the producer's edge names the key it writes (its own lane)."""
        design = self.design
        producers = [design.service(n) for n in dict.fromkeys(design.producers(topic.name))
                     if n in ids]
        consumers = [design.service(n) for n in dict.fromkeys(design.consumers(topic.name))
                     if n in ids]
        if not producers and not consumers:
            return
        kind = " ".join(x for x in (topic.broker, topic.kind) if x)
        g.node(topic_id, label=_label(topic.name, kind), shape="cylinder", style="filled",
               fillcolor="#e8f4f3", color=MESSAGE_COLOUR, fontcolor="#0f4c4a",
               tooltip=_label(f"{topic.name}: the apps carry the lane through it"),
               id=topic_id)
        self.used.add("message")
        for svc in producers:
            numbers = [n for (p, t, _), ns in view.messages.items()
                       if p == svc.name and t == topic.name for n in ns]
            keys = dict.fromkeys(lane for lane, _ in view.nodes.get(svc.name, []))
            self._message(g, ids[svc.name], topic_id, numbers,
                          ["key " + "/".join(keys)] if keys else [])
        for svc in consumers:
            numbers = [n for (_, t, c), ns in view.messages.items()
                       if c == svc.name and t == topic.name for n in ns]
            self._message(g, topic_id, ids[svc.name], numbers,
                          [] if svc.filters_by_lane else ["takes every lane"],
                          lost=not svc.filters_by_lane)

    def _message(self, g: Digraph, tail: str, head: str, numbers: list[int],
                 labels: list[str], lost: bool = False) -> None:
        attrs = {"style": "dashed", "color": MESSAGE_COLOUR, "penwidth": "1.4",
                 "id": f"{tail}_{head}"}
        if lost:
            attrs["color"] = LOST_COLOUR
            self.used.add("lost")
        if self.highlight and numbers:  # the request's path goes on through the topic
            shown = ",".join(map(str, numbers[:4])) + ("..." if len(numbers) > 4 else "")
            labels = [f"#{shown}", *labels]
            attrs.update(color=TRACE_COLOUR, penwidth="2.4")
            self.used.add("trace")
        elif self.highlight:
            attrs["color"] = FADED_COLOUR
        if labels:
            attrs["label"] = _label(*labels)
            attrs["fontcolor"] = attrs["color"]
        g.edge(tail, head, **attrs)

    def _node(self, g: Digraph, node_id: str, svc: Service, view: _LaneView) -> None:
        served = view.nodes[svc.name]
        reached = svc.name in view.reached
        by_lane: dict[str, list[str]] = {}
        for lane, how in served:
            by_lane.setdefault(lane, []).append(how)
        lines = [svc.name, " | ".join(_served_text(lane, hows) for lane, hows in by_lane.items())]
        if view.failed:  # no lane served it: the request never left the gateway
            lines[1], by_lane = "not reached", {}
        self.lanes_used.update(by_lane)
        lost = context_loss_label(self.design, svc.name)
        keeps = lost is None
        if lost is not None:
            lines.append(lost)
        abort = view.aborts.get(svc.name)
        if abort:
            lines.append(f"{abort}: the team's route answers, the app is not called")
        fills = [self.colours.get(lane, UNKNOWN_FILL) for lane in by_lane] or [UNKNOWN_FILL]
        attrs = {
            "label": _label(*lines),
            "fillcolor": ":".join(fills),
            "style": "striped" if len(fills) > 1 else "rounded,filled",
            "tooltip": _label(svc.name),
            "id": node_id,  # the interactive diagram finds the service by it
        }
        if not keeps:
            attrs.update(color=LOST_COLOUR, fontcolor=LOST_COLOUR, penwidth="2")
            self.used.add("dropper")
        if self.design.mode == "strict" and any(how == "fallback" for _, how in served):
            # strict mode has no fallback: where the lane lacks the service the call fails
            lines[1] = "404: the lane lacks it (strict)"
            attrs.update(label=_label(*lines), fillcolor="#ffffff", color=LOST_COLOUR,
                         fontcolor=LOST_COLOUR, style="rounded,filled,bold")
            self.used.add("strict404")
        if abort:
            attrs.update(color=LOST_COLOUR, fontcolor=LOST_COLOUR, penwidth="2.5")
            self.used.add("abort")
        if not reached and (view.reached or view.failed):  # not from the simulator's walk
            attrs["style"] += ",dashed"
            self.used.add("unreached")
            if self.highlight:
                attrs.update(color=FADED_COLOUR, fontcolor="#888888")
        elif self.highlight:
            attrs["penwidth"] = "2.5"
            attrs.setdefault("color", TRACE_COLOUR)
            self.used.add("trace")
        g.node(node_id, **attrs)

    def _edge(self, g: Digraph, tail: str, head: str, call: tuple[str, str],
              view: _LaneView) -> None:
        caller = self.design.service(call[0])
        served = view.edges.get(call, [])
        hows = {how for _, how in served}
        before = {lane for lane, _ in view.nodes.get(call[0], [])}
        # label only where something changes, so long fallback stretches stay readable
        labels = [f"fallback -> {lane}" for lane, how in served
                  if how == "fallback" and lane not in before]
        if caller is not None and not self.design.keeps_context(caller.name):
            labels += [f"context dropped -> {lane}" for lane, how in served if how == "lost"]
        attrs: dict[str, str] = {"color": EDGE_COLOUR, "id": f"{tail}_{head}"}
        if "lost" in hows:
            attrs.update(style="dotted", color=LOST_COLOUR, penwidth="1.6")
            self.used.add("lost")
        elif "fallback" in hows and self.design.mode == "strict":
            labels = [label for label in labels if not label.startswith("fallback")]
            labels.insert(0, "404")
            attrs.update(color=LOST_COLOUR, penwidth="1.8")
            self.used.add("strict404")
        elif "fallback" in hows:
            attrs.update(style="dashed", color=FALLBACK_COLOUR, penwidth="1.4")
            self.used.add("fallback")
        if call in view.cycles:
            self.used.add("cycle")
            followed = call in view.followed
            labels.append("cycle" if followed else "cycle: not followed")
            attrs["color"] = LOST_COLOUR
            if not followed:  # a back edge must not pull its tail below its head
                attrs["constraint"] = "false"
        numbers = view.hop_numbers.get(call, [])
        if self.highlight and numbers:
            shown = ",".join(map(str, numbers[:4])) + ("..." if len(numbers) > 4 else "")
            labels.insert(0, f"#{shown}")
            attrs["penwidth"] = "2.4"
        elif self.highlight and call not in view.cycles:
            attrs["color"] = FADED_COLOUR
        if labels:
            attrs["label"] = _edge_label(*labels)
            attrs["fontcolor"] = attrs["color"]
        g.edge(tail, head, **attrs)

    def _stubs(self, g: Digraph, ids: dict[str, str]) -> None:
        """A '+N' mark beside services with calls to or from services left out."""
        hidden_calls: Counter[str] = Counter()
        hidden_callers: Counter[str] = Counter()
        known = set(self.design.service_names)
        for svc in _unique(self.design.services):
            for callee in set(svc.all_calls) & known:
                if svc.name in ids and callee not in ids:
                    hidden_calls[svc.name] += 1
                elif callee in ids and svc.name not in ids:
                    hidden_callers[callee] += 1
        for name, count in hidden_calls.items():
            stub = f"{ids[name]}_out"
            g.node(stub, label=f"+{count} more", shape="plaintext", fontcolor="#777777",
                   fontsize="9")
            g.edge(ids[name], stub, style="dashed", color=FADED_COLOUR, arrowhead="none")
        for name, count in hidden_callers.items():
            stub = f"{ids[name]}_in"
            g.node(stub, label=f"+{count} callers", shape="plaintext", fontcolor="#777777",
                   fontsize="9")
            g.edge(stub, ids[name], style="dashed", color=FADED_COLOUR)

    def failed_gateway(self, g: Digraph, reason: str) -> None:
        """The gateway that answered an error itself, and why: nothing behind it is reached."""
        ingress = self.design.ingress
        g.node("gateway", label=_label("gateway", ingress.gateway_name if ingress else "",
                                       reason),
               shape="invhouse", style="filled,bold", fillcolor="#fde2e0", color=LOST_COLOUR,
               fontcolor=LOST_COLOUR, penwidth="2.5", id="gateway")
        self.used.add("gateway_error")

    def gateway(self, g: Digraph, lane: str | None, entry_id: str, label: str) -> None:
        ingress = self.design.ingress
        g.node("gateway", label=_label("gateway", ingress.gateway_name if ingress else ""),
               shape="invhouse", style="filled", fillcolor="#ffffff", color="#333333",
               id="gateway")  # the canvas's first view starts here
        g.edge("gateway", entry_id, label=_edge_label(*label.split("\n")), color="#333333",
               fontcolor="#333333",
               penwidth="2.4" if self.highlight and lane else "1")

    def legend(self) -> dict[str, tuple]:
        """Legend entries for what was drawn: lane swatches and the marks used."""
        swatches = tuple(
            (lane + (" (baseline)" if lane == self.design.baseline else ""), self.colours[lane])
            for lane in dict.fromkeys(self.design.lane_names) if lane in self.lanes_used)
        return {"swatches": swatches, "keys": tuple(k for k in LEGEND_KEYS if k in self.used),
                "nodes": tuple(self.nodes), "calls": tuple(self.calls),
                "hints": tuple(self.hints)}


def _served_text(lane: str, hows: Sequence[str]) -> str:
    """``@s1``, ``@s1 (fallback)``, ``@s1 (fallback, no context)``: how the lane got the call."""
    words = [_HOW_WORDS[how] for how in hows if how in _HOW_WORDS]
    return f"@{lane}" + (f" ({', '.join(words)})" if words else "")


_HOW_WORDS = {"fallback": "fallback", "lost": "no context"}


def _label(*lines: str) -> str:
    """A plain DOT label: user text can hold no escape sequence, and never reads as HTML."""
    return nohtml("\\n".join(line.replace("\\", "\\\\") for line in lines))


def _edge_label(*lines: str) -> str:
    """An edge label padded with spaces Graphviz measures and the browser drops.

    Graphviz sizes the label's box with Helvetica's widths and routes the edge beside it;
    browsers without Helvetica draw the (centred) text up to a fifth wider, so unpadded text
    spills over its own edge. SVG collapses the spaces, leaving a margin on both sides.
    """
    return _label(*(f"{' ' * pad}{line}{' ' * pad}"
                    for line in lines for pad in [2 + len(line) // 8]))


def _unique(services: Iterable[Service]) -> list[Service]:
    """The first service of each name: a duplicated name (an error) is drawn once."""
    return list({s.name: s for s in reversed(tuple(services))}.values())[::-1]


def _graph(direction: str) -> Digraph:
    g = Digraph("lanes")
    g.attr(rankdir=direction, fontname=FONT, fontsize="11", nodesep="0.3", ranksep="0.5",
           bgcolor="transparent")
    # generous margins: browsers without Helvetica draw wider text than Graphviz measured
    g.attr("node", shape="box", fontname=FONT, fontsize="11", margin="0.16,0.06")
    g.attr("edge", fontname=FONT, fontsize="9", arrowsize="0.7")
    return g


def _lane_title(design: LaneDesign, lane: str | None) -> str:
    if lane is None:
        return "no lane: the baseline serves every call"
    if design.lane(lane) is None:
        return f"lane {lane} (unknown: the baseline serves every call)"
    return f"lane {lane}" + (" (baseline)" if lane == design.baseline else "")


def _entry(design: LaneDesign) -> str:
    return design.ingress.entry if design.ingress else ""


def _state_graph(design: LaneDesign, lane: str | None) -> StateGraph | None:
    """The simulator's state graph of a chain in ``lane`` from the entry (None: no entry)."""
    entry = _entry(design)
    return explore(design, entry, lane)[0] if design.service(entry) else None


# -- public entry points ----------------------------------------------------------------------
def chain_diagram(design: LaneDesign, lane: str | None, *, focus: Iterable[str] | None = None,
                  max_nodes: int = DEFAULT_MAX_NODES, direction: str = "LR") -> Diagram:
    """The call chain of a request in ``lane``, from the gateway through the call graph."""
    label = f"{design.route_header}: {lane}" if lane else "no lane header"
    return _single(design, lane, _state_graph(design, lane), _lane_title(design, lane), label,
                   focus, max_nodes, direction, highlight=False)


def trace_diagram(design: LaneDesign, trace: Trace, *, focus: Iterable[str] | None = None,
                  max_nodes: int = DEFAULT_MAX_NODES, direction: str = "LR",
                  carried: str = "") -> Diagram:
    """A simulated request (``simulate()``'s Trace) highlighted on the call graph.

    A request that fails at the gateway (404: no rule, no host, no entry) is drawn as it
    went: a red gateway saying why, and no service reached, no arrow into the entry.
    ``carried`` is the lane header the request came with (``"x-asm-prefer-tag: s4"``); where
    the gateway chose another lane (a default, an earlier rule) the gateway's edge says both.
    """
    if trace.status != 200 or trace.graph is None:
        reason = failure_reason(design, trace)
        title = f"HTTP {trace.status}: {reason}"
        return _single(design, trace.lane, None, title, "", focus, max_nodes, direction,
                       highlight=True, failed=f"{trace.status}: {reason}")
    via = f", chosen by {trace.via}" if trace.via and trace.via != "lane" else ""
    title = f"request in {_lane_title(design, trace.lane)}{via}"
    label = f"{design.route_header}: {trace.lane}"
    if carried_otherwise(design, trace, carried):
        label = f"{label}\n(the request carried {carried})"
    return _single(design, trace.lane, trace.graph, title, label, focus, max_nodes, direction,
                   highlight=True)


def carried_otherwise(design: LaneDesign, trace: Trace, carried: str) -> bool:
    """True when the request carried (``carried``, as typed) another lane header than the one
    the gateway set for the lane it chose (a default, an earlier rule, no lane at all)."""
    chose = f"{design.route_header}: {trace.lane}" if trace.lane else "no lane header"
    return bool(carried) and carried != chose


def failure_reason(design: LaneDesign, trace: Trace) -> str:
    """Why the gateway answered an error, in a few words (``no rule matches; no default``)."""
    ingress = design.ingress
    for warning in trace.warnings:
        if warning.startswith("no ingress rule matches"):
            if ingress is not None and ingress.strategy == "weighted":
                return "the request does not match the weighted route; no default"
            return "no rule matches; no default"
        if warning.startswith("host "):
            return "the host is not among the ingress hosts"
        if warning == "the design has no ingress":
            return "the design has no ingress"
        if warning.startswith("entry service"):
            return "the entry service is not a service of the design"
    return "no route"


def _single(design: LaneDesign, lane: str | None, graph: StateGraph | None, title: str,
            gateway_label: str, focus: Iterable[str] | None, max_nodes: int, direction: str,
            highlight: bool, failed: str = "") -> Diagram:
    shown, left_out = _select(design, lane, focus, max_nodes)
    g = _graph(direction)
    painter = _Painter(design, highlight)
    if failed:
        painter.failed_gateway(g, failed)
        if _entry(design) in shown:  # where it would have sent the request; not drawn
            g.edge("gateway", f"n{shown.index(_entry(design))}", style="invis")
    if not shown:
        g.node("empty", label="no services yet", shape="plaintext")
    else:
        view = _lane_view(design, lane, graph)
        view.failed = bool(failed)
        painter.services(g, view, shown, "", lane)
        if _entry(design) in shown and not failed:
            painter.gateway(g, lane, f"n{shown.index(_entry(design))}", gateway_label)
    return Diagram(g.source, title, shown, left_out, lanes=(lane,) if lane else (),
                   **painter.legend())


def lanes_diagram(design: LaneDesign, lanes: Sequence[str] | None = None, *,
                  focus: Iterable[str] | None = None, max_nodes: int = DEFAULT_MAX_NODES,
                  direction: str = "TB") -> Diagram:
    """Every lane's call chain side by side, one box per lane.

    Each lane's box shows the same services, at most ``max_nodes`` of them; pick the lanes
    to compare rather than shrinking every box.
    """
    chosen = list(dict.fromkeys(lanes if lanes is not None else design.lane_names))
    if focus is None:  # automatic: the compared test lanes' own services and neighbours
        tests = [lane for lane in chosen if lane != design.baseline and design.lane(lane)]
        focus = list(dict.fromkeys(s for lane in tests for s in lane_focus(design, lane))) \
            if tests and len(design.services) > max_nodes else None
    shown, left_out = _select(design, None, focus, max_nodes)
    g = _graph(direction)
    painter = _Painter(design)
    for i, lane in enumerate(chosen):
        with g.subgraph(name=f"cluster_{i}") as box:
            box.attr(label=_label(_lane_title(design, lane)), style="rounded", color="#999999",
                     labeljust="l")
            painter.services(box, _lane_view(design, lane, _state_graph(design, lane)), shown,
                             f"l{i}", lane)
    title = "all lanes side by side" if lanes is None else "lanes " + ", ".join(chosen)
    return Diagram(g.source, title, shown, left_out, lanes=tuple(chosen), **painter.legend())
