"""The Cluster tab against the stand-in API server and the real kube-apiserver: connect,
diff, confirmed apply with progress, stale plans, prune, import, errors, and no credential
anywhere in the widgets."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest
from cluster_objects import deployment, service, vs
from kube_servers import STANDIN_TOKEN, StandInServed
from kube_standin import ASM, CORE, ISTIO, running, write_kubeconfig
from test_cluster_adopt import (  # noqa: F401 (team: a fixture)
    INGRESS,
    adopted_design,
    lanes_only,
    ours,
    routing_only,
    team,
    team_live,
)
from test_cluster_overlaps import mesh  # noqa: F401 (a fixture team needs)

from lanedesign import examples
from lanedesign.cluster.adopt import records_of
from lanedesign.emit import emit
from lanedesign.widgets import Designer

NS = "default"


@pytest.fixture
def kube(served):
    """Istio, ASM and workloads served; the server demands the kubeconfig's token."""
    return served


@pytest.fixture
def standin_kube(tmp_path):
    """The stand-in alone, for a failure injected into it."""
    with running(tmp_path, *ISTIO, *ASM, *CORE, token=STANDIN_TOKEN) as run:
        yield StandInServed(run)


@pytest.fixture
def designer():
    return Designer("mock-baggage")


def connected(designer: Designer, kubeconfig) -> object:
    """The Cluster tab, opened and connected to ``kubeconfig``'s current context."""
    panel = designer.show(designer.cluster)
    panel.kubeconfig.value = str(kubeconfig)
    panel.wait.value = 0  # no pause between phases in tests
    panel.connect_button.click()
    return panel


def live_names(served) -> set[tuple[str, str]]:
    """(kind, name) of every object the server holds (of the kinds lanedesign reads)."""
    return served.live_names()


def diffed_and_confirmed(panel) -> None:
    panel.diff_button.click()
    panel.confirm.value = True


def widget_texts(widget) -> Iterator[str]:
    """Every synced value of ``widget`` and its descendants, as text."""
    yield json.dumps(widget.get_state(), default=str)
    for child in getattr(widget, "children", ()):
        yield from widget_texts(child)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- connect and diff -------------------------------------------------------------------------
def test_connect_lists_the_contexts_and_shows_what_the_cluster_serves(kube, designer):
    panel = designer.show(designer.cluster)
    assert panel.diff_button.disabled and panel.apply_button.disabled
    panel.kubeconfig.value = str(kube.kubeconfig)
    assert panel.context.options == (kube.context, "elsewhere")
    assert panel.context.value == kube.context
    panel.connect_button.click()
    assert f"Connected to context {kube.context}" in panel.status.value
    # the real server has the Gateway API CRDs too (then also gateway-api), the stand-in not
    assert "Targets it can take: <b>istio, asm" in panel.status.value
    assert not panel.diff_button.disabled


def test_diff_shows_every_object_of_the_mock_example_as_a_create(kube, designer):
    panel = connected(designer, kube.kubeconfig)
    panel.diff_button.click()
    assert "8 create" in panel.plan_status.value
    for obj in emit(designer.design, "istio"):
        ref = f"{obj['kind']} {obj['metadata']['namespace']}/{obj['metadata']['name']}"
        assert f"<td>{ref}</td>" in panel.plan_table.value
    assert panel.plan_table.value.count(">create</span>") == 8
    assert "<summary>the new object" in panel.plan_table.value
    assert kube.writes() == []  # a dry run only
    assert "Apply will write" not in panel.apply_note.value
    assert "tick the confirmation" in panel.apply_note.value


def test_a_changed_object_shows_its_field_diff(kube, designer):
    panel = connected(designer, kube.kubeconfig)
    diffed_and_confirmed(panel)
    panel.apply_button.click()
    designer.show(designer.headers).route_header.value = "x-lane"
    panel = designer.show(designer.cluster)
    panel.diff_button.click()
    assert "update" in panel.plan_status.value and "create" not in panel.plan_status.value
    assert "<summary>field diff" in panel.plan_table.value
    assert '<span class="ld-add">+' in panel.plan_table.value
    assert "x-lane" in panel.plan_table.value


def test_a_conflict_blocks_the_plan_and_force_is_off_by_default(kube, designer):
    first = emit(designer.design, "istio")[0]
    kube.add({**first, "metadata": {"name": first["metadata"]["name"],
                                            "namespace": NS}})  # same name, not ours
    panel = connected(designer, kube.kubeconfig)
    assert panel.force.value is False and panel.prune.value is False
    panel.diff_button.click()
    assert "Blocked:" in panel.plan_status.value
    assert "exists without lanedesign&#x27;s ownership labels" in panel.plan_table.value
    assert panel.confirm.disabled and panel.apply_button.disabled
    assert "blocked by conflicts" in panel.apply_note.value


# -- apply ------------------------------------------------------------------------------------
def test_apply_is_refused_without_confirmation(kube, designer):
    panel = connected(designer, kube.kubeconfig)
    panel.apply_plan()  # before any diff
    assert "Not applied: run Diff first" in panel.apply_note.value
    panel.diff_button.click()
    assert panel.apply_button.disabled and not panel.confirm.disabled
    panel.apply_plan()
    assert "Not applied: tick the confirmation" in panel.apply_note.value
    assert kube.writes() == []


def test_a_confirmed_apply_creates_the_objects_with_progress_then_diff_is_unchanged(
        kube, designer):
    panel = connected(designer, kube.kubeconfig)
    diffed_and_confirmed(panel)
    assert panel.confirm.description == f"I reviewed the diff for context {kube.context}"
    assert not panel.apply_button.disabled
    assert f"Apply will run 8 step(s): 8 apply on context {kube.context}" in \
        panel.apply_note.value
    panel.apply_button.click()
    wanted = {(o["kind"], o["metadata"]["name"]) for o in emit(designer.design, "istio")}
    assert live_names(kube) == wanted
    assert (panel.progress.value, panel.progress.max) == (8, 8)
    assert panel.progress.bar_style == "success"
    assert panel.progress_text.value == "8/8 route"
    assert panel.log.value.count("apply ") == 8 and "waiting 0s" not in panel.log.value
    assert f"Applied 8 step(s) to context {kube.context}" in panel.result.value
    assert panel.apply_button.disabled  # the plan was used
    assert "Diff again" in panel.plan_status.value

    before = len(kube.writes())
    panel.diff_button.click()
    assert "8 unchanged" in panel.plan_status.value and "In sync" in panel.plan_status.value
    assert "nothing to apply, the cluster is in sync" in panel.apply_note.value
    assert panel.confirm.disabled and len(kube.writes()) == before


def test_a_failure_mid_way_says_what_was_and_was_not_applied(standin_kube, designer):
    kube = standin_kube
    kube.standin.fail("PATCH", "mock-baggage-mockb")  # its DestinationRule, the second write
    panel = connected(designer, kube.kubeconfig)
    diffed_and_confirmed(panel)
    panel.apply_button.click()
    result = panel.result.value
    assert "Stopped at apply DestinationRule default/mock-baggage-mockb (create)" in result
    assert "500 InternalError" in result and "injected failure" in result
    applied, not_applied = result.split("Not applied:")
    assert "DestinationRule default/mock-baggage-mocka" in applied.split("Applied:")[1]
    # the phase's writes run concurrently: mockc's may have been in flight and finished
    done = applied.split("Applied:")[1].count("<li>")
    assert done in (1, 2) and not_applied.count("<li>") == 8 - done
    assert "route: " not in applied  # the route phase never started
    assert "Diff and Apply again to converge" in result
    assert panel.progress.bar_style == "danger" and panel.progress.value == done
    assert "ld-del" in panel.log.value  # the failed step's line is marked
    diffed_and_confirmed(panel)
    assert f"{8 - done} create" in panel.plan_status.value
    assert f"{done} unchanged" in panel.plan_status.value
    panel.apply_button.click()
    assert f"Applied {8 - done} step(s)" in panel.result.value


def test_an_edit_to_the_design_turns_apply_off(kube, designer):
    panel = connected(designer, kube.kubeconfig)
    diffed_and_confirmed(panel)
    assert not panel.apply_button.disabled
    designer.show(designer.lanes).checkboxes[("s2", "mockc")].value = False
    designer.undo()  # even an undone edit needs a new diff
    panel = designer.show(designer.cluster)
    assert panel.apply_button.disabled and panel.confirm.value is False
    assert "out of date (the design changed)" in panel.plan_status.value
    panel.apply_plan()
    assert kube.writes() == []


def test_a_stale_plan_is_refused_and_asks_for_a_new_diff(kube, designer):
    panel = connected(designer, kube.kubeconfig)
    diffed_and_confirmed(panel)
    kube.add(emit(designer.design, "istio")[0])  # someone else applied one meanwhile
    before = len(kube.writes())
    panel.apply_button.click()
    assert "The cluster changed since the diff - run Diff again" in panel.result.value
    assert len(kube.writes()) == before
    assert panel.apply_button.disabled
    diffed_and_confirmed(panel)
    assert "7 create" in panel.plan_status.value and "1 unchanged" in panel.plan_status.value
    panel.apply_button.click()
    assert "Applied 7 step(s)" in panel.result.value


def test_prune_deletes_only_what_this_lane_group_owns(kube, designer):
    panel = connected(designer, kube.kubeconfig)
    diffed_and_confirmed(panel)
    panel.apply_button.click()
    kube.add(vs("legacy", "v1", group=None))
    kube.add(vs("other-team", "v1", group="payments"))
    designer.show(designer.services).select.value = "mockc"
    designer.services.remove.click()

    panel = designer.show(designer.cluster)
    panel.diff_button.click()
    assert "2 prune" in panel.plan_status.value and "6 unchanged" in panel.plan_status.value
    assert "only prune candidates are left; tick prune" in panel.apply_note.value
    assert panel.confirm.disabled and panel.apply_button.disabled
    panel.prune.value = True
    panel.confirm.value = True
    panel.prune.value = False
    assert panel.confirm.value is False  # a new prune choice needs a new confirmation
    panel.prune.value = True
    panel.confirm.value = True
    assert f"2 step(s): 2 delete on context {kube.context}" in panel.apply_note.value
    panel.apply_button.click()
    assert "Applied 2 step(s)" in panel.result.value
    names = live_names(kube)
    assert ("DestinationRule", "mock-baggage-mockc") not in names
    assert ("VirtualService", "mock-baggage-mockc") not in names
    assert {("VirtualService", "legacy"), ("VirtualService", "other-team")} <= names
    panel.diff_button.click()
    assert "In sync" in panel.plan_status.value


# -- import -----------------------------------------------------------------------------------
def test_import_from_deployments_proposes_lanes_and_use_this_design_is_undoable(kube, designer):
    for app in ("cart", "pay"):
        kube.add(service(app))
        kube.add(deployment(app, {"version": "v1"}))
    kube.add(deployment("cart", {"version": "v2"}))
    panel = connected(designer, kube.kubeconfig)
    assert panel.importer.use_button.disabled
    panel.importer.namespaces.value = "default"
    panel.importer.design_name.value = "shop"
    panel.importer.propose_button.click()
    assert "design &#x27;shop&#x27;: 2 service(s), 2 lane(s), baseline v1" in \
        panel.importer.view.value
    assert "Its findings say what Kubernetes could not tell" in panel.importer.view.value
    assert not panel.importer.use_button.disabled

    panel.importer.use_button.click()
    assert designer.design.name == "shop"
    assert [(ln.name, ln.services) for ln in designer.design.lanes] == [
        ("v1", ("cart", "pay")), ("v2", ("cart",))]
    assert designer.undo_button.description == "Undo: use the imported design shop"
    designer.undo()
    assert designer.design == examples.load("mock-baggage")


def test_import_without_a_namespace_or_with_another_label_key(kube, designer):
    kube.add(service("cart"))
    kube.add(deployment("cart", {"ASM_TRAFFIC_TAG": "base"}))
    panel = connected(designer, kube.kubeconfig)
    panel.importer.propose_button.click()
    assert "Enter at least one namespace" in panel.importer.note.value
    panel.importer.namespaces.value = "default"
    panel.importer.label_key.value = "ASM_TRAFFIC_TAG"
    panel.importer.propose_button.click()
    panel.importer.use_button.click()
    assert designer.design.lane_names == ("base",)


def test_a_lane_group_is_read_back_from_what_apply_wrote(kube, designer):
    panel = connected(designer, kube.kubeconfig)
    diffed_and_confirmed(panel)
    panel.apply_button.click()
    importer = panel.importer
    importer.source.value = "group"
    assert importer.workloads_box.layout.display == "none"
    assert importer.group.layout.display == "" and importer.group.placeholder == "mock-baggage"
    importer.propose_button.click()
    importer.use_button.click()
    mock = examples.load("mock-baggage")
    assert [(ln.name, ln.services) for ln in designer.design.lanes] == \
        [(ln.name, ln.services) for ln in mock.lanes]


# -- errors and credentials -------------------------------------------------------------------
def test_an_unreachable_cluster_shows_the_error_and_its_hint(tmp_path, designer):
    path = write_kubeconfig(tmp_path, f"http://127.0.0.1:{closed_port()}")
    panel = connected(designer, path)
    text = panel.status.value
    assert "cannot reach the Kubernetes API server at http://127.0.0.1:" in text
    assert "Check that the cluster is up" in text and "Traceback" not in text
    assert panel.diff_button.disabled and panel.connection is None


def test_no_kubeconfig_is_a_message_not_a_crash(tmp_path, designer):
    panel = designer.show(designer.cluster)
    panel.kubeconfig.value = str(tmp_path / "absent")
    assert "no kubeconfig found at" in panel.status.value
    assert panel.context.options == ()
    panel.connect_button.click()
    assert "no kubeconfig found" in panel.status.value and "Traceback" not in \
        panel.status.value


def test_the_kubeconfig_token_never_appears_in_any_widget(kube, tmp_path, designer):
    kube.add(service("mocka"))
    kube.add(deployment("mocka", {"version": "v1"}))
    panel = connected(designer, kube.kubeconfig)
    diffed_and_confirmed(panel)
    panel.apply_button.click()
    assert kube.writes()  # the token worked: the server demands it
    panel.importer.namespaces.value = "default"
    panel.importer.propose_button.click()
    texts = list(widget_texts(designer.widget))
    wrong = kube.kubeconfig_with(tmp_path / "wrong", kube.token[::-1])
    panel.kubeconfig.value = str(wrong)
    panel.connect_button.click()
    assert "401 Unauthorized" in panel.status.value
    texts += widget_texts(designer.widget)
    seen = "\n".join(texts)
    assert "Applied 8 step(s)" in seen and "401 Unauthorized" in seen  # the walk sees it all
    for text in texts:
        assert kube.token not in text and kube.token[::-1] not in text


# -- adopt: the team's objects taken over from the Cluster tab (issue 19) ----------------------
def test_adopt_takes_over_the_teams_objects_as_apply_adopt_does(team, shared_dir):  # noqa: F811
    """Bookinfo's whole networking set on the team's side: Diff blocks on the overlaps; with
    adopt ticked (a new Diff) the plan lists each adoption and Apply takes them over, the
    team's gateway route recorded on our ingress route; a design lacking the routing is
    refused, one whose ingress lacks the team's paths keeps `bookinfo` in the way."""
    for design, why in ((lanes_only(), "does not carry the team's routing exactly"),
                        (routing_only(shared_dir), "objects of other owners route")):
        panel = connected(Designer(design), team.kubeconfig)
        panel.adopt.value = True
        panel.diff_button.click()
        plan = panel.reviewed.plan
        assert plan.adopt and plan.blocked
        assert "bookinfo" not in {a.foreign.name for a in plan.adoptions}
        assert why in panel.apply_blocker() and panel.apply_button.disabled
    panel = connected(Designer(adopted_design(shared_dir)), team.kubeconfig)
    panel.diff_button.click()
    assert "objects of other owners route" in panel.apply_blocker()
    assert "tick <i>adopt</i>" in panel.plan_status.value
    panel.adopt.value = True  # a new choice: the diff on screen no longer holds
    assert panel.reviewed is None
    diffed_and_confirmed(panel)
    assert panel.apply_blocker() == ""
    adopted = {(a.foreign.kind, a.foreign.name) for a in panel.reviewed.plan.adoptions}
    assert adopted == set(team_live(team, shared_dir))
    assert "VirtualService default/bookinfo</td><td>the team's object: recorded on " \
        f"VirtualService default/{INGRESS}" in panel.plan_table.value
    team.forget()
    panel.apply_button.click()
    assert "Applied" in panel.result.value, panel.result.value
    assert not any(team_live(team, shared_dir).values())
    assert [r["ref"]["name"] for r in records_of(ours(team, "VirtualService", INGRESS))] == [
        "bookinfo"]
    assert {(c.method, c.name) for c in team.writes() if c.method == "DELETE"} == {
        ("DELETE", name) for _, name in adopted}
    panel.diff_button.click()  # converged: a second diff has nothing to write
    assert panel.reviewed.plan.in_sync and "nothing to apply" in panel.apply_blocker()
