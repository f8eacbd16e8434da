"""import-cluster on real applications' own manifests (Online Boutique, Bookinfo): plain
dicts first, then the command line against the API servers of the cluster tests."""

from __future__ import annotations

import copy
import json
from dataclasses import replace

import pytest
import yaml
from cluster_objects import deployment, service
from realapp_manifests import (
    BOUTIQUE_CALLS,
    BOUTIQUE_SERVICES,
    bookinfo,
    boutique,
    documents,
    in_namespace,
    of_kind,
)

from lanedesign.cli import main
from lanedesign.cluster import design_from_workloads
from lanedesign.cluster.importer import with_workloads
from lanedesign.cluster.workloads import env_host, service_of_host
from lanedesign.designfile import dump_design, parse_design
from lanedesign.emit import emit
from lanedesign.model import PassThrough, ServicePort, StringMatch
from lanedesign.validate import validate


def errors(findings) -> list[str]:
    return [str(f) for f in findings if f.severity == "error"]


def codes(result) -> set[str]:
    return {f.code for f in result.findings}


# -- Online Boutique --------------------------------------------------------------------------
@pytest.fixture
def shop(shared_dir):
    app = boutique(shared_dir)
    return app, design_from_workloads(app.services, app.deployments, name="boutique",
                                      mesh=app.mesh)


def test_boutique_gives_its_eleven_services_and_no_second_frontend(shop):
    _, result = shop
    design = result.design
    assert set(design.service_names) == BOUTIQUE_SERVICES  # no loadgenerator: no Service
    assert "frontend-external" not in design.service_names
    assert any("frontend-external (LoadBalancer) selects the same pods as frontend: folded"
               in note for note in result.notes)


def test_boutique_keeps_each_services_ports_as_kubernetes_has_them(shop):
    design = shop[1].design
    assert design.service("frontend").ports == (ServicePort(80, "http", 8080),)
    assert design.service("emailservice").ports == (ServicePort(5000, "grpc", 8080),)
    assert design.service("emailservice").route_port.protocol == "grpc"
    assert design.service("redis-cart").ports == (ServicePort(6379, "tcp-redis"),)
    assert design.service("redis-cart").tcp_only
    assert {s.name: s.routed_port for s in design.services}["frontend"] == 80
    # the pods are labelled `app: <name>`, the default selector: nothing to write
    assert {s.selector for s in design.services} == {None}


def test_boutique_lanes_calls_and_ingress(shop):
    result = shop[1]
    design = result.design
    assert [(ln.name, ln.label_map, set(ln.services)) for ln in design.lanes] == [
        ("v1", {"version": "v1"}, BOUTIQUE_SERVICES),
        ("v2", {"version": "v2"}, {"frontend", "cartservice"})]
    assert (design.baseline, design.mode) == ("v1", "loose")
    calls = {s.name: set(s.calls) for s in design.services if s.calls}
    assert calls == BOUTIQUE_CALLS
    assert all(s.lane_calls == () for s in design.services)  # v2 copies: the same env
    assert any(note.startswith("calls of checkoutservice inferred from its environment")
               and "EMAIL_SERVICE_ADDR=emailservice:5000" in note for note in result.notes)
    ingress = design.ingress
    assert (ingress.entry, ingress.default) == ("frontend", "v1")
    assert ingress.gateway == "default/istio-gateway"  # its HTTPRoute's parent
    assert any("Gateway API Gateway" in note for note in result.notes)


def test_the_boutique_proposal_validates_without_errors_or_says_why_a_target_cannot(shop):
    result = shop[1]
    assert errors(result.findings) == []
    assert errors(validate(result.design, "istio")) == []
    # the Gateway API cannot read the lane from baggage at the gateway: the coded reason
    refused = [f.code for f in validate(result.design, "gateway-api") if f.severity == "error"]
    assert refused == ["LD623"]
    header = result.design.with_(pass_through=PassThrough("header"))
    assert errors(validate(header, "gateway-api")) == []


def test_a_loadbalancer_service_is_the_entry_when_no_route_names_one(shared_dir):
    app = boutique(shared_dir)
    design = design_from_workloads(app.services, app.deployments).design  # no mesh objects
    assert (design.ingress.entry, design.ingress.default) == ("frontend", "v1")
    assert design.ingress.gateway == "istio-system/ingressgateway"


def test_an_istio_gateway_in_the_namespace_is_proposed_beside_the_loadbalancer(shared_dir):
    app = boutique(shared_dir)
    gateway = {"apiVersion": "networking.istio.io/v1", "kind": "Gateway",
               "metadata": {"name": "frontend-gateway", "namespace": "default"},
               "spec": {"selector": {"istio": "ingressgateway"},
                        "servers": [{"port": {"number": 80, "name": "http",
                                              "protocol": "HTTP"}, "hosts": ["*"]}]}}
    # a Gateway API Gateway of the same name is not an Istio Gateway
    other = {**gateway, "apiVersion": "gateway.networking.k8s.io/v1",
             "metadata": {"name": "other", "namespace": "default"}}
    result = design_from_workloads(app.services, app.deployments, mesh=[other, gateway])
    ingress = result.design.ingress
    assert (ingress.entry, ingress.gateway) == ("frontend", "default/frontend-gateway")
    assert "ingress gateway default/frontend-gateway: an Istio Gateway in the namespace" in \
        result.notes


def test_boutique_as_shipped_has_no_lanes_and_says_which_label_to_add(shared_dir):
    folder = shared_dir / "realapps" / "online-boutique"
    docs = documents(folder / "kubernetes-manifests.yaml")
    result = design_from_workloads(of_kind(docs, "Service"), of_kind(docs, "Deployment"))
    assert result.design is None
    [finding] = [f for f in result.findings if f.code == "LD924"]
    assert finding.severity == "error"
    assert "version: v1" in finding.hint
    tagged = [copy.deepcopy(d) for d in of_kind(docs, "Deployment")]
    for dep in tagged:
        dep["spec"]["template"]["metadata"]["labels"]["track"] = "stable"
    hinted = design_from_workloads(of_kind(docs, "Service"), tagged)
    assert "--label-key with one of track" in \
        next(f for f in hinted.findings if f.code == "LD924").hint


def test_lanedesigns_own_version_services_are_never_read_back(shop):
    app, result = shop
    header = result.design.with_(pass_through=PassThrough("header"))
    exported = emit(header, "gateway-api")
    own = [o for o in exported if o["kind"] == "Service"]
    # a Service per (service, lane) it holds, but none for redis-cart: TCP, no routes
    assert len(own) == 2 + 10
    again = design_from_workloads([*app.services, *own], app.deployments, name="boutique",
                                  mesh=app.mesh)
    assert again.design == result.design
    assert any(note.startswith("12 Service(s) lanedesign manages") for note in again.notes)


# -- Bookinfo ---------------------------------------------------------------------------------
@pytest.fixture
def books(shared_dir):
    app = bookinfo(shared_dir)
    return app, design_from_workloads(app.services, app.deployments, name="bookinfo",
                                      mesh=app.mesh)


def test_bookinfo_services_and_lanes_with_its_per_version_services_folded(books):
    _, result = books
    design = result.design
    assert sorted(design.service_names) == ["details", "productpage", "ratings", "reviews"]
    assert [(ln.name, sorted(ln.services)) for ln in design.lanes] == [
        ("v1", ["details", "productpage", "ratings", "reviews"]), ("v2", ["reviews"]),
        ("v3", ["reviews"])]
    folded = [n for n in result.notes if "(a per-version Service)" in n]
    assert len(folded) == 6  # reviews-v1..v3, and one per other service
    assert any(n.startswith("service default/reviews-v2 selects only the version=v2 pods of "
                            "reviews") for n in folded)
    assert all(s.ports == (ServicePort(9080, "http"),) for s in design.services)


def test_bookinfo_enters_where_its_gateways_virtualservice_sends(books):
    design = books[1].design
    ingress = design.ingress
    assert (ingress.entry, ingress.gateway, ingress.default) == \
        ("productpage", "default/bookinfo-gateway", "v1")


def test_bookinfo_validates_once_the_calls_no_cluster_shows_are_added(books):
    """Bookinfo's env names no service: the test adds productpage's calls and reviews'
    per-version calls (its README), and nothing else."""
    design = books[1].design
    assert errors(books[1].findings) == []
    completed = (design.with_calls("productpage", ["details", "reviews"])
                 .with_lane_calls("reviews", "v2", ["ratings"])
                 .with_lane_calls("reviews", "v3", ["ratings"]))
    assert [f.code for f in validate(completed)] == []


def test_versions_whose_environment_differs_get_calls_of_their_own(shared_dir):
    app = bookinfo(shared_dir, versions=False)
    url = "http://ratings.default.svc.cluster.local:9080/ratings"
    for dep in app.deployments:
        name = dep["metadata"]["name"]
        if name in ("reviews-v2", "reviews-v3"):
            dep["spec"]["template"]["spec"]["containers"][0]["env"].append(
                {"name": "RATINGS_URL", "value": url})
        if name == "productpage-v1":
            dep["spec"]["template"]["spec"]["containers"][0]["env"] = [
                {"name": "DETAILS_HOSTNAME", "value": "details"},
                {"name": "REVIEWS_HOSTNAME", "value": "reviews.default"}]
    result = design_from_workloads(app.services, app.deployments)
    design = result.design
    assert design.service("productpage").calls == ("details", "reviews")
    reviews = design.service("reviews")
    assert reviews.calls == () and reviews.lane_calls_map == {"v2": ("ratings",),
                                                              "v3": ("ratings",)}
    assert any(n.startswith("the versions of reviews call different services (inferred): "
                            "v1 -> nothing; v2 -> ratings") for n in result.notes)
    assert errors(result.findings) == []


# -- what the environment names ---------------------------------------------------------------
@pytest.mark.parametrize(("key", "value", "host"), [
    ("CART_SERVICE_ADDR", "cartservice:7070", "cartservice"),
    ("RATINGS_URL", "http://ratings.shop.svc.cluster.local:9080/r",
     "ratings.shop.svc.cluster.local"),
    ("API", "grpc://user:pw@api.shop:443", "api.shop"),
    ("REDIS_HOST", "redis-cart", "redis-cart"),
    ("MODE", "frontend", None),  # a bare word under a key that names no host
    ("PORT", "8080", None),
    ("COOKIE", "shop_session-id=x-readiness-probe", None),
])
def test_the_host_an_env_var_names(key, value, host):
    assert env_host(key, value) == host


def test_dns_names_reach_the_service_in_their_namespace():
    known = {("shop", "cart"): "cart", ("pay", "bank"): "bank"}
    assert service_of_host("cart", "shop", known) == "cart"
    assert service_of_host("cart", "pay", known) is None  # a short name stays in its namespace
    for host in ("bank.pay", "bank.pay.svc", "bank.pay.svc.cluster.local"):
        assert service_of_host(host, "shop", known) == "bank"
    assert service_of_host("bank.pay.example.com", "shop", known) is None


# -- what cannot be imported is a coded finding -------------------------------------------------
def test_services_without_selectors_udp_ports_and_tcp_versions_are_findings():
    udp = service("dns")
    udp["spec"]["ports"] = [{"name": "dns", "port": 53, "protocol": "UDP"},
                            {"name": "http", "port": 8080}]
    redis = service("redis")
    redis["spec"]["ports"] = [{"name": "tcp-redis", "port": 6379}]
    external = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "maps",
                                                                   "namespace": "default"},
                "spec": {"type": "ExternalName", "externalName": "maps.example.com"}}
    headless = service("peers", selector={})
    headless["spec"]["clusterIP"] = "None"
    deployments = [deployment(app, {"version": v}) for app in ("dns", "redis")
                   for v in ("v1", "v2")]
    result = design_from_workloads([udp, redis, external, headless], deployments)
    found = {(f.code, f.path) for f in result.findings}
    assert ("LD922", "Service default/maps") in found
    assert ("LD922", "Service default/peers") in found
    assert ("LD112", "spec.services[0].ports[0]") in found  # the validator's UDP finding
    assert ("LD923", "service redis") in found
    assert result.design.lane("v2").services == ("dns",)  # redis stays in the baseline
    # no entry: nothing is behind a LoadBalancer and no call leads from one service
    assert [f.code for f in result.findings if f.severity == "error"] == ["LD501"]
    fixed = result.design.with_(ingress=replace(result.design.ingress, entry="dns"))
    assert errors(validate(fixed)) == []  # LD501's fix is all it takes
    messages = "\n".join(f.message for f in result.findings)
    assert "ExternalName" in messages and "headless" in messages


def test_an_empty_namespace_among_others_is_a_warning():
    result = design_from_workloads([service("a")], [deployment("a", {"version": "v1"})],
                                   namespaces=["default", "quiet"])
    [empty] = [f for f in result.findings if f.code == "LD921"]
    assert (empty.severity, empty.path) == ("warning", "namespace quiet")
    assert result.design.service_names == ("a",)


def test_group_import_fills_ports_and_calls_from_the_workloads(shop):
    app, result = shop
    bare = result.design.with_(services=tuple(
        s.__class__(s.name, namespace=s.namespace) for s in result.design.services))
    notes: list[str] = []
    filled = with_workloads(bare, app.services, app.deployments, notes)
    assert filled.service("emailservice").ports == (ServicePort(5000, "grpc", 8080),)
    assert {s.name: set(s.calls) for s in filled.services if s.calls} == BOUTIQUE_CALLS
    assert any(n.startswith("ports and selectors of frontend") for n in notes)


# -- the command line against the API servers -------------------------------------------------
def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_import_cluster_proposes_boutique_from_the_api_server(served, shared_dir, capsys):
    served.ensure_namespace("shop")
    app = boutique(shared_dir, namespace="shop")
    for obj in app.workload_objects:
        served.add(obj)
    code, out, err = run(capsys, "import-cluster", "-n", "shop", "--kubeconfig",
                         served.kubeconfig, "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    design = parse_design(json.dumps(doc["design"])).design
    assert set(design.service_names) == BOUTIQUE_SERVICES
    assert design.service("emailservice").ports == (ServicePort(5000, "grpc", 8080),)
    assert {s.name: set(s.calls) for s in design.services if s.calls} == BOUTIQUE_CALLS
    assert (design.ingress.entry, design.ingress.default) == ("frontend", "v1")
    assert [f for f in doc["findings"] if f["severity"] == "error"] == []


def test_import_cluster_bookinfo_with_its_gateway_virtualservice(served, shared_dir, capsys):
    app = bookinfo(shared_dir)
    for obj in [*app.workload_objects, *of_kind(app.mesh, "VirtualService")]:
        served.add(obj)
    code, out, err = run(capsys, "import-cluster", "-n", "default", "--kubeconfig",
                         served.kubeconfig)
    assert code == 0, err
    design = parse_design(out).design
    assert sorted(design.service_names) == ["details", "productpage", "ratings", "reviews"]
    assert design.lane_names == ("v1", "v2", "v3")
    assert (design.ingress.entry, design.ingress.gateway) == ("productpage",
                                                              "default/bookinfo-gateway")
    assert "# service default/reviews-v1 selects only the version=v1 pods" in err


def test_a_missing_namespace_is_named(served, capsys):
    served.add(service("a"))
    served.add(deployment("a", {"version": "v1"}))
    code, out, err = run(capsys, "import-cluster", "-n", "nowhere", "--kubeconfig",
                         served.kubeconfig, "--format", "json")
    assert code == 1
    [finding] = json.loads(out)["findings"]
    assert (finding["code"], finding["path"]) == ("LD920", "namespace nowhere")
    assert "'nowhere' does not exist" in finding["message"]
    code, _, err = run(capsys, "import-cluster", "-n", "nowhere", "-n", "default",
                       "--kubeconfig", served.kubeconfig)
    assert code == 0 and "LD920 namespace nowhere" in err  # the other namespace imports


def test_an_empty_namespace_is_a_finding_not_silence(served, capsys):
    served.ensure_namespace("elsewhere")
    code, out, err = run(capsys, "import-cluster", "-n", "elsewhere", "--kubeconfig",
                         served.kubeconfig)
    assert code == 1 and out == ""
    assert "LD921 namespace elsewhere" in err


def test_group_import_keeps_ports_and_takes_calls_from_a_design(served, shared_dir, tmp_path,
                                                                 capsys):
    app = boutique(shared_dir)
    for obj in app.workload_objects:
        served.add(obj)
    code, out, err = run(capsys, "import-cluster", "-n", "default", "--name", "boutique",
                         "--kubeconfig", served.kubeconfig)
    assert code == 0, err
    proposal = tmp_path / "boutique.yaml"
    proposal.write_text(out)
    code, _, err = run(capsys, "apply", proposal, "--yes", "--wait", "0",
                       "--kubeconfig", served.kubeconfig)
    assert code == 0, err
    code, out, err = run(capsys, "import-cluster", "--group", "boutique",
                         "--kubeconfig", served.kubeconfig)
    assert code == 0, err
    back = parse_design(out).design
    assert back.service("frontend").ports == (ServicePort(80, "http", 8080),)
    assert {s.name: set(s.calls) for s in back.services if s.calls} == BOUTIQUE_CALLS
    edited = parse_design(proposal.read_text()).design.with_calls("adservice", ["frontend"])
    mine = tmp_path / "mine.yaml"
    mine.write_text(dump_design(edited))
    code, out, err = run(capsys, "import-cluster", "--group", "boutique", "--calls-from", mine,
                         "--kubeconfig", served.kubeconfig)
    assert code == 0, err
    assert parse_design(out).design.service("adservice").calls == ("frontend",)


# -- a team's routing: import-cluster --adopt --------------------------------------------------
TEAM = ("destination-rule-all", "virtual-service-reviews-jason-v2-v3",
        "virtual-service-ratings-test-delay")


def team_objects(shared, namespace: str = "default") -> list[dict]:
    folder = shared / "realapps" / "bookinfo" / "networking"
    return [in_namespace(d, namespace) for name in TEAM
            for d in documents(folder / f"{name}.yaml")]


def jason_routes(design) -> tuple:
    reviews, ratings = design.service("reviews").routing, design.service("ratings").routing
    jason = (("end-user", StringMatch("exact", "jason")),)
    return ([(r.matches[0].headers, [d.subset for d in r.destinations])
             for r in reviews.routes],
            [r.settings["fault"]["delay"]["fixedDelay"] for r in ratings.routes
             if r.matches[0].headers == jason])


def test_bookinfo_adopted_from_its_networking_objects(shared_dir):
    app = bookinfo(shared_dir)
    result = design_from_workloads(app.services, app.deployments, name="bookinfo",
                                   mesh=[*app.mesh, *team_objects(shared_dir)], adopt=True)
    design = result.design
    jason = (("end-user", StringMatch("exact", "jason")),)
    assert jason_routes(design) == ([(jason, ["v2"])], ["7s"])
    assert [d.subset for d in design.service("reviews").routing.default] == ["v3"]
    assert "reviews: adopted DestinationRule default/reviews, VirtualService default/reviews " \
        "into its routing" in result.notes
    assert any(n.startswith("ingress: adopted the gateway route VirtualService "
                            "default/bookinfo") for n in result.notes)
    assert {r.match.uri.value for r in design.ingress.rules} == {
        "/productpage|/static.*|/login|/logout|/api/v1/products.*"}
    assert "LD959" in codes(result) and errors(result.findings) == []
    assert errors(validate(design, "istio")) == []


def test_without_adopt_the_team_routing_is_named_not_read(shared_dir):
    app = bookinfo(shared_dir)
    result = design_from_workloads(app.services, app.deployments, name="bookinfo",
                                   mesh=[*app.mesh, *team_objects(shared_dir)])
    assert all(s.routing is None for s in result.design.services)
    assert result.design.ingress.default == "v1" and result.design.ingress.rules is None
    [note] = [n for n in result.notes if n.startswith("team routing objects")]
    assert "exist for 4 service(s) (details, ratings, reviews, productpage) and the ingress " \
        "(a gateway route: VirtualService default/bookinfo)" in note and "--adopt" in note
    plain = design_from_workloads(app.services, app.deployments, name="bookinfo", mesh=[])
    assert not [n for n in plain.notes if n.startswith("team routing objects")]


def test_a_refused_object_leaves_its_service_unrouted_and_says_why(shared_dir):
    app = bookinfo(shared_dir)
    team = team_objects(shared_dir)
    reviews = next(o for o in team if o["kind"] == "VirtualService"
                   and o["metadata"]["name"] == "reviews")
    reviews["spec"]["tcp"] = [{"route": [{"destination": {"host": "reviews"}}]}]
    result = design_from_workloads(app.services, app.deployments, name="bookinfo",
                                   mesh=[*app.mesh, *team], adopt=True)
    assert result.design.service("reviews").routing is None
    assert result.design.service("ratings").routing is not None
    assert [f.path for f in result.findings if f.code == "LD951"] == [
        "VirtualService default/reviews: spec"]
    assert "reviews: routing not adopted, DestinationRule default/reviews, VirtualService " \
        "default/reviews refused (the findings say why); its routing stays unset" \
        in result.notes


@pytest.mark.parametrize("adopt", [False, True])
def test_import_cluster_adopts_bookinfo_from_the_api_server(served, shared_dir, tmp_path,
                                                            capsys, adopt):
    app = bookinfo(shared_dir)
    for obj in [*app.workload_objects, *of_kind(app.mesh, "Gateway", "VirtualService"),
                *team_objects(shared_dir)]:
        served.add(obj)
    code, out, err = run(capsys, "import-cluster", "-n", "default", "--name", "bookinfo",
                         "--kubeconfig", served.kubeconfig, *(["--adopt"] if adopt else []))
    assert code == 0, err
    design = parse_design(out).design
    if not adopt:
        assert all(s.routing is None for s in design.services)
        assert "--adopt reads them into the design" in err
        return
    jason = (("end-user", StringMatch("exact", "jason")),)
    assert jason_routes(design) == ([(jason, ["v2"])], ["7s"])
    assert "# reviews: adopted DestinationRule default/reviews, VirtualService " \
        "default/reviews into its routing" in err
    proposal = tmp_path / "bookinfo.yaml"
    proposal.write_text(out)
    code, out, err = run(capsys, "validate", proposal, "--target", "istio", "--format", "json")
    assert code == 0, out
    assert [f for f in json.loads(out)["findings"] if f["severity"] == "error"] == []
    code, out, err = run(capsys, "export", proposal, "--target", "istio")
    assert code == 0, err
    [reviews] = [o for o in yaml.safe_load_all(out) if o["kind"] == "VirtualService"
                 and o["metadata"]["name"] == "bookinfo-reviews"]
    team = [r for r in reviews["spec"]["http"]
            if r.get("match") == [{"headers": {"end-user": {"exact": "jason"}}}]]
    assert [r["route"][0]["destination"]["subset"] for r in team] == ["v2"]


def test_group_import_adopts_the_team_routing_beside_the_groups_objects(served, shared_dir,
                                                                        tmp_path, capsys):
    app = bookinfo(shared_dir)
    for obj in [*app.workload_objects, *of_kind(app.mesh, "Gateway", "VirtualService"),
                *team_objects(shared_dir)]:
        served.add(obj)
    code, out, err = run(capsys, "import-cluster", "-n", "default", "--name", "bookinfo",
                         "--kubeconfig", served.kubeconfig)
    assert code == 0, err
    proposal = tmp_path / "bookinfo.yaml"
    proposal.write_text(out)
    code, out, err = run(capsys, "apply", proposal, "--yes", "--wait", "0", "--allow-overlap",
                       "--kubeconfig", served.kubeconfig)
    assert code == 0, out + err
    code, out, err = run(capsys, "import-cluster", "--group", "bookinfo", "--kubeconfig",
                         served.kubeconfig)
    assert code == 0, err
    assert parse_design(out).design.service("reviews").routing is None
    assert "--adopt reads them into the design" in err
    code, out, err = run(capsys, "import-cluster", "--group", "bookinfo", "--adopt",
                         "--kubeconfig", served.kubeconfig)
    assert code == 0, err
    jason = (("end-user", StringMatch("exact", "jason")),)
    assert jason_routes(parse_design(out).design) == ([(jason, ["v2"])], ["7s"])
