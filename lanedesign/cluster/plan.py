"""Diff: what applying the emitted objects would do, judged by the API server itself.

For each emitted object the live one is read and a server-side apply dry run
(``dryRun=All``) says what the object would become, as ``kubectl diff`` does; the two are
compared without server bookkeeping. Objects this lane group owns (ownership labels) that
the design no longer emits are prune candidates. An object of the same name without our
labels, or owned by another lane group, is a conflict: never changed, never deleted.
Objects of other owners that route the same hosts (``overlaps.py``) are overlaps: apply
refuses while any remain, unless told ``allow_overlap``, or told ``adopt`` and the design
carries their routing (``adopt.py``): then they are the plan's adoptions.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ..codec import dump_sorted
from ..emit import registry
from ..emit.common import GROUP_LABEL, MANAGED_BY, MANAGER
from ..findings import Finding, make
from ..model import LaneDesign
from . import ambient
from .adopt import Adoption, annotate, carry, choose, has_records
from .client import DEFAULT_CONCURRENCY, Cluster, ObjectRef, Resource
from .errors import ApiError
from .overlaps import Overlap, find_overlaps

ACTIONS = ("create", "update", "unchanged", "prune", "conflict", "rejected")
_SERVER_FIELDS = ("managedFields", "resourceVersion", "generation", "uid", "creationTimestamp",
                  "selfLink")


@dataclass(frozen=True)
class Change:
    """What applying would do to one object; ``diff`` is a unified diff (live -> applied)."""

    ref: ObjectRef
    action: str
    diff: tuple[str, ...] = ()
    reason: str = ""  # why: a conflict's owner or the server's message for a rejection
    desired: dict | None = field(default=None, repr=False, compare=False)
    live: dict | None = field(default=None, repr=False, compare=False)

    @property
    def live_version(self) -> tuple[str | None, str | None]:
        meta = (self.live or {}).get("metadata", {})
        return meta.get("uid"), meta.get("resourceVersion")

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {**self.ref.to_dict(), "action": self.action}
        if self.diff:
            result["diff"] = "".join(self.diff)
        if self.reason:
            result["reason"] = self.reason
        return result

    def line(self) -> str:
        text = f"{self.action:<10} {self.ref}"
        return f"{text}: {self.reason}" if self.reason else text


@dataclass(frozen=True)
class Plan:
    """The diff of a lane group against a cluster, in apply order, then prune candidates."""

    group: str
    changes: tuple[Change, ...]
    objects: tuple[dict, ...] = field(repr=False)
    cluster: dict[str, str | None] = field(default_factory=dict)
    force_conflicts: bool = False
    # objects of other owners routing the same hosts, and other cluster findings (LD906)
    overlaps: tuple[Overlap, ...] = ()
    notes: tuple[Finding, ...] = ()
    allow_overlap: bool = False
    # `apply --adopt`: the team objects taken over, or why none can be (LD910, LD911)
    adopt: bool = False
    adoptions: tuple[Adoption, ...] = ()
    refusals: tuple[Finding, ...] = ()
    # what adopting is checked against, when re-checking a reviewed plan
    design: LaneDesign | None = field(default=None, repr=False, compare=False)

    @property
    def findings(self) -> list[Finding]:
        """The coded findings about the cluster: each overlap, the refusals to adopt, each
        adoption, then the notes."""
        return ([o.finding for o in self.overlaps] + list(self.refusals)
                + [a.finding() for a in self.adoptions] + list(self.notes))

    def of(self, *actions: str) -> list[Change]:
        return [c for c in self.changes if c.action in actions]

    @property
    def blocked(self) -> bool:
        """Conflicts, rejections, (unless allowed) overlaps or a refused adoption: apply
        would write nothing."""
        return bool(self.of("conflict", "rejected")) or self.overlap_blocked or bool(
            self.refusals)

    @property
    def overlap_blocked(self) -> bool:
        return bool(self.overlaps) and not self.allow_overlap

    @property
    def in_sync(self) -> bool:
        """Nothing to create, update, prune or adopt, and nothing in the way."""
        return all(c.action == "unchanged" for c in self.changes) and not self.adoptions

    def counts(self) -> dict[str, int]:
        return {action: len(self.of(action)) for action in ACTIONS}

    def fingerprint(self) -> tuple:
        """What a reviewer saw: each object's action and the live version it was judged on,
        and the objects of other owners in the way."""
        return (tuple((c.ref, c.action, c.live_version[1]) for c in self.changes)
                + tuple(("overlap", o.foreign, o.ours, o.kept) for o in self.overlaps)
                + tuple(("adopt", a.foreign, a.ours, a.live_version[1])
                        for a in self.adoptions)
                + tuple(("refused", f.code, f.path) for f in self.refusals))

    def to_dict(self) -> dict[str, Any]:
        return {"group": self.group, **self.cluster, "counts": self.counts(),
                "blocked": self.blocked, "inSync": self.in_sync,
                "changes": [c.to_dict() for c in self.changes],
                "overlaps": [o.to_dict() for o in self.overlaps],
                "allowOverlap": self.allow_overlap,
                "adopt": self.adopt, "adoptions": [a.to_dict() for a in self.adoptions]}

    def summary(self, diffs: bool = True) -> str:
        where = self.cluster.get("context") or self.cluster.get("server") or "the cluster"
        lines = [f"lane group {self.group!r} against {where}:"]
        for change in self.changes:
            lines.append(f"  {change.line()}")
            if diffs and change.action == "update":
                lines += [f"      {d.rstrip()}" for d in change.diff]
        for adoption in self.adoptions:
            lines.append(f"  {'adopt':<10} {adoption.foreign}: recorded on {adoption.ours}, "
                         "deleted once it routes")
        counts = self.counts()
        lines.append(", ".join(f"{n} {a}" for a, n in counts.items() if n) or "nothing emitted")
        if counts["prune"]:
            lines.append("prune candidates are owned by this lane group and no longer emitted; "
                         "apply --prune deletes them")
        lines += self._findings_lines()
        if self.of("conflict", "rejected"):
            lines.append("blocked: resolve the conflicts/rejections above; nothing is applied "
                         "while any remain")
        if self.refusals:
            lines.append("blocked: --adopt takes over nothing unless the design carries the "
                         "team's routing exactly; nothing is applied")
        if self.overlap_blocked:
            lines += [f"blocked: {len(self.overlaps)} object(s) of other owners route the same "
                      "hosts; nothing is applied while any remain. Choose per object:",
                      "  - remove it, or hand it over (move its routes into the design)",
                      "  - apply --adopt: take it over (a mesh VirtualService or "
                      "DestinationRule whose routing the design carries, a gateway "
                      "VirtualService its ingress carries; `remove` hands it back)",
                      "  - apply --allow-overlap: apply anyway, knowing what the findings say "
                      "is lost"]
        elif self.overlaps:
            lines.append(f"--allow-overlap: {len(self.overlaps)} overlap(s) accepted; what "
                         "they say is lost will be lost")
        return "\n".join(lines)

    def _findings_lines(self) -> list[str]:
        lines = []
        for finding in self.findings:
            lines.append(f"{finding}")
            lines.append(f"    fix: {finding.hint}")
        return lines


def owner_group(obj: dict) -> str | None:
    """The lane group that owns ``obj`` by its labels, or ``None`` if lanedesign does not."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return labels.get(GROUP_LABEL) if labels.get(MANAGED_BY) == MANAGER else None


def selector(group: str) -> str:
    return f"{MANAGED_BY}={MANAGER},{GROUP_LABEL}={group}"


def diff(cluster: Cluster, objects: Sequence[dict], group: str,
         force_conflicts: bool = False, concurrency: int = DEFAULT_CONCURRENCY,
         allow_overlap: bool = False, design: LaneDesign | None = None,
         adopt: bool = False) -> Plan:
    """The plan for applying ``objects`` (emitted, in apply order) as lane group ``group``.

    Up to ``concurrency`` objects are read and dry-run at once; the plan keeps their order.
    Objects of other owners routing the same hosts are the plan's ``overlaps`` (it is
    blocked by them unless ``allow_overlap``); ``design`` names paths in findings. With
    ``adopt``, the team objects whose routing ``design`` carries are its ``adoptions``
    instead (recorded on our objects, which are dry-run with the record).
    """
    if adopt and design is None:
        raise ValueError("adopting needs the design: it must carry the team's routing")
    # the app's Namespace or Service the export only labels (ambient's use-waypoint) is
    # never owned: it is applied as its labels alone (``ambient.label_object``)
    objects = tuple(ambient.label_object(o, group) if ambient.is_label_only(o)
                    else copy.deepcopy(o) for o in objects)
    for obj in objects:
        if owner_group(obj) != group and not ambient.is_label_only(obj):
            raise ValueError(f"{ObjectRef.of(obj)} lacks the labels {MANAGED_BY}={MANAGER} and "
                             f"{GROUP_LABEL}={group}; lanedesign applies only what it owns")
    cluster.require((o["apiVersion"], o["kind"]) for o in objects)
    live = _read_live(cluster, objects)
    changes = _each(lambda obj: _change(cluster, obj, group, force_conflicts, live), objects,
                    concurrency)
    wanted = {c.ref for c in changes}
    changes += [Change(ObjectRef.of(live), "prune", live=live)
                for live in owned_objects(cluster, group, _groups_of(objects),
                                          _namespaces_of(objects))
                + ambient_owned(cluster, group, _namespaces_of(objects))
                if ObjectRef.of(live) not in wanted]
    known = {c.ref: c.live for c in changes}
    overlaps, notes = find_overlaps(cluster, objects, group, known, design, owner_group)
    if design is not None:
        notes += ambient.ambient_findings(design, objects,
                                          read_ambient(cluster, design, objects))
    notes += [make("LD917", str(c.ref), f"{c.ref} is no longer emitted but carries the record "
                   "of adopted team objects; --prune leaves it")
              for c in changes if c.action == "prune" and has_records(c.live)]
    adoptions, refusals = [], []
    if adopt:
        assert design is not None
        adoptions, refusals, more = choose(overlaps, design, known.values())
        notes += more
        taken = {a.foreign for a in adoptions}
        overlaps = [o for o in overlaps if o.foreign not in taken]
        # our objects that take a record are judged again with it: the dry run sees them
        # exactly as they will be applied
        for i, obj in enumerate(annotate(objects, adoptions, known)):
            if obj is not objects[i]:
                changes[i] = _change(cluster, obj, group, force_conflicts, known)
    return Plan(group, tuple(changes), objects, cluster.describe(), force_conflicts,
                tuple(overlaps), tuple(notes), allow_overlap, adopt, tuple(adoptions),
                tuple(refusals), design)


# from this many objects of one kind in one namespace, one LIST reads them all instead of a
# GET each (at 1,000 services that is 2,000 requests fewer)
LIST_FROM = 8
_UNREAD = object()


def _read_live(cluster: Cluster, objects: Sequence[dict]) -> dict[ObjectRef, dict | None]:
    """The live objects for ``objects``, read a kind and namespace at a time where many.

    Refs left out (few of them, or the LIST was forbidden) are read one by one later.
    """
    batches: dict[tuple[str, str, str | None], list[ObjectRef]] = {}
    for obj in objects:
        ref = ObjectRef.of(obj)
        batches.setdefault((ref.api_version, ref.kind, ref.namespace), []).append(ref)
    found: dict[ObjectRef, dict | None] = {}
    for (api_version, kind, namespace), refs in batches.items():
        res = cluster.resource(api_version, kind)
        if res is None or len(refs) < LIST_FROM or (res.namespaced and not namespace):
            continue
        try:
            items = cluster.list(res, namespace if res.namespaced else None)
        except ApiError as exc:
            if exc.status == 403:  # may list nothing here, may still get each
                continue
            raise
        by_name = {item["metadata"]["name"]: item for item in items}
        found.update({ref: by_name.get(ref.name) for ref in refs})
    return found


def _change(cluster: Cluster, obj: dict, group: str, force: bool,
            known: dict[ObjectRef, dict | None]) -> Change:
    ref = ObjectRef.of(obj)
    live = known.get(ref, _UNREAD)
    if live is _UNREAD:
        live = cluster.get(ref)
    if ambient.is_label_only(obj):
        return _label_change(cluster, obj, live, force)
    if live is not None and owner_group(live) != group:
        other = owner_group(live)
        reason = (f"owned by lane group {other!r}" if other else
                  "exists without lanedesign's ownership labels") + "; left untouched"
        return Change(ref, "conflict", reason=reason, desired=obj, live=live)
    obj = carry(obj, live)  # the record of adopted team objects stays on our object
    if live is not None and comparable(live) == comparable(obj):
        # already exactly what we would apply: a write would change nothing (equal values
        # never conflict), so no dry run is needed to know it; at 2,000 objects this is what
        # keeps an unchanged re-apply to a few LISTs
        return Change(ref, "unchanged", desired=obj, live=live)
    after = _dry_run(cluster, obj, live, force)
    if isinstance(after, Change):
        return after
    if live is None:
        return Change(ref, "create", _unified({}, after), desired=obj)
    if comparable(live) == comparable(after):
        return Change(ref, "unchanged", desired=obj, live=live)
    return Change(ref, "update", _unified(live, after), desired=obj, live=live)


def _dry_run(cluster: Cluster, obj: dict, live: dict | None, force: bool) -> dict | Change:
    """The object as the server would store it, or the Change saying why it would not:
    a conflict (409: another field manager) or a rejection."""
    ref = ObjectRef.of(obj)
    try:
        return cluster.apply(obj, dry_run=True, force=force)
    except ApiError as exc:
        if exc.status == 409:
            return Change(ref, "conflict", reason=exc.message, desired=obj, live=live)
        if exc.status in (400, 403, 404, 422) or _untyped(exc):
            # 404 here: the object's namespace does not exist (lanedesign never creates one)
            return Change(ref, "rejected", reason=f"{exc.status} {exc.reason}: {exc.message}",
                          desired=obj, live=live)
        raise


def _label_change(cluster: Cluster, obj: dict, live: dict | None, force: bool) -> Change:
    """Labels on the app's Namespace or Service: lanedesign adds them, never creates it."""
    ref = ObjectRef.of(obj)
    if live is None:
        # applied, the labels alone would create a bare Namespace or Service
        return Change(ref, "rejected", reason="lanedesign only labels it; it must exist",
                      desired=obj)
    if ambient.labels_hold(live, obj):
        return Change(ref, "unchanged", desired=obj, live=live)
    after = _dry_run(cluster, obj, live, force)  # 409: another manager set another value
    if isinstance(after, Change):
        return after
    return Change(ref, "update", _unified(_labels_only(live), _labels_only(after)),
                  desired=obj, live=live)


def _labels_only(obj: dict) -> dict:
    meta = obj.get("metadata") or {}
    return {"metadata": {"name": meta.get("name"), "labels": meta.get("labels") or {}}}


def ambient_owned(cluster: Cluster, group: str, namespaces: Sequence[str]) -> list[dict]:
    """What an ambient export leaves that ``owned_objects`` does not list: the waypoint
    Gateways the lane group created (never an ingress Gateway, never one it did not create)
    and the app Namespaces and Services it labelled."""
    found = []
    gateway = cluster.resource("gateway.networking.k8s.io/v1", "Gateway")
    if gateway is not None:
        try:
            found += [o for o in _list_owned(cluster, gateway, group, namespaces)
                      if ambient.is_waypoint(o) and owner_group(o) == group]
        except ApiError as exc:
            if exc.status != 403:  # no right to list Gateways: none of them is pruned
                raise
    # the Namespaces it labels hold its routes: each is read (a GET, which namespace-scoped
    # RBAC grants more often than listing every Namespace)
    homes = set(namespaces) | {o["metadata"].get("namespace") for o in found}
    found += [o for ns in sorted(n for n in homes if n)
              if ambient.labelled_by(o := _get(cluster, ObjectRef("Namespace", None, ns, "v1")))
              == group]
    service = cluster.resource("v1", "Service")
    if service is not None:
        try:
            found += [o for o in _list_selected(cluster, service,
                                                f"{ambient.LABELLED_BY}={group}", namespaces)
                      if ambient.labelled_by(o) == group]
        except ApiError as exc:
            if exc.status != 403:
                raise
    return sorted(found, key=ObjectRef.of)


def _list_selected(cluster: Cluster, res: Resource, chosen: str,
                   namespaces: Sequence[str]) -> list[dict]:
    try:
        return cluster.list(res, label_selector=chosen)
    except ApiError as exc:
        if exc.status != 403 or not namespaces:
            raise
        return [o for ns in sorted(set(namespaces)) for o in cluster.list(res, ns, chosen)]


def read_ambient(cluster: Cluster, design: LaneDesign,
                 objects: Sequence[dict] = ()) -> ambient.AmbientState:
    """The Namespaces of ``design``, and (when one of them is in ambient or the design is)
    its lane-routed Services and the waypoint Gateways in the namespaces they (or the
    emitted ``objects``) point at: what ``ambient_findings`` judges."""
    names = sorted({design.namespace_of(s) for s in design.service_names})
    namespaces = {ns: _get(cluster, ObjectRef("Namespace", None, ns, "v1")) for ns in names}
    if design.data_plane != "ambient" and not any(map(ambient.is_ambient,
                                                       namespaces.values())):
        return ambient.AmbientState(namespaces, {}, frozenset())
    services = {(design.namespace_of(s), s): _get(cluster, ObjectRef(
        "Service", design.namespace_of(s), s, "v1")) for s in ambient.routed_services(design)}
    # a waypoint may live in another namespace (istio.io/use-waypoint-namespace)
    elsewhere = {ambient.labels_of(o).get(ambient.USE_WAYPOINT_NAMESPACE)
                 for o in [*namespaces.values(), *services.values(), *objects]}
    waypoints: set[tuple[str, str]] = set()
    gateway = cluster.resource("gateway.networking.k8s.io/v1", "Gateway")
    if gateway is not None:
        for ns in sorted(set(names) | {n for n in elsewhere if n}):
            try:
                items = cluster.list(gateway, ns)
            except ApiError as exc:
                if exc.status != 403:
                    raise
                continue
            waypoints |= {(ns, o["metadata"]["name"]) for o in items if ambient.is_waypoint(o)}
    return ambient.AmbientState(namespaces, services, frozenset(waypoints))


def _get(cluster: Cluster, ref: ObjectRef) -> dict | None:
    if cluster.resource(ref.api_version, ref.kind) is None:
        return None
    try:
        return cluster.get(ref)
    except ApiError as exc:
        if exc.status == 403:
            return None
        raise


def _each(judge: Callable[[dict], Change], objects: Sequence[dict],
          concurrency: int) -> list[Change]:
    """``judge`` of every object, in order; several at once (each is a GET and a dry run)."""
    if concurrency <= 1 or len(objects) <= 1:
        return [judge(obj) for obj in objects]
    with ThreadPoolExecutor(max_workers=min(concurrency, len(objects)),
                            thread_name_prefix="lanedesign-diff") as pool:
        return list(pool.map(judge, objects))


def _untyped(exc: ApiError) -> bool:
    """A value of the wrong type for the CRD schema: kube-apiserver answers a server-side
    apply of it with a 500 (not a 422) that names the field and the type it expected."""
    return exc.status == 500 and exc.message.startswith("failed to create typed patch object")


def owned_objects(cluster: Cluster, group: str, api_groups: Iterable[str],
                  namespaces: Sequence[str] = ()) -> list[dict]:
    """Live objects of lane group ``group`` among the kinds targets make in ``api_groups``
    (where prune candidates are looked for)."""
    found = []
    for api_group in api_groups:
        for api_version, kind in registry.group_kinds().get(api_group, ()):
            res = cluster.resource(api_version, kind)
            if res is not None:
                found += _list_owned(cluster, res, group, namespaces)
    # the selector is the server's filter; the labels are checked again here, so a server
    # that ignored it could still never make us touch a foreign object
    return sorted((o for o in found if owner_group(o) == group), key=ObjectRef.of)


def _list_owned(cluster: Cluster, res: Resource, group: str,
                namespaces: Sequence[str]) -> list[dict]:
    try:
        return cluster.list(res, label_selector=selector(group))
    except ApiError as exc:
        # RBAC often grants namespaces, not the cluster: fall back to the design's namespaces
        if exc.status != 403 or not res.namespaced or not namespaces:
            raise
        found = []
        for namespace in sorted(set(namespaces)):
            found += cluster.list(res, namespace, selector(group))
        return found


def _groups_of(objects: Iterable[dict]) -> list[str]:
    return sorted({o["apiVersion"].rpartition("/")[0] for o in objects})


def _namespaces_of(objects: Iterable[dict]) -> list[str]:
    return sorted({ns for o in objects if (ns := o["metadata"].get("namespace"))})


def comparable(obj: dict) -> dict:
    """``obj`` without server bookkeeping (versions, managedFields, status)."""
    result = {k: copy.deepcopy(v) for k, v in obj.items() if k != "status"}
    meta = result.get("metadata") or {}
    for key in _SERVER_FIELDS:
        meta.pop(key, None)
    return result


def _unified(before: dict, after: dict) -> tuple[str, ...]:
    def text(obj: dict) -> list[str]:
        if not obj:
            return []
        return dump_sorted(comparable(obj)).splitlines(True)

    return tuple(difflib.unified_diff(text(before), text(after), "live", "applied", n=2))
