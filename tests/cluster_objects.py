"""Small hand-built mesh and workload objects for the cluster tests (no emitter needed)."""

from __future__ import annotations

from lanedesign.emit.common import GROUP_LABEL, MANAGED_BY, MANAGER

GROUP = "shop"
NS = "default"


def labels(group: str | None = GROUP) -> dict[str, str]:
    return {MANAGED_BY: MANAGER, GROUP_LABEL: group} if group else {}


def host(service: str) -> str:
    return f"{service}.{NS}.svc.cluster.local"


def dr(service: str, *lanes: str, group: str | None = GROUP) -> dict:
    """A DestinationRule with one subset per lane (labels ``version: <lane>``)."""
    return {
        "apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
        "metadata": {"name": service, "namespace": NS, "labels": labels(group)},
        "spec": {"host": host(service),
                 "subsets": [{"name": ln, "labels": {"version": ln}} for ln in lanes]},
    }


def vs(service: str, *lanes: str, baseline: str = "v1", header: str = "x-lane",
       group: str | None = GROUP, served: dict[str, str] | None = None) -> dict:
    """A mesh VirtualService: one route per lane (to ``served[lane]`` or the lane), then the
    baseline default."""
    served = served or {}
    http = [{"match": [{"headers": {header: {"exact": ln}}}],
             "route": [{"destination": {"host": host(service), "subset": served.get(ln, ln)}}]}
            for ln in lanes]
    http.append({"route": [{"destination": {"host": host(service), "subset": baseline}}]})
    return {
        "apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
        "metadata": {"name": service, "namespace": NS, "labels": labels(group)},
        "spec": {"hosts": [host(service)], "http": http},
    }


def ef(name: str = "shop-baggage", group: str | None = GROUP) -> dict:
    return {
        "apiVersion": "networking.istio.io/v1alpha3", "kind": "EnvoyFilter",
        "metadata": {"name": name, "namespace": NS, "labels": labels(group)},
        "spec": {"configPatches": [{"applyTo": "HTTP_FILTER",
                                    "match": {"context": "SIDECAR_OUTBOUND"},
                                    "patch": {"operation": "INSERT_BEFORE"}}]},
    }


def asm_group(name: str = GROUP, services: tuple[str, ...] = ("a", "b")) -> dict:
    return {
        "apiVersion": "istio.alibabacloud.com/v1", "kind": "ASMSwimLaneGroup",
        "metadata": {"name": name, "labels": labels(name)},
        "spec": {"isPermissive": True,
                 "services": [{"name": s, "namespace": NS} for s in services]},
    }


def asm_lane(lane: str, group: str = GROUP, services: tuple[str, ...] = ("a",)) -> dict:
    return {
        "apiVersion": "istio.alibabacloud.com/v1", "kind": "ASMSwimLane",
        "metadata": {"name": f"{group}-{lane}", "labels": {**labels(group),
                                                           "swimlane-group": group}},
        "spec": {"labelSelector": {"version": lane},
                 "services": [{"name": s, "namespace": NS} for s in services]},
    }


def shop(*lanes: str, services: tuple[str, ...] = ("cart", "pay")) -> list[dict]:
    """The emitted set for services holding every lane: DRs first, then VSs."""
    return [*(dr(s, *lanes) for s in services), *(vs(s, *lanes) for s in services)]


def service(name: str, namespace: str = NS, selector: dict | None = None,
            port: int = 8080) -> dict:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"selector": {"app": name} if selector is None else selector,
                     "ports": [{"port": port}]}}


def deployment(app: str, pod_labels: dict[str, str], namespace: str = NS) -> dict:
    """A Deployment a real API server accepts (selector, a container); no pods ever run."""
    suffix = "-".join(pod_labels.values()) or "plain"
    labels = {"app": app, **pod_labels}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": f"{app}-{suffix}", "namespace": namespace},
            "spec": {"selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": app,
                                                           "image": f"example.com/{app}:1"}]}}}}
