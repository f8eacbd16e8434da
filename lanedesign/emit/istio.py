"""Plain Istio: DestinationRules, VirtualServices and a baggage EnvoyFilter (``lanes.md`` §4).

Apply order is make-before-break: every DestinationRule (the subsets) comes before the
VirtualServices that route to them, so no route ever names a subset that does not exist yet
(503 ``NC``). The objects are plain dicts that read like the YAML they become.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from ..findings import Finding, make
from ..model import Ingress, LaneDesign, RequestMatch, RouteDestination, Service, TeamRoute
from .common import TargetError, managed_labels, object_name, request_match_dict, service_host
from .istio_import import read_objects
from .lua import baggage_inbound_lua, baggage_lua
from .target import Target

API_VERSION = "networking.istio.io/v1"
ENVOY_FILTER_API_VERSION = "networking.istio.io/v1alpha3"  # EnvoyFilter has no v1
ROOT_NAMESPACE = "istio-system"  # Istio's default root namespace: filters there reach every proxy
LUA_FILTER_TYPE = "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua"
# EnvoyFilters are applied in ascending priority (0 by default): a positive one is applied
# after the default ones, so the INSERT_BEFORE lands last, right before the router, whatever
# else inserts there; and a set priority is what `istioctl analyze` asks of a relative
# operation (IST0151). A multiple of 10, as Istio's API recommends, to leave room around it.
BAGGAGE_FILTER_PRIORITY = 10

Serve = Callable[[str | None, str], str]


def emit_istio(design: LaneDesign, full_routes: bool = False,
               with_gateway: bool = False) -> list[dict]:
    """DestinationRules, mesh VirtualServices, the gateway VirtualService, the EnvoyFilter.

    ``full_routes`` gives every mesh VirtualService a route per lane; by default a lane's
    route is left out where the default route already serves it (``mesh_virtual_service``).
    ``with_gateway`` also emits the Gateway the ingress names (``ingress_gateway``), before
    the routes bound to it.
    """
    refused = [p for p in istio_problems(design) if p.severity == "error"]
    if refused:
        raise TargetError(refused[0])
    serve = design.serving_lane_resolver()
    objects = [destination_rule(design, svc) for svc in design.services]
    lanes = _route_candidates(design, full_routes)
    objects += [tcp_virtual_service(design, svc) if svc.tcp_only else
                mesh_virtual_service(design, svc, serve, lanes(svc.name), full_routes)
                for svc in design.services]
    if with_gateway and design.ingress is not None:
        objects.append(ingress_gateway(design))
    gateway = gateway_virtual_service(design, serve, taken=_names(objects))
    if gateway is not None:
        objects.append(gateway)
    if design.pass_through.method == "baggage":
        objects.append(baggage_envoy_filter(design))
    return objects


def istio_problems(design: LaneDesign) -> list[Finding]:
    """Every reason plain Istio cannot express ``design`` (errors), and what Istio will say
    about the export (info: LD602)."""
    if design.ambient:
        # checked first: in ambient nothing of this target would route (docs/ambient.md)
        return [make("LD640", "spec.dataPlane", "the design targets Istio ambient: waypoints "
                     "do not apply this target's EnvoyFilter, and its VirtualServices are not "
                     "the waypoints' API; export with --target gateway-api")]
    if design.pass_through.method == "traceId":
        return [make("LD601", "spec.passThrough.method", "plain Istio cannot remember trace id "
                     "-> lane; the traceId method needs ASM")]
    if design.pass_through.method == "baggage":
        # found by real Istio (istioctl validate, the webhook): predicted so it surprises nobody
        return [make("LD602", "spec.passThrough.method", "the baggage method exports an "
                     "EnvoyFilter; Istio warns on every EnvoyFilter that it may break on "
                     "upgrade")]
    return []


TARGET = Target(
    name="istio",
    label="Istio",
    kinds=((API_VERSION, "DestinationRule"), (API_VERSION, "VirtualService"),
           (ENVOY_FILTER_API_VERSION, "EnvoyFilter")),
    # subsets (DestinationRules) exist before any route names them: make-before-break
    routing_kinds=frozenset({"VirtualService", "EnvoyFilter"}),
    install_hint={"networking.istio.io": "Install Istio 1.22 or later (it serves "
                  "networking.istio.io/v1 next to v1alpha3 for EnvoyFilter), or pick the "
                  "context of a mesh cluster with --context."},
    problems=istio_problems,
    emit=emit_istio,
    # the Gateway (with_gateway) is not among `kinds`: the cluster never prunes an ingress
    # Gateway, which other routes than the design's may be bound to
    options=frozenset({"full_routes", "with_gateway"}),
    read=read_objects,
)


def destination_rule(design: LaneDesign, service: Service) -> dict:
    """One subset per lane that holds ``service``: the lane's name and pod labels; then the
    team's other subsets and traffic policy (``services[].routing``), kept as they were."""
    routing = service.routing
    team = {s.name: s for s in routing.subsets} if routing is not None else {}
    subsets = []
    for lane in design.lanes:
        if lane.holds(service.name):
            subset: dict = {"name": lane.name, "labels": lane.label_map}
            same = team.pop(lane.name, None)  # same labels (LD941): the team's policy joins
            if same is not None and same.traffic_policy:
                subset["trafficPolicy"] = same.traffic_policy
            subsets.append(subset)
    for extra in team.values():
        subset = {"name": extra.name, "labels": extra.label_map}
        if extra.traffic_policy:
            subset["trafficPolicy"] = extra.traffic_policy
        subsets.append(subset)
    spec: dict = {"host": service_host(design, service.name)}
    if routing is not None and routing.traffic_policy:
        spec["trafficPolicy"] = routing.traffic_policy
    spec["subsets"] = subsets
    return {
        "apiVersion": API_VERSION,
        "kind": "DestinationRule",
        "metadata": _metadata(design, object_name(design.name, service.name),
                              design.namespace_of(service.name)),
        "spec": spec,
    }


def mesh_virtual_service(design: LaneDesign, service: Service, serve: Serve,
                         lanes: Sequence[str] | None = None, full_routes: bool = False) -> dict:
    """The sidecars' routes to ``service``: a lane's route where it matters, then the baseline.

    Every lane route matches the route header on lane names no other route names, so at most
    one route matches a request and their order does not matter: a request naming lane L
    takes the route naming L if there is one, else the default route (the baseline). Leaving
    L out therefore changes nothing exactly when L's serving lane for the service is the
    baseline; that is the only case the minimal form leaves out (``docs/istio.md``). There,
    lanes that fall back to a target other than the baseline share one route to it, matching
    their names with one regex. ``full_routes`` keeps one route per lane, so the object
    reads as the service's row of the routing table. ``lanes`` narrows the lanes to consider.
    """
    host = service_host(design, service.name)
    baseline = design.baseline
    routing = service.routing
    settings = routing.settings if routing is not None else {}
    # The team's routes and default take the baseline's traffic (docs/istio.md, "A team's
    # routing"), so every other lane must be routed before them, even where it is served by
    # the baseline; the baseline's own lane falls through to them like a request without one.
    steered = routing is not None and routing.steers
    if steered:
        lanes = [lane for lane in dict.fromkeys(design.lane_names) if lane != baseline]
    own, away = [], {}  # lanes served by their own subset; the others, by fallback target
    for lane in design.lane_names if lanes is None else lanes:
        subset = serve(lane, service.name)
        if full_routes or subset == lane:
            own.append((lane, subset))
        elif subset != baseline or steered:
            away.setdefault(subset, []).append(lane)
    http = [_lane_route(f"lane-{lane}", {"exact": lane}, host, subset, design.route_header,
                        settings)
            for lane, subset in own if full_routes or subset != baseline]
    for target, names in away.items():
        chunks = _alternations(names)
        for n, pattern in enumerate(chunks, 1):
            name = f"fallback-{target}" + (f"-{n}" if len(chunks) > 1 else "")
            http.append(_lane_route(name, {"regex": pattern}, host, target, design.route_header,
                                    settings))
    if routing is not None:
        http += [_team_route(route, host) for route in routing.routes]
    # Istio adds no route of its own: without this a request without (or with an unknown)
    # lane would get 404 NR instead of the baseline.
    default = (routing.default if routing is not None else ()) or (RouteDestination(baseline),)
    http.append({"name": "default", "route": [_team_destination(d, host) for d in default],
                 **settings})
    return {
        "apiVersion": API_VERSION,
        "kind": "VirtualService",
        "metadata": _metadata(design, object_name(design.name, service.name),
                              design.namespace_of(service.name)),
        # no `gateways`: the default, `mesh`, i.e. every sidecar; one object per host, since
        # sidecars keep only the oldest VirtualService for a host
        "spec": {"hosts": [host], "http": http},
    }


def _team_route(route: TeamRoute, host: str) -> dict:
    """A team's match route as they wrote it: name, matches, destinations, own settings."""
    out: dict = {"name": route.name} if route.name else {}
    out["match"] = [request_match_dict(m) for m in route.matches]
    out["route"] = [_team_destination(d, host) for d in route.destinations]
    out.update(route.settings)
    return out


def _team_destination(dest: RouteDestination, host: str) -> dict:
    destination: dict = {"host": host, "subset": dest.subset}
    if dest.port is not None:
        destination["port"] = {"number": dest.port}
    out: dict = {"destination": destination}
    if dest.weight is not None:
        out["weight"] = dest.weight
    return out


def tcp_virtual_service(design: LaneDesign, service: Service) -> dict:
    """A service with TCP ports only: every connection to the baseline's pods.

    A header cannot pick a TCP version (LD213 keeps such services out of test lanes), and
    without a route the Service would spread connections over the pods of every version.
    """
    host = service_host(design, service.name)
    return {
        "apiVersion": API_VERSION,
        "kind": "VirtualService",
        "metadata": _metadata(design, object_name(design.name, service.name),
                              design.namespace_of(service.name)),
        "spec": {"hosts": [host], "tcp": [{"route": [{"destination": {
            "host": host, "subset": design.baseline}}]}]},
    }


def _lane_route(name: str, value: dict, host: str, subset: str, header: str,
                settings: Mapping | None = None) -> dict:
    """A lane's route; the service's team ``settings`` (timeout, retries, fault...) ride on it."""
    return {"name": name, "match": [{"headers": {header: value}}],
            "route": [{"destination": {"host": host, "subset": subset}}], **(settings or {})}


REGEX_LIMIT = 1024  # Istio's webhook refuses a longer regex


def _alternations(names: Sequence[str]) -> list[str]:
    """``a|b|c`` patterns matching exactly these lane names, each within Istio's limit.

    Lane names are DNS-1123 labels (``[a-z0-9-]``), so they carry no regex syntax, and
    Envoy matches a regex against the whole value: ``a|b`` matches ``a`` and ``b`` only.
    """
    chunks: list[list[str]] = []
    current: list[str] = []
    size = 0
    for name in names:
        extra = len(name) + (1 if current else 0)
        if current and size + extra > REGEX_LIMIT:
            chunks.append(current)
            current, size, extra = [], 0, len(name)
        current.append(name)
        size += extra
    if current:
        chunks.append(current)
    return ["|".join(chunk) for chunk in chunks]


def _route_candidates(design: LaneDesign, full_routes: bool) -> Callable[[str], Sequence[str]]:
    """Per service, the lanes whose route might not be the baseline's, in design order.

    Only a lane holding the service, or any lane for a service whose fallback target is not
    the baseline, can be served by something else; the others need not even be asked, which
    keeps the minimal form's cost in proportion to lane members, not services x lanes.
    """
    names = design.lane_names
    if full_routes:
        return lambda service: names
    holders: dict[str, list[str]] = {}
    for lane in design.lanes:
        for member in lane.services:
            holders.setdefault(member, []).append(lane.name)
    overridden = {svc for svc, lane in design.fallback if lane != design.baseline}

    def candidates(service: str) -> Sequence[str]:
        if service in overridden:
            return names
        # in design order, as the lanes were read; once each, should two lanes share a name
        held = holders.get(service, [])
        return list(dict.fromkeys(held)) if len(held) > 1 else held

    return candidates


GATEWAY_SELECTOR = {"istio": "ingressgateway"}  # the stock ingress gateway's pods (istioctl)
GATEWAY_PORT = 80


def ingress_gateway(design: LaneDesign) -> dict:
    """The Gateway the ingress names (``istio-system/ingressgateway``), for a mesh without one.

    A stock install has the ingress gateway's pods and Service but no Gateway object, so the
    gateway VirtualService binds to nothing (``istioctl analyze`` IST0101). This one selects
    the stock gateway's pods and serves the design's hosts over HTTP on port 80; hosts
    without a ``namespace/`` prefix let a VirtualService in any namespace bind to them.
    """
    ingress = design.ingress
    assert ingress is not None
    return {
        "apiVersion": API_VERSION,
        "kind": "Gateway",
        "metadata": _metadata(design, ingress.gateway_name,
                              ingress.gateway_namespace or design.namespace),
        "spec": {"selector": dict(GATEWAY_SELECTOR), "servers": [{
            "port": {"number": GATEWAY_PORT, "name": "http", "protocol": "HTTP"},
            "hosts": list(ingress.hosts)}]},
    }


def gateway_virtual_service(design: LaneDesign, serve: Serve,
                            taken: frozenset[tuple[str, str, str]] = frozenset()) -> dict | None:
    """The gateway's routes into the lanes; ``None`` when no request can enter (all 404)."""
    ingress = design.ingress
    if ingress is None:
        return None
    http = _ingress_routes(design, ingress, serve)
    if not http:  # Istio rejects a VirtualService without routes; no object gives 404 too
        return None
    namespace = ingress.gateway_namespace or design.namespace
    name = object_name(design.name, "ingress")
    suffix = 1
    while ("VirtualService", namespace, name) in taken:  # a service called `ingress` there
        suffix += 1
        name = object_name(design.name, "ingress", str(suffix))
    return {
        "apiVersion": API_VERSION,
        "kind": "VirtualService",
        "metadata": _metadata(design, name, namespace),
        "spec": {"hosts": list(ingress.hosts), "gateways": [ingress.gateway], "http": http},
    }


def _ingress_routes(design: LaneDesign, ingress: Ingress, serve: Serve) -> list[dict]:
    def entry(lane: str, weight: int | None = None) -> dict:
        return _entry(design, ingress.entry, serve(lane, ingress.entry), lane, weight)

    routes = []
    if ingress.strategy == "weighted":
        # zero weights are left out (Istio would drop them), and a lone destination carries
        # no weight (Istio ignores it there)
        shares = [(lane, weight) for lane, weight in ingress.weights if weight > 0]
        if len(shares) == 1:
            shares = [(shares[0][0], None)]
        if shares:
            routes.append(_http_route("weights", ingress.match,
                                      [entry(lane, w) for lane, w in shares]))
            if _catches_all(ingress.match):
                return routes
    else:
        for i, rule in enumerate(design.effective_rules):
            routes.append(_http_route(rule_route_name(i, rule.lane), rule.match,
                                      [entry(rule.lane)]))
            # Istio stops generating routes after a catch-all; emitting the dead ones would
            # only draw "unreachable route" warnings on apply
            if _catches_all(rule.match):
                return routes
    if ingress.default is not None:
        routes.append(_http_route("default", None, [entry(ingress.default)]))
    return routes


def _entry(design: LaneDesign, entry: str, subset: str, lane: str, weight: int | None) -> dict:
    """A destination at the ``entry`` service for a chain in ``lane``, which names the lane."""
    destination: dict = {"host": service_host(design, entry), "subset": subset}
    service = design.service(entry)
    port = service.routed_port if service is not None else None
    if port is not None:
        destination["port"] = {"number": port}
    request: dict = {"set": {design.route_header: _header_value(lane)}}
    if design.pass_through.method == "baggage":
        # `add` appends after the client's baggage; the Lua filter lets the last member win
        request["add"] = {"baggage": _header_value(f"{design.baggage_key}={lane}")}
    route: dict = {"destination": destination}
    if weight is not None:
        route["weight"] = weight
    route["headers"] = {"request": request}
    return route


def rule_route_name(index: int, lane: str) -> str:
    """The gateway route emitted for ingress rule ``index`` (numbered from 0, like the
    design file's ``rules[0]``; the designer shows the same number and name)."""
    return f"rule-{index}-{lane}"


def _http_route(name: str, match: RequestMatch | None, destinations: list[dict]) -> dict:
    route: dict = {"name": name}
    block = request_match_dict(match) if match is not None else {}
    if block:  # one block, so its conditions must all hold (a second block would mean OR)
        route["match"] = [block]
    route["route"] = destinations
    return route


def _catches_all(match: RequestMatch | None) -> bool:
    return match is None or match.is_catch_all


def _header_value(value: str) -> str:
    """A value for ``headers.request.set/add``: Envoy reads ``%`` as a formatter, ``%%`` is %."""
    return value.replace("%", "%%")


def baggage_envoy_filter(design: LaneDesign) -> dict:
    """Lua filters before the router: sidecar outbound calls and gateways, sidecar inbound."""
    source = baggage_lua(design.route_header, design.baggage_key)
    filter_name = f"lanedesign.{design.name}.baggage"
    return {
        "apiVersion": ENVOY_FILTER_API_VERSION,
        "kind": "EnvoyFilter",
        # root namespace and no workloadSelector: every sidecar and gateway of the mesh
        "metadata": _metadata(design, object_name(design.name, "baggage"), ROOT_NAMESPACE),
        "spec": {"priority": BAGGAGE_FILTER_PRIORITY,
                 "configPatches": [*(_lua_patch(context, filter_name, source)
                                     for context in ("SIDECAR_OUTBOUND", "GATEWAY")),
                                   baggage_inbound_patch(design)]},
    }


def baggage_inbound_patch(design: LaneDesign) -> dict:
    """A Lua filter before every sidecar's inbound router: the app gets one ``baggage`` line.

    The gateway *adds* its lane member after any the client sent, and OpenTelemetry's
    propagator reads only the first ``baggage`` line, so without this an app would carry the
    client's lane on instead of the one its request was routed in (docs/istio.md).
    """
    source = baggage_inbound_lua(design.route_header, design.baggage_key)
    return _lua_patch("SIDECAR_INBOUND", f"lanedesign.{design.name}.baggage-inbound", source)


def _lua_patch(context: str, filter_name: str, source: str) -> dict:
    return {
        "applyTo": "HTTP_FILTER",
        "match": {
            "context": context,
            "listener": {"filterChain": {"filter": {
                "name": "envoy.filters.network.http_connection_manager",
                "subFilter": {"name": "envoy.filters.http.router"},
            }}},
        },
        "patch": {
            "operation": "INSERT_BEFORE",
            "value": {
                "name": filter_name,
                "typed_config": {
                    "@type": LUA_FILTER_TYPE,
                    "default_source_code": {"inline_string": source},
                },
            },
        },
    }


def _metadata(design: LaneDesign, name: str, namespace: str) -> dict:
    return {"name": name, "namespace": namespace, "labels": managed_labels(design)}


def _names(objects: list[dict]) -> frozenset[tuple[str, str, str]]:
    return frozenset((o["kind"], o["metadata"]["namespace"], o["metadata"]["name"])
                     for o in objects)
