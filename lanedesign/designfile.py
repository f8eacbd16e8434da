"""Design files: YAML text <-> ``LaneDesign`` (the format of ``design-file.md``).

Reading never raises on user input: whatever is wrong with the text (not YAML, binary junk,
wrong types, unknown fields) becomes a ``Finding`` with a path, and as much of the design as
could be read is still returned, so the validator can say the rest.
Writing is deterministic: the contract's key order, defaults left out, short scalar lists in
flow style, so a saved design diffs well in git.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .codec import dump_design_data, flow, parse_yaml
from .codec import parse_yaml_documents as parse_yaml_documents  # the old import path
from .fields import FieldReader, Loaded, is_type, join_path, typename
from .findings import make
from .model import (
    DATA_PLANES,
    DEFAULT_BROKER,
    DEFAULT_TOPIC_KIND,
    DEFAULT_WAYPOINT,
    METHODS,
    MODES,
    ROUTE_SETTINGS,
    STRATEGIES,
    TOPIC_KINDS,
    WAYPOINT_SCOPES,
    Ingress,
    IngressRule,
    Lane,
    LaneDesign,
    PassThrough,
    RequestMatch,
    RouteDestination,
    Routing,
    Service,
    ServicePort,
    TeamRoute,
    TeamSubset,
    Topic,
    Waypoint,
)

API_VERSION = "lanedesign/v1alpha1"
KIND = "LaneDesign"


# ---------------------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------------------
def load_design(path: str | Path) -> Loaded:
    """Read a design file; an unreadable path is a finding (LD007), never an exception."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        return Loaded(None, (make("LD007", str(path), f"cannot read {path}: {reason}"),))
    return parse_design(data)


def parse_design(text: str | bytes) -> Loaded:
    """Parse design YAML text (or bytes) into a design plus findings."""
    data, finding = parse_yaml(text)
    if finding is not None:
        return Loaded(None, (finding,))
    return design_from_dict(data)


def design_from_dict(data: Any) -> Loaded:
    """Build a design from already-parsed YAML/JSON data."""
    reader = _DesignReader()
    design = reader.design(data)
    return Loaded(design, tuple(reader.findings))


class _DesignReader(FieldReader):
    """Reads a design file's data (``design-file.md``)."""

    def design(self, data: Any) -> LaneDesign | None:
        if not isinstance(data, Mapping):
            what = "an empty file" if data is None else typename(data)
            self._add("LD002", "", f"expected a LaneDesign mapping, got {what}")
            return None
        data = dict(data)
        if data.get("apiVersion") != API_VERSION or data.get("kind") != KIND:
            self._add("LD002", "apiVersion", f"expected apiVersion {API_VERSION!r} and kind "
                      f"{KIND!r}, got {data.get('apiVersion')!r} and {data.get('kind')!r}")
            return None
        self._fields(data, "", ("apiVersion", "kind", "metadata", "spec"))
        metadata = self._mapping(data.get("metadata"), "metadata", required=True) or {}
        self._fields(metadata, "metadata", ("name",))
        spec = self._mapping(data.get("spec"), "spec", required=True)
        if spec is None:
            return None
        return self._spec(self._str(metadata, "name", "metadata"), spec)

    def _spec(self, name: str, spec: dict) -> LaneDesign:
        p = "spec"
        self._fields(spec, p, ("namespace", "mode", "routeHeader", "passThrough", "baseline",
                               "fallback", "topics", "services", "lanes", "ingress",
                               "dataPlane", "waypoint"))
        pass_through = self._mapping(spec.get("passThrough"), "spec.passThrough") or {}
        self._fields(pass_through, "spec.passThrough", ("method", "traceHeader", "baggageKey"))
        ingress_raw = self._mapping(spec.get("ingress"), "spec.ingress")
        return LaneDesign(
            name=name,
            namespace=self._str(spec, "namespace", p, "default"),
            mode=self._choice(spec, "mode", p, MODES, "loose"),
            route_header=self._str(spec, "routeHeader", p, "x-asm-prefer-tag"),
            pass_through=PassThrough(
                method=self._choice(pass_through, "method", "spec.passThrough", METHODS,
                                    "baggage"),
                trace_header=self._str(pass_through, "traceHeader", "spec.passThrough", None),
                baggage_key=self._str(pass_through, "baggageKey", "spec.passThrough", None),
            ),
            baseline=self._str(spec, "baseline", p),
            fallback=self._str_map(spec, "fallback", p) or (),
            services=self._list_of_mappings(spec, "services", p, self._service, required=True),
            lanes=self._list_of_mappings(spec, "lanes", p, self._lane, required=True),
            ingress=None if ingress_raw is None else self._ingress(ingress_raw, "spec.ingress"),
            data_plane=self._choice(spec, "dataPlane", p, DATA_PLANES, "sidecar"),
            waypoint=self._waypoint(spec.get("waypoint"), "spec.waypoint"),
            topics=self._list_of_mappings(spec, "topics", p, self._topic),
        )

    def _waypoint(self, value: Any, path: str) -> Waypoint:
        raw = self._mapping(value, path)
        if raw is None:
            return Waypoint()
        self._fields(raw, path, ("name", "scope", "create"))
        return Waypoint(
            name=self._str(raw, "name", path, DEFAULT_WAYPOINT),
            scope=self._choice(raw, "scope", path, WAYPOINT_SCOPES, "namespace"),
            create=self._bool(raw, "create", path, True),
        )

    def _topic(self, raw: dict, path: str) -> Topic:
        self._fields(raw, path, ("name", "broker", "kind"))
        return Topic(
            name=self._str(raw, "name", path),
            broker=self._str(raw, "broker", path, DEFAULT_BROKER),
            kind=self._choice(raw, "kind", path, TOPIC_KINDS, DEFAULT_TOPIC_KIND),
        )

    def _service(self, raw: dict, path: str) -> Service:
        self._fields(raw, path, ("name", "calls", "namespace", "port", "propagates", "selector",
                                 "ports", "laneCalls", "forwards", "routing", "publishes",
                                 "consumes", "filtersByLane"))
        port = raw.get("port")
        if port is not None and not (is_type(port, int) and 1 <= port <= 65535):
            self._add("LD006" if is_type(port, int) else "LD004", join_path(path, "port"),
                      f"`port` must be an integer 1-65535, not {port!r}")
            port = None
        return Service(
            name=self._str(raw, "name", path),
            calls=self._str_list(raw, "calls", path) or (),
            namespace=self._str(raw, "namespace", path, None),
            port=port,
            propagates=self._bool(raw, "propagates", path, True),
            selector=self._str_map(raw, "selector", path),
            ports=self._list_of_mappings(raw, "ports", path, self._port),
            lane_calls=self._lane_calls(raw, path),
            forwards=self._str_list(raw, "forwards", path),
            routing=self._routing(raw.get("routing"), join_path(path, "routing")),
            publishes=self._str_list(raw, "publishes", path) or (),
            consumes=self._str_list(raw, "consumes", path) or (),
            filters_by_lane=self._bool(raw, "filtersByLane", path, True),
        )

    # -- a team's routing (docs/design-format.md): Istio's own spelling, kept verbatim --------
    def _routing(self, value: Any, path: str) -> Routing | None:
        raw = self._mapping(value, path)
        if raw is None:
            return None
        self._fields(raw, path, ("settings", "routes", "default", "trafficPolicy", "subsets"))
        settings = self._mapping(raw.get("settings"), join_path(path, "settings")) or {}
        self._fields(settings, join_path(path, "settings"), ROUTE_SETTINGS)
        default = ()
        if raw.get("default") is not None:
            default = self._destinations(raw.get("default"), join_path(path, "default"))
        return Routing(
            settings={k: v for k, v in settings.items() if k in ROUTE_SETTINGS},
            routes=self._list_of_mappings(raw, "routes", path, self._team_route),
            default=default,
            traffic_policy=self._mapping(raw.get("trafficPolicy"),
                                         join_path(path, "trafficPolicy")) or {},
            subsets=self._list_of_mappings(raw, "subsets", path, self._team_subset),
        )

    def _team_route(self, raw: dict, path: str) -> TeamRoute:
        self._fields(raw, path, ("name", "match", "route", *ROUTE_SETTINGS))
        matches = []
        blocks = raw.get("match")
        if not isinstance(blocks, list) or not blocks:
            self._add("LD004" if blocks is not None else "LD003", join_path(path, "match"),
                      "`match` must be a non-empty list of match blocks (any one matches)",
                      "Write `match: [{headers: {end-user: {exact: jason}}}]`.")
        else:
            for i, block in enumerate(blocks):
                found = self._request_match(block, f"{join_path(path, 'match')}[{i}]")
                if found is not None:
                    matches.append(found)
        return TeamRoute(
            name=self._str(raw, "name", path),
            matches=tuple(matches),
            destinations=self._destinations(raw.get("route"), join_path(path, "route")),
            settings={k: raw[k] for k in ROUTE_SETTINGS if k in raw},
        )

    def _destinations(self, value: Any, path: str) -> tuple[RouteDestination, ...]:
        if not isinstance(value, list) or not value:
            self._add("LD004" if value is not None else "LD003", path, "a route needs a "
                      "non-empty list of `{destination: {subset}, weight}`",
                      "Write `[{destination: {subset: v2}}]`.")
            return ()
        out = []
        for i, item in enumerate(value):
            where = f"{path}[{i}]"
            raw = self._mapping(item, where) or {}
            self._fields(raw, where, ("destination", "weight"))
            dest = self._mapping(raw.get("destination"), join_path(where, "destination"),
                                 required=True) or {}
            self._fields(dest, join_path(where, "destination"), ("subset", "port"))
            weight = raw.get("weight")
            if weight is not None and not (is_type(weight, int) and weight >= 0):
                self._add("LD004", join_path(where, "weight"), "`weight` must be an integer "
                          f">= 0, not {weight!r}")
                weight = None
            port = (self._mapping(dest.get("port"), join_path(where, "destination.port"))
                    or {}).get("number")
            if port is not None and not is_type(port, int):
                self._add("LD004", join_path(where, "destination.port.number"),
                          "`port.number` must be an integer")
                port = None
            subset = self._str(dest, "subset", join_path(where, "destination"))
            if not subset:
                self._add("LD003", join_path(where, "destination.subset"), "a team "
                          "destination names a subset")
            out.append(RouteDestination(subset, weight, port))
        return tuple(out)

    def _team_subset(self, raw: dict, path: str) -> TeamSubset:
        self._fields(raw, path, ("name", "labels", "trafficPolicy"))
        return TeamSubset(
            name=self._str(raw, "name", path),
            labels=self._str_map(raw, "labels", path) or (),
            traffic_policy=self._mapping(raw.get("trafficPolicy"),
                                         join_path(path, "trafficPolicy")) or {},
        )

    def _port(self, raw: dict, path: str) -> ServicePort:
        self._fields(raw, path, ("name", "port", "targetPort", "appProtocol", "protocol"))
        port = raw.get("port")
        if not (is_type(port, int) and 1 <= port <= 65535):
            self._add("LD003" if port is None else "LD006" if is_type(port, int) else "LD004",
                      join_path(path, "port"), f"`port` must be an integer 1-65535, not "
                      f"{port!r}")
            port = 0
        target = raw.get("targetPort")
        if target is not None and not (is_type(target, int) or isinstance(target, str)):
            self._add("LD004", join_path(path, "targetPort"), "`targetPort` must be a port "
                      f"number or a container port's name, not {typename(target)}")
            target = None
        return ServicePort(
            port=port,
            name=self._str(raw, "name", path, None),
            target_port=target,
            app_protocol=self._str(raw, "appProtocol", path, None),
            transport=self._choice(raw, "protocol", path, ("TCP", "UDP", "SCTP"), "TCP"),
        )

    def _lane_calls(self, raw: dict, path: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
        where = join_path(path, "laneCalls")
        value = self._mapping(raw.get("laneCalls"), where)
        if value is None:
            return ()
        out = []
        for lane in value:
            if not isinstance(lane, str):
                self._add("LD004", where, f"key {lane!r} in `laneCalls` must be a lane name",
                          "Quote the key in YAML.")
                continue
            calls = self._str_list(value, lane, where)
            out.append((lane, calls or ()))
        return tuple(out)

    def _lane(self, raw: dict, path: str) -> Lane:
        self._fields(raw, path, ("name", "labels", "services"))
        return Lane(
            name=self._str(raw, "name", path),
            labels=self._str_map(raw, "labels", path) or (),
            services=self._str_list(raw, "services", path) or (),
        )

    def _ingress(self, raw: dict, path: str) -> Ingress:
        self._fields(raw, path, ("gateway", "hosts", "entry", "strategy", "rules", "match",
                                 "weights", "default"))
        rules = None
        if raw.get("rules") is not None:
            rules = self._list_of_mappings(raw, "rules", path, self._rule)
        hosts = self._str_list(raw, "hosts", path)
        return Ingress(
            gateway=self._str(raw, "gateway", path, "istio-system/ingressgateway"),
            hosts=("*",) if hosts is None else hosts,
            entry=self._str(raw, "entry", path),
            strategy=self._choice(raw, "strategy", path, STRATEGIES, "rules"),
            rules=rules,
            match=self._request_match(raw.get("match"), join_path(path, "match")),
            weights=self._str_map(raw, "weights", path, int) or (),
            default=self._str(raw, "default", path, None),
        )

    def _rule(self, raw: dict, path: str) -> IngressRule:
        self._fields(raw, path, ("lane", "match"))
        return IngressRule(
            lane=self._str(raw, "lane", path),
            match=self._request_match(raw.get("match"), join_path(path, "match")),
        )


# ---------------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------------
def design_to_dict(design: LaneDesign) -> dict[str, Any]:
    """The design as plain data in the contract's key order, defaults left out."""
    spec: dict[str, Any] = {
        "namespace": design.namespace,
        "mode": design.mode,
        "routeHeader": design.route_header,
        "passThrough": _drop_none({
            "method": design.pass_through.method,
            "traceHeader": design.pass_through.trace_header,
            "baggageKey": design.pass_through.baggage_key,
        }),
        "baseline": design.baseline,
    }
    if design.data_plane != "sidecar":
        spec["dataPlane"] = design.data_plane
    waypoint = _waypoint_to_dict(design.waypoint)
    if waypoint:
        spec["waypoint"] = waypoint
    if design.fallback:
        spec["fallback"] = flow(dict(design.fallback))
    if design.topics:
        spec["topics"] = [_topic_to_dict(t) for t in design.topics]
    spec["services"] = [_service_to_dict(s) for s in design.services]
    spec["lanes"] = [
        {"name": lane.name, "labels": flow(dict(lane.labels)), "services": flow(lane.services)}
        for lane in design.lanes
    ]
    if design.ingress is not None:
        spec["ingress"] = _ingress_to_dict(design.ingress)
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": design.name},
        "spec": spec,
    }


def _waypoint_to_dict(waypoint: Waypoint) -> dict[str, Any]:
    """The fields that differ from the defaults (an empty dict when all are default)."""
    default = Waypoint()
    out: dict[str, Any] = {}
    if waypoint.name != default.name:
        out["name"] = waypoint.name
    if waypoint.scope != default.scope:
        out["scope"] = waypoint.scope
    if waypoint.create != default.create:
        out["create"] = waypoint.create
    return out


def _service_to_dict(service: Service) -> dict[str, Any]:
    out: dict[str, Any] = {"name": service.name}
    if service.calls:
        out["calls"] = flow(service.calls)
    if service.namespace is not None:
        out["namespace"] = service.namespace
    if service.port is not None:
        out["port"] = service.port
    if not service.propagates:
        out["propagates"] = False
    if service.selector is not None:
        out["selector"] = flow(dict(service.selector))
    if service.ports:
        out["ports"] = [flow(p.as_kubernetes()) for p in service.ports]
    if service.lane_calls:
        out["laneCalls"] = {lane: flow(calls) for lane, calls in service.lane_calls}
    if service.forwards is not None:
        out["forwards"] = flow(service.forwards)
    if service.routing is not None:
        out["routing"] = routing_to_dict(service.routing)
    if service.publishes:
        out["publishes"] = flow(service.publishes)
    if service.consumes:
        out["consumes"] = flow(service.consumes)
    if not service.filters_by_lane:
        out["filtersByLane"] = False
    return out


def _topic_to_dict(topic: Topic) -> dict[str, Any]:
    out: dict[str, Any] = {"name": topic.name}
    if topic.broker != DEFAULT_BROKER:
        out["broker"] = topic.broker
    if topic.kind != DEFAULT_TOPIC_KIND:
        out["kind"] = topic.kind
    return flow(out)


def routing_to_dict(routing: Routing) -> dict[str, Any]:
    """A team's routing as the design file spells it (Istio's names), empty parts left out."""
    out: dict[str, Any] = {}
    if routing.settings:
        out["settings"] = dict(routing.settings)
    if routing.routes:
        out["routes"] = [_team_route_to_dict(r) for r in routing.routes]
    if routing.default:
        out["default"] = [_destination_to_dict(d) for d in routing.default]
    if routing.traffic_policy:
        out["trafficPolicy"] = dict(routing.traffic_policy)
    if routing.subsets:
        out["subsets"] = [{"name": s.name, "labels": flow(dict(s.labels)),
                           **({"trafficPolicy": dict(s.traffic_policy)}
                              if s.traffic_policy else {})} for s in routing.subsets]
    return out


def _team_route_to_dict(route: TeamRoute) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if route.name:
        out["name"] = route.name
    out["match"] = [_match_to_dict(m) or {} for m in route.matches]
    out["route"] = [_destination_to_dict(d) for d in route.destinations]
    out.update(route.settings)
    return out


def _destination_to_dict(dest: RouteDestination) -> dict[str, Any]:
    destination: dict[str, Any] = {"subset": dest.subset}
    if dest.port is not None:
        destination["port"] = flow({"number": dest.port})
    out: dict[str, Any] = {"destination": flow(destination)}
    if dest.weight is not None:
        out["weight"] = dest.weight
    return out


def _ingress_to_dict(ingress: Ingress) -> dict[str, Any]:
    out: dict[str, Any] = {
        "gateway": ingress.gateway,
        "hosts": flow(ingress.hosts),
        "entry": ingress.entry,
        "strategy": ingress.strategy,
    }
    if ingress.rules is not None:
        out["rules"] = [_drop_none({"lane": r.lane, "match": _match_to_dict(r.match)})
                        for r in ingress.rules]
    if ingress.match is not None:
        out["match"] = _match_to_dict(ingress.match)
    if ingress.weights:
        out["weights"] = flow(dict(ingress.weights))
    if ingress.default is not None:
        out["default"] = ingress.default
    return out


def _match_to_dict(match: RequestMatch | None) -> dict[str, Any] | None:
    if match is None:
        return None
    out: dict[str, Any] = {}
    if match.uri is not None:
        out["uri"] = flow({match.uri.kind: match.uri.value})
    if match.headers:
        out["headers"] = {name: flow({m.kind: m.value}) for name, m in match.headers}
    return out


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def dump_design(design: LaneDesign) -> str:
    """The design as YAML text in a stable form."""
    return dump_design_data(design_to_dict(design))


def save_design(design: LaneDesign, path: str | Path) -> None:
    Path(path).write_text(dump_design(design), encoding="utf-8")
