"""Istio ambient on the cluster: enrolment, waypoints and the labels that pick them.

In ambient mode (Istio's docs, "Ambient mode" > "Use waypoint proxies") a namespace's pods
are captured by ztunnel when the namespace is labelled ``istio.io/dataplane-mode=ambient``;
ztunnel forwards L4 only. L7 routing (the lanes' HTTPRoutes) runs in a waypoint, a Gateway
of class ``istio-waypoint``, and only for the traffic of a Service (or of every Service of a
namespace) labelled ``istio.io/use-waypoint: <waypoint>`` (``istio.io/use-waypoint-namespace``
when the waypoint lives elsewhere). A lane service without one is routed by no one: requests
reach every version's pods behind the Service, silently. This module reads that state from
plain objects (import and diff call it; nothing here speaks HTTP).

The export marks a Namespace or an app Service with ``istio.io/use-waypoint`` by a
*label-only object*: the Namespace, or a Service without ``spec``. lanedesign never creates,
owns or deletes those: it applies the label under its field manager, records which lane group
set it (``LABELLED_BY``), and on prune or remove applies the object with no labels, which
drops the labels only it set (server-side apply removes the fields a manager stops sending).
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ..emit.common import GROUP_LABEL, MANAGED_BY

# what the export makes is named where it is made; named here too for the cluster's callers
from ..emit.common import labels_only as is_label_only
from ..emit.gateway_api import USE_WAYPOINT as USE_WAYPOINT
from ..emit.gateway_api import WAYPOINT_CLASS as WAYPOINT_CLASS
from ..findings import Finding, make
from ..model import LaneDesign, Waypoint

DATAPLANE_MODE = "istio.io/dataplane-mode"
USE_WAYPOINT_NAMESPACE = "istio.io/use-waypoint-namespace"
# on a Namespace or app Service lanedesign labelled: which lane group set the labels
LABELLED_BY = "lanedesign.io/labelled-by"
NO_WAYPOINT = "none"  # `istio.io/use-waypoint: none` opts a Service out of its namespace's


def labels_of(obj: Mapping | None) -> dict[str, str]:
    return dict(((obj or {}).get("metadata") or {}).get("labels") or {})


def is_ambient(namespace: Mapping | None) -> bool:
    return labels_of(namespace).get(DATAPLANE_MODE) == "ambient"


def is_waypoint(obj: Mapping) -> bool:
    """A Gateway of class ``istio-waypoint`` (Gateway API, any served version)."""
    return (obj.get("kind") == "Gateway"
            and str(obj.get("apiVersion", "")).startswith("gateway.networking.k8s.io/")
            and (obj.get("spec") or {}).get("gatewayClassName") == WAYPOINT_CLASS)


def label_object(obj: Mapping, group: str) -> dict:
    """The label-only object as applied: name, namespace and the labels it sets, with
    ``LABELLED_BY`` and without the ownership labels (which would make the app's Service a
    prune candidate of the lane group)."""
    meta = obj.get("metadata") or {}
    labels = {k: v for k, v in labels_of(obj).items() if k not in (MANAGED_BY, GROUP_LABEL)}
    out_meta = {"name": meta.get("name", "")}
    if meta.get("namespace") and obj.get("kind") != "Namespace":
        out_meta["namespace"] = meta["namespace"]
    out_meta["labels"] = {**labels, LABELLED_BY: group}
    return {"apiVersion": "v1", "kind": obj["kind"], "metadata": out_meta}


def labelled_by(live: Mapping | None) -> str | None:
    """The lane group that labelled this app Namespace or Service, or ``None``."""
    if (live or {}).get("kind") not in ("Namespace", "Service"):
        return None
    labels = labels_of(live)
    if labels.get(MANAGED_BY):  # an object lanedesign owns (a version Service) is never one
        return None
    return labels.get(LABELLED_BY)


def unlabel_object(live: Mapping) -> dict:
    """What, applied under our field manager, drops every label lanedesign set on ``live``."""
    meta = live.get("metadata") or {}
    out_meta = {"name": meta.get("name", "")}
    if meta.get("namespace"):
        out_meta["namespace"] = meta["namespace"]
    return {"apiVersion": "v1", "kind": live.get("kind", ""), "metadata": out_meta}


def labels_hold(live: Mapping | None, wanted: Mapping) -> bool:
    """Whether ``live`` already carries every label of the label-only object ``wanted``."""
    have = labels_of(live)
    return all(have.get(k) == v for k, v in labels_of(wanted).items())


def with_labels(live: Mapping | None, emitted: Sequence[Mapping]) -> dict | None:
    """``live`` as it will be once the emitted label-only objects for it are applied."""
    if live is None:
        return None
    out = copy.deepcopy(dict(live))
    meta = out.setdefault("metadata", {})
    key = (out.get("kind"), meta.get("namespace"), meta.get("name"))
    for obj in emitted:
        m = obj.get("metadata") or {}
        if is_label_only(obj) and (obj.get("kind"), m.get("namespace") if obj.get(
                "kind") != "Namespace" else None, m.get("name")) == key:
            meta["labels"] = {**(meta.get("labels") or {}), **labels_of(obj)}
    return out


# -- what diff says about a design in (or headed to) ambient ---------------------------------
@dataclass(frozen=True)
class AmbientState:
    """What diff read from the cluster: Namespaces and app Services (``None``: missing or
    unreadable), and the waypoint Gateways there as (namespace, name)."""

    namespaces: Mapping[str, dict | None]
    services: Mapping[tuple[str, str], dict | None]
    waypoints: frozenset[tuple[str, str]]


def routed_services(design: LaneDesign) -> list[str]:
    """The services a lane routes to another version than the baseline's (a header picks
    it): the ones a missing waypoint silently unroutes."""
    serve = design.serving_lane_resolver()
    return [s.name for s in design.services if not s.tcp_only and any(
        serve(lane, s.name) != design.baseline for lane in design.lane_names)]


def ambient_findings(design: LaneDesign, objects: Sequence[dict],
                     state: AmbientState) -> list[Finding]:
    """LD961-LD965 for ``design`` (about to be applied as ``objects``) against ``state``."""
    findings: list[Finding] = []
    ambient_design = design.data_plane == "ambient"
    emitted_wps = {(o["metadata"].get("namespace"), o["metadata"]["name"])
                   for o in objects if is_waypoint(o)}
    envoy_filters = any(o.get("kind") == "EnvoyFilter" for o in objects)
    for ns in sorted({design.namespace_of(s) for s in design.service_names}):
        live_ns = state.namespaces.get(ns)
        if live_ns is None:
            continue  # missing namespaces are the dry run's rejections, not ours
        enrolled = is_ambient(live_ns)
        if ambient_design and not enrolled:
            findings.append(make("LD963", f"Namespace {ns}", f"the design targets ambient but "
                                 f"namespace {ns} is not labelled {DATAPLANE_MODE}=ambient: "
                                 "its pods never reach a waypoint"))
        if not ambient_design and enrolled:
            findings.append(make("LD964", f"Namespace {ns}", f"namespace {ns} is enrolled in "
                                 "ambient but the design targets sidecars (dataPlane: "
                                 "sidecar): no L7 route applies there without a waypoint"))
            if envoy_filters:
                findings.append(make("LD965", f"Namespace {ns}", f"namespace {ns} is in "
                                     "ambient: Istio does not apply the export's EnvoyFilter "
                                     "on waypoints, so the lane context is neither set nor "
                                     "carried there"))
        if enrolled or ambient_design:
            findings += _waypoint_findings(design, ns, objects, state, emitted_wps)
    return findings


def _waypoint_findings(design: LaneDesign, ns: str, objects: Sequence[dict],
                       state: AmbientState, emitted: set) -> list[Finding]:
    findings = []
    ns_after = with_labels(state.namespaces.get(ns), objects)
    for name in routed_services(design):
        if design.namespace_of(name) != ns:
            continue
        svc = state.services.get((ns, name))
        if svc is None:
            continue  # the app's Service is missing: the dry run and the route say so
        chosen = waypoint_of(with_labels(svc, objects), ns_after)
        path = f"Service {ns}/{name}"
        if chosen is None:
            findings.append(make("LD961", path, f"{name} has no waypoint (neither Service "
                                 f"{ns}/{name} nor namespace {ns} is labelled {USE_WAYPOINT}): "
                                 "the lanes would silently not route there, requests reach "
                                 "every version's pods behind the Service",
                                 f"Set `dataPlane: ambient` and export with --target "
                                 f"gateway-api (it labels them), or `kubectl label namespace "
                                 f"{ns} {USE_WAYPOINT}={design.waypoint.name}`."))
        elif chosen not in state.waypoints and chosen not in emitted:
            findings.append(make("LD962", path, f"{name} uses waypoint {chosen[0]}/{chosen[1]}"
                                 ", which is neither in the cluster nor emitted by the design: "
                                 "the lanes would silently not route there"))
    return findings


def waypoint_of(service: Mapping | None, namespace: Mapping | None) -> tuple[str, str] | None:
    """The waypoint (namespace, name) a Service's traffic goes through: its own label, else
    its namespace's; ``None`` when neither names one (or the Service opts out)."""
    for obj in (service, namespace):
        labels = labels_of(obj)
        if USE_WAYPOINT in labels:
            if labels[USE_WAYPOINT] in ("", NO_WAYPOINT):
                return None
            home = labels.get(USE_WAYPOINT_NAMESPACE) or (
                (service or {}).get("metadata", {}).get("namespace")
                or (namespace or {}).get("metadata", {}).get("name"))
            return (home, labels[USE_WAYPOINT])
    return None


# -- what import-cluster proposes ---------------------------------------------------------------
def propose(design: LaneDesign, namespaces: Iterable[dict], services: Iterable[dict],
            mesh: Iterable[dict], opted_out: Iterable[str] = (),
            ) -> tuple[LaneDesign, list[str], list[Finding]]:
    """``design`` with ``dataPlane`` and ``waypoint`` as the cluster has them, notes, LD960
    (``opted_out``: services whose pods say ``istio.io/dataplane-mode: none``)."""
    ns_by_name = {labels_name(n): n for n in namespaces}
    home = ns_by_name.get(design.namespace)
    used = {design.namespace_of(s) for s in design.service_names}
    enrolled = sorted(ns for ns in used if is_ambient(ns_by_name.get(ns)))
    notes: list[str] = []
    if not enrolled:
        return design, notes, []
    findings: list[Finding] = []
    if len(enrolled) < len(used):
        findings.append(make("LD960", "spec.dataPlane", "only namespace(s) "
                             f"{', '.join(enrolled)} of {', '.join(sorted(used))} are enrolled "
                             f"in ambient ({DATAPLANE_MODE}=ambient)"))
    out = sorted(set(opted_out) & set(design.service_names))
    if out:
        findings.append(make("LD960", "spec.dataPlane", f"the pods of {', '.join(out)} opt "
                             f"out of ambient ({DATAPLANE_MODE}: none): no waypoint routes "
                             "their lanes"))
    by_key = {((s.get("metadata") or {}).get("namespace"), (s.get("metadata") or {}).get("name")):
              s for s in services}
    waypoints = {(o["metadata"].get("namespace"), o["metadata"]["name"]) for o in mesh
                 if is_waypoint(o)}
    chosen = {name: waypoint_of(by_key.get((design.namespace_of(name), name)),
                                ns_by_name.get(design.namespace_of(name)))
              for name in design.service_names}
    notes.append(f"namespace(s) {', '.join(enrolled)} enrolled in ambient "
                 f"({DATAPLANE_MODE}=ambient): dataPlane ambient; export with --target "
                 "gateway-api")
    waypoint = _proposed_waypoint(design, home, chosen, waypoints, notes, findings)
    return design.with_(data_plane="ambient", waypoint=waypoint), notes, findings


def labels_name(obj: Mapping) -> str:
    return (obj.get("metadata") or {}).get("name", "")


def _proposed_waypoint(design: LaneDesign, home: Mapping | None,
                       chosen: Mapping[str, tuple[str, str] | None],
                       waypoints: set[tuple[str, str]], notes: list[str],
                       findings: list[Finding]) -> Waypoint:
    names = Counter(wp[1] for wp in chosen.values() if wp is not None)
    if not names:
        if waypoints:
            notes.append("waypoint(s) " + ", ".join(f"{n}/{w}" for n, w in sorted(waypoints))
                         + f" exist but no Service or namespace is labelled {USE_WAYPOINT}; "
                         "the export labels the namespace")
            name = sorted(waypoints)[0][1]
            return Waypoint(name=name, scope="namespace", create=False)
        notes.append("no waypoint in the namespace: the gateway-api export creates one "
                     "(waypoint.create) and labels the namespace")
        return Waypoint()
    per_service = all(wp is not None and wp[1] == f"{s}-waypoint" for s, wp in chosen.items())
    home_wp = labels_of(home).get(USE_WAYPOINT)
    if not per_service and (None in chosen.values() or len(names) > 1):
        findings.append(make("LD960", "spec.waypoint", "services are not all behind one "
                             "waypoint: " + "; ".join(
                                 f"{s}: {wp[1] if wp else 'none'}"
                                 for s, wp in sorted(chosen.items()))))
    if per_service and not home_wp:
        waypoint = Waypoint(name="waypoint", scope="service", create=False)
    else:
        waypoint = Waypoint(name=home_wp or names.most_common(1)[0][0], scope="namespace",
                            create=False)
    missing = sorted({wp for wp in chosen.values() if wp is not None} - waypoints)
    if missing:
        notes.append("labelled waypoint(s) not found as Gateways of class "
                     f"{WAYPOINT_CLASS}: " + ", ".join(f"{n}/{w}" for n, w in missing))
    notes.append(f"waypoint {waypoint.name!r} (scope {waypoint.scope}) exists: the proposal "
                 "refers to it (create: false)")
    return waypoint
