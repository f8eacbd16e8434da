"""The lane design: immutable values and pure edits that return new designs.

Vocabulary follows ``lanes.md``: a design (lane group) has services with their calls, lanes
(one of them the baseline), a mode, a route header, a pass-through method and an ingress.
Nothing here checks that a design makes sense; that is ``validate``'s job, so a half-typed
design in a widget is still a value we can hold, show and save.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Literal

# The match, port and team-routing types live in modules of their own below the model; they
# are named here too, so that ``lanedesign.model`` stays the one place a caller imports from.
from .ports import HTTP_PROTOCOLS as HTTP_PROTOCOLS
from .ports import PROTOCOLS as PROTOCOLS
from .ports import TCP_PROTOCOLS as TCP_PROTOCOLS
from .ports import ServicePort as ServicePort
from .ports import mesh_protocol as mesh_protocol
from .requestmatch import RequestMatch as RequestMatch
from .requestmatch import StringMatch as StringMatch
from .requestmatch import pairs as _pairs
from .routing import ROUTE_SETTINGS as ROUTE_SETTINGS
from .routing import RouteDestination as RouteDestination
from .routing import Routing as Routing
from .routing import TeamRoute as TeamRoute
from .routing import TeamSubset as TeamSubset
from .routing import has_fault as _has_fault

Mode = Literal["loose", "strict"]
Method = Literal["traceId", "header", "baggage"]
Strategy = Literal["rules", "weighted"]
MatchKind = Literal["exact", "prefix", "regex"]

MODES: tuple[str, ...] = ("loose", "strict")
METHODS: tuple[str, ...] = ("traceId", "header", "baggage")
STRATEGIES: tuple[str, ...] = ("rules", "weighted")
MATCH_KINDS: tuple[str, ...] = ("exact", "prefix", "regex")
# Where the mesh's L7 proxy sits: a sidecar beside every pod, or Istio ambient's waypoints
# (ztunnel carries L4; only a waypoint applies HTTPRoutes, docs/ambient.md).
DATA_PLANES: tuple[str, ...] = ("sidecar", "ambient")
WAYPOINT_SCOPES: tuple[str, ...] = ("namespace", "service")
DEFAULT_WAYPOINT = "waypoint"
# What a topic is on its broker (docs/queues.md): a label for people and exports; the lane
# rules are the same for all four, since the apps, not the mesh, carry the lane across.
TOPIC_KINDS: tuple[str, ...] = ("topic", "queue", "stream", "exchange")
DEFAULT_BROKER = "kafka"
DEFAULT_TOPIC_KIND = "topic"

DEFAULT_NAMESPACE = "default"
DEFAULT_ROUTE_HEADER = "x-asm-prefer-tag"


def _names(value: Iterable[str] | str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):  # a lone name is a common slip; keep it as one name, not letters
        return (value,)
    return tuple(value)


@dataclass(frozen=True)
class IngressRule:
    """Send requests matching ``match`` into ``lane``; ``match=None`` matches everything."""

    lane: str
    match: RequestMatch | None = None


@dataclass(frozen=True)
class Ingress:
    """How requests enter the lanes at the gateway (``lanes.md`` §3)."""

    gateway: str = "istio-system/ingressgateway"
    hosts: tuple[str, ...] = ("*",)
    entry: str = ""
    strategy: str = "rules"
    # None means "not given": one rule per lane matching the route header (lanes.md §3).
    rules: tuple[IngressRule, ...] | None = None
    match: RequestMatch | None = None
    weights: tuple[tuple[str, int], ...] = ()
    default: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "hosts", _names(self.hosts))
        if self.rules is not None:
            object.__setattr__(self, "rules", tuple(self.rules))
        object.__setattr__(self, "weights", _pairs(self.weights))

    @property
    def weight_map(self) -> dict[str, int]:
        return dict(self.weights)

    @property
    def gateway_namespace(self) -> str | None:
        ns, sep, _ = self.gateway.rpartition("/")
        return ns if sep else None

    @property
    def gateway_name(self) -> str:
        return self.gateway.rpartition("/")[2]


@dataclass(frozen=True)
class Service:
    """A Kubernetes Service and the services it calls, in call order."""

    name: str
    calls: tuple[str, ...] = ()
    namespace: str | None = None  # None: the design's default namespace
    port: int | None = None
    propagates: bool = True  # False: the app drops the lane context on its outbound calls
    # The pod labels every version of the service carries (its Service's selector); None
    # means the usual ``app: <name>``. Targets without subsets (Gateway API) select a version
    # by these plus the lane's labels.
    selector: tuple[tuple[str, str], ...] | None = None
    # The Service's ports as Kubernetes has them; empty: only ``port`` is known.
    ports: tuple[ServicePort, ...] = ()
    # What the version of one lane calls instead of ``calls`` (Bookinfo: reviews v1 calls
    # nothing, v2 and v3 call ratings): lane -> calls.
    lane_calls: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # The request headers the app forwards on its outbound calls (an app that copies a fixed
    # list); None: it forwards whatever carries the lane context.
    forwards: tuple[str, ...] | None = None
    # The routing its team already has (adopted VirtualService and DestinationRule).
    routing: Routing | None = None
    # The message topics it writes to and reads from (docs/queues.md), beside its calls.
    publishes: tuple[str, ...] = ()
    consumes: tuple[str, ...] = ()
    # True: each lane's consumer takes only messages whose filter key is its own lane (a
    # consumer group or filter per lane); False: all its versions compete for every message.
    filters_by_lane: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "calls", _names(self.calls))
        object.__setattr__(self, "publishes", _names(self.publishes))
        object.__setattr__(self, "consumes", _names(self.consumes))
        if self.selector is not None:
            object.__setattr__(self, "selector", _pairs(self.selector))
        object.__setattr__(self, "ports", tuple(self.ports))
        object.__setattr__(self, "lane_calls",
                           tuple((k, _names(v)) for k, v in _pairs(self.lane_calls)))
        if self.forwards is not None:
            object.__setattr__(self, "forwards", tuple(h.lower() for h in _names(self.forwards)))

    @property
    def lane_calls_map(self) -> dict[str, tuple[str, ...]]:
        return dict(self.lane_calls)

    def calls_in(self, lane: str) -> tuple[str, ...]:
        """What the version in ``lane`` calls: its own list if it has one, else ``calls``."""
        for name, calls in self.lane_calls:
            if name == lane:
                return calls
        return self.calls

    @property
    def all_calls(self) -> tuple[str, ...]:
        """Every service some version calls, in first-seen order."""
        if not self.lane_calls:
            return self.calls
        seen = dict.fromkeys(self.calls)
        for _, calls in self.lane_calls:
            seen.update(dict.fromkeys(calls))
        return tuple(seen)

    @property
    def route_port(self) -> ServicePort | None:
        """The port lanes route: the one numbered ``port``, else the first port a header can
        route (HTTP, gRPC or detected), else the first port."""
        if self.port is not None:
            return next((p for p in self.ports if p.port == self.port), ServicePort(self.port))
        return next((p for p in self.ports if p.routes_http), self.ports[0] if self.ports
                    else None)

    @property
    def routed_port(self) -> int | None:
        """The number of ``route_port`` (what routes and backends name), or None."""
        found = self.route_port
        return found.port if found is not None else None

    @property
    def tcp_only(self) -> bool:
        """True when no port of the service can be routed by a header (all TCP, TLS, ...)."""
        return bool(self.ports) and not any(p.routes_http for p in self.ports)

    @property
    def selector_map(self) -> dict[str, str]:
        """The selector in force: the given one, else ``{"app": name}``."""
        return dict(self.selector) if self.selector is not None else {"app": self.name}


@dataclass(frozen=True)
class Lane:
    """A named set of workload versions: pod labels and the services that have a version."""

    name: str
    labels: tuple[tuple[str, str], ...] = ()
    services: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", _pairs(self.labels))
        object.__setattr__(self, "services", _names(self.services))

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)

    def holds(self, service: str) -> bool:
        return service in self._members

    # Indexed on first use and kept: a lane is immutable, so the index never goes stale, and
    # emitters and diagrams ask every lane about every service of meshes of thousands.
    @cached_property
    def _members(self) -> frozenset[str]:
        return frozenset(self.services)


@dataclass(frozen=True)
class Topic:
    """A message topic (queue, stream, exchange) on a broker; services publish to it and
    consume from it (``Service.publishes``/``consumes``). ``broker`` is a free label
    (kafka, rabbitmq, rocketmq, sqs, ...), ``kind`` one of ``TOPIC_KINDS``."""

    name: str
    broker: str = DEFAULT_BROKER
    kind: str = DEFAULT_TOPIC_KIND


@dataclass(frozen=True)
class PassThrough:
    """How the lane context survives each hop (``lanes.md`` §1)."""

    method: str = "baggage"
    trace_header: str | None = None
    baggage_key: str | None = None  # baggage: None means the route header's name


@dataclass(frozen=True)
class Waypoint:
    """The waypoint(s) that apply the lanes' routes in ambient mode (``docs/ambient.md``).

    ``scope`` namespace: one waypoint called ``name`` per namespace holding a lane-routed
    service; service: one per lane-routed service, called ``<service>-waypoint``. ``create``
    False refers to waypoints that already exist: only the ``istio.io/use-waypoint`` labels
    are emitted.
    """

    name: str = DEFAULT_WAYPOINT
    scope: str = "namespace"
    create: bool = True


def _same(name: str) -> str | None:
    return name


@dataclass(frozen=True)
class LaneDesign:
    """A lane group: the whole design a user edits, validates, simulates and exports."""

    name: str
    services: tuple[Service, ...] = ()
    lanes: tuple[Lane, ...] = ()
    baseline: str = ""
    namespace: str = DEFAULT_NAMESPACE
    mode: str = "loose"
    route_header: str = DEFAULT_ROUTE_HEADER
    pass_through: PassThrough = field(default_factory=PassThrough)
    fallback: tuple[tuple[str, str], ...] = ()  # per-service fallback target: service -> lane
    ingress: Ingress | None = None
    data_plane: str = "sidecar"  # DATA_PLANES
    waypoint: Waypoint = field(default_factory=Waypoint)  # ambient only
    topics: tuple[Topic, ...] = ()  # message topics the services publish to or consume

    def __post_init__(self) -> None:
        object.__setattr__(self, "services", tuple(self.services))
        object.__setattr__(self, "lanes", tuple(self.lanes))
        object.__setattr__(self, "topics", tuple(self.topics))
        object.__setattr__(self, "fallback", _pairs(self.fallback))

    # -- lookups -------------------------------------------------------------------------
    @property
    def service_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.services)

    @property
    def lane_names(self) -> tuple[str, ...]:
        return tuple(lane.name for lane in self.lanes)

    @property
    def fallback_map(self) -> dict[str, str]:
        return dict(self.fallback)

    def service(self, name: str) -> Service | None:
        """The service called ``name`` (the first, if the name is duplicated), or None."""
        return self._service_index.get(name)

    def lane(self, name: str | None) -> Lane | None:
        """The lane called ``name`` (the first, if the name is duplicated), or None."""
        return self._lane_index.get(name)  # type: ignore[arg-type]

    @property
    def topic_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.topics)

    def topic(self, name: str) -> Topic | None:
        """The topic called ``name`` (the first, if the name is duplicated), or None."""
        return _first_by_name(self.topics).get(name)

    def producers(self, topic: str) -> tuple[str, ...]:
        """The services that publish to ``topic``, in service order."""
        return tuple(s.name for s in self.services if topic in s.publishes)

    def consumers(self, topic: str) -> tuple[str, ...]:
        """The services that consume ``topic``, in service order."""
        return tuple(s.name for s in self.services if topic in s.consumes)

    # cached: the simulator asks on every request, and sync-only designs skip queues entirely
    @cached_property
    def has_queues(self) -> bool:
        """True when some service publishes to a topic some service consumes."""
        consumed = {t for s in self.services for t in s.consumes}
        return any(t in consumed for s in self.services for t in s.publishes)

    # Indexed on first use and kept, as Lane._members: lookups by name in a loop over the
    # services (emitters, diagrams, the validator) would otherwise be quadratic.
    @cached_property
    def _service_index(self) -> dict[str, Service]:
        return _first_by_name(self.services)

    @cached_property
    def _lane_index(self) -> dict[str, Lane]:
        return _first_by_name(self.lanes)

    def baseline_lane(self) -> Lane | None:
        return self.lane(self.baseline)

    def namespace_of(self, service: str) -> str:
        svc = self.service(service)
        return (svc.namespace if svc and svc.namespace else None) or self.namespace

    def fallback_for(self, service: str) -> str:
        """The lane that serves ``service`` for a lane lacking it: override, else baseline."""
        return self.fallback_map.get(service, self.baseline)

    def serving_lane_resolver(self) -> Callable[[str | None, str], str]:
        """``serving_lane`` with the lookups indexed once (for tables, walks and emitters)."""
        members: dict[str, frozenset[str]] = {}
        for lane in self.lanes:
            # each lane's set is built once and kept: edits copy the lanes they do not touch
            members.setdefault(lane.name, lane._members)
        fallback = self.fallback_map
        baseline = self.baseline

        def serve(lane: str | None, service: str) -> str:
            held = members.get(lane) if lane else None
            if held is None:  # no lane, or one that does not exist: the baseline everywhere
                return baseline
            return lane if service in held else fallback.get(service, baseline)  # type: ignore[return-value]

        return serve

    def serving_lane(self, lane: str | None, service: str) -> str:
        """The lane whose version serves ``service`` for a chain in ``lane`` (``lanes.md`` §2).

        The lane itself if it holds the service; else the service's fallback target (override
        or baseline). No lane, or a lane that does not exist, is served by the baseline.
        """
        return self.serving_lane_resolver()(lane, service)

    @property
    def baggage_key(self) -> str:
        return self.pass_through.baggage_key or self.route_header

    @property
    def context_header(self) -> str:
        """The request header an app must forward for the lane to survive its hop: ``baggage``,
        the route header (header method) or the trace header (traceId)."""
        method = self.pass_through.method
        if method == "baggage":
            return "baggage"
        if method == "traceId":
            return self.pass_through.trace_header or ""
        return self.route_header

    def context_loss(self, service: str) -> str | None:
        """Why ``service``'s calls lose the lane context (``does not propagate the lane
        context``, ``forwards only x-request-id, not baggage``), or None when they keep it."""
        svc = self.service(service)
        if svc is None or self.keeps_context(service):
            return None
        if not svc.propagates:
            return "does not propagate the lane context"
        return (f"forwards only {', '.join(svc.forwards or ()) or 'no headers'}, not "
                f"{self.context_header}")

    def keeps_context(self, service: str) -> bool:
        """True when ``service``'s outbound calls carry the lane context on: it propagates,
        and a fixed list of forwarded headers, if it has one, holds the context header."""
        svc = self.service(service)
        if svc is None:
            return True
        if not svc.propagates:
            return False
        return svc.forwards is None or self.context_header.lower() in svc.forwards

    # cached: the simulator asks on every request, and a design is immutable
    @cached_property
    def team_steered(self) -> bool:
        """True when some service's team routes decide where baseline traffic goes (or a
        fault of theirs may stop a call), so the simulator follows the request's headers."""
        return any(s.routing is not None and (s.routing.steers or _has_fault(s.routing))
                   for s in self.services)

    @cached_property
    def team_headers(self) -> frozenset[str]:
        """Every request header a team route of the design tests (lowercase)."""
        return frozenset(h for s in self.services if s.routing is not None
                         for h in s.routing.match_headers)

    def subset_labels(self, service: str, subset: str) -> tuple[tuple[str, str], ...]:
        """The pod labels of ``subset`` of ``service``: the lane's if a lane of that name holds
        the service, else the team's subset, else the lane's of that name (or none)."""
        lane = self.lane(subset)
        if lane is not None and lane.holds(service):
            return lane.labels
        svc = self.service(service)
        team = svc.routing.subset(subset) if svc is not None and svc.routing else None
        if team is not None:
            return team.labels
        return lane.labels if lane is not None else ()

    # -- ambient: which waypoint applies a service's lane routes -------------------------------
    @property
    def ambient(self) -> bool:
        return self.data_plane == "ambient"

    def waypoint_services(self) -> tuple[str, ...]:
        """The services a waypoint must serve in ambient mode: every lane-routed one, i.e.
        every service whose version a header can pick (not TCP-only), in design order.

        Each of them gets HTTPRoutes on its Service (even if only the catch-all to the
        baseline); a Service no waypoint serves ignores its routes, and calls reach every
        version's pods behind it.
        """
        return tuple(dict.fromkeys(s.name for s in self.services if not s.tcp_only))

    def waypoint_for(self, service: str) -> str:
        """The name of the waypoint serving ``service`` (in the service's namespace):
        ``waypoint.name`` for namespace scope, ``<service>-waypoint`` for service scope."""
        if self.waypoint.scope == "service":
            return f"{service}-{DEFAULT_WAYPOINT}"
        return self.waypoint.name

    def waypoints(self) -> tuple[tuple[str, str], ...]:
        """Every waypoint the lanes need as (namespace, name), in first-needed order."""
        return tuple(dict.fromkeys((self.namespace_of(s), self.waypoint_for(s))
                                   for s in self.waypoint_services()))

    def with_data_plane(self, data_plane: str) -> LaneDesign:
        """The design targeting ``data_plane`` (sidecar | ambient); the waypoint settings are
        kept, so switching back and forth loses nothing."""
        return replace(self, data_plane=data_plane)

    def with_waypoint(self, **changes: object) -> LaneDesign:
        """A copy with some waypoint fields replaced (``name=``, ``scope=``, ``create=``)."""
        return replace(self, waypoint=replace(self.waypoint, **changes))

    @cached_property  # asked on every simulated request, like team_steered
    def has_lane_calls(self) -> bool:
        """True when some version calls other services than its service's ``calls``."""
        return any(s.lane_calls for s in self.services)

    @property
    def effective_rules(self) -> tuple[IngressRule, ...]:
        """The ingress rules in force: the given ones, or one route-header rule per lane."""
        if self.ingress is not None and self.ingress.rules is not None:
            return self.ingress.rules
        return tuple(
            IngressRule(
                lane=lane.name,
                match=RequestMatch(headers=((self.route_header, StringMatch("exact", lane.name)),)),
            )
            for lane in self.lanes
        )

    @cached_property  # the designer asks on every redraw (status chip, Lanes, Request)
    def lanes_not_entered(self) -> tuple[str, ...]:
        """The lanes no ingress rule, weight or default sends a request into, in lane order
        (none without an ingress: then nothing enters any lane)."""
        ing = self.ingress
        if ing is None:
            return ()
        if ing.strategy == "weighted":
            entered = {lane for lane, w in ing.weights if w > 0}
        else:
            entered = {r.lane for r in self.effective_rules}
        if ing.default is not None:
            entered.add(ing.default)
        return tuple(lane.name for lane in self.lanes if lane.name and lane.name not in entered)

    # -- edits: each returns a new design --------------------------------------------------
    def with_(self, **changes: object) -> LaneDesign:
        """A copy with some top-level fields replaced (``dataclasses.replace``)."""
        return replace(self, **changes)

    def with_service(self, service: Service) -> LaneDesign:
        """Add ``service``, or replace the service of the same name in place."""
        return replace(self, services=_upsert(self.services, service))

    def add_service(self, name: str) -> LaneDesign:
        """A new service where the rules say it must be: in the baseline (every lane if
        strict), so that no chain meets a service no lane serves."""
        design = self.with_service(Service(name))
        lanes = design.lane_names if design.mode == "strict" else (design.baseline,)
        for lane in lanes:
            if design.lane(lane) is not None:
                design = design.with_membership(lane, name, True)
        return design

    def without_service(self, name: str) -> LaneDesign:
        """Remove a service and every reference to it (calls, lanes, fallbacks, entry)."""
        return self._references_mapped(service=lambda n: None if n == name else n)

    def rename_service(self, old: str, new: str) -> LaneDesign:
        """Rename a service everywhere it is named (calls, lanes, fallbacks, entry)."""
        return self._references_mapped(service=lambda n: new if n == old else n)

    def with_topic(self, topic: Topic) -> LaneDesign:
        """Add ``topic``, or replace the topic of the same name in place."""
        return replace(self, topics=_upsert(self.topics, topic))

    def without_topic(self, name: str) -> LaneDesign:
        """Remove a topic and every service's publish or consume of it."""
        return self._references_mapped(topic=lambda n: None if n == name else n)

    def rename_topic(self, old: str, new: str) -> LaneDesign:
        """Rename a topic everywhere it is named (the topic, publishes, consumes)."""
        return self._references_mapped(topic=lambda n: new if n == old else n)

    def with_publishes(self, service: str, topics: Iterable[str]) -> LaneDesign:
        """What ``service`` publishes to (topic names, in order)."""
        svc = self.service(service)
        if svc is None:
            raise KeyError(service)
        return self.with_service(replace(svc, publishes=tuple(topics)))

    def with_consumes(self, service: str, topics: Iterable[str]) -> LaneDesign:
        """What ``service`` consumes (topic names, in order)."""
        svc = self.service(service)
        if svc is None:
            raise KeyError(service)
        return self.with_service(replace(svc, consumes=tuple(topics)))

    def with_filters_by_lane(self, service: str, filters: bool) -> LaneDesign:
        """Whether ``service``'s consumers take only their own lane's messages."""
        svc = self.service(service)
        if svc is None:
            raise KeyError(service)
        return self.with_service(replace(svc, filters_by_lane=filters))

    def with_calls(self, service: str, calls: Iterable[str]) -> LaneDesign:
        svc = self.service(service)
        if svc is None:
            raise KeyError(service)
        return self.with_service(replace(svc, calls=tuple(calls)))

    def with_lane_calls(self, service: str, lane: str,
                        calls: Iterable[str] | None) -> LaneDesign:
        """What ``service``'s version in ``lane`` calls; ``None`` makes it call what the
        service calls (``calls``) again."""
        svc = self.service(service)
        if svc is None:
            raise KeyError(service)
        rest = tuple((k, v) for k, v in svc.lane_calls if k != lane)
        if calls is None:
            return self.with_service(replace(svc, lane_calls=rest))
        if lane in svc.lane_calls_map:
            pairs = tuple((k, tuple(calls) if k == lane else v) for k, v in svc.lane_calls)
        else:
            pairs = (*rest, (lane, tuple(calls)))
        return self.with_service(replace(svc, lane_calls=pairs))

    def with_routing(self, service: str, routing: Routing | None) -> LaneDesign:
        """``service`` with its team's routing set; ``None`` drops it (the service is routed
        by the lanes alone again, and the team's objects are no longer carried)."""
        svc = self.service(service)
        if svc is None:
            raise KeyError(service)
        return self.with_service(replace(svc, routing=routing))

    def with_lane(self, lane: Lane) -> LaneDesign:
        """Add ``lane``, or replace the lane of the same name in place."""
        return replace(self, lanes=_upsert(self.lanes, lane))

    def add_lane(self, name: str) -> LaneDesign:
        """A new lane labelled ``version: <name>``; strict mode gives it every service, and
        the first lane of a design becomes its baseline."""
        services = self.service_names if self.mode == "strict" else ()
        design = self.with_lane(Lane(name, labels={"version": name}, services=services))
        return design if design.baseline else design.with_(baseline=name)

    def without_lane(self, name: str) -> LaneDesign:
        """Remove a lane and the fallbacks, rules and weights that name it."""
        return self._references_mapped(lane=lambda n: None if n == name else n)

    def rename_lane(self, old: str, new: str) -> LaneDesign:
        """Rename a lane everywhere it is named (baseline, fallbacks, rules, weights, default)."""
        return self._references_mapped(lane=lambda n: new if n == old else n)

    def _references_mapped(self, service: Callable[[str], str | None] = _same,
                           lane: Callable[[str], str | None] = _same,
                           topic: Callable[[str], str | None] = _same) -> LaneDesign:
        """Every reference to a service, lane or topic passed through ``service``/``lane``/
        ``topic``: a name maps to a new name, or to ``None`` to drop it and what only it held.

        The one place that knows where a design names services, lanes and topics, for the
        removes and renames above. Untouched services and lanes stay the same objects (their
        indexes too).
        """
        services = tuple(_mapped_service(s, new, service, lane, topic) for s in self.services
                         if (new := service(s.name)) is not None)
        topics = tuple(t if new == t.name else replace(t, name=new) for t in self.topics
                       if (new := topic(t.name)) is not None)
        lanes = tuple(_mapped_lane(ln, new, service) for ln in self.lanes
                      if (new := lane(ln.name)) is not None)
        fallback = tuple((s2, t2) for s, t in self.fallback
                         if (s2 := service(s)) is not None and (t2 := lane(t)) is not None)
        ingress = self.ingress
        if ingress is not None:
            rules = ingress.rules
            if rules is not None:
                rules = tuple(r if to == r.lane else replace(r, lane=to) for r in rules
                              if (to := lane(r.lane)) is not None)
            ingress = replace(
                ingress,
                entry=service(ingress.entry) or "",
                rules=rules,
                weights=tuple((to, w) for k, w in ingress.weights
                              if (to := lane(k)) is not None),
                default=None if ingress.default is None else lane(ingress.default),
            )
        return replace(self, services=services, lanes=lanes, fallback=fallback,
                       ingress=ingress, baseline=lane(self.baseline) or "", topics=topics)

    def with_membership(self, lane: str, service: str, member: bool) -> LaneDesign:
        """Put ``service`` into ``lane`` or take it out (the membership grid's checkbox)."""
        current = self.lane(lane)
        if current is None:
            raise KeyError(lane)
        names = tuple(s for s in current.services if s != service)
        if member:
            # keep the design's service order so saved files stay stable
            order = {n: i for i, n in enumerate(self.service_names)}
            names = tuple(sorted((*names, service), key=lambda n: order.get(n, len(order))))
        return self.with_lane(replace(current, services=names))

    def with_fallback(self, service: str, lane: str | None) -> LaneDesign:
        """Set the per-service fallback target of ``service``; ``None`` removes it."""
        rest = tuple((s, t) for s, t in self.fallback if s != service)
        if lane is None:
            return replace(self, fallback=rest)
        if service in self.fallback_map:
            pairs = tuple((s, lane if s == service else t) for s, t in self.fallback)
            return replace(self, fallback=pairs)
        return replace(self, fallback=(*rest, (service, lane)))

    # -- ingress edits that keep rules honest (the Ingress tab's offers) -------------------
    def with_new_rule(self) -> LaneDesign:
        """One more rule, last, for the first lane no rule routes to yet (test lanes before
        the baseline), matching the route header equal to that lane's name; when every lane
        has a rule, the first test lane. Written-out rules start from the effective ones."""
        rules = self.effective_rules
        routed = {r.lane for r in rules}
        lanes = [n for n in dict.fromkeys(self.lane_names) if n]
        tests = [n for n in lanes if n != self.baseline]
        lane = next((n for n in [*tests, *lanes] if n not in routed),
                    tests[0] if tests else self.baseline or "s1")
        rule = IngressRule(lane, RequestMatch(headers=((self.route_header,
                                                        StringMatch("exact", lane)),)))
        return self.with_ingress(rules=(*rules, rule))

    def with_rule_for_lane(self, lane: str) -> LaneDesign:
        """A rule that reaches ``lane`` (written-out header rules only): the route header equal
        to its name sends requests into it. It goes last, but before the first rule that
        matches every request, which would leave it unreachable (LD503). Unchanged where the
        lane already has a rule, is unknown, or the ingress has no written rules (one rule per
        lane is implied then) or splits by weight."""
        ing = self.ingress
        if ing is None or ing.strategy != "rules" or ing.rules is None or \
                self.lane(lane) is None or any(r.lane == lane for r in ing.rules):
            return self
        rule = IngressRule(lane, RequestMatch(headers=((self.route_header,
                                                        StringMatch("exact", lane)),)))
        rules = list(ing.rules)
        at = next((i for i, r in enumerate(rules) if r.match is None or r.match.is_catch_all),
                  len(rules))
        rules.insert(at, rule)
        return self.with_ingress(rules=tuple(rules))

    def rule_route_value(self, index: int) -> str | None:
        """The exact route-header value rule ``index`` matches, if it matches one."""
        rules = self.ingress.rules if self.ingress else None
        if not rules or not 0 <= index < len(rules) or rules[index].match is None:
            return None
        cond = rules[index].match.header_map.get(self.route_header)  # type: ignore[union-attr]
        return cond.value if cond is not None and cond.kind == "exact" else None

    def with_rule_route_value(self, index: int, value: str) -> LaneDesign:
        """Rule ``index``'s exact route-header condition set to ``value`` (after its lane
        changed, so the header names the lane the rule sends to)."""
        rules = list(self.ingress.rules or ()) if self.ingress else []
        if self.rule_route_value(index) is None:
            return self
        match = rules[index].match
        assert match is not None
        headers = tuple((n, StringMatch("exact", value) if n == self.route_header else c)
                        for n, c in match.headers)
        rules[index] = replace(rules[index], match=replace(match, headers=headers))
        return self.with_ingress(rules=tuple(rules))

    @property
    def unused_ingress(self) -> tuple[str, ...]:
        """Ingress fields the chosen strategy ignores (LD507): ``weights``, ``match`` for
        header rules; ``rules`` for weights."""
        ing = self.ingress
        if ing is None:
            return ()
        if ing.strategy == "weighted":
            return ("rules",) if ing.rules else ()
        return tuple(f for f, used in (("weights", bool(ing.weights)),
                                       ("match", ing.match is not None)) if used)

    def without_unused_ingress(self) -> LaneDesign:
        """Drop what the ingress strategy ignores (``unused_ingress``), in one edit."""
        unused = self.unused_ingress
        if not unused:
            return self
        cleared: dict[str, object] = {"weights": (), "match": None, "rules": None}
        return self.with_ingress(**{f: cleared[f] for f in unused})

    def with_ingress_path(self, uri: StringMatch) -> LaneDesign:
        """Every ingress rule also tests the path ``uri``, and the default becomes a last rule
        on it: requests on other paths get 404 at the gateway (a team's gateway route that
        serves some paths only). Rules already testing ``uri`` are kept; header rules only
        (``strategy: rules``)."""
        ingress = self.ingress or Ingress()
        rules = [IngressRule(r.lane, replace(r.match or RequestMatch(), uri=uri))
                 for r in self.effective_rules]
        if ingress.default is not None:
            rules.append(IngressRule(ingress.default, RequestMatch(uri=uri)))
        return self.with_ingress(rules=tuple(rules), default=None)

    def with_ingress(self, **changes: object) -> LaneDesign:
        """A copy with some ingress fields replaced (an ingress is created when missing)."""
        return replace(self, ingress=replace(self.ingress or Ingress(), **changes))

    def with_pass_through(self, **changes: object) -> LaneDesign:
        return replace(self, pass_through=replace(self.pass_through, **changes))

    def with_method(self, method: str, trace_header: str | None = None,
                    baggage_key: str | None = None) -> LaneDesign:
        """Switch the pass-through method in one edit; the fields it ignores are cleared
        (``traceHeader`` belongs to traceId only, ``baggageKey`` to baggage only)."""
        return self.with_pass_through(
            method=method,
            trace_header=trace_header if method == "traceId" else None,
            baggage_key=baggage_key if method == "baggage" else None,
        )

    # -- ingress rule and weight edits: an index out of range changes nothing ----------------
    @property
    def _written_rules(self) -> list[IngressRule]:
        return list(self.ingress.rules or ()) if self.ingress else []

    def with_rule(self, index: int, **changes: object) -> LaneDesign:
        """Rule ``index`` with some fields replaced (``lane=``, ``match=``)."""
        rules = self._written_rules
        if not 0 <= index < len(rules):
            return self
        rules[index] = replace(rules[index], **changes)
        return self.with_ingress(rules=tuple(rules))

    def with_rule_moved(self, index: int, step: int) -> LaneDesign:
        """Rule ``index`` swapped with its neighbour ``step`` away (-1: evaluated earlier)."""
        rules = self._written_rules
        other = index + step
        if not (0 <= index < len(rules) and 0 <= other < len(rules)):
            return self
        rules[index], rules[other] = rules[other], rules[index]
        return self.with_ingress(rules=tuple(rules))

    def without_rule(self, index: int) -> LaneDesign:
        rules = self._written_rules
        if not 0 <= index < len(rules):
            return self
        del rules[index]
        return self.with_ingress(rules=tuple(rules))

    def with_weight(self, lane: str, weight: int) -> LaneDesign:
        """``lane``'s ingress weight set; every lane gets an entry, in lane order (0 if new)."""
        current = self.ingress.weight_map if self.ingress else {}
        weights = tuple((n, weight if n == lane else current.get(n, 0))
                        for n in dict.fromkeys(self.lane_names))
        return self.with_ingress(weights=weights)


def _mapped_service(svc: Service, name: str, service: Callable[[str], str | None],
                    lane: Callable[[str], str | None] = _same,
                    topic: Callable[[str], str | None] = _same) -> Service:
    def mapped(calls: tuple[str, ...], by: Callable[[str], str | None] = service
               ) -> tuple[str, ...]:
        return tuple(c2 for c in calls if (c2 := by(c)) is not None)

    calls = mapped(svc.calls)
    lane_calls = tuple((k2, mapped(v)) for k, v in svc.lane_calls if (k2 := lane(k)) is not None)
    publishes, consumes = mapped(svc.publishes, topic), mapped(svc.consumes, topic)
    if (name, calls, lane_calls, publishes, consumes) == (
            svc.name, svc.calls, svc.lane_calls, svc.publishes, svc.consumes):
        return svc
    return replace(svc, name=name, calls=calls, lane_calls=lane_calls, publishes=publishes,
                   consumes=consumes)


def _mapped_lane(lane: Lane, name: str, service: Callable[[str], str | None]) -> Lane:
    services = tuple(s2 for s in lane.services if (s2 := service(s)) is not None)
    return lane if (name, services) == (lane.name, lane.services) else replace(
        lane, name=name, services=services)


def _first_by_name(items: tuple) -> dict:
    index: dict = {}
    for item in items:
        index.setdefault(item.name, item)
    return index


def _upsert(items: tuple, item: object) -> tuple:
    name = item.name  # type: ignore[attr-defined]
    if any(x.name == name for x in items):
        return tuple(item if x.name == name else x for x in items)
    return (*items, item)
