"""Taking over a team's routing objects (``apply --adopt``) and keeping a record to hand
them back (``remove``); docs/cluster.md, "Adopting the team's objects".

A team's mesh VirtualService or DestinationRule for a host the design routes is taken over
only when the design already carries exactly what it does: ``adopt_routing`` of the live
object (read as ``import-cluster --adopt`` reads it) must give the service's ``routing``.
The team's VirtualService on the design's ingress gateway is taken over only when the
design's ingress carries it: ``adopt`` of it into the design with the ingress paths removed
must give the design's ingress. Then nothing of the team's is lost when it is deleted.
Before it is deleted, the object as it was (its manifest without server bookkeeping, and its
field managers) is recorded in an annotation on lanedesign's object of the same kind for that
host (for the gateway route: our VirtualService on that gateway), so the record stays in the
cluster and ``remove`` can recreate it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..emit.common import resolve_host, service_host
from ..emit.istio_adopt import adopt, adopt_routing
from ..findings import Finding, make
from ..model import IngressRule, LaneDesign
from .client import ObjectRef
from .overlaps import CODES, Overlap

ADOPTED = "lanedesign.io/adopted"  # annotation: JSON list of the records of adopted objects
# the overlaps --adopt can take: a mesh VirtualService and DestinationRules (held by a
# service's routing), and a VirtualService on the design's gateway (held by the ingress); an
# HTTPRoute is something neither holds
_ADOPTABLE = {CODES["mesh-vs"], CODES["dr-merged"], CODES["dr-clash"]}
_GATEWAY = CODES["gateway-vs"]
_BOOKKEEPING = ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields",
                "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds")
_FALLBACK_MANAGER = "lanedesign-handback"  # an object that came without managedFields


@dataclass(frozen=True)
class Adoption:
    """A team object to take over: recorded on ``ours``, deleted once ours routes."""

    foreign: ObjectRef
    ours: ObjectRef
    host: str
    live: dict = field(compare=False, repr=False)

    @property
    def live_version(self) -> tuple[str | None, str | None]:
        meta = self.live.get("metadata") or {}
        return meta.get("uid"), meta.get("resourceVersion")

    def to_dict(self) -> dict[str, Any]:
        return {"foreign": self.foreign.to_dict(), "ours": self.ours.to_dict(),
                "host": self.host, "managers": managers(self.live)}

    def finding(self) -> Finding:
        return make("LD915", "", f"{self.foreign} is adopted: the design carries its routing "
                    f"for {self.host}; it is recorded in the annotation {ADOPTED} of "
                    f"{self.ours} and deleted once {self.ours} is applied "
                    "(`lanedesign remove` recreates it)")


# -- records ------------------------------------------------------------------------------------
def managers(live: Mapping[str, Any]) -> list[str]:
    """The field managers of ``live`` (its main resource, not ``status``), oldest entry first."""
    names: dict[str, None] = {}
    for entry in (live.get("metadata") or {}).get("managedFields") or []:
        if not entry.get("subresource") and entry.get("manager"):
            names[entry["manager"]] = None
    return list(names)


def spec_manager(live: Mapping[str, Any]) -> str:
    """The manager that set the object's ``spec`` (the name it is handed back with)."""
    entries = (live.get("metadata") or {}).get("managedFields") or []
    for entry in entries:
        if not entry.get("subresource") and "f:spec" in (entry.get("fieldsV1") or {}):
            return str(entry["manager"])
    found = managers(live)
    return found[0] if found else _FALLBACK_MANAGER


def record(live: Mapping[str, Any]) -> dict[str, Any]:
    """What is kept of an adopted object: its manifest as it was, without what the server
    sets, its managers, and when it was created (which a recreated object cannot keep)."""
    manifest = {k: copy.deepcopy(v) for k, v in live.items() if k != "status"}
    meta = manifest.setdefault("metadata", {})
    for key in _BOOKKEEPING:
        meta.pop(key, None)
    return {"ref": ObjectRef.of(live).to_dict(), "manager": spec_manager(live),
            "managers": managers(live),
            "created": (live.get("metadata") or {}).get("creationTimestamp"),
            "manifest": manifest}


def records_of(obj: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The records in ``obj``'s annotation (none without it); ``ValueError`` if unreadable."""
    text = (((obj or {}).get("metadata") or {}).get("annotations") or {}).get(ADOPTED)
    if text is None:
        return []
    found = json.loads(text)
    if not isinstance(found, list) or not all(map(_whole, found)):
        raise ValueError(f"{ADOPTED} is not a list of records, each with a manifest (apiVersion, "
                         "kind, metadata.name) and a manager")
    return found


def _whole(rec: Any) -> bool:
    manifest = rec.get("manifest") if isinstance(rec, dict) else None
    return (isinstance(manifest, dict) and isinstance(rec.get("manager"), str)
            and all(isinstance(manifest.get(k), str) for k in ("apiVersion", "kind"))
            and isinstance((manifest.get("metadata") or {}).get("name"), str))


def has_records(obj: Mapping[str, Any] | None) -> bool:
    """Does ``obj`` carry the annotation (readable or not)?"""
    return ADOPTED in (((obj or {}).get("metadata") or {}).get("annotations") or {})


def with_records(obj: dict, records: Iterable[dict[str, Any]]) -> dict:
    """``obj`` annotated with ``records`` (one per adopted object, newest for a ref wins),
    in a stable order and spelling so an unchanged re-apply writes nothing."""
    by_ref = {_ref_key(r): r for r in records}
    text = json.dumps([by_ref[k] for k in sorted(by_ref)], sort_keys=True,
                      separators=(",", ":"))
    out = copy.deepcopy(obj)
    out.setdefault("metadata", {}).setdefault("annotations", {})[ADOPTED] = text
    return out


def carry(obj: dict, live: dict | None) -> dict:
    """``obj`` with the record its live version carries: the emitter does not know it, and
    applying without it would drop the only copy of the team's objects."""
    text = (((live or {}).get("metadata") or {}).get("annotations") or {}).get(ADOPTED)
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    if text is None or ADOPTED in annotations:
        return obj
    out = copy.deepcopy(obj)
    out["metadata"].setdefault("annotations", {})[ADOPTED] = text
    return out


def _ref_key(rec: Mapping[str, Any]) -> tuple[str, ...]:
    ref = rec.get("ref") or {}
    return tuple(str(ref.get(k) or "") for k in ("kind", "namespace", "name"))


def _host_of(obj: Mapping[str, Any]) -> str | None:
    """The one service host a VirtualService or DestinationRule routes, else ``None``."""
    ns = (obj.get("metadata") or {}).get("namespace") or "default"
    spec = obj.get("spec") or {}
    hosts = spec.get("hosts") if obj.get("kind") == "VirtualService" else [spec.get("host")]
    if not hosts or len(hosts) != 1 or not hosts[0] or "*" in str(hosts[0]):
        return None
    return resolve_host(str(hosts[0]), ns)


# -- choosing what to adopt -----------------------------------------------------------------------
def choose(overlaps: Sequence[Overlap], design: LaneDesign,
           our_live: Iterable[dict | None]) -> tuple[list[Adoption], list[Finding], list[Finding]]:
    """Which overlaps ``--adopt`` takes: (adoptions, refusals, notes).

    Any refusal (LD910, LD911) means nothing is adopted: the apply is blocked. Overlaps
    --adopt cannot take stay overlaps; a note (LD912) says why. ``our_live``: the lane
    group's live objects, whose records of earlier adoptions count as the team's objects
    (a re-run after a half-done adoption compares against all of them).
    """
    candidates = [o for o in overlaps if o.finding.code in _ADOPTABLE]
    gateway, notes = _gateway_routes(overlaps, design)
    notes += [make("LD912", o.finding.path, f"--adopt does not take over {o.foreign} "
                   f"({o.finding.code}): no service's routing holds it; it stays in the way")
              for o in overlaps if o.finding.code not in _ADOPTABLE | {_GATEWAY}]
    refusals: list[Finding] = []
    hosts = {service_host(design, s.name): s.name for s in design.services}
    for o in candidates:
        if _host_of(o.live) != o.host:
            refusals.append(make("LD911", o.finding.path, f"{o.foreign} routes {o.host} "
                                 "through a wildcard or with other hosts: one service's "
                                 "routing cannot hold it"))
    touched = {hosts[o.host] for o in candidates if o.host in hosts}
    live_now = {(o.foreign.kind, o.host) for o in candidates}
    touched_hosts = {o.host for o in candidates}
    earlier = [r["manifest"] for obj in our_live for r in _readable(obj)
               if _host_of(r["manifest"]) in touched_hosts
               and (r["manifest"].get("kind"), _host_of(r["manifest"])) not in live_now]
    team = [o.live for o in {o.foreign: o for o in candidates}.values()] + earlier
    bare = design
    for name in touched:
        svc = design.service(name)
        assert svc is not None
        bare = bare.with_service(replace(svc, routing=None))
    read, findings = adopt_routing(bare, team)
    for f in findings:
        if f.severity == "error":
            refusals.append(make("LD911", f.path, f"{f.code}: {f.message}; one service's "
                                 "routing cannot hold it exactly"))
    for name in sorted(touched):
        index = design.service_names.index(name)
        want, got = design.service(name).routing, read.service(name).routing  # type: ignore
        if want != got:
            theirs = ", ".join(str(o.foreign) for o in candidates
                               if o.host == service_host(design, name))
            refusals.append(make(
                "LD910", f"spec.services[{index}].routing",
                f"the design does not carry the team's routing for {name} exactly ({theirs} "
                f"read as {_words(got)}; the design has {_words(want)}): adopting would lose "
                "what differs"))
    if refusals:
        return [], refusals, notes
    return ([Adoption(o.foreign, o.ours, o.host, o.live) for o in [*candidates, *gateway]],
            [], notes)


def _gateway_routes(overlaps: Sequence[Overlap], design: LaneDesign,
                    ) -> tuple[list[Overlap], list[Finding]]:
    """The team's VirtualServices on the design's gateway that the ingress carries exactly,
    and an LD912 note for each one it does not (it stays in the way).

    Carried: ``adopt`` (what ``import-cluster --adopt`` runs) of them into the design with
    its ingress paths removed gives the design's ingress, so deleting them loses no path
    the team routed. All of them are read together: two team routes for the ingress hosts
    are refused there (LD958), as the ingress holds one.
    """
    found = [o for o in overlaps if o.finding.code == _GATEWAY]
    if not found:
        return [], []
    stripped = without_paths(design)
    done = adopt(stripped, [o.live for o in {o.foreign: o for o in found}.values()])
    if done.ingress is not None and done.design.ingress == design.ingress:
        return found, []
    why = "; ".join(f"{f.path}: {f.message}" for f in done.findings if f.severity == "error")
    if not why:
        why = ("the design's ingress paths are not the team's (import-cluster --adopt reads "
               "them into the ingress)")
    return [], [make("LD912", o.finding.path, f"--adopt does not take over {o.foreign} "
                     f"({o.finding.code}): the design's ingress does not carry it exactly "
                     f"({why}); it stays in the way") for o in found]


def without_paths(design: LaneDesign) -> LaneDesign:
    """``design`` with no ingress rule testing a path: what the team's gateway route is
    read into (``with_ingress_path`` puts its paths back, the default lane as a last rule)."""
    ingress = design.ingress
    if ingress is None or ingress.rules is None:
        return design
    rules = tuple(IngressRule(r.lane, replace(r.match, uri=None) if r.match else None)
                  for r in ingress.rules)
    return design.with_ingress(rules=rules)


def _readable(obj: dict | None) -> list[dict[str, Any]]:
    try:
        return records_of(obj)
    except ValueError:
        return []  # said by remove (LD913); here it only cannot count as the team's


def _words(routing: Any) -> str:
    if routing is None:
        return "no routing"
    parts = [f"{len(routing.routes)} route(s)", f"{len(routing.subsets)} subset(s)"]
    if routing.default:
        parts.append("a default route")
    if routing.settings:
        parts.append("settings " + ", ".join(sorted(routing.settings)))
    if routing.traffic_policy:
        parts.append("a traffic policy")
    return ", ".join(parts)


def annotate(objects: Sequence[dict], adoptions: Sequence[Adoption],
             live: Mapping[ObjectRef, dict | None]) -> list[dict]:
    """``objects`` with each adoption recorded on its ``ours`` (beside earlier records)."""
    wanted: dict[ObjectRef, list[dict]] = {}
    for a in adoptions:
        wanted.setdefault(a.ours, []).append(record(a.live))
    out = []
    for obj in objects:
        ref = ObjectRef.of(obj)
        if ref in wanted:
            earlier = _readable(live.get(ref))
            obj = with_records(obj, [*earlier, *wanted[ref]])
        out.append(obj)
    return out
