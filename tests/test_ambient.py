"""Istio ambient mode: the design's data plane and waypoints, read, written, checked and
emitted (docs/ambient.md)."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest
from gateway_interpreter import MeshError
from gateway_schema import cel_problems, schema_errors
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from request_cases import gateway_host
from test_emit_gateway_api import (
    EXPRESSIBLE,
    GATEWAYABLE,
    GOLDEN,
    carried,
    check_mesh_routes,
    check_request,
    mesh_of,
)

from lanedesign import examples
from lanedesign.cli import main
from lanedesign.designfile import dump_design, parse_design
from lanedesign.emit import TargetError, dump_manifests, emit
from lanedesign.emit.gateway_api import emit_gateway_api, gateway_api_problems, waypoint_gateway
from lanedesign.findings import has_errors
from lanedesign.model import LaneDesign, ServicePort, Waypoint
from lanedesign.validate import validate

# every example the gateway-api target takes, moved to ambient (mock-ambient already is)
EXPRESSIBLE_AMBIENT = [*EXPRESSIBLE, "mock-ambient"]
AMBIENT_REQUESTS = {
    "mock-header": [[], [("x-asm-prefer-tag", "s2")], [("x-asm-prefer-tag", "s3")]],
    "mock-weighted": [[], [("x-asm-prefer-tag", "s2")]],
    "shop": [[], [("x-shop-lane", "search-exp")], [("baggage", "shop-lane=payments-v3")]],
    "mock-ambient": [[], [("x-user", "tester")], [("x-user", "other")],
                     [("baggage", "x-asm-prefer-tag=s2")]],
}


def ambient(design: LaneDesign) -> LaneDesign:
    return design.with_data_plane("ambient")


def _mock() -> LaneDesign:
    return examples.load("mock-baggage")


# -- the model ------------------------------------------------------------------------------
def test_defaults_are_sidecar_and_one_waypoint_per_namespace() -> None:
    design = _mock()
    assert design.data_plane == "sidecar" and not design.ambient
    assert design.waypoint == Waypoint("waypoint", "namespace", True)
    assert design.waypoint_for("mockb") == "waypoint"


def test_service_scope_names_a_waypoint_per_service() -> None:
    design = _mock().with_data_plane("ambient").with_waypoint(scope="service")
    assert design.waypoint_for("mockb") == "mockb-waypoint"
    assert design.waypoints() == (("default", "mocka-waypoint"), ("default", "mockb-waypoint"),
                                  ("default", "mockc-waypoint"))


def test_namespace_scope_has_one_waypoint_per_namespace_of_a_lane_routed_service() -> None:
    design = _mock().with_data_plane("ambient").with_waypoint(name="lanes")
    svc = design.service("mockc")
    assert svc is not None
    design = design.with_service(replace(svc, namespace="back"))
    assert design.waypoints() == (("default", "lanes"), ("back", "lanes"))


def test_tcp_only_services_need_no_waypoint() -> None:
    design = _mock().with_data_plane("ambient")
    svc = design.service("mockc")
    assert svc is not None
    tcp = replace(svc, ports=(ServicePort(6379, name="tcp-redis"),), port=None)
    design = design.with_service(tcp)
    assert design.waypoint_services() == ("mocka", "mockb")


def test_switching_the_data_plane_keeps_the_waypoint_settings() -> None:
    design = _mock().with_data_plane("ambient").with_waypoint(scope="service", create=False)
    back = design.with_data_plane("sidecar").with_data_plane("ambient")
    assert back == design


# -- the design file --------------------------------------------------------------------------
def test_defaults_are_left_out_of_the_file() -> None:
    text = dump_design(_mock())
    assert "dataPlane" not in text and "waypoint" not in text


@pytest.mark.parametrize("waypoint", [Waypoint(), Waypoint("mesh-wp"),
                                      Waypoint(scope="service"), Waypoint(create=False),
                                      Waypoint("w2", "service", False)])
def test_round_trip(waypoint: Waypoint) -> None:
    design = _mock().with_data_plane("ambient").with_(waypoint=waypoint)
    text = dump_design(design)
    assert "dataPlane: ambient" in text
    loaded = parse_design(text)
    assert loaded.findings == ()
    assert loaded.design == design
    assert dump_design(loaded.design) == text


def test_the_written_waypoint_holds_only_what_differs() -> None:
    text = dump_design(_mock().with_data_plane("ambient").with_waypoint(create=False))
    assert "waypoint:\n    create: false\n" in text
    assert "scope" not in text


@pytest.mark.parametrize(("snippet", "code", "path"), [
    ("dataPlane: sidecars", "LD006", "spec.dataPlane"),
    ("dataPlane: [ambient]", "LD004", "spec.dataPlane"),
    ("waypoint: yes", "LD004", "spec.waypoint"),
    ("waypoint: {scope: pod}", "LD006", "spec.waypoint.scope"),
    ("waypoint: {create: 'no'}", "LD004", "spec.waypoint.create"),
    ("waypoint: {name: 7}", "LD004", "spec.waypoint.name"),
    ("waypoint: {nmae: w}", "LD005", "spec.waypoint.nmae"),
])
def test_bad_values_are_findings(snippet: str, code: str, path: str) -> None:
    text = dump_design(_mock()).replace("  baseline: s1\n", f"  baseline: s1\n  {snippet}\n")
    loaded = parse_design(text)
    assert [(f.code, f.path) for f in loaded.findings] == [(code, path)]
    assert loaded.design is not None


# -- findings --------------------------------------------------------------------------------
AMBIENT = examples.load("mock-ambient")


def codes(findings: list) -> list[str]:
    return [f.code for f in findings]


def test_the_ambient_example_validates_with_what_the_apps_must_forward() -> None:
    found = validate(AMBIENT, "gateway-api")
    assert not has_errors(found)
    (context,) = [f for f in found if f.code == "LD642"]
    assert context.severity == "info"
    assert "`baggage` member x-asm-prefer-tag=<lane>" in context.message
    assert "sets `x-asm-prefer-tag` and `baggage: x-asm-prefer-tag=<lane>`" in context.message
    assert "LD647" in codes(found)  # the namespace label reaches every Service there


def test_the_header_method_names_the_route_header_the_apps_forward() -> None:
    found = validate(examples.load("mock-header").with_data_plane("ambient"))
    (context,) = [f for f in found if f.code == "LD642"]
    assert "forward the route header `x-asm-prefer-tag`" in context.message


def test_sidecar_designs_get_no_ambient_findings() -> None:
    assert not {"LD640", "LD641", "LD642", "LD643", "LD647"} & set(
        codes(validate(_mock(), "istio")) + codes(validate(_mock(), "asm")))


def test_traceid_is_an_error_in_ambient() -> None:
    design = examples.load("mock-traceid").with_data_plane("ambient")
    found = validate(design)
    assert ("LD641", "error") in [(f.code, f.severity) for f in found]
    assert "LD642" not in codes(found)


def test_the_istio_target_is_refused_pointing_at_gateway_api() -> None:
    found = validate(AMBIENT, "istio")
    (refusal,) = [f for f in found if f.code == "LD640"]
    assert refusal.severity == "error" and "--target gateway-api" in refusal.message
    assert "--target gateway-api" in refusal.hint
    with pytest.raises(TargetError) as err:
        emit(examples.load("mock-header").with_data_plane("ambient"), "istio")
    assert err.value.finding.code == "LD640"


def test_asm_in_ambient_is_a_warning() -> None:
    design = examples.load("mock-header").with_data_plane("ambient")
    found = [f for f in validate(design, "asm") if f.code == "LD643"]
    assert [f.severity for f in found] == ["warning"]


def test_waypoint_settings_on_a_sidecar_design_are_a_warning() -> None:
    design = _mock().with_waypoint(scope="service")
    assert [(f.code, f.severity) for f in validate(design) if f.code.startswith("LD64")] == [
        ("LD644", "warning")]


@pytest.mark.parametrize(("waypoint", "service", "path"), [
    (Waypoint("Way_Point"), None, "spec.waypoint.name"),
    (Waypoint(scope="service"), "m" * 55, "spec.services[0].name"),
])
def test_bad_waypoint_names_are_errors(waypoint: Waypoint, service: str | None,
                                       path: str) -> None:
    design = examples.load("mock-header").with_data_plane("ambient").with_(waypoint=waypoint)
    if service:
        design = design.rename_service("mocka", service)
    assert [(f.code, f.path) for f in validate(design) if f.code == "LD645"] == [
        ("LD645", path)]


def test_a_service_name_of_54_characters_still_has_a_waypoint() -> None:
    design = (examples.load("mock-header").with_data_plane("ambient")
              .with_waypoint(scope="service").rename_service("mocka", "m" * 54))
    assert "LD645" not in codes(validate(design))


@pytest.mark.parametrize(("waypoint", "clash"), [
    (Waypoint("mockb"), "service 'mockb'"),
    (Waypoint("mockb-s3"), "the version Service of 'mockb' in lane 's3'"),
])
def test_a_waypoint_named_like_a_service_is_refused(waypoint: Waypoint, clash: str) -> None:
    design = examples.load("mock-header").with_data_plane("ambient").with_(waypoint=waypoint)
    found = [f for f in gateway_api_problems(design) if f.code == "LD646"]
    assert len(found) == 1 and clash in found[0].message
    assert not [f for f in gateway_api_problems(design.with_waypoint(create=False))
                if f.code == "LD646"]  # an existing waypoint is Istio's, named as it is


def test_a_waypoint_named_like_the_ingress_gateway_is_refused() -> None:
    design = (examples.load("mock-header").with_data_plane("ambient")
              .with_ingress(gateway="default/waypoint"))
    assert "LD646" in codes(gateway_api_problems(design))


# -- what the gateway-api target emits ---------------------------------------------------------
def kinds_and_names(objects: list[dict]) -> list[tuple[str, str]]:
    return [(o["kind"], o["metadata"]["name"]) for o in objects]


def test_namespace_scope_emits_one_waypoint_and_the_namespace_label_before_the_routes() -> None:
    objects = emit_gateway_api(AMBIENT)
    assert kinds_and_names(objects) == [
        ("Service", "mocka-s1"), ("Service", "mocka-s2"), ("Service", "mockb-s1"),
        ("Service", "mockc-s1"), ("Service", "mockc-s2"),
        ("Gateway", "waypoint"), ("Namespace", "default"),
        ("HTTPRoute", "mock-ambient-mocka"), ("HTTPRoute", "mock-ambient-mockb"),
        ("HTTPRoute", "mock-ambient-mockc"), ("HTTPRoute", "mock-ambient-ingress")]
    assert objects[5] == {
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
        "metadata": {"name": "waypoint", "namespace": "default", "labels": {
            "istio.io/waypoint-for": "service", "app.kubernetes.io/managed-by": "lanedesign",
            "lanedesign.io/group": "mock-ambient"}},
        "spec": {"gatewayClassName": "istio-waypoint",
                 "listeners": [{"name": "mesh", "port": 15008, "protocol": "HBONE"}]}}
    assert objects[6] == {"apiVersion": "v1", "kind": "Namespace", "metadata": {
        "name": "default", "labels": {"istio.io/use-waypoint": "waypoint"}}}


def test_service_scope_labels_each_app_service_with_its_own_waypoint() -> None:
    objects = emit_gateway_api(AMBIENT.with_waypoint(scope="service"))
    gateways = [o["metadata"]["name"] for o in objects if o["kind"] == "Gateway"]
    assert gateways == ["mocka-waypoint", "mockb-waypoint", "mockc-waypoint"]
    labelled = [o for o in objects if o["kind"] == "Service" and "spec" not in o]
    assert labelled == [{"apiVersion": "v1", "kind": "Service", "metadata": {
        "name": s, "namespace": "default", "labels": {"istio.io/use-waypoint": f"{s}-waypoint"}}}
        for s in ("mocka", "mockb", "mockc")]
    assert not [o for o in objects if o["kind"] == "Namespace"]


def test_existing_waypoints_are_referred_to_not_created() -> None:
    objects = emit_gateway_api(AMBIENT.with_waypoint(name="shared", create=False))
    assert not [o for o in objects if o["kind"] == "Gateway"]
    (namespace,) = [o for o in objects if o["kind"] == "Namespace"]
    assert namespace["metadata"]["labels"] == {"istio.io/use-waypoint": "shared"}


def test_the_version_services_are_not_enrolled_and_the_routes_are_unchanged() -> None:
    """The waypoint sends a routed call straight to the backend's pods, so only the app's
    Service needs the label; the HTTPRoutes are those of the sidecar export."""
    ambient = emit_gateway_api(AMBIENT.with_waypoint(scope="service"))
    sidecar = emit_gateway_api(AMBIENT.with_data_plane("sidecar"))
    assert [o for o in ambient if o["kind"] == "HTTPRoute" or (
        o["kind"] == "Service" and "spec" in o)] == sidecar
    assert all("istio.io/use-waypoint" not in o["metadata"]["labels"] for o in sidecar)


def test_with_gateway_adds_the_ingress_gateway_beside_the_waypoint() -> None:
    objects = emit_gateway_api(AMBIENT, with_gateway=True)
    gateways = [(o["metadata"]["name"], o["spec"]["gatewayClassName"]) for o in objects
                if o["kind"] == "Gateway"]
    assert gateways == [("waypoint", "istio-waypoint"), ("ingressgateway", "istio")]


def test_tcp_only_services_are_not_enrolled() -> None:
    svc = AMBIENT.service("mockc")
    assert svc is not None
    design = AMBIENT.with_waypoint(scope="service").without_lane("s2").with_service(
        replace(svc, ports=(ServicePort(6379, name="tcp-redis"),), port=None))
    labelled = [o["metadata"]["name"] for o in emit_gateway_api(design)
                if o["kind"] == "Service" and "spec" not in o]
    assert labelled == ["mocka", "mockb"]


def test_golden_manifests() -> None:
    text = dump_manifests(emit_gateway_api(AMBIENT))
    path = GOLDEN / "mock-ambient.gateway-api.yaml"
    if os.environ.get("LANEDESIGN_UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"{path.name} is missing; create it with LANEDESIGN_UPDATE_GOLDEN=1"
    assert path.read_text(encoding="utf-8") == text


def test_cli_export_and_with_gateway(capsys: pytest.CaptureFixture[str]) -> None:
    design = examples.path("mock-ambient")
    assert main(["export", str(design), "--target", "gateway-api"]) == 0
    out = capsys.readouterr()
    assert "kind: Namespace" in out.out and "gatewayClassName: istio-waypoint" in out.out
    assert main(["export", str(design), "--target", "gateway-api", "--with-gateway"]) == 0
    assert "gatewayClassName: istio\n" in capsys.readouterr().out
    assert main(["export", str(design), "--target", "istio"]) == 1
    assert "LD640" in capsys.readouterr().err


# -- schemas ---------------------------------------------------------------------------------
@pytest.mark.parametrize("waypoint", [Waypoint(), Waypoint(scope="service"),
                                      Waypoint("shared", create=False)])
def test_the_ambient_objects_match_their_schemas(shared_dir: Path, waypoint: Waypoint) -> None:
    for obj in emit_gateway_api(AMBIENT.with_(waypoint=waypoint), with_gateway=True):
        assert schema_errors(shared_dir, obj) == [], obj["metadata"]["name"]
        assert cel_problems(obj) == [], obj["metadata"]["name"]


def test_the_labels_only_schema_bites(shared_dir: Path) -> None:
    """A labelled Service may carry nothing but its labels: no spec fields, no ownership of
    a Namespace's other metadata."""
    objects = emit_gateway_api(AMBIENT.with_waypoint(scope="service"))
    svc = next(o for o in objects if o["kind"] == "Service" and "spec" not in o)
    assert schema_errors(shared_dir, {**svc, "metadata": {**svc["metadata"],
                                                          "annotations": {"a": "b"}}})
    assert schema_errors(shared_dir, {**svc, "metadata": {"name": "mocka", "labels": {}}})
    ns = next(o for o in emit_gateway_api(AMBIENT) if o["kind"] == "Namespace")
    assert schema_errors(shared_dir, {**ns, "metadata": {**ns["metadata"], "namespace": "x"}})
    assert schema_errors(shared_dir, {**ns, "metadata": {
        "name": "default", "labels": {"istio.io/use-waypoint": "Not Valid"}}})


# -- the independent interpreter: routes apply only where a waypoint serves --------------------
@pytest.mark.parametrize("name", EXPRESSIBLE_AMBIENT)
@pytest.mark.parametrize("waypoint", [Waypoint(), Waypoint(scope="service")])
def test_waypoints_route_every_lane_as_the_simulator_says(name: str, waypoint: Waypoint) -> None:
    design = ambient(examples.load(name)).with_(waypoint=waypoint)
    check_mesh_routes(design)


@pytest.mark.parametrize("name", EXPRESSIBLE_AMBIENT)
def test_requests_through_the_gateway_follow_the_simulator_in_ambient(name: str) -> None:
    design = ambient(examples.load(name))
    for pairs in AMBIENT_REQUESTS.get(name, [[]]):
        check_request(design, pairs, "/mock", gateway_host(design))


def test_existing_waypoints_route_once_they_exist() -> None:
    design = AMBIENT.with_waypoint(name="shared", create=False)
    objects = emit_gateway_api(design)
    with pytest.raises(MeshError):  # the label names a waypoint the cluster lacks
        check_mesh_routes(design, objects)
    existing = waypoint_gateway(AMBIENT, "default", "shared")
    check_mesh_routes(design, [*objects, existing])


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(GATEWAYABLE, st.sampled_from(["namespace", "service"]))
def test_seeded_random_designs_route_like_the_simulator_in_ambient(design: LaneDesign,
                                                                   scope: str) -> None:
    design = design.with_data_plane("ambient").with_waypoint(scope=scope)
    assume(not has_errors(gateway_api_problems(design)))
    check_mesh_routes(design)


def test_a_service_without_a_waypoint_gets_no_lane_routing() -> None:
    """The negative case: the routes are all there, but mockc's Service uses no waypoint, so
    its calls reach both versions' pods, and the comparison with simulate fails."""
    design = AMBIENT.with_waypoint(scope="service")
    objects = [o for o in emit_gateway_api(design)
               if not (o["kind"] == "Service" and "spec" not in o
                       and o["metadata"]["name"] == "mockc")]
    mesh = mesh_of(design, objects)
    routed = mesh.to_service("default", "mockc", 8000, "/", carried(design, "s2"))
    assert [b.name for b in routed.backends] == ["mockc"]  # the app's own Service
    assert mesh.selector("default", "mockc") == {"app": "mockc"}  # v1 and v2 pods alike
    with pytest.raises(AssertionError):
        check_mesh_routes(design, objects)
    # the same objects on sidecars route: the sidecar applies the routes itself
    check_mesh_routes(design.with_data_plane("sidecar"), objects)


def test_a_namespace_without_the_label_gets_no_lane_routing() -> None:
    objects = [o for o in emit_gateway_api(AMBIENT) if o["kind"] != "Namespace"]
    with pytest.raises(AssertionError):
        check_mesh_routes(AMBIENT, objects)


def test_a_service_label_opting_out_wins_over_the_namespace() -> None:
    objects = [*emit_gateway_api(AMBIENT), {"apiVersion": "v1", "kind": "Service", "metadata": {
        "name": "mockc", "namespace": "default", "labels": {"istio.io/use-waypoint": "#none"}}}]
    mesh = mesh_of(AMBIENT, objects)
    assert mesh.waypoint("default", "mockc") is None
    assert mesh.waypoint("default", "mockb") == ("default", "waypoint")


# -- the cluster: labels are written, never owned, never created, never pruned ---------------------
GATEWAY_KINDS = (("gateway.networking.k8s.io", "v1", "httproutes", "HTTPRoute"),
                 ("gateway.networking.k8s.io", "v1", "gateways", "Gateway"))


def test_apply_labels_the_app_services_and_prune_never_deletes_them(tmp_path: Path) -> None:
    from istio_workloads import service_object
    from kube_servers import StandInServed
    from kube_standin import CORE, running

    from lanedesign.cluster import apply, connect, diff

    design = AMBIENT.with_waypoint(scope="service")
    apps = [service_object(s, "default", {"app": s}, 8000) for s in ("mocka", "mockb", "mockc")]
    with running(tmp_path, *GATEWAY_KINDS, *CORE) as run, connect(run.kubeconfig) as cluster:
        served = StandInServed(run)
        for app in apps[:2]:
            served.add(app)
        plan = diff(cluster, emit_gateway_api(design), design.name)
        rejected = [(c.ref.name, c.reason) for c in plan.of("rejected")]
        # mockc's Service is missing: the label alone would create a bare Service
        assert rejected == [("mockc", "lanedesign only labels it; it must exist")]
        assert {c.ref.name for c in plan.of("create") if c.ref.kind == "Service"} >= {
            "mocka-s1", "mocka-s2"}
        assert not [c for c in plan.of("conflict")]  # the app's Services are not ours, yet
        served.add(apps[2])
        done = apply(cluster, emit_gateway_api(design), design.name, settle_seconds=0)
        assert done.failed is None
        live = served.live(apps[0])
        assert live is not None
        assert live["metadata"]["labels"] == {"app": "mocka",
                                              "istio.io/use-waypoint": "mocka-waypoint",
                                              "lanedesign.io/labelled-by": "mock-ambient"}
        assert live["spec"]["selector"] == {"app": "mocka"}  # the rest is the app's own
        again = diff(cluster, emit_gateway_api(design), design.name)
        assert {c.action for c in again.changes} == {"unchanged"}
        # back to sidecars, with prune: the version Services go, the app's Services stay
        sidecar = design.with_data_plane("sidecar")
        pruned = apply(cluster, emit_gateway_api(sidecar), design.name, prune=True,
                       settle_seconds=0)
        assert pruned.failed is None
        deleted = {s.ref.name for s in pruned.done if s.verb == "delete"}
        assert not deleted & {"mocka", "mockb", "mockc"}
        assert all(served.live(app) is not None for app in apps)


@pytest.mark.kube
def test_a_real_api_server_labels_the_namespace_and_never_prunes_it(control_plane,
                                                                    tmp_path: Path) -> None:
    """kube-apiserver with the v1.6.1 CRDs: every ambient object passes a strict dry run, the
    Namespace gets the one label (its own stay), and a sidecar prune leaves it."""
    from test_emit_gateway_api import dry_run

    from lanedesign.cluster import apply, connect, diff

    control_plane.reset()
    try:
        for waypoint in (Waypoint(), Waypoint(scope="service")):
            for obj in emit_gateway_api(AMBIENT.with_(waypoint=waypoint), with_gateway=True):
                if not (obj["kind"] == "Service" and "spec" not in obj):  # the app's: absent
                    dry_run(control_plane, obj)
        with connect(control_plane.kubeconfig(tmp_path)) as cluster:
            done = apply(cluster, emit_gateway_api(AMBIENT), AMBIENT.name, settle_seconds=0)
            assert done.failed is None
            namespace = control_plane.get({"apiVersion": "v1", "kind": "Namespace",
                                           "metadata": {"name": "default"}})
            assert namespace["metadata"]["labels"] == {
                "kubernetes.io/metadata.name": "default", "istio.io/use-waypoint": "waypoint",
                "lanedesign.io/labelled-by": "mock-ambient"}
            plan = diff(cluster, emit_gateway_api(AMBIENT), AMBIENT.name)
            assert {c.action for c in plan.changes} == {"unchanged"}
            sidecar = AMBIENT.with_data_plane("sidecar")
            pruned = apply(cluster, emit_gateway_api(sidecar), AMBIENT.name, prune=True,
                           settle_seconds=0)
            assert pruned.failed is None
            assert not [s for s in pruned.done if s.ref.kind == "Namespace" and s.verb == "delete"]
            assert [(s.verb, s.ref.name) for s in pruned.done if s.ref.kind == "Gateway"] == [
                ("delete", "waypoint")]  # the waypoint it created goes
            left = control_plane.get({"apiVersion": "v1", "kind": "Namespace",
                                      "metadata": {"name": "default"}})
            assert "istio.io/use-waypoint" not in left["metadata"]["labels"]  # only the label
    finally:
        # reset() deletes objects, not a Namespace's labels: the next tests share the server
        control_plane.request("PATCH", "/api/v1/namespaces/default", {"metadata": {
            "labels": {"istio.io/use-waypoint": None}}}, [], "application/merge-patch+json")
        control_plane.reset()
