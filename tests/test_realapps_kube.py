"""Online Boutique and Bookinfo on the real kube-apiserver: the apps' own Deployments and
Services are applied, then the lane design: apply, diff (all unchanged), apply again (no
write: the audit log says so), a lane removed with ``--prune`` (exactly its objects go),
for the istio, gateway-api and asm targets.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

import pytest
from realapp_manifests import documents, in_namespace
from realapps import App, bookinfo, bookinfo_design, boutique, boutique_design

from lanedesign.cli import main
from lanedesign.cluster import Cluster, apply, connect, diff
from lanedesign.designfile import design_from_dict, dump_design
from lanedesign.emit import emit
from lanedesign.model import LaneDesign
from lanedesign.validate import validate

pytestmark = [pytest.mark.realapps, pytest.mark.kube]


def ident(obj: dict) -> tuple[str, str | None, str]:
    meta = obj["metadata"]
    return obj["kind"], meta.get("namespace"), meta["name"]


def bookinfo_gateway_api(realapps_shared) -> list[dict]:
    """Bookinfo's own Gateway API Gateway (``gateway-api/bookinfo-gateway.yaml``; not its
    HTTPRoute, which would route productpage beside the lanes: issue 19)."""
    folder = realapps_shared / "realapps" / "bookinfo" / "gateway-api"
    return [in_namespace(d, "bookinfo") for d in documents(folder / "bookinfo-gateway.yaml")
            if d["kind"] == "Gateway"]


@dataclass(frozen=True)
class Scenario:
    app: str
    target: str
    lane: str  # the lane removed with --prune

    def design(self) -> LaneDesign:
        if self.app == "boutique":
            return boutique_design()
        design = bookinfo_design()
        if self.target == "asm":  # ASM has no route for requests naming no lane (LD610)
            return design.with_ingress(default=None)
        return design

    def app_objects(self, realapps_shared) -> tuple[App, list[dict]]:
        if self.app == "boutique":
            return boutique(realapps_shared), []
        books = bookinfo(realapps_shared)
        own = bookinfo_gateway_api(realapps_shared) if self.target == "gateway-api" else \
            [books.mesh_object("Gateway", "bookinfo-gateway")]
        return books, own


SCENARIOS = [Scenario("boutique", "istio", "v2"), Scenario("bookinfo", "istio", "v3"),
             Scenario("bookinfo", "gateway-api", "v3"), Scenario("bookinfo", "asm", "v3")]


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def owned(cluster: Cluster, objects: list[dict]) -> set[tuple]:
    """What of the emitted kinds the server holds with the group's label."""
    group = objects[0]["metadata"]["labels"]["lanedesign.io/group"]
    kinds = {(o["apiVersion"], o["kind"]) for o in objects}
    found = set()
    for res in cluster.require(kinds).values():
        for item in cluster.list(res, None, label_selector=f"lanedesign.io/group={group}"):
            found.add((res.kind, item["metadata"].get("namespace"), item["metadata"]["name"]))
    return found


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: f"{s.app}-{s.target}")
def test_apply_diff_reapply_and_prune_a_lane(scenario, control_plane, realapps_shared, tmp_path,
                                             capsys):
    plane = control_plane
    plane.reset()
    app, own = scenario.app_objects(realapps_shared)
    plane.ensure_namespace(app.namespace)
    config = plane.kubeconfig(tmp_path)
    design = scenario.design()
    path = tmp_path / "design.yaml"
    path.write_text(dump_design(design), encoding="utf-8")
    objects = emit(design, scenario.target)
    with connect(config) as cluster:
        for obj in [*app.workload_objects, *own]:  # the app, as its manifests have it
            cluster.apply(obj)
        # the first diff: every object a create, nothing written
        mark = plane.audit_mark()
        plan = diff(cluster, objects, design.name, design=design)
        assert [c.action for c in plan.changes] == ["create"] * len(objects), plan.summary()
        assert not plan.blocked, plan.summary()
        # Boutique names its Gateway API Gateway, which is no Istio Gateway (LD906; an export
        # with --with-gateway brings one); Bookinfo's exist
        missing = ["LD906"] if scenario.app == "boutique" else []
        assert [f.code for f in plan.notes] == missing, plan.summary()
        assert not [c for c in plane.calls(mark) if c.writes]
        result = apply(cluster, plan, settle_seconds=0)
        assert result.ok, result.summary()
        assert owned(cluster, objects) == {ident(o) for o in objects}

    # diff: all unchanged (the command line, as a user runs it)
    code, out, err = run(capsys, "diff", path, "--target", scenario.target,
                         "--kubeconfig", config, "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert {c["action"] for c in doc["changes"]} == {"unchanged"}, out
    assert len(doc["changes"]) == len(objects)
    # apply again: nothing to do, and the audit log holds no write
    mark = plane.audit_mark()
    code, out, err = run(capsys, "apply", path, "--target", scenario.target, "--yes",
                         "--wait", "0", "--kubeconfig", config)
    assert code == 0, err
    assert "in sync: nothing to apply" in out
    calls = plane.calls(mark)
    assert calls and not [c for c in calls if c.writes], calls

    # a lane removed, with --prune: exactly the objects the design no longer emits go
    smaller = design.without_lane(scenario.lane)
    kept = emit(smaller, scenario.target)
    gone = {ident(o) for o in objects} - {ident(o) for o in kept}
    path.write_text(dump_design(smaller), encoding="utf-8")
    mark = plane.audit_mark()
    code, out, err = run(capsys, "apply", path, "--target", scenario.target, "--yes",
                         "--prune", "--wait", "0", "--kubeconfig", config)
    assert code == 0, err
    deleted = {(c.kind, c.namespace, c.name) for c in plane.calls(mark)
               if c.method == "DELETE" and c.writes}
    assert deleted == gone
    with connect(config) as cluster:
        assert owned(cluster, objects) == {ident(o) for o in kept}
        # the app's own objects are untouched
        for obj in app.workload_objects:
            live = plane.get(obj)
            assert live is not None, ident(obj)
    # where the lane had objects of its own, they went; elsewhere its routes did
    if scenario.target in ("gateway-api", "asm"):
        assert gone, "the lane had objects of its own"
    else:
        assert not gone  # Istio: subsets and routes inside the services' objects
        reviews_or_cart = "cartservice" if scenario.app == "boutique" else "reviews"
        dr = plane.get({"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
                        "metadata": {"namespace": app.namespace,
                                     "name": f"{design.name}-{reviews_or_cart}"}})
        assert scenario.lane not in {s["name"] for s in dr["spec"]["subsets"]}


# -- import-cluster: what a user meets first --------------------------------------------------
def user_additions(app: str, proposal: LaneDesign) -> LaneDesign:
    """What no cluster shows and the user adds to the proposal, nothing else.

    Boutique: nothing (its calls are in the ``*_ADDR`` variables). Bookinfo: productpage's
    calls and reviews' per-version calls (hard-coded in the apps), the headers its apps
    forward (their source), and the pass-through method that survives them (``end-user``)."""
    if app == "boutique":
        return proposal
    expected = bookinfo_design(proposal.namespace)
    for svc in expected.services:
        found = proposal.service(svc.name)
        assert found is not None, svc.name
        proposal = proposal.with_service(replace(found, calls=svc.calls,
                                                 lane_calls=svc.lane_calls,
                                                 forwards=svc.forwards))
    return proposal.with_(route_header=expected.route_header,
                          pass_through=expected.pass_through)


def comparable_design(design: LaneDesign) -> dict:
    """The parts a proposal must get right, in a form that shows a difference plainly."""
    return {
        "services": {s.name: (s.selector_map, s.ports, s.calls, s.lane_calls, s.forwards,
                              s.namespace or design.namespace) for s in design.services},
        "lanes": {ln.name: (ln.label_map, set(ln.services)) for ln in design.lanes},
        "baseline": design.baseline, "mode": design.mode,
        "pass_through": (design.route_header, design.pass_through),
        "ingress": (design.ingress.gateway, design.ingress.hosts, design.ingress.entry,
                    design.ingress.strategy, design.ingress.default),
    }


@pytest.mark.parametrize("app_name", ["boutique", "bookinfo"])
def test_import_cluster_proposes_the_design_with_nothing_fixed_by_hand(
        app_name, control_plane, realapps_shared, tmp_path, capsys):
    """The app as deployed (its Deployments, Services and own ingress objects) on the real
    server: ``import-cluster`` proposes the hand-written design of ``realapps.py``, up to
    what ``user_additions`` names."""
    plane = control_plane
    plane.reset()
    app = boutique(realapps_shared) if app_name == "boutique" else bookinfo(realapps_shared)
    expected = boutique_design() if app_name == "boutique" else bookinfo_design()
    plane.ensure_namespace(app.namespace)
    config = plane.kubeconfig(tmp_path)
    ingress = [o for o in app.mesh if o["kind"] in ("Gateway", "VirtualService", "HTTPRoute")
               and o.get("spec", {}).get("hosts") != ["frontend"]]  # not Boutique's mesh VS
    with connect(config) as cluster:
        for obj in [*app.workload_objects, *ingress]:
            cluster.apply(obj)
    code, out, err = run(capsys, "import-cluster", "-n", app.namespace, "--name", app_name,
                         "--kubeconfig", config, "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    proposal = design_from_dict(doc["design"]).design
    assert [f["code"] for f in doc["findings"] if f["severity"] == "error"] == []
    assert comparable_design(user_additions(app_name, proposal)) == \
        comparable_design(expected)
    # and the proposal as it comes validates for the Istio target without errors
    assert [str(f) for f in validate(proposal, "istio") if f.severity == "error"] == []
