"""The cluster a design runs in, as Kubernetes objects: what real Istio needs beside the export.

For every service a Service with the design's ports (or, with only ``port`` known, one port
named ``http``); for every lane that holds it one Pod, labelled ``app: <service>`` plus the
lane's labels (what the lane's subset selects), with an injected sidecar, an IP and a container
port for each Service port's targetPort; an EndpointSlice per service, its ports resolved
against the pods' container ports as Kubernetes' endpoint controller does; the namespaces
(injection on); and
the ingress: the Istio ``Gateway`` the export refers to, its pod and Service. Built from the
design's model only (never from the emitter), so that the export is checked against a cluster
made independently of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lanedesign.model import LaneDesign, Service

DEFAULT_PORT = 80  # a service without a port in the design listens here
GATEWAY_LABELS = {"istio": "ingressgateway"}
GATEWAY_PORT = 80
PROXY_IMAGE = "docker.io/istio/proxyv2:1.29.0"
SIDECAR_STATUS = '{"containers":["istio-proxy"],"initContainers":["istio-init"]}'


@dataclass(frozen=True)
class Workload:
    """One pod: the version of ``service`` in ``lane`` (``service`` None: the gateway)."""

    name: str
    namespace: str
    ip: str
    labels: dict[str, str]
    service: str | None
    lane: str | None
    port: int
    # what the app listens on: (name, containerPort, protocol); empty: ("http", port, "TCP")
    containers: tuple[tuple[str, int, str], ...] = field(default=())
    target: int | None = None  # the container port ``port`` reaches; None: ``port`` itself

    @property
    def app_port(self) -> int:
        """The port the app listens on for calls to the routed port (its inbound port)."""
        return self.port if self.target is None else self.target

    @property
    def container_ports(self) -> list[dict]:
        return container_specs(self.containers or (("http", self.port, "TCP"),))

    @property
    def proxy(self) -> dict:
        """The proxy as the xDS dump program takes it."""
        return {"name": self.name, "namespace": self.namespace, "ip": self.ip,
                "labels": self.labels,
                "type": "router" if self.service is None else "sidecar"}


def container_specs(containers: tuple[tuple[str, int, str], ...]) -> list[dict]:
    return [{"name": n, "containerPort": p, "protocol": t} for n, p, t in containers]


def port_of(design: LaneDesign, service: str) -> int:
    """The port lanes route (the design's routed port), else ``DEFAULT_PORT``."""
    found = design.service(service)
    routed = found.routed_port if found is not None else None
    return routed if routed is not None else DEFAULT_PORT


def service_ports(design: LaneDesign, service: str) -> list[dict]:
    """The app Service's ports as the cluster holds them: the design's ``ports`` with
    Kubernetes' defaults filled in, or one port named ``http``."""
    found = design.service(service)
    if found is None or not found.ports:
        port = port_of(design, service)
        return [{"name": "http", "port": port, "targetPort": port, "protocol": "TCP"}]
    out = []
    for p in found.ports:
        spec: dict = {"port": p.port,
                      "targetPort": p.port if p.target_port is None else p.target_port,
                      "protocol": p.transport}
        if p.name is not None:
            spec = {"name": p.name, **spec}
        if p.app_protocol is not None:
            spec["appProtocol"] = p.app_protocol
        out.append(spec)
    return out


def containers_of(service: Service | None) -> tuple[tuple[str, int, str], ...]:
    """The container ports the service's pods listen on: one per Service port, numbered by
    its targetPort (a named targetPort names the container port, numbered as the Service
    port); empty for a service with only ``port`` (the ``http`` default)."""
    if service is None or not service.ports:
        return ()
    out = []
    for i, p in enumerate(service.ports):
        target = p.port if p.target_port is None else p.target_port
        name = target if isinstance(target, str) else f"p{i}-{target}"
        out.append((name, target if isinstance(target, int) else p.port, p.transport))
    return tuple(out)


def resolve(port: dict, containers: list[dict]) -> int | None:
    """The pod port a Service port reaches (Kubernetes' rule): a number is taken as it is, a
    name is looked up among the pod's container ports (None: the pod has no such port)."""
    target = port.get("targetPort", port["port"])
    if isinstance(target, int):
        return target
    return next((c["containerPort"] for c in containers if c["name"] == target
                 and c.get("protocol", "TCP") == port.get("protocol", "TCP")), None)


def slice_ports(ports: list[dict], pod: Workload | None) -> list[dict]:
    """An EndpointSlice's ports for ``ports`` of a Service over pods like ``pod`` (None: no
    pods, so only numbered targetPorts)."""
    out = []
    for p in ports:
        number = resolve(p, pod.container_ports if pod is not None else [])
        if number is not None:
            entry = {"port": number, "protocol": p.get("protocol", "TCP")}
            out.append({"name": p["name"], **entry} if "name" in p else {"name": "", **entry})
    return out


def gateway_ref(design: LaneDesign) -> tuple[str, str]:
    """(namespace, name) of the Istio Gateway the ingress names."""
    assert design.ingress is not None
    namespace, _, name = design.ingress.gateway.rpartition("/")
    return namespace or design.namespace, name


def workloads(design: LaneDesign) -> list[Workload]:
    """A pod per (service, lane holding it), then the gateway's pod if there is an ingress."""
    out: list[Workload] = []
    for service in design.services:
        containers = containers_of(service)
        routed = [p for p in service_ports(design, service.name)
                  if p["port"] == port_of(design, service.name)]
        target = (resolve(routed[0], container_specs(containers))
                  if routed and containers else None)
        for lane in design.lanes:
            if not lane.holds(service.name):
                continue
            clash = set(lane.label_map) & {"app"}
            assert not clash, f"lane {lane.name} labels {clash}: the Service selects on it"
            n = len(out) + 1
            out.append(Workload(
                name=f"{service.name}-{lane.name}"[:63].rstrip("-"),
                namespace=design.namespace_of(service.name),
                ip=f"10.1.{n // 250}.{n % 250 + 1}",
                labels={"app": service.name, **lane.label_map},
                service=service.name, lane=lane.name, port=port_of(design, service.name),
                containers=containers, target=target))
        # the team's own subsets no lane defines (a team's routing): a pod each, as the team
        # deployed them
        lane_names = set(design.lane_names)
        for subset in service.routing.subsets if service.routing else ():
            if subset.name in lane_names:
                continue
            n = len(out) + 1
            out.append(Workload(
                name=f"{service.name}-{subset.name}"[:63].rstrip("-"),
                namespace=design.namespace_of(service.name),
                ip=f"10.1.{n // 250}.{n % 250 + 1}",
                labels={"app": service.name, **dict(subset.labels)},
                service=service.name, lane=subset.name, port=port_of(design, service.name),
                containers=containers, target=target))
    if design.ingress is not None:
        namespace, _ = gateway_ref(design)
        out.append(Workload("ingressgateway", namespace, "10.0.0.2", dict(GATEWAY_LABELS),
                            None, None, GATEWAY_PORT))
    return out


def _meta(name: str, namespace: str | None = None, **extra: object) -> dict:
    meta: dict = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    meta.update(extra)
    return meta


def pod(w: Workload) -> dict:
    if w.service is None:  # the gateway: the proxy is the pod's only container
        meta = _meta(w.name, w.namespace, labels=w.labels)
        containers = [{"name": "istio-proxy", "image": PROXY_IMAGE,
                       "ports": [{"name": "http", "containerPort": w.port}]}]
    else:  # an app with the sidecar the injector adds
        meta = _meta(w.name, w.namespace, labels=w.labels,
                     annotations={"sidecar.istio.io/status": SIDECAR_STATUS})
        containers = [{"name": "app", "image": "registry.example/app:1",
                       "ports": w.container_ports},
                      {"name": "istio-proxy", "image": PROXY_IMAGE}]
    return {
        "apiVersion": "v1", "kind": "Pod", "metadata": meta,
        "spec": {"containers": containers},
        "status": {"phase": "Running", "podIP": w.ip, "podIPs": [{"ip": w.ip}],
                   "conditions": [{"type": "Ready", "status": "True"}]},
    }


def service_object(name: str, namespace: str, selector: dict[str, str], port: int,
                   ports: list[dict] | None = None) -> dict:
    """A Service; ``ports`` as Kubernetes holds them, else one ``http`` port ``port``."""
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": _meta(name, namespace, labels=dict(selector)),
        "spec": {"selector": selector,
                 "ports": ports or [{"name": "http", "port": port, "targetPort": port,
                                    "protocol": "TCP"}]},
    }


def endpoint_slice(name: str, namespace: str, pods: list[Workload],
                   port: int | list[dict]) -> dict:
    """The slice of Service ``name`` over ``pods``; ``port`` a number (one ``http`` port) or
    the slice's ports (``slice_ports``)."""
    ports = [{"name": "http", "port": port, "protocol": "TCP"}] if isinstance(port, int) \
        else port
    return {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": _meta(name, namespace, labels={"kubernetes.io/service-name": name}),
        "addressType": "IPv4",
        "endpoints": [{"addresses": [w.ip], "conditions": {"ready": True},
                       "targetRef": {"kind": "Pod", "name": w.name, "namespace": w.namespace}}
                      for w in pods],
        "ports": ports,
    }


def gateway(design: LaneDesign) -> dict:
    """The Istio Gateway the ingress VirtualService is bound to (the user's, not exported)."""
    assert design.ingress is not None
    namespace, name = gateway_ref(design)
    return {
        "apiVersion": "networking.istio.io/v1", "kind": "Gateway",
        "metadata": _meta(name, namespace),
        "spec": {"selector": dict(GATEWAY_LABELS), "servers": [{
            "port": {"number": GATEWAY_PORT, "name": "http", "protocol": "HTTP"},
            "hosts": list(design.ingress.hosts)}]},
    }


def kube_objects(design: LaneDesign) -> list[dict]:
    """Namespaces, Services, Pods and EndpointSlices of the design's cluster."""
    pods = workloads(design)
    injected = {design.namespace_of(s) for s in design.service_names}
    objects: list[dict] = [
        {"apiVersion": "v1", "kind": "Namespace",
         "metadata": _meta(ns, labels={"istio-injection": "enabled"} if ns in injected else {})}
        for ns in sorted(injected | {w.namespace for w in pods})]
    for service in design.services:
        namespace, port = design.namespace_of(service.name), port_of(design, service.name)
        mine = [w for w in pods if w.service == service.name]
        ports = service_ports(design, service.name)
        objects.append(service_object(service.name, namespace, {"app": service.name}, port,
                                      ports))
        # every pod of a service listens on the same ports, so one slice holds them all
        objects.append(endpoint_slice(service.name, namespace, mine,
                                      slice_ports(ports, mine[0] if mine else None)))
    gw = [w for w in pods if w.service is None]
    if gw:
        (w,) = gw
        objects.append(service_object("istio-ingressgateway", w.namespace, dict(GATEWAY_LABELS),
                                      GATEWAY_PORT))
        objects.append(endpoint_slice("istio-ingressgateway", w.namespace, gw, GATEWAY_PORT))
    objects += [pod(w) for w in pods]
    return objects


def istio_extras(design: LaneDesign) -> list[dict]:
    """Istio objects the user owns and the export refers to: the ingress Gateway."""
    return [gateway(design)] if design.ingress is not None else []
