"""An independent reading of Gateway API objects: where a mesh or gateway sends a request.

Written from the Gateway API specification (v1.6.1, ``gateway-api.md``), not from the
emitter: it imports nothing from lanedesign. Routes attach to a Service (GAMMA: the caller's
proxy applies them to traffic to that Service) or to a Gateway. Among the matches of every
rule of every route attached to the parent, the most specific wins: an exact path, then the
longest prefix, then a method match, then most header matches, then most query matches; then
the oldest route, then namespace/name, then list order. A request no rule matches gets 404.
Ports as Istio reads them: an HTTPRoute attached to a Service port that is not HTTP (its
appProtocol or name prefix says tcp, tls, redis, ...) routes nothing, since the proxy handles
that port as TCP; a backend names one of its Service's ports, and reaches the pods on that
port's targetPort.
In Istio's ambient mode (``ambient=True``) no sidecar applies routes: only a waypoint does,
and a Service uses one when it, or else its Namespace, is labelled ``istio.io/use-waypoint:
<name>`` (or ``<namespace>/<name>``; ``#none`` opts out) naming a Gateway of class
``istio-waypoint`` that serves Service traffic (``istio.io/waypoint-for`` service or all,
service when unset). A Service no waypoint serves gets NO routes: a call reaches every pod it
selects, whatever HTTPRoutes are attached to it (Istio's ambient docs: the silent trap).
An object given with metadata only (a Namespace, a Service without ``spec``) adds labels.
A tie that creation time would break, between routes whose outcomes differ, is an error here:
nothing in the objects orders them. Anything this reading does not understand is an error too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import re2
from http_headers import Headers, joined

GATEWAY_GROUP = "gateway.networking.k8s.io"
RULE_FIELDS = {"name", "matches", "filters", "backendRefs"}
MATCH_FIELDS = {"path", "headers"}
BACKEND_FIELDS = {"group", "kind", "name", "namespace", "port", "weight", "filters"}


class MeshError(Exception):
    """The objects hold something this reading does not know, or an undefined outcome."""


# Istio's reading of a Service port's protocol: appProtocol, else the name's prefix before `-`
# (`grpc-web` whole); a name it does not know is sniffed, and HTTP routes apply to what
# turns out HTTP. Only these are handled as plain TCP.
TCP_PROTOCOLS = {"tcp", "tls", "https", "mongo", "mysql", "redis"}
APP_PROTOCOL_ALIASES = {"kubernetes.io/h2c": "http2", "kubernetes.io/ws": "http",
                        "kubernetes.io/wss": "https"}


def port_is_tcp(port: Mapping) -> bool:
    """True when a proxy handles this Service port as TCP (UDP/SCTP: not proxied at all)."""
    if port.get("protocol", "TCP") != "TCP":
        return True
    app = port.get("appProtocol")
    if app:
        app = APP_PROTOCOL_ALIASES.get(app.lower(), app.lower())
        if app in TCP_PROTOCOLS:
            return True
        if app in {"http", "http2", "grpc", "grpc-web"}:
            return False
    return port.get("name", "").lower().split("-", 1)[0] in TCP_PROTOCOLS




# -- matching ----------------------------------------------------------------------------------
DEFAULT_PATH = {"type": "PathPrefix", "value": "/"}


def path_matches(spec: Mapping, path: str) -> bool:
    kind, value = spec.get("type", "PathPrefix"), spec.get("value", "/")
    if kind == "Exact":
        return path == value
    if kind == "PathPrefix":  # element by element: /api matches /api and /api/x, not /apix
        prefix = value.rstrip("/")
        return not prefix or path == prefix or path.startswith(prefix + "/")
    raise MeshError(f"a path match type this reading does not rank: {kind}")


def header_matches(spec: Mapping, headers: Headers) -> bool:
    value = joined(headers, spec["name"])
    if value is None:
        return False
    kind = spec.get("type", "Exact")
    if kind == "Exact":
        return value == spec["value"]
    if kind == "RegularExpression":  # Istio's dialect: RE2, the whole value
        return re2.fullmatch(spec["value"], value) is not None
    raise MeshError(f"unknown header match type {kind}")


def match_holds(match: Mapping, path: str, headers: Headers) -> bool:
    unknown = set(match) - MATCH_FIELDS
    if unknown:
        raise MeshError(f"match fields this reading does not know: {sorted(unknown)}")
    return (path_matches(match.get("path", DEFAULT_PATH), path)
            and all(header_matches(h, headers) for h in match.get("headers", [])))


def specificity(match: Mapping) -> tuple[int, int, int, int, int]:
    """Higher is more specific: exact path, prefix length, method, headers, query params."""
    path = match.get("path", DEFAULT_PATH)
    exact = path.get("type", "PathPrefix") == "Exact"
    return (int(exact), 0 if exact else len(path.get("value", "/")), int("method" in match),
            len(match.get("headers", [])), len(match.get("queryParams", [])))


# -- the objects -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Backend:
    namespace: str
    name: str
    port: int | None
    weight: int
    filters: tuple[dict, ...]  # rule filters, then the backend's own

    def forward(self, headers: Headers) -> Headers:
        for f in self.filters:
            headers = apply_filter(f, headers)
        return headers


@dataclass(frozen=True)
class Routed:
    status: int
    rule: str | None = None
    backends: tuple[Backend, ...] = ()

    @property
    def shares(self) -> list[tuple[Backend, float]]:
        total = sum(b.weight for b in self.backends)
        if total <= 0:
            raise MeshError("no backend has weight")
        return [(b, b.weight / total) for b in self.backends if b.weight]


def apply_filter(f: Mapping, headers: Headers) -> Headers:
    """A RequestHeaderModifier: ``set`` replaces, ``add`` appends a line, ``remove`` drops."""
    if f.get("type") != "RequestHeaderModifier":
        raise MeshError(f"a filter this reading does not know: {f.get('type')}")
    mod = f["requestHeaderModifier"]
    out = {k: list(v) for k, v in headers.items()}
    for name in mod.get("remove", []):
        out.pop(name.lower(), None)
    for h in mod.get("set", []):
        out[h["name"].lower()] = [h["value"]]
    for h in mod.get("add", []):
        out.setdefault(h["name"].lower(), []).append(h["value"])
    return out


def host_matches(pattern: str, host: str) -> bool:
    host = host.split(":", 1)[0].lower()
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and len(host) > len(pattern) - 1
    return host == pattern


@dataclass(frozen=True)
class _Candidate:
    key: tuple
    route: dict
    rule_index: int
    match_index: int

    @property
    def rule(self) -> dict:
        return self.route["spec"]["rules"][self.rule_index]

    @property
    def route_name(self) -> tuple[str, str]:
        meta = self.route["metadata"]
        return meta["namespace"], meta["name"]


USE_WAYPOINT = "istio.io/use-waypoint"
WAYPOINT_FOR = "istio.io/waypoint-for"
WAYPOINT_CLASS = "istio-waypoint"


class Mesh:
    """The Services and HTTPRoutes of one cluster, read the way the spec says proxies do;
    ``ambient``: the cluster's data plane is Istio ambient (routes apply in waypoints only)."""

    def __init__(self, objects: list[dict], ambient: bool = False) -> None:
        self.ambient = ambient
        self.services: dict[tuple[str, str], dict] = {}
        self.routes: list[dict] = []
        self.gateways: dict[tuple[str, str], dict] = {}
        # labels given apart from the objects they go on: (kind, namespace, name) -> labels
        self.labels: dict[tuple[str, str, str], dict[str, str]] = {}
        for obj in objects:
            meta = obj["metadata"]
            if obj["kind"] == "Namespace":
                self.labels.setdefault(("Namespace", "", meta["name"]), {}).update(
                    meta.get("labels", {}))
                continue
            key = (meta["namespace"], meta["name"])
            if obj["kind"] == "Service" and "spec" not in obj:
                self.labels.setdefault(("Service", *key), {}).update(meta.get("labels", {}))
            elif obj["kind"] == "Service":
                if key in self.services:
                    raise MeshError(f"two Services {key}")
                self.services[key] = obj
            elif obj["kind"] == "HTTPRoute":
                self.routes.append(obj)
            elif obj["kind"] == "Gateway":
                if key in self.gateways:
                    raise MeshError(f"two Gateways {key}")
                self.gateways[key] = obj
            else:
                raise MeshError(f"a kind this reading does not know: {obj['kind']}")

    def waypoint(self, namespace: str, name: str) -> tuple[str, str] | None:
        """The waypoint Gateway serving calls to Service ``namespace/name``, or None."""
        svc = self.services.get((namespace, name))
        own = {**(svc["metadata"].get("labels", {}) if svc else {}),
               **self.labels.get(("Service", namespace, name), {})}
        value = own.get(USE_WAYPOINT, self.labels.get(("Namespace", "", namespace), {}).get(
            USE_WAYPOINT))
        if value is None or value in ("#none", "none"):
            return None
        ns, _, wp = value.rpartition("/")
        key = (ns or namespace, wp)
        gateway = self.gateways.get(key)
        if gateway is None or gateway["spec"].get("gatewayClassName") != WAYPOINT_CLASS:
            raise MeshError(f"Service {namespace}/{name} names waypoint {key}, which is not a "
                            "Gateway of class istio-waypoint here")
        serves = gateway["metadata"].get("labels", {}).get(WAYPOINT_FOR, "service")
        return key if serves in ("service", "all") else None

    def selector(self, namespace: str, name: str) -> dict[str, str] | None:
        svc = self.services.get((namespace, name))
        return None if svc is None else dict(svc["spec"]["selector"])

    def service_port(self, namespace: str, name: str, port: int | None) -> dict | None:
        """The port ``port`` of Service ``namespace/name`` (None: the Service is unknown).

        A Service that exists without that port is an error: a backend naming it gets no
        endpoints, and a caller could not reach it.
        """
        svc = self.services.get((namespace, name))
        if svc is None:
            return None
        for spec in svc["spec"]["ports"]:
            if port is None or spec["port"] == port:
                return spec
        raise MeshError(f"Service {namespace}/{name} has no port {port}")

    def target_port(self, backend: Backend) -> int | str | None:
        """The pod port ``backend`` reaches: its Service port's targetPort (default: the port
        itself; a name is looked up in the pod). None: the Service is unknown."""
        spec = self.service_port(backend.namespace, backend.name, backend.port)
        return None if spec is None else spec.get("targetPort", spec["port"])

    # which routes apply
    def _attached(self, group: str, kind: str, namespace: str, name: str,
                  port: int | None) -> list[dict]:
        found = []
        for route in self.routes:
            for ref in route["spec"]["parentRefs"]:
                ref_ns = ref.get("namespace", route["metadata"]["namespace"])
                if (ref.get("group", GATEWAY_GROUP), ref.get("kind", "Gateway"), ref_ns,
                        ref["name"]) == (group, kind, namespace, name) and (
                        ref.get("port") is None or port is None or ref["port"] == port):
                    found.append(route)
                    break
        return found

    def to_service(self, namespace: str, name: str, port: int | None, path: str,
                   headers: Headers) -> Routed:
        """A call from inside the mesh to Service ``namespace/name``."""
        spec = self.service_port(namespace, name, port)
        tcp = spec is not None and port_is_tcp(spec)
        routes = [] if tcp else self._attached("", "Service", namespace, name, port)
        if self.ambient and self.waypoint(namespace, name) is None:
            routes = []  # no sidecar and no waypoint: nothing applies the routes
        if not routes:  # no route: the Service itself, every pod it selects
            return Routed(200, None, (Backend(namespace, name, port, 1, ()),))
        return self._choose(routes, path, headers)

    def at_gateway(self, namespace: str, name: str, host: str, path: str,
                   headers: Headers) -> Routed:
        """A request arriving at Gateway ``namespace/name`` for ``host``."""
        routes = [r for r in self._attached(GATEWAY_GROUP, "Gateway", namespace, name, None)
                  if not r["spec"].get("hostnames")
                  or any(host_matches(h, host) for h in r["spec"]["hostnames"])]
        return self._choose(routes, path.split("?", 1)[0], headers)

    def _choose(self, routes: list[dict], path: str, headers: Headers) -> Routed:
        candidates = []
        for route in routes:
            for i, rule in enumerate(route["spec"]["rules"]):
                unknown = set(rule) - RULE_FIELDS
                if unknown:
                    raise MeshError(f"rule fields this reading does not know: {sorted(unknown)}")
                for j, match in enumerate(rule.get("matches", [{}])):
                    if match_holds(match, path, headers):
                        candidates.append(_Candidate(specificity(match), route, i, j))
        if not candidates:
            return Routed(404)
        best = max(c.key for c in candidates)
        top = [c for c in candidates if c.key == best]
        if len({c.route_name for c in top}) > 1 and len(
                {repr(self._outcome(c)) for c in top}) > 1:
            raise MeshError("equally specific matches in different routes lead to different "
                            "backends; only the routes' creation time would decide")
        chosen = min(top, key=lambda c: (c.route_name, c.rule_index, c.match_index))
        return Routed(200, chosen.rule.get("name"), self._outcome(chosen))

    def _outcome(self, c: _Candidate) -> tuple[Backend, ...]:
        namespace = c.route["metadata"]["namespace"]
        rule_filters = tuple(c.rule.get("filters", []))
        out = []
        for ref in c.rule.get("backendRefs", []):
            unknown = set(ref) - BACKEND_FIELDS
            if unknown:
                raise MeshError(f"backendRef fields this reading does not know: {unknown}")
            if (ref.get("group", ""), ref.get("kind", "Service")) != ("", "Service"):
                raise MeshError(f"a backend that is not a Service: {ref}")
            ns = ref.get("namespace", namespace)
            if ns != namespace:
                raise MeshError("a backend in another namespace needs a ReferenceGrant")
            backend = Backend(ns, ref["name"], ref.get("port"), ref.get("weight", 1),
                              rule_filters + tuple(ref.get("filters", [])))
            spec = self.service_port(ns, backend.name, backend.port)  # it must have that port
            if spec is not None and port_is_tcp(spec):
                raise MeshError(f"an HTTP backend on a TCP port: {ref}")
            out.append(backend)
        if not out:
            raise MeshError("a rule without backends")
        return tuple(out)
