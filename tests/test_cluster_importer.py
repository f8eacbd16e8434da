"""Import: a design proposed from Services/Deployments, or read back from owned objects."""

from __future__ import annotations

from cluster_objects import GROUP, NS, deployment, dr, ef, host, labels, service, vs
from hypothesis import assume, event, given, settings
from strategies import designs

from lanedesign import examples
from lanedesign.cluster import (
    apply,
    connect,
    design_from_istio,
    design_from_workloads,
    import_design,
    import_owned,
)
from lanedesign.emit import emit
from lanedesign.model import StringMatch
from lanedesign.simulate import routing_table, simulate


def lanes_of(design) -> list[tuple[str, dict, tuple[str, ...]]]:
    return [(ln.name, ln.label_map, ln.services) for ln in design.lanes]


def test_lanes_group_the_pods_behind_each_service_by_the_label_key():
    services = [service("cart"), service("pay"), service("ship")]
    deployments = [deployment("cart", {"version": "v1"}), deployment("cart", {"version": "v2"}),
                   deployment("pay", {"version": "v1"}), deployment("ship", {"version": "v1"}),
                   deployment("ship", {"version": "v3"})]
    result = design_from_workloads(services, deployments, name="shop")
    design = result.design
    assert lanes_of(design) == [("v1", {"version": "v1"}, ("cart", "pay", "ship")),
                                ("v2", {"version": "v2"}, ("cart",)),
                                ("v3", {"version": "v3"}, ("ship",))]
    assert (design.name, design.baseline, design.mode) == ("shop", "v1", "loose")
    assert [(s.name, s.port, s.calls) for s in design.services] == \
        [("cart", 8080, ()), ("pay", 8080, ()), ("ship", 8080, ())]
    assert any(note.startswith("calls between services cannot be read from Kubernetes and "
                               "no workload's environment names another service")
               for note in result.notes)
    assert "design 'shop': 3 service(s), 3 lane(s), baseline v1, loose mode" in result.summary()


def test_another_label_key_and_lanes_present_everywhere_make_a_strict_design():
    services = [service("a"), service("b")]
    deployments = [deployment(app, {"ASM_TRAFFIC_TAG": tag})
                   for app in ("a", "b") for tag in ("stable", "canary")]
    result = design_from_workloads(services, deployments, "ASM_TRAFFIC_TAG")
    assert result.design.mode == "strict"
    assert result.design.baseline == "stable"  # a name people give their stable version
    assert result.design.lane("canary").label_map == {"ASM_TRAFFIC_TAG": "canary"}
    assert any("pass --baseline" in note for note in result.notes)
    chosen = design_from_workloads(services, deployments, "ASM_TRAFFIC_TAG", baseline="canary")
    assert chosen.design.baseline == "canary"


def test_what_cannot_be_a_lane_is_noted_not_guessed():
    services = [service("a"), service("b"), service("headless", selector={}),
                service("orphan")]
    deployments = [deployment("a", {"version": "V2_beta"}), deployment("b", {"version": "v1"}),
                   deployment("b", {})]
    result = design_from_workloads(services, deployments)
    assert [ln.name for ln in result.design.lanes] == ["v2-beta", "v1"]
    assert result.design.lane("v2-beta").label_map == {"version": "V2_beta"}
    assert result.design.baseline == ""  # no lane holds every service
    notes = "\n".join(result.notes)
    [no_pods] = [f for f in result.findings if f.code == "LD922"]
    assert (no_pods.path, no_pods.severity) == ("Service default/headless", "warning")
    assert "headless" not in notes  # a coded finding, not a note
    assert "deployment default/b-plain behind service b has no pod label 'version'" in notes
    assert "service default/orphan: no Deployment with pod label 'version'" in notes
    assert "label value 'V2_beta' became lane name 'v2-beta'" in notes
    assert "no lane holds every service" in notes
    assert "LD201" in {f.code for f in result.findings}


def test_pods_in_another_namespace_do_not_count_and_services_keep_their_namespace():
    services = [service("a"), service("b"), service("c", namespace="pay")]
    deployments = [deployment("a", {"version": "v1"}), deployment("b", {"version": "v1"}),
                   deployment("c", {"version": "v1"}, namespace="pay"),
                   deployment("a", {"version": "v9"}, namespace="pay")]
    design = design_from_workloads(services, deployments).design
    assert design.namespace == "default"
    assert [(s.name, s.namespace) for s in design.services] == \
        [("a", None), ("b", None), ("c", "pay")]
    assert design.lane_names == ("v1",)


def test_an_existing_design_supplies_calls_headers_and_ingress():
    mock = examples.load("mock-baggage")
    services = [service(s) for s in ("mocka", "mockb", "mockc")]
    deployments = [deployment(s, {"version": v}) for s in ("mocka", "mockb", "mockc")
                   for v in ("v1", "v2")]
    result = design_from_workloads(services, deployments, existing=mock)
    design = result.design
    assert {s.name: s.calls for s in design.services} == \
        {"mocka": ("mockb",), "mockb": ("mockc",), "mockc": ()}
    assert design.ingress.entry == "mocka"
    assert design.route_header == mock.route_header
    assert "taken from the existing design" in result.notes[-1]


def test_nothing_to_import_is_no_design():
    result = design_from_workloads([service("a")], [deployment("a", {"tier": "web"})])
    assert result.design is None and result.yaml() == ""
    assert result.summary().startswith("nothing to import")


def test_import_design_reads_the_chosen_namespaces_over_the_api(served):
    with connect(served.kubeconfig) as cluster:
        for ns in ("shop", "pay", "elsewhere"):
            served.add(service(f"{ns}-svc", namespace=ns))
            served.add(deployment(f"{ns}-svc", {"version": "v1"}, namespace=ns))
        result = import_design(cluster, ["shop", "pay"])
    assert result.design.name == "shop"
    assert sorted(result.design.service_names) == ["pay-svc", "shop-svc"]
    assert result.to_dict()["design"]["metadata"]["name"] == "shop"


# -- from the objects a lane group owns ---------------------------------------------------------
def gateway_vs(*routes: dict) -> dict:
    return {
        "apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
        "metadata": {"name": "shop-ingress", "namespace": NS, "labels": labels()},
        "spec": {"hosts": ["shop.example.com"], "gateways": ["istio-system/ingressgateway"],
                 "http": list(routes)},
    }


def to_lane(lane: str, weight: int | None = None, baggage: bool = False) -> dict:
    request = {"set": {"x-lane": lane}}
    if baggage:
        request["add"] = {"baggage": f"lane-key={lane}"}
    dest = {"destination": {"host": host("cart"), "subset": lane},
            "headers": {"request": request}}
    return {**dest, "weight": weight} if weight is not None else dest


def test_istio_objects_give_back_lanes_services_header_baseline_and_ingress():
    objects = [dr("cart", "v1", "v2"), dr("pay", "v1"),
               vs("cart", "v1", "v2"), vs("pay", "v1", "v2", served={"v2": "v1"}),
               gateway_vs({"match": [{"headers": {"x-user": {"exact": "alice"}}}],
                           "route": [to_lane("v2")]},
                          {"route": [to_lane("v1")]})]
    result = design_from_istio(objects, GROUP)
    design = result.design
    assert lanes_of(design) == [("v1", {"version": "v1"}, ("cart", "pay")),
                                ("v2", {"version": "v2"}, ("cart",))]
    assert (design.baseline, design.route_header, design.mode) == ("v1", "x-lane", "loose")
    assert design.pass_through.method == "header"
    assert design.fallback == ()
    ingress = design.ingress
    assert (ingress.gateway, ingress.hosts, ingress.entry, ingress.default) == \
        ("istio-system/ingressgateway", ("shop.example.com",), "cart", "v1")
    [rule] = ingress.rules
    assert rule.lane == "v2" and rule.match.header_map == {"x-user": StringMatch("exact",
                                                                                 "alice")}


def test_a_route_to_a_lane_other_than_the_baseline_is_a_fallback_override():
    objects = [dr("cart", "v1", "v2"), dr("pay", "v1", "v3"), dr("ship", "v1", "v2", "v3"),
               vs("cart", "v1", "v2", "v3", served={"v3": "v1"}),
               vs("pay", "v1", "v2", "v3", served={"v2": "v3"}),
               vs("ship", "v1", "v2", "v3")]
    design = design_from_istio(objects, GROUP).design
    assert design.fallback == (("pay", "v3"),)


def test_weights_an_envoy_filter_and_baggage_make_a_weighted_baggage_design():
    objects = [dr("cart", "v1", "v2"), vs("cart", "v1", "v2"), ef(),
               gateway_vs({"match": [{"uri": {"prefix": "/shop"}}],
                           "route": [to_lane("v1", 80, True), to_lane("v2", 20, True)]})]
    design = design_from_istio(objects, GROUP).design
    assert design.pass_through.method == "baggage"
    assert design.baggage_key == "lane-key"
    assert design.ingress.strategy == "weighted"
    assert design.ingress.weight_map == {"v1": 80, "v2": 20}
    assert design.ingress.match.uri == StringMatch("prefix", "/shop")


def test_import_owned_reads_the_groups_objects_back_from_the_cluster(served):
    with connect(served.kubeconfig) as cluster:
        apply(cluster, [dr("cart", "v1", "v2"), vs("cart", "v1", "v2")], GROUP,
              settle_seconds=0)
        served.add(dr("other", "v9", group="payments"))
        result = import_owned(cluster, GROUP)
        assert lanes_of(result.design) == [("v1", {"version": "v1"}, ("cart",)),
                                           ("v2", {"version": "v2"}, ("cart",))]
        nothing = import_owned(cluster, "no-such-group")
    assert nothing.design is None
    assert nothing.notes == ("the cluster holds no objects of lane group 'no-such-group'",)


def test_a_short_host_takes_the_objects_namespace():
    rule = dr("cart", "v1")
    rule["spec"]["host"] = "cart"
    rule["metadata"]["namespace"] = "shop"
    design = design_from_istio([rule], GROUP).design
    assert design.namespace == "shop" and design.service_names == ("cart",)


def test_an_asm_lane_group_is_read_back_through_the_asm_importer(served):
    design = examples.load("mock-weighted")
    with connect(served.kubeconfig) as cluster:
        apply(cluster, emit(design, "asm"), design.name, settle_seconds=0)
        result = import_owned(cluster, design.name)
    back = result.design
    assert [(ln.name, ln.label_map, ln.services) for ln in back.lanes] == \
        [(ln.name, ln.label_map, ln.services) for ln in design.lanes]
    assert (back.baseline, back.route_header, back.ingress.weight_map) == \
        (design.baseline, design.route_header, design.ingress.weight_map)
    assert "LD705" in {f.code for f in result.findings}  # ASM holds no calls


def test_the_target_with_most_of_the_groups_objects_reads_them_and_the_rest_is_noted(served):
    design = examples.load("mock-weighted")
    with connect(served.kubeconfig) as cluster:
        apply(cluster, emit(design, "asm"), design.name, settle_seconds=0)
        served.add(dr("mocka", "s1", group=design.name))  # a stray Istio object
        result = import_owned(cluster, design.name)
    assert result.design.lane_names == design.lane_names  # read by ASM, 4 objects against 1
    assert "objects of the group that Alibaba Cloud ASM does not make were ignored" in \
        result.notes

# -- round trip through the real Istio emitter ---------------------------------------------------
def probe_requests(design) -> list[tuple[dict[str, str], str]]:
    """Requests that exercise the ingress rules: every lane's header, a user, a few paths."""
    headers = [{}, {"x-user": "alice"}, *({design.route_header: ln} for ln in design.lane_names)]
    return [(h, path) for h in headers for path in ("/", "/api", "/mock")]


@settings(max_examples=60, deadline=None)
@given(designs())
def test_istio_objects_read_back_route_like_the_design(design):
    assume(design.pass_through.method != "traceId")  # plain Istio cannot express it
    result = design_from_istio(emit(design, "istio"), design.name)
    back = result.design
    held = [ln.name for ln in design.lanes if ln.services]  # an empty lane has no subset
    assert sorted(back.lane_names) == sorted(held)
    assert {ln.name: (ln.label_map, set(ln.services)) for ln in back.lanes} == \
        {ln.name: (ln.label_map, set(ln.services)) for ln in design.lanes if ln.services}
    assert back.baseline == design.baseline
    table = routing_table(design)
    assert routing_table(back) == {s: {ln: table[s][ln] for ln in held} for s in table}
    assert back.pass_through.method == design.pass_through.method
    if design.pass_through.method == "baggage":
        assert back.baggage_key == design.baggage_key
    strategy = design.ingress.strategy if design.ingress else None
    event(f"method {design.pass_through.method}, ingress {strategy}")
    if design.ingress is None or back.ingress is None:
        return
    assert (back.ingress.gateway, back.ingress.hosts, back.ingress.entry) == \
        (design.ingress.gateway, design.ingress.hosts, design.ingress.entry)
    shares = {lane: w for lane, w in design.ingress.weights if w > 0}
    if design.ingress.strategy == "weighted" and len(shares) > 1:
        assert back.ingress.weight_map == shares
    if design.ingress.strategy == "rules":
        for headers, path in probe_requests(design):
            want, got = simulate(design, headers, path), simulate(back, headers, path)
            assert (got.status, got.lane) == (want.status, want.lane), (headers, path)


def test_a_services_own_selector_is_kept_whatever_its_keys():
    named = {"app.kubernetes.io/name": "cart"}
    services = [service("cart", selector=named), service("pay")]
    deployments = [deployment("cart-x", {**named, "version": v}) for v in ("v1", "v2")]
    deployments.append(deployment("pay", {"version": "v1"}))
    design = design_from_workloads(services, deployments).design
    assert design.service("cart").selector_map == named  # not app: cart
    assert design.service("pay").selector is None  # app: pay, the default
    assert design.lane("v2").services == ("cart",)
