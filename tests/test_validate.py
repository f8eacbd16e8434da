"""Every validator code: a design that triggers it, and the clean examples that do not."""

from __future__ import annotations

from dataclasses import replace

import pytest
from conftest import ROOT

from lanedesign import examples
from lanedesign.designfile import dump_design, parse_design
from lanedesign.findings import CATALOGUE, catalogue_markdown
from lanedesign.model import IngressRule, Lane, RequestMatch, Service, ServicePort, StringMatch
from lanedesign.validate import validate

MOCK = examples.load("mock-baggage")
SHOP = examples.load("shop")


def header_rule(lane: str, value: str | None = None, header: str = "x-asm-prefer-tag"):
    return IngressRule(lane, RequestMatch(headers=((header, StringMatch("exact", value or lane)),)))


def lane_edit(design, name, **changes):
    return design.with_lane(replace(design.lane(name), **changes))


def svc_edit(design, name, **changes):
    return design.with_service(replace(design.service(name), **changes))


# (code, design that triggers it, expected path); designs are built from the clean mock example
TRIGGERS = {
    "LD101": (MOCK.rename_lane("s2", "S_2"), "spec.lanes[1].name"),
    "LD102": (MOCK.with_(route_header="X-Lane"), "spec.routeHeader"),
    "LD103": (lane_edit(MOCK, "s2", labels={"version": "v2*"}), "spec.lanes[1].labels.version"),
    "LD104": (MOCK.with_(lanes=(*MOCK.lanes, Lane("s2", {"version": "v9"}, ["mocka"]))),
              "spec.lanes[3].name"),
    "LD105": (MOCK.with_pass_through(baggage_key="lane key"), "spec.passThrough.baggageKey"),
    "LD106": (MOCK.with_ingress(gateway="istio-system/Ingress_GW"), "spec.ingress.gateway"),
    "LD107": (svc_edit(MOCK, "mockb", selector={"app": "mock b"}),
              "spec.services[1].selector.app"),
    "LD108": (svc_edit(MOCK, "mockb", selector={}), "spec.services[1].selector"),
    "LD109": (svc_edit(MOCK, "mockb", selector={"app": "mockb", "version": "v1"}),
              "spec.services[1].selector.version"),  # lane s3 holds mockb with version v3
    "LD110": (svc_edit(MOCK, "mockb", ports=[ServicePort(80, "http"), ServicePort(81, "http")]),
              "spec.services[1].ports[1].name"),
    "LD111": (svc_edit(MOCK, "mockb", port=90, ports=[ServicePort(80, "http")]),
              "spec.services[1].port"),
    "LD112": (svc_edit(MOCK, "mockb", ports=[ServicePort(80, "http"),
                                             ServicePort(53, "dns", transport="UDP")]),
              "spec.services[1].ports[1]"),
    "LD213": (svc_edit(MOCK, "mockb", ports=[ServicePort(6379, "tcp-redis")]),
              "spec.lanes[2].services"),  # lane s3 holds mockb
    "LD201": (MOCK.with_(baseline="s9"), "spec.baseline"),
    "LD202": (lane_edit(MOCK, "s1", services=["mocka", "mockb"]), "spec.lanes[0].services"),
    "LD203": (MOCK.with_(mode="strict"), "spec.lanes[1].services"),
    "LD204": (lane_edit(MOCK, "s3", labels={"version": "v2"}), "spec.lanes[2].labels"),
    "LD205": (lane_edit(MOCK, "s3", services=["mockb", "mockz"]), "spec.lanes[2].services[1]"),
    "LD206": (MOCK.with_fallback("mockb", "s2"), "spec.fallback.mockb"),
    "LD207": (MOCK.with_fallback("mockz", "s1"), "spec.fallback.mockz"),
    "LD208": (MOCK.with_fallback("mockb", "s9"), "spec.fallback.mockb"),
    "LD209": (lane_edit(MOCK, "s3", labels={}), "spec.lanes[2].labels"),
    "LD210": (lane_edit(MOCK, "s2", services=["mocka", "mockc", "mocka"]),
              "spec.lanes[1].services[2]"),
    "LD211": (SHOP.with_(mode="strict"), "spec.fallback"),
    "LD212": (lane_edit(MOCK, "s3", services=[]), "spec.lanes[2].services"),
    "LD301": (MOCK.with_pass_through(method="header", trace_header="my-trace-id",
                                     baggage_key=None), "spec.passThrough.traceHeader"),
    "LD302": (MOCK.with_(route_header="baggage"), "spec.routeHeader"),
    "LD303": (MOCK.with_pass_through(method="traceId", baggage_key=None),
              "spec.passThrough.traceHeader"),
    "LD304": (MOCK.with_pass_through(method="traceId", trace_header="x-asm-prefer-tag",
                                     baggage_key=None), "spec.passThrough.traceHeader"),
    "LD305": (MOCK.with_pass_through(method="header"), "spec.passThrough.baggageKey"),
    "LD401": (MOCK.with_calls("mockc", ["mockq"]), "spec.services[2].calls[0]"),
    "LD402": (MOCK.with_calls("mockc", ["mocka"]), "spec.services[2].calls[0]"),
    "LD403": (svc_edit(MOCK, "mockb", propagates=False), "spec.services[1].propagates"),
    "LD404": (MOCK.with_calls("mocka", []), "spec.services[1]"),
    "LD405": (MOCK.with_lane_calls("mockb", "s2", ["mockc"]), "spec.services[1].laneCalls.s2"),
    "LD406": (svc_edit(MOCK, "mockb", forwards=["x-request-id", "end-user"]),
              "spec.services[1].forwards"),
    "LD501": (MOCK.with_ingress(entry="mockz"), "spec.ingress.entry"),
    "LD502": (MOCK.with_ingress(rules=(header_rule("s2"), header_rule("s7"))),
              "spec.ingress.rules[1].lane"),
    "LD503": (MOCK.with_ingress(rules=(IngressRule("s1"), header_rule("s2"))),
              "spec.ingress.rules[1]"),
    "LD504": (examples.load("mock-weighted").with_ingress(
        weights=(("s1", 50), ("s2", 20), ("s3", 20))), "spec.ingress.weights"),
    "LD505": (examples.load("mock-weighted").with_ingress(
        weights=(("s1", 90), ("s2", 20), ("s3", -10))), "spec.ingress.weights.s3"),
    "LD506": (MOCK.with_ingress(rules=(
        IngressRule("s2", RequestMatch(uri=StringMatch("regex", "/api/(v1"))),
    )), "spec.ingress.rules[0].match.uri.regex"),
    "LD507": (MOCK.with_ingress(weights=(("s1", 100),)), "spec.ingress.weights"),
    "LD508": (MOCK.with_ingress(strategy="weighted", rules=None), "spec.ingress.weights"),
    "LD509": (MOCK.with_ingress(rules=(header_rule("s2"),), default=None), "spec.lanes[0]"),
    "LD510": (MOCK.with_ingress(hosts=("shop example.com",)), "spec.ingress.hosts[0]"),
    "LD511": (MOCK.with_ingress(default=None), "spec.ingress.default"),
}
# codes the design-file reader emits (it parses text, so these are triggered from text)
READER_CODES = {"LD001", "LD002", "LD003", "LD004", "LD005", "LD006", "LD007"}
TARGET_CODES = {"LD601", "LD602"}


def codes(findings) -> set[str]:
    return {f.code for f in findings}


@pytest.mark.parametrize("name", ["mock-baggage", "mock-header", "mock-weighted", "shop"])
def test_clean_examples_have_no_errors_or_warnings(name):
    findings = validate(examples.load(name), target="istio")
    assert [f for f in findings if f.severity != "info"] == []


@pytest.mark.parametrize("code", sorted(TRIGGERS))
def test_code_is_triggered_where_expected(code):
    design, path = TRIGGERS[code]
    findings = validate(design)
    hits = [f for f in findings if f.code == code]
    assert hits, f"{code} not raised; got {[str(f) for f in findings]}"
    assert path in [f.path for f in hits]
    info = CATALOGUE[code]
    assert all(f.severity == info.severity and f.hint and f.message for f in hits)
    # the clean base design does not raise it
    assert code not in codes(validate(MOCK))


def test_every_catalogue_code_has_a_test():
    tested = set(TRIGGERS) | READER_CODES | TARGET_CODES
    # target codes (LD6xx) and import codes (LD7xx) are triggered by the emitters' tests
    elsewhere = "".join(p.read_text() for p in (ROOT / "tests").glob("test_*.py")
                        if p.name != "test_validate.py")
    missing = [c for c in CATALOGUE if c not in tested and f'"{c}"' not in elsewhere]
    assert missing == []
    assert tested <= set(CATALOGUE)


def test_traceid_cannot_target_istio_but_can_target_asm():
    design = examples.load("mock-traceid")
    assert "LD601" in codes(validate(design, target="istio"))
    assert "LD601" not in codes(validate(design, target="asm"))
    assert "LD601" not in codes(validate(MOCK, target="istio"))


def test_the_baggage_method_on_istio_predicts_istios_envoyfilter_warning():
    # the warning itself is checked against istioctl in test_emit_istio_istioctl.py
    (hit,) = [f for f in validate(MOCK, target="istio") if f.code == "LD602"]
    assert (hit.severity, hit.path) == ("info", "spec.passThrough.method")
    assert "LD602" not in codes(validate(MOCK, target="asm"))
    assert "LD602" not in codes(validate(MOCK))
    assert "LD602" not in codes(validate(examples.load("mock-header"), target="istio"))


def test_header_method_accepts_equal_or_absent_trace_header():
    assert "LD301" not in codes(validate(examples.load("mock-header")))
    design = examples.load("mock-header").with_pass_through(trace_header=None)
    assert "LD301" not in codes(validate(design))


@pytest.mark.parametrize("header", ["traceparent", "x-b3-traceid", ":path", "host"])
def test_reserved_route_headers(header):
    assert "LD302" in codes(validate(MOCK.with_(route_header=header)))


def test_trace_id_equal_to_route_header_when_trace_header_is_the_trace_id():
    design = MOCK.with_(route_header="x-lane").with_pass_through(
        method="traceId", trace_header="x-b3-traceid", baggage_key=None)
    assert codes(validate(design)) & {"LD302", "LD303", "LD304"} == set()


def test_service_names_must_be_dns1035():
    design = MOCK.rename_service("mockc", "9mock")
    hits = [f for f in validate(design) if f.code == "LD101"]
    assert [f.path for f in hits] == ["spec.services[2].name"]


def test_shadowing_is_semantic_not_textual():
    regex_any = IngressRule("s1", RequestMatch(headers=(
        ("x-asm-prefer-tag", StringMatch("regex", "s.*")),)))
    prefix_api = IngressRule("s1", RequestMatch(uri=StringMatch("prefix", "/api")))
    narrower = IngressRule("s2", RequestMatch(
        uri=StringMatch("exact", "/api/x"), headers=(("x-asm-prefer-tag",
                                                       StringMatch("exact", "s2")),)))
    other_header = IngressRule("s2", RequestMatch(headers=(("x-user",
                                                            StringMatch("exact", "a")),)))
    assert "LD503" in codes(validate(MOCK.with_ingress(rules=(regex_any, header_rule("s2")))))
    assert "LD503" in codes(validate(MOCK.with_ingress(rules=(prefix_api, narrower))))
    assert "LD503" not in codes(validate(MOCK.with_ingress(rules=(prefix_api, other_header))))
    assert "LD503" not in codes(validate(MOCK.with_ingress(rules=(narrower, prefix_api))))


@pytest.mark.parametrize("regex", ["", "a" * 1025, "(?<=x)y", "[z-a]"])
def test_invalid_regexes(regex):
    rule = IngressRule("s2", RequestMatch(headers=(("x-user", StringMatch("regex", regex)),)))
    assert "LD506" in codes(validate(MOCK.with_ingress(rules=(rule,))))


def test_missing_ingress_is_an_error():
    hits = [f for f in validate(MOCK.with_(ingress=None)) if f.code == "LD501"]
    assert [f.path for f in hits] == ["spec.ingress"]


def test_empty_design_reports_without_raising():
    from lanedesign.model import LaneDesign

    findings = validate(LaneDesign(name=""))
    assert {"LD003", "LD201", "LD501"} <= codes(findings)


def test_validate_survives_nonsense_values():
    design = MOCK.with_(
        services=(Service(""), Service("a", calls=("a", "", "zz"))),
        lanes=(Lane("", (), ()), Lane("x", (("", ""),), ("a", "a"))),
        baseline="x", mode="nonsense",
    )
    findings = validate(design)
    assert {"LD003", "LD402", "LD401", "LD103"} <= codes(findings)


def test_findings_doc_is_in_step_with_the_catalogue():
    assert (ROOT / "docs" / "findings.md").read_text() == catalogue_markdown()


def test_saved_design_keeps_its_findings():
    design = TRIGGERS["LD206"][0]
    again = parse_design(dump_design(design)).design
    assert codes(validate(again)) == codes(validate(design))


def test_fallback_checks_the_first_lane_of_a_duplicated_name():
    # s2 lacks mockb; a second lane also named s2 holds it, but routing uses the first
    design = MOCK.with_(lanes=(*MOCK.lanes, Lane("s2", {"version": "v9"}, ["mockb"])))
    findings = validate(design.with_fallback("mockb", "s2"))
    assert [f.path for f in findings if f.code == "LD206"] == ["spec.fallback.mockb"]
    assert "LD206" not in codes(validate(design.with_fallback("mockb", "s3")))


def test_lane_members_unknown_and_repeated_together():
    design = lane_edit(MOCK, "s2", services=["mocka", "mockz", "mocka", "mockz"])
    found = [(f.code, f.path) for f in validate(design) if f.code in ("LD205", "LD210")]
    assert found == [("LD205", "spec.lanes[1].services[1]"), ("LD210", "spec.lanes[1].services[2]"),
                     ("LD205", "spec.lanes[1].services[3]")]


def test_a_selector_without_lane_keys_is_clean_and_the_default_is_app_name():
    design = svc_edit(MOCK, "mockb", selector={"app.kubernetes.io/name": "mockb", "tier": "x"})
    assert not codes(validate(design)) & {"LD107", "LD108", "LD109"}
    assert MOCK.service("mockb").selector_map == {"app": "mockb"}
    # a lane that does not hold the service may use the selector's key differently
    design = svc_edit(MOCK, "mockc", selector={"app": "mockc", "version": "v1"})
    assert "LD109" in codes(validate(design))  # s2 holds mockc with version v2


def test_a_tcp_service_only_in_the_baseline_is_fine():
    design = svc_edit(MOCK, "mockc", ports=[ServicePort(6379, "tcp-redis")])
    design = lane_edit(design, "s2", services=["mocka"])
    assert "LD213" not in codes(validate(design))
    # a gRPC or unnamed (detected) port is routed by header: no finding
    for port in (ServicePort(5050, "grpc"), ServicePort(8080)):
        assert "LD213" not in codes(validate(svc_edit(MOCK, "mockb", ports=[port])))


def test_lane_calls_to_unknown_services_are_ld401_at_their_path():
    design = MOCK.with_lane_calls("mockb", "s3", ["mockz"])
    paths = [f.path for f in validate(design) if f.code == "LD401"]
    assert paths == ["spec.services[1].laneCalls.s3[0]"]


def test_lost_context_names_the_methods_that_would_survive():
    design = svc_edit(MOCK, "mocka", forwards=["x-request-id", "end-user", "cookie"])
    (found,) = [f for f in validate(design) if f.code == "LD406"]
    assert "traceId with traceHeader x-request-id" in found.message
    assert "header with routeHeader end-user" in found.message
    # a tracing system's own header (a sampling flag) is no place for a lane
    sampled = svc_edit(MOCK, "mocka", forwards=["x-datadog-sampling-priority", "x-b3-sampled"])
    (found,) = [f for f in validate(sampled) if f.code == "LD406"]
    assert "no pass-through method survives" in found.message
    # forwarding the method's header keeps the context: no finding
    kept = svc_edit(MOCK, "mocka", forwards=["x-request-id", "baggage"])
    assert "LD406" not in codes(validate(kept))
    # the header method needs the route header itself
    header = kept.with_method("header")
    assert "LD406" in codes(validate(header))
