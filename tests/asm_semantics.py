"""An independent reading of ASM lane objects (``asm-lanes.md`` §2), for checking the emitter.

It uses none of the emitter's or simulator's code: it reads the plain dicts the way ASM's
documentation describes them.
- Rule-based ingress: a request enters a lane only if it matches one of that lane's online
  rules. ASM keeps each lane's rules in order but puts the lanes in an order it does not
  document, so ``enter`` takes the lane order as an argument; a faithful emitter gives the
  same answer for every order.
- Weighted ingress: the group-wide match first, then a split by each lane's weight.
- Serving: a lane serves the services it lists; in permissive mode any other service is
  served by its ``serviceLevelFallbackTarget`` (keyed ``namespace/name``) or else the
  ``fallbackTarget``, and the chain keeps its lane (it returns at the next service it holds).
- A service's patches (``services[].httpRoutePatch`` / ``trafficPolicyPatch`` on the group;
  raw JSON in ASM's Go types, undocumented, so this is asm-lanes.md's inference): the route
  patch is merged into every HTTP route ASM generates for the service, whichever lane it
  serves; the traffic-policy patch is the DestinationRule's ``trafficPolicy``, for every
  lane's subset. Patches on a lane's service references mean nothing here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import re2

GROUP, LANE = "ASMSwimLaneGroup", "ASMSwimLane"


@dataclass(frozen=True)
class AsmLane:
    name: str
    services: frozenset[str]  # "namespace/name"
    rules: tuple[dict, ...]
    weight: int | None


@dataclass(frozen=True)
class AsmGroup:
    """One group and its lanes as ASM would hold them."""

    permissive: bool
    fallback_target: str | None
    service_fallback: Mapping[str, str]
    services: tuple[tuple[str, str], ...]  # (name, namespace), in group order
    lanes: tuple[AsmLane, ...]
    weighted: bool
    weighted_hosts: tuple[str, ...]
    weighted_matches: tuple[dict, ...]
    route_patches: Mapping[str, dict]  # "namespace/name" -> httpRoutePatch
    policy_patches: Mapping[str, dict]  # "namespace/name" -> trafficPolicyPatch

    @property
    def lane_names(self) -> tuple[str, ...]:
        return tuple(lane.name for lane in self.lanes)

    def lane(self, name: str) -> AsmLane:
        return next(lane for lane in self.lanes if lane.name == name)


def read(objects: Iterable[dict]) -> AsmGroup:
    """The single group in ``objects`` with the lanes labelled ``swimlane-group: <group>``."""
    objects = list(objects)
    (group,) = [o for o in objects if o["kind"] == GROUP]
    name = group["metadata"]["name"]
    spec = group["spec"]
    config = spec.get("permissiveModeConfiguration", {})
    routing = spec.get("ingress", {}).get("ingressRouting", {})
    weighted_rule = routing.get("weightedRoutingRule", {})
    lanes = tuple(
        AsmLane(
            name=o["metadata"]["name"],
            services=frozenset(f"{s['namespace']}/{s['name']}" for s in o["spec"]["services"]),
            rules=tuple(r for r in o["spec"].get("ingressRules", ()) if r.get("online")),
            weight=o["spec"].get("ingressWeight", {}).get("weight")
            if "ingressWeight" in o["spec"] else None,
        )
        for o in objects
        if o["kind"] == LANE and o["metadata"]["labels"].get("swimlane-group") == name
    )
    return AsmGroup(
        permissive=bool(spec.get("isPermissive")),
        fallback_target=config.get("fallbackTarget"),
        service_fallback=dict(config.get("serviceLevelFallbackTarget", {})),
        services=tuple((s["name"], s["namespace"]) for s in spec["services"]),
        lanes=lanes,
        weighted=routing.get("ingressRoutingStrategy") == "weighted",
        weighted_hosts=tuple(weighted_rule.get("hosts", ())),
        weighted_matches=tuple(weighted_rule.get("requestMatches", ())),
        route_patches=_patches(spec["services"], "httpRoutePatch"),
        policy_patches=_patches(spec["services"], "trafficPolicyPatch"),
    )


def _patches(services: Iterable[dict], key: str) -> dict[str, dict]:
    return {f"{s['namespace']}/{s['name']}": s[key] for s in services if s.get(key)}


def route_settings(group: AsmGroup, service: str, namespace: str, lane: str) -> dict:
    """The fields ASM's patch adds to the route taking ``lane``'s calls to ``service``: the
    same for every lane (the serving lane only picks the subset)."""
    serving(group, lane, service, namespace)  # the lane reaches some version of it
    return dict(group.route_patches.get(f"{namespace}/{service}", {}))


def subset_policy(group: AsmGroup, service: str, namespace: str, lane: str) -> dict:
    """The traffic policy of the subset that serves ``lane``'s calls to ``service``."""
    serving(group, lane, service, namespace)
    return dict(group.policy_patches.get(f"{namespace}/{service}", {}))


def serving(group: AsmGroup, lane: str, service: str, namespace: str) -> str:
    """The lane whose version serves ``service`` for a chain in ``lane``."""
    key = f"{namespace}/{service}"
    if key in group.lane(lane).services:
        return lane
    assert group.permissive, f"strict lane {lane} lacks {key}: ASM rejects such a group"
    target = group.service_fallback.get(key, group.fallback_target)
    assert target is not None and key in group.lane(target).services, key
    return target


def routing_table(group: AsmGroup) -> dict[str, dict[str, str]]:
    """``{service: {lane: serving lane}}``, the shape of the simulator's table."""
    return {name: {lane: serving(group, lane, name, ns) for lane in group.lane_names}
            for name, ns in group.services}


def enter(group: AsmGroup, path: str, headers: Mapping[str, str], host: str | None,
          lane_order: Iterable[str]) -> dict[str, int] | None:
    """Where the gateway sends a request: ``{lane: weight}`` (a rule gives one lane), or 404."""
    if group.weighted:
        if _host_ok(group.weighted_hosts, host) and any(
                _match_ok(m, path, headers) for m in group.weighted_matches):
            return {ln.name: ln.weight for ln in group.lanes if ln.weight}
        return None
    for name in lane_order:
        for rule in group.lane(name).rules:
            if _host_ok(rule["hosts"], host) and _match_ok(rule["match"], path, headers):
                return {name: 100}
    return None


def _host_ok(hosts: Iterable[str], host: str | None) -> bool:
    if host is None:
        return True
    return any(h == "*" or h == host or (h.startswith("*.") and host.endswith(h[1:]))
               for h in hosts)


def _match_ok(match: Mapping, path: str, headers: Mapping[str, str]) -> bool:
    if "uri" in match and not _string_ok(match["uri"], path):
        return False
    return all(_string_ok(m, headers.get(name)) for name, m in match.get("headers", {}).items())


def _string_ok(match: Mapping[str, str], value: str | None) -> bool:
    (kind, expected), = match.items()
    if value is None:
        return False
    if kind == "exact":
        return value == expected
    if kind == "prefix":
        return value.startswith(expected)
    return re2.fullmatch(expected, value) is not None
