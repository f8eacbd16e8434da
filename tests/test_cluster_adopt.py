"""Taking over a team's routing objects (``apply --adopt``) and handing them back
(``remove``), issue 19: on the stand-in and the real kube-apiserver (``-m kube``). "The team"
applies Bookinfo's networking objects first as its own field manager (its mesh
VirtualServices and DestinationRules, and `bookinfo` on `bookinfo-gateway`); the lane design
for Bookinfo carries their routing and the gateway route's paths as ``adopt`` reads them
(what ``import-cluster --adopt`` writes into the design)."""

from __future__ import annotations

import copy
import json

import pytest
from test_cluster_overlaps import DESIGN, NS, TEAM, mesh, run, team_objects  # noqa: F401

from lanedesign.cluster.adopt import ADOPTED, choose, record, records_of, with_records
from lanedesign.cluster.client import ObjectRef
from lanedesign.cluster.overlaps import Overlap
from lanedesign.designfile import dump_design, parse_design
from lanedesign.emit.istio_adopt import adopt, adopt_routing
from lanedesign.findings import make
from lanedesign.model import RequestMatch, StringMatch

TEAM_FILES = ("destination-rule-all.yaml", "virtual-service-reviews-jason-v2-v3.yaml",
              "virtual-service-ratings-test-delay.yaml")
TEAM_REFS = {("DestinationRule", n) for n in ("productpage", "reviews", "ratings", "details")} | {
    ("VirtualService", n) for n in ("reviews", "ratings", "bookinfo")}
INGRESS = "bookinfo-ingress"  # our VirtualService on bookinfo-gateway


def gateway(shared_dir) -> dict:
    """Bookinfo's Istio Gateway (the team keeps it: lanedesign binds to it)."""
    return next(o for o in team_objects(shared_dir, "bookinfo-gateway.yaml")
                if o["kind"] == "Gateway")


def gateway_route(shared_dir) -> dict:
    """Bookinfo's `bookinfo` VirtualService on bookinfo-gateway (its paths to productpage)."""
    return next(o for o in team_objects(shared_dir, "bookinfo-gateway.yaml")
                if o["kind"] == "VirtualService")


def team_routes(shared_dir) -> list[dict]:
    """The whole Bookinfo networking set lanedesign can adopt (all but the Gateway)."""
    return [*team_objects(shared_dir, *TEAM_FILES), gateway_route(shared_dir)]


def lanes_only():
    design = parse_design(DESIGN % "default/bookinfo-gateway").design
    assert design is not None
    return design


def adopted_design(shared_dir):
    """The lanes with the team's routing and its gateway route's paths in the ingress."""
    done = adopt(lanes_only(), team_routes(shared_dir))
    assert [f for f in done.findings if f.severity == "error"] == []
    assert done.design.service("reviews").routing is not None
    assert done.ingress == "VirtualService default/bookinfo"
    return done.design


def routing_only(shared_dir):
    """The team's routing, but the ingress as the lanes had it (every path)."""
    design, findings = adopt_routing(lanes_only(), team_objects(shared_dir, *TEAM_FILES))
    assert [f for f in findings if f.severity == "error"] == []
    return design


def write(tmp_path, design, name: str = "bookinfo.yaml"):
    path = tmp_path / name
    path.write_text(dump_design(design))
    return path


@pytest.fixture
def team(mesh, shared_dir):  # noqa: F811
    """Bookinfo's DestinationRules, the jason and test-delay VirtualServices, its Gateway and
    gateway route, created by the team (field manager ``team-kubectl``) before any lane."""
    mesh.add(gateway(shared_dir), TEAM)
    for obj in team_routes(shared_dir):
        mesh.add(obj, TEAM)
    mesh.forget()
    return mesh


def team_live(kube, shared_dir) -> dict[tuple[str, str], dict | None]:
    return {(o["kind"], o["metadata"]["name"]): kube.live(o) for o in team_routes(shared_dir)}


def ours(kube, kind: str, name: str, namespace: str = NS) -> dict | None:
    return kube.live({"apiVersion": "networking.istio.io/v1", "kind": kind,
                      "metadata": {"name": name, "namespace": namespace}})


def apply(capsys, kube, design, *extra) -> tuple[int, str]:
    code, out, err = run(capsys, "apply", design, "--wait", "0", "--kubeconfig",
                         kube.kubeconfig, *extra)
    return code, out + err


def managers(obj: dict) -> list[str]:
    return sorted({e["manager"] for e in obj["metadata"].get("managedFields") or []})


def operations(obj: dict) -> set[str]:
    return {e["operation"] for e in obj["metadata"].get("managedFields") or []}


def position(calls, method: str, kind: str, name: str) -> int:
    return next(i for i, c in enumerate(calls)
                if (c.method, c.kind, c.name) == (method, kind, name))


def test_adopt_takes_over_converges_and_remove_hands_back(team, shared_dir, tmp_path, capsys):
    design = write(tmp_path, adopted_design(shared_dir))
    before = team_live(team, shared_dir)
    assert all(before.values())
    # without --adopt: the overlaps block, nothing is written
    code, out = apply(capsys, team, design, "--yes")
    assert code == 1 and "error   LD900" in out and "nothing applied" in out
    assert team.writes() == []
    # the dry run of --adopt says what it would take over, and writes nothing
    code, out = apply(capsys, team, design, "--adopt")
    assert code == 0, out
    assert "adopt      VirtualService default/reviews: recorded on VirtualService " \
           "default/bookinfo-reviews" in out
    assert "info    LD915" in out  # "LD915": adopted
    assert team.writes() == []

    code, out = apply(capsys, team, design, "--adopt", "--yes")
    assert code == 0, out
    # the team's objects are gone; ours carry their routes
    assert {k: v for k, v in team_live(team, shared_dir).items() if v} == {}
    reviews = ours(team, "VirtualService", "bookinfo-reviews")["spec"]["http"]
    jason = [r for r in reviews if r.get("match") == [{"headers": {"end-user": {
        "exact": "jason"}}}]]
    assert [r["route"][0]["destination"]["subset"] for r in jason] == ["v2"]
    assert reviews[-1]["route"][0]["destination"]["subset"] == "v3"  # the team's default
    ratings = ours(team, "VirtualService", "bookinfo-ratings")["spec"]["http"]
    delayed = [r for r in ratings if "fault" in r]
    assert len(delayed) == 1 and delayed[0]["fault"]["delay"]["fixedDelay"] == "7s"
    assert delayed[0]["match"] == [{"headers": {"end-user": {"exact": "jason"}}}]
    rule = ours(team, "DestinationRule", "bookinfo-ratings")["spec"]
    assert {s["name"] for s in rule["subsets"]} == {"v1", "v2", "v2-mysql", "v2-mysql-vm"}
    # each team object is recorded on our object of its kind for its host, as it was
    recorded = records_of(ours(team, "VirtualService", "bookinfo-reviews"))
    assert [(r["ref"]["kind"], r["ref"]["name"], r["manager"]) for r in recorded] == [
        ("VirtualService", "reviews", TEAM)]
    assert recorded[0]["manifest"]["spec"] == before[("VirtualService", "reviews")]["spec"]
    assert "uid" not in recorded[0]["manifest"]["metadata"]
    assert [r["ref"]["name"] for r in records_of(ours(team, "DestinationRule",
                                                      "bookinfo-reviews"))] == ["reviews"]
    # the gateway route: its paths are in our ingress route, it is recorded there
    ingress = ours(team, "VirtualService", INGRESS)
    assert ingress["spec"]["gateways"] == ["default/bookinfo-gateway"]
    uris = {json.dumps(m.get("uri"), sort_keys=True) for r in ingress["spec"]["http"]
            for m in r.get("match") or [{}]}
    assert len(uris) == 1 and "productpage" in uris.pop()  # every rule tests its paths
    gw_records = records_of(ingress)
    assert [(r["ref"]["kind"], r["ref"]["name"], r["manager"]) for r in gw_records] == [
        ("VirtualService", "bookinfo", TEAM)]
    assert gw_records[0]["manifest"]["spec"] == before[("VirtualService", "bookinfo")]["spec"]
    # make-before-break: our rule and route first, then the team's route, then its rule
    calls = team.writes()
    assert position(calls, "PATCH", "DestinationRule", "bookinfo-reviews") < \
        position(calls, "PATCH", "VirtualService", "bookinfo-reviews") < \
        position(calls, "DELETE", "VirtualService", "reviews") < \
        position(calls, "DELETE", "DestinationRule", "reviews")
    assert position(calls, "PATCH", "VirtualService", INGRESS) < \
        position(calls, "DELETE", "VirtualService", "bookinfo")
    deletes = {(c.kind, c.name) for c in calls if c.method == "DELETE"}
    assert deletes == TEAM_REFS  # nothing else of anyone's

    # again, with or without --adopt: nothing to write, the records stay
    for extra in (("--adopt",), ()):
        team.forget()
        code, out = apply(capsys, team, design, "--yes", *extra)
        assert code == 0 and "in sync: nothing to apply" in out, out
        assert team.writes() == []
    assert records_of(ours(team, "VirtualService", "bookinfo-reviews")) == recorded
    assert records_of(ours(team, "VirtualService", INGRESS)) == gw_records

    # remove: a dry run first, then the team's objects come back before ours go
    team.forget()
    code, out, _ = run(capsys, "remove", design, "--kubeconfig", team.kubeconfig)
    assert code == 0 and "(dry run: add --yes to remove)" in out
    assert f"restore  apply VirtualService default/reviews (restore) - as {TEAM}" in out
    assert f"restore  apply VirtualService default/bookinfo (restore) - as {TEAM}" in out
    assert team.writes() == []
    assert ours(team, "VirtualService", "bookinfo-reviews") is not None
    code, out, err = run(capsys, "remove", design, "--yes", "--wait", "0", "--kubeconfig",
                         team.kubeconfig)
    assert code == 0, out + err
    after = team_live(team, shared_dir)
    for key, original in before.items():
        back = after[key]
        assert back is not None, (key, out)
        assert back["spec"] == original["spec"], key
        assert back["metadata"].get("labels") == original["metadata"].get("labels")
        assert managers(back) == [TEAM], key  # the team's field manager, not lanedesign
        # as close as SSA allows: created by kubectl's POST (an Update), back by an Apply
        assert operations(original) == {"Update"} and operations(back) == {"Apply"}
        assert back["metadata"]["uid"] != original["metadata"]["uid"]  # a new object
    assert ours(team, "VirtualService", "bookinfo-reviews") is None
    assert ours(team, "DestinationRule", "bookinfo-reviews") is None
    assert ours(team, "VirtualService", INGRESS) is None
    calls = team.writes()
    assert position(calls, "PATCH", "VirtualService", "reviews") < \
        position(calls, "DELETE", "VirtualService", "bookinfo-reviews") < \
        position(calls, "DELETE", "DestinationRule", "bookinfo-reviews")
    assert position(calls, "PATCH", "VirtualService", "bookinfo") < \
        position(calls, "DELETE", "VirtualService", INGRESS)
    assert not any(c.method == "DELETE" and c.name in {n for _, n in TEAM_REFS}
                   for c in calls)
    # the mesh is as the team left it: the design overlaps it again, as at the start
    team.forget()
    code, out = apply(capsys, team, design, "--yes")
    assert code == 1 and "error   LD900" in out and team.writes() == []
    code, out, _ = run(capsys, "remove", design, "--kubeconfig", team.kubeconfig)
    assert code == 0 and "nothing to remove" in out


def test_adopt_is_refused_when_the_design_lacks_the_teams_routing(team, shared_dir, tmp_path,
                                                                   capsys):
    design = write(tmp_path, lanes_only())
    code, out = apply(capsys, team, design, "--adopt", "--yes")
    assert code == 1, out
    assert "error   LD910 spec.services[2].routing: the design does not carry the team's " \
           "routing for reviews exactly" in out
    assert "import-cluster --adopt" in out and "nothing applied" in out
    assert team.writes() == []
    # one difference is enough: the 7 s delay dropped from ratings' routing
    adopted = adopted_design(shared_dir)
    text = dump_design(adopted).replace("fixedDelay: 7s", "fixedDelay: 6s")
    assert text != dump_design(adopted)
    changed = tmp_path / "changed.yaml"
    changed.write_text(text)
    code, out = apply(capsys, team, changed, "--adopt", "--yes")
    assert code == 1 and "LD910 spec.services[3].routing" in out and "LD910 spec.services[2]" \
        not in out
    assert team.writes() == []
    assert all(team_live(team, shared_dir).values())


def test_a_gateway_route_the_ingress_does_not_carry_is_not_adopted_and_blocks(
        team, shared_dir, tmp_path, capsys):
    """The team's routing carried, but the ingress routes every path (the gateway route's
    paths not imported): deleting `bookinfo` would change what other paths get, so it stays
    in the way (LD904, LD912) and nothing is written; --allow-overlap adopts the rest."""
    design = write(tmp_path, routing_only(shared_dir))
    code, out = apply(capsys, team, design, "--adopt", "--yes")
    assert code == 1, out
    assert "error   LD904" in out
    assert "warning LD912" in out and "VirtualService default/bookinfo (LD904): the " \
        "design's ingress does not carry it exactly" in out
    assert "nothing applied" in out and team.writes() == []
    code, out = apply(capsys, team, design, "--adopt", "--allow-overlap", "--yes")
    assert code == 0, out
    left = {k for k, v in team_live(team, shared_dir).items() if v}
    assert left == {("VirtualService", "bookinfo")}
    assert not records_of(ours(team, "VirtualService", INGRESS))


# -- the ingress carries the gateway route exactly, or it is not adopted (no server) -----------
def gateway_overlap(live: dict) -> Overlap:
    ours_ref = ObjectRef("networking.istio.io/v1", "VirtualService", INGRESS, "default")
    return Overlap(ObjectRef.of(live), ours_ref, "*", "merged", (),
                   make("LD904", "spec.ingress.hosts", "bound to the design's gateway"), live)


def test_the_gateway_route_is_adopted_only_when_the_ingress_carries_it(shared_dir):
    route = gateway_route(shared_dir)
    carried = adopted_design(shared_dir)
    adoptions, refusals, notes = choose([gateway_overlap(route)], carried, [])
    assert [(a.foreign.name, a.ours.name) for a in adoptions] == [("bookinfo", INGRESS)]
    assert refusals == [] and notes == []
    # the ingress on every path while the team routes some: not adopted
    for design in (lanes_only(), routing_only(shared_dir)):
        adoptions, refusals, notes = choose([gateway_overlap(route)], design, [])
        assert adoptions == [] and refusals == [] and [n.code for n in notes] == ["LD912"]
    # the team's route catches every path now, the ingress still tests the old paths: the
    # ingress would lose every other path (this is why the paths are removed before reading)
    every = copy.deepcopy(route)
    every["spec"]["http"] = [{"route": every["spec"]["http"][0]["route"]}]
    assert [n.code for n in choose([gateway_overlap(every)], carried, [])[2]] == ["LD912"]
    # one path fewer in the team's route than in the ingress
    fewer = copy.deepcopy(route)
    fewer["spec"]["http"][0]["match"] = fewer["spec"]["http"][0]["match"][1:]
    assert [n.code for n in choose([gateway_overlap(fewer)], carried, [])[2]] == ["LD912"]
    # a rule on another path in the design
    ruled = carried.with_ingress(rules=tuple(
        type(r)(r.lane, RequestMatch(uri=StringMatch("prefix", "/other")))
        for r in carried.effective_rules))
    assert [n.code for n in choose([gateway_overlap(route)], ruled, [])[2]] == ["LD912"]
    # a second team route for the same hosts: the ingress holds one
    twin = copy.deepcopy(route)
    twin["metadata"]["name"] = "bookinfo-twin"
    adoptions, _, notes = choose([gateway_overlap(route), gateway_overlap(twin)], carried, [])
    assert adoptions == [] and [n.code for n in notes] == ["LD912", "LD912"]


def test_an_unreadable_record_blocks_remove(mesh, tmp_path, capsys):  # noqa: F811
    design = write(tmp_path, lanes_only())
    code, out = apply(capsys, mesh, design, "--yes")
    assert code == 0, out
    # the record damaged, as lanedesign's own field (by hand, or a bad edit)
    broken = copy.deepcopy(ours(mesh, "VirtualService", "bookinfo-reviews"))
    broken["metadata"]["annotations"] = {ADOPTED: "[{\"manifest\": 1}]"}
    for key in ("managedFields", "resourceVersion", "uid", "creationTimestamp", "generation"):
        broken["metadata"].pop(key, None)
    broken.pop("status", None)
    from lanedesign.cluster import connect
    with connect(str(mesh.kubeconfig)) as cluster:
        cluster.apply(broken)
    mesh.forget()
    code, out, _ = run(capsys, "remove", design, "--yes", "--kubeconfig", mesh.kubeconfig)
    assert code == 1 and "error   LD913" in out and "blocked: nothing removed" in out  # "LD913"
    assert mesh.writes() == []


# -- records, without a server ------------------------------------------------------------------
def test_a_record_keeps_the_object_as_it_was_without_server_bookkeeping():
    live = {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
            "metadata": {"name": "reviews", "namespace": "default", "uid": "u1",
                         "resourceVersion": "7", "generation": 2,
                         "creationTimestamp": "2026-12-01T00:00:00Z",
                         "labels": {"app": "reviews"},
                         "managedFields": [
                             {"manager": "kubectl-client-side-apply", "operation": "Update",
                              "fieldsV1": {"f:metadata": {}}},
                             {"manager": "team-kubectl", "operation": "Update",
                              "fieldsV1": {"f:spec": {}}},
                             {"manager": "status-writer", "operation": "Update",
                              "subresource": "status", "fieldsV1": {"f:status": {}}}]},
            "spec": {"hosts": ["reviews"]}, "status": {"x": 1}}
    rec = record(live)
    assert rec["manifest"] == {"apiVersion": "networking.istio.io/v1",
                               "kind": "VirtualService",
                               "metadata": {"name": "reviews", "namespace": "default",
                                            "labels": {"app": "reviews"}},
                               "spec": {"hosts": ["reviews"]}}
    assert rec["manager"] == "team-kubectl"  # the one that set the spec
    assert rec["managers"] == ["kubectl-client-side-apply", "team-kubectl"]
    assert rec["created"] == "2026-12-01T00:00:00Z"
    ours_obj = {"metadata": {"name": "bookinfo-reviews"}}
    once = with_records(ours_obj, [rec])
    # stable: the same records in any order, twice, give the same text
    other = {**rec, "ref": {**rec["ref"], "name": "a-first"}}
    assert with_records(once, [*records_of(once), other])["metadata"]["annotations"] == \
        with_records(ours_obj, [other, rec])["metadata"]["annotations"]
    assert records_of(once) == [json.loads(json.dumps(rec))]
    assert ours_obj == {"metadata": {"name": "bookinfo-reviews"}}  # not changed in place


@pytest.mark.parametrize("text", ["{not json", "{}", "[1]", "[{\"manifest\": {}}]",
                                  "[{\"manager\": \"t\", \"manifest\": {\"kind\": \"X\"}}]"])
def test_a_damaged_record_is_said_not_guessed(text):
    with pytest.raises(ValueError):
        records_of({"metadata": {"annotations": {ADOPTED: text}}})


def test_prune_keeps_an_object_that_holds_adopted_records(team, shared_dir, tmp_path,
                                                           capsys):
    """Dropping a service whose team objects were adopted: --prune leaves our objects that
    carry the records (LD917), so `remove` can still hand them back."""
    adopted = adopted_design(shared_dir)
    code, out = apply(capsys, team, write(tmp_path, adopted), "--adopt", "--yes")
    assert code == 0, out
    smaller = write(tmp_path, adopted.without_service("details"), "smaller.yaml")
    team.forget()
    code, out = apply(capsys, team, smaller, "--yes", "--prune")
    assert code == 0, out
    assert "warning LD917" in out and "DestinationRule default/bookinfo-details" in out  # "LD917"
    assert ours(team, "DestinationRule", "bookinfo-details") is not None
    assert ours(team, "VirtualService", "bookinfo-details") is None  # no record: pruned
    code, out, _ = run(capsys, "remove", smaller, "--yes", "--wait", "0", "--kubeconfig",
                       team.kubeconfig)
    assert code == 0, out
    assert all(team_live(team, shared_dir).values())  # details' rule is back too


@pytest.fixture
def standin(tmp_path):
    """The stand-in alone: only it can be made to fail one request on purpose."""
    from kube_servers import STANDIN_TOKEN, StandInServed
    from kube_standin import CORE, GATEWAYS, ISTIO, running

    with running(tmp_path, *ISTIO, *GATEWAYS, *CORE, token=STANDIN_TOKEN) as run:
        yield StandInServed(run)


def test_an_adoption_stopped_half_way_converges_on_the_next_run(standin, shared_dir, tmp_path,
                                                                capsys):
    """The team's reviews VirtualService cannot be deleted the first time (a 500): ours
    already carry the team's routes and the record; the re-run adopts it again (the same
    record, so ours are unchanged) and finishes. (Stand-in only: a real server cannot be
    made to fail one DELETE.)"""
    standin.add(gateway(shared_dir), TEAM)
    for obj in team_routes(shared_dir):
        standin.add(obj, TEAM)
    design = write(tmp_path, adopted_design(shared_dir))
    standin.standin.fail("DELETE", "reviews", times=1)  # the VirtualService goes first
    code, out = apply(capsys, standin, design, "--adopt", "--yes")
    assert code == 1 and "stopped at delete VirtualService default/reviews" in out
    recorded = records_of(ours(standin, "VirtualService", "bookinfo-reviews"))
    assert [r["ref"]["name"] for r in recorded] == ["reviews"]
    standin.forget()
    code, out = apply(capsys, standin, design, "--adopt", "--yes")
    assert code == 0 and "LD910" not in out, out
    assert {(c.method, c.kind) for c in standin.writes()} == {("DELETE", "VirtualService"),
                                                           ("DELETE", "DestinationRule")}
    assert {k: v for k, v in team_live(standin, shared_dir).items() if v} == {}
    assert records_of(ours(standin, "VirtualService", "bookinfo-reviews")) == recorded


def test_a_rule_the_team_applies_again_is_adopted_against_the_earlier_records(
        team, shared_dir, tmp_path, capsys):
    """After adoption the team re-applies destination-rule-all: the design is compared with
    the live rules plus the recorded VirtualServices (one service's routing spans both), so
    the rules are adopted again; the newer record replaces the older one."""
    design = write(tmp_path, adopted_design(shared_dir))
    code, out = apply(capsys, team, design, "--adopt", "--yes")
    assert code == 0, out
    for obj in team_objects(shared_dir, "destination-rule-all.yaml"):
        team.add(obj, TEAM)
    code, out = apply(capsys, team, design, "--yes")
    assert code == 1 and "LD901" in out  # without --adopt: an overlap again
    team.forget()
    code, out = apply(capsys, team, design, "--adopt", "--yes")
    assert code == 0 and "LD910" not in out, out
    assert {(c.method, c.kind, c.name) for c in team.writes() if c.method == "DELETE"} == {
        ("DELETE", "DestinationRule", n) for n in ("productpage", "reviews", "ratings",
                                                   "details")}
    assert [r["ref"]["name"] for r in records_of(
        ours(team, "DestinationRule", "bookinfo-reviews"))] == ["reviews"]
    code, out, _ = run(capsys, "remove", design, "--yes", "--wait", "0", "--kubeconfig",
                       team.kubeconfig)
    assert code == 0 and all(team_live(team, shared_dir).values())


def test_diff_adopt_judges_as_apply_adopt(team, shared_dir, tmp_path, capsys):
    code, out, _ = run(capsys, "diff", write(tmp_path, adopted_design(shared_dir)), "--adopt",
                       "--format", "json", "--kubeconfig", team.kubeconfig)
    doc = json.loads(out)
    assert code == 0 and doc["blocked"] is False and doc["overlaps"] == []
    assert doc["adopt"] is True
    assert sorted((a["foreign"]["kind"], a["foreign"]["name"]) for a in doc["adoptions"]) == \
        sorted(TEAM_REFS)
    assert {a["managers"][0] for a in doc["adoptions"]} == {TEAM}
    assert team.writes() == []


def test_a_team_object_no_routing_can_hold_is_refused_ld911(mesh, tmp_path, capsys):  # noqa: F811
    """A team VirtualService with a tcp route: one service's routing cannot hold it, so
    --adopt adopts nothing and writes nothing."""
    tcp = {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
           "metadata": {"name": "reviews", "namespace": NS},
           "spec": {"hosts": ["reviews"],
                    "tcp": [{"route": [{"destination": {"host": "reviews", "subset": "v1"}}]}]}}
    mesh.add(tcp, TEAM)
    mesh.forget()
    code, out = apply(capsys, mesh, write(tmp_path, lanes_only()), "--adopt", "--yes")
    assert code == 1 and "error   LD911" in out, out  # "LD911"
    assert mesh.writes() == []


def test_a_team_object_recreated_meanwhile_is_left_as_it_is_ld914(team, shared_dir, tmp_path,
                                                                  capsys):
    design = write(tmp_path, adopted_design(shared_dir))
    code, out = apply(capsys, team, design, "--adopt", "--yes")
    assert code == 0, out
    again = next(o for o in team_objects(shared_dir, "virtual-service-reviews-jason-v2-v3.yaml"))
    again["spec"]["http"][-1]["route"][0]["destination"]["subset"] = "v1"  # the team's own edit
    team.add(again, TEAM)
    team.forget()
    code, out, _ = run(capsys, "remove", design, "--yes", "--wait", "0", "--kubeconfig",
                       team.kubeconfig)
    assert code == 0 and "warning LD914" in out, out  # "LD914"
    kept = ours(team, "VirtualService", "reviews")
    assert kept["spec"]["http"][-1]["route"][0]["destination"]["subset"] == "v1"  # not replaced


def test_a_step_the_server_refuses_in_its_dry_run_is_ld916():
    from lanedesign.cluster.apply import Step
    from lanedesign.cluster.errors import ApiError
    from lanedesign.cluster.remove import _dry_run

    class Refusing:
        def apply(self, obj, dry_run=False, manager=None):
            raise ApiError(403, "Forbidden", "no rights to create virtualservices")

        def delete(self, ref, **kwargs):
            raise ApiError(403, "Forbidden", "no rights to delete")

    ref = ObjectRef("VirtualService", NS, "reviews", "networking.istio.io/v1")
    step = Step("restore", "apply", ref, "restore", {"kind": "VirtualService"}, "as team",
                manager=TEAM)
    refused = _dry_run(Refusing(), [step])
    assert [f.code for f in refused] == ["LD916"]
    assert "403 Forbidden" in refused[0].message
