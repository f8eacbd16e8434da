"""The simulator where a team's routing decides (docs/istio.md, "A team's routing").

Which team-tested headers survive each hop, which team route matches at a hop, its faults, and
a weighted split followed to its largest share. ``simulate.explore`` hands a design over here
when ``LaneDesign.team_steered``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .matching import string_matches
from .model import LaneDesign
from .simulate_queues import Messages
from .stategraph import SHAPE_CACHE, Shape, StateGraph, StateNote


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
    cache = design.__dict__.setdefault(SHAPE_CACHE, {})
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
        self.index: dict[tuple[str, bool, frozenset[str], str | None], int] = {}
        self.names: list[str] = []
        self.kept: list[bool] = []
        self.carried: list[frozenset[str]] = []
        self.served: list[str] = []
        self.notes: list[StateNote] = []
        self.calls: list[list[int]] = []
        self.callees: list[tuple] = []  # names; for a message (consumer, kept, pin, topic)
        self.finish: list[int] = []
        self.warnings: list[str] = []
        self.warned: set[tuple[str, str]] = set()
        self.on_path: dict[str, int] = {}
        self.path: list[str] = []
        self.cyclic = False
        # message topics (docs/queues.md): each message's consumer state is pinned to the
        # lane the queue rule picks; a team's routes never choose it (the mesh does not
        # route messages), and a message carries no team-tested header
        self.queues = (Messages(design, lane, self.services, self.warnings, merge=False)
                       if design.has_queues else None)
        self.via: list[list[str | None]] = []

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
               pin: str | None = None) -> tuple[str, StateNote]:
        """Who serves this state and why (the precedence rule)."""
        design, lane = self.design, self.lane
        if pin is not None:  # a message's consumer: the queue rule chose it
            how = ("lost" if lane is not None and not kept else
                   "fallback" if kept and self.real and pin != lane else "lane")
            return pin, self._note(name, pin, how, None, {})
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

    def visit(self, name: str, kept: bool, carried: frozenset[str], entry: bool,
              pin: str | None = None) -> int:
        i = len(self.names)
        self.index[(name, kept, carried, pin)] = i
        served, note = self.choose(name, kept, carried, entry, pin)
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
            why = self.design.context_loss(name)
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
        if self.queues is not None:
            self.via.append([])
            tagged = kept and self.keeps[name]
            for message in self.queues.messages(name, served, tagged):
                consumer = message[0]
                if consumer in self.on_path or consumer == name:
                    self.cyclic = True
                    self._warn((name, consumer), f"cycle: {name} publishes to {message[3]}, "
                               f"which {consumer} consumes, already on the path "
                               f"{' -> '.join((*self.path, name))}; not followed")
                known.append(message)
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
            if isinstance(callee, tuple):  # a message: no team header rides along
                callee, kept, pin, topic = callee
                state = (callee, kept, frozenset(), pin)
                self.via[i].append(topic)
            else:
                state = (callee, self.kept[i] and self.keeps[name],
                         self.passes(name, self.carried[i]), None)
                if self.queues is not None:
                    self.via[i].append(None)
            j = self.index.get(state)
            if j is None:
                j = self.visit(*state[:3], False, state[3])
                stack.append([j, 0])
            elif callee in self.on_path:
                self.cyclic = True
            self.calls[i].append(j)
        shape = Shape(tuple(self.names), tuple(self.kept), tuple(tuple(c) for c in self.calls),
                      tuple(self.finish), self.cyclic, tuple(self.warnings), {},
                      tuple(self.served), tuple(tuple(v) for v in self.via))
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
