"""apply: dry run first, make-before-break phases, idempotence, prune, conflicts, failures.

Each test runs against the stand-in and the real kube-apiserver (the ``served`` fixture).
Writes within a phase run concurrently, so a phase's writes are compared as a set and the
phases in order (``phased``).
"""

from __future__ import annotations

import threading
import time

import pytest
from cluster_objects import GROUP, NS, asm_group, asm_lane, dr, ef, shop, vs
from hypothesis import HealthCheck, given, settings
from kube_servers import RealServed, StandInServed
from kube_standin import ASM, CORE, ISTIO, running
from strategies import designs

from lanedesign.cluster import ApiError, StalePlan, apply, connect, diff, plan_steps
from lanedesign.emit import emit


@pytest.fixture
def kube(served):
    with connect(served.kubeconfig) as cluster:
        yield served, cluster


@pytest.fixture
def standin_kube(tmp_path):
    """The stand-in alone: for failures injected into it (the real server has its own)."""
    with running(tmp_path, *ISTIO, *ASM, *CORE) as run, connect(run.kubeconfig) as cluster:
        yield StandInServed(run), cluster


def writes(served, since: int = 0) -> list[tuple[str, str, str]]:
    """The real (not dry-run) write requests since the ``since``-th one."""
    return [(c.method, c.kind, c.name) for c in served.writes()[since:]]


def phased(found: list, *sizes: int) -> list[set]:
    """``found`` cut into consecutive groups of ``sizes``, each a set: one per phase."""
    assert len(found) == sum(sizes), found
    groups, start = [], 0
    for size in sizes:
        groups.append(set(found[start:start + size]))
        start += size
    return groups


def subsets(obj: dict) -> list[str]:
    return [s["name"] for s in obj["spec"]["subsets"]]


def test_first_apply_writes_destination_rules_before_virtual_services(kube):
    served, cluster = kube
    result = apply(cluster, [*shop("v1", "v2"), ef()], GROUP, settle_seconds=0)
    assert result.status == "applied"
    assert phased(writes(served), 2, 3) == [
        {("PATCH", "DestinationRule", "cart"), ("PATCH", "DestinationRule", "pay")},
        {("PATCH", "VirtualService", "cart"), ("PATCH", "VirtualService", "pay"),
         ("PATCH", "EnvoyFilter", "shop-baggage")}]
    calls = served.calls()
    first_write = next(i for i, c in enumerate(calls) if c.writes)
    dry_runs = [c.name for c in calls[:first_write] if c.dry_run]
    assert sorted(dry_runs) == ["cart", "cart", "pay", "pay", "shop-baggage"]  # the whole set
    assert not any(c.dry_run for c in calls[first_write:])
    assert all(c.params.get("fieldManager") == "lanedesign" for c in calls
               if c.method == "PATCH")
    fields = served.live(vs("cart"))["metadata"]["managedFields"]
    assert {(e["manager"], e["operation"]) for e in fields} == {("lanedesign", "Apply")}


def test_a_second_apply_of_the_same_design_writes_nothing(kube):
    served, cluster = kube
    apply(cluster, shop("v1", "v2"), GROUP, settle_seconds=0)
    before, asked = len(served.writes()), len(served.calls())
    versions = [served.live(o)["metadata"]["resourceVersion"] for o in shop("v1", "v2")]
    again = apply(cluster, shop("v1", "v2"), GROUP, settle_seconds=0)
    assert again.status == "unchanged" and again.steps == ()
    assert again.plan.in_sync
    assert writes(served, before) == []
    # live objects equal to what would be applied need no dry run to say so
    assert [c.name for c in served.calls()[asked:] if c.dry_run] == []
    assert [served.live(o)["metadata"]["resourceVersion"] for o in shop("v1", "v2")] == versions
    assert "in sync: nothing to apply" in again.summary()


def test_a_new_lane_goes_subsets_first_then_routes(kube):
    served, cluster = kube
    apply(cluster, shop("v1"), GROUP, settle_seconds=0)
    before = len(served.writes())
    routes_listed_first = list(reversed(shop("v1", "v2")))
    apply(cluster, routes_listed_first, GROUP, settle_seconds=0)
    assert phased(writes(served, before), 2, 2) == [
        {("PATCH", "DestinationRule", "pay"), ("PATCH", "DestinationRule", "cart")},
        {("PATCH", "VirtualService", "pay"), ("PATCH", "VirtualService", "cart")}]


def test_a_removed_lane_goes_routes_first_then_subsets(kube):
    served, cluster = kube
    apply(cluster, shop("v1", "v2"), GROUP, settle_seconds=0)
    before = len(served.writes())
    result = apply(cluster, shop("v1"), GROUP, settle_seconds=0)
    assert phased(writes(served, before), 2, 2) == [
        {("PATCH", "VirtualService", "cart"), ("PATCH", "VirtualService", "pay")},
        {("PATCH", "DestinationRule", "cart"), ("PATCH", "DestinationRule", "pay")}]
    assert [s.phase for s in result.done] == ["route", "route", "cleanup", "cleanup"]
    assert subsets(served.live(dr("cart"))) == ["v1"]


def test_a_replaced_lane_keeps_the_old_subset_until_the_routes_moved(kube):
    served, cluster = kube
    apply(cluster, shop("v1", "v2"), GROUP, settle_seconds=0)
    apply(cluster, shop("v1", "v3"), GROUP, settle_seconds=0)
    history = [subsets(version) for version in served.history(dr("cart"))]
    assert history == [["v1", "v2"], ["v1", "v3", "v2"], ["v1", "v3"]]
    assert [r["route"][0]["destination"]["subset"]
            for r in served.live(vs("cart"))["spec"]["http"]] == ["v1", "v3", "v1"]


def test_prune_deletes_routes_first_and_only_when_asked(kube):
    served, cluster = kube
    apply(cluster, [*shop("v1"), ef()], GROUP, settle_seconds=0)
    served.add(vs("legacy", "v1", group=None))
    served.add(vs("other-team", "v1", group="payments"))
    before = len(served.writes())
    kept = apply(cluster, shop("v1", services=("cart",)), GROUP, settle_seconds=0)
    assert kept.status == "unchanged" and writes(served, before) == []
    pruned = apply(cluster, shop("v1", services=("cart",)), GROUP, prune=True,
                   settle_seconds=0)
    assert pruned.status == "applied"
    assert phased(writes(served, before), 2, 1) == [
        {("DELETE", "EnvoyFilter", "shop-baggage"), ("DELETE", "VirtualService", "pay")},
        {("DELETE", "DestinationRule", "pay")}]
    assert {name for _, name in served.live_names()} == {"cart", "legacy", "other-team"}


def test_a_conflict_blocks_the_whole_apply(kube):
    served, cluster = kube
    served.add(vs("pay", "v1", group=None))
    foreign = served.live(vs("pay"))
    result = apply(cluster, shop("v1"), GROUP, settle_seconds=0)
    assert result.status == "blocked" and not result.ok
    assert writes(served) == []
    assert "nothing applied" in result.summary()
    assert served.live(vs("pay")) == foreign


def test_another_field_manager_is_reported_and_only_overridden_when_forced(kube):
    served, cluster = kube
    apply(cluster, shop("v1"), GROUP, settle_seconds=0)
    cluster.request("PATCH", f"/apis/networking.istio.io/v1/namespaces/{NS}/virtualservices/pay",
                    [("fieldManager", "kubectl-edit")], {"spec": {"hosts": ["hijacked"]}},
                    "application/merge-patch+json")
    before = len(served.writes())
    refused = apply(cluster, shop("v1"), GROUP, settle_seconds=0)
    assert refused.status == "blocked" and writes(served, before) == []
    assert 'conflict with "kubectl-edit"' in refused.summary()
    assert served.live(vs("pay"))["spec"]["hosts"] == ["hijacked"]
    forced = apply(cluster, shop("v1"), GROUP, force_conflicts=True, settle_seconds=0)
    assert forced.status == "applied"
    assert served.live(vs("pay"))["spec"]["hosts"] == ["pay.default.svc.cluster.local"]
    assert [c.params.get("force") for c in served.writes() if c.method == "PATCH"][-1] == \
        "true"


def test_a_failure_mid_way_stops_reports_and_a_rerun_converges(standin_kube):
    served, cluster = standin_kube
    served.standin.fail("PATCH", "pay", times=2)  # pay's DestinationRule fails in two runs
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


# -- RBAC on the real server: a dry run is authorized like the write it stands for -------------
@pytest.fixture
def limited(control_plane, tmp_path):
    """The real server with a user whose RBAC grants the mesh kinds but not EnvoyFilters (the
    stand-in has one user and no RBAC)."""
    control_plane.reset()
    served = RealServed(control_plane, control_plane.kubeconfig(tmp_path),
                        control_plane.audit_mark())
    with connect(served.plane.kubeconfig(tmp_path / "limited", user="limited")) as cluster:
        yield served, cluster
    served.plane.envoy_filter_rights(False)


@pytest.mark.kube
def test_a_token_without_envoy_filter_rights_is_refused_by_the_dry_run(limited):
    served, cluster = limited
    result = apply(cluster, [*shop("v1"), ef()], GROUP, settle_seconds=0)
    assert result.status == "blocked"
    [rejected] = result.plan.of("rejected")
    assert str(rejected.ref) == "EnvoyFilter default/shop-baggage"
    assert rejected.reason.startswith("403 Forbidden: ")
    assert 'User "limited" cannot patch resource "envoyfilters" in API group ' \
        '"networking.istio.io" in the namespace "default"' in rejected.reason
    asked = served.plane.calls(served.mark, user="limited")
    assert [c.name for c in asked if c.dry_run and c.status == 403] == ["shop-baggage"]
    assert [c for c in asked if c.writes] == []


@pytest.mark.kube
def test_rights_lost_mid_way_stop_at_a_403_and_a_rerun_converges(limited):
    served, cluster = limited
    plane = served.plane
    plane.envoy_filter_rights(True)
    slept = []

    def revoke_between_phases(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) == 1:  # after prepare, before route: someone takes the right away
            plane.envoy_filter_rights(False)

    result = apply(cluster, [*shop("v1", "v2"), ef()], GROUP, settle_seconds=0.01,
                   sleep=revoke_between_phases)
    assert result.status == "failed"
    assert str(result.failed.ref) == "EnvoyFilter default/shop-baggage"
    assert isinstance(result.error, ApiError) and result.error.status == 403
    assert {str(s.ref) for s in result.done} == {
        "DestinationRule default/cart", "DestinationRule default/pay",
        "VirtualService default/cart", "VirtualService default/pay"}
    summary = result.summary()
    assert 'cannot patch resource "envoyfilters"' in summary
    assert "stopped at apply EnvoyFilter default/shop-baggage (create)" in summary
    assert "applied 4 step(s):" in summary and "not applied 1 step(s):" in summary
    assert "re-run apply to converge" in summary
    assert result.error.hint  # what to do about a 403
    assert served.live(vs("cart")) is not None and served.live(ef()) is None

    plane.envoy_filter_rights(True)
    again = apply(cluster, [*shop("v1", "v2"), ef()], GROUP, settle_seconds=0)
    assert again.status == "applied"
    assert [str(s.ref) for s in again.done] == ["EnvoyFilter default/shop-baggage"]
    assert diff(cluster, [*shop("v1", "v2"), ef()], GROUP).in_sync


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
    served, cluster = kube
    result = apply(cluster, shop("v1"), GROUP, dry_run=True)
    assert result.status == "dry-run" and result.ok
    assert [s.phase for s in result.steps] == ["prepare", "prepare", "route", "route"]
    assert writes(served) == []
    assert "dry run, nothing written" in result.summary()
    assert result.to_dict()["pending"] == result.to_dict()["steps"]


def test_a_reviewed_plan_is_refused_when_the_cluster_changed_since(kube):
    served, cluster = kube
    plan = diff(cluster, shop("v1"), GROUP)
    apply(cluster, shop("v1", services=("cart",)), GROUP, settle_seconds=0)
    before = len(served.writes())
    with pytest.raises(StalePlan):
        apply(cluster, plan, settle_seconds=0)
    assert writes(served, before) == []
    fresh = diff(cluster, shop("v1"), GROUP)
    assert apply(cluster, fresh, settle_seconds=0).status == "applied"


def test_asm_applies_the_group_before_its_lanes_and_prunes_lanes_first(kube):
    served, cluster = kube
    objects = [asm_group(), asm_lane("v1", services=("a", "b")), asm_lane("v2")]
    apply(cluster, objects, GROUP, settle_seconds=0)
    assert phased(writes(served), 1, 2) == [
        {("PATCH", "ASMSwimLaneGroup", "shop")},
        {("PATCH", "ASMSwimLane", "shop-v1"), ("PATCH", "ASMSwimLane", "shop-v2")}]
    before = len(served.writes())
    apply(cluster, [asm_lane("v1", services=("a", "b"))], GROUP, prune=True, settle_seconds=0)
    assert writes(served, before) == [("DELETE", "ASMSwimLane", "shop-v2"),
                                      ("DELETE", "ASMSwimLaneGroup", "shop")]


def test_many_objects_of_a_kind_are_read_with_one_list(kube):
    served, cluster = kube
    services = tuple(f"s{i}" for i in range(10))
    apply(cluster, shop("v1", services=services), GROUP, settle_seconds=0)
    asked = len(served.calls())
    plan = diff(cluster, shop("v1", "v2", services=services), GROUP)
    assert [c.action for c in plan.changes] == ["update"] * 20
    reads = [(c.kind, c.name) for c in served.calls()[asked:] if c.method == "GET"
             and c.kind in ("DestinationRule", "VirtualService")]
    assert reads.count(("DestinationRule", None)) >= 1 and \
        ("DestinationRule", "s0") not in reads  # listed, not fetched one by one
    assert len([c for c in served.calls()[asked:] if c.dry_run]) == 20


def test_steps_keep_the_emitted_order_inside_each_phase(kube):
    _, cluster = kube
    plan = diff(cluster, [vs("b", "v1"), dr("b", "v1"), vs("a", "v1"), dr("a", "v1")], GROUP)
    assert [(s.phase, s.ref.kind, s.ref.name) for s in plan_steps(plan)] == [
        ("prepare", "DestinationRule", "b"), ("prepare", "DestinationRule", "a"),
        ("route", "VirtualService", "b"), ("route", "VirtualService", "a")]


# -- make-before-break as a property, with the real Istio emitter -------------------------------
@pytest.fixture(scope="module", params=["standin", pytest.param("real", marks=pytest.mark.kube)])
def shared_kube(request, tmp_path_factory):
    """One server for every example of the property test (each uses its own lane group)."""
    folder = tmp_path_factory.mktemp("kube")
    if request.param == "standin":
        with running(folder, *ISTIO) as run, connect(run.kubeconfig) as cluster:
            yield StandInServed(run), cluster
        return
    plane = request.getfixturevalue("control_plane")
    plane.reset()
    with connect(plane.kubeconfig(folder)) as cluster:
        yield RealServed(plane, plane.kubeconfig(folder)), cluster


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
    served, cluster = shared_kube
    served.forget()
    group = f"g{next(_groups)}"
    before, after = before.with_(name=group), after.with_(name=group)
    for namespace in {o["metadata"]["namespace"] for d in (before, after)
                      for o in emit(d, "istio")}:
        served.ensure_namespace(namespace)
    # every example is its own lane group on one server, so earlier groups' objects route
    # the same hosts: overlaps (test_cluster_overlaps.py), accepted here knowingly
    assert apply(cluster, emit(before, "istio"), group, settle_seconds=0,
                 allow_overlap=True).status == "applied"
    state = {(o["kind"], o["metadata"]["namespace"], o["metadata"]["name"]): o
             for o in emit(before, "istio")}
    mark = len(served.writes())
    result = apply(cluster, emit(after, "istio"), group, prune=True, settle_seconds=0,
                   allow_overlap=True)
    assert result.ok
    for call in served.writes()[mark:]:  # replay every write; check the state after each
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


def test_writes_of_a_phase_overlap_and_never_those_of_two_phases(standin_kube):
    """Bounded concurrency: within a phase several writes are in flight at once (at most
    ``concurrency``); the next phase starts only after every write of the last one ended."""
    _, cluster = standin_kube
    apply(cluster, shop("v1", "v2", services=tuple(f"s{i}" for i in range(6))), GROUP,
          settle_seconds=0)
    lock, flying, spans = threading.Lock(), [0], []
    real_apply = cluster.apply

    def slow_apply(obj: dict, dry_run: bool = False, force: bool = False) -> dict:
        if dry_run:
            return real_apply(obj, dry_run=dry_run, force=force)
        with lock:
            flying[0] += 1
            most = flying[0]
        start = time.monotonic()
        time.sleep(0.05)  # long enough for the others of the phase to start meanwhile
        try:
            return real_apply(obj, force=force)
        finally:
            with lock:
                flying[0] -= 1
            spans.append((obj["kind"], start, time.monotonic(), most))

    cluster.apply = slow_apply  # the instance's writes go through the counter
    result = apply(cluster, shop("v1", "v3", services=tuple(f"s{i}" for i in range(6))),
                   GROUP, settle_seconds=0, concurrency=3)
    assert result.status == "applied" and len(result.done) == 18
    by_phase = {}
    for step in result.done:
        by_phase.setdefault(step.phase, []).append(step)
    assert {p: len(s) for p, s in by_phase.items()} == {"prepare": 6, "route": 6, "cleanup": 6}
    assert 1 < max(most for *_, most in spans) <= 3
    routes = [(start, end) for kind, start, end, _ in spans if kind == "VirtualService"]
    rules = sorted((start, end) for kind, start, end, _ in spans if kind == "DestinationRule")
    prepare, cleanup = rules[:6], rules[6:]
    assert max(end for _, end in prepare) <= min(start for start, _ in routes)
    assert max(end for _, end in routes) <= min(start for start, _ in cleanup)


def test_an_unexpected_error_starts_no_further_write(standin_kube):
    served, cluster = standin_kube
    real_apply = cluster.apply

    def broken(obj: dict, dry_run: bool = False, force: bool = False) -> dict:
        if not dry_run and obj["metadata"]["name"] == "s0":
            raise RuntimeError("a bug, not a ClusterError")
        time.sleep(0.02)
        return real_apply(obj, dry_run=dry_run, force=force)

    cluster.apply = broken
    objects = shop("v1", services=tuple(f"s{i}" for i in range(12)))
    with pytest.raises(RuntimeError, match="a bug"):
        apply(cluster, objects, GROUP, settle_seconds=0, concurrency=2)
    # s0 went first; at most the other write in flight finished: no rule after it, no route
    assert len(served.writes()) <= 2
    assert {c.kind for c in served.writes()} <= {"DestinationRule"}


def test_an_exported_gateway_is_prepared_before_the_routes_and_never_pruned(tmp_path):
    """``--with-gateway``: the Gateway goes in the first phase, before the VirtualService
    bound to it; exporting without it later prunes nothing (it is not a target kind)."""
    from lanedesign import examples
    from lanedesign.cluster.client import ObjectRef

    gateway_kind = ("networking.istio.io", "v1", "gateways", "Gateway")
    design = examples.load("mock-header")
    with running(tmp_path, *ISTIO, gateway_kind) as run, connect(run.kubeconfig) as cluster:
        objects = emit(design, "istio", with_gateway=True)
        steps = plan_steps(diff(cluster, objects, design.name))
        order = [(s.phase, s.ref.kind) for s in steps]
        first_vs = order.index(("route", "VirtualService"))
        assert order.index(("prepare", "Gateway")) < first_vs
        result = apply(cluster, objects, design.name, dry_run=False, settle_seconds=0)
        assert result.status == "applied", result.summary()
        (gateway,) = [o for o in objects if o["kind"] == "Gateway"]
        assert cluster.get(ObjectRef.of(gateway)) is not None
        without = emit(design, "istio")
        assert not [c for c in diff(cluster, without, design.name).changes
                    if c.ref.kind == "Gateway"]
        apply(cluster, without, design.name, dry_run=False, prune=True, settle_seconds=0)
        assert cluster.get(ObjectRef.of(gateway)) is not None
