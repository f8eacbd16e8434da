"""diff: create / update / unchanged / prune / conflict / rejected, judged by a server dry run.

Against the stand-in and the real kube-apiserver (``served``), except where a test needs a
server the real one is not (no Istio CRDs, an old Istio) or injects a failure into the stand-in.
"""

from __future__ import annotations

import pytest
from cluster_objects import GROUP, NS, dr, ef, shop, vs
from kube_servers import RealServed, StandInServed
from kube_standin import ASM, CORE, ISTIO, ISTIO_OLD, running, status_error

from lanedesign.cluster import TargetNotServed, apply, connect, diff


@pytest.fixture
def kube(served):
    with connect(served.kubeconfig) as cluster:
        yield served, cluster


@pytest.fixture
def standin_kube(tmp_path):
    """The stand-in alone: for failures injected into it (the real server has its own)."""
    with running(tmp_path, *ISTIO, *ASM, *CORE) as run, connect(run.kubeconfig) as cluster:
        yield StandInServed(run), cluster


@pytest.fixture
def real_kube(control_plane, tmp_path):
    control_plane.reset()
    served = RealServed(control_plane, control_plane.kubeconfig(tmp_path),
                        control_plane.audit_mark())
    with connect(served.kubeconfig) as cluster:
        yield served, cluster


def actions(plan) -> list[tuple[str, str, str]]:
    return [(c.action, c.ref.kind, c.ref.name) for c in plan.changes]


def test_an_empty_cluster_gets_everything_created_by_a_dry_run_only(kube):
    served, cluster = kube
    plan = diff(cluster, shop("v1", "v2"), GROUP)
    assert actions(plan) == [("create", "DestinationRule", "cart"),
                             ("create", "DestinationRule", "pay"),
                             ("create", "VirtualService", "cart"),
                             ("create", "VirtualService", "pay")]
    assert served.writes() == []
    patches = [c for c in served.calls() if c.method == "PATCH"]
    assert len(patches) == 4 and all(c.dry_run for c in patches)
    assert served.live(dr("cart")) is None
    assert "+  host: cart.default.svc.cluster.local\n" in plan.changes[0].diff
    assert not plan.blocked and not plan.in_sync


def test_after_apply_everything_is_unchanged(kube):
    _, cluster = kube
    apply(cluster, shop("v1", "v2"), GROUP, settle_seconds=0)
    plan = diff(cluster, shop("v1", "v2"), GROUP)
    assert {c.action for c in plan.changes} == {"unchanged"}
    assert plan.in_sync
    assert "4 unchanged" in plan.summary()


def test_an_update_shows_a_readable_field_diff(kube):
    _, cluster = kube
    apply(cluster, shop("v1", "v2"), GROUP, settle_seconds=0)
    plan = diff(cluster, shop("v1", "v2", "v3"), GROUP)
    assert [c.action for c in plan.changes] == ["update"] * 4
    text = "".join(plan.changes[0].diff)
    assert text.startswith("--- live\n+++ applied\n")
    assert "+  - labels:\n+      version: v3\n+    name: v3\n" in text
    assert "resourceVersion" not in text and "managedFields" not in text
    summary = plan.summary()
    assert "update     DestinationRule default/cart" in summary
    assert "+      version: v3" in summary


def test_owned_objects_no_longer_emitted_are_prune_candidates(kube):
    _, cluster = kube
    apply(cluster, [*shop("v1"), ef()], GROUP, settle_seconds=0)
    plan = diff(cluster, shop("v1", services=("cart",)), GROUP)
    assert actions(plan) == [("unchanged", "DestinationRule", "cart"),
                             ("unchanged", "VirtualService", "cart"),
                             ("prune", "DestinationRule", "pay"),
                             ("prune", "EnvoyFilter", "shop-baggage"),
                             ("prune", "VirtualService", "pay")]
    assert "apply --prune deletes them" in plan.summary()


def test_foreign_objects_are_never_prune_candidates(kube):
    served, cluster = kube
    served.add(vs("legacy", "v1", group=None))  # same kind, no labels
    served.add(vs("other-team", "v1", group="payments"))  # our labels, another group
    plan = diff(cluster, shop("v1"), GROUP)
    assert {c.ref.name for c in plan.changes} == {"cart", "pay"}
    assert plan.of("prune") == []


def test_a_same_named_object_without_our_labels_is_a_conflict(kube):
    served, cluster = kube
    served.add(vs("cart", "v1", group=None))
    served.add(dr("pay", "v1", group="payments"))
    plan = diff(cluster, shop("v1"), GROUP)
    conflicts = {c.ref.name: c.reason for c in plan.of("conflict")}
    assert conflicts == {
        "cart": "exists without lanedesign's ownership labels; left untouched",
        "pay": "owned by lane group 'payments'; left untouched",
    }
    assert plan.blocked
    assert "blocked" in plan.summary()


def test_a_field_another_manager_changed_is_a_conflict_with_the_servers_words(kube):
    _, cluster = kube
    apply(cluster, shop("v1"), GROUP, settle_seconds=0)
    cluster.request("PATCH", f"/apis/networking.istio.io/v1/namespaces/{NS}/virtualservices/pay",
                    [("fieldManager", "kubectl-edit")],
                    {"spec": {"hosts": ["pay.example.com"]}}, "application/merge-patch+json")
    plan = diff(cluster, shop("v1"), GROUP)
    [conflict] = plan.of("conflict")
    assert conflict.ref.name == "pay"
    assert 'conflict with "kubectl-edit"' in conflict.reason and ".spec.hosts" in conflict.reason
    forced = diff(cluster, shop("v1"), GROUP, force_conflicts=True)
    assert [c.action for c in forced.changes if c.ref.name == "pay"] == ["unchanged", "update"]


def test_an_object_the_server_rejects_is_reported_not_raised(standin_kube):
    served, cluster = standin_kube
    served.standin[lambda req: req.name == "cart" and req.params.get("dryRun") == "All"] << \
        status_error(422, "Invalid", 'admission webhook "validation.istio.io" denied the '
                     "request: configuration is invalid: subset name is empty")
    plan = diff(cluster, shop("v1"), GROUP)
    rejected = plan.of("rejected")
    assert [c.ref.kind for c in rejected] == ["DestinationRule", "VirtualService"]
    assert rejected[0].reason.startswith("422 Invalid: admission webhook")
    assert plan.blocked


def test_objects_must_carry_the_ownership_labels_of_the_group(kube):
    _, cluster = kube
    with pytest.raises(ValueError, match="lacks the labels"):
        diff(cluster, [vs("cart", "v1", group=None)], GROUP)
    with pytest.raises(ValueError, match=r"lanedesign\.io/group=shop"):
        diff(cluster, [vs("cart", "v1", group="other")], GROUP)


def test_a_cluster_without_the_istio_crds_refuses_the_target(tmp_path):
    with running(tmp_path, *CORE) as served, connect(served.kubeconfig) as cluster, \
            pytest.raises(TargetNotServed) as refused:
        diff(cluster, shop("v1"), GROUP)
    error = refused.value
    assert error.missing == ("networking.istio.io/v1/DestinationRule",
                             "networking.istio.io/v1/VirtualService")
    assert "no networking.istio.io at all" in error.message
    assert "Install Istio 1.22 or later" in error.hint
    assert served.standin.writes() == []


def test_an_old_istio_without_v1_is_refused_naming_the_versions_it_has(tmp_path):
    with running(tmp_path, *ISTIO_OLD) as served, connect(served.kubeconfig) as cluster, \
            pytest.raises(TargetNotServed) as refused:
        diff(cluster, shop("v1"), GROUP)
    # in the server's order (kmock keeps versions in a set, so compare as a set)
    assert set(refused.value.served["networking.istio.io"]) == {"v1beta1", "v1alpha3"}
    assert "does not serve networking.istio.io/v1 DestinationRule" in refused.value.message
    assert "v1beta1" in refused.value.message and "v1alpha3" in refused.value.message


def test_without_cluster_wide_list_rights_prune_candidates_come_per_namespace(standin_kube):
    served, cluster = standin_kube
    apply(cluster, shop("v1"), GROUP, settle_seconds=0)
    served.standin[lambda req: req.method.value == "GET" and req.name is None
            and req.namespace is None and req.resource is not None
            and req.resource.plural is not None] << status_error(403, "Forbidden", "no")
    plan = diff(cluster, shop("v1", services=("cart",)), GROUP)
    assert [c.ref.name for c in plan.of("prune")] == ["pay", "pay"]


# -- the real server's own refusals (no injection: its CRD schemas and RBAC) -------------------
@pytest.mark.kube
def test_a_value_of_the_wrong_type_is_rejected_not_raised(real_kube):
    served, cluster = real_kube
    bad = vs("cart", "v1")
    bad["spec"]["http"][0]["route"][0]["weight"] = "most"  # an integer in Istio's schema
    plan = diff(cluster, [dr("cart", "v1"), bad], GROUP)
    assert [c.action for c in plan.changes] == ["create", "rejected"]
    [rejected] = plan.of("rejected")
    # kube-apiserver answers a server-side apply of a mistyped field with a 500, not a 422
    assert rejected.reason.startswith("500 Internal Server Error: failed to create typed "
                                      "patch object")
    assert ".spec.http[0].route[0].weight: expected numeric" in rejected.reason
    assert plan.blocked and served.writes() == []


@pytest.mark.kube
def test_an_object_istios_schema_rules_reject_is_a_422_with_the_servers_words(real_kube):
    served, cluster = real_kube
    bad = dr("cart", "v1")
    bad["spec"]["subsets"][0].pop("name")  # Istio's CRD requires a subset's name
    plan = diff(cluster, [bad], GROUP)
    [rejected] = plan.of("rejected")
    assert rejected.reason.startswith("422 Invalid: ")
    assert "spec.subsets[0].name: Required value" in rejected.reason
    assert plan.blocked and served.writes() == []


def test_an_object_in_a_namespace_that_does_not_exist_is_rejected(kube):
    served, cluster = kube
    elsewhere = dr("cart", "v1")
    elsewhere["metadata"]["namespace"] = "no-such-namespace"
    plan = diff(cluster, [elsewhere, dr("pay", "v1")], GROUP)
    assert [c.action for c in plan.changes] == ["rejected", "create"]
    assert plan.changes[0].reason == '404 NotFound: namespaces "no-such-namespace" not found'
    assert plan.blocked and served.writes() == []


@pytest.mark.kube
def test_a_user_with_namespace_rights_only_gets_prune_candidates_per_namespace(real_kube,
                                                                               tmp_path):
    served, cluster = real_kube
    apply(cluster, shop("v1"), GROUP, settle_seconds=0)
    plane = served.plane  # the limited user's rights are namespaced RoleBindings
    with connect(plane.kubeconfig(tmp_path / "limited", user="limited")) as limited:
        plan = diff(limited, shop("v1", services=("cart",)), GROUP)
    assert [c.ref.name for c in plan.of("prune")] == ["pay", "pay"]
    lists = [c for c in plane.calls(served.mark, user="limited") if c.method == "GET"
             and c.name is None and c.kind is not None]
    assert {c.status for c in lists if c.namespace is None} == {403}
    assert {c.namespace for c in lists if c.status == 200} == {NS}
