"""The request simulator: which lane serves each hop of a request (``lanes.md`` §2-3).

``serving_lane`` is the one rule everything else uses; ``enter`` is the gateway;
``simulate`` walks the call graph; ``distribution`` repeats weighted entry; ``routing_table``
tabulates ``serving_lane`` for every service and lane (``render.tables.routing_matrix`` makes
a DataFrame of it).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from .matching import request_matches
from .model import LaneDesign
from .names import is_dns1123_label

MAX_HOPS = 10_000  # a guard for huge fan-out graphs; the walk stops with a warning


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "caller": self.caller,
            "service": self.service,
            "lane": self.lane,
            "fallback": self.fallback,
            "labels": dict(self.labels),
            "context": self.context,
            "depth": self.depth,
        }


@dataclass(frozen=True)
class Entry:
    """What the gateway decided: status, the chain's lane and which rule chose it."""

    status: int
    lane: str | None
    via: str | None  # "rules[0]", "weights", "default", or None for a 404
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Trace:
    """The result of one simulated request."""

    status: int
    lane: str | None
    hops: tuple[Hop, ...]
    warnings: tuple[str, ...]
    via: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "lane": self.lane,
            "via": self.via,
            "hops": [h.to_dict() for h in self.hops],
            "warnings": list(self.warnings),
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
        return Trace(entry.status, None, (), entry.warnings, entry.via)
    if design.service(start) is None:
        return Trace(404, entry.lane, (), (*entry.warnings, f"entry service {start!r} is not "
                                           "a service of the design"), entry.via)
    hops, warnings = walk(design, start, entry.lane)
    return Trace(200, entry.lane, hops, (*entry.warnings, *warnings), entry.via)


def walk(design: LaneDesign, start: str, lane: str | None,
         max_hops: int = MAX_HOPS) -> tuple[tuple[Hop, ...], list[str]]:
    """Depth-first walk from ``start``: each service calls each callee once, in order."""
    services = {s.name: s for s in design.services}
    lanes = {ln.name: ln for ln in reversed(design.lanes)}  # the first of a duplicated name wins
    serve = lane_resolver(design)
    hops: list[Hop] = []
    warnings: list[str] = []
    dropped: set[str] = set()
    # stack entries: (caller, service, context lane, path of services to here)
    stack: list[tuple[str | None, str, str | None, tuple[str, ...]]] = [(None, start, lane, ())]
    while stack:
        caller, name, context, path = stack.pop()
        if len(hops) >= max_hops:
            warnings.append(f"walk stopped after {max_hops} hops (call graph too large)")
            break
        served = serve(context, name)
        holder = lanes.get(served)
        in_lane = context in lanes
        hops.append(Hop(caller, name, served, in_lane and served != context,
                        holder.labels if holder else (), context, len(path)))
        svc = services[name]
        here = (*path, name)
        carried = context if svc.propagates else None
        if not svc.propagates and svc.calls and context is not None and name not in dropped:
            dropped.add(name)
            warnings.append(f"context dropped: {name} does not propagate the lane context; "
                            f"its calls ({', '.join(svc.calls)}) are served by the baseline")
        for callee in reversed(svc.calls):
            if callee not in services:
                warnings.append(f"{name} calls unknown service {callee!r}; not followed")
            elif callee in here:
                warnings.append(f"cycle: {name} calls {callee}, already on the path "
                                f"{' -> '.join(here)}; not followed")
            else:
                stack.append((name, callee, carried, here))
    return tuple(hops), warnings


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
