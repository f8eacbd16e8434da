"""An independent reading of Istio objects: where Envoy would send a request.

Written from Istio's documented semantics (``istio-semantics.md`` §1-5), not from the
emitter: it imports nothing from lanedesign. Given the emitted objects it answers what a
gateway and a sidecar do with one request - which route, which subset, which pods (labels),
which request headers change - and runs EnvoyFilter Lua in LuaJIT against a stand-in of
Envoy's request handle. Anything it does not understand is an error, never silently skipped,
so the emitter cannot produce a field this reading ignores.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field

import re2
from http_headers import Headers, joined
from lupa import luajit21

ROUTER = "envoy.filters.http.router"
HCM = "envoy.filters.network.http_connection_manager"
LUA_TYPE = "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua"


class MeshError(Exception):
    """The objects break a rule Istio enforces or relies on (e.g. two VirtualServices per host)."""




# -- §1.2 string matching -----------------------------------------------------------------
def string_match(spec: Mapping[str, str], value: str | None) -> bool:
    """exact / prefix / regex (RE2, whole value); ``{}`` is a presence match."""
    if len(spec) > 1:
        raise MeshError(f"a StringMatch holds one of exact/prefix/regex, got {dict(spec)}")
    if value is None:
        return False
    if not spec:
        return True
    kind, expected = next(iter(spec.items()))
    if kind == "exact":
        return value == expected
    if kind == "prefix":
        return value.startswith(expected)
    if kind == "regex":
        return re2.fullmatch(expected, value) is not None
    raise MeshError(f"unknown StringMatch kind {kind!r}")


def match_block(block: Mapping, path: str | None, headers: Headers) -> bool:
    """One HTTPMatchRequest: every condition holds (AND). ``path`` None: the caller's path is
    not known (an app's call), so a uri condition does not hold."""
    unknown = set(block) - {"uri", "headers"}
    if unknown:
        raise MeshError(f"match conditions this reading does not know: {sorted(unknown)}")
    if not block:
        raise MeshError("an empty match block (Istio requires omitting `match` instead)")
    if "uri" in block and (path is None or not string_match(block["uri"], path)):
        return False
    return all(string_match(spec, joined(headers, name))
               for name, spec in block.get("headers", {}).items())


def first_route(virtual_service: Mapping, path: str | None, headers: Headers) -> dict | None:
    """The first HTTPRoute whose match holds (any block: OR); no ``match`` matches all."""
    for route in virtual_service["spec"].get("http", []):
        blocks = route.get("match")
        if blocks is None or any(match_block(b, path, headers) for b in blocks):
            return route
    return None


# -- §1.5 header operations ------------------------------------------------------------------
def envoy_value(value: str) -> str:
    """A header-operation value as Envoy sends it (``%%`` is ``%``; a lone ``%`` is refused)."""
    if any((ord(c) < 0x20 and c != "\t") or ord(c) == 0x7F for c in value):
        raise MeshError(f"control character in header value {value!r}")
    parts = value.split("%%")
    if any("%" in part for part in parts):
        raise MeshError(f"a lone % in header value {value!r} (write %%)")
    return "%".join(parts)


def apply_header_ops(headers: Headers, ops: Mapping | None) -> Headers:
    """``headers.request``: ``set`` overwrites, ``add`` appends a line, ``remove`` drops."""
    out = {k: list(v) for k, v in headers.items()}
    request = (ops or {}).get("request", {})
    for name in request.get("remove", []):
        out.pop(name.lower(), None)
    for name, value in request.get("set", {}).items():
        out[name.lower()] = [envoy_value(value)]
    for name, value in request.get("add", {}).items():
        out.setdefault(name.lower(), []).append(envoy_value(value))
    return out


# -- the objects ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Destination:
    host: str
    subset: str | None
    port: int | None
    weight: int | None
    ops: tuple[dict | None, ...]  # route-level, then destination-level header operations

    def forward(self, headers: Headers) -> Headers:
        for ops in self.ops:
            headers = apply_header_ops(headers, ops)
        return headers


# Route fields that do not choose the destination. Envoy applies them on the way (timeouts,
# retries, mirroring, CORS, rewrites); of these the reading acts on `fault` (``Fault``) and
# `headers` (``Destination.forward``), and only checks that nothing else is there.
PASSIVE_ROUTE_FIELDS = {"timeout", "retries", "mirror", "mirrorPercentage", "mirrors",
                        "corsPolicy", "rewrite"}
ROUTE_FIELDS = {"name", "match", "route", "headers", "fault", *PASSIVE_ROUTE_FIELDS}


@dataclass(frozen=True)
class Fault:
    """A route's fault injection (HTTPFaultInjection): a share of requests is delayed or
    aborted; a percentage left out means none (Istio's documented default)."""

    delay: str | None = None
    delay_percent: float = 0.0
    abort: int | None = None
    abort_percent: float = 0.0

    @property
    def aborts_all(self) -> int | None:
        """The status every request gets instead of reaching the app, if all are aborted."""
        return self.abort if self.abort is not None and self.abort_percent >= 100 else None


def read_fault(spec: Mapping | None) -> Fault | None:
    if spec is None:
        return None
    unknown = set(spec) - {"delay", "abort"}
    if unknown:
        raise MeshError(f"fault fields this reading does not know: {sorted(unknown)}")

    def percent(part: Mapping) -> float:
        return float(part.get("percentage", {}).get("value", 0))

    delay, abort = spec.get("delay"), spec.get("abort")
    return Fault(delay=delay["fixedDelay"] if delay else None,
                 delay_percent=percent(delay) if delay else 0.0,
                 abort=abort.get("httpStatus") if abort else None,
                 abort_percent=percent(abort) if abort else 0.0)


@dataclass(frozen=True)
class Routed:
    """The proxy's decision: 404 (no route), or a route and its destinations."""

    status: int
    route: str | None = None
    destinations: tuple[Destination, ...] = ()
    fault: Fault | None = None

    @property
    def shares(self) -> list[tuple[Destination, float]]:
        """Each destination's share of traffic (§1.6: relative weights, zero gets none)."""
        if len(self.destinations) == 1:
            return [(self.destinations[0], 1.0)]
        total = sum(d.weight or 0 for d in self.destinations)
        if total <= 0:
            raise MeshError("several destinations whose weights do not add up to > 0")
        return [(d, d.weight / total) for d in self.destinations if d.weight]


def _routed(route: dict | None) -> Routed:
    if route is None:
        return Routed(404)
    unknown = set(route) - ROUTE_FIELDS
    if unknown:
        raise MeshError(f"route fields this reading does not know: {sorted(unknown)}")
    dests = []
    for r in route["route"]:
        d = r["destination"]
        dests.append(Destination(d["host"], d.get("subset"), d.get("port", {}).get("number"),
                                 r.get("weight"), (route.get("headers"), r.get("headers"))))
    return Routed(200, route.get("name"), tuple(dests), read_fault(route.get("fault")))


def host_matches(pattern: str, host: str) -> bool:
    host = host.split(":", 1)[0].lower()
    if pattern == "*":
        return True
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return pattern == host


@dataclass
class Mesh:
    """The Istio objects of one cluster, read the way the proxies read them."""

    objects: list[dict]
    _by_kind: dict[str, list[dict]] = field(init=False)

    def __post_init__(self) -> None:
        self._by_kind = {}
        for obj in self.objects:
            self._by_kind.setdefault(obj["kind"], []).append(obj)

    def of_kind(self, kind: str) -> list[dict]:
        return self._by_kind.get(kind, [])

    # §1.7 and §3: which VirtualService applies where
    def _gateways(self, vs: dict) -> list[str]:
        namespace = vs["metadata"]["namespace"]
        names = vs["spec"].get("gateways") or ["mesh"]
        return [g if g == "mesh" or "/" in g else f"{namespace}/{g}" for g in names]

    def mesh_virtual_service(self, host: str) -> dict | None:
        """The one sidecar VirtualService for ``host``; two would conflict (IST0109)."""
        found = [vs for vs in self.of_kind("VirtualService")
                 if "mesh" in self._gateways(vs) and host in vs["spec"]["hosts"]]
        if len(found) > 1:
            raise MeshError(f"{len(found)} mesh VirtualServices claim {host}")
        return found[0] if found else None

    def gateway_virtual_service(self, gateway: str, host: str) -> dict | None:
        found = [vs for vs in self.of_kind("VirtualService")
                 if gateway in self._gateways(vs)
                 and any(host_matches(h, host) for h in vs["spec"]["hosts"])]
        if len(found) > 1:  # fragments would merge with undefined order across objects
            raise MeshError(f"{len(found)} VirtualServices for {host} at {gateway}")
        return found[0] if found else None

    def subset_labels(self, host: str, subset: str | None) -> dict[str, str] | None:
        """The pod labels a (host, subset) destination selects; None when undefined (503 NC)."""
        rules = [dr for dr in self.of_kind("DestinationRule") if dr["spec"]["host"] == host]
        if subset is None:
            return {}
        for rule in rules:  # the first definition of a subset wins (§3)
            for s in rule["spec"].get("subsets", []):
                if s["name"] == subset:
                    return dict(s.get("labels", {}))
        return None

    # §4: the two kinds of proxy
    def gateway(self, gateway: str, host: str, path: str, headers: Headers) -> Routed:
        vs = self.gateway_virtual_service(gateway, host)
        if vs is None:
            return Routed(404)
        return _routed(first_route(vs, path.split("?", 1)[0], headers))

    def sidecar(self, host: str, headers: Headers, path: str | None = "/") -> Routed:
        vs = self.mesh_virtual_service(host)
        if vs is None:  # no VirtualService: Istio's default route, every pod of the service
            return Routed(200, None, (Destination(host, None, None, None, ()),))
        return _routed(first_route(vs, path, headers))

    # §5: EnvoyFilter Lua before the router
    def lua_sources(self, context: str) -> list[str]:
        """Inline Lua inserted before the router for ``context`` (SIDECAR_OUTBOUND, GATEWAY)."""
        sources = []
        for ef in self.of_kind("EnvoyFilter"):
            for patch in ef["spec"]["configPatches"]:
                if patch["match"].get("context", "ANY") not in (context, "ANY"):
                    continue
                listener = patch["match"]["listener"]["filterChain"]["filter"]
                if (patch["applyTo"], listener["name"], listener["subFilter"]["name"],
                        patch["patch"]["operation"]) != ("HTTP_FILTER", HCM, ROUTER,
                                                         "INSERT_BEFORE"):
                    raise MeshError(f"an EnvoyFilter patch this reading does not know: {patch}")
                config = patch["patch"]["value"]["typed_config"]
                if config["@type"] != LUA_TYPE:
                    raise MeshError(f"not a Lua filter: {config['@type']}")
                sources.append(config["default_source_code"]["inline_string"])
        return sources

    def run_filters(self, context: str, headers: Headers) -> Headers:
        for source in self.lua_sources(context):
            headers = run_lua(source, headers).headers
        return headers


# -- Envoy's Lua request handle, in LuaJIT ---------------------------------------------------
# A stand-in for the parts of Envoy's API the filters use: headers():get/replace/add/remove.
# get joins every value of a header with "," (as Envoy does); names are lowercased.
_HANDLE = r"""
return function(lines, calls)
  local headers = {}
  function headers:get(name)
    local values = lines[string.lower(name)]
    if values == nil or #values == 0 then return nil end
    return table.concat(values, ",")
  end
  function headers:replace(name, value)
    calls[#calls + 1] = "replace " .. name
    lines[string.lower(name)] = {value}
  end
  function headers:add(name, value)
    calls[#calls + 1] = "add " .. name
    local key = string.lower(name)
    lines[key] = lines[key] or {}
    table.insert(lines[key], value)
  end
  function headers:remove(name)
    calls[#calls + 1] = "remove " .. name
    lines[string.lower(name)] = nil
  end
  local handle = {}
  function handle:headers() return headers end
  return handle
end
"""


@dataclass(frozen=True)
class LuaRun:
    headers: Headers
    calls: tuple[str, ...]  # the header changes the script made, e.g. "replace x-lane"


@functools.lru_cache(maxsize=32)
def _lua(source: str) -> tuple:
    runtime = luajit21.LuaRuntime(unpack_returned_tuples=True, register_eval=False)
    runtime.execute(source)
    on_request = runtime.globals().envoy_on_request
    if on_request is None:
        raise MeshError("the Lua source defines no envoy_on_request")
    return runtime, on_request, runtime.execute(_HANDLE)


def run_lua(source: str, headers: Headers) -> LuaRun:
    """Run a filter's ``envoy_on_request`` on a copy of ``headers``."""
    runtime, on_request, make_handle = _lua(source)
    lines = runtime.table_from({k: runtime.table_from(v) for k, v in headers.items()})
    calls = runtime.table()
    on_request(make_handle(lines, calls))
    out = {k: [str(x) for x in v.values()] for k, v in lines.items()}
    return LuaRun({k: v for k, v in out.items() if v}, tuple(calls.values()))


def fqdn(service: str, namespace: str) -> str:
    """A Kubernetes Service's cluster host name (written here, not taken from lanedesign)."""
    return f"{service}.{namespace}.svc.cluster.local"
