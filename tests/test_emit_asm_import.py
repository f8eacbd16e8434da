"""Reading ASM YAML into designs: the documentation's examples, and bad input as findings."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from lanedesign.codec import dump_manifests
from lanedesign.emit.asm import emit_asm, import_asm
from lanedesign.findings import CATALOGUE, has_errors
from lanedesign.model import PassThrough, RequestMatch, StringMatch
from lanedesign.simulate import simulate
from lanedesign.validate import validate

FIXTURES = Path(__file__).parent / "fixtures" / "asm"
DOC_EXAMPLES = ["a-traceid", "b-header", "c-baggage-weighted"]


def fixture(name: str) -> str:
    return (FIXTURES / f"{name}.yaml").read_text(encoding="utf-8")


def objects(name: str) -> list[dict]:
    return list(yaml.safe_load_all(fixture(name)))


def codes(text: str | bytes, group: str | None = None) -> list[str]:
    return [f.code for f in import_asm(text, group).findings]


def edited(name: str, edit) -> str:
    """The fixture's YAML after ``edit(objects)`` changed its parsed objects in place."""
    docs = objects(name)
    edit(docs)
    return yaml.safe_dump_all(docs, sort_keys=False)


# -- the documentation's examples (asm-lanes.md §1.4) --------------------------------------
def test_trace_id_example():
    loaded = import_asm(fixture("a-traceid"))
    design = loaded.design
    assert [f.code for f in loaded.findings] == ["LD705"]
    assert (design.name, design.mode, design.route_header, design.baseline) == (
        "test", "loose", "x-asm-prefer-tag", "s1")
    assert design.pass_through == PassThrough("traceId", trace_header="my-trace-id")
    assert [(ln.name, ln.label_map, ln.services) for ln in design.lanes] == [
        ("s1", {"ASM_TRAFFIC_TAG": "v1"}, ("mocka", "mockb", "mockc")),
        ("s2", {"ASM_TRAFFIC_TAG": "v2"}, ("mocka", "mockc")),
        ("s3", {"ASM_TRAFFIC_TAG": "v3"}, ("mockb",)),
    ]
    assert design.namespace == "default"
    assert [(s.name, s.namespace, s.calls) for s in design.services] == [
        ("mocka", None, ()), ("mockb", None, ()), ("mockc", None, ())]
    ing = design.ingress
    assert (ing.gateway, ing.hosts, ing.entry, ing.strategy, ing.default) == (
        "istio-system/ingressgateway", ("*",), "mocka", "rules", None)
    assert [(r.lane, r.match) for r in ing.rules] == [
        (lane, RequestMatch(uri=StringMatch("exact", "/mock"),
                            headers=(("x-asm-prefer-tag", StringMatch("exact", lane)),)))
        for lane in ("s1", "s2", "s3")]
    assert not has_errors(validate(design))


def test_header_example_uses_one_header_for_both_jobs():
    design = import_asm(fixture("b-header")).design
    assert design.pass_through == PassThrough("header")
    assert design.route_header == "my-trace-id"
    assert design.ingress.rules[1].match.header_map == {"my-trace-id": StringMatch("exact", "s2")}
    assert not has_errors(validate(design))


def test_weighted_baggage_example():
    design = import_asm(fixture("c-baggage-weighted")).design
    assert design.pass_through == PassThrough("baggage")
    ing = design.ingress
    assert (ing.strategy, ing.match, ing.weights, ing.entry) == (
        "weighted", RequestMatch(uri=StringMatch("exact", "/mock")),
        (("s1", 60), ("s2", 20), ("s3", 20)), "mocka")
    assert not has_errors(validate(design))


@pytest.mark.parametrize("name", DOC_EXAMPLES)
def test_doc_examples_with_calls_give_the_documented_chains(name):
    """asm-lanes.md §4 T1: s2 falls back at mockb, s3 at mocka and mockc."""
    design = import_asm(fixture(name)).design
    design = design.with_calls("mocka", ["mockb"]).with_calls("mockb", ["mockc"])
    header = design.route_header
    chains = {lane: [(h.service, h.lane) for h in simulate(design, {header: lane},
                                                          path="/mock", lane=lane).hops]
              for lane in ("s1", "s2", "s3")}
    assert chains == {
        "s1": [("mocka", "s1"), ("mockb", "s1"), ("mockc", "s1")],
        "s2": [("mocka", "s2"), ("mockb", "s1"), ("mockc", "s2")],
        "s3": [("mocka", "s1"), ("mockb", "s3"), ("mockc", "s1")],
    }


def semantic(objs: list[dict]) -> list[dict]:
    """Objects without what does not change their meaning: lanedesign's own labels and the
    rule-based strategy spelled out (ASM's default)."""
    out = yaml.safe_load(yaml.safe_dump(objs))
    for obj in out:
        labels = obj["metadata"].get("labels", {})
        for key in ("app.kubernetes.io/managed-by", "lanedesign.io/group"):
            labels.pop(key, None)
        if not labels:
            obj["metadata"].pop("labels", None)
        ingress = obj["spec"].get("ingress")
        if ingress is not None:
            ingress.setdefault("ingressRouting", {"ingressRoutingStrategy": "rule_based"})
    return out


@pytest.mark.parametrize("name", DOC_EXAMPLES)
def test_doc_examples_survive_import_and_export(name):
    exported = emit_asm(import_asm(fixture(name)).design)
    assert semantic(exported) == semantic(objects(name))


# -- bad input: findings, never a traceback ------------------------------------------------
def _two_groups(docs):
    second = yaml.safe_load(yaml.safe_dump(docs[0]))
    second["metadata"]["name"] = "other"
    docs.append(second)


def _set(path: str, value):
    """An edit that sets ``docs[i].a.b[2].c`` (the first key is the document index)."""
    def edit(docs):
        keys = [int(k) if k.isdigit() else k for k in path.split(".")]
        target = docs
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
    return edit


def _delete(path: str):
    def edit(docs):
        *keys, last = [int(k) if k.isdigit() else k for k in path.split(".")]
        target = docs
        for key in keys:
            target = target[key]
        del target[last]
    return edit


BAD_INPUT = {
    "LD701": ("a-traceid", _delete("0")),
    "LD702": ("a-traceid", _two_groups),
    "LD703": ("a-traceid", _set("1.metadata.labels.swimlane-group", "nope")),
    "LD704": ("a-traceid", lambda docs: docs.append(
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "mocka"}})),
    "LD706": ("a-traceid", _set("0.spec.services.0.cluster", {"name": "c1", "id": "c123"})),
    "LD707": ("a-traceid", _set("2.spec.ingressRules.0.route.destination.host",
                                "mockb.default.svc.cluster.local")),
    "LD708": ("a-traceid", _set("3.spec.ingressRules.0.online", False)),
    "LD709": ("a-traceid", _set("2.spec.services.1.namespace", "elsewhere")),
}


def test_every_import_code_has_a_case():
    assert set(BAD_INPUT) | {"LD705"} == {c for c in CATALOGUE if c.startswith("LD70")}


@pytest.mark.parametrize("code", sorted(BAD_INPUT))
def test_import_codes(code):
    name, edit = BAD_INPUT[code]
    assert code in codes(edited(name, edit))


@pytest.mark.parametrize(("text", "expected"), [
    (b"\x00\x01binary", ["LD001"]),
    ("key: [unclosed", ["LD001"]),
    ("", ["LD701"]),
    ("just a string", ["LD704", "LD701"]),
    ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n", ["LD704", "LD701"]),
    ("apiVersion: istio.alibabacloud.com/v1\nkind: ASMSwimLaneGroup\n", ["LD003", "LD701"]),
])
def test_junk_is_findings(text, expected):
    loaded = import_asm(text)
    assert loaded.design is None
    assert [f.code for f in loaded.findings] == expected


def test_several_groups_need_a_choice():
    text = edited("a-traceid", _two_groups)
    assert import_asm(text).design is None
    assert import_asm(text, "test").design.name == "test"
    other = import_asm(text, "other")
    assert other.design.name == "other" and other.design.lanes == ()  # its lanes: none
    assert codes(text, "nope") == ["LD701"]


@pytest.mark.parametrize(("path", "value", "code"), [
    ("0.spec.isPermissive", "yes", "LD004"),
    ("0.spec.services", "mocka", "LD004"),
    ("1.spec.ingressRules.0.route.destination.portNum", "80", "LD004"),
    ("1.spec.labelSelector", ["v1"], "LD004"),
    ("0.spec.colour", "blue", "LD005"),
    ("1.spec.ingressRules.0.match.uri", {"exact": "/a", "prefix": "/b"}, "LD006"),
    ("0.spec.ingress.ingressRouting", {"ingressRoutingStrategy": "random"}, "LD006"),
    ("0.spec.ingress.gateway.type", "ingress", "LD707"),
    ("0.spec.defaultHttpRoutePatch", {"timeout": "3s"}, "LD706"),
    ("0.spec.services.0.httpRoutePatch", {"match": [{"uri": {"prefix": "/"}}]}, "LD706"),
    ("0.spec.services.0.trafficPolicyPatch", "LEAST_REQUEST", "LD004"),
    ("1.spec.services.0.httpRoutePatch", {"timeout": "3s"}, "LD706"),
    ("1.spec.ingressRules.0.hosts", ["shop.example.com"], "LD707"),
    ("1.spec.ingressWeight", {"weight": 10}, "LD507"),
    ("0.spec.permissiveModeConfiguration.serviceLevelFallbackTarget", {"default/nope": "s1"},
     "LD709"),
])
def test_wrong_fields_are_reported_where_they_are(path, value, code):
    loaded = import_asm(edited("a-traceid", _set(path, value)))
    assert code in [f.code for f in loaded.findings]
    assert loaded.design is not None  # the rest was still read


def test_permissive_mode_needs_both_headers():
    loaded = import_asm(edited("a-traceid", _delete("0.spec.permissiveModeConfiguration"
                                                   ".routeHeader")))
    assert [(f.code, f.path) for f in loaded.findings if f.code == "LD003"] == [
        ("LD003", "ASMSwimLaneGroup/test.spec.permissiveModeConfiguration.routeHeader")]


def test_weighted_groups_with_several_matches_keep_the_first():
    text = edited("c-baggage-weighted", _set(
        "0.spec.ingress.ingressRouting.weightedRoutingRule.requestMatches",
        [{"uri": {"exact": "/mock"}}, {"uri": {"prefix": "/api"}}]))
    loaded = import_asm(text)
    assert [f.path for f in loaded.findings if f.code == "LD707"] == [
        "ASMSwimLaneGroup/test.spec.ingress.ingressRouting.weightedRoutingRule.requestMatches[1]"]
    assert loaded.design.ingress.match == RequestMatch(uri=StringMatch("exact", "/mock"))


def test_offline_rules_are_left_out():
    design = import_asm(edited("a-traceid", _set("2.spec.ingressRules.0.online", False))).design
    assert [r.lane for r in design.ingress.rules] == ["s1", "s3"]


# -- ASM spellings -------------------------------------------------------------------------
def test_kubectl_list_output_is_read():
    text = yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": objects("a-traceid")})
    loaded = import_asm(text)
    assert [f.code for f in loaded.findings] == ["LD705"]
    assert loaded.design.lane_names == ("s1", "s2", "s3")


def test_go_zero_values_mean_absent():
    """An empty uri StringMatch and an omitted weight are what Go's omitempty writes."""
    text = edited("a-traceid", _set("1.spec.ingressRules.0.match.uri", {}))
    assert import_asm(text).design.ingress.rules[0].match.uri is None
    text = edited("c-baggage-weighted", _delete("3.spec.ingressWeight.weight"))
    assert import_asm(text).design.ingress.weight_map["s3"] == 0


def test_strict_group_without_fallback_target():
    def strict(docs):
        del docs[0]["spec"]["permissiveModeConfiguration"]
        docs[0]["spec"]["isPermissive"] = False
        for lane in docs[1:]:
            lane["spec"]["services"] = docs[0]["spec"]["services"]
    design = import_asm(edited("a-traceid", strict)).design
    assert (design.mode, design.baseline) == ("strict", "s1")
    assert design.pass_through == PassThrough()  # ASM strict mode needs no propagation
    assert not has_errors(validate(design))


def test_services_keep_their_namespaces_and_fallbacks():
    def spread(docs):
        docs[0]["spec"]["services"][2]["namespace"] = "payments"
        for lane in docs[1:]:
            for ref in lane["spec"]["services"]:
                if ref["name"] == "mockc":
                    ref["namespace"] = "payments"
        docs[0]["spec"]["permissiveModeConfiguration"]["serviceLevelFallbackTarget"] = {
            "payments/mockc": "s2"}
        docs[0]["spec"]["ingress"]["ingressRouting"] = {"ingressRoutingStrategy": "rule-based"}
    loaded = import_asm(edited("a-traceid", spread))
    design = loaded.design
    assert [f.code for f in loaded.findings] == ["LD705"]
    assert design.namespace == "default"
    assert design.namespace_of("mockc") == "payments"
    assert design.fallback == (("mockc", "s2"),)
    assert emit_asm(design)[0]["spec"]["permissiveModeConfiguration"][
        "serviceLevelFallbackTarget"] == {"payments/mockc": "s2"}


def test_baseline_defaults_to_the_lane_holding_every_service():
    text = edited("a-traceid", _delete("0.spec.permissiveModeConfiguration.fallbackTarget"))
    text = text.replace("name: s1\n", "name: base\n")  # not the first lane by name order
    docs = list(yaml.safe_load_all(text))
    docs[1], docs[3] = docs[3], docs[1]  # s3 first, the full lane last
    design = import_asm(yaml.safe_dump_all(docs)).design
    assert design.lane_names[-1] == "base" and design.baseline == "base"


# -- robustness ----------------------------------------------------------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3),
    max_leaves=8)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _paths(item, (*prefix, i))


@settings(max_examples=300, deadline=None)
@given(data=st.data(), name=st.sampled_from(DOC_EXAMPLES))
def test_any_damage_gives_findings_not_exceptions(data, name):
    docs = objects(name)
    for _ in range(data.draw(st.integers(1, 3))):
        paths = [p for p in _paths(docs) if p]
        path = data.draw(st.sampled_from(paths))
        target = docs
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = data.draw(json_values)
    loaded = import_asm(yaml.safe_dump_all(docs))
    assert all(f.code in CATALOGUE for f in loaded.findings)
    if loaded.design is not None:
        validate(loaded.design)
        emit_or_refuse(loaded.design)


def emit_or_refuse(design) -> None:
    from lanedesign.emit import TargetError

    if has_errors(validate(design)):
        return  # the CLI never exports a design with errors
    try:
        dump_manifests(emit_asm(design))
    except TargetError as exc:
        assert exc.finding.code in CATALOGUE


# -- a service's patches: its team's settings and traffic policy (docs/asm.md) -------------
def test_a_group_services_patches_become_its_routing():
    policy = {"outlierDetection": {"consecutive5xxErrors": 3}}
    text = edited("a-traceid", lambda docs: docs[0]["spec"]["services"][1].update(
        trafficPolicyPatch=policy, httpRoutePatch={"timeout": "3s", "route": []}))
    loaded = import_asm(text)
    assert [(f.code, f.path) for f in loaded.findings] == [
        ("LD706", "ASMSwimLaneGroup/test.spec.services[1].httpRoutePatch.route"),
        ("LD705", "ASMSwimLaneGroup/test.spec.services")]
    design = loaded.design
    routing = design.service("mockb").routing
    assert (routing.settings, routing.traffic_policy) == ({"timeout": "3s"}, policy)
    assert design.service("mocka").routing is None
    assert not has_errors(validate(design, "asm"))
    # export keeps what the design holds: the policy and the timeout, not the dropped field
    ref = emit_asm(design)[0]["spec"]["services"][1]
    assert ref == {"name": "mockb", "namespace": "default", "trafficPolicyPatch": policy,
                   "httpRoutePatch": {"timeout": "3s"}}


def test_empty_patches_are_no_routing():
    text = edited("a-traceid", lambda docs: docs[0]["spec"]["services"][0].update(
        trafficPolicyPatch={}, httpRoutePatch={}))
    loaded = import_asm(text)
    assert [f.code for f in loaded.findings] == ["LD705"]
    assert loaded.design.service("mocka").routing is None
