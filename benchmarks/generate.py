"""Seeded synthetic designs shaped like real meshes, from the mock scenario to 5,000 services.

The call graph is layered by depth (at most ``MAX_DEPTH`` layers below the entry service):
every service is called by one service of the layer above it, so all of them are reachable,
then gets extra callees up to a fan-out of 1-5, mostly in the next layer and sometimes further
down. A few cross edges go sideways within a layer, and in large meshes a handful of them point
back up, so the graph is mostly, not strictly, a DAG (the validator warns about those cycles).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from itertools import pairwise

from lanedesign import examples
from lanedesign.model import (
    Ingress,
    IngressRule,
    Lane,
    LaneDesign,
    PassThrough,
    RequestMatch,
    Service,
    StringMatch,
)

SEED = 20261129
MAX_DEPTH = 8
MAX_FAN_OUT = 5
ROUTE_HEADER = "x-asm-prefer-tag"
# Words for service names, so generated designs read like a shop rather than s0001..s5000.
DOMAINS = ("api", "cart", "pay", "ship", "user", "mail", "stock", "search", "price", "auth",
           "review", "media", "promo", "order", "notify", "ledger")


@dataclass(frozen=True)
class Size:
    """A benchmark size: its name and the shape of the design it stands for."""

    name: str
    services: int
    lanes: int
    strategy: str = "rules"


SIZES: dict[str, Size] = {
    "S": Size("S", 3, 3),  # the mock scenario itself (examples/mock-baggage.yaml)
    "M": Size("M", 50, 10, "rules"),
    "L": Size("L", 1_000, 50, "weighted"),
    "XL": Size("XL", 5_000, 100, "rules"),
}


def design_for(size: str, seed: int = SEED) -> LaneDesign:
    """The benchmark design of ``size`` (``S``, ``M``, ``L`` or ``XL``)."""
    if size == "S":
        return examples.load("mock-baggage")
    shape = SIZES[size]
    return synthetic_design(shape.services, shape.lanes, seed=seed, strategy=shape.strategy,
                            name=f"synthetic-{size.lower()}")


def synthetic_design(services: int, lanes: int, seed: int = SEED, strategy: str = "rules",
                     name: str = "synthetic") -> LaneDesign:
    """A valid loose-mode design with ``services`` services and ``lanes`` lanes (baseline first).

    >>> len(synthetic_design(50, 10).services)
    50
    """
    if services < 2 or lanes < 2:
        raise ValueError("a synthetic design needs at least 2 services and 2 lanes")
    rng = random.Random(seed)
    namespaces = [f"team-{i}" for i in range(min(8, 1 + services // 200))]
    names = [f"{DOMAINS[i % len(DOMAINS)]}-{i:04d}" for i in range(services)]
    calls = _call_graph(rng, services)
    callers = [i for i in range(services) if calls[i]]
    quiet = set(rng.sample(callers, max(1, round(0.03 * len(callers)))))
    svc_objs = tuple(
        Service(name=names[i], calls=tuple(names[j] for j in calls[i]),
                namespace=rng.choice(namespaces), port=8080, propagates=i not in quiet)
        for i in range(services)
    )
    lane_objs = _lanes(rng, names, lanes)
    return LaneDesign(
        name=name,
        services=svc_objs,
        lanes=lane_objs,
        baseline=lane_objs[0].name,
        namespace=namespaces[0],
        mode="loose",
        route_header=ROUTE_HEADER,
        pass_through=PassThrough("baggage"),
        fallback=_fallbacks(rng, names, lane_objs),
        ingress=_ingress(rng, names[0], lane_objs, strategy),
    )


def _layer_sizes(services: int) -> list[int]:
    """Widths of the layers below the entry service, growing geometrically with depth."""
    depth = min(MAX_DEPTH, services - 1)
    rest = services - 1
    ratio = 1.0
    while sum(ratio ** d for d in range(1, depth + 1)) < rest:
        ratio += 0.01
    # the ratio stays well under MAX_FAN_OUT (about 3 for 5,000 services), so the round-robin
    # parents of _call_graph keep their fan-out within bounds (tests check it per size)
    widths = [max(1, round(ratio ** d)) for d in range(1, depth + 1)]
    widths[-1] += rest - sum(widths)
    while widths[-1] < 1:  # rounding overshoot: take it back from the widest inner layer
        widest = widths.index(max(widths[:-1]))
        widths[widest] -= 1
        widths[-1] += 1
    return widths


def _call_graph(rng: random.Random, services: int) -> list[list[int]]:
    """Callees by service index; index 0 is the entry service, layers follow in order."""
    layers = [[0]]
    start = 1
    for width in _layer_sizes(services):
        layers.append(list(range(start, start + width)))
        start += width
    calls: list[list[int]] = [[] for _ in range(services)]
    for upper, lower in pairwise(layers):
        for k, child in enumerate(lower):  # round robin: parents share the children evenly
            calls[upper[k % len(upper)]].append(child)
    for d, layer in enumerate(layers[:-1]):
        below = [i for lower in layers[d + 1:] for i in lower]
        for i in layer:
            target = rng.randint(1, MAX_FAN_OUT)
            while len(calls[i]) < min(target, len(below)):
                # mostly the next layer; now and then a service further down
                pool = layers[d + 1] if rng.random() < 0.8 else below
                callee = rng.choice(pool)
                if callee not in calls[i]:
                    calls[i].append(callee)
    _cross_edges(rng, layers, calls)
    return calls


def _cross_edges(rng: random.Random, layers: list[list[int]], calls: list[list[int]]) -> None:
    """Sideways calls within a layer (DAG-safe: to a later index), and a few back edges."""
    inner = [layer for layer in layers[1:] if len(layer) > 1]
    services = len(calls)
    for _ in range(services // 50):
        layer = rng.choice(inner)
        a, b = sorted(rng.sample(layer, 2))
        if b not in calls[a] and len(calls[a]) < MAX_FAN_OUT:
            calls[a].append(b)
    for _ in range(services // 500):  # cycles: a deep service calls back up the graph
        deep = rng.choice(layers[-2])
        up = rng.choice(layers[1])
        if up not in calls[deep] and len(calls[deep]) < MAX_FAN_OUT:
            calls[deep].append(up)


def _lanes(rng: random.Random, names: list[str], lanes: int) -> tuple[Lane, ...]:
    """The baseline holding everything, then lanes of 5-30% of the services each."""
    baseline = Lane("base", labels={"version": "v1"}, services=names)
    out = [baseline]
    for k in range(1, lanes):
        share = rng.uniform(0.05, 0.30)
        count = max(1, round(share * len(names)))
        members = sorted(rng.sample(range(len(names)), count))
        out.append(Lane(f"feat-{k:03d}", labels={"version": f"v{k + 1}"},
                        services=[names[i] for i in members]))
    return tuple(out)


def _fallbacks(rng: random.Random, names: list[str],
               lanes: tuple[Lane, ...]) -> tuple[tuple[str, str], ...]:
    """Per-service fallback targets for about 5% of the services a non-baseline lane holds."""
    holders: dict[str, list[str]] = {}
    for lane in lanes[1:]:
        for svc in lane.services:
            holders.setdefault(svc, []).append(lane.name)
    held = [svc for svc in names if svc in holders]  # design order keeps the output stable
    chosen = sorted(rng.sample(range(len(held)), max(1, round(0.05 * len(held)))))
    return tuple((held[i], rng.choice(holders[held[i]])) for i in chosen)


def _ingress(rng: random.Random, entry: str, lanes: tuple[Lane, ...],
             strategy: str) -> Ingress:
    """Rules (a user's rule, then one route-header rule per lane) or a weighted split."""
    baseline = lanes[0].name
    if strategy == "weighted":
        canaries = rng.sample([lane.name for lane in lanes[1:]], min(4, len(lanes) - 1))
        weights = [(lane, 5) for lane in canaries]
        weights.insert(0, (baseline, 100 - 5 * len(canaries)))
        return Ingress(entry=entry, strategy="weighted", weights=tuple(weights),
                       match=RequestMatch(uri=StringMatch("prefix", "/")), default=baseline)
    tester = lanes[1].name
    rules = [IngressRule(tester, RequestMatch(headers=(("x-user", StringMatch("exact", "qa")),)))]
    rules += [IngressRule(lane.name, RequestMatch(
        headers=((ROUTE_HEADER, StringMatch("exact", lane.name)),))) for lane in lanes]
    return Ingress(entry=entry, strategy="rules", rules=tuple(rules), default=baseline)
