"""Online Boutique and Bookinfo, from their own manifests: the designs they should get, what
the validator and the simulator say of them, and Istio's own analysis of their export.

The apps come from ``../shared/realapps`` (``realapps.py``); Istio's xDS translation is in
``test_realapps_xds.py``, the real API server in ``test_realapps_kube.py``.
"""

from __future__ import annotations

import json
import subprocess

import pytest
from gotools import go_tool
from istio_runs import write_yaml
from realapps import (
    BOOKINFO_FORWARDS,
    BOUTIQUE_CALLS,
    BOUTIQUE_PORTS,
    BOUTIQUE_TESTER,
    App,
    bookinfo,
    bookinfo_baggage_design,
    bookinfo_design,
    boutique,
    boutique_design,
    boutique_gateway_api_design,
    gateway_api_gateway,
)

from lanedesign.emit import emit
from lanedesign.emit.istio import emit_istio
from lanedesign.model import ServicePort
from lanedesign.simulate import simulate
from lanedesign.validate import validate

pytestmark = pytest.mark.realapps


@pytest.fixture(scope="module")
def shop(realapps_shared) -> App:
    return boutique(realapps_shared)


@pytest.fixture(scope="module")
def books(realapps_shared) -> App:
    return bookinfo(realapps_shared)


def codes(findings, severities=("error", "warning")) -> list[str]:
    return sorted(f.code for f in findings if f.severity in severities)


# -- the apps as the tests label them ----------------------------------------------------------
def test_boutique_gets_version_v1_everywhere_and_two_v2_copies(shop):
    pods = {d["metadata"]["name"]: d["spec"]["template"]["metadata"]["labels"]
            for d in shop.deployments}
    assert len(pods) == 12 + 2  # loadgenerator included: it is a Deployment without a Service
    assert {name: labels.get("version") for name, labels in pods.items()
            if labels.get("version") != "v1"} == {"frontend-v2": "v2", "cartservice-v2": "v2"}
    assert pods["frontend-v2"] == {"app": "frontend", "version": "v2"}
    v1 = next(d for d in shop.deployments if d["metadata"]["name"] == "frontend")
    v2 = next(d for d in shop.deployments if d["metadata"]["name"] == "frontend-v2")
    # the copies differ in nothing else: the same containers, ports and environment
    assert v1["spec"]["template"]["spec"] == v2["spec"]["template"]["spec"]
    assert all(d["metadata"]["namespace"] == "boutique" for d in shop.workload_objects)


def test_bookinfo_keeps_its_own_versions(books):
    pods = {d["metadata"]["name"]: d["spec"]["template"]["metadata"]["labels"]
            for d in books.deployments}
    assert pods == {f"{app}-{v}": {"app": app, "version": v} for app, v in (
        ("details", "v1"), ("ratings", "v1"), ("reviews", "v1"), ("reviews", "v2"),
        ("reviews", "v3"), ("productpage", "v1"))}


# -- the hand-written designs agree with the manifests ------------------------------------------
def ports_of(service: dict) -> tuple[ServicePort, ...]:
    """A Service's ports in the model's terms (a targetPort equal to the port is the default)."""
    return tuple(ServicePort(p["port"], p.get("name"),
                             None if p.get("targetPort", p["port"]) == p["port"]
                             else p["targetPort"], p.get("appProtocol"), p.get("protocol", "TCP"))
                 for p in service["spec"]["ports"])


@pytest.mark.parametrize("which", ["boutique", "bookinfo"])
def test_the_expected_designs_have_the_services_ports_exactly(which, shop, books):
    """Written by hand from the README; here checked against the Services themselves."""
    app, design = (shop, boutique_design()) if which == "boutique" else (books, bookinfo_design())
    own = {s["metadata"]["name"]: s for s in app.services
           if s["metadata"]["name"] != "frontend-external"}  # its pods are frontend's
    assert list(design.service_names) == list(own)
    for service in design.services:
        assert service.ports == ports_of(own[service.name]), service.name
        assert service.selector is None  # the default {app: <name>} ...
        assert own[service.name]["spec"]["selector"] == service.selector_map  # ... is theirs


def test_boutique_frontend_external_selects_frontends_pods(shop):
    """Why the design has no service of its own for it."""
    external, frontend = shop.service("frontend-external"), shop.service("frontend")
    assert external["spec"]["type"] == "LoadBalancer"
    assert external["spec"]["selector"] == frontend["spec"]["selector"]
    assert external["spec"]["ports"] == frontend["spec"]["ports"]


def test_boutique_calls_are_the_ones_its_environment_names(shop):
    """Every ``*_ADDR=service:port`` a Deployment sets is a call of the design (the deployed
    ones: shoppingassistantservice is not in the release), with the port the Service has."""
    ports = {name: {p.port for p in found} for name, found in BOUTIQUE_PORTS.items()}
    for dep in shop.deployments:
        if dep["metadata"]["name"] in ("loadgenerator", "frontend-v2", "cartservice-v2"):
            continue
        named = []
        for container in dep["spec"]["template"]["spec"]["containers"]:
            for env in container.get("env", []):
                if env["name"].endswith("_ADDR") and ":" in env.get("value", ""):
                    host, port = env["value"].rsplit(":", 1)
                    if host in ports:
                        assert int(port) in ports[host], env
                        named.append(host)
        assert tuple(named) == BOUTIQUE_CALLS.get(dep["metadata"]["name"], ()), dep["metadata"]


def test_the_designs_port_protocols_are_istios():
    design = boutique_design()
    protocols = {s.name: s.route_port.protocol for s in design.services}
    assert protocols.pop("frontend") == "http"
    assert protocols.pop("redis-cart") == "tcp"
    assert set(protocols.values()) == {"grpc"}  # the nine gRPC services
    assert [s.name for s in design.services if s.tcp_only] == ["redis-cart"]
    assert {s.route_port.protocol for s in bookinfo_design().services} == {"http"}


# -- validate, per target -------------------------------------------------------------------
def test_boutique_validates_clean_and_istio_is_its_target():
    design = boutique_design()
    assert codes(validate(design)) == []
    assert codes(validate(design, "istio")) == []
    assert codes(validate(design, "istio"), ("info",)) == ["LD602"]  # the Lua EnvoyFilter
    # ASM has no route for requests that name no lane
    assert codes(validate(design, "asm")) == ["LD610"]
    assert codes(validate(design.with_ingress(default=None), "asm")) == []


def test_boutique_on_the_gateway_api_is_refused_for_baggage_at_the_gateway():
    """LD623 is the one reason: the default ingress rules test the route header, which the
    baggage method's gateway may take from baggage."""
    assert codes(validate(boutique_design(), "gateway-api")) == ["LD623"]


def test_boutique_for_the_gateway_api_validates_clean():
    """Its variant with the lane chosen by ``x-user: tester`` at the gateway (baggage on the
    hops) is what the Gateway API can express; Istio can too."""
    design = boutique_gateway_api_design()
    assert codes(validate(design, "gateway-api"), ("error", "warning", "info")) == []
    assert codes(validate(design, "istio")) == []
    assert simulate(design, [BOUTIQUE_TESTER]).lane == "v2"
    # only the gateway's rule enters a lane: the route header or baggage alone do not
    for pairs in ([], [("x-asm-prefer-tag", "v2")], [("baggage", "x-asm-prefer-tag=v2")]):
        assert simulate(design, pairs).lane == "v1", pairs


def test_bookinfo_validates_clean_with_the_header_it_forwards():
    design = bookinfo_design()
    assert codes(validate(design), ("error", "warning", "info")) == []
    assert codes(validate(design, "istio"), ("error", "warning", "info")) == []
    assert codes(validate(design, "asm")) == ["LD610"]


def test_bookinfo_validates_clean_for_the_gateway_api():
    assert codes(validate(bookinfo_design(), "gateway-api")) == []


def test_bookinfo_with_baggage_loses_the_lane_after_productpage():
    """LD406 on both apps that forward a fixed list, naming the method that would survive."""
    findings = [f for f in validate(bookinfo_baggage_design()) if f.code == "LD406"]
    assert [f.path for f in findings] == ["spec.services[2].forwards",
                                          "spec.services[3].forwards"]  # reviews, productpage
    assert all("header" in f.message or "header" in f.hint for f in findings), findings
    assert codes(validate(bookinfo_baggage_design())) == ["LD406", "LD406"]
    assert set(bookinfo_design().service("reviews").forwards) == set(BOOKINFO_FORWARDS)


# -- simulate: the paths each README implies ----------------------------------------------
# Boutique's call tree below frontend, depth first in call order: (caller, service)
BOUTIQUE_TREE = [
    (None, "frontend"),
    ("frontend", "productcatalogservice"),
    ("frontend", "currencyservice"),
    ("frontend", "cartservice"), ("cartservice", "redis-cart"),
    ("frontend", "recommendationservice"), ("recommendationservice", "productcatalogservice"),
    ("frontend", "shippingservice"),
    ("frontend", "checkoutservice"),
    ("checkoutservice", "productcatalogservice"), ("checkoutservice", "shippingservice"),
    ("checkoutservice", "paymentservice"), ("checkoutservice", "emailservice"),
    ("checkoutservice", "currencyservice"),
    ("checkoutservice", "cartservice"), ("cartservice", "redis-cart"),
    ("frontend", "adservice"),
]
BOUTIQUE_V2 = {"frontend", "cartservice"}


def hops(trace) -> list[tuple]:
    return [(h.caller, h.service, h.lane, h.context) for h in trace.hops]


@pytest.mark.parametrize(("headers", "lane"), [
    ({"x-asm-prefer-tag": "v2"}, "v2"),
    ({"baggage": "x-asm-prefer-tag=v2"}, "v2"),  # the lane in baggage alone
    ({"x-asm-prefer-tag": "v1"}, "v1"),
    ({}, None),  # no lane: ingress.default sends it to v1
])
def test_boutique_simulates_its_readme_paths(headers, lane):
    trace = simulate(boutique_design(), headers)
    assert (trace.status, trace.warnings) == (200, ())
    assert trace.lane == (lane or "v1")
    context = lane or "v1"
    expected = [(caller, service, "v2" if lane == "v2" and service in BOUTIQUE_V2 else "v1",
                 context) for caller, service in BOUTIQUE_TREE]
    assert hops(trace) == expected
    # 7 calls from frontend, 6 from checkout, 1 from recommendation, redis-cart once per cart
    callers = [c for c, _ in BOUTIQUE_TREE]
    assert (callers.count("frontend"), callers.count("checkoutservice")) == (7, 6)


def test_boutique_redis_cart_is_served_by_v1_in_every_lane():
    design = boutique_design()
    for headers in ({}, {"x-asm-prefer-tag": "v1"}, {"x-asm-prefer-tag": "v2"}):
        trace = simulate(design, headers)
        assert {h.lane for h in trace.hops if h.service == "redis-cart"} == {"v1"}
    # the check bites: a lane holding redis-cart is refused, no header can pick its version
    held = design.with_membership("v2", "redis-cart", True)
    assert "LD213" in codes(validate(held))


def test_an_unknown_lane_is_served_by_the_baseline_and_said():
    trace = simulate(boutique_design(), {"x-asm-prefer-tag": "nope"})
    assert trace.status == 200
    assert {h.lane for h in trace.hops} == {"v1"}


def bookinfo_paths(lane: str | None, context: str | None = None) -> list[tuple]:
    """productpage -> details, reviews; reviews v2 and v3 -> ratings; v1 calls nothing."""
    reviews = lane if lane in ("v2", "v3") else "v1"
    ctx = context if context is not None else (lane or "v1")
    out = [(None, "productpage", "v1", ctx), ("productpage", "details", "v1", ctx),
           ("productpage", "reviews", reviews, ctx)]
    if reviews != "v1":
        out.append(("reviews", "ratings", "v1", ctx))
    return out


@pytest.mark.parametrize("lane", ["v1", "v2", "v3", None])
def test_bookinfo_simulates_its_readme_paths(lane):
    headers = {} if lane is None else {"end-user": lane}
    trace = simulate(bookinfo_design(), headers)
    assert (trace.status, trace.lane, trace.warnings) == (200, lane or "v1", ())
    assert hops(trace) == bookinfo_paths(lane)


def test_bookinfo_with_baggage_serves_v1_reviews_in_every_lane():
    """The loss LD406 predicts: productpage drops the baggage, reviews v2 is never reached."""
    trace = simulate(bookinfo_baggage_design(), {"x-asm-prefer-tag": "v2"})
    assert trace.status == 200 and trace.lane == "v2"
    assert [(h.service, h.lane, h.context) for h in trace.hops] == [
        ("productpage", "v1", "v2"), ("details", "v1", None), ("reviews", "v1", None)]
    assert any("productpage forwards only" in w for w in trace.warnings), trace.warnings


# -- istioctl analyze -A over the export and the app's own objects ------------------------------
@pytest.fixture(scope="module")
def istioctl():
    return go_tool("istioctl")




def analyze(istioctl, *files) -> set[tuple[str, str]]:
    """``istioctl analyze -A`` of the files alone (no cluster): (code, resource) pairs.

    ``-A`` (all namespaces) matters: without it analyze reports only the default namespace,
    and neither the apps' namespaces nor ``istio-system`` (the EnvoyFilter) would be looked at.
    """
    done = subprocess.run([str(istioctl), "analyze", "--use-kube=false", "-A", "-o", "json",
                           *(str(f) for f in files)], capture_output=True, text=True,
                          check=False, timeout=300)
    assert done.returncode in (0, 79), done.stderr[-2000:]  # 79: it found something
    return {(m["code"], m["origin"]) for m in json.loads(done.stdout or "[]")}


def app_objects(app: App) -> list[dict]:
    return [app.namespace_object, *app.workload_objects]


@pytest.mark.istio
def test_istioctl_analyze_boutique(istioctl, tmp_path, shop):
    """Boutique's export beside its Deployments and Services.

    Left out of the app's ``istio-manifests.yaml``: its mesh VirtualService ``frontend``
    (another VirtualService for frontend's host, beside the lane's: adopting it is issue 19)
    and its ServiceEntries (Google APIs; nothing the lanes touch). The ingress gateway the
    design names, ``istio-gateway``, is the app's *Gateway API* Gateway: the Istio target
    needs an Istio Gateway of that name, which ``export --with-gateway`` emits.
    """
    design = boutique_design()
    cluster = write_yaml(tmp_path, "cluster", app_objects(shop))
    ingress, envoy_filter = "VirtualService boutique/boutique-ingress", \
        "EnvoyFilter istio-system/boutique-baggage"
    # the check bites: without the Gateway, Istio says the route binds to nothing
    export = write_yaml(tmp_path, "export", emit_istio(design))
    assert analyze(istioctl, export, cluster) == {
        ("IST0101", ingress),  # gateway not found
        ("IST0132", ingress),  # its hosts not in that gateway: the same
        ("IST0133", envoy_filter),  # EnvoyFilter schema warning: LD602, stays
    }
    # with the Gateway the export brings (--with-gateway), only the EnvoyFilter's warning
    export = write_yaml(tmp_path, "export-gw", emit_istio(design, with_gateway=True))
    assert analyze(istioctl, export, cluster) == {("IST0133", envoy_filter)}


@pytest.mark.istio
def test_istioctl_analyze_bookinfo(istioctl, tmp_path, books):
    """Bookinfo's export beside its Deployments, Services and its own Gateway
    ``bookinfo-gateway`` (not its VirtualService ``bookinfo``, which would bind the same
    gateway and hosts as the lane's ingress route: adopting it is issue 19). The header
    method needs no EnvoyFilter: nothing at all is left."""
    design = bookinfo_design()
    export = write_yaml(tmp_path, "export", emit_istio(design))
    cluster = write_yaml(tmp_path, "cluster", app_objects(books))
    assert analyze(istioctl, export, cluster) == {  # the check bites: without the gateway
        ("IST0101", "VirtualService bookinfo/bookinfo-ingress"),
        ("IST0132", "VirtualService bookinfo/bookinfo-ingress")}
    gateway = write_yaml(tmp_path, "gateway", [books.mesh_object("Gateway", "bookinfo-gateway")])
    assert analyze(istioctl, export, cluster, gateway) == set()


@pytest.mark.istio
@pytest.mark.parametrize("which", ["boutique", "bookinfo"])
def test_istioctl_analyze_the_gateway_api_exports(istioctl, tmp_path, shop, books,
                                                  realapps_shared, which):
    """The gateway-api export (version Services, HTTPRoutes) beside the app's Deployments,
    Services and the Gateway API Gateway it ships: Istio has nothing to say. (analyze does not
    judge Gateway API parents and backends, which Istio reports in the routes' status; the
    xDS tier is what proves them.) The check bites: the same run with one VirtualService
    bound to a missing gateway reports it."""
    app, design = (shop, boutique_gateway_api_design()) if which == "boutique" else \
        (books, bookinfo_design())
    export = write_yaml(tmp_path, "export", emit(design, "gateway-api"))
    cluster = write_yaml(tmp_path, "cluster", app_objects(app))
    gateway = dict(gateway_api_gateway(realapps_shared, app))
    gateway["apiVersion"] = "gateway.networking.k8s.io/v1"  # as the API server serves it
    own = write_yaml(tmp_path, "gateway", [gateway])
    assert analyze(istioctl, export, cluster, own) == set()
    stray = {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
             "metadata": {"name": "stray", "namespace": app.namespace},
             "spec": {"hosts": ["*"], "gateways": ["nowhere"],
                      "http": [{"route": [{"destination": {"host": design.ingress.entry}}]}]}}
    found = analyze(istioctl, export, cluster, own, write_yaml(tmp_path, "stray", [stray]))
    assert ("IST0101", f"VirtualService {app.namespace}/stray") in found, found
