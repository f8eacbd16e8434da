"""Adopting a team's Istio routing: their VirtualServices and DestinationRules for the hosts a
design routes, read into each service's ``routing`` (docs/istio.md, "A team's routing").

Nothing is changed silently: what one service's routing cannot hold exactly is a coded
finding (LD950-LD957), and a service with an error keeps the routing it had.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
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
from .common import CLUSTER_DOMAIN, MANAGED_BY, MANAGER, service_host

# HTTPMatchRequest fields a RequestMatch cannot hold (LD954); `name` only labels a match.
_MATCH_KEPT = {"uri", "headers", "name"}
_ROUTE_KEPT = {"name", "match", "route", *ROUTE_SETTINGS}
_DR_KEPT = {"host", "trafficPolicy", "subsets", "exportTo"}
_VS_KEPT = {"hosts", "gateways", "http", "exportTo"}


def adopt_routing(design: LaneDesign, objects: Sequence[Mapping[str, Any]],
                  ) -> tuple[LaneDesign, list[Finding]]:
    """``design`` with each service's routing read from its team's objects, and findings.

    Objects lanedesign manages are skipped; so are objects for hosts the design does not
    route. Short hosts (``reviews``) are read in the object's namespace, as Istio does.
    """
    hosts = {service_host(design, s.name): s.name for s in design.services}
    reader = _Reader(hosts)
    for obj in objects:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        if labels.get(MANAGED_BY) == MANAGER:
            continue
        if obj.get("kind") == "DestinationRule":
            reader.destination_rule(obj)
        elif obj.get("kind") == "VirtualService":
            reader.virtual_service(obj)
    for name, routing in reader.routings().items():
        if name in reader.refused:
            continue
        svc = design.service(name)
        assert svc is not None
        design = design.with_service(replace(svc, routing=routing))
    return design, reader.findings


def fqdn(host: str, namespace: str) -> str:
    """A host as Istio resolves it in ``namespace``: ``reviews`` -> ``reviews.<ns>.svc...``."""
    suffix = f".svc.{CLUSTER_DOMAIN.split('.', 1)[1]}"
    if host.endswith(CLUSTER_DOMAIN) or "*" in host:
        return host
    parts = host.split(".")
    if len(parts) == 1:
        return f"{host}.{namespace}{suffix}"
    if len(parts) == 2:
        return f"{host}{suffix}"
    if len(parts) == 3 and parts[2] == "svc":
        return f"{host}.{CLUSTER_DOMAIN.split('.', 1)[1]}"
    return host


class _Reader:
    def __init__(self, hosts: dict[str, str]) -> None:
        self.hosts = hosts
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
        host = fqdn(str(spec.get("host", "")), meta.get("namespace") or "default")
        service = self.hosts.get(host)
        if service is None:
            return
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
        hosts = [fqdn(str(h), namespace) for h in spec.get("hosts") or []]
        mine = [self.hosts[h] for h in hosts if h in self.hosts]
        if not mine:
            return  # another host, or a gateway's `*`: not a service of the design
        service = mine[0]
        gateways = spec.get("gateways") or ["mesh"]
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
            to = fqdn(str(dest.get("host", "")), vs["namespace"])
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

