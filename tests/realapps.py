"""Online Boutique and Bookinfo as their authors ship them, and the lane designs they should get.

The manifests are read from ``../shared/realapps`` (the ``shared_dir`` fixture; never copied
into the project) and labelled the way a user adopting lanes would: every pod template gets
``version: v1`` (Boutique has no version label; Bookinfo has its own), Boutique gets ``-v2``
copies of frontend and cartservice (pod label ``version: v2``), Bookinfo keeps its own
reviews v1/v2/v3.

The expected designs (``boutique_design``, ``bookinfo_design``; ``boutique_gateway_api_design``
for the Gateway API, which cannot express Boutique's baggage default rules) are written by
hand from the facts in ``../shared/realapps/README.md`` - never computed from the manifests or by
lanedesign - so that a test comparing them with what lanedesign proposes, simulates or emits
checks something. Where a fact cannot be read from a cluster (calls no environment variable
names, per-version calls, forwarded headers, the pass-through method) the docstrings say so.

The rest turns the manifests into what real Istio and a real API server are given: a Pod per
Deployment (the pod template's labels and container ports, an injected sidecar, an IP),
EndpointSlices on each Service's resolved targetPort, the ingress gateway's pod.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

from realapp_manifests import documents, in_namespace, of_kind, with_version

from lanedesign.model import (
    Ingress,
    IngressRule,
    Lane,
    LaneDesign,
    PassThrough,
    RequestMatch,
    Service,
    ServicePort,
    StringMatch,
)

BOUTIQUE_NS = "boutique"
BOOKINFO_NS = "bookinfo"
VERSION = "version"  # the pod label the lanes select on

# -- the apps as shipped (read and labelled with realapp_manifests' helpers) ----------------


@dataclass
class App:
    """One application's objects in the namespace the tests give it."""

    name: str
    namespace: str
    services: list[dict]
    deployments: list[dict]
    # the app's own mesh objects (Istio Gateway, Gateway API Gateway/HTTPRoute, ...)
    mesh: list[dict] = field(default_factory=list)

    @property
    def namespace_object(self) -> dict:
        return {"apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": self.namespace, "labels": {"istio-injection": "enabled"}}}

    @property
    def workload_objects(self) -> list[dict]:
        """The Deployments and Services, as ``kubectl apply -f`` would create them."""
        return [*self.deployments, *self.services]

    def service(self, name: str) -> dict:
        (found,) = [s for s in self.services if s["metadata"]["name"] == name]
        return found

    def mesh_object(self, kind: str, name: str) -> dict:
        (found,) = [o for o in self.mesh
                    if o["kind"] == kind and o["metadata"]["name"] == name]
        return found


BOUTIQUE_V2 = ("frontend", "cartservice")


def boutique(shared: Path, namespace: str = BOUTIQUE_NS) -> App:
    """Online Boutique: ``kubernetes-manifests.yaml`` with every pod template ``version: v1``,
    plus ``frontend-v2`` and ``cartservice-v2`` (``version: v2``); its ``istio-manifests.yaml``
    as the app's own mesh objects."""
    folder = shared / "realapps" / "online-boutique"
    docs = [in_namespace(d, namespace) for d in documents(folder / "kubernetes-manifests.yaml")]
    deployments = [with_version(d, "v1") for d in of_kind(docs, "Deployment")]
    deployments += [with_version(d, "v2", rename=True) for d in of_kind(docs, "Deployment")
                    if d["metadata"]["name"] in BOUTIQUE_V2]
    mesh = [in_namespace(d, namespace) for d in documents(folder / "istio-manifests.yaml")]
    return App("boutique", namespace, of_kind(docs, "Service"), deployments, mesh)


def bookinfo(shared: Path, namespace: str = BOOKINFO_NS) -> App:
    """Bookinfo: ``platform/kube/bookinfo.yaml`` as shipped (its pods carry ``version``
    already: details/ratings/productpage v1, reviews v1, v2, v3); its Istio ingress
    (``networking/bookinfo-gateway.yaml``) as the app's own mesh objects."""
    folder = shared / "realapps" / "bookinfo"
    docs = [in_namespace(d, namespace) for d in documents(folder / "platform/kube/bookinfo.yaml")]
    mesh = [in_namespace(d, namespace)
            for d in documents(folder / "networking/bookinfo-gateway.yaml")]
    return App("bookinfo", namespace, of_kind(docs, "Service"), of_kind(docs, "Deployment"),
               mesh)


# -- the designs they should get, by hand from the README -------------------------------------
GRPC = "grpc"

# Online Boutique's Services in the order the manifest lists them, with their ports exactly
# (targetPort written only where it differs from the port: the model's None means "the same")
BOUTIQUE_PORTS: dict[str, tuple[ServicePort, ...]] = {
    "frontend": (ServicePort(80, "http", 8080),),
    "adservice": (ServicePort(9555, GRPC),),
    "currencyservice": (ServicePort(7000, GRPC),),
    "cartservice": (ServicePort(7070, GRPC),),
    "redis-cart": (ServicePort(6379, "tcp-redis"),),
    "recommendationservice": (ServicePort(8080, GRPC),),
    "checkoutservice": (ServicePort(5050, GRPC),),
    "emailservice": (ServicePort(5000, GRPC, 8080),),
    "paymentservice": (ServicePort(50051, GRPC),),
    "shippingservice": (ServicePort(50051, GRPC),),
    "productcatalogservice": (ServicePort(3550, GRPC),),
}
# The calls, in the order of the ``*_ADDR`` variables in each Deployment (the README's list);
# the optional shoppingassistantservice is not deployed by the release, so it is no call.
BOUTIQUE_CALLS: dict[str, tuple[str, ...]] = {
    "frontend": ("productcatalogservice", "currencyservice", "cartservice",
                 "recommendationservice", "shippingservice", "checkoutservice", "adservice"),
    "checkoutservice": ("productcatalogservice", "shippingservice", "paymentservice",
                        "emailservice", "currencyservice", "cartservice"),
    "recommendationservice": ("productcatalogservice",),
    "cartservice": ("redis-cart",),
}


def boutique_design(namespace: str = BOUTIQUE_NS) -> LaneDesign:
    """Online Boutique with lane v2 = {frontend, cartservice} over the v1 baseline.

    Pass-through: **baggage** (the default). Boutique's services are OpenTelemetry apps: the
    SDK's W3C propagators extract and re-inject ``baggage`` on every gRPC call, so the lane
    survives every hop without a change to the apps (no ``forwards`` list: they forward what
    carries the context). A custom route header would be dropped at the first hop.
    Ingress: the entry is frontend (``frontend-external``, the LoadBalancer over the same
    pods, is not a service of its own); requests naming no lane reach v1
    (``ingress.default``); the gateway is the one the app ships (``istio-manifests.yaml``:
    the Gateway API Gateway ``istio-gateway`` its HTTPRoute ``frontend-route`` attaches to).
    What no cluster shows and a user adds: nothing - the calls are in the environment.
    """
    services = tuple(
        Service(name, calls=BOUTIQUE_CALLS.get(name, ()), ports=ports)
        for name, ports in BOUTIQUE_PORTS.items())
    return LaneDesign(
        name="boutique", namespace=namespace, services=services, baseline="v1",
        lanes=(Lane("v1", ((VERSION, "v1"),), tuple(BOUTIQUE_PORTS)),
               Lane("v2", ((VERSION, "v2"),), ("frontend", "cartservice"))),
        pass_through=PassThrough("baggage"),
        ingress=Ingress(gateway=f"{namespace}/istio-gateway", hosts=("*",), entry="frontend",
                        default="v1"))



# The header a tester's client sends to enter lane v2 at a Gateway API gateway
BOUTIQUE_TESTER = ("x-user", "tester")


def boutique_gateway_api_design(namespace: str = BOUTIQUE_NS) -> LaneDesign:
    """Online Boutique for the Gateway API target: ``boutique_design`` with the lane chosen at
    the gateway by a header of the user's (``x-user: tester`` -> v2, else v1).

    ``boutique_design``'s default ingress rules match the route header, and with baggage
    Istio's gateway takes the lane from the client's ``baggage`` when that header is absent;
    a Gateway API match cannot test that a header is absent, so the target refuses them
    (LD623). Explicit rules on another header it can express: the gateway's HTTPRoute sets
    the route header and the lane's baggage member (replacing the client's ``baggage``), and
    the hops keep baggage, which Boutique's OpenTelemetry apps carry. So a client's own
    baggage naming a lane enters v1 here: only the gateway's rule puts a request in a lane.
    """
    header, value = BOUTIQUE_TESTER
    tester = IngressRule("v2", RequestMatch(headers=((header, StringMatch("exact", value)),)))
    return boutique_design(namespace).with_ingress(rules=(tester,))

# What productpage and reviews copy onto their calls (the README, from their source); no
# ``baggage`` and no custom header outside this list.
BOOKINFO_FORWARDS: tuple[str, ...] = (
    "x-request-id", "traceparent", "tracestate", "x-b3-traceid", "x-b3-spanid",
    "x-b3-parentspanid", "x-b3-sampled", "x-b3-flags", "x-ot-span-context",
    "x-datadog-trace-id", "x-datadog-parent-id", "x-datadog-sampling-priority",
    "x-cloud-trace-context", "grpc-trace-bin", "sw8", "end-user", "user-agent", "cookie",
    "authorization", "jwt")
BOOKINFO_ROUTE_HEADER = "end-user"
BOOKINFO_PORT = (ServicePort(9080, "http"),)


def bookinfo_design(namespace: str = BOOKINFO_NS) -> LaneDesign:
    """Bookinfo with lanes v2 = {reviews} and v3 = {reviews} over the v1 baseline.

    Pass-through: the **header** method on ``end-user``. productpage and reviews forward a
    fixed list (``forwards``) that has no ``baggage`` and no custom header, so a baggage lane
    is lost after productpage (LD406: ``bookinfo_baggage_design``); of the list, ``end-user``
    is the one header that can carry a lane name (the ``x-b3-*``/``traceparent`` ones are
    per-trace ids, which Istio cannot map to a lane: LD601). The lane's name is the header's
    value, so ``end-user: v2`` enters lane v2 - as Bookinfo's own
    ``virtual-service-reviews-jason-v2-v3.yaml`` routes on ``end-user``.
    Calls: productpage -> details, reviews; reviews v1 calls nothing, v2 and v3 call ratings
    (``laneCalls``). None of this is in Bookinfo's environment: calls, laneCalls, forwards
    and the method are what a user adds to an import.
    Ingress: entry productpage, default v1, through the app's own Gateway
    ``bookinfo-gateway`` (``networking/bookinfo-gateway.yaml``).
    """
    names = ("details", "ratings", "reviews", "productpage")  # the manifest's order
    calls = {"productpage": ("details", "reviews")}
    forwards = {"productpage": BOOKINFO_FORWARDS, "reviews": BOOKINFO_FORWARDS}
    lane_calls = {"reviews": (("v2", ("ratings",)), ("v3", ("ratings",)))}
    services = tuple(Service(n, calls=calls.get(n, ()), ports=BOOKINFO_PORT,
                             lane_calls=lane_calls.get(n, ()), forwards=forwards.get(n))
                     for n in names)
    return LaneDesign(
        name="bookinfo", namespace=namespace, services=services, baseline="v1",
        route_header=BOOKINFO_ROUTE_HEADER,
        lanes=(Lane("v1", ((VERSION, "v1"),), names),
               Lane("v2", ((VERSION, "v2"),), ("reviews",)),
               Lane("v3", ((VERSION, "v3"),), ("reviews",))),
        pass_through=PassThrough("header"),
        ingress=Ingress(gateway=f"{namespace}/bookinfo-gateway", hosts=("*",),
                        entry="productpage", default="v1"))


def bookinfo_baggage_design(namespace: str = BOOKINFO_NS) -> LaneDesign:
    """Bookinfo with the default baggage method (what an import proposes before a user picks
    the method): the lane is lost after productpage, which does not forward ``baggage``."""
    return bookinfo_design(namespace).with_(route_header="x-asm-prefer-tag",
                                            pass_through=PassThrough("baggage"))


# -- the cluster as real Istio sees it: pods, endpoints, the gateway ---------------------------
PROXY_IMAGE = "docker.io/istio/proxyv2:1.29.0"
SIDECAR_STATUS = '{"containers":["istio-proxy"],"initContainers":["istio-init"]}'
GATEWAY_LABELS = {"istio": "ingressgateway"}


@dataclass(frozen=True)
class Pod:
    """One pod of a Deployment (``deployment`` None: the ingress gateway's pod)."""

    name: str
    namespace: str
    ip: str
    labels: dict[str, str]
    deployment: str | None
    container_ports: tuple[dict, ...]

    @property
    def version(self) -> str | None:
        return self.labels.get(VERSION)

    @property
    def proxy(self) -> dict:
        """The proxy as the xDS dump program takes it."""
        return {"name": self.name, "namespace": self.namespace, "ip": self.ip,
                "labels": self.labels,
                "type": "router" if self.deployment is None else "sidecar"}

    def container_port(self, target: int | str) -> int | None:
        """The number a Service's targetPort reaches on this pod (a name resolves here)."""
        for p in self.container_ports:
            if target in (p["containerPort"], p.get("name")):
                return p["containerPort"]
        return target if isinstance(target, int) else None

    def object(self) -> dict:
        meta: dict = {"name": self.name, "namespace": self.namespace, "labels": self.labels}
        if self.deployment is None:  # the gateway: the proxy is the pod's one container
            containers = [{"name": "istio-proxy", "image": PROXY_IMAGE,
                           "ports": list(self.container_ports)}]
        else:  # the app's containers with the sidecar the injector adds
            meta["annotations"] = {"sidecar.istio.io/status": SIDECAR_STATUS}
            containers = [{"name": "server", "image": "registry.example/app:1",
                           "ports": list(self.container_ports)},
                          {"name": "istio-proxy", "image": PROXY_IMAGE}]
        return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
                "spec": {"containers": containers},
                "status": {"phase": "Running", "podIP": self.ip, "podIPs": [{"ip": self.ip}],
                           "conditions": [{"type": "Ready", "status": "True"}]}}


def pods_of(app: App, subnet: int) -> list[Pod]:
    """One pod per Deployment, from its pod template (labels, container ports), in order."""
    out = []
    for n, dep in enumerate(app.deployments, start=1):
        template = dep["spec"]["template"]
        ports = tuple({k: v for k, v in p.items() if k in ("name", "containerPort", "protocol")}
                      for c in template["spec"]["containers"] for p in c.get("ports", []))
        out.append(Pod(dep["metadata"]["name"], app.namespace, f"10.{subnet}.0.{n}",
                       dict(template["metadata"]["labels"]), dep["metadata"]["name"], ports))
    return out


def gateway_pod(namespace: str, ip: str, port: int) -> Pod:
    return Pod("ingressgateway", namespace, ip, dict(GATEWAY_LABELS), None,
               ({"name": "http", "containerPort": port},))


def selects(service: dict, pod: Pod) -> bool:
    selector = service["spec"].get("selector") or {}
    return bool(selector) and all(pod.labels.get(k) == v for k, v in selector.items())


def as_created(service: dict, ip: str) -> dict:
    """The Service as the API server stores it: its ClusterIP, and each port's defaults
    (``targetPort`` = ``port``, ``protocol: TCP``; Bookinfo's Services leave both out, and
    Istio reads the inbound port from ``targetPort``)."""
    out = copy.deepcopy(service)
    out["spec"]["clusterIP"] = ip
    for port in out["spec"]["ports"]:
        port.setdefault("targetPort", port["port"])
        port.setdefault("protocol", "TCP")
    return out


def endpoint_slice(service: dict, pods: list[Pod]) -> dict:
    """What the EndpointSlice controller makes: the ready pods the Service selects, each
    Service port on the number its targetPort names on the pods."""
    mine = [p for p in pods if selects(service, p)]
    ports = []
    for sp in service["spec"]["ports"]:
        target = sp.get("targetPort", sp["port"])
        numbers = {p.container_port(target) for p in mine}
        assert len(numbers) <= 1, (service["metadata"]["name"], numbers)
        entry = {"port": numbers.pop() if numbers else sp["port"],
                 "protocol": sp.get("protocol", "TCP")}
        if "name" in sp:
            entry["name"] = sp["name"]
        if "appProtocol" in sp:
            entry["appProtocol"] = sp["appProtocol"]
        ports.append(entry)
    name = service["metadata"]["name"]
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": f"{name}-slice", "namespace": service["metadata"]["namespace"],
                         "labels": {"kubernetes.io/service-name": name}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [p.ip], "conditions": {"ready": True},
                           "targetRef": {"kind": "Pod", "name": p.name,
                                         "namespace": p.namespace}} for p in mine],
            "ports": ports}


def gateway_service(namespace: str, port: int) -> dict:
    """The stock ingress gateway's Service (``istio-ingressgateway``): port 80 -> ``port``."""
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "istio-ingressgateway", "namespace": namespace},
            "spec": {"selector": dict(GATEWAY_LABELS), "clusterIP": "10.96.0.2",
                     "ports": [{"name": "http2", "port": 80, "targetPort": port,
                                "protocol": "TCP"}]}}


def istio_gateway(namespace: str, name: str, port: int) -> dict:
    """An Istio Gateway as a stock install's ingress gateway serves it (HTTP on ``port``,
    every host); what ``export --with-gateway`` emits where the app ships none."""
    return {"apiVersion": "networking.istio.io/v1", "kind": "Gateway",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"selector": dict(GATEWAY_LABELS), "servers": [{
                "port": {"number": port, "name": "http", "protocol": "HTTP"},
                "hosts": ["*"]}]}}


def gateway_api_gateway(shared: Path, app: App) -> dict:
    """The Gateway API ``Gateway`` the app ships, in the app's namespace: Boutique's
    ``istio-gateway`` (``istio-manifests.yaml``), Bookinfo's ``bookinfo-gateway``
    (``gateway-api/bookinfo-gateway.yaml``; not its HTTPRoute, which would route productpage
    beside the lanes: issue 19)."""
    if app.name == "boutique":
        docs = app.mesh
    else:
        folder = shared / "realapps" / "bookinfo" / "gateway-api"
        docs = [in_namespace(d, app.namespace) for d in documents(folder / "bookinfo-gateway.yaml")]
    (found,) = [d for d in docs if d["kind"] == "Gateway"
                and d["apiVersion"].startswith("gateway.networking.k8s.io/")]
    return found
