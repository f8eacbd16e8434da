"""Routing objects of other owners for the hosts a lane group routes, and what Istio does.

A real mesh already routes: a team's VirtualServices, DestinationRules and HTTPRoutes for the
services a design touches. Istio does not stack them with lanedesign's (istio-semantics.md
§3, read from pilot's source):

- **mesh VirtualServices**: a sidecar keeps one per host. It walks them in the order
  ``SelectVirtualServices`` gives (those exported only to the client's namespace, then those
  exported to it by name, then the public ones; each by ``creationTimestamp``, then name,
  then namespace) and drops every later one for a host it has built (``pilot_vservice_dup_
  domain``, istioctl IST0109). A short host (``reviews``) means ``reviews.<the object's
  namespace>.svc.cluster.local`` (``ResolveShortnameToFQDN``); a host with a dot is taken as
  written, so ``reviews.default`` names no Service.
- **DestinationRules** of one host in one namespace with the same ``exportTo`` are merged, in
  the same age order: the first rule's subsets stay, a later rule adds the subsets whose names
  are new (a repeated name is dropped, whatever its labels), and the first top-level
  ``trafficPolicy`` wins. Rules in different namespaces are not merged: a proxy looks in its
  own namespace first, then the service's, then the root namespace.
- **a Gateway's VirtualServices** for one host are merged: their routes in age order, every
  catch-all moved to the end, where only the first one can match.
- **HTTPRoutes** on one parent (a Service or a Gateway) are merged by the Gateway API's
  precedence: the more specific match first, a tie to the older route (``creationTimestamp``,
  then namespace, then name). Istio turns an HTTPRoute on a Service into a mesh route for its
  host, so next to a mesh VirtualService for that host one of the two is dropped as above.

``find_overlaps`` reads the cluster once per kind and says, for each foreign object, which
object Istio keeps and what is lost, as a coded finding (LD900-LD919).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..emit.common import gateway_key, hosts_intersect, resolve_host, service_fqdn
from ..findings import Finding, make
from ..model import LaneDesign
from .client import Cluster, ObjectRef, Resource
from .errors import ApiError

ISTIO_GROUP = "networking.istio.io"
GATEWAY_API_GROUP = "gateway.networking.k8s.io"
# versions tried in turn for the kinds lanedesign reads but may not emit (newest first)
_ISTIO_VERSIONS = ("v1", "v1beta1", "v1alpha3")
_GATEWAY_API_VERSIONS = ("v1", "v1beta1")
_NEVER = "9999-12-31T23:59:59Z"  # the creationTimestamp of an object not created yet

CODES = {"mesh-vs": "LD900", "dr-merged": "LD901", "dr-clash": "LD902",
         "service-route": "LD903", "gateway-vs": "LD904", "gateway-route": "LD905"}


@dataclass(frozen=True)
class Overlap:
    """A foreign object routing a host the lane group routes: what Istio keeps, what is lost."""

    foreign: ObjectRef
    ours: ObjectRef
    host: str
    kept: str  # the object Istio keeps ("ObjectKind ns/name"), or "merged"
    lost: tuple[str, ...]  # what stops working, in words
    finding: Finding = field(compare=False)
    # the foreign object as listed: what `apply --adopt` reads, records and deletes
    live: dict = field(default_factory=dict, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"foreign": self.foreign.to_dict(), "ours": self.ours.to_dict(),
                "host": self.host, "kept": self.kept, "lost": list(self.lost),
                "code": self.finding.code, "severity": self.finding.severity}


@dataclass(frozen=True)
class _Ours:
    """What the lane group's objects route: service hosts, gateway (ns/name) -> hosts."""

    mesh: dict[str, dict]  # FQDN -> our object routing it for sidecars (VS or HTTPRoute)
    rules: dict[str, dict]  # FQDN -> our DestinationRule
    # (API group, namespace, name) of a gateway -> (our object bound to it, its hosts): an
    # Istio Gateway and a Gateway API Gateway of one name are two gateways (two proxies)
    gateways: dict[tuple[str, str, str], tuple[dict, tuple[str, ...]]]


def find_overlaps(cluster: Cluster, objects: Sequence[dict], group: str,
                  live: dict[ObjectRef, dict | None] | None = None,
                  design: LaneDesign | None = None,
                  owner: Callable[[dict], str | None] = lambda obj: None,
                  ) -> tuple[list[Overlap], list[Finding]]:
    """Foreign objects overlapping ``objects`` (lane group ``group``), and other findings
    (a missing ingress Gateway, kinds that could not be read). ``live`` holds the live
    versions of ``objects`` (their age decides); ``design`` names paths into the design;
    ``owner`` is the ownership rule (``plan.owner_group``): objects of ``group`` are ours."""
    live = live or {}
    ours = _ours(objects)
    namespaces = sorted({ns for o in objects if (ns := o["metadata"].get("namespace"))})
    paths = _Paths(design)
    overlaps: list[Overlap] = []
    notes: list[Finding] = []

    def read(group_name: str, versions: Sequence[str], kind: str) -> list[dict]:
        res = _served(cluster, group_name, versions, kind)
        if res is None:
            return []
        try:
            items = _list(cluster, res, namespaces)
        except ApiError as exc:
            notes.append(make("LD909", "", f"could not list {kind}s ({exc.status} "
                              f"{exc.reason}); overlaps with them were not checked"))
            return []
        return [o for o in items if owner(o) != group]

    age = _Age(live)
    if ours.mesh or ours.gateways:
        for vs in read(ISTIO_GROUP, _ISTIO_VERSIONS, "VirtualService"):
            overlaps += _virtual_service(vs, ours, age, paths)
    if ours.rules:
        for dr in read(ISTIO_GROUP, _ISTIO_VERSIONS, "DestinationRule"):
            overlaps += _destination_rule(dr, ours, age, paths)
    if ours.mesh or ours.gateways:
        for route in read(GATEWAY_API_GROUP, _GATEWAY_API_VERSIONS, "HTTPRoute"):
            overlaps += _http_route(route, ours, age, paths)
    notes += _missing_gateways(cluster, objects, paths)
    return sorted(overlaps, key=lambda o: (o.host, o.foreign)), notes


# -- what the lane group routes ------------------------------------------------------------------
def _ours(objects: Iterable[dict]) -> _Ours:
    mesh: dict[str, dict] = {}
    rules: dict[str, dict] = {}
    gateways: dict[tuple[str, str, str], tuple[dict, tuple[str, ...]]] = {}
    for obj in objects:
        kind, ns, spec = obj["kind"], obj["metadata"].get("namespace") or "", obj.get("spec") or {}
        if kind == "VirtualService":
            hosts = [resolve_host(h, ns) for h in spec.get("hosts") or []]
            bound = spec.get("gateways") or ["mesh"]
            if "mesh" in bound:
                mesh.update({h: obj for h in hosts})
            for gw in bound:
                if gw != "mesh":
                    gateways[(ISTIO_GROUP, *gateway_key(gw, ns))] = (
                        obj, tuple(spec.get("hosts") or ()))
        elif kind == "DestinationRule":
            rules[resolve_host(spec.get("host", ""), ns)] = obj
        elif kind == "HTTPRoute":
            for parent in spec.get("parentRefs") or []:
                pns = parent.get("namespace") or ns
                if parent.get("kind") == "Service":
                    mesh[service_fqdn(parent.get("name", ""), pns)] = obj
                elif parent.get("kind", "Gateway") == "Gateway":
                    gateways[(GATEWAY_API_GROUP, pns, parent.get("name", ""))] = (
                        obj, tuple(spec.get("hostnames") or ("*",)))
    return _Ours(mesh, rules, gateways)


def _host_matches(service_host: str, pattern: str) -> bool:
    """Does a (possibly wildcard) VirtualService host cover the service's FQDN?"""
    if pattern == "*":
        return True
    if pattern.startswith("*."):
        return service_host.endswith(pattern[1:])
    return service_host == pattern


# -- reading the cluster ---------------------------------------------------------------------------
def _served(cluster: Cluster, group: str, versions: Sequence[str], kind: str) -> Resource | None:
    for version in versions:
        res = cluster.resource(f"{group}/{version}", kind)
        if res is not None:
            return res
    return None


def _list(cluster: Cluster, res: Resource, namespaces: Sequence[str]) -> list[dict]:
    try:
        return cluster.list(res)
    except ApiError as exc:
        # RBAC often grants namespaces, not the cluster: the design's namespaces then
        if exc.status != 403 or not namespaces:
            raise
        found = []
        for namespace in namespaces:
            found += cluster.list(res, namespace)
        return found


class _Age:
    """Istio's order of configs: ``creationTimestamp``, then name, then namespace (Gateway
    API routes: timestamp, namespace, name). Objects not created yet sort last."""

    def __init__(self, live: dict[ObjectRef, dict | None]) -> None:
        self._live = live

    def created(self, obj: dict) -> str:
        ref = ObjectRef.of(obj)
        found = self._live.get(ref, obj if obj.get("metadata", {}).get("uid") else None)
        stamp = ((found or {}).get("metadata") or {}).get("creationTimestamp")
        return stamp or _NEVER

    def istio(self, obj: dict) -> tuple[str, str, str]:
        meta = obj["metadata"]
        return self.created(obj), meta.get("name", ""), meta.get("namespace") or ""

    def gateway_api(self, obj: dict) -> tuple[str, str, str]:
        meta = obj["metadata"]
        return self.created(obj), meta.get("namespace") or "", meta.get("name", "")

    def when(self, obj: dict) -> str:
        stamp = self.created(obj)
        return "not created yet" if stamp == _NEVER else f"created {stamp}"


class _Paths:
    """Where an overlap points in the design file."""

    def __init__(self, design: LaneDesign | None) -> None:
        self._services: dict[str, int] = {}
        if design is not None:
            for i, svc in enumerate(design.services):
                host = service_fqdn(svc.name, design.namespace_of(svc.name))
                self._services.setdefault(host, i)

    def service(self, host: str) -> str:
        index = self._services.get(host)
        return f"spec.services[{index}]" if index is not None else "spec.services"


def _ref(obj: dict) -> str:
    return str(ObjectRef.of(obj))


# -- mesh and gateway VirtualServices --------------------------------------------------------------
def _virtual_service(vs: dict, ours: _Ours, age: _Age, paths: _Paths) -> list[Overlap]:
    ns = vs["metadata"].get("namespace") or ""
    spec = vs.get("spec") or {}
    hosts = spec.get("hosts") or []
    if not hosts:  # a delegate: it routes only where a root VirtualService sends it
        return []
    bound = spec.get("gateways") or ["mesh"]
    found: list[Overlap] = []
    if "mesh" in bound:
        resolved = [resolve_host(h, ns) for h in hosts]
        for host, obj in ours.mesh.items():
            if any(_host_matches(host, h) for h in resolved):
                found.append(_mesh_overlap(vs, obj, host, age, paths))
    for gw in bound:
        if gw == "mesh":
            continue
        key = gateway_key(gw, ns)
        if (ISTIO_GROUP, *key) not in ours.gateways:
            continue
        obj, our_hosts = ours.gateways[(ISTIO_GROUP, *key)]
        common = sorted({h for h in hosts for o in our_hosts if hosts_intersect(h, o)})
        if common:
            found.append(_gateway_vs_overlap(vs, obj, key, common, age))
    return found


def _export_note(vs: dict) -> tuple[str, set[str]]:
    """How ``exportTo`` changes the order: namespaces whose sidecars see this object first."""
    export = (vs.get("spec") or {}).get("exportTo") or []
    ns = vs["metadata"].get("namespace") or ""
    if not export or "*" in export:
        return "", set()
    if "~" in export:
        return " (exportTo ~: no proxy sees it)", set()
    first = {ns if e == "." else e for e in export}
    return (f" (exportTo {', '.join(sorted(first))}: sidecars there take it before every "
            "public VirtualService, whatever its age; no other sidecar sees it)"), first


def _mesh_overlap(vs: dict, ours: dict, host: str, age: _Age, paths: _Paths) -> Overlap:
    theirs_first = age.istio(vs) < age.istio(ours)
    note, private_to = _export_note(vs)
    team = describe_virtual_service(vs, host)
    lanes = f"the lane routes of {_ref(ours)}"
    if "~" in ((vs.get("spec") or {}).get("exportTo") or []):
        return _overlap("mesh-vs", vs, ours, host, _ref(ours), (),
                        f"{_ref(vs)} also routes {host}{note}; nothing is lost", paths)
    if private_to:
        kept = f"{_ref(vs)} for sidecars in {', '.join(sorted(private_to))}, else {_ref(ours)}"
        lost = (f"{lanes} for callers in {', '.join(sorted(private_to))}",)
    elif theirs_first:
        kept, lost = _ref(vs), (lanes,)
    else:
        kept, lost = _ref(ours), (f"{_ref(vs)}: {team}",)
    message = (f"{_ref(vs)} ({age.when(vs)}) also routes {host} for sidecars{note}; "
               f"sidecars keep one VirtualService per host, the oldest: {kept} "
               f"({_ref(ours)} is {age.when(ours)}). Lost: {'; '.join(lost)}. "
               f"The team's object has: {team}")
    return _overlap("mesh-vs", vs, ours, host, kept, lost, message, paths)


def _gateway_vs_overlap(vs: dict, ours: dict, gateway: tuple[str, str], hosts: list[str],
                        age: _Age) -> Overlap:
    theirs_first = age.istio(vs) < age.istio(ours)
    first, later = (vs, ours) if theirs_first else (ours, vs)
    theirs_all = _has_catch_all(vs)
    ours_all = _has_catch_all(ours)
    lost = []
    if theirs_first:
        lost.append(f"the lane routes of {_ref(ours)} for requests that a route of "
                    f"{_ref(vs)} matches first")
    else:
        lost.append(f"the routes of {_ref(vs)} for requests a lane route matches first")
    if theirs_all and ours_all:
        dropped = later
        lost.append(f"the catch-all route of {_ref(dropped)} (only the first catch-all, of "
                    f"{_ref(first)}, can match)")
    gw = "/".join(gateway)
    message = (f"{_ref(vs)} ({age.when(vs)}) is bound to the design's gateway {gw} for "
               f"{', '.join(hosts)}; a gateway merges the VirtualServices of a host, routes in "
               f"age order ({_ref(first)} first), catch-alls moved last. Lost: "
               f"{'; '.join(lost)}. The team's object has: {describe_virtual_service(vs)}")
    return _overlap("gateway-vs", vs, ours, ", ".join(hosts), "merged", tuple(lost), message,
                    None, "spec.ingress.hosts")


def _has_catch_all(obj: dict) -> bool:
    spec = obj.get("spec") or {}
    if obj["kind"] == "HTTPRoute":
        return any(_route_rule_catches_all(r) for r in spec.get("rules") or [])
    for route in spec.get("http") or []:
        matches = route.get("match") or []
        if not matches or any(_istio_match_catches_all(m) for m in matches):
            return True
    return False


def _istio_match_catches_all(match: dict) -> bool:
    uri = match.get("uri") or {}
    keys = set(match) - {"uri", "name"}
    return not keys and (not uri or uri.get("prefix") == "/" or uri.get("regex") == ".*")


def _route_rule_catches_all(rule: dict) -> bool:
    matches = rule.get("matches") or []
    if not matches:
        return True
    for m in matches:
        path = m.get("path") or {}
        if set(m) - {"path"}:
            continue
        if not path or (path.get("type", "PathPrefix") == "PathPrefix"
                        and path.get("value", "/") == "/"):
            return True
    return False


def describe_virtual_service(vs: dict, host: str | None = None) -> str:
    """What a VirtualService's HTTP routes do, in a few words each (what would be lost)."""
    parts = []
    for i, route in enumerate((vs.get("spec") or {}).get("http") or []):
        name = route.get("name") or f"http[{i}]"
        what = [_match_words(m) for m in route.get("match") or []]
        where = ", ".join(_destination_words(d) for d in route.get("route") or [])
        extras = _route_extras(route)
        text = f"{name} ({' or '.join(w for w in what if w) or 'every request'}"
        text += f" -> {where}" if where else ""
        text += f"; {', '.join(extras)}" if extras else ""
        parts.append(text + ")")
    for key in ("tcp", "tls"):
        if (vs.get("spec") or {}).get(key):
            parts.append(f"{key} routes")
    return "; ".join(parts) or "no HTTP routes"


def _match_words(match: dict) -> str:
    words = []
    for key in ("uri", "scheme", "method", "authority"):
        if key in match:
            kind, value = next(iter(match[key].items()), ("", ""))
            words.append(f"{key} {kind} {value}")
    for header, cond in (match.get("headers") or {}).items():
        kind, value = next(iter((cond or {}).items()), ("present", ""))
        words.append(f"header {header} {kind} {value}".rstrip())
    if match.get("queryParams"):
        words.append("query " + ", ".join(match["queryParams"]))
    if match.get("sourceLabels"):
        words.append("from " + ",".join(f"{k}={v}" for k, v in match["sourceLabels"].items()))
    return " and ".join(words)


def _destination_words(dest: dict) -> str:
    d = dest.get("destination") or {}
    text = d.get("host", "?") + (f" subset {d['subset']}" if d.get("subset") else "")
    return text + (f" weight {dest['weight']}" if "weight" in dest else "")


def _percent(fault: dict) -> str:
    """A fault's percentage (100 when absent); a server may store 100.0 as 100."""
    value = (fault.get("percentage") or {}).get("value", 100)
    return f"{float(value):g}%"


def _route_extras(route: dict) -> list[str]:
    extras = []
    if route.get("timeout"):
        extras.append(f"timeout {route['timeout']}")
    retries = route.get("retries")
    if retries:
        extras.append(f"retries {retries.get('attempts', '?')}"
                      + (f" on {retries['retryOn']}" if retries.get("retryOn") else ""))
    fault = route.get("fault") or {}
    if fault.get("delay"):
        delay = fault["delay"]
        extras.append(f"fault delay {delay.get('fixedDelay', '?')} for {_percent(delay)}")
    if fault.get("abort"):
        abort = fault["abort"]
        extras.append(f"fault abort {abort.get('httpStatus', abort.get('grpcStatus', '?'))} "
                      f"for {_percent(abort)}")
    if route.get("mirror") or route.get("mirrors"):
        targets = [route["mirror"]] if route.get("mirror") else [
            m.get("destination", {}) for m in route["mirrors"]]
        extras.append("mirror to " + ", ".join(t.get("host", "?") for t in targets))
    for key, words in (("rewrite", "rewrite"), ("redirect", "redirect"),
                       ("corsPolicy", "CORS policy"), ("headers", "header operations"),
                       ("directResponse", "direct response"), ("delegate", "delegate")):
        if route.get(key):
            extras.append(words)
    return extras


# -- DestinationRules ------------------------------------------------------------------------------
def _destination_rule(dr: dict, ours: _Ours, age: _Age, paths: _Paths) -> list[Overlap]:
    spec = dr.get("spec") or {}
    ns = dr["metadata"].get("namespace") or ""
    host = resolve_host(spec.get("host", ""), ns)
    found = []
    for our_host, obj in ours.rules.items():
        if _host_matches(our_host, host):
            found.append(_dr_overlap(dr, obj, our_host, age, paths))
    return found


def _dr_overlap(dr: dict, ours: dict, host: str, age: _Age, paths: _Paths) -> Overlap:
    spec, our_spec = dr.get("spec") or {}, ours.get("spec") or {}
    their_subsets = {s.get("name"): s for s in spec.get("subsets") or []}
    our_subsets = {s.get("name"): s for s in our_spec.get("subsets") or []}
    policy = ", ".join(sorted(spec.get("trafficPolicy") or {})) or "no traffic policy"
    same_ns = dr["metadata"].get("namespace") == ours["metadata"].get("namespace")
    selector = spec.get("workloadSelector") is not None
    same_export = sorted(spec.get("exportTo") or []) == sorted(our_spec.get("exportTo") or [])
    if not same_ns or selector or not same_export:
        why = ("in another namespace" if not same_ns else
               "with a workloadSelector" if selector else "with another exportTo")
        missing = sorted(set(our_subsets) - set(their_subsets))
        where = dr["metadata"].get("namespace") or ""
        lost = (f"the lane subsets {', '.join(missing) or '(none)'} for proxies that use "
                f"{_ref(dr)} (those in {where} first: a proxy looks in its own namespace, "
                "then the service's, then the root namespace); lane routes from them get "
                "503 NC",) if missing else ()
        message = (f"{_ref(dr)} also configures {host} {why}: Istio does not merge it with "
                   f"{_ref(ours)}; proxies that pick it see its subsets "
                   f"({', '.join(their_subsets) or 'none'}) and {policy}. "
                   f"Lost: {'; '.join(lost) or 'nothing'}")
        code = "dr-clash" if lost else "dr-merged"
        return _overlap(code, dr, ours, host, f"{_ref(dr)} for proxies that pick it", lost,
                        message, paths)
    theirs_first = age.istio(dr) < age.istio(ours)
    first, later = (dr, ours) if theirs_first else (ours, dr)
    first_subsets, later_subsets = ((their_subsets, our_subsets) if theirs_first
                                    else (our_subsets, their_subsets))
    dropped = [n for n in later_subsets if n in first_subsets]
    differ = [n for n in dropped if later_subsets[n] != first_subsets[n]]
    lost = []
    if differ:
        lost.append(f"the subsets {', '.join(differ)} of {_ref(later)} (the same names with "
                    f"other labels or policy in {_ref(first)}, which wins: routes to them "
                    f"reach {_ref(first)}'s pods)")
    their_policy = spec.get("trafficPolicy")
    our_policy = our_spec.get("trafficPolicy")
    if their_policy and our_policy:
        lost.append(f"the top-level trafficPolicy of {_ref(later)}")
    kept_policy = (their_policy if theirs_first else our_policy) or our_policy or their_policy
    merged_policy = ", ".join(sorted(kept_policy or {})) or "none"
    added = ", ".join(n for n in later_subsets if n not in first_subsets) or "nothing"
    repeated = (f"; same-named subsets of {_ref(later)} dropped: {', '.join(dropped)}"
                if dropped else "")
    message = (f"{_ref(dr)} ({age.when(dr)}) also configures {host} in the same namespace; "
               f"Istio merges the two, {_ref(first)} first: its subsets "
               f"({', '.join(first_subsets) or 'none'}) stay, {_ref(later)} adds {added}"
               f"{repeated}; traffic policy in force: {merged_policy}. "
               f"Lost: {'; '.join(lost) or 'nothing, while both objects stay as they are'}")
    code = "dr-clash" if lost else "dr-merged"
    return _overlap(code, dr, ours, host, "merged", tuple(lost), message, paths)


# -- HTTPRoutes ------------------------------------------------------------------------------------
def _http_route(route: dict, ours: _Ours, age: _Age, paths: _Paths) -> list[Overlap]:
    ns = route["metadata"].get("namespace") or ""
    spec = route.get("spec") or {}
    found = []
    for parent in spec.get("parentRefs") or []:
        pns = parent.get("namespace") or ns
        kind = parent.get("kind", "Gateway")
        if kind == "Service":
            host = service_fqdn(parent.get("name", ""), pns)
            if host in ours.mesh:
                found.append(_service_route_overlap(route, ours.mesh[host], host, age, paths))
        elif kind == "Gateway" and parent.get("group", GATEWAY_API_GROUP) == GATEWAY_API_GROUP:
            key = (pns, parent.get("name", ""))
            if (GATEWAY_API_GROUP, *key) in ours.gateways:
                obj, our_hosts = ours.gateways[(GATEWAY_API_GROUP, *key)]
                hostnames = spec.get("hostnames") or ["*"]
                common = sorted({h for h in hostnames for o in our_hosts
                                 if hosts_intersect(h, o)})
                if common:
                    found.append(_gateway_route_overlap(route, obj, key, common, age))
    return found


def describe_http_route(route: dict) -> str:
    """What an HTTPRoute's rules do, in a few words each."""
    parts = []
    for i, rule in enumerate((route.get("spec") or {}).get("rules") or []):
        name = rule.get("name") or f"rules[{i}]"
        matches = [_route_match_words(m) for m in rule.get("matches") or []]
        backends = ", ".join(f"{b.get('name', '?')}" + (f" weight {b['weight']}"
                                                         if "weight" in b else "")
                             for b in rule.get("backendRefs") or [])
        extras = [f.get("type", "?") for f in rule.get("filters") or []]
        if rule.get("timeouts"):
            extras.append("timeouts " + ", ".join(f"{k} {v}" for k, v in rule["timeouts"].items()))
        if rule.get("retry"):
            extras.append("retry")
        text = f"{name} ({' or '.join(w for w in matches if w) or 'every request'}"
        text += f" -> {backends}" if backends else ""
        text += f"; {', '.join(extras)}" if extras else ""
        parts.append(text + ")")
    return "; ".join(parts) or "no rules"


def _route_match_words(match: dict) -> str:
    words = []
    if match.get("path"):
        words.append(f"path {match['path'].get('type', 'PathPrefix')} "
                     f"{match['path'].get('value', '/')}")
    for header in match.get("headers") or []:
        words.append(f"header {header.get('name')} {header.get('type', 'Exact')} "
                     f"{header.get('value')}")
    if match.get("method"):
        words.append(f"method {match['method']}")
    return " and ".join(words)


def _service_route_overlap(route: dict, ours: dict, host: str, age: _Age,
                           paths: _Paths) -> Overlap:
    team = describe_http_route(route)
    if ours["kind"] == "HTTPRoute":
        lost = _lost_by_precedence(route, ours, age, f"leave the lanes of {_ref(ours)}")
        message = (f"{_ref(route)} ({age.when(route)}) is also attached to the Service of "
                   f"{host}; HTTPRoutes on one parent are merged by the Gateway API's "
                   f"precedence (the more specific match first, a tie to the older route). "
                   f"Lost: {'; '.join(lost)}. The team's route has: {team}")
        return _overlap("service-route", route, ours, host, "merged", tuple(lost), message,
                        paths)
    theirs_first = age.istio(route) < age.istio(ours)
    if theirs_first:
        kept, lost = _ref(route), (f"the lane routes of {_ref(ours)}",)
    else:
        kept, lost = _ref(ours), (f"{_ref(route)}: {team}",)
    ns = route["metadata"].get("namespace") or ""
    message = (f"{_ref(route)} ({age.when(route)}) is attached to the Service of {host}; "
               f"Istio makes it a mesh route for that host and sidecars keep one per host: "
               f"for sidecars in {ns} the HTTPRoute, elsewhere the older of the two, {kept} "
               f"({_ref(ours)} is {age.when(ours)}). Lost: {'; '.join(lost)}. "
               f"The team's route has: {team}")
    return _overlap("service-route", route, ours, host, kept, lost, message, paths)


def _lost_by_precedence(route: dict, ours: dict, age: _Age, what: str) -> list[str]:
    """What the lanes lose where the Gateway API merges ``route``'s rules with ``ours`` by
    precedence: the requests a more specific rule of the team's takes, and, when both have
    a catch-all, the younger one's (a tie goes to the older route)."""
    lost = [f"requests that a more specific rule of {_ref(route)} matches {what}"]
    if _has_catch_all(route) and _has_catch_all(ours):
        first = route if age.gateway_api(route) < age.gateway_api(ours) else ours
        later = ours if first is route else route
        lost.append(f"the catch-all rule of {_ref(later)} (an equal match goes to the older "
                    f"route, {_ref(first)})")
    return lost


def _gateway_route_overlap(route: dict, ours: dict, gateway: tuple[str, str],
                           hosts: list[str], age: _Age) -> Overlap:
    team = describe_http_route(route) if route["kind"] == "HTTPRoute" else ""
    gw = "/".join(gateway)
    lost = _lost_by_precedence(route, ours, age, "do not enter a lane")
    message = (f"{_ref(route)} ({age.when(route)}) is attached to the design's gateway {gw} "
               f"for {', '.join(hosts)}; the Gateway API merges its rules with the lanes' by "
               f"precedence (the more specific match first, a tie to the older route). Lost: "
               f"{'; '.join(lost)}. The team's route has: {team}")
    return _overlap("gateway-route", route, ours, ", ".join(hosts), "merged", tuple(lost),
                    message, None, "spec.ingress.hosts")


def _overlap(topic: str, foreign: dict, ours: dict, host: str, kept: str, lost: Sequence[str],
             message: str, paths: _Paths | None, path: str = "") -> Overlap:
    code = CODES[topic]
    where = path or (paths.service(host) if paths is not None else "")
    hint = _HINT.format(ref=_ref(foreign))
    return Overlap(ObjectRef.of(foreign), ObjectRef.of(ours), host, kept, tuple(lost),
                   make(code, where, message, hint), foreign)


_HINT = ("Remove {ref} or hand it over (move its routes into the design), then diff again; "
         "`apply --adopt` takes over a mesh VirtualService or DestinationRule whose routing "
         "the design carries, or a gateway VirtualService its ingress carries "
         "(`import-cluster --adopt`), and `remove` hands it back; "
         "`apply --allow-overlap` applies anyway, knowing what is lost.")


# -- the ingress gateway --------------------------------------------------------------------------
def _missing_gateways(cluster: Cluster, objects: Sequence[dict], paths: _Paths) -> list[Finding]:
    """LD906 for each gateway the objects bind to that the cluster lacks (IST0101)."""
    wanted: dict[tuple[str, str, str], None] = {}
    for obj in objects:
        ns, spec = obj["metadata"].get("namespace") or "", obj.get("spec") or {}
        if obj["kind"] == "VirtualService":
            for gw in spec.get("gateways") or []:
                if gw != "mesh":
                    wanted[(ISTIO_GROUP, *gateway_key(gw, ns))] = None
        elif obj["kind"] == "HTTPRoute":
            for parent in spec.get("parentRefs") or []:
                if parent.get("kind", "Gateway") == "Gateway":
                    wanted[(GATEWAY_API_GROUP, parent.get("namespace") or ns,
                            parent.get("name", ""))] = None
    # a Gateway the export brings itself (`--with-gateway`) is not missing
    for obj in objects:
        if obj["kind"] == "Gateway":
            group = obj.get("apiVersion", "").split("/")[0]
            wanted.pop((group, obj["metadata"].get("namespace") or "",
                        obj["metadata"].get("name", "")), None)
    findings = []
    for group, ns, name in wanted:
        versions = _ISTIO_VERSIONS if group == ISTIO_GROUP else _GATEWAY_API_VERSIONS
        res = _served(cluster, group, versions, "Gateway")
        which = "an Istio Gateway" if group == ISTIO_GROUP else "a Gateway API Gateway"
        if res is not None:
            try:
                found = cluster.request("GET", res.path(ns, name), target=f"Gateway {ns}/{name}")
            except ApiError as exc:
                if exc.status != 404:
                    raise
                found = None
            if found is not None:
                continue
        served = "" if res is not None else f" (the cluster does not serve {group} Gateways)"
        findings.append(make(
            "LD906", "spec.ingress.gateway",
            f"the ingress gateway {ns}/{name} is not in the cluster{served}: the ingress "
            f"routes bind to {which} that does not exist, so no request enters a lane "
            f"there (istioctl analyze: IST0101)",
            f"Create {which} {ns}/{name}, name an existing one in `spec.ingress.gateway`, "
            "or export it with the lanes (`--with-gateway`)."))
    return findings
