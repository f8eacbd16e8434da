"""The ASM emitter: object shapes, what it refuses and why, round trips, golden files, and an
independent reading of its output (``asm_semantics``) that must agree with the simulator."""

from __future__ import annotations

import itertools
import os
import random
from dataclasses import replace
from pathlib import Path

import asm_semantics
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from strategies import designs, string_matches

from lanedesign import examples
from lanedesign.codec import dump_manifests
from lanedesign.emit import TargetError, emit
from lanedesign.emit.asm import asm_problems, emit_asm, import_asm
from lanedesign.findings import CATALOGUE, has_errors
from lanedesign.model import (
    ROUTE_SETTINGS,
    IngressRule,
    LaneDesign,
    PassThrough,
    RequestMatch,
    RouteDestination,
    Routing,
    Service,
    StringMatch,
    TeamSubset,
)
from lanedesign.simulate import enter, routing_table
from lanedesign.validate import validate

GOLDEN = Path(__file__).parent / "golden"
PATHS = ["/", "/api", "/api/v2", "/mock", "/zz"]


def header_rule(lane: str, header: str = "x-asm-prefer-tag", kind: str = "exact",
                value: str | None = None) -> IngressRule:
    return IngressRule(lane, RequestMatch(headers=((header, StringMatch(kind, value or lane)),)))


def asm_friendly(design: LaneDesign) -> LaneDesign:
    """The design without the features ASM refuses for every design (not rule overlaps)."""
    services = design.services
    if design.mode == "strict":
        services = tuple(replace(s, propagates=True) for s in services)
    design = design.with_(services=services).with_pass_through(baggage_key=None)
    return design.with_ingress(default=None) if design.ingress else design


def mock(name: str = "mock-traceid", **ingress: object) -> LaneDesign:
    """A mock example without its default lane (which ASM cannot express)."""
    return examples.load(name).with_ingress(default=None, **ingress)


def lanes_by_name(objects: list[dict]) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == "ASMSwimLane"}


def refusal(design: LaneDesign) -> tuple[str, str]:
    with pytest.raises(TargetError) as caught:
        emit_asm(design)
    return caught.value.finding.code, caught.value.finding.path


# -- shapes --------------------------------------------------------------------------------
def test_weighted_example_is_one_group_and_one_lane_per_lane():
    objects = emit(examples.load("mock-weighted"), "asm")
    assert [(o["kind"], o["metadata"]["name"]) for o in objects] == [
        ("ASMSwimLaneGroup", "mock-weighted"), ("ASMSwimLane", "s1"), ("ASMSwimLane", "s2"),
        ("ASMSwimLane", "s3")]
    assert {o["apiVersion"] for o in objects} == {"istio.alibabacloud.com/v1"}
    assert all("namespace" not in o["metadata"] for o in objects)  # cluster-scoped
    group = objects[0]["spec"]
    assert group["ingress"] == {
        "gateway": {"name": "ingressgateway", "namespace": "istio-system", "type": "ASM"},
        "ingressRouting": {"ingressRoutingStrategy": "weighted", "weightedRoutingRule": {
            "hosts": ["*"], "requestMatches": [{"uri": {"exact": "/mock"}}]}},
    }
    assert group["isPermissive"] is True
    assert group["permissiveModeConfiguration"] == {
        "traceHeader": "baggage", "routeHeader": "x-asm-prefer-tag", "fallbackTarget": "s1"}
    assert group["services"] == [{"name": n, "namespace": "default"}
                                 for n in ("mocka", "mockb", "mockc")]
    s2 = lanes_by_name(objects)["s2"]
    assert s2["metadata"]["labels"] == {
        "swimlane-group": "mock-weighted", "app.kubernetes.io/managed-by": "lanedesign",
        "lanedesign.io/group": "mock-weighted"}
    assert s2["spec"] == {
        "labelSelector": {"version": "v2"},
        "services": [{"name": "mocka", "namespace": "default"},
                     {"name": "mockc", "namespace": "default"}],
        "ingressWeight": {"destination": {"host": "mocka.default.svc.cluster.local",
                                          "portNum": 8000}, "weight": 20},
    }


def test_rule_based_lanes_carry_their_own_rules_in_order():
    design = mock(rules=(
        header_rule("s2"), header_rule("s3"),
        IngressRule("s2", RequestMatch(uri=StringMatch("prefix", "/beta"),
                                       headers=(("x-user", StringMatch("exact", "alice")),
                                                ("x-asm-prefer-tag", StringMatch("exact", "s2"))))),
    ))
    objects = emit_asm(design)
    assert objects[0]["spec"]["ingress"]["ingressRouting"] == {
        "ingressRoutingStrategy": "rule_based"}
    lanes = lanes_by_name(objects)
    destination = {"host": "mocka.default.svc.cluster.local", "portNum": 8000}
    assert lanes["s2"]["spec"]["ingressRules"] == [
        {"name": "r-s2", "online": True, "hosts": ["*"],
         "match": {"headers": {"x-asm-prefer-tag": {"exact": "s2"}}},
         "route": {"destination": destination}},
        {"name": "r-s2-2", "online": True, "hosts": ["*"],
         "match": {"uri": {"prefix": "/beta"}, "headers": {
             "x-user": {"exact": "alice"}, "x-asm-prefer-tag": {"exact": "s2"}}},
         "route": {"destination": destination}},
    ]
    assert [r["name"] for r in lanes["s3"]["spec"]["ingressRules"]] == ["r-s3"]
    assert "ingressRules" not in lanes["s1"]["spec"]  # no rule enters s1


def test_default_rules_become_one_route_header_rule_per_lane():
    objects = emit_asm(mock("mock-header"))
    for name, lane in lanes_by_name(objects).items():
        (rule,) = lane["spec"]["ingressRules"]
        assert rule["match"] == {"headers": {"x-asm-prefer-tag": {"exact": name}}}


@pytest.mark.parametrize(("method", "expected"), [
    (PassThrough("traceId", trace_header="my-trace-id"), "my-trace-id"),
    (PassThrough("header"), "x-asm-prefer-tag"),
    (PassThrough("header", trace_header="x-asm-prefer-tag"), "x-asm-prefer-tag"),
    (PassThrough("baggage"), "baggage"),
    (PassThrough("baggage", baggage_key="x-asm-prefer-tag"), "baggage"),
])
def test_trace_header_names_the_pass_through_method(method, expected):
    group = emit_asm(mock().with_(pass_through=method))[0]
    assert group["spec"]["permissiveModeConfiguration"]["traceHeader"] == expected


def test_per_service_fallbacks_are_keyed_namespace_slash_name():
    shop = asm_friendly(examples.load("shop"))
    config = emit_asm(shop)[0]["spec"]["permissiveModeConfiguration"]
    assert config["serviceLevelFallbackTarget"] == {"payments/fraud": "payments-v3"}
    assert config["fallbackTarget"] == "base"


def test_strict_mode_has_no_permissive_settings():
    design = mock().with_(mode="strict", lanes=tuple(
        replace(lane, services=("mocka", "mockb", "mockc")) for lane in mock().lanes))
    assert not has_errors(validate(design))
    group = emit_asm(design)[0]["spec"]
    assert group["isPermissive"] is False
    assert "permissiveModeConfiguration" not in group


def test_emitting_is_pure_and_repeatable():
    design = examples.load("mock-weighted")
    first = emit_asm(design)
    first[1]["spec"]["ingressWeight"]["destination"]["host"] = "changed"
    assert emit_asm(design) == emit_asm(design) != first


# -- what ASM cannot express ---------------------------------------------------------------
def _overlapping_rules() -> LaneDesign:
    return mock(rules=(IngressRule("s3", RequestMatch(uri=StringMatch("prefix", "/"))),
                       header_rule("s2")))


REFUSED = {
    "LD610": (mock().with_ingress(default="s1"), "spec.ingress.default"),
    "LD611": (_overlapping_rules(), "spec.ingress.rules[1]"),
    "LD612": (mock("mock-baggage").with_pass_through(baggage_key="lane"),
              "spec.passThrough.baggageKey"),
    "LD613": (mock().with_(mode="strict", lanes=tuple(
        replace(lane, services=("mocka", "mockb", "mockc")) for lane in mock().lanes),
    ).with_service(Service("mocka", calls=("mockb",), port=8000, propagates=False)),
        "spec.services[0].propagates"),
    "LD614": (mock(rules=(IngressRule("s3", RequestMatch(headers=(
        ("x-asm-prefer-tag", StringMatch("exact", "s3")), ("x-user", StringMatch("exact", "")),
    ))),)), "spec.ingress.rules[0].match.headers.x-user"),
    "LD615": (mock().with_pass_through(trace_header="baggage"), "spec.passThrough.traceHeader"),
}


def test_every_asm_export_code_has_a_refusal_case():
    assert set(REFUSED) == {c for c in CATALOGUE if c.startswith("LD61")}


@pytest.mark.parametrize("code", sorted(REFUSED))
def test_refusals_are_coded_findings_on_valid_designs(code):
    design, path = REFUSED[code]
    assert not has_errors(validate(design)), "the refusal must be about ASM, not the design"
    assert refusal(design) == (code, path)
    assert [f.code for f in asm_problems(design)] == [code]


def test_refusals_reach_the_cli_as_exit_1(tmp_path, capsys):
    from lanedesign.cli import main
    from lanedesign.designfile import save_design

    save_design(REFUSED["LD611"][0], tmp_path / "d.yaml")
    assert main(["export", str(tmp_path / "d.yaml"), "--target", "asm", "--format", "json"]) == 1
    assert '"code": "LD611"' in capsys.readouterr().out


def test_overlapping_rules_really_depend_on_asm_lane_order():
    """Why LD611 exists: the lane orders ASM may pick disagree about one request."""
    design = _overlapping_rules()  # rule 0: everything -> s3; rule 1: header s2 -> s2
    objects = emit_asm(design.with_ingress(rules=design.ingress.rules[:1]))
    only_s2 = {"headers": {"x-asm-prefer-tag": {"exact": "s2"}}}
    lanes_by_name(objects)["s2"]["spec"]["ingressRules"] = [
        {"online": True, "hosts": ["*"], "match": only_s2}]
    group = asm_semantics.read(objects)
    request = ("/", {"x-asm-prefer-tag": "s2"}, None)
    assert asm_semantics.enter(group, *request, ["s2", "s3"]) == {"s2": 100}
    assert asm_semantics.enter(group, *request, ["s3", "s2"]) == {"s3": 100}
    assert enter(design, request[1]).lane == "s3"  # the design: the first rule wins


def test_a_default_is_a_final_catch_all_when_all_rules_share_its_lane():
    design = mock(rules=(header_rule("s2"),)).with_ingress(default="s2")
    rules = lanes_by_name(emit_asm(design))["s2"]["spec"]["ingressRules"]
    assert [r["match"] for r in rules] == [
        {"headers": {"x-asm-prefer-tag": {"exact": "s2"}}}, {"uri": {"prefix": "/"}}]
    assert_same_routing(design, emit_asm(design), all_orders=True)


def test_a_default_behind_a_catch_all_rule_is_never_used_and_not_emitted():
    design = mock(rules=(IngressRule("s2"),)).with_ingress(default="s1")
    rules = lanes_by_name(emit_asm(design))["s2"]["spec"]["ingressRules"]
    assert [r["match"] for r in rules] == [{"uri": {"prefix": "/"}}]
    assert_same_routing(design, emit_asm(design), all_orders=True)


def test_weighted_default_needs_a_catch_all_match():
    weighted = examples.load("mock-weighted")
    assert refusal(weighted.with_ingress(default="s1")) == ("LD610", "spec.ingress.default")
    wide = weighted.with_ingress(default="s1", match=None)
    objects = emit_asm(wide)
    assert objects[0]["spec"]["ingress"]["ingressRouting"]["weightedRoutingRule"][
        "requestMatches"] == [{"uri": {"prefix": "/"}}]
    assert_same_routing(wide, objects, all_orders=True)


def test_rules_of_different_lanes_may_interleave_when_they_exclude_each_other():
    design = mock(rules=(
        IngressRule("s2", RequestMatch(uri=StringMatch("prefix", "/api"))),
        IngressRule("s3", RequestMatch(uri=StringMatch("exact", "/mock"))),
        IngressRule("s2", RequestMatch(headers=(("x-user", StringMatch("regex", "a.*")),),
                                       uri=StringMatch("prefix", "/apix"))),
        IngressRule("s1", RequestMatch(uri=StringMatch("exact", "/zz"))),
    ))
    assert asm_problems(design) == []
    assert_same_routing(design, emit_asm(design), all_orders=True)


@pytest.mark.parametrize(("a", "b"), [
    (StringMatch("prefix", "/a"), StringMatch("prefix", "/ab")),
    (StringMatch("exact", "s2"), StringMatch("regex", "s.*")),
    (StringMatch("regex", "x"), StringMatch("regex", "y")),  # undecided: counted as overlap
    (StringMatch("regex", "x"), StringMatch("prefix", "y")),
])
def test_rules_that_may_overlap_are_refused(a, b):
    design = mock(rules=(IngressRule("s2", RequestMatch(uri=a)),
                         IngressRule("s3", RequestMatch(uri=b))))
    assert refusal(design) == ("LD611", "spec.ingress.rules[1]")


def test_examples_that_asm_cannot_express_say_why():
    refused = {}
    for name in examples.names():
        problems = asm_problems(examples.load(name))
        if problems:
            refused[name] = problems[0].code
    assert refused == {"mock-baggage": "LD610", "mock-ambient": "LD610", "shop": "LD612"}


# -- the emitted objects route as the simulator does ---------------------------------------
def probes(design: LaneDesign, limit: int = 600) -> list[tuple[str, dict[str, str]]]:
    """Requests built from every header name and value the design's matches use."""
    ing = design.ingress
    matches = [ing.match] if ing and ing.strategy == "weighted" else [
        r.match for r in design.effective_rules]
    names = sorted({n for m in matches if m for n, _ in m.headers} | {design.route_header})
    values = [None, *design.lane_names, "alice", "bob", "other", "zz"]
    requests = [
        (path, {n: v for n, v in zip(names, combo) if v is not None})
        for path in PATHS for combo in itertools.product(values, repeat=len(names))
    ]
    return requests if len(requests) <= limit else random.Random(0).sample(requests, limit)


def assert_same_routing(design: LaneDesign, objects: list[dict], all_orders: bool = False,
                        extra_order: list[str] | None = None) -> None:
    """Routing table and gateway decisions of the ASM reading equal the simulator's."""
    group = asm_semantics.read(objects)
    assert asm_semantics.routing_table(group) == routing_table(design)
    names = list(group.lane_names)
    orders = (list(itertools.permutations(names)) if all_orders
              else [names, names[::-1], *([extra_order] if extra_order else [])])
    hosts = [None, *(h for h in design.ingress.hosts if "*" not in h), "elsewhere.example"]
    for (path, headers), host in itertools.product(probes(design), hosts):
        sim = enter(design, headers, path, host, random.Random(0))
        for order in orders:
            got = asm_semantics.enter(group, path, headers, host, order)
            assert (got is None) == (sim.status == 404), (path, headers, host, order)
            if got is None:
                continue
            assert sim.lane in got, (path, headers, host, order)
            if design.ingress.strategy == "weighted":
                assert got == {ln: w for ln, w in design.ingress.weights if w > 0}
            else:
                assert got == {sim.lane: 100}, (path, headers, host, order)


EXPORTABLE = ["mock-weighted", "mock-baggage", "mock-header", "mock-traceid", "shop"]


@pytest.mark.parametrize("name", EXPORTABLE)
def test_examples_route_as_simulated_in_every_lane_order(name):
    design = asm_friendly(examples.load(name))
    assert_same_routing(design, emit_asm(design), all_orders=len(design.lanes) <= 4)


@st.composite
def _header_keyed_rules(draw) -> LaneDesign:
    """A rule-based design whose rules all test the route header: rules of several lanes
    that ASM accepts (exclusive values) and some it refuses (overlapping prefixes, regexes)."""
    design = draw(designs())
    lanes = list(design.lane_names)
    rules = []
    for _ in range(draw(st.integers(0, 5))):
        lane = draw(st.sampled_from(lanes))
        value = draw(st.sampled_from([StringMatch("exact", lane)] * 3 + [None]))
        value = value or draw(string_matches([*lanes, "s"]))
        uri = draw(st.none() | string_matches(["/", "/api", "/mock"]))
        user = draw(st.just(()) | st.tuples(st.tuples(st.just("x-user"),
                                                      string_matches(["alice", "a"]))))
        rules.append(IngressRule(lane, RequestMatch(uri=uri, headers=(
            (design.route_header, value), *user))))
    return design.with_ingress(strategy="rules", rules=tuple(rules), weights=(), match=None)


def _asm_designs() -> st.SearchStrategy[LaneDesign]:
    return (designs() | _header_keyed_rules()).map(asm_friendly).filter(
        lambda d: not asm_problems(d))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(design=designs() | _header_keyed_rules(), data=st.data())
def test_whatever_asm_accepts_routes_as_simulated(design, data):
    try:
        objects = emit_asm(design)
    except TargetError:
        return
    order = data.draw(st.permutations(design.lane_names))
    assert_same_routing(design, objects, extra_order=list(order))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(design=_asm_designs(), data=st.data())
def test_asm_friendly_designs_route_as_simulated(design, data):
    order = data.draw(st.permutations(design.lane_names))
    assert_same_routing(design, emit_asm(design), extra_order=list(order))


# -- round trips ---------------------------------------------------------------------------
def round_trip(design: LaneDesign) -> tuple[list[dict], list[dict], LaneDesign]:
    objects = emit_asm(design)
    loaded = import_asm(dump_manifests(objects))
    assert loaded.design is not None
    assert [f.code for f in loaded.findings] == ["LD705"]
    return objects, emit_asm(loaded.design), loaded.design


@pytest.mark.parametrize("name", EXPORTABLE)
def test_examples_survive_export_import_export(name):
    design = asm_friendly(examples.load(name))
    objects, again, imported = round_trip(design)
    assert again == objects
    assert routing_table(imported) == routing_table(design)
    assert not has_errors(validate(imported))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(design=_asm_designs())
def test_designs_survive_export_import_export(design):
    objects, again, imported = round_trip(design)
    assert again == objects
    assert routing_table(imported) == routing_table(design)
    assert imported.ingress.strategy == design.ingress.strategy
    if any({"ingressRules", "ingressWeight"} & set(o["spec"]) for o in objects[1:]):
        assert not has_errors(validate(imported))
    else:  # no lane takes traffic, so ASM records no entry service (docs/asm.md)
        assert imported.ingress.entry == ""


# -- golden files --------------------------------------------------------------------------
# mock-baggage sets `ingress.default` and is refused (LD610); its golden is of the same design
# without the default, which is what an ASM user would apply.
GOLDEN_DESIGNS = {
    "mock-weighted": lambda: examples.load("mock-weighted"),
    "mock-header": lambda: examples.load("mock-header"),
    "mock-traceid": lambda: examples.load("mock-traceid"),
    "mock-baggage-no-default": lambda: mock("mock-baggage"),
}


@pytest.mark.parametrize("name", sorted(GOLDEN_DESIGNS))
def test_golden_manifests(name):
    text = dump_manifests(emit_asm(GOLDEN_DESIGNS[name]()))
    path = GOLDEN / f"{name}.asm.yaml"
    if os.environ.get("LANEDESIGN_UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} is missing; create it with LANEDESIGN_UPDATE_GOLDEN=1"
    assert path.read_text(encoding="utf-8") == text, (
        f"{path.name} differs; if the change is intended, rerun with "
        "LANEDESIGN_UPDATE_GOLDEN=1 and review the diff")


def test_every_mock_example_has_a_golden_file():
    # an ambient design is the gateway-api target's (its golden file is there)
    mocks = [n for n in examples.names() if n.startswith("mock-") and not examples.load(n).ambient]
    assert all(any(g.startswith(m) for g in GOLDEN_DESIGNS) for m in mocks)


# -- a team's routing as ASM's per-service patches (docs/asm.md, "A team's routing") --------
POLICY = {"connectionPool": {"http": {"http1MaxPendingRequests": 7}},
          "outlierDetection": {"consecutive5xxErrors": 3, "interval": "10s"}}
TEAM_SETTINGS = [
    {"timeout": "3s"},
    {"retries": {"attempts": 2, "perTryTimeout": "1s", "retryOn": "5xx"}},
    {"fault": {"delay": {"fixedDelay": "7s", "percentage": {"value": 100.0}}}},
    {"headers": {"response": {"set": {"x-team": "qa"}}}, "timeout": "5s"},
    {"corsPolicy": {"allowOrigins": [{"exact": "https://a.example"}]}, "mirrorPercentage":
     {"value": 10.0}, "mirror": {"host": "audit.default.svc.cluster.local"}},
]
POLICIES = [POLICY, {"loadBalancer": {"simple": "RANDOM"}},
            {"tls": {"mode": "ISTIO_MUTUAL"}, "portLevelSettings": [
                {"port": {"number": 9080}, "connectionPool": {"tcp": {"maxConnections": 5}}}]}]


def same_label_subsets(design: LaneDesign, service: str) -> tuple[TeamSubset, ...]:
    """The team's subsets for ``service`` as adopted from a DR that names the lanes' own."""
    return tuple(TeamSubset(ln.name, ln.labels) for ln in design.lanes if ln.holds(service))


def bookinfo_asm() -> LaneDesign:
    """Bookinfo with what of a team's routing ASM carries: reviews' settings and policy (and
    its team subsets, which are the lanes' own), ratings' policy and a default that is the
    baseline's subset."""
    from team_routing import bookinfo_lanes, with_routing

    design = bookinfo_lanes().with_ingress(default=None)  # LD610 otherwise: not this test's
    return with_routing(design, {
        "reviews": Routing(settings={"timeout": "3s", "retries": {"attempts": 2}},
                           traffic_policy=POLICY, subsets=same_label_subsets(design, "reviews")),
        "ratings": Routing(default=(RouteDestination("v1"),), traffic_policy=POLICY),
    })


def group_services(objects: list[dict]) -> dict[str, dict]:
    return {s["name"]: s for s in objects[0]["spec"]["services"]}


def test_team_settings_and_policy_become_the_groups_patches():
    design = bookinfo_asm()
    assert not has_errors(validate(design, "asm"))
    objects = emit_asm(design)
    refs = group_services(objects)
    assert refs["reviews"] == {"name": "reviews", "namespace": "default",
                               "trafficPolicyPatch": POLICY,
                               "httpRoutePatch": {"timeout": "3s", "retries": {"attempts": 2}}}
    assert list(refs["reviews"]) == ["name", "namespace", "trafficPolicyPatch",
                                     "httpRoutePatch"]  # the Go type's field order
    assert refs["ratings"] == {"name": "ratings", "namespace": "default",
                               "trafficPolicyPatch": POLICY}
    assert refs["details"] == {"name": "details", "namespace": "default"}
    for lane in objects[1:]:  # the patches are the group's; a lane's references stay bare
        assert all(set(ref) == {"name", "namespace"} for ref in lane["spec"]["services"])
    # the emitter hands out copies: changing the output leaves the design alone
    refs["reviews"]["trafficPolicyPatch"]["connectionPool"]["http"]["x"] = 1
    assert emit_asm(design)[0]["spec"]["services"][2]["trafficPolicyPatch"] == POLICY


def istio_settings(design: LaneDesign) -> dict[str, tuple[list[dict], dict, list[dict]]]:
    """Per service, from the Istio target: each HTTP route's team settings, the DR's
    trafficPolicy, and its subsets' own policies."""
    from lanedesign.emit.istio import emit_istio

    if design.pass_through.method == "traceId":  # Istio cannot (LD601); routes are the same
        design = design.with_method("header")
    out = {}
    for svc in design.services:
        host = f"{svc.name}.{design.namespace_of(svc.name)}.svc.cluster.local"
        (vs,) = [o for o in emit_istio(design) if o["kind"] == "VirtualService"
                 and o["spec"]["hosts"] == [host] and "gateways" not in o["spec"]]
        (dr,) = [o for o in emit_istio(design) if o["kind"] == "DestinationRule"
                 and o["spec"]["host"] == host]
        routes = [{k: r[k] for k in ROUTE_SETTINGS if k in r} for r in vs["spec"].get("http", [])]
        out[svc.name] = (routes, dr["spec"].get("trafficPolicy", {}),
                         [s.get("trafficPolicy", {}) for s in dr["spec"]["subsets"]])
    return out


def patches_disagree(design: LaneDesign, objects: list[dict]) -> list[str]:
    """Where the ASM reading of the patches and the Istio target's objects differ: every
    route of a service carries its settings, every subset its host's policy."""
    group = asm_semantics.read(objects)
    wrong = []
    for name, (routes, policy, subset_policies) in istio_settings(design).items():
        ns = design.namespace_of(name)
        for lane in group.lane_names:
            if any(r != asm_semantics.route_settings(group, name, ns, lane) for r in routes):
                wrong.append(f"{name} routes in lane {lane}")
            if asm_semantics.subset_policy(group, name, ns, lane) != policy:
                wrong.append(f"{name} policy in lane {lane}")
        if any(subset_policies):
            wrong.append(f"{name} has a subset policy")
    return wrong


def test_the_patches_mean_what_the_istio_target_emits():
    design = bookinfo_asm()
    objects = emit_asm(design)
    assert patches_disagree(design, objects) == []
    # the comparison bites: a patch on the wrong service, or a changed value, is caught
    services = objects[0]["spec"]["services"]
    services[3]["httpRoutePatch"] = services[2].pop("httpRoutePatch")
    assert patches_disagree(design, objects) == [f"{s} routes in lane {lane}"
                                                 for s in ("reviews", "ratings")
                                                 for lane in ("v1", "v2", "v3")]


@st.composite
def designs_with_patches(draw) -> LaneDesign:
    """An ASM-accepted design with random settings and policies on some HTTP services."""
    design = draw(_asm_designs())
    for svc in design.services:
        if svc.tcp_only or draw(st.booleans()):
            continue
        routing = Routing(settings=draw(st.sampled_from([{}, *TEAM_SETTINGS])),
                          traffic_policy=draw(st.sampled_from([{}, *POLICIES])),
                          subsets=draw(st.sampled_from([(), same_label_subsets(design,
                                                                               svc.name)])),
                          default=draw(st.sampled_from([(), (RouteDestination(
                              design.baseline),)])) if design.lane(design.baseline)
                          and design.lane(design.baseline).holds(svc.name) else ())
        design = design.with_service(replace(svc, routing=routing))
    assume(not has_errors(validate(design, "asm")))
    return design


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(design=designs_with_patches())
def test_random_patches_round_trip_and_mean_what_istio_emits(design):
    objects, again, imported = round_trip(design)
    assert again == objects
    for svc in design.services:
        got = imported.service(svc.name).routing
        settings_, policy = ((svc.routing.settings, svc.routing.traffic_policy)
                             if svc.routing else ({}, {}))
        assert ((got.settings, got.traffic_policy) if got else ({}, {})) == (settings_, policy)
    assert patches_disagree(design, objects) == []


def test_bookinfo_as_adopted_is_refused_where_asm_has_no_place():
    from team_routing import bookinfo_adopted

    found = [(f.path, f.message) for f in validate(bookinfo_adopted(), "asm")
             if f.code == "LD948"]
    assert [path for path, _ in found] == [
        "spec.services[1].routing.subsets[1]",  # details v2: no lane holds details there
        "spec.services[2].routing.routes[0]",  # reviews: jason -> v2
        "spec.services[2].routing.default",  # reviews: everybody else -> v3
        "spec.services[3].routing.routes[0]",  # ratings: jason's 7 s delay
        "spec.services[3].routing.subsets[1]",  # ratings v2, v2-mysql, v2-mysql-vm
        "spec.services[3].routing.subsets[2]",
        "spec.services[3].routing.subsets[3]",
    ]  # ratings' default (v1, the baseline's subset) and the lanes' own subsets are not
    messages = dict(found)
    assert "team route 0 of reviews (to v2)" in messages["spec.services[2].routing.routes[0]"]
    assert "to v3" in messages["spec.services[2].routing.default"]
    assert "'v2-mysql'" in messages["spec.services[3].routing.subsets[2]"]


def test_a_subsets_own_policy_and_a_weighted_baseline_default_are_refused():
    design = bookinfo_asm()
    reviews = design.service("reviews")
    subsets = tuple(replace(s, traffic_policy={"loadBalancer": {"simple": "RANDOM"}})
                    if s.name == "v2" else s for s in reviews.routing.subsets)
    design = design.with_service(replace(reviews, routing=replace(
        reviews.routing, subsets=subsets, default=(RouteDestination("v1", 100),
                                                   RouteDestination("v3", 0)))))
    assert [(f.code, f.path) for f in asm_problems(design)] == [
        ("LD948", "spec.services[2].routing.default"),
        ("LD948", "spec.services[2].routing.subsets[1].trafficPolicy"),
    ]
    assert refusal(design) == ("LD948", "spec.services[2].routing.default")
