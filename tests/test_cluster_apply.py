"""apply: dry run first, make-before-break phases, idempotence, prune, conflicts, failures."""

from __future__ import annotations

import pytest
from cluster_objects import GROUP, NS, asm_group, asm_lane, dr, ef, shop, vs
from hypothesis import HealthCheck, given, settings
from kube_standin import ASM, CORE, ISTIO, running
from strategies import designs

from lanedesign.cluster import StalePlan, apply, connect, diff, plan_steps
from lanedesign.emit import emit


@pytest.fixture
def kube(tmp_path):
    with running(tmp_path, *ISTIO, *ASM, *CORE) as served, \
            connect(served.kubeconfig) as cluster:
        yield served.standin, cluster


def writes(standin, since: int = 0) -> list[tuple[str, str, str]]:
    """The real (not dry-run) write requests since the ``since``-th one."""
    return [(c.method, c.kind, c.name) for c in standin.writes()[since:]]


def stored(standin, kind_plural: str, name: str, group: str = "networking.istio.io",
           version: str = "v1", namespace: str | None = NS) -> dict:
    return standin.objects[f"{group}/{version}/{kind_plural}", namespace, name].raw


def subsets(obj: dict) -> list[str]:
    return [s["name"] for s in obj["spec"]["subsets"]]


def test_first_apply_writes_destination_rules_before_virtual_services(kube):
    standin, cluster = kube
    result = apply(cluster, [*shop("v1", "v2"), ef()], GROUP, settle_seconds=0)
    assert result.status == "applied"
    assert writes(standin) == [("PATCH", "DestinationRule", "cart"),
                               ("PATCH", "DestinationRule", "pay"),
                               ("PATCH", "VirtualService", "cart"),
                               ("PATCH", "VirtualService", "pay"),
                               ("PATCH", "EnvoyFilter", "shop-baggage")]
    calls = standin.calls()
    first_write = next(i for i, c in enumerate(calls) if c.writes)
    dry_runs = [c.name for c in calls[:first_write] if c.dry_run]
    assert dry_runs == ["cart", "pay", "cart", "pay", "shop-baggage"]  # the whole set first
    assert all(c.content_type == "application/apply-patch+yaml"
               for c in calls if c.method == "PATCH")
    managers = {e["manager"] for e in stored(standin, "virtualservices", "cart")
                ["metadata"]["managedFields"]}
    assert managers == {"lanedesign"}


def test_a_second_apply_of_the_same_design_writes_nothing(kube):
    standin, cluster = kube
    apply(cluster, shop("v1", "v2"), GROUP, settle_seconds=0)
    before = len(standin.writes())
    again = apply(cluster, shop("v1", "v2"), GROUP, settle_seconds=0)
    assert again.status == "unchanged" and again.steps == ()
    assert again.plan.in_sync
    assert writes(standin, before) == []
    assert "in sync: nothing to apply" in again.summary()


def test_a_new_lane_goes_subsets_first_then_routes(kube):
    standin, cluster = kube
    apply(cluster, shop("v1"), GROUP, settle_seconds=0)
    before = len(standin.writes())
    routes_listed_first = list(reversed(shop("v1", "v2")))
    apply(cluster, routes_listed_first, GROUP, settle_seconds=0)
    assert writes(standin, before) == [("PATCH", "DestinationRule", "pay"),
                                       ("PATCH", "DestinationRule", "cart"),
                                       ("PATCH", "VirtualService", "pay"),
                                       ("PATCH", "VirtualService", "cart")]


def test_a_removed_lane_goes_routes_first_then_subsets(kube):
    standin, cluster = kube
    apply(cluster, shop("v1", "v2"), GROUP, settle_seconds=0)
    before = len(standin.writes())
    result = apply(cluster, shop("v1"), GROUP, settle_seconds=0)
    assert writes(standin, before) == [("PATCH", "VirtualService", "cart"),
                                       ("PATCH", "VirtualService", "pay"),
                                       ("PATCH", "DestinationRule", "cart"),
                                       ("PATCH", "DestinationRule", "pay")]
    assert [s.phase for s in result.done] == ["route", "route", "cleanup", "cleanup"]
    assert subsets(stored(standin, "destinationrules", "cart")) == ["v1"]


def test_a_replaced_lane_keeps_the_old_subset_until_the_routes_moved(kube):
    standin, cluster = kube
    apply(cluster, shop("v1", "v2"), GROUP, settle_seconds=0)
    apply(cluster, shop("v1", "v3"), GROUP, settle_seconds=0)
    key = ("networking.istio.io/v1/destinationrules", NS, "cart")
    history = [subsets(version) for version in standin.objects[key].history]
    assert history == [["v1", "v2"], ["v1", "v3", "v2"], ["v1", "v3"]]
    assert [r["route"][0]["destination"]["subset"]
            for r in stored(standin, "virtualservices", "cart")["spec"]["http"]] == \
        ["v1", "v3", "v1"]


def test_prune_deletes_routes_first_and_only_when_asked(kube):
    standin, cluster = kube
    apply(cluster, [*shop("v1"), ef()], GROUP, settle_seconds=0)
    standin.add(vs("legacy", "v1", group=None))
    standin.add(vs("other-team", "v1", group="payments"))
    before = len(standin.writes())
    kept = apply(cluster, shop("v1", services=("cart",)), GROUP, settle_seconds=0)
    assert kept.status == "unchanged" and writes(standin, before) == []
    pruned = apply(cluster, shop("v1", services=("cart",)), GROUP, prune=True,
                   settle_seconds=0)
    assert pruned.status == "applied"
    assert writes(standin, before) == [("DELETE", "EnvoyFilter", "shop-baggage"),
                                       ("DELETE", "VirtualService", "pay"),
                                       ("DELETE", "DestinationRule", "pay")]
    names = {name for (_, _, name), obj in standin.objects.items() if not obj.deleted}
    assert names == {"cart", "legacy", "other-team"}


def test_a_conflict_blocks_the_whole_apply(kube):
    standin, cluster = kube
    standin.add(vs("pay", "v1", group=None))
    foreign = stored(standin, "virtualservices", "pay")
    result = apply(cluster, shop("v1"), GROUP, settle_seconds=0)
    assert result.status == "blocked" and not result.ok
    assert writes(standin) == []
    assert "nothing applied" in result.summary()
    assert stored(standin, "virtualservices", "pay") == foreign


def test_another_field_manager_is_reported_and_only_overridden_when_forced(kube):
    standin, cluster = kube
    apply(cluster, shop("v1"), GROUP, settle_seconds=0)
    cluster.request("PATCH", f"/apis/networking.istio.io/v1/namespaces/{NS}/virtualservices/pay",
                    [("fieldManager", "kubectl-edit")], {"spec": {"hosts": ["hijacked"]}},
                    "application/merge-patch+json")
    before = len(standin.writes())
    refused = apply(cluster, shop("v1"), GROUP, settle_seconds=0)
    assert refused.status == "blocked" and writes(standin, before) == []
    assert 'conflict with "kubectl-edit"' in refused.summary()
    forced = apply(cluster, shop("v1"), GROUP, force_conflicts=True, settle_seconds=0)
    assert forced.status == "applied"
    assert stored(standin, "virtualservices", "pay")["spec"]["hosts"] == \
        ["pay.default.svc.cluster.local"]
    assert [c.params.get("force") for c in standin
            if c.method.value == "PATCH" and c.params.get("dryRun") != "All"][-1] == "true"


def test_a_failure_mid_way_stops_reports_and_a_rerun_converges(kube):
    standin, cluster = kube
    standin.fail("PATCH", "pay", times=2)  # pay's DestinationRule fails in two runs
    result = apply(cluster, shop("v1", "v2"), GROUP, settle_seconds=0)
    assert result.status == "failed" and not result.ok
    assert [str(s.ref) for s in result.done] == ["DestinationRule default/cart"]
    assert str(result.failed.ref) == "DestinationRule default/pay"
    assert [str(s.ref) for s in result.pending] == ["DestinationRule default/pay",
                                                    "VirtualService default/cart",
                                                    "VirtualService default/pay"]
    assert result.error.status == 500
    summary = result.summary()
    assert "stopped at apply DestinationRule default/pay (create)" in summary
    assert "re-run apply to converge" in summary
    assert result.to_dict()["error"]["status"] == 500
    again = apply(cluster, shop("v1", "v2"), GROUP, settle_seconds=0)  # fails once more
    assert again.status == "failed"
    assert [str(s.ref) for s in again.done] == []
    third = apply(cluster, shop("v1", "v2"), GROUP, settle_seconds=0)
    assert third.status == "applied"
    assert [str(s.ref) for s in third.done] == ["DestinationRule default/pay",
                                                "VirtualService default/cart",
                                                "VirtualService default/pay"]
    assert diff(cluster, shop("v1", "v2"), GROUP).in_sync


def test_waits_between_phases_and_reports_progress(kube):
    _, cluster = kube
    apply(cluster, shop("v1", "v2"), GROUP, settle_seconds=0)
    slept, events = [], []
    result = apply(cluster, shop("v1", "v3"), GROUP, settle_seconds=2.5,
                   on_progress=events.append, sleep=slept.append)
    assert slept == [2.5, 2.5]
    assert [(e.done, e.total, e.phase) for e in events] == [
        (1, 6, "prepare"), (2, 6, "prepare"),
        (2, 6, "route"), (3, 6, "route"), (4, 6, "route"),
        (4, 6, "cleanup"), (5, 6, "cleanup"), (6, 6, "cleanup")]
    assert events[2].step is None and events[2].message.startswith("waiting 2.5s")
    assert result.status == "applied"


def test_no_wait_when_only_one_phase_has_work(kube):
    _, cluster = kube
    apply(cluster, shop("v1"), GROUP, settle_seconds=0)
    slept = []
    changed = [*shop("v1")[:2], vs("cart", "v1", header="x-other"), vs("pay", "v1")]
    apply(cluster, changed, GROUP, settle_seconds=3, sleep=slept.append)
    assert slept == []


def test_dry_run_lists_the_steps_and_writes_nothing(kube):
    standin, cluster = kube
    result = apply(cluster, shop("v1"), GROUP, dry_run=True)
    assert result.status == "dry-run" and result.ok
    assert [s.phase for s in result.steps] == ["prepare", "prepare", "route", "route"]
    assert writes(standin) == []
    assert "dry run, nothing written" in result.summary()
    assert result.to_dict()["pending"] == result.to_dict()["steps"]


def test_a_reviewed_plan_is_refused_when_the_cluster_changed_since(kube):
    standin, cluster = kube
    plan = diff(cluster, shop("v1"), GROUP)
    apply(cluster, shop("v1", services=("cart",)), GROUP, settle_seconds=0)
    before = len(standin.writes())
    with pytest.raises(StalePlan):
        apply(cluster, plan, settle_seconds=0)
    assert writes(standin, before) == []
    fresh = diff(cluster, shop("v1"), GROUP)
    assert apply(cluster, fresh, settle_seconds=0).status == "applied"


def test_asm_applies_the_group_before_its_lanes_and_prunes_lanes_first(kube):
    standin, cluster = kube
    objects = [asm_group(), asm_lane("v1", services=("a", "b")), asm_lane("v2")]
    apply(cluster, objects, GROUP, settle_seconds=0)
    assert writes(standin) == [("PATCH", "ASMSwimLaneGroup", "shop"),
                               ("PATCH", "ASMSwimLane", "shop-v1"),
                               ("PATCH", "ASMSwimLane", "shop-v2")]
    before = len(standin.writes())
    apply(cluster, [asm_lane("v1", services=("a", "b"))], GROUP, prune=True, settle_seconds=0)
    assert writes(standin, before) == [("DELETE", "ASMSwimLane", "shop-v2"),
                                       ("DELETE", "ASMSwimLaneGroup", "shop")]


def test_steps_keep_the_emitted_order_inside_each_phase(kube):
    _, cluster = kube
    plan = diff(cluster, [vs("b", "v1"), dr("b", "v1"), vs("a", "v1"), dr("a", "v1")], GROUP)
    assert [(s.phase, s.ref.kind, s.ref.name) for s in plan_steps(plan)] == [
        ("prepare", "DestinationRule", "b"), ("prepare", "DestinationRule", "a"),
        ("route", "VirtualService", "b"), ("route", "VirtualService", "a")]


# -- make-before-break as a property, with the real Istio emitter -------------------------------
@pytest.fixture(scope="module")
def shared_kube(tmp_path_factory):
    with running(tmp_path_factory.mktemp("kube"), *ISTIO) as served, \
            connect(served.kubeconfig) as cluster:
        yield served.standin, cluster


def routed_subsets(state: dict) -> set[tuple[str, str]]:
    """(host, subset) pairs the VirtualServices in ``state`` send traffic to."""
    return {(d["destination"]["host"], d["destination"]["subset"])
            for (kind, _, _), obj in state.items() if kind == "VirtualService"
            for route in obj["spec"]["http"] for d in route["route"]}


def defined_subsets(state: dict) -> set[tuple[str, str]]:
    return {(obj["spec"]["host"], s["name"])
            for (kind, _, _), obj in state.items() if kind == "DestinationRule"
            for s in obj["spec"]["subsets"]}


_groups = iter(range(10**6))


def istio_designs():
    """Random designs plain Istio can express (traceId becomes baggage)."""
    return designs(max_services=4, max_lanes=4).map(
        lambda d: d if d.pass_through.method != "traceId" else
        d.with_pass_through(method="baggage", trace_header=None, baggage_key=None))


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=istio_designs(), after=istio_designs())
def test_no_route_ever_points_at_a_missing_subset(shared_kube, before, after):
    standin, cluster = shared_kube
    standin.forget_requests()
    group = f"g{next(_groups)}"
    before, after = before.with_(name=group), after.with_(name=group)
    assert apply(cluster, emit(before, "istio"), group, settle_seconds=0).status == "applied"
    state = {(o["kind"], o["metadata"]["namespace"], o["metadata"]["name"]): o
             for o in emit(before, "istio")}
    mark = len(standin.writes())
    result = apply(cluster, emit(after, "istio"), group, prune=True, settle_seconds=0)
    assert result.ok
    for call in standin.writes()[mark:]:  # replay every write; check the state after each
        key = (call.kind, call.namespace, call.name)
        if call.method == "DELETE":
            del state[key]
        else:
            state[key] = call.body
        missing = routed_subsets(state) - defined_subsets(state)
        assert not missing, f"after {call.method} {key}: routes to missing subsets {missing}"
    wanted = {(o["kind"], o["metadata"]["namespace"], o["metadata"]["name"])
              for o in emit(after, "istio")}
    assert set(state) == wanted
    assert diff(cluster, emit(after, "istio"), group).in_sync
