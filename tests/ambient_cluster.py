"""Lanes on Istio ambient: the waypoint objects a design's gateway-api export needs, and the
cluster around them as Istio's controllers and the ambient CNI would leave it.

``ambient_objects(design, scope)`` is what lanedesign's gateway-api export adds for
``dataPlane: ambient`` (issue 21): a waypoint ``Gateway`` (class ``istio-waypoint``, one HBONE
listener ``mesh`` on 15008, ``istio.io/waypoint-for: service``) per namespace holding a
lane-routed Service (``scope: namespace``, named ``waypoint``) or per lane-routed Service
(``scope: service``, named ``<service>-waypoint``), and the ``istio.io/use-waypoint`` label on
the Namespace or on each such Service, written as label-only objects: taken from the emitter.
``waypoint_gateway`` and ``routed_services`` state the same shape again, independently, for
the test that the emitter's waypoints cover every Service an HTTPRoute attaches to.

``ambient_cluster`` turns a sidecar cluster (Kubernetes objects) into the ambient one: the
namespaces enrolled (``istio.io/dataplane-mode: ambient``, no injection), the apps' pods without
a sidecar and with the CNI's ``ambient.istio.io/redirection: enabled``, every Service with a
ClusterIP (as the API server allocates), the export's labels merged in, and for each waypoint
``Gateway`` what Istio's gateway deployment controller makes: the waypoint's Service (HBONE
15008) and pod, and the Gateway's ``status.addresses``. That controller does not run in the
in-process control plane (``pilot/test/xds``), so the test plays it; everything after it - the
ambient index binding Services to waypoints, the GAMMA HTTPRoutes turned into the waypoint's
routes, the endpoints - is Istio's own code.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from lanedesign.emit.common import labels_only
from lanedesign.emit.gateway_api import emit_gateway_api
from lanedesign.model import LaneDesign

GATEWAY_API = "gateway.networking.k8s.io/v1"
USE_WAYPOINT = "istio.io/use-waypoint"
DATAPLANE_MODE = "istio.io/dataplane-mode"
WAYPOINT_FOR = "istio.io/waypoint-for"
GATEWAY_NAME = "gateway.networking.k8s.io/gateway-name"
MANAGED = "gateway.istio.io/managed"
MESH_CONTROLLER = "istio.io-mesh-controller"
REDIRECTION = "ambient.istio.io/redirection"
WAYPOINT_CLASS = "istio-waypoint"
HBONE_PORT = 15008
SIDECAR_STATUS = "sidecar.istio.io/status"


def routed_services(exported: list[dict]) -> list[tuple[str, str]]:
    """(namespace, name) of every Service an HTTPRoute of the export attaches to, in order."""
    out: list[tuple[str, str]] = []
    for obj in exported:
        if obj["kind"] != "HTTPRoute":
            continue
        for ref in obj["spec"].get("parentRefs", []):
            if ref.get("kind") == "Service" and ref.get("group", "") in ("", "core"):
                key = (ref.get("namespace", obj["metadata"]["namespace"]), ref["name"])
                if key not in out:
                    out.append(key)
    return out


def waypoint_gateway(name: str, namespace: str) -> dict:
    return {"apiVersion": GATEWAY_API, "kind": "Gateway",
            "metadata": {"name": name, "namespace": namespace,
                         "labels": {WAYPOINT_FOR: "service"}},
            "spec": {"gatewayClassName": WAYPOINT_CLASS,
                     "listeners": [{"name": "mesh", "port": HBONE_PORT, "protocol": "HBONE"}]}}


def ambient_objects(design: LaneDesign, scope: str = "namespace") -> list[dict]:
    """The waypoints and ``istio.io/use-waypoint`` labels lanedesign's gateway-api export
    adds when ``design`` targets ambient (``dataPlane: ambient``, ``waypoint: {scope}``)."""
    ambient = design.with_data_plane("ambient").with_waypoint(scope=scope)
    return [o for o in emit_gateway_api(ambient)
            if labels_only(o) or (o["kind"] == "Gateway"
                                  and o["spec"].get("gatewayClassName") == WAYPOINT_CLASS)]


@dataclass(frozen=True)
class Waypoint:
    """A waypoint's pod as Istio's deployment controller runs it for a Gateway."""

    name: str  # the Gateway's name (the pod is named after it)
    namespace: str
    ip: str
    service_ip: str

    @property
    def host(self) -> str:
        return f"{self.name}.{self.namespace}.svc.cluster.local"

    @property
    def labels(self) -> dict[str, str]:
        return {GATEWAY_NAME: self.name, MANAGED: MESH_CONTROLLER}

    @property
    def proxy(self) -> dict:
        """The proxy as the xDS dump program takes it."""
        return {"name": f"{self.namespace}/{self.name}", "namespace": self.namespace,
                "ip": self.ip, "labels": self.labels, "type": "waypoint"}

    def objects(self) -> list[dict]:
        """Its Service (the address the Gateway's status names) and pod, and the slice."""
        service = {
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": self.name, "namespace": self.namespace,
                         "labels": {**self.labels, "istio.io/gateway-name": self.name}},
            "spec": {"clusterIP": self.service_ip, "selector": {GATEWAY_NAME: self.name},
                     "ports": [{"name": "mesh", "port": HBONE_PORT, "targetPort": HBONE_PORT,
                                "protocol": "TCP", "appProtocol": "hbone"}]}}
        pod = {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": self.name, "namespace": self.namespace,
                         "labels": dict(self.labels)},
            "spec": {"containers": [{"name": "istio-proxy",
                                     "image": "docker.io/istio/proxyv2:1.29.0",
                                     "ports": [{"name": "mesh",
                                                "containerPort": HBONE_PORT}]}]},
            "status": {"phase": "Running", "podIP": self.ip, "podIPs": [{"ip": self.ip}],
                       "conditions": [{"type": "Ready", "status": "True"}]}}
        slice_ = {
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": f"{self.name}-slice", "namespace": self.namespace,
                         "labels": {"kubernetes.io/service-name": self.name}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [self.ip], "conditions": {"ready": True},
                           "targetRef": {"kind": "Pod", "name": self.name,
                                         "namespace": self.namespace}}],
            "ports": [{"name": "mesh", "port": HBONE_PORT, "protocol": "TCP",
                       "appProtocol": "hbone"}]}
        return [service, pod, slice_]


def waypoint_class() -> dict:
    """The GatewayClass an Istio install creates for waypoints."""
    return {"apiVersion": GATEWAY_API, "kind": "GatewayClass",
            "metadata": {"name": WAYPOINT_CLASS},
            "spec": {"controllerName": "istio.io/mesh-controller"}}


def _merge_labels(objects: list[dict], patches: list[dict]) -> list[dict]:
    """``objects`` with the labels of the label-only ``patches`` (kind, namespace, name)."""
    out = copy.deepcopy(objects)
    index = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in out}
    for patch in patches:
        meta = patch["metadata"]
        target = index.get((patch["kind"], meta.get("namespace"), meta["name"]))
        assert target is not None, f"nothing to label: {patch['kind']} {meta}"
        target["metadata"].setdefault("labels", {}).update(meta.get("labels", {}))
    return out


def ambient_cluster(cluster: list[dict], ambient: list[dict], subnet: int,
                    ) -> tuple[list[dict], list[Waypoint]]:
    """The sidecar ``cluster`` moved to ambient, with the export's ``ambient`` objects applied
    and their waypoints deployed; the waypoints' pods for the xDS dump."""
    gateways = [o for o in ambient if o["kind"] == "Gateway"]
    patches = [o for o in ambient if o["kind"] in ("Namespace", "Service")]
    enrolled = {o["metadata"]["namespace"] for o in cluster
                if o["kind"] == "Pod" and SIDECAR_STATUS in
                (o["metadata"].get("annotations") or {})}
    out: list[dict] = []
    allocated = 0
    for obj in copy.deepcopy(cluster):
        meta = obj["metadata"]
        if obj["kind"] == "Namespace" and meta["name"] in enrolled:
            labels = meta.setdefault("labels", {})
            labels.pop("istio-injection", None)
            labels[DATAPLANE_MODE] = "ambient"
        elif obj["kind"] == "Pod" and SIDECAR_STATUS in (meta.get("annotations") or {}):
            # the ambient CNI redirects the pod's traffic into ztunnel; no sidecar is injected
            meta["annotations"] = {REDIRECTION: "enabled"}
            obj["spec"]["containers"] = [c for c in obj["spec"]["containers"]
                                         if c["name"] != "istio-proxy"]
        elif obj["kind"] == "Service" and not obj["spec"].get("clusterIP"):
            allocated += 1
            obj["spec"]["clusterIP"] = f"10.{96 + subnet}.{allocated // 250}.{allocated % 250 + 1}"
        out.append(obj)
    out = _merge_labels(out, patches)
    waypoints = []
    for n, gw in enumerate(gateways, start=1):
        meta = gw["metadata"]
        w = Waypoint(meta["name"], meta["namespace"], f"10.{200 + subnet}.0.{n}",
                     f"10.{200 + subnet}.1.{n}")
        waypoints.append(w)
        deployed = copy.deepcopy(gw)
        # what the deployment controller writes once the waypoint's pod is ready
        deployed["status"] = {"addresses": [{"type": "Hostname", "value": w.host}]}
        out += [deployed, *w.objects()]
    return [waypoint_class(), *out], waypoints
