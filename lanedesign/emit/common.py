"""What every target shares: ownership labels, object names, hosts, the target error."""

from __future__ import annotations

import hashlib

from ..findings import Finding, make
from ..model import LaneDesign, RequestMatch

MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGER = "lanedesign"
GROUP_LABEL = "lanedesign.io/group"
CLUSTER_DOMAIN = "svc.cluster.local"


class TargetError(Exception):
    """The target cannot express the design; ``finding`` says why and what to do."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(f"{finding.code} {finding.message}")
        self.finding = finding


def labels_only(obj: dict) -> bool:
    """True for an object lanedesign only labels and never owns: a Namespace, or an app's
    Service given without ``spec`` (ambient's ``istio.io/use-waypoint`` labels). Applied
    server-side, only its labels are written; it carries no ownership labels, so the cluster
    never prunes or removes it, and never creates it."""
    return obj.get("kind") == "Namespace" or (
        obj.get("kind") == "Service" and obj.get("apiVersion") == "v1" and "spec" not in obj)


def managed_labels(design: LaneDesign) -> dict[str, str]:
    """Labels on every emitted object: who owns it and which design (group) it belongs to."""
    return {MANAGED_BY: MANAGER, GROUP_LABEL: design.name}


def object_name(*parts: str, limit: int = 63) -> str:
    """A deterministic DNS-1123 name from ``parts``; too long names keep a hash suffix.

    The hash makes two long names that share a prefix still differ, and is stable across runs.
    """
    name = "-".join(p for p in parts if p)
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: limit - 9].rstrip('-.')}-{digest}"


def service_host(design: LaneDesign, service: str) -> str:
    """The service's cluster FQDN, as Istio hosts and destinations name it."""
    return service_fqdn(service, design.namespace_of(service))


def service_fqdn(name: str, namespace: str) -> str:
    """``<name>.<namespace>.svc.cluster.local``."""
    return f"{name}.{namespace}.{CLUSTER_DOMAIN}"


def resolve_host(host: str, namespace: str) -> str:
    """A host in an Istio object of ``namespace`` as Istio reads it
    (``ResolveShortnameToFQDN``): a name without a dot is a Service of that namespace;
    anything else (``reviews.default`` too) is taken as written."""
    host = host.lower()
    if host and host != "*" and "." not in host and namespace:
        return service_fqdn(host, namespace)
    return host


def hosts_intersect(a: str, b: str) -> bool:
    """Can one request host match both ``a`` and ``b`` (each may be ``*`` or ``*.suffix``)?"""
    a, b = a.lower(), b.lower()
    if a == "*" or b == "*" or a == b:
        return True
    if a.startswith("*.") and b.startswith("*."):
        return a.endswith(b[1:]) or b.endswith(a[1:])
    if a.startswith("*."):
        return b.endswith(a[1:])
    if b.startswith("*."):
        return a.endswith(b[1:])
    return False


def gateway_key(gateway: str, namespace: str) -> tuple[str, str]:
    """A VirtualService's ``gateways`` entry as Istio resolves it: ``ns/name``, the legacy
    FQDN form ``name.ns.svc.cluster.local``, or a bare name in the object's namespace."""
    ns, sep, name = gateway.partition("/")
    if sep:
        return ns, name
    if "." in gateway:
        parts = gateway.split(".")
        return parts[1], parts[0]
    return namespace, gateway


def request_match_dict(match: RequestMatch) -> dict[str, dict]:
    """A match as Istio and ASM spell it, empty parts left out.

    ``RequestMatch(uri=StringMatch("exact", "/mock"))`` -> ``{"uri": {"exact": "/mock"}}``
    """
    out: dict[str, dict] = {}
    if match.uri is not None:
        out["uri"] = {match.uri.kind: match.uri.value}
    if match.headers:
        out["headers"] = {name: {m.kind: m.value} for name, m in match.headers}
    return out


def team_routing_problems(design: LaneDesign, target: str) -> list[Finding]:
    """LD948 for each service with a team's routing, on a target that cannot carry it yet."""
    return [make("LD948", f"spec.services[{i}].routing", f"{target} cannot carry "
                 f"{svc.name}'s team routing yet; exporting would drop it")
            for i, svc in enumerate(design.services) if svc.routing is not None]
