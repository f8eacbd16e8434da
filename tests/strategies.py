"""Hypothesis strategies: random *valid* lane designs (no validator errors).

Shared by the property tests of every module (simulator, design files, emitters).
"""

from __future__ import annotations

from dataclasses import replace

from hypothesis import assume
from hypothesis import strategies as st

from lanedesign.findings import has_errors
from lanedesign.model import (
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
    StringMatch,
    TeamRoute,
    TeamSubset,
    Topic,
)
from lanedesign.validate import validate

SERVICE_NAMES = ["front", "api", "cart", "pay", "ship", "user", "mail", "stock", "search"]
LANE_NAMES = ["base", "s2", "s3", "dev", "feat-x", "canary"]
ROUTE_HEADERS = ["x-asm-prefer-tag", "x-lane", "x-env"]


@st.composite
def string_matches(draw, values: list[str]) -> StringMatch:
    kind = draw(st.sampled_from(["exact", "prefix", "regex"]))
    value = draw(st.sampled_from(values))
    if kind == "regex":
        value = draw(st.sampled_from([value, f"{value}|other", f"{value[:1]}.*", ".*"]))
    if kind == "prefix" and not value:
        value = "x"
    return StringMatch(kind, value)


@st.composite
def ports(draw, port: int | None) -> tuple[ServicePort, ...]:
    """Kubernetes ports a header can route (HTTP, gRPC, detected), holding ``port`` if set."""
    if draw(st.booleans()):
        return ()
    number = port or 9080
    name = draw(st.sampled_from(["http", "grpc", "http-web", None]))
    target = draw(st.sampled_from([None, 8081, "web"]))
    return (ServicePort(number, name, target),)


@st.composite
def request_matches(draw, route_header: str, lanes: list[str]) -> RequestMatch:
    uri = draw(st.one_of(st.none(), string_matches(["/", "/api", "/mock", "/api/v2"])))
    names = draw(st.lists(st.sampled_from([route_header, "x-user", "x-env"]), unique=True,
                          max_size=2))
    headers = tuple((n, draw(string_matches([*lanes, "alice", "bob"]))) for n in names)
    return RequestMatch(uri=uri, headers=headers)


@st.composite
def designs(draw, max_services: int = 7, max_lanes: int = 5) -> LaneDesign:
    """A random design that the validator accepts (warnings and info allowed)."""
    services = draw(st.lists(st.sampled_from(SERVICE_NAMES), min_size=1,
                             max_size=max_services, unique=True))
    lanes = draw(st.lists(st.sampled_from(LANE_NAMES), min_size=1, max_size=max_lanes,
                          unique=True))
    baseline = lanes[0]
    mode = draw(st.sampled_from(["loose", "loose", "strict"]))
    route = draw(st.sampled_from(ROUTE_HEADERS))
    method = draw(st.sampled_from(["traceId", "header", "baggage"]))
    pass_through = {
        "traceId": PassThrough("traceId", trace_header="x-b3-traceid"),
        "header": PassThrough("header", trace_header=draw(st.sampled_from([None, route]))),
        "baggage": PassThrough("baggage", baggage_key=draw(st.sampled_from([None, "lane"]))),
    }[method]
    svc_objs = tuple(
        Service(
            name=s,
            calls=tuple(draw(st.lists(st.sampled_from(services), max_size=3, unique=True))),
            namespace=draw(st.sampled_from([None, None, "other"])),
            port=(port := draw(st.sampled_from([None, 8080]))),
            propagates=draw(st.sampled_from([True, True, True, False])),
            selector=draw(st.sampled_from([None, None, {"app": s},
                                           {"app.kubernetes.io/name": s, "tier": "web"}])),
            ports=draw(ports(port)),
            # an app that copies a fixed list of headers, which may miss the lane's
            forwards=draw(st.sampled_from([None, None, None, ("x-request-id", "baggage"),
                                           ("x-b3-traceid", route), ("x-request-id",)])),
        )
        for s in services
    )
    lane_objs = []
    for i, name in enumerate(lanes):
        if i == 0 or mode == "strict":
            members = list(services)
        else:
            members = draw(st.lists(st.sampled_from(services), min_size=1, unique=True))
            members.sort(key=services.index)
        lane_objs.append(Lane(name, labels={"version": f"v{i + 1}"}, services=members))
    fallback = []
    if mode == "loose":
        for s in services:
            holders = [ln.name for ln in lane_objs if ln.holds(s)]
            if draw(st.integers(0, 4)) == 0:
                fallback.append((s, draw(st.sampled_from(holders))))
    entry = draw(st.sampled_from(services))
    strategy = draw(st.sampled_from(["rules", "weighted"]))
    default = draw(st.sampled_from([None, *lanes]))
    if strategy == "rules":
        rules = draw(st.one_of(
            st.none(),
            st.lists(st.builds(IngressRule, st.sampled_from(lanes),
                               st.one_of(st.none(), request_matches(route, lanes))),
                     max_size=4),
        ))
        ingress = Ingress(entry=entry, strategy="rules",
                          rules=None if rules is None else tuple(rules), default=default)
    else:
        cuts = sorted(draw(st.lists(st.integers(0, 100), min_size=len(lanes) - 1,
                                    max_size=len(lanes) - 1)))
        bounds = [0, *cuts, 100]
        weights = tuple((ln, bounds[i + 1] - bounds[i]) for i, ln in enumerate(lanes))
        ingress = Ingress(entry=entry, strategy="weighted", weights=weights, default=default,
                          match=draw(st.one_of(st.none(), request_matches(route, lanes))))
    # some versions call other services than their service (Bookinfo's reviews)
    for svc in svc_objs:
        holders = [ln.name for ln in lane_objs if ln.holds(svc.name)]
        if draw(st.integers(0, 3)) == 0:
            lane = draw(st.sampled_from(holders))
            calls = tuple(draw(st.lists(st.sampled_from(services), max_size=3, unique=True)))
            svc_objs = tuple(replace(x, lane_calls=((lane, calls),)) if x is svc else x
                             for x in svc_objs)
    design = LaneDesign(
        name="prop", services=svc_objs, lanes=tuple(lane_objs), baseline=baseline, mode=mode,
        route_header=route, pass_through=pass_through, fallback=tuple(fallback),
        ingress=ingress, namespace=draw(st.sampled_from(["default", "shop"])),
    )
    assume(not has_errors(validate(design)))
    return design


# -- message topics (docs/queues.md) -----------------------------------------------------------
TOPIC_NAMES = ["orders", "events", "jobs.v1"]


@st.composite
def designs_with_topics(draw, max_services: int = 6) -> LaneDesign:
    """A random valid design (``designs``) whose services publish to and consume random
    topics; strict designs sometimes lose a lane member, so that a lane lacks a topic's
    consumer with no fallback (the design then has errors, but the simulator runs)."""
    design = draw(designs(max_services=max_services))
    topics = draw(st.lists(st.sampled_from(TOPIC_NAMES), min_size=1, max_size=3, unique=True))
    services = tuple(
        replace(svc,
                publishes=tuple(draw(st.lists(st.sampled_from(topics), max_size=2, unique=True))),
                consumes=tuple(draw(st.lists(st.sampled_from(topics), max_size=2, unique=True))),
                filters_by_lane=draw(st.sampled_from([True, True, True, False])))
        for svc in design.services)
    design = design.with_(services=services, topics=tuple(
        Topic(t, draw(st.sampled_from(["kafka", "rabbitmq", "rocketmq"])),
              draw(st.sampled_from(["topic", "queue", "stream", "exchange"]))) for t in topics))
    tests = [ln for ln in design.lanes if ln.name != design.baseline and ln.services]
    if design.mode == "strict" and tests and draw(st.booleans()):
        lane = draw(st.sampled_from(tests))
        # a consumer, where the lane holds one: the case strict mode cannot serve
        consumers = [n for n in lane.services if design.service(n).consumes]
        gone = draw(st.sampled_from(consumers or list(lane.services)))
        design = design.with_membership(lane.name, gone, False)
    return design


# -- a team's routing merged into a design (docs/istio.md, "A team's routing") -----------------
TEAM_HEADERS = ["x-user", "x-env"]  # what random requests send (request_cases.requests)
FAULTS = [
    {"delay": {"fixedDelay": "7s", "percentage": {"value": 100.0}}},
    {"delay": {"fixedDelay": "1s", "percentage": {"value": 50.0}}},
    {"abort": {"httpStatus": 503, "percentage": {"value": 100.0}}},
    {"abort": {"httpStatus": 500, "percentage": {"value": 10.0}}},
]
SETTINGS = [{}, {}, {"timeout": "3s"}, {"retries": {"attempts": 2, "perTryTimeout": "1s"}},
            *({"fault": f} for f in FAULTS)]


@st.composite
def team_destinations(draw, subsets: list[str]) -> tuple[RouteDestination, ...]:
    chosen = draw(st.lists(st.sampled_from(subsets), min_size=1, max_size=2, unique=True))
    if len(chosen) == 1:
        return (RouteDestination(chosen[0], port=draw(st.sampled_from([None, None, 9080]))),)
    weights = draw(st.lists(st.integers(0, 100), min_size=2, max_size=2).filter(
        lambda w: sum(w) > 0))
    return tuple(RouteDestination(n, w) for n, w in zip(chosen, weights))


@st.composite
def team_routings(draw, design: LaneDesign, service: str) -> Routing:
    """A team's routing for ``service``: header (sometimes path) routes to its lanes' subsets
    or a team subset, weights, faults, a default, a traffic policy."""
    extra = draw(st.sampled_from([[], ["team-x"]]))
    subsets = [ln.name for ln in design.lanes if ln.holds(service)] + extra
    routes = []
    for j in range(draw(st.sampled_from([0, 1, 1, 2]))):
        blocks = []
        for _ in range(draw(st.integers(1, 2))):
            names = draw(st.lists(st.sampled_from(TEAM_HEADERS), min_size=1, max_size=2,
                                  unique=True))
            uri = draw(st.sampled_from([None, None, None, StringMatch("prefix", "/api")]))
            blocks.append(RequestMatch(uri=uri, headers=tuple(
                (n, draw(st.one_of(st.builds(StringMatch, st.just("exact"),
                                             st.sampled_from(["alice", "bob"])),
                                   string_matches(["alice", "bob"])))) for n in names)))
        routes.append(TeamRoute(draw(st.sampled_from(["", f"team-{j}"])), tuple(blocks),
                                draw(team_destinations(subsets)),
                                draw(st.sampled_from(SETTINGS))))
    default = draw(st.one_of(st.just(()), team_destinations(subsets)))
    return Routing(
        settings=draw(st.sampled_from(SETTINGS)),
        routes=tuple(routes),
        default=default,
        traffic_policy=draw(st.sampled_from([{}, {"loadBalancer": {"simple": "ROUND_ROBIN"}}])),
        subsets=tuple(TeamSubset(n, {"version": n}) for n in extra),
    )


@st.composite
def designs_with_team_routing(draw, method: str | None = None) -> LaneDesign:
    """A random valid design (not traceId) with random team routing on some services."""
    design = draw(designs().filter(lambda d: d.pass_through.method != "traceId"
                                   and (method is None or d.pass_through.method == method)))
    for svc in design.services:
        if svc.forwards is not None and draw(st.booleans()):  # an app listing a team header
            design = design.with_service(replace(svc, forwards=(*svc.forwards, "x-user")))
            svc = design.service(svc.name)
            assert svc is not None
        if svc.tcp_only or draw(st.integers(0, 3)) == 0:
            continue
        design = design.with_service(replace(svc, routing=draw(team_routings(design,
                                                                              svc.name))))
    assume(not has_errors(validate(design)))
    return design
