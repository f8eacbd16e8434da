"""Istio ambient on the cluster: import reads enrolment and waypoints; diff finds a lane
service no waypoint routes (the silent failure); apply and prune never own the app's objects."""

from __future__ import annotations

import json

import pytest
from cluster_objects import NS, deployment, service
from observe_scenarios import scenarios

from lanedesign.cli import main
from lanedesign.cluster import (
    apply,
    connect,
    design_from_workloads,
    diff,
    import_design,
    remove,
)
from lanedesign.cluster.ambient import (
    DATAPLANE_MODE,
    LABELLED_BY,
    USE_WAYPOINT,
    AmbientState,
    ambient_findings,
    is_label_only,
    is_waypoint,
    label_object,
    labels_of,
    routed_services,
    waypoint_of,
)
from lanedesign.designfile import design_from_dict, design_to_dict, save_design
from lanedesign.emit import emit
from lanedesign.emit.common import GROUP_LABEL, MANAGED_BY, MANAGER
from lanedesign.model import Ingress, Lane, LaneDesign, PassThrough, Service, Waypoint
from lanedesign.observe import Prometheus, compare, observe, requests_query
from lanedesign.observe.calls import Sample
from lanedesign.observe.query import L4, L4_METRIC, LAYER_LABEL


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


def shop(data_plane: str = "ambient", waypoint: Waypoint | None = None,
         ns: str = NS) -> LaneDesign:
    return LaneDesign(
        name="shop", namespace=ns, baseline="v1", data_plane=data_plane,
        waypoint=waypoint or Waypoint(), pass_through=PassThrough(method="header"),
        ingress=Ingress(gateway=f"{ns}/ingress", entry="cart", default="v1"),
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
    assert spec["dataPlane"] == "ambient" and spec["waypoint"]["create"] is False
    assert design_from_dict(design_to_dict(design)).design == design  # the file keeps it
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


# -- diff: the silent failure -----------------------------------------------------------------
def ns_label(wp: str = "waypoint", ns: str = NS) -> dict:
    """The label-only Namespace object an ambient gateway-api export carries."""
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": ns, "labels": {USE_WAYPOINT: wp}}}


def state(ns_labels: dict, services: dict | None = None,
          waypoints: tuple = ((NS, "waypoint"),)) -> AmbientState:
    svcs = {(NS, n): labelled(service(n), **(services or {}).get(n, {}))
            for n in ("cart", "pay", "ship")}
    return AmbientState({NS: namespace(**ns_labels)}, svcs, frozenset(waypoints))


AMBIENT = {DATAPLANE_MODE: "ambient"}


def codes(findings) -> list[tuple[str, str]]:
    return [(f.code, f.path) for f in findings]


def test_only_services_a_lane_routes_elsewhere_need_a_waypoint():
    assert routed_services(shop()) == ["cart", "pay"]  # ship: baseline in every lane


def test_a_lane_service_with_no_waypoint_is_the_silent_failure():
    found = ambient_findings(shop(), [], state(AMBIENT))
    assert codes(found) == [("LD961", "Service default/cart"), ("LD961", "Service default/pay")]
    assert "silently not route" in found[0].message
    assert "requests reach every version's pods" in found[0].message
    assert "istio.io/use-waypoint=waypoint" in found[0].hint


def test_the_designs_own_namespace_label_counts_as_applied():
    assert ambient_findings(shop(), [ns_label()], state(AMBIENT)) == []


def test_a_live_namespace_label_or_service_labels_give_the_waypoint():
    assert ambient_findings(shop(), [], state({**AMBIENT, USE_WAYPOINT: "waypoint"})) == []
    per_service = {"cart": {USE_WAYPOINT: "waypoint"}, "pay": {USE_WAYPOINT: "waypoint"}}
    assert ambient_findings(shop(), [], state(AMBIENT, per_service)) == []


def test_a_service_opting_out_of_its_namespaces_waypoint_is_found():
    found = ambient_findings(shop(), [], state({**AMBIENT, USE_WAYPOINT: "waypoint"},
                                               {"pay": {USE_WAYPOINT: "none"}}))
    assert codes(found) == [("LD961", "Service default/pay")]


def test_a_named_waypoint_missing_and_not_emitted_is_found_and_an_emitted_one_is_not():
    found = ambient_findings(shop(), [ns_label("gone")], state(AMBIENT, waypoints=()))
    assert codes(found) == [("LD962", "Service default/cart"), ("LD962", "Service default/pay")]
    emitted = [ns_label("gone"), waypoint_gateway("gone", owned=True)]
    assert ambient_findings(shop(), emitted, state(AMBIENT, waypoints=())) == []


def test_enrolment_must_match_the_designs_data_plane():
    found = ambient_findings(shop(), [ns_label()], state({}))
    assert codes(found) == [("LD963", "Namespace default")]
    # a sidecar design in an ambient namespace: LD964, and its services have no waypoint
    found = ambient_findings(shop("sidecar"), [], state(AMBIENT))
    assert [c for c, _ in codes(found)] == ["LD964", "LD961", "LD961"]
    # neither ambient: nothing at all (the negative case)
    assert ambient_findings(shop("sidecar"), [], state({})) == []


def test_the_istio_targets_envoyfilter_in_an_ambient_namespace_is_said_to_do_nothing():
    envoy_filter = {"apiVersion": "networking.istio.io/v1alpha3", "kind": "EnvoyFilter",
                    "metadata": {"name": "shop-baggage", "namespace": NS}}
    found = ambient_findings(shop("sidecar"), [envoy_filter],
                             state({**AMBIENT, USE_WAYPOINT: "waypoint"}))
    assert codes(found) == [("LD964", "Namespace default"), ("LD965", "Namespace default")]
    assert codes(ambient_findings(shop("sidecar"), [envoy_filter], state({}))) == []


def test_waypoint_of_reads_the_service_first_then_the_namespace():
    ns = namespace(**{USE_WAYPOINT: "waypoint"})
    assert waypoint_of(service("cart"), ns) == (NS, "waypoint")
    own = labelled(service("cart"), **{USE_WAYPOINT: "cart-wp",
                                        "istio.io/use-waypoint-namespace": "mesh"})
    assert waypoint_of(own, ns) == ("mesh", "cart-wp")
    assert waypoint_of(service("cart"), namespace()) is None


# -- label-only objects: never owned ---------------------------------------------------------
def test_a_label_only_object_is_applied_as_its_labels_without_ownership():
    emitted = {"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": "cart", "namespace": NS,
                            "labels": {USE_WAYPOINT: "cart-waypoint", MANAGED_BY: MANAGER,
                                       GROUP_LABEL: "shop"}}}
    assert is_label_only(emitted) and is_label_only(ns_label())
    assert not is_label_only(service("cart"))  # a version Service has a spec
    assert label_object(emitted, "shop") == {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "cart", "namespace": NS,
                     "labels": {USE_WAYPOINT: "cart-waypoint", LABELLED_BY: "shop"}}}


# -- the real kube-apiserver: apply, diff and prune an ambient gateway-api export -------------
def ambient_export(design: LaneDesign) -> list[dict]:
    """The gateway-api export of an ambient design: waypoints, labels, routes."""
    return emit(design, "gateway-api")


def app_namespace(plane, ns: str) -> None:
    """A namespace enrolled in ambient with the app's Services, written by other managers."""
    plane.apply({"apiVersion": "v1", "kind": "Namespace",
                 "metadata": {"name": ns, "labels": {DATAPLANE_MODE: "ambient"}}},
                manager="kubectl")
    for name in ("cart", "pay", "ship"):
        if plane.get(service(name, ns)) is None:
            plane.create(service(name, ns))
    plane.create({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
                  "metadata": {"name": "ingress", "namespace": ns},
                  "spec": {"gatewayClassName": "istio", "listeners": [
                      {"name": "http", "port": 80, "protocol": "HTTP"}]}})


def refs(objects) -> set[tuple[str, str | None, str]]:
    return {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in objects}


def deletes(plane, mark) -> set[tuple[str, str | None, str]]:
    return {(c.kind, c.namespace, c.name) for c in plane.calls(mark)
            if c.method == "DELETE" and c.writes}


@pytest.mark.kube
def test_ambient_export_applies_diffs_clean_and_prunes_only_what_it_made(control_plane,
                                                                         tmp_path, capsys):
    plane, ns = control_plane, "amb-lanes"
    plane.reset()
    app_namespace(plane, ns)
    design = shop(ns=ns)
    objects = ambient_export(design)
    assert ("Gateway", ns, "waypoint") in refs(objects)
    with connect(plane.kubeconfig(tmp_path)) as cluster:
        plan = diff(cluster, objects, "shop", design=design)
        assert not plan.blocked, plan.summary()
        actions = {(c.ref.kind, c.ref.name): c.action for c in plan.changes}
        assert actions[("Namespace", ns)] == "update"  # a label on it, never a create
        assert {a for k, a in actions.items() if k[0] != "Namespace"} == {"create"}
        assert plan.notes == (), plan.summary()
        # the negative case: without the Namespace's label no waypoint takes the lanes
        bare = diff(cluster, [o for o in objects if not is_label_only(o)], "shop",
                    design=design)
        assert codes(bare.notes) == [("LD961", f"Service {ns}/cart"),
                                     ("LD961", f"Service {ns}/pay")]

        mark = plane.audit_mark()
        dry = apply(cluster, plan, dry_run=True)
        assert dry.status == "dry-run" and not [c for c in plane.calls(mark) if c.writes]
        result = apply(cluster, plan, settle_seconds=0)
        assert result.ok, result.summary()
        live_ns = plane.get(f"/api/v1/namespaces/{ns}")
        assert labels_of(live_ns) == {DATAPLANE_MODE: "ambient", USE_WAYPOINT: "waypoint",
                                      LABELLED_BY: "shop",
                                      "kubernetes.io/metadata.name": ns}
        assert is_waypoint(plane.get(waypoint_gateway("waypoint", ns)))
        again = diff(cluster, objects, "shop", design=design)
        assert again.in_sync and again.notes == (), again.summary()
        # the command line, as a user runs it: in sync, no finding
        path = tmp_path / "shop.yaml"
        save_design(design, path)
        code = main(["diff", str(path), "--target", "gateway-api", "--kubeconfig",
                     str(plane.kubeconfig(tmp_path)), "--format", "json"])
        doc = json.loads(capsys.readouterr().out)
        assert code == 0 and [f for f in doc["findings"] if f["severity"] != "info"] == [], doc
        assert {c["action"] for c in doc["changes"]} == {"unchanged"}

        # one waypoint per service instead: the namespace's waypoint is pruned, its label
        # dropped, the Namespace and the app Services stay
        per_service = shop(ns=ns, waypoint=Waypoint(scope="service"))
        moved = ambient_export(per_service)
        mark = plane.audit_mark()
        result = apply(cluster, moved, "shop", prune=True, settle_seconds=0,
                       design=per_service)
        assert result.ok, result.summary()
        assert deletes(plane, mark) == {("Gateway", ns, "waypoint")}
        live_ns = plane.get(f"/api/v1/namespaces/{ns}")
        assert USE_WAYPOINT not in labels_of(live_ns) and LABELLED_BY not in labels_of(live_ns)
        assert labels_of(live_ns)[DATAPLANE_MODE] == "ambient"  # kubectl's label stays
        assert labels_of(plane.get(service("cart", ns)))[USE_WAYPOINT] == "cart-waypoint"
        assert diff(cluster, moved, "shop", design=per_service).in_sync

        # remove: every object it made goes; the app's Services stay, without its labels
        mark = plane.audit_mark()
        gone = remove(cluster, "shop", settle_seconds=0)
        assert gone.status == "removed", gone.summary()
        assert deletes(plane, mark) == refs(o for o in moved if not is_label_only(o))
        for name in ("cart", "pay", "ship"):
            svc = plane.get(service(name, ns))
            assert svc is not None and svc["spec"]["ports"][0]["port"] == 8080
            assert not {USE_WAYPOINT, LABELLED_BY} & set(labels_of(svc))
        assert plane.get(f"/api/v1/namespaces/{ns}") is not None


@pytest.mark.kube
def test_a_waypoint_the_design_refers_to_is_never_deleted(control_plane, tmp_path):
    plane, ns = control_plane, "amb-existing"
    plane.reset()
    app_namespace(plane, ns)
    plane.create(waypoint_gateway("waypoint", ns))  # made by istioctl waypoint apply
    for app, v in (("cart", "v1"), ("cart", "v2"), ("pay", "v1"), ("pay", "v2"),
                   ("ship", "v1")):
        plane.create(deployment(app, {"version": v}, ns))
    design = shop(ns=ns, waypoint=Waypoint(create=False))
    objects = ambient_export(design)
    assert not [o for o in objects if is_waypoint(o)]
    with connect(plane.kubeconfig(tmp_path)) as cluster:
        # import-cluster reads the enrolment and the waypoint there, and refers to it
        proposal = import_design(cluster, [ns])
        assert proposal.design.data_plane == "ambient", proposal.summary()
        assert proposal.design.waypoint == Waypoint("waypoint", "namespace", create=False)
        assert not [f for f in proposal.findings if f.code == "LD960"]
        plan = diff(cluster, objects, "shop", design=design)
        assert plan.notes == () and not plan.blocked, plan.summary()
        assert apply(cluster, plan, settle_seconds=0).ok
        assert labels_of(plane.get(f"/api/v1/namespaces/{ns}"))[USE_WAYPOINT] == "waypoint"
        # a waypoint that is gone and not emitted: the lanes would not route (LD962)
        elsewhere = shop(ns=ns, waypoint=Waypoint(name="gone", create=False))
        missing = diff(cluster, ambient_export(elsewhere), "shop", design=elsewhere)
        assert [c for c, _ in codes(missing.notes)] == ["LD962", "LD962"]
        mark = plane.audit_mark()
        assert remove(cluster, "shop", settle_seconds=0).status == "removed"
        assert ("Gateway", ns, "waypoint") not in deletes(plane, mark)
        assert plane.get(waypoint_gateway("waypoint", ns)) is not None
        assert USE_WAYPOINT not in labels_of(plane.get(f"/api/v1/namespaces/{ns}"))


# -- observe: the waypoint reports the requests, ztunnel only L4 -----------------------------
def answered(samples) -> list:
    """Prometheus's answer to the ambient query for ``samples`` (what ``requests_query``
    asks: the waypoint's requests summed, ztunnel's L4 series marked), without a server."""
    out = []
    for s in samples:
        labels = s.label_map
        if labels.get("__name__") == L4_METRIC:
            keep = {k: labels[k] for k in ("destination_service_name",
                                           "destination_service_namespace")}
            out.append(Sample.of({**keep, LAYER_LABEL: L4}, s.value))
        elif labels.get("reporter") == "waypoint":
            out.append(Sample.of({k: v for k, v in labels.items() if k != "reporter"},
                                 s.value))
    return out


def ambient_scenario(name: str):
    return next(s for s in scenarios() if s.name == name)


def test_an_ambient_design_asks_for_the_waypoints_reports_and_ztunnels_l4_in_one_query():
    scenario = ambient_scenario("ambient-l4")
    query = requests_query(scenario.design, "15m")
    assert query.startswith('sum by (') and 'istio_requests_total{reporter="waypoint"' in query
    assert ' or label_replace(sum by (destination_service_name, ' in query
    assert 'istio_tcp_connections_opened_total{reporter!="waypoint"' in query
    sidecar = requests_query(scenario.design.with_(data_plane="sidecar"), "15m")
    assert 'reporter="destination"' in sidecar and "istio_tcp" not in sidecar


def test_ambient_samples_are_the_waypoints_and_ztunnels():
    scenario = ambient_scenario("ambient-l4")
    samples = scenario.samples()
    l7 = [s.label_map for s in samples if "__name__" not in s.label_map]
    l4 = [s.label_map for s in samples if s.label_map.get("__name__") == L4_METRIC]
    assert {x["reporter"] for x in l7} == {"waypoint"}
    # the app workloads on either side, never the waypoint
    assert {x["source_workload"] for x in l7} >= {"mocka-v1", "istio-ingressgateway"}
    assert {x["destination_service_name"] for x in l7} == {"mocka", "mockb"}
    assert {x["destination_service_name"] for x in l4} == {"mockc"}
    assert all("lane" not in x and "destination_version" not in x for x in l4)


def test_behind_a_waypoint_a_dropped_context_is_found_as_with_sidecars():
    scenario = ambient_scenario("ambient-waypoint")
    found = compare(scenario.design, answered(scenario.samples()))
    assert {(f.code, f.path) for f in found.findings if f.severity != "info"} == \
        scenario.expected
    cell = found.cell("s2", "mockb", "mockc")
    assert dict(cell.reached) == {"v1": 240.0, "v2": 360.0}


def test_without_a_waypoint_only_l4_is_observable_and_said_so():
    scenario = ambient_scenario("ambient-l4")
    found = compare(scenario.design, answered(scenario.samples()))
    assert [(f.code, f.path) for f in found.findings if f.severity != "info"] == []
    assert [(f.code, f.path) for f in found.findings if f.code == "LD966"] == \
        [("LD966", "spec.services[2]")]
    assert found.cell("s2", "mockb", "mockc") is None  # not judged: nothing to judge it by
    assert found.cell("s2", "mocka", "mockb") is not None  # the rest still is
    # without the L4 series the same silence would read as a missing call (LD805)
    bare = compare(scenario.design, [s for s in answered(scenario.samples())
                                     if LAYER_LABEL not in s.label_map])
    assert ("LD805", "spec.services[1].calls[0]") in {(f.code, f.path) for f in bare.findings}


@pytest.fixture(scope="module")
def ambient_prom(tmp_path_factory):
    """A real Prometheus holding the two ambient scenarios (skips without the package)."""
    from prometheus_tier import INSTALL_HINT, LocalPrometheus, required, tools

    if tools() is None:
        if required():
            pytest.fail(f"prometheus is required under CI: {INSTALL_HINT}")
        pytest.skip(f"prometheus/promtool not installed: {INSTALL_HINT}")
    tier = LocalPrometheus(tmp_path_factory.mktemp("prometheus"))
    ats = {name: tier.add(ambient_scenario(name).samples())
           for name in ("ambient-waypoint", "ambient-l4")}
    with tier:
        tier.start()
        yield tier.url, ats


@pytest.mark.parametrize("name", ["ambient-waypoint", "ambient-l4"])
def test_observe_reads_the_waypoints_reports_from_prometheus(name, ambient_prom, tmp_path,
                                                             capsys):
    url, ats = ambient_prom
    scenario = ambient_scenario(name)
    path = tmp_path / "design.yaml"
    save_design(scenario.design, path)
    code = main(["observe", str(path), "--prometheus", url, "--at", str(ats[name]),
                 "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert {(f["code"], f["path"]) for f in data["findings"] if f["severity"] != "info"} == \
        scenario.expected
    assert code == (1 if scenario.expected else 0)
    assert data["queries"] == 1 and 'reporter="waypoint"' in data["query"]
    l4_only = [f["path"] for f in data["findings"] if f["code"] == "LD966"]
    assert l4_only == ([] if name == "ambient-waypoint" else ["spec.services[2]"])
    # the same comparison as the samples themselves give
    direct = compare(scenario.design, answered(scenario.samples()))
    seen = observe(scenario.design, Prometheus(url), at=ats[name]).comparison
    assert seen.findings == direct.findings
    assert [c.to_dict() for c in seen.cells] == [c.to_dict() for c in direct.cells]


def test_the_sidecar_reporter_sees_nothing_of_an_ambient_mesh(ambient_prom, tmp_path, capsys):
    """The negative case: reading reporter="destination" (the sidecar default) finds no
    request at all where waypoints report."""
    url, ats = ambient_prom
    path = tmp_path / "design.yaml"
    save_design(ambient_scenario("ambient-waypoint").design, path)
    code = main(["observe", str(path), "--prometheus", url, "--at",
                 str(ats["ambient-waypoint"]), "--reporter", "destination", "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 1 and [f["code"] for f in data["findings"]] == ["LD810"]


def test_import_says_when_some_pods_opt_out_of_ambient():
    services, deployments = workloads()
    deployments[3]["spec"]["template"]["metadata"]["labels"][DATAPLANE_MODE] = "none"  # pay v2
    result = design_from_workloads(
        services, deployments, name="shop", mesh=[waypoint_gateway()],
        namespace_objects=[namespace(**{DATAPLANE_MODE: "ambient", USE_WAYPOINT: "waypoint"})])
    mixed = [f for f in result.findings if f.code == "LD960"]
    assert [f.path for f in mixed] == ["spec.dataPlane"] and "pay" in mixed[0].message
    assert "cart" not in mixed[0].message


def test_a_waypoint_in_another_namespace_is_found_there():
    elsewhere = {USE_WAYPOINT: "shared", "istio.io/use-waypoint-namespace": "mesh"}
    assert ambient_findings(shop(), [], state({**AMBIENT, **elsewhere},
                                              waypoints=(("mesh", "shared"),))) == []
    found = ambient_findings(shop(), [], state({**AMBIENT, **elsewhere}))
    assert [c for c, _ in codes(found)] == ["LD962", "LD962"]
    assert "mesh/shared" in found[0].message
