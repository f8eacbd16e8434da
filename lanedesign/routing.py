"""A service's existing routing, adopted from its team's VirtualService and DestinationRule.

``Service.routing`` holds a ``Routing``; docs/istio.md ("A team's routing") says how the
lanes and the team's routes share a service.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .requestmatch import RequestMatch, pairs

# The per-route fields of an Istio HTTPRoute that do not choose the destination: a team's
# routing keeps them verbatim (docs/istio.md, "A team's routing").
ROUTE_SETTINGS: tuple[str, ...] = ("timeout", "retries", "fault", "mirror", "mirrorPercentage",
                                   "mirrors", "headers", "corsPolicy", "rewrite")


def _frozen_dict(value: Mapping | None) -> dict:
    return dict(value or {})


@dataclass(frozen=True)
class RouteDestination:
    """One destination of a team's route: a subset of the service, its weight, its port."""

    subset: str
    weight: int | None = None  # None: the route's only destination
    port: int | None = None


@dataclass(frozen=True)
class TeamRoute:
    """A team's match route: any match (OR) sends the request to ``destinations``.

    ``settings`` are its own Istio route fields (``ROUTE_SETTINGS``: Bookinfo's jason route
    to ratings has a 7 s ``fault``), kept verbatim and left out of the hash.
    """

    name: str
    matches: tuple[RequestMatch, ...]
    destinations: tuple[RouteDestination, ...]
    settings: dict = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "matches", tuple(self.matches))
        object.__setattr__(self, "destinations", tuple(self.destinations))
        object.__setattr__(self, "settings", _frozen_dict(self.settings))


@dataclass(frozen=True)
class TeamSubset:
    """A DestinationRule subset a team defined (Bookinfo's ratings ``v2-mysql``)."""

    name: str
    labels: tuple[tuple[str, str], ...] = ()
    traffic_policy: dict = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", pairs(self.labels))
        object.__setattr__(self, "traffic_policy", _frozen_dict(self.traffic_policy))

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)


@dataclass(frozen=True)
class Routing:
    """A service's existing routing, adopted from its team's VirtualService and DestinationRule.

    The precedence rule (docs/istio.md): a chain in a lane other than the baseline is routed
    by the lane and keeps ``settings``; ``routes`` then ``default`` route the baseline's
    traffic (no lane, an unknown lane, the baseline lane, or a lost context). An empty
    ``default`` means the baseline's subset.
    """

    settings: dict = field(default_factory=dict, hash=False)
    routes: tuple[TeamRoute, ...] = ()
    default: tuple[RouteDestination, ...] = ()
    traffic_policy: dict = field(default_factory=dict, hash=False)
    subsets: tuple[TeamSubset, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "settings", _frozen_dict(self.settings))
        object.__setattr__(self, "routes", tuple(self.routes))
        object.__setattr__(self, "default", tuple(self.default))
        object.__setattr__(self, "traffic_policy", _frozen_dict(self.traffic_policy))
        object.__setattr__(self, "subsets", tuple(self.subsets))

    @property
    def steers(self) -> bool:
        """True when the team's routes or default send baseline traffic elsewhere than the
        baseline's subset, so every other lane needs a route of its own."""
        return bool(self.routes or self.default)

    def subset(self, name: str) -> TeamSubset | None:
        return next((s for s in self.subsets if s.name == name), None)

    @property
    def match_headers(self) -> frozenset[str]:
        """The (lowercase) request headers the team's matches test."""
        return frozenset(name.lower() for route in self.routes for match in route.matches
                         for name, _ in match.headers)


def has_fault(routing: Routing) -> bool:
    """True when the team sets a fault on the service or on one of its routes."""
    return "fault" in routing.settings or any("fault" in r.settings for r in routing.routes)
