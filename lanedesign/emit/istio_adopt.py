"""Adopting a team's Istio routing: their VirtualServices and DestinationRules for the hosts a
design routes, read into each service's ``routing`` (docs/istio.md, "A team's routing").

Nothing is changed silently: what one service's routing cannot hold exactly is a coded
finding (LD950-LD957), and a service with an error keeps the routing it had.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..findings import Finding, make
from ..model import (
    MATCH_KINDS,
    ROUTE_SETTINGS,
    LaneDesign,
    RequestMatch,
    RouteDestination,
    Routing,
    StringMatch,
    TeamRoute,
    TeamSubset,
)
from .common import MANAGED_BY, MANAGER, gateway_key, hosts_intersect, resolve_host, service_host

# HTTPMatchRequest fields a RequestMatch cannot hold (LD954); `name` only labels a match.
_MATCH_KEPT = {"uri", "headers", "name"}
_ROUTE_KEPT = {"name", "match", "route", *ROUTE_SETTINGS}
_DR_KEPT = {"host", "trafficPolicy", "subsets", "exportTo"}
_VS_KEPT = {"hosts", "gateways", "http", "exportTo"}


@dataclass(frozen=True)
class Adoption:
    """What adopting a team's objects gave: the design, findings, and which objects were read
    into which service's routing (``"VirtualService ns/name"``), which were left in place
    because a finding refused the service, and the gateway route read into the ingress."""

    design: LaneDesign
    findings: tuple[Finding, ...]
    adopted: dict[str, tuple[str, ...]] = field(default_factory=dict)
    refused: dict[str, tuple[str, ...]] = field(default_factory=dict)
    ingress: str | None = None


def adopt_routing(design: LaneDesign, objects: Sequence[Mapping[str, Any]],
                  ) -> tuple[LaneDesign, list[Finding]]:
    """``design`` with each service's routing read from its team's objects, and findings.

    Objects lanedesign manages are skipped; so are objects for hosts the design does not
    route. Short hosts (``reviews``) are read in the object's namespace, as Istio does.
    """
    done = adopt(design, objects)
    return done.design, list(done.findings)


def adopt(design: LaneDesign, objects: Sequence[Mapping[str, Any]]) -> Adoption:
    """``adopt_routing``, saying which objects went where; also reads the team's gateway
    route on the design's ingress gateway into the ingress (its paths: ``LD958``/``LD959``)."""
    hosts = {service_host(design, s.name): s.name for s in design.services}
    reader = _Reader(hosts, _GatewaySide.of(design))
    for obj in objects:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        if labels.get(MANAGED_BY) == MANAGER:
            continue
        if obj.get("kind") == "DestinationRule":
            reader.destination_rule(obj)
        elif obj.get("kind") == "VirtualService":
            reader.virtual_service(obj)
    adopted: dict[str, tuple[str, ...]] = {}
    for name, routing in reader.routings().items():
        if name in reader.refused:
            continue
        svc = design.service(name)
        assert svc is not None
        design = design.with_service(replace(svc, routing=routing))
        adopted[name] = tuple(sorted(reader.sources[name]))
    refused = {name: tuple(sorted(reader.sources.get(name, ()))) for name in reader.refused}
    design, ingress = reader.gateway.into(design, reader.findings)
    return Adoption(design, tuple(reader.findings), adopted, refused, ingress)


class _Reader:
    def __init__(self, hosts: dict[str, str], gateway: _GatewaySide) -> None:
        self.hosts = hosts
        self.gateway = gateway
        self.sources: dict[str, list[str]] = {}  # service -> the objects read for it
        self.findings: list[Finding] = []
        self.refused: set[str] = set()
        self.vs: dict[str, dict] = {}
        self.dr: dict[str, dict] = {}

    def _refuse(self, service: str, code: str, path: str, message: str) -> None:
        finding = make(code, path, message)
        self.findings.append(finding)
        if finding.severity == "error":  # the service keeps the routing it had
            self.refused.add(service)

    # -- DestinationRules ---------------------------------------------------------------------
    def destination_rule(self, obj: Mapping[str, Any]) -> None:
        meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
        where = f"DestinationRule {meta.get('namespace', 'default')}/{meta.get('name')}"
        host = resolve_host(str(spec.get("host", "")), meta.get("namespace") or "default")
        service = self.hosts.get(host)
        if service is None:
            return
        self.sources.setdefault(service, []).append(where)
        self._export_to(service, where, spec)
        for key in sorted(set(spec) - _DR_KEPT):
            self._refuse(service, "LD955", f"{where}: spec.{key}", f"`{key}` (e.g. a "
                         "workloadSelector) is not kept by a service's routing")
        if service in self.dr:
            self._refuse(service, "LD953", where, f"several DestinationRules for {host}: "
                         "Istio keeps one")
        self.dr[service] = dict(spec)

    # -- VirtualServices -------------------------------------------------------------------
    def virtual_service(self, obj: Mapping[str, Any]) -> None:
        meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
        namespace = meta.get("namespace") or "default"
        where = f"VirtualService {namespace}/{meta.get('name')}"
        hosts = [resolve_host(str(h), namespace) for h in spec.get("hosts") or []]
        mine = [self.hosts[h] for h in hosts if h in self.hosts]
        gateways = spec.get("gateways") or ["mesh"]
        if not mine:
            # another host, or a gateway's `*`: the ingress's, if bound to its gateway
            self.gateway.virtual_service(where, namespace, spec, self.findings)
            return
        service = mine[0]
        for name in dict.fromkeys(mine):
            self.sources.setdefault(name, []).append(where)
        if len(hosts) > 1 or gateways != ["mesh"]:
            for name in mine:
                self._refuse(name, "LD953", f"{where}: spec.hosts", f"routes {', '.join(hosts)} "
                             f"through {', '.join(gateways)}; one service's routing holds one "
                             "host for the sidecars")
            return
        self._export_to(service, where, spec)
        if spec.get("tcp") or spec.get("tls"):
            self._refuse(service, "LD951", f"{where}: spec", "`tcp`/`tls` routes")
        for key in sorted(set(spec) - _VS_KEPT - {"tcp", "tls"}):
            self._refuse(service, "LD955", f"{where}: spec.{key}", f"`{key}` is not kept")
        if service in self.vs:
            self._refuse(service, "LD953", where, f"several VirtualServices for {hosts[0]}: "
                         "sidecars keep only the oldest")
        self.vs[service] = {"where": where, "host": hosts[0], "namespace": namespace,
                            "http": spec.get("http") or []}

    def _export_to(self, service: str, where: str, spec: Mapping[str, Any]) -> None:
        export = spec.get("exportTo")
        if export is not None and list(export) not in (["*"], ["."]):
            self._refuse(service, "LD952", f"{where}: spec.exportTo", f"exported to "
                         f"{', '.join(map(str, export))} only")

    # -- into routing ----------------------------------------------------------------------
    def routings(self) -> dict[str, Routing]:
        out = {}
        for service in dict.fromkeys([*self.dr, *self.vs]):
            spec = self.dr.get(service, {})
            subsets = tuple(TeamSubset(str(s.get("name", "")), s.get("labels") or {},
                                       s.get("trafficPolicy") or {})
                            for s in spec.get("subsets") or [])
            routing = Routing(traffic_policy=spec.get("trafficPolicy") or {}, subsets=subsets)
            if service in self.vs:
                routing = self._routes(service, routing)
            out[service] = routing
        return out

    def _routes(self, service: str, routing: Routing) -> Routing:
        vs = self.vs[service]
        where, host = vs["where"], vs["host"]
        routes: list[TeamRoute] = []
        settings: dict = {}
        default: tuple[RouteDestination, ...] = ()
        caught = False
        for i, raw in enumerate(vs["http"]):
            path = f"{where}: spec.http[{i}]"
            if "delegate" in raw:
                self._refuse(service, "LD950", path, "delegates to another VirtualService")
                continue
            for key in sorted(set(raw) - _ROUTE_KEPT):
                self._refuse(service, "LD955", f"{path}.{key}", f"`{key}` does not send the "
                             "request to a subset of the service")
            own = {k: raw[k] for k in ROUTE_SETTINGS if k in raw}
            matches = self._matches(service, path, raw.get("match"))
            destinations = self._destinations(service, path, raw.get("route") or [], host,
                                              catch_all=matches is None, vs=vs)
            if matches is None:  # the catch-all: its settings are the service's
                settings, default, caught = own, destinations, True
                break  # Istio never reaches a route after it
            routes.append(TeamRoute(str(raw.get("name", "")), matches, destinations, own))
        if not caught:
            self.findings.append(make("LD957", where, f"no catch-all route for {host}"))
        return replace(routing, settings=settings, routes=tuple(routes), default=default)

    def _matches(self, service: str, path: str, blocks: Any) -> tuple[RequestMatch, ...] | None:
        if not blocks:
            return None
        out = []
        for k, block in enumerate(blocks):
            where = f"{path}.match[{k}]"
            for key in sorted(set(block) - _MATCH_KEPT):
                self._refuse(service, "LD954", f"{where}.{key}", f"matches on `{key}`")
            uri = self._string(service, f"{where}.uri", block.get("uri"))
            headers = tuple((str(name).lower(), m) for name, spec in
                            (block.get("headers") or {}).items()
                            if (m := self._string(service, f"{where}.headers.{name}", spec)))
            out.append(RequestMatch(uri=uri, headers=headers))
        return tuple(out)

    def _string(self, service: str, path: str, spec: Any) -> StringMatch | None:
        if spec is None:
            return None
        kinds = [k for k in MATCH_KINDS if k in (spec or {})]
        if len(kinds) != 1 or set(spec) - set(MATCH_KINDS):
            self._refuse(service, "LD954", path, f"the condition {spec} (a presence match "
                         "or an unknown kind) cannot be held")
            return None
        return StringMatch(kinds[0], str(spec[kinds[0]]))

    def _destinations(self, service: str, path: str, raw: list, host: str, catch_all: bool,
                      vs: dict) -> tuple[RouteDestination, ...]:
        out = []
        for j, item in enumerate(raw):
            dest = item.get("destination") or {}
            to = resolve_host(str(dest.get("host", "")), vs["namespace"])
            where = f"{path}.route[{j}]"
            if to != host:
                self._refuse(service, "LD955", f"{where}.destination.host", f"sends to {to}, "
                             f"not a subset of {host}")
                continue
            for key in sorted(set(item) - {"destination", "weight"}):
                self._refuse(service, "LD955", f"{where}.{key}", f"`{key}` on a destination "
                             "is not kept")
            subset = dest.get("subset")
            if subset is None:
                if catch_all and len(raw) == 1:
                    self.findings.append(make("LD956", where, f"the catch-all sends to all of "
                                              f"{host}; the baseline's subset will"))
                    return ()
                self._refuse(service, "LD955", where, "a destination without a subset")
                continue
            port = (dest.get("port") or {}).get("number")
            out.append(RouteDestination(str(subset), item.get("weight"), port))
        return tuple(out)



# -- the team's gateway route (the ingress) --------------------------------------------------
_RE2_SPECIAL = set("\\.+*?()|[]{}^$")


def _literal(text: str) -> str:
    """``text`` as an RE2 pattern matching exactly it."""
    return "".join(f"\\{c}" if c in _RE2_SPECIAL else c for c in text)


def paths_regex(uris: Sequence[StringMatch]) -> StringMatch:
    """One condition matching a path when any of ``uris`` does: the condition itself when
    there is one, else an RE2 alternation (Istio's regex matches the whole path without the
    query, as its exact and prefix matches read it)."""
    if len(uris) == 1:
        return uris[0]
    parts = []
    for uri in dict.fromkeys(uris):
        if uri.kind == "exact":
            parts.append(_literal(uri.value))
        elif uri.kind == "prefix":
            parts.append(f"{_literal(uri.value)}.*")
        else:
            parts.append(f"(?:{uri.value})")
    return StringMatch("regex", "|".join(parts))


@dataclass
class _GatewaySide:
    """The design's ingress as a team's gateway route must meet it, and what was read."""

    gateway: str | None  # namespace/name; None: the design has no ingress
    hosts: frozenset[str]
    entry_host: str | None
    entry_port: int | None
    weighted: bool
    where: str | None = None  # the team's gateway route found, if any
    refused: bool = False
    uris: list[StringMatch] | None = None  # None: every path

    @classmethod
    def of(cls, design: LaneDesign) -> _GatewaySide:
        ingress = design.ingress
        if ingress is None or not ingress.entry:
            return cls(None, frozenset(), None, None, False)
        entry = design.service(ingress.entry)
        return cls("/".join(gateway_key(ingress.gateway, design.namespace)),
                   frozenset(ingress.hosts),
                   service_host(design, ingress.entry),
                   entry.routed_port if entry is not None else None,
                   ingress.strategy == "weighted")

    def _refuse(self, findings: list[Finding], path: str, message: str) -> None:
        findings.append(make("LD958", path, message))
        self.refused = True

    def virtual_service(self, where: str, namespace: str, spec: Mapping[str, Any],
                        findings: list[Finding]) -> None:
        """Read a VirtualService that routes none of the design's service hosts: the team's
        gateway route if it binds the ingress gateway for hosts the ingress serves."""
        gateways = ["/".join(gateway_key(str(g), namespace)) for g in spec.get("gateways") or []]
        hosts = {str(h) for h in spec.get("hosts") or []}
        if self.gateway is None or self.gateway not in gateways or \
                not any(hosts_intersect(x, y) for x in hosts for y in self.hosts):
            return  # another gateway, or other hosts: the lanes' gateway route meets it not
        if self.where is not None:
            self._refuse(findings, where, f"a second team gateway route for the ingress hosts "
                         f"(the first: {self.where})")
            return
        self.where = where
        if hosts != self.hosts:
            self._refuse(findings, f"{where}: spec.hosts", f"serves {', '.join(sorted(hosts))}"
                         f"; the ingress serves {', '.join(sorted(self.hosts))}")
        if len(gateways) > 1:
            self._refuse(findings, f"{where}: spec.gateways", f"binds {', '.join(gateways)}; "
                         "the ingress binds one gateway")
        if self.weighted:
            self._refuse(findings, where, "the ingress is weighted: its default would send "
                         "every other path somewhere")
        export = spec.get("exportTo")
        for key in sorted(set(spec) - {"hosts", "gateways", "http"}):
            if key != "exportTo" or list(export or ["*"]) != ["*"]:
                self._refuse(findings, f"{where}: spec.{key}", f"`{key}` is not kept by the "
                             "ingress")
        self.uris = self._paths(where, namespace, spec.get("http") or [], findings)

    def _paths(self, where: str, namespace: str, http: list, findings: list[Finding],
               ) -> list[StringMatch] | None:
        if not http:
            self._refuse(findings, f"{where}: spec.http", "no HTTP routes")
        uris: list[StringMatch] = []
        for i, raw in enumerate(http):
            path = f"{where}: spec.http[{i}]"
            for key in sorted(set(raw) - {"name", "match", "route"}):
                self._refuse(findings, f"{path}.{key}", f"`{key}`: the ingress keeps no route "
                             "settings, redirects or delegation")
            self._destination(path, namespace, raw.get("route") or [], findings)
            blocks = raw.get("match") or [{}]
            for k, block in enumerate(blocks):
                for key in sorted(set(block) - {"uri", "name"}):
                    self._refuse(findings, f"{path}.match[{k}].{key}", f"matches on `{key}`; "
                                 "the team's gateway route is kept by its paths only")
                uri = block.get("uri")
                kinds = [kind for kind in MATCH_KINDS if kind in (uri or {})]
                if uri is not None and (len(kinds) != 1 or set(uri) - set(MATCH_KINDS)):
                    self._refuse(findings, f"{path}.match[{k}].uri", f"the condition {uri}")
                    continue
                found = StringMatch(kinds[0], str(uri[kinds[0]])) if uri else None
                if found is None or RequestMatch(uri=found).is_catch_all:
                    return None  # every path: Istio never reaches a route after it
                uris.append(found)
        return uris

    def _destination(self, path: str, namespace: str, route: list,
                     findings: list[Finding]) -> None:
        if len(route) != 1:
            self._refuse(findings, f"{path}.route", f"{len(route)} destinations; the ingress "
                         "sends to its entry service alone")
            return
        item = route[0]
        dest = item.get("destination") or {}
        host = resolve_host(str(dest.get("host", "")), namespace)
        port = (dest.get("port") or {}).get("number")
        extra = sorted(set(item) - {"destination", "weight"})
        why = None
        if host != self.entry_host:
            why = f"sends to {host}, not the entry {self.entry_host}"
        elif "subset" in dest:
            why = f"names subset {dest['subset']}: the lanes pick the entry's subset"
        elif port is not None and port != self.entry_port:
            why = f"port {port}; the ingress sends to port {self.entry_port}"
        elif extra:
            why = f"`{extra[0]}` on the destination"
        if why:
            self._refuse(findings, f"{path}.route[0]", why)

    def into(self, design: LaneDesign, findings: list[Finding],
             ) -> tuple[LaneDesign, str | None]:
        """``design`` with its ingress keeping the team's paths, and the route read (None
        when there was none or it was refused)."""
        if self.where is None or self.refused:
            return design, None
        if self.uris is None:
            findings.append(make("LD959", self.where, "the team's gateway route sends every "
                                 "path to the entry: the ingress routes them as it is"))
            return design, self.where
        uri = paths_regex(self.uris)
        tested = [(i, r) for i, r in enumerate(design.effective_rules)
                  if r.match is not None and r.match.uri not in (None, uri)]
        if tested:
            i, rule = tested[0]
            findings.append(make("LD958", f"spec.ingress.rules[{i}].match.uri", f"the rule "
                                 f"into lane {rule.lane} tests another path than the team's "
                                 f"gateway route {self.where}"))
            return design, None
        if all(r.match is not None and r.match.uri == uri for r in design.effective_rules) \
                and design.ingress is not None and design.ingress.default is None:
            adopted = design  # read before: nothing changes
        else:
            adopted = design.with_ingress_path(uri)
        findings.append(make("LD959", self.where, f"the ingress rules keep the team's paths "
                             f"({uri.kind} {uri.value}); other paths get 404 as before"))
        return adopted, self.where
