"""Istio ambient on the cluster: import reads enrolment and waypoints; diff finds a lane
service no waypoint routes (the silent failure); apply and prune never own the app's objects."""

from __future__ import annotations

from cluster_objects import NS, deployment, service

from lanedesign.cluster import design_from_workloads
from lanedesign.cluster.ambient import (
    DATAPLANE_MODE,
    LABELLED_BY,
    USE_WAYPOINT,
    AmbientState,
    ambient_findings,
    is_label_only,
    label_object,
    routed_services,
    waypoint_of,
)
from lanedesign.designfile import design_to_dict
from lanedesign.emit.common import GROUP_LABEL, MANAGED_BY, MANAGER
from lanedesign.model import Lane, LaneDesign, Service, Waypoint


def namespace(name: str = NS, **labels: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": dict(labels)}}


def labelled(obj: dict, **labels: str) -> dict:
    obj = {**obj, "metadata": {**obj["metadata"], "labels": dict(labels)}}
    return obj


def waypoint_gateway(name: str = "waypoint", ns: str = NS, owned: bool = False) -> dict:
    meta: dict = {"name": name, "namespace": ns}
    if owned:
        meta["labels"] = {MANAGED_BY: MANAGER, GROUP_LABEL: "shop"}
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "metadata": meta,
            "spec": {"gatewayClassName": "istio-waypoint",
                     "listeners": [{"name": "mesh", "port": 15008, "protocol": "HBONE"}]}}


def workloads() -> tuple[list[dict], list[dict]]:
    services = [service("cart"), service("pay")]
    deployments = [deployment(app, {"version": v}) for app in ("cart", "pay")
                   for v in ("v1", "v2")]
    return services, deployments


def shop(data_plane: str = "ambient", waypoint: Waypoint | None = None) -> LaneDesign:
    return LaneDesign(
        name="shop", namespace=NS, baseline="v1", data_plane=data_plane,
        waypoint=waypoint or Waypoint(),
        services=(Service("cart", calls=("pay",), port=8080), Service("pay", port=8080),
                  Service("ship", port=8080)),
        lanes=(Lane("v1", (("version", "v1"),), ("cart", "pay", "ship")),
               Lane("v2", (("version", "v2"),), ("cart", "pay"))))


# -- import-cluster ------------------------------------------------------------------------
def test_import_reads_ambient_and_an_existing_namespace_waypoint():
    services, deployments = workloads()
    result = design_from_workloads(
        services, deployments, name="shop", mesh=[waypoint_gateway()],
        namespace_objects=[namespace(**{DATAPLANE_MODE: "ambient", USE_WAYPOINT: "waypoint"})])
    design = result.design
    assert design.data_plane == "ambient"
    assert design.waypoint == Waypoint("waypoint", "namespace", create=False)
    spec = design_to_dict(design)["spec"]
    assert spec["dataPlane"] == "ambient"
    assert spec["waypoint"] == {"name": "waypoint", "scope": "namespace", "create": False}
    assert not [f for f in result.findings if f.code == "LD960"]


def test_import_of_a_sidecar_namespace_stays_sidecar():
    services, deployments = workloads()
    result = design_from_workloads(services, deployments, name="shop",
                                   mesh=[waypoint_gateway()],
                                   namespace_objects=[namespace(**{"istio-injection": "enabled"})])
    assert result.design.data_plane == "sidecar"
    assert "dataPlane" not in design_to_dict(result.design)["spec"]


def test_import_proposes_a_new_waypoint_when_the_ambient_namespace_has_none():
    services, deployments = workloads()
    result = design_from_workloads(services, deployments, name="shop",
                                   namespace_objects=[namespace(**{DATAPLANE_MODE: "ambient"})])
    assert result.design.data_plane == "ambient"
    assert result.design.waypoint == Waypoint()  # create: true
    assert any("creates one" in n for n in result.notes)


def test_import_reads_per_service_waypoints():
    services = [labelled(service(n), **{USE_WAYPOINT: f"{n}-waypoint"}) for n in ("cart", "pay")]
    _, deployments = workloads()
    result = design_from_workloads(
        services, deployments, name="shop",
        mesh=[waypoint_gateway("cart-waypoint"), waypoint_gateway("pay-waypoint")],
        namespace_objects=[namespace(**{DATAPLANE_MODE: "ambient"})])
    assert result.design.waypoint == Waypoint("waypoint", "service", create=False)
    assert not [f for f in result.findings if f.code == "LD960"]


def test_import_says_when_only_some_services_are_behind_a_waypoint():
    services = [labelled(service("cart"), **{USE_WAYPOINT: "waypoint"}), service("pay")]
    _, deployments = workloads()
    result = design_from_workloads(services, deployments, name="shop",
                                   mesh=[waypoint_gateway()],
                                   namespace_objects=[namespace(**{DATAPLANE_MODE: "ambient"})])
    mixed = [f for f in result.findings if f.code == "LD960"]
    assert len(mixed) == 1 and "pay: none" in mixed[0].message
    assert result.design.waypoint == Waypoint("waypoint", "namespace", create=False)
