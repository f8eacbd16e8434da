"""Reading ASMSwimLaneGroup/ASMSwimLane YAML into a lane design (``lanedesign import-asm``).

The inverse of ``emit_asm``. Lanes join their group by the ``swimlane-group`` label. Whatever
one design cannot hold, or the input gets wrong, becomes a finding whose path names the object
(``ASMSwimLane/s2.spec.ingressRules[0].hosts``); reading never raises on input. The typed
field helpers are the design reader's, so both inputs report problems the same way.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ..codec import parse_yaml_documents
from ..fields import FieldReader, Loaded, typename
from ..model import (
    DEFAULT_NAMESPACE,
    DEFAULT_ROUTE_HEADER,
    ROUTE_SETTINGS,
    Ingress,
    IngressRule,
    Lane,
    LaneDesign,
    PassThrough,
    RequestMatch,
    Routing,
    Service,
)
from .asm_api import (
    API_VERSION,
    BAGGAGE,
    GATEWAY_TYPE,
    GROUP_KIND,
    GROUP_LABEL,
    LANE_KIND,
    RULE_BASED,
    WEIGHTED,
)
from .common import CLUSTER_DOMAIN

_RULE_BASED_SPELLINGS = ("", RULE_BASED, "rule-based")  # "" = unset; the API writes rule-based
_SERVICE_FIELDS = ("name", "namespace", "cluster", "trafficPolicyPatch", "httpRoutePatch")
_PATCHES = ("trafficPolicyPatch", "httpRoutePatch")
# a lane's service refs share the group's Go type, but ASM says nothing of patches there
_UNMODELLED_SERVICE_FIELDS = ("cluster", *_PATCHES)
_UNMODELLED_GROUP_FIELDS = ("defaultTrafficPolicyPatch", "defaultHttpRoutePatch", "autoUpdate")

ServiceRef = tuple[str, "str | None"]  # (name, namespace)
Destination = tuple[str, "int | None"]  # (entry service, port)


def read_asm(text: str | bytes, group: str | None = None) -> Loaded:
    """A design from ASM YAML text; ``group`` picks one when the input holds several."""
    documents, finding = parse_yaml_documents(text)
    if finding is not None:
        return Loaded(None, (finding,))
    return read_asm_objects(documents, group)


def read_asm_objects(documents: list[Any], group: str | None = None) -> Loaded:
    """A design from already parsed objects (a cluster's, or a YAML file's documents)."""
    reader = _AsmReader()
    design = reader.read(documents, group)
    return Loaded(design, tuple(reader.findings))


@dataclass(frozen=True)
class _Object:
    path: str  # "ASMSwimLane/s2"
    name: str
    labels: dict[str, str]
    spec: dict[str, Any]


@dataclass(frozen=True)
class _Route:
    """Where one lane rule or weight sends requests, with the path to report problems at."""

    path: str
    hosts: tuple[str, ...] | None
    destination: Destination | None


class _AsmReader(FieldReader):
    def __init__(self) -> None:
        super().__init__()
        self.services: dict[str, str | None] = {}  # the group's services: name -> namespace
        self.routings: dict[str, Routing] = {}  # a group service's patches as its routing

    def read(self, documents: list[Any], wanted: str | None) -> LaneDesign | None:
        groups, lanes = self._objects(documents)
        group = self._choose(groups, wanted)
        if group is None:
            return None
        known = {g.name for g in groups}
        members = [lane for lane in lanes if self._group_of(lane, known) == group.name]
        return self._design(group, members)

    # -- documents -------------------------------------------------------------------------
    def _objects(self, documents: list[Any]) -> tuple[list[_Object], list[_Object]]:
        groups: list[_Object] = []
        lanes: list[_Object] = []
        for path, doc in _flatten(documents):
            if not isinstance(doc, Mapping):
                self._add("LD704", path, f"{path} is {typename(doc)}, not a Kubernetes object")
                continue
            kind, api = doc.get("kind"), doc.get("apiVersion")
            if kind not in (GROUP_KIND, LANE_KIND) or api != API_VERSION:
                self._add("LD704", path, f"skipped {kind or 'a document without kind'} "
                          f"({api or 'no apiVersion'}); lanedesign reads {GROUP_KIND} and "
                          f"{LANE_KIND} of {API_VERSION}")
                continue
            obj = self._object(dict(doc), path, str(kind))
            if obj is not None:
                (groups if kind == GROUP_KIND else lanes).append(obj)
        return groups, lanes

    def _object(self, raw: dict, path: str, kind: str) -> _Object | None:
        metadata = self._mapping(raw.get("metadata"), f"{path}.metadata", required=True)
        if metadata is None:
            return None
        name = self._str(metadata, "name", f"{path}.metadata")
        if not name:
            self._add("LD003", f"{path}.metadata.name", f"a {kind} has no name")
            return None
        where = f"{kind}/{name}"
        self._fields(raw, where, ("apiVersion", "kind", "metadata", "spec", "status"))
        labels = dict(self._str_map(metadata, "labels", f"{where}.metadata") or ())
        spec = self._mapping(raw.get("spec"), f"{where}.spec", required=True) or {}
        return _Object(where, name, labels, spec)

    def _choose(self, groups: list[_Object], wanted: str | None) -> _Object | None:
        names = ", ".join(g.name for g in groups) or "none"
        if wanted is not None:
            group = next((g for g in groups if g.name == wanted), None)
            if group is None:
                self._add("LD701", "", f"no {GROUP_KIND} named {wanted!r}; the input has: "
                          f"{names}")
            return group
        if not groups:
            self._add("LD701", "", f"the input holds no {GROUP_KIND}")
            return None
        if len(groups) > 1:
            self._add("LD702", "", f"the input holds {len(groups)} groups: {names}",
                      f"Choose one with `--group {groups[0].name}`.")
            return None
        return groups[0]

    def _group_of(self, lane: _Object, known: set[str]) -> str | None:
        group = lane.labels.get(GROUP_LABEL)
        path = f"{lane.path}.metadata.labels"
        if group is None:
            self._add("LD703", path, f"lane {lane.name!r} has no `{GROUP_LABEL}` label")
        elif group not in known:
            self._add("LD703", f"{path}.{GROUP_LABEL}", f"lane {lane.name!r} belongs to group "
                      f"{group!r}, which is not in the input")
        return group

    # -- the design ------------------------------------------------------------------------
    def _design(self, group: _Object, lanes: list[_Object]) -> LaneDesign:
        p = f"{group.path}.spec"
        spec = group.spec
        self._fields(spec, p, ("services", "ingress", "permissiveModeConfiguration",
                               "isPermissive", *_UNMODELLED_GROUP_FIELDS))
        self._unmodelled(spec, p, _UNMODELLED_GROUP_FIELDS)
        self._group_services(spec, p)
        permissive = self._bool(spec, "isPermissive", p)
        cp = f"{p}.permissiveModeConfiguration"
        config = self._mapping(spec.get("permissiveModeConfiguration"), cp,
                               required=permissive) or {}
        self._fields(config, cp, ("traceHeader", "routeHeader", "fallbackTarget",
                                  "serviceLevelFallbackTarget"))
        route_header = self._str(config, "routeHeader", cp, None)
        trace_header = self._str(config, "traceHeader", cp, None)
        if permissive and config:
            for key, value in (("routeHeader", route_header), ("traceHeader", trace_header)):
                if value is None:
                    self._add("LD003", f"{cp}.{key}", f"permissive mode needs `{key}`")
        route_header = route_header or DEFAULT_ROUTE_HEADER
        design_lanes = tuple(self._lane(lane) for lane in lanes)
        baseline = self._str(config, "fallbackTarget", cp, None) or _inferred_baseline(
            design_lanes, tuple(self.services))
        ingress, entry, port = self._ingress(spec.get("ingress"), f"{p}.ingress", lanes)
        namespace = _common_namespace(self.services)
        services = tuple(
            Service(name, namespace=None if ns in (None, namespace) else ns,
                    port=port if name == entry else None, routing=self.routings.get(name))
            for name, ns in self.services.items()
        )
        self._add("LD705", f"{p}.services", "ASM objects hold no calls: every service of the "
                  "design calls nothing yet, and only the entry service has a port")
        return LaneDesign(
            name=group.name,
            services=services,
            lanes=design_lanes,
            baseline=baseline,
            namespace=namespace,
            mode="loose" if permissive else "strict",
            route_header=route_header,
            pass_through=_pass_through(trace_header, route_header),
            fallback=self._fallbacks(config, cp),
            ingress=ingress,
        )

    def _group_services(self, spec: dict, path: str) -> None:
        refs = self._list_of_mappings(spec, "services", path, self._group_service_ref,
                                      required=True)
        for i, (name, namespace, routing) in enumerate(refs):
            where = f"{path}.services[{i}]"
            if namespace is None:
                self._add("LD003", f"{where}.namespace", f"service {name!r} has no namespace")
            if name in self.services:
                self._add("LD707", where, f"two services are named {name!r} (namespaces "
                          f"{self.services[name]!r} and {namespace!r}); in a design a name "
                          "stands for one service")
            elif name:
                self.services[name] = namespace
                if routing is not None:
                    self.routings[name] = routing

    def _group_service_ref(self, raw: dict, path: str) -> tuple[str, str | None, Routing | None]:
        """A group service and its patches, read as the service's team routing: the route
        patch as its ``settings``, the traffic-policy patch as its ``trafficPolicy``."""
        name, namespace = self._service_ref({k: v for k, v in raw.items() if k not in _PATCHES},
                                            path)
        policy = self._mapping(raw.get("trafficPolicyPatch"), f"{path}.trafficPolicyPatch")
        route = self._mapping(raw.get("httpRoutePatch"), f"{path}.httpRoutePatch") or {}
        for key in route:
            if key not in ROUTE_SETTINGS:
                self._add("LD706", f"{path}.httpRoutePatch.{key}", f"`{key}` in a route patch "
                          "is not a route setting a lane design holds "
                          f"({', '.join(ROUTE_SETTINGS)}); an export leaves it out")
        settings = {k: v for k, v in route.items() if k in ROUTE_SETTINGS}
        if not settings and not policy:
            return name, namespace, None
        return name, namespace, Routing(settings=settings, traffic_policy=policy or {})

    def _service_ref(self, raw: dict, path: str) -> ServiceRef:
        self._fields(raw, path, _SERVICE_FIELDS)
        self._unmodelled(raw, path, _UNMODELLED_SERVICE_FIELDS)
        name = self._str(raw, "name", path)
        if not name:
            self._add("LD003", f"{path}.name", "a service reference has no name")
        return name, self._str(raw, "namespace", path, None)

    def _resolve(self, ref: ServiceRef, path: str) -> str | None:
        """The group service ``ref`` names (a lane ref may leave the namespace out)."""
        name, namespace = ref
        if name in self.services and namespace in (None, self.services[name]):
            return name
        if name:
            where = f" in namespace {namespace!r}" if namespace else ""
            self._add("LD709", path, f"{name!r}{where} is not a service of the group")
        return None

    def _fallbacks(self, config: dict, path: str) -> tuple[tuple[str, str], ...]:
        out = []
        for key, lane in self._str_map(config, "serviceLevelFallbackTarget", path) or ():
            namespace, sep, name = key.rpartition("/")
            service = self._resolve((name, namespace if sep else None),
                                    f"{path}.serviceLevelFallbackTarget.{key}")
            if service is not None:
                out.append((service, lane))
        return tuple(out)

    def _lane(self, lane: _Object) -> Lane:
        p = f"{lane.path}.spec"
        self._fields(lane.spec, p, ("labelSelector", "services", "ingressRules",
                                    "ingressWeight"))
        refs = self._list_of_mappings(lane.spec, "services", p, self._service_ref)
        members = (self._resolve(ref, f"{p}.services[{i}]") for i, ref in enumerate(refs))
        return Lane(lane.name, labels=self._str_map(lane.spec, "labelSelector", p) or (),
                    services=tuple(m for m in members if m is not None))

    # -- ingress ---------------------------------------------------------------------------
    def _ingress(self, value: Any, path: str, lanes: list[_Object],
                 ) -> tuple[Ingress | None, str, int | None]:
        """The design's ingress, entry service and its port, read from group and lanes."""
        raw = self._mapping(value, path)
        if raw is None and not any(k in lane.spec for lane in lanes
                                   for k in ("ingressRules", "ingressWeight")):
            return None, "", None
        raw = raw or {}  # lanes route but the group has no ingress: the gateway is reported
        self._fields(raw, path, ("gateway", "ingressRouting"))
        gateway = self._gateway(raw.get("gateway"), f"{path}.gateway")
        rp = f"{path}.ingressRouting"
        routing = self._mapping(raw.get("ingressRouting"), rp) or {}
        self._fields(routing, rp, ("ingressRoutingStrategy", "weightedRoutingRule"))
        strategy = self._str(routing, "ingressRoutingStrategy", rp, RULE_BASED)
        if strategy not in (*_RULE_BASED_SPELLINGS, WEIGHTED):
            self._add("LD006", f"{rp}.ingressRoutingStrategy", f"strategy {strategy!r}; "
                      f"allowed: {RULE_BASED}, {WEIGHTED}", f"Use {RULE_BASED} or {WEIGHTED}.")
        if strategy == WEIGHTED:
            ingress, routes = self._weighted(routing, rp, lanes)
        else:
            if "weightedRoutingRule" in routing:
                self._add("LD507", f"{rp}.weightedRoutingRule", "the rule-based strategy "
                          "ignores the weighted rule")
            ingress, routes = self._rule_based(lanes)
        hosts, entry = self._one_target(routes)
        service, port = entry or ("", None)
        return Ingress(gateway=gateway, hosts=hosts, entry=service, **ingress), service, port

    def _gateway(self, value: Any, path: str) -> str:
        raw = self._mapping(value, path, required=True)
        if raw is None:
            return Ingress().gateway
        self._fields(raw, path, ("name", "namespace", "type"))
        kind = self._str(raw, "type", path, GATEWAY_TYPE)
        if kind != GATEWAY_TYPE:
            self._add("LD707", f"{path}.type", f"gateway type {kind!r}: lanedesign designs "
                      f"for an ASM (Istio) gateway, type {GATEWAY_TYPE}")
        name = self._str(raw, "name", path)
        if not name:
            self._add("LD003", f"{path}.name", "the gateway has no name")
        namespace = self._str(raw, "namespace", path, None)
        return f"{namespace}/{name}" if namespace else name

    def _rule_based(self, lanes: list[_Object]) -> tuple[dict[str, Any], list[_Route]]:
        rules: list[IngressRule] = []
        routes: list[_Route] = []
        for lane in lanes:
            p = f"{lane.path}.spec"
            if "ingressWeight" in lane.spec:
                self._add("LD507", f"{p}.ingressWeight", "the rule-based strategy ignores "
                          "lane weights")
            for route, match, online in self._list_of_mappings(lane.spec, "ingressRules", p,
                                                               self._rule):
                if online:
                    rules.append(IngressRule(lane.name, match))
                    routes.append(route)
                else:
                    self._add("LD708", route.path, f"rule {route.path} is offline and left out")
        return {"strategy": "rules", "rules": tuple(rules)}, routes

    def _rule(self, raw: dict, path: str) -> tuple[_Route, RequestMatch | None, bool]:
        self._fields(raw, path, ("name", "online", "hosts", "match", "route"))
        self._str(raw, "name", path)  # names are per object; a design's rules have none
        online = self._bool(raw, "online", path)
        hosts = self._str_list(raw, "hosts", path)
        if hosts is None and online:
            self._add("LD003", f"{path}.hosts", "the rule has no hosts")
        match = self._request_match(raw.get("match"), f"{path}.match")
        rp = f"{path}.route"
        route = self._mapping(raw.get("route"), rp, required=True) or {}
        self._fields(route, rp, ("destination",))
        destination = self._destination(route.get("destination"), f"{rp}.destination")
        return _Route(path, hosts, destination), match, online

    def _weighted(self, routing: dict, path: str, lanes: list[_Object],
                  ) -> tuple[dict[str, Any], list[_Route]]:
        wp = f"{path}.weightedRoutingRule"
        rule = self._mapping(routing.get("weightedRoutingRule"), wp) or {}
        self._fields(rule, wp, ("hosts", "requestMatches"))
        hosts = self._str_list(rule, "hosts", wp)
        if hosts is None:
            self._add("LD003", f"{wp}.hosts", "the weighted rule has no hosts")
        matches = self._list_of_mappings(rule, "requestMatches", wp, self._request_match)
        if len(matches) > 1:
            self._add("LD707", f"{wp}.requestMatches[1]", f"{len(matches)} request matches; a "
                      "design's weighted ingress has one (the first is kept)")
        routes = [_Route(wp, hosts, None)]
        weights = []
        for lane in lanes:
            p = f"{lane.path}.spec"
            if "ingressRules" in lane.spec:
                self._add("LD507", f"{p}.ingressRules", "the weighted strategy ignores lane "
                          "rules")
            weight = self._weight(lane.spec.get("ingressWeight"), f"{p}.ingressWeight")
            if weight is not None:
                weights.append((lane.name, weight[0]))
                routes.append(weight[1])
        ingress = {"strategy": "weighted", "match": matches[0] if matches else None,
                   "weights": tuple(weights)}
        return ingress, routes

    def _weight(self, value: Any, path: str) -> tuple[int, _Route] | None:
        raw = self._mapping(value, path)
        if raw is None:
            return None
        self._fields(raw, path, ("destination", "weight"))
        weight = raw.get("weight", 0)  # Go leaves a zero weight out (omitempty)
        if not _is_int(weight):
            self._add("LD004", f"{path}.weight", f"`weight` must be an integer, not "
                      f"{typename(weight)}")
            return None
        destination = self._destination(raw.get("destination"), f"{path}.destination")
        return weight, _Route(path, None, destination)

    def _destination(self, value: Any, path: str) -> Destination | None:
        raw = self._mapping(value, path, required=True)
        if raw is None:
            return None
        self._fields(raw, path, ("host", "portNum"))
        host = self._str(raw, "host", path)
        port = raw.get("portNum")
        if port is not None and not (_is_int(port) and 1 <= port <= 65535):
            self._add("LD004", f"{path}.portNum", f"`portNum` must be a port number 1-65535, "
                      f"not {port!r}")
            port = None
        if not host:
            self._add("LD003", f"{path}.host", "the destination has no host")
            return None
        service = self._host_service(host, f"{path}.host")
        return None if service is None else (service, port)

    def _host_service(self, host: str, path: str) -> str | None:
        """``mocka.default.svc.cluster.local`` (or a shorter form) -> the group service."""
        name, _, rest = host.partition(".")
        namespace, _, suffix = rest.partition(".")
        if suffix not in ("", "svc", CLUSTER_DOMAIN):
            self._add("LD709", path, f"{host!r} is not a service of the group")
            return None
        return self._resolve((name, namespace or None), path)

    def _one_target(self, routes: list[_Route],
                    ) -> tuple[tuple[str, ...], Destination | None]:
        """The hosts and entry every route shares; a design has one of each."""
        hosts = next((r.hosts for r in routes if r.hosts is not None), None)
        entry = next((r.destination for r in routes if r.destination is not None), None)
        for r in routes:
            if r.hosts is not None and r.hosts != hosts:
                self._add("LD707", f"{r.path}.hosts", f"hosts {list(r.hosts)} differ from "
                          f"{list(hosts or ())}; a design's ingress has one host list")
            if r.destination is not None and r.destination != entry:
                self._add("LD707", f"{r.path}", f"routes to {_show(r.destination)}, not "
                          f"{_show(entry)}; a design has one entry service")
        return (hosts if hosts is not None else ("*",)), entry

    # -- ASM spellings the design reader does not know -------------------------------------
    def _request_match(self, value: Any, path: str) -> RequestMatch | None:
        if isinstance(value, Mapping) and value.get("uri") == {}:
            # Go's zero StringMatch (the Uri field is not a pointer): no URI condition
            value = {k: v for k, v in value.items() if k != "uri"}
        return super()._request_match(value, path)

    def _bool(self, raw: dict, key: str, path: str) -> bool:
        value = raw.get(key, False)  # Go leaves false out (omitempty)
        if not isinstance(value, bool):
            self._add("LD004", f"{path}.{key}", f"`{key}` must be true or false, not "
                      f"{typename(value)}")
            return False
        return value

    def _unmodelled(self, raw: dict, path: str, keys: tuple[str, ...]) -> None:
        for key in keys:
            if key in raw:
                self._add("LD706", f"{path}.{key}", f"`{key}` is not part of a lane design; "
                          "an export leaves it out")


def _flatten(documents: list[Any]) -> Iterator[tuple[str, Any]]:
    """Documents with their paths; a ``kind: List`` (kubectl get -o yaml) gives its items."""
    for i, doc in enumerate(documents):
        path = f"documents[{i}]"
        items = doc.get("items") if isinstance(doc, Mapping) and doc.get("kind") == "List" else None
        if isinstance(items, list):
            for j, item in enumerate(items):
                yield f"{path}.items[{j}]", item
        else:
            yield path, doc


def _pass_through(trace_header: str | None, route_header: str) -> PassThrough:
    """The method ASM's ``traceHeader`` stands for (``asm-lanes.md`` §1.2)."""
    if trace_header is None or trace_header == BAGGAGE:
        return PassThrough("baggage")
    if trace_header == route_header:
        return PassThrough("header")
    return PassThrough("traceId", trace_header=trace_header)


def _inferred_baseline(lanes: tuple[Lane, ...], services: tuple[str, ...]) -> str:
    """Without ``fallbackTarget``: the first lane holding every service, else the first lane."""
    full = next((ln.name for ln in lanes if all(ln.holds(s) for s in services)), None)
    return full or (lanes[0].name if lanes else "")


def _common_namespace(services: dict[str, str | None]) -> str:
    counts = Counter(ns for ns in services.values() if ns)
    return counts.most_common(1)[0][0] if counts else DEFAULT_NAMESPACE


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _show(destination: Destination | None) -> str:
    if destination is None:
        return "nothing"
    service, port = destination
    return service if port is None else f"{service}:{port}"
