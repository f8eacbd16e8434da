"""Design files: the contract's format loads, saves round-trip, and junk becomes findings."""

from __future__ import annotations

import pytest
import yaml
from conftest import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st

from lanedesign import examples
from lanedesign.designfile import design_to_dict, dump_design, load_design, parse_design

CONTRACT_EXAMPLE = """\
apiVersion: lanedesign/v1alpha1
kind: LaneDesign
metadata:
  name: mock                    # lane group name (DNS-1123 label)
spec:
  namespace: default            # default namespace of services
  mode: loose                   # loose | strict
  routeHeader: x-asm-prefer-tag # the traffic-guiding header
  passThrough:
    method: baggage             # traceId | header | baggage
    traceHeader: my-trace-id    # traceId: required; header: optional, must equal routeHeader
    baggageKey: x-asm-prefer-tag   # baggage: optional, defaults to routeHeader
  baseline: s1
  fallback:                     # optional per-service fallback target: service -> lane
    mockc: s2
  services:
  - name: mocka
    calls: [mockb]              # optional
    namespace: default          # optional, defaults to spec.namespace
    port: 8000                  # optional
    propagates: true            # optional, default true; false: this app drops the context
  - name: mockb
    calls: [mockc]
  - name: mockc
  lanes:
  - name: s1
    labels: {version: v1}       # pod label selector of the lane's workloads
    services: [mocka, mockb, mockc]
  - name: s2
    labels: {version: v2}
    services: [mocka, mockc]
  ingress:
    gateway: istio-system/ingressgateway
    hosts: ["*"]
    entry: mocka                # the service the gateway sends requests to
    strategy: rules             # rules | weighted
    rules:                      # rules: ordered, first match wins; omitted = one rule per lane
    - lane: s2                  #   matching routeHeader exact <lane>
      match:
        uri: {prefix: /}
        headers: {x-user: {exact: alice}}
    match: {uri: {exact: /mock}}   # weighted: the group-wide match
    weights: {s1: 80, s2: 20}      # weighted: per-lane weights, summing to 100
    default: s1                 # optional: lane for unmatched requests; none = 404
"""


def codes(findings) -> list[str]:
    return [f.code for f in findings]


def test_the_contracts_example_loads_with_every_field():
    loaded = parse_design(CONTRACT_EXAMPLE)
    assert codes(loaded.findings) == []
    d = loaded.design
    assert d.name == "mock" and d.namespace == "default" and d.mode == "loose"
    assert d.pass_through.method == "baggage"
    assert d.pass_through.trace_header == "my-trace-id"
    assert d.baggage_key == "x-asm-prefer-tag"
    assert d.fallback_map == {"mockc": "s2"}
    assert d.service("mocka").port == 8000 and d.service("mocka").namespace == "default"
    assert d.service("mockb").namespace is None and d.namespace_of("mockb") == "default"
    assert d.lane("s2").label_map == {"version": "v2"}
    ing = d.ingress
    assert ing.rules[0].match.header_map["x-user"].value == "alice"
    assert ing.match.uri.kind == "exact" and ing.weight_map == {"s1": 80, "s2": 20}
    assert ing.default == "s1" and ing.hosts == ("*",)


@pytest.mark.parametrize("name", examples.names())
def test_examples_round_trip_exactly(name):
    design = examples.load(name)
    text = dump_design(design)
    again = parse_design(text)
    assert again.findings == ()
    assert again.design == design
    assert dump_design(again.design) == text  # stable text: saving twice changes nothing


def test_round_trip_keeps_meaning_of_the_contract_example():
    design = parse_design(CONTRACT_EXAMPLE).design
    assert parse_design(dump_design(design)).design == design


def test_saved_key_order_follows_the_contract():
    data = design_to_dict(examples.load("shop"))
    assert list(data) == ["apiVersion", "kind", "metadata", "spec"]
    assert list(data["spec"]) == ["namespace", "mode", "routeHeader", "passThrough", "baseline",
                                  "fallback", "services", "lanes", "ingress"]
    text = dump_design(examples.load("mock-baggage"))
    assert "calls: [mockb]" in text and "labels: {version: v1}" in text


def test_omitted_rules_stay_omitted_and_empty_rules_stay_empty():
    design = examples.load("mock-header")
    assert design.ingress.rules is None
    assert "rules" not in design_to_dict(design)["spec"]["ingress"]
    empty = design.with_ingress(rules=())
    assert parse_design(dump_design(empty)).design.ingress.rules == ()


@pytest.mark.parametrize(
    ("text", "code", "path"),
    [
        (b"\x00\x01\x02binary", "LD001", ""),
        (b"\xff\xfe not utf8 \xff", "LD001", ""),
        ("spec: [unclosed", "LD001", ""),
        ("", "LD002", ""),
        ("- a\n- b\n", "LD002", ""),
        ("apiVersion: v1\nkind: Pod\n", "LD002", "apiVersion"),
        ("apiVersion: lanedesign/v1alpha1\nkind: LaneDesign\nmetadata: {name: x}\n", "LD003",
         "spec"),
        ("apiVersion: lanedesign/v1alpha1\nkind: LaneDesign\nmetadata: {name: x}\nspec: 3\n",
         "LD004", "spec"),
    ],
)
def test_unreadable_text_is_a_finding(text, code, path):
    loaded = parse_design(text)
    assert loaded.design is None
    assert [(f.code, f.path) for f in loaded.findings] == [(code, path)]


def design_text(spec: str) -> str:
    return ("apiVersion: lanedesign/v1alpha1\nkind: LaneDesign\nmetadata: {name: x}\nspec:\n"
            + "".join(f"  {line}\n" for line in spec.splitlines()))


@pytest.mark.parametrize(
    ("spec", "code", "path"),
    [
        ("services: {a: 1}\nlanes: []", "LD004", "spec.services"),
        ("services: [a]\nlanes: []", "LD004", "spec.services[0]"),
        ("services: [{name: a, calls: b}]\nlanes: []", "LD004", "spec.services[0].calls"),
        ("services: [{name: a, port: 0}]\nlanes: []", "LD006", "spec.services[0].port"),
        ("services: [{name: a, port: '80'}]\nlanes: []", "LD004", "spec.services[0].port"),
        ("services: [{name: a, propagates: 'no'}]\nlanes: []", "LD004",
         "spec.services[0].propagates"),
        ("services: []\nlanes: [{name: s1, labels: {version: 1}}]", "LD004",
         "spec.lanes[0].labels.version"),
        ("services: []\nlanes: []\nmode: lax", "LD006", "spec.mode"),
        ("services: []\nlanes: []\npassThrough: {method: carrier-pigeon}", "LD006",
         "spec.passThrough.method"),
        ("services: []\nlanes: []\nsevrices: []", "LD005", "spec.sevrices"),
        ("services: []\nlanes: []\ningress: {strategy: rules, rules: [{lane: s1, match: "
         "{uri: {exact: /a, prefix: /b}}}]}", "LD006", "spec.ingress.rules[0].match.uri"),
        ("services: []\nlanes: []\ningress: {weights: {s1: ten}}", "LD004",
         "spec.ingress.weights.s1"),
        ("services: []\nlanes: []\ningress: {hosts: '*'}", "LD004", "spec.ingress.hosts"),
        ("lanes: []", "LD003", "spec.services"),
    ],
)
def test_wrong_shapes_are_findings_with_paths(spec, code, path):
    loaded = parse_design(design_text(spec))
    assert loaded.design is not None
    assert (code, path) in [(f.code, f.path) for f in loaded.findings]


def test_missing_file_is_a_finding(tmp_path):
    loaded = load_design(tmp_path / "nope.yaml")
    assert loaded.design is None and codes(loaded.findings) == ["LD007"]
    assert codes(load_design(tmp_path).findings) == ["LD007"]  # a directory


def test_yaml_anchors_and_deep_nesting_do_not_crash():
    deep = "[" * 5000 + "]" * 5000
    assert codes(parse_design(deep).findings) in (["LD001"], ["LD002"])
    bomb = "a: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\nspec: *c\n"
    assert parse_design(bomb).design is None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_never_raise(data):
    loaded = parse_design(data)
    assert loaded.design is not None or loaded.findings


yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 200) | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["name", "services", "lanes", "calls", "labels", "ingress", "rules",
                         "match", "uri", "headers", "exact", "weights", "lane", "port",
                         "propagates", "baseline", "mode", "passThrough", "method", "x"]),
        inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(yaml_values)
def test_random_structures_in_a_design_never_raise(spec):
    from lanedesign.validate import validate

    text = yaml.safe_dump({"apiVersion": "lanedesign/v1alpha1", "kind": "LaneDesign",
                           "metadata": {"name": "fuzz"}, "spec": spec})
    loaded = parse_design(text)
    if loaded.design is not None:
        validate(loaded.design)  # must not raise on whatever was read
        dump_design(loaded.design)


def test_examples_folder_is_the_packaged_examples():
    assert sorted(p.stem for p in (ROOT / "examples").glob("*.yaml")) == examples.names()
    assert len(examples.names()) >= 5


def test_a_service_selector_loads_saves_and_reports_wrong_types():
    text = dump_design(examples.load("mock-header")).replace(
        "  - name: mockb\n",
        "  - name: mockb\n    selector: {app.kubernetes.io/name: mockb, tier: web}\n")
    loaded = parse_design(text)
    assert loaded.findings == ()
    service = loaded.design.service("mockb")
    assert service.selector_map == {"app.kubernetes.io/name": "mockb", "tier": "web"}
    assert loaded.design.service("mocka").selector is None  # the default, app: mocka
    assert "selector: {app.kubernetes.io/name: mockb, tier: web}" in dump_design(loaded.design)
    assert parse_design(dump_design(loaded.design)).design == loaded.design
    empty = parse_design(text.replace("{app.kubernetes.io/name: mockb, tier: web}", "{}"))
    assert empty.design.service("mockb").selector == ()  # kept, so the validator says LD108
    wrong = parse_design(text.replace("{app.kubernetes.io/name: mockb, tier: web}", "[a]"))
    assert [(f.code, f.path) for f in wrong.findings] == [("LD004", "spec.services[1].selector")]
    number = parse_design(text.replace("tier: web}", "tier: 3}"))
    assert [(f.code, f.path) for f in number.findings] == [
        ("LD004", "spec.services[1].selector.tier")]
