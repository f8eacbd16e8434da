"""Routing objects of other owners (issue 19, part 1): diff reports each with what Istio keeps
and what is lost, apply refuses unless --allow-overlap, on the stand-in and the real
kube-apiserver. "The team" applies Bookinfo's own networking objects first, as another field
manager; then a small lane design for Bookinfo."""

from __future__ import annotations

import json

import pytest
import yaml
from kube_servers import STANDIN_TOKEN, RealServed, StandInServed
from kube_standin import CORE, GATEWAYS, ISTIO, running

from lanedesign.cli import main
from lanedesign.cluster.overlaps import describe_virtual_service, hosts_intersect, resolve_host

TEAM = "team-kubectl"
NS = "default"

DESIGN = """\
apiVersion: lanedesign/v1alpha1
kind: LaneDesign
metadata: {name: bookinfo}
spec:
  namespace: default
  routeHeader: x-lane
  passThrough: {method: header}
  baseline: v1
  services:
  - {name: productpage, port: 9080, calls: [details, reviews]}
  - {name: details, port: 9080}
  - {name: reviews, port: 9080, calls: [ratings]}
  - {name: ratings, port: 9080}
  lanes:
  - {name: v1, labels: {version: v1}, services: [productpage, details, reviews, ratings]}
  - {name: v2, labels: {version: v2}, services: [reviews]}
  ingress:
    gateway: %s
    hosts: ["*"]
    entry: productpage
"""


@pytest.fixture(params=["standin", pytest.param("real", marks=pytest.mark.kube)])
def mesh(request, tmp_path):
    """The ``served`` servers, also serving Istio's Gateway and the Gateway API."""
    if request.param == "standin":
        with running(tmp_path, *ISTIO, *GATEWAYS, *CORE, token=STANDIN_TOKEN) as run:
            yield StandInServed(run)
        return
    plane = request.getfixturevalue("control_plane")
    plane.reset()
    yield RealServed(plane, plane.kubeconfig(tmp_path), plane.audit_mark())


def design_file(tmp_path, gateway: str = "default/bookinfo-gateway"):
    path = tmp_path / "bookinfo.yaml"
    path.write_text(DESIGN % gateway)
    return path


def team_objects(shared_dir, *files: str) -> list[dict]:
    found = []
    for name in files:
        text = (shared_dir / "realapps" / "bookinfo" / "networking" / name).read_text()
        for doc in yaml.safe_load_all(text):
            if doc:
                doc["metadata"]["namespace"] = NS
                found.append(doc)
    return found


BOOKINFO = ("bookinfo-gateway.yaml", "destination-rule-all.yaml",
            "virtual-service-reviews-jason-v2-v3.yaml", "virtual-service-ratings-test-delay.yaml")


@pytest.fixture
def team(mesh, shared_dir):
    """Bookinfo's networking objects, applied first by the team (another field manager)."""
    for obj in team_objects(shared_dir, *BOOKINFO):
        mesh.add(obj, TEAM)
    mesh.forget()
    return mesh


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def diff_json(capsys, kube, design, *extra) -> tuple[int, dict]:
    code, out, _ = run(capsys, "diff", design, "--kubeconfig", kube.kubeconfig,
                         "--format", "json", *extra)
    return code, json.loads(out)


def by_foreign(doc: dict) -> dict[tuple[str, str], dict]:
    return {(o["foreign"]["kind"], o["foreign"]["name"]): o for o in doc["overlaps"]}


def test_diff_reports_each_team_object_with_what_istio_keeps_and_loses(team, tmp_path,
                                                                        capsys):
    code, doc = diff_json(capsys, team, design_file(tmp_path))
    assert code == 1 and doc["blocked"] is True and doc["allowOverlap"] is False
    found = by_foreign(doc)
    assert set(found) == {("VirtualService", "reviews"), ("VirtualService", "ratings"),
                          ("VirtualService", "bookinfo"), *(("DestinationRule", s) for s in (
                              "productpage", "details", "reviews", "ratings"))}
    # mesh VirtualServices: the team's are older (ours do not exist yet), so sidecars keep
    # them and the lanes never route reviews
    reviews = found[("VirtualService", "reviews")]
    assert reviews["code"] == "LD900" and reviews["severity"] == "error"
    assert reviews["host"] == "reviews.default.svc.cluster.local"
    assert reviews["kept"] == "VirtualService default/reviews"
    assert reviews["ours"]["name"] == "bookinfo-reviews"
    assert reviews["lost"] == ["the lane routes of VirtualService default/bookinfo-reviews"]
    findings = {(f["code"], f["path"]): f for f in doc["findings"]}
    message = findings[("LD900", "spec.services[2]")]["message"]
    assert "header end-user exact jason -> reviews subset v2" in message
    ratings = next(f for f in doc["findings"] if f["code"] == "LD900"
                   and f["path"] == "spec.services[3]")
    assert "fault delay 7s for 100%" in ratings["message"]
    # DestinationRules: merged, same subset names with the same labels: nothing lost
    rule = found[("DestinationRule", "reviews")]
    assert rule["code"] == "LD901" and rule["kept"] == "merged" and rule["lost"] == []
    rule_text = next(f["message"] for f in doc["findings"] if f["code"] == "LD901"
                     and f["path"] == "spec.services[2]")
    assert "DestinationRule default/reviews first: its subsets (v1, v2, v3) stay" in rule_text
    assert "same-named subsets of DestinationRule default/bookinfo-reviews dropped: v1, v2" \
        in rule_text
    # the team's ingress VirtualService on the design's gateway: merged, theirs first
    ingress = found[("VirtualService", "bookinfo")]
    assert ingress["code"] == "LD904" and ingress["kept"] == "merged"
    assert ingress["lost"][0].startswith("the lane routes of VirtualService "
                                         "default/bookinfo-ingress for requests that a route of "
                                         "VirtualService default/bookinfo matches first")
    assert not any(f["code"] == "LD906" for f in doc["findings"])  # the Gateway exists
    assert team.writes() == []


def test_apply_refuses_without_flags_and_writes_nothing(team, tmp_path, capsys):
    design = design_file(tmp_path)
    for extra in ((), ("--yes",), ("--yes", "--wait", "0")):
        code, out, _ = run(capsys, "apply", design, "--kubeconfig", team.kubeconfig, *extra)
        assert code == 1
        assert "error   LD900 spec.services[2]" in out
        assert "apply --adopt: take it over (a mesh VirtualService or DestinationRule whose " \
               "routing the design carries, a gateway VirtualService its ingress carries; " \
               "`remove` hands it back)" in out
        assert "apply --allow-overlap: apply anyway" in out
        assert "nothing applied" in out
    # --adopt: this design carries none of the team's routing (tests/test_cluster_adopt.py)
    code, out, _ = run(capsys, "apply", design, "--adopt", "--yes", "--kubeconfig",
                       team.kubeconfig)
    assert code == 1 and "LD910" in out and "LD912" in out
    assert team.writes() == []


def test_allow_overlap_applies_knowingly(team, tmp_path, capsys):
    design = design_file(tmp_path)
    code, _ = diff_json(capsys, team, design, "--allow-overlap")
    assert code == 0
    code, out, err = run(capsys, "apply", design, "--yes", "--wait", "0", "--allow-overlap",
                         "--kubeconfig", team.kubeconfig)
    assert code == 0, out + err
    assert "overlap(s) accepted" in out and "applied" in out
    written = {(c.kind, c.name) for c in team.writes()}
    assert ("VirtualService", "bookinfo-reviews") in written
    # the team's objects are untouched
    assert not any(name in {"reviews", "ratings", "bookinfo"} for _, name in written)


def test_an_older_lane_object_keeps_the_host_and_the_team_routes_are_lost(
        mesh, shared_dir, tmp_path, capsys):
    design = design_file(tmp_path)
    for obj in team_objects(shared_dir, "bookinfo-gateway.yaml"):
        mesh.add(obj, TEAM)
    code, out, err = run(capsys, "apply", design, "--yes", "--wait", "0", "--allow-overlap",
                         "--kubeconfig", mesh.kubeconfig)
    assert code == 0, out + err
    for obj in team_objects(shared_dir, "virtual-service-reviews-jason-v2-v3.yaml"):
        mesh.add(obj, TEAM)  # after the lanes: never older (a tie goes to the name)
    code, doc = diff_json(capsys, mesh, design)
    reviews = by_foreign(doc)[("VirtualService", "reviews")]
    assert reviews["kept"] == "VirtualService default/bookinfo-reviews"
    assert reviews["lost"] == ["VirtualService default/reviews: http[0] (header end-user "
                               "exact jason -> reviews subset v2); http[1] (every request -> "
                               "reviews subset v3)"]


def test_objects_on_other_hosts_are_not_reported(mesh, tmp_path, capsys):
    """Negative: a short host resolves in its object's namespace; `reviews.default` names no
    Service for Istio; another gateway's VirtualService is no overlap."""
    elsewhere = {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
                 "metadata": {"name": "reviews", "namespace": "elsewhere"},
                 "spec": {"hosts": ["reviews"], "http": [{"route": [
                     {"destination": {"host": "reviews"}}]}]}}
    dotted = {**elsewhere, "metadata": {"name": "dotted", "namespace": NS},
              "spec": {**elsewhere["spec"], "hosts": ["reviews.default"]}}
    other_rule = {"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
                  "metadata": {"name": "mongodb", "namespace": NS},
                  "spec": {"host": "mongodb", "subsets": [{"name": "v1",
                                                           "labels": {"version": "v1"}}]}}
    other_gateway = {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
                     "metadata": {"name": "shop", "namespace": NS},
                     "spec": {"hosts": ["*"], "gateways": ["shop-gateway"], "http": [
                         {"route": [{"destination": {"host": "productpage"}}]}]}}
    for obj in (elsewhere, dotted, other_rule, other_gateway):
        mesh.add(obj, TEAM)
    code, doc = diff_json(capsys, mesh, design_file(tmp_path, "istio-system/ingressgateway"))
    assert doc["overlaps"] == []
    # only the missing gateway is said: a warning, not a block
    assert [f["code"] for f in doc["findings"] if f["code"].startswith("LD9")] == ["LD906"]
    assert code == 0 and doc["blocked"] is False
    # the same VirtualService under the service's FQDN, from another namespace, is one
    fqdn = {**elsewhere, "metadata": {"name": "fqdn", "namespace": "elsewhere"},
            "spec": {**elsewhere["spec"], "hosts": ["reviews.default.svc.cluster.local"]}}
    mesh.add(fqdn, TEAM)
    code, doc = diff_json(capsys, mesh, design_file(tmp_path, "istio-system/ingressgateway"))
    assert [(o["foreign"]["name"], o["code"]) for o in doc["overlaps"]] == [("fqdn", "LD900")]
    assert code == 1


def test_a_missing_gateway_is_a_warning_with_the_fix(mesh, tmp_path, capsys):
    code, out, _ = run(capsys, "diff", design_file(tmp_path, "istio-system/nope"),
                       "--kubeconfig", mesh.kubeconfig)
    assert code == 0
    assert "warning LD906 spec.ingress.gateway: the ingress gateway istio-system/nope is not " \
           "in the cluster" in out
    assert "IST0101" in out and "--with-gateway" in out
    code, out, _ = run(capsys, "diff", design_file(tmp_path, "istio-system/nope"),
                       "--target", "gateway-api", "--kubeconfig", mesh.kubeconfig)
    assert code == 0 and "a Gateway API Gateway that does not exist" in out
    # the export that brings the Gateway itself is not missing one
    for target in ("istio", "gateway-api"):
        code, out, _ = run(capsys, "diff", design_file(tmp_path, "default/web"), "--target",
                           target, "--with-gateway", "--kubeconfig", mesh.kubeconfig)
        assert code == 0 and "LD906" not in out, out
        assert "Gateway default/web" in out or "default/web" in out


def test_a_team_httproute_on_a_design_service_is_an_overlap(mesh, tmp_path, capsys):
    route = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
             "metadata": {"name": "reviews-canary", "namespace": NS},
             "spec": {"parentRefs": [{"group": "", "kind": "Service", "name": "reviews",
                                      "port": 9080}],
                      "rules": [{"backendRefs": [{"name": "reviews-v1", "port": 9080,
                                                  "weight": 90},
                                                 {"name": "reviews-v3", "port": 9080,
                                                  "weight": 10}],
                                 "timeouts": {"request": "5s"}}]}}
    mesh.add(route, TEAM)
    for target in ("istio", "gateway-api"):
        code, doc = diff_json(capsys, mesh, design_file(tmp_path), "--target", target)
        found = by_foreign(doc)[("HTTPRoute", "reviews-canary")]
        assert code == 1 and found["code"] == "LD903"
        text = next(f["message"] for f in doc["findings"] if f["code"] == "LD903")
        assert "reviews-v1 weight 90, reviews-v3 weight 10; timeouts request 5s" in text
    assert found["kept"] == "merged"  # gateway-api: the rules merge by precedence


# -- the rules read from Istio's source, without a server ---------------------------------------
@pytest.mark.parametrize(("host", "namespace", "resolved"), [
    ("reviews", "default", "reviews.default.svc.cluster.local"),
    ("reviews", "elsewhere", "reviews.elsewhere.svc.cluster.local"),
    ("reviews.default", "elsewhere", "reviews.default"),  # a dot: taken as written
    ("Reviews.Default.svc.cluster.local", "x", "reviews.default.svc.cluster.local"),
    ("*", "default", "*"),
])
def test_hosts_resolve_as_istio_resolves_short_names(host, namespace, resolved):
    assert resolve_host(host, namespace) == resolved


def test_wildcard_hosts_intersect():
    assert hosts_intersect("*", "bookinfo.example.com")
    assert hosts_intersect("*.example.com", "bookinfo.example.com")
    assert hosts_intersect("*.example.com", "*.b.example.com")
    assert not hosts_intersect("*.example.com", "example.org")
    assert not hosts_intersect("a.example.com", "b.example.com")


def test_a_virtual_service_is_described_by_what_would_be_lost():
    vs = {"spec": {"http": [{"name": "qa", "match": [{"headers": {"end-user": {"exact": "qa"}},
                                                      "uri": {"prefix": "/api"}}],
                             "route": [{"destination": {"host": "r", "subset": "v2"}}],
                             "retries": {"attempts": 3, "retryOn": "5xx"}, "timeout": "2s",
                             "mirror": {"host": "shadow"}},
                            {"route": [{"destination": {"host": "r"}}],
                             "fault": {"abort": {"httpStatus": 503,
                                                 "percentage": {"value": 10}}}}]}}
    assert describe_virtual_service(vs) == (
        "qa (uri prefix /api and header end-user exact qa -> r subset v2; timeout 2s, "
        "retries 3 on 5xx, mirror to shadow); http[1] (every request -> r; fault abort 503 "
        "for 10%)")


# -- the designer's Cluster tab: the same function, the same findings ---------------------------
def test_the_cluster_tab_shows_the_overlaps_and_refuses_to_apply_until_allowed(team, tmp_path):
    from lanedesign.designfile import load_design
    from lanedesign.widgets import Designer

    designer = Designer(load_design(design_file(tmp_path)).design)
    panel = designer.show(designer.cluster)
    panel.kubeconfig.value = str(team.kubeconfig)
    panel.wait.value = 0
    panel.connect_button.click()
    panel.diff_button.click()
    panel.confirm.value = True
    assert "Blocked:</b> 7 object(s) of other owners" in panel.plan_status.value
    assert "<b>LD900</b> error spec.services[2]" in panel.plan_status.value
    assert panel.apply_button.disabled
    assert panel.apply_blocker() == "objects of other owners route the same hosts (see the " \
                                    "findings)"
    panel.apply_plan()
    assert team.writes() == []
    panel.allow_overlap.value = True
    panel.diff_button.click()
    panel.confirm.value = True
    assert "<b>LD900</b>" in panel.plan_status.value and "Blocked" not in panel.plan_status.value
    assert not panel.apply_button.disabled
    panel.apply_plan()
    assert ("VirtualService", "bookinfo-reviews") in {(c.kind, c.name) for c in team.writes()}


def test_a_team_subset_with_other_labels_is_a_clash_ld902(mesh, tmp_path, capsys):
    rule = {"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
            "metadata": {"name": "reviews", "namespace": NS},
            "spec": {"host": "reviews",
                     "subsets": [{"name": "v2", "labels": {"version": "v2-canary"}}]}}
    mesh.add(rule, TEAM)
    code, doc = diff_json(capsys, mesh, design_file(tmp_path))
    found = by_foreign(doc)[("DestinationRule", "reviews")]
    assert code == 1 and found["code"] == "LD902"
    assert found["lost"][0].startswith("the subsets v2 of DestinationRule default/bookinfo-")


def team_web_gateway(mesh) -> None:
    """The team's Gateway API Gateway ``web`` and its HTTPRoute to productpage."""
    gateway = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
               "metadata": {"name": "web", "namespace": NS},
               "spec": {"gatewayClassName": "istio",
                        "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]}}
    route = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
             "metadata": {"name": "bookinfo", "namespace": NS},
             "spec": {"parentRefs": [{"name": "web"}],
                      "rules": [{"backendRefs": [{"name": "productpage", "port": 9080}]}]}}
    mesh.add(gateway, TEAM)
    mesh.add(route, TEAM)


def test_a_team_httproute_on_the_design_gateway_is_an_overlap_ld905(mesh, tmp_path, capsys):
    team_web_gateway(mesh)
    code, doc = diff_json(capsys, mesh, design_file(tmp_path, "default/web"),
                          "--target", "gateway-api")
    found = by_foreign(doc)[("HTTPRoute", "bookinfo")]
    assert code == 1 and found["code"] == "LD905"
    assert not any(f["code"] == "LD906" for f in doc["findings"])  # the Gateway exists


def test_a_kind_that_cannot_be_listed_is_said_ld909():
    from lanedesign.cluster.errors import ApiError
    from lanedesign.cluster.overlaps import find_overlaps
    from lanedesign.emit import emit

    class Refusing:
        """A cluster that serves the routing kinds (no Gateway) and refuses every list."""

        def resource(self, api_version, kind):
            return None if kind == "Gateway" else (api_version, kind)

        def list(self, res, namespace=None):
            raise ApiError(403, "Forbidden", f"cannot list {res[1]}")

        def get(self, *args, **kwargs):
            return None

    from lanedesign.designfile import parse_design
    design = parse_design(DESIGN % "default/bookinfo-gateway").design
    overlaps, notes = find_overlaps(Refusing(), emit(design, "istio"), "bookinfo")
    assert overlaps == []
    listed = [n for n in notes if n.code == "LD909"]
    assert {n.message.split(" (")[0] for n in listed} == {
        "could not list VirtualServices", "could not list DestinationRules",
        "could not list HTTPRoutes"}


def test_an_istio_gateway_and_a_gateway_api_gateway_of_one_name_are_two(mesh, tmp_path, capsys):
    """Online Boutique ships a Gateway API Gateway ``istio-gateway`` with its HTTPRoute; the
    istio target's route binds an Istio Gateway of the same name (a proxy of its own): the
    team's HTTPRoute routes none of its requests, so it is no overlap there."""
    team_web_gateway(mesh)
    code, doc = diff_json(capsys, mesh, design_file(tmp_path, "default/web"),
                          "--with-gateway")
    assert code == 0 and doc["overlaps"] == [], doc["overlaps"]
