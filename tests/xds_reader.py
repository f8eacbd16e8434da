"""A reading of the Envoy configuration Istio generated (the xdsdump program's output).

Written from Envoy's documented route semantics, importing nothing from lanedesign: given
what one proxy received (route configurations, HTTP filter chains, cluster endpoints) it
says what that proxy does with one request - which virtual host and route, which clusters
with which share, which request headers change, which Lua filters run before the router -
and maps a cluster's endpoints back to the pods behind them. Anything it does not know is an
error, never silently skipped, so Istio cannot produce a field this reading ignores.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import re2
from http_headers import Headers, joined
from istio_interpreter import run_lua

ROUTER = "envoy.filters.http.router"
LUA_TYPE = "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua"
# Istio's own HTTP filters: none of them changes a request header the lanes route on.
KNOWN_FILTERS = {
    "istio.metadata_exchange", "envoy.filters.http.grpc_stats", "envoy.filters.http.fault",
    "envoy.filters.http.cors", "istio.stats", "istio.alpn", "envoy.filters.http.grpc_web",
    "envoy.filters.http.peer_metadata", "istio.peer_metadata",
}


class XdsError(Exception):
    """The configuration holds something this reading does not know, or breaks Envoy's rules."""


def _one_of(spec: Mapping, kinds: Iterable[str], what: str) -> tuple[str, object]:
    found = [(k, spec[k]) for k in kinds if k in spec]
    if len(found) != 1:
        raise XdsError(f"{what}: expected one of {sorted(kinds)}, got {dict(spec)}")
    return found[0]


# -- matching (envoy.config.route.v3.RouteMatch, type.matcher.v3.StringMatcher) ------------
def string_matcher(spec: Mapping, value: str) -> bool:
    unknown = set(spec) - {"exact", "prefix", "suffix", "contains", "safe_regex", "ignore_case"}
    if unknown:
        raise XdsError(f"StringMatcher fields this reading does not know: {sorted(unknown)}")
    kind, expected = _one_of(spec, ("exact", "prefix", "suffix", "contains", "safe_regex"),
                             "StringMatcher")
    fold = spec.get("ignore_case", False)
    if kind == "safe_regex":
        return re2.fullmatch(expected["regex"], value) is not None  # whole value (RE2)
    got, want = (value.lower(), str(expected).lower()) if fold else (value, str(expected))
    return {"exact": got == want, "prefix": got.startswith(want), "suffix": got.endswith(want),
            "contains": want in got}[kind]


def header_matcher(spec: Mapping, headers: Headers) -> bool:
    """One HeaderMatcher: every value of the header joined with ',' (Envoy's rule)."""
    unknown = set(spec) - {"name", "string_match", "present_match", "invert_match",
                           "treat_missing_header_as_empty"}
    if unknown:
        raise XdsError(f"HeaderMatcher fields this reading does not know: {sorted(unknown)}")
    value = joined(headers, spec["name"])
    if "present_match" in spec:
        result = (value is not None) == spec["present_match"]
    elif "string_match" in spec:
        if value is None and spec.get("treat_missing_header_as_empty"):
            value = ""
        result = value is not None and string_matcher(spec["string_match"], value)
    else:
        raise XdsError(f"a HeaderMatcher without a match: {dict(spec)}")
    return result != spec.get("invert_match", False)


def route_match(spec: Mapping, path: str, headers: Headers) -> bool:
    unknown = set(spec) - {"prefix", "path", "safe_regex", "path_separated_prefix", "headers",
                           "case_sensitive"}
    if unknown:
        raise XdsError(f"RouteMatch fields this reading does not know: {sorted(unknown)}")
    kind, expected = _one_of(spec, ("prefix", "path", "safe_regex", "path_separated_prefix"),
                             "RouteMatch path")
    fold = spec.get("case_sensitive", True) is False
    got = path.lower() if fold else path
    want = expected.lower() if fold and isinstance(expected, str) else expected
    if kind == "prefix":
        ok = got.startswith(want)
    elif kind == "path":
        ok = got == want
    elif kind == "path_separated_prefix":
        ok = got == want or got.startswith(want + "/")
    else:
        ok = re2.fullmatch(expected["regex"], path) is not None
    return ok and all(header_matcher(h, headers) for h in spec.get("headers", []))


def domain_matches(domain: str, host: str) -> int:
    """How well a virtual host's domain matches ``host``: 0 none; higher is more specific.

    Envoy's order: exact, then the longest ``*.suffix``, then the longest ``prefix*``, then
    ``*``.
    """
    domain, host = domain.lower(), host.lower()
    if domain == host:
        return 4_000_000
    if domain == "*":
        return 1
    if domain.startswith("*") and host.endswith(domain[1:]) and len(host) > len(domain) - 1:
        return 3_000_000 + len(domain)
    if domain.endswith("*") and host.startswith(domain[:-1]) and len(host) > len(domain) - 1:
        return 2_000_000 + len(domain)
    return 0


# -- header operations -----------------------------------------------------------------------
def apply_header_ops(headers: Headers, spec: Mapping) -> Headers:
    """``request_headers_to_remove`` then ``request_headers_to_add`` of one level."""
    unknown = set(spec) & {"response_headers_to_add", "response_headers_to_remove"}
    out = {k: list(v) for k, v in headers.items()}
    for name in spec.get("request_headers_to_remove", []):
        out.pop(name.lower(), None)
    for option in spec.get("request_headers_to_add", []):
        extra = set(option) - {"header", "append_action", "keep_empty_value", "append"}
        if extra:
            raise XdsError(f"HeaderValueOption fields this reading does not know: {extra}")
        name, value = option["header"]["key"].lower(), option["header"].get("value", "")
        if "%" in value.replace("%%", ""):
            raise XdsError(f"a header value with an Envoy formatter: {value!r}")
        value = value.replace("%%", "%")
        action = option.get("append_action", "APPEND_IF_EXISTS_OR_ADD")
        if action == "OVERWRITE_IF_EXISTS_OR_ADD":
            out[name] = [value]
        elif action == "APPEND_IF_EXISTS_OR_ADD":
            out.setdefault(name, []).append(value)
        elif action == "ADD_IF_ABSENT":
            out.setdefault(name, [value])
        elif action == "OVERWRITE_IF_EXISTS":
            if name in out:
                out[name] = [value]
        else:
            raise XdsError(f"unknown append_action {action}")
    del unknown  # response headers do not change where a request goes
    return out


@dataclass(frozen=True)
class Cluster:
    """One destination of a route: the cluster and the headers it is sent with."""

    name: str
    share: float
    headers: Headers

    @property
    def parts(self) -> tuple[str, int, str, str]:
        """``outbound|port|subset|host`` split into (direction, port, subset, host)."""
        direction, port, subset, host = self.name.split("|")
        return direction, int(port), subset, host


FAULT_FILTER = "envoy.filters.http.fault"


@dataclass(frozen=True)
class Routed:
    status: int  # 200: a route to clusters; 404: no virtual host or route (NR)
    route: str | None = None
    clusters: tuple[Cluster, ...] = ()
    fault: Mapping | None = None  # the route's fault filter config (HTTPFault), if any


# -- one proxy -------------------------------------------------------------------------------
@dataclass
class Proxy:
    """What one proxy received from Istio (one entry of the dump's ``proxies``)."""

    name: str
    dump: Mapping

    def route_configuration(self, name: str) -> dict:
        found = [r for r in self.dump["routes"] if r["name"] == name]
        if len(found) != 1:
            raise XdsError(f"{self.name}: {len(found)} route configurations named {name!r} "
                           f"(has {[r['name'] for r in self.dump['routes']]})")
        return found[0]

    def route(self, config: str, host: str, path: str, headers: Headers) -> Routed:
        """Envoy's choice: the best virtual host for ``host``, its first matching route."""
        rc = self.route_configuration(config)
        best, score = None, 0
        for vh in rc.get("virtual_hosts", []):
            s = max((domain_matches(d, host) for d in vh["domains"]), default=0)
            if s > score:
                best, score = vh, s
        if best is None:
            return Routed(404)
        for route in best.get("routes", []):
            if not route_match(route["match"], path, headers):
                continue
            if "route" not in route:
                raise XdsError(f"{self.name}: a route that does not forward: {route}")
            fault = (route.get("typed_per_filter_config") or {}).get(FAULT_FILTER)
            return Routed(200, route.get("name"), self._clusters(rc, best, route, headers),
                          fault)
        return Routed(404)

    def _clusters(self, rc: Mapping, vh: Mapping, route: Mapping,
                  headers: Headers) -> tuple[Cluster, ...]:
        action = route["route"]
        # Envoy applies the most specific level last: weighted cluster, route, virtual host,
        # route configuration (unless most_specific_header_mutations_wins is set)
        if rc.get("most_specific_header_mutations_wins"):
            raise XdsError("most_specific_header_mutations_wins is not read here")
        outer = (rc, vh, route)
        if "cluster" in action:
            forwarded = headers
            for level in reversed(outer):
                forwarded = apply_header_ops(forwarded, level)
            return (Cluster(action["cluster"], 1.0, forwarded),)
        if "weighted_clusters" in action:
            entries = action["weighted_clusters"]["clusters"]
            total = sum(e.get("weight", 0) for e in entries)
            if total <= 0:
                raise XdsError(f"weighted clusters with total weight {total}")
            out = []
            for entry in entries:
                forwarded = apply_header_ops(headers, entry)
                for level in reversed(outer):
                    forwarded = apply_header_ops(forwarded, level)
                if entry.get("weight", 0) > 0:
                    out.append(Cluster(entry["name"], entry["weight"] / total, forwarded))
            return tuple(out)
        raise XdsError(f"a route action this reading does not know: {sorted(action)}")

    def http_filters(self, direction: str, port: int | None = None) -> list[list[dict]]:
        """The HTTP filter lists of the HCM chains in this proxy's listeners of ``direction``.

        ``port`` keeps only the outbound listener ``0.0.0.0_<port>`` (a sidecar's listener for
        calls to that port), or, inbound, the chains that serve that port.
        """
        out = []
        for listener in self.dump["listeners"]:
            if listener["direction"] != direction:
                continue
            if direction == "OUTBOUND" and port is not None \
                    and listener["name"] != f"0.0.0.0_{port}":
                continue
            for chain in listener.get("chains") or []:
                if "tcpProxy" in chain:  # a TCP proxy: no HTTP filters (``tcp_proxies``)
                    continue
                if direction == "INBOUND" and port is not None \
                        and not chain["name"].endswith(f"_{port}"):
                    continue
                out.append(chain["httpFilters"])
        return out

    def tcp_proxies(self, listener: str) -> list[dict]:
        """The TCP proxies (``envoy.filters.network.tcp_proxy``) of the listener named
        ``listener`` (a sidecar's ``<ClusterIP>_<port>`` for a TCP service): each chain's one
        ``cluster``, or its ``weighted_clusters``."""
        found = [ln for ln in self.dump["listeners"] if ln["name"] == listener]
        if len(found) != 1:
            raise XdsError(f"{self.name}: {len(found)} listeners named {listener!r}")
        out = []
        for chain in found[0].get("chains") or []:
            if "tcpProxy" not in chain:
                continue
            proxy = chain["tcpProxy"]
            unknown = set(proxy) - {"stat_prefix", "cluster", "weighted_clusters",
                                    "access_log", "max_connect_attempts", "idle_timeout",
                                    "metadata_match", "hash_policy"}
            if unknown or "metadata_match" in proxy or "hash_policy" in proxy:
                raise XdsError(f"TcpProxy fields this reading does not know: {sorted(proxy)}")
            out.append(proxy)
        return out

    def endpoints(self, cluster: str) -> list[str]:
        """The IP addresses behind ``cluster`` (EDS)."""
        if cluster not in self.dump["endpoints"]:
            raise XdsError(f"{self.name}: no cluster {cluster!r} (503 NC)")
        return [addr.rsplit(":", 1)[0] for addr in self.dump["endpoints"][cluster]]

    def endpoint_ports(self, cluster: str) -> list[int]:
        """The ports Envoy connects to behind ``cluster`` (the pods' ports, EDS)."""
        self.endpoints(cluster)  # the same checks
        return [int(addr.rsplit(":", 1)[1]) for addr in self.dump["endpoints"][cluster]]


def lua_chain(filters: list[dict]) -> list[str]:
    """The inline Lua of the filters before the router, in chain order; the router must end it.

    Filters this reading does not know are errors: they might change the headers.
    """
    names = [f["name"] for f in filters]
    if ROUTER not in names or names[-1] != ROUTER:
        raise XdsError(f"the router is not the last HTTP filter: {names}")
    sources = []
    for f in filters[:-1]:
        config = f.get("typed_config", {})
        if config.get("@type") == LUA_TYPE:
            sources.append(config["default_source_code"]["inline_string"])
        elif f["name"] not in KNOWN_FILTERS:
            raise XdsError(f"an HTTP filter this reading does not know: {f['name']}")
    return sources


def run_chain(sources: list[str], headers: Headers) -> Headers:
    for source in sources:
        headers = run_lua(source, headers).headers
    return headers


def pods_by_ip(kube_objects: Iterable[Mapping]) -> dict[str, Mapping]:
    """Pod IP -> the Pod object, from the cluster's Kubernetes objects."""
    return {o["status"]["podIP"]: o for o in kube_objects if o["kind"] == "Pod"}
