"""Online Boutique and Bookinfo as their authors ship them (``../shared/realapps``), read
with lanedesign's codec and labelled for lanes the way a user would: every pod template
``version: v1``, plus v2 copies of a few Deployments."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

from lanedesign.codec import parse_yaml_documents

# Online Boutique's calls as its README lists them (and its `*_ADDR` env vars name them)
BOUTIQUE_CALLS = {
    "frontend": {"productcatalogservice", "currencyservice", "cartservice",
                 "recommendationservice", "shippingservice", "checkoutservice", "adservice"},
    "checkoutservice": {"productcatalogservice", "shippingservice", "paymentservice",
                        "emailservice", "currencyservice", "cartservice"},
    "recommendationservice": {"productcatalogservice"},
    "cartservice": {"redis-cart"},
}
BOUTIQUE_SERVICES = {"frontend", "adservice", "currencyservice", "cartservice", "redis-cart",
                     "recommendationservice", "checkoutservice", "emailservice",
                     "paymentservice", "shippingservice", "productcatalogservice"}


@dataclass
class App:
    """An app's objects by role, in the namespace the test puts them in."""

    services: list[dict]
    deployments: list[dict]
    mesh: list[dict] = field(default_factory=list)  # Gateways, VirtualServices, HTTPRoutes

    @property
    def workload_objects(self) -> list[dict]:
        return [*self.services, *self.deployments]


def documents(path: Path) -> list[dict]:
    docs, problem = parse_yaml_documents(path.read_text(encoding="utf-8"))
    assert problem is None, problem
    return [d for d in docs if isinstance(d, dict)]


def in_namespace(obj: dict, namespace: str) -> dict:
    obj = copy.deepcopy(obj)
    obj["metadata"]["namespace"] = namespace
    return obj


def with_version(dep: dict, value: str, rename: bool = False) -> dict:
    """``dep`` with pod label ``version: value`` (in its selector too, as a second
    Deployment of the same app must have); ``-<value>`` added to the name if ``rename``."""
    dep = copy.deepcopy(dep)
    dep["spec"]["template"]["metadata"]["labels"]["version"] = value
    dep["spec"]["selector"]["matchLabels"]["version"] = value
    if rename:
        dep["metadata"]["name"] += f"-{value}"
    return dep


def of_kind(docs: list[dict], *kinds: str) -> list[dict]:
    return [d for d in docs if d.get("kind") in kinds]


def boutique(shared: Path, namespace: str = "default", v2: tuple[str, ...] = (
        "frontend", "cartservice")) -> App:
    """Online Boutique: every Deployment ``version: v1``, v2 copies of ``v2``."""
    folder = shared / "realapps" / "online-boutique"
    docs = [in_namespace(d, namespace) for d in documents(folder / "kubernetes-manifests.yaml")]
    deployments = of_kind(docs, "Deployment")
    versioned = [with_version(d, "v1") for d in deployments]
    versioned += [with_version(d, "v2", rename=True) for d in deployments
                  if d["metadata"]["name"] in v2]
    mesh = [in_namespace(d, namespace) for d in documents(folder / "istio-manifests.yaml")]
    return App(of_kind(docs, "Service"), versioned,
               of_kind(mesh, "Gateway", "VirtualService", "HTTPRoute"))


def bookinfo(shared: Path, namespace: str = "default", versions: bool = True) -> App:
    """Bookinfo as shipped (pods already labelled ``version``), with its per-version
    Services when ``versions``, and the Istio and Gateway API ingress objects."""
    folder = shared / "realapps" / "bookinfo"
    docs = documents(folder / "platform/kube/bookinfo.yaml")
    if versions:
        docs += documents(folder / "platform/kube/bookinfo-versions.yaml")
    docs = [in_namespace(d, namespace) for d in docs]
    mesh = [in_namespace(d, namespace) for d in
            documents(folder / "networking/bookinfo-gateway.yaml")
            + documents(folder / "gateway-api/bookinfo-gateway.yaml")]
    return App(of_kind(docs, "Service"), of_kind(docs, "Deployment"), mesh)
