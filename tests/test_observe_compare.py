"""The pure comparison of observed request counts with a design (no Prometheus here)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from lanedesign import examples
from lanedesign.model import Lane
from lanedesign.observe import (
    DropsContext,
    ExtraCall,
    MissingVersion,
    Sample,
    UnusedCall,
    compare,
    redact,
    requests_query,
    samples_from_answer,
    synthetic_samples,
    window_seconds,
)
from lanedesign.observe.compare import read_calls
from lanedesign.observe.expect import call_paths, lane_expectations, lane_version

MOCK = examples.load("mock-baggage")


def codes(comparison) -> list[str]:
    return [f.code for f in comparison.findings]


@pytest.mark.parametrize("name", ["mock-baggage", "mock-header", "mock-weighted", "shop"])
@pytest.mark.parametrize("tagged", [True, False])
def test_traffic_as_designed_gives_no_divergence(name, tagged):
    design = examples.load(name)
    result = compare(design, synthetic_samples(design, tagged=tagged))
    assert not result.divergent, [str(f) for f in result.findings]
    assert all(c.share == 0 for c in result.cells)


def test_shop_declared_dropper_is_expected_not_flagged():
    """shop's app with `propagates: false`: its lane-less calls are what the design says."""
    shop = examples.load("shop")
    dropper = next(s.name for s in shop.services if not s.propagates)
    result = compare(shop, synthetic_samples(shop))
    untagged = [c for c in result.cells if not c.lanes and c.caller == dropper]
    assert untagged and all(c.share == 0 for c in untagged)
    # an app that drops the context, read against a design that says it propagates: flagged
    dropping = MOCK.with_service(replace(MOCK.service("mockb"), propagates=False))
    assert not compare(dropping, synthetic_samples(dropping)).divergent
    flagged = compare(MOCK, synthetic_samples(dropping))
    assert codes(flagged) == ["LD802"]
    assert flagged.findings[0].message.startswith("lane s2: mockb -> mockc reached v1 in 100%")


def test_the_check_bites_traffic_of_another_design():
    """Traffic of a design where s2 also holds mockb, read against the mock: s2's calls to
    mockb reached v2, where the mock expects its fallback v1."""
    other = MOCK.with_membership("s2", "mockb", True)
    result = compare(MOCK, synthetic_samples(other))
    assert codes(result) == ["LD801"]
    finding = result.findings[0]
    assert finding.path == "spec.services[0].calls[0]"
    assert finding.message.startswith("lane s2: mocka -> mockb reached v2 in 100% of calls")
    cell = result.cell("s2", "mocka", "mockb")
    assert cell.expected == ("v1",) and dict(cell.reached) == {"v2": 600.0}


def test_shares_below_the_tolerance_are_noise():
    samples = synthetic_samples(MOCK, faults=(DropsContext("mockb", "s2", 0.005),))
    assert not compare(MOCK, samples).divergent
    assert codes(compare(MOCK, samples, tolerance=0.001)) == ["LD802"]


def test_unknown_lane_tag_and_lane_without_traffic():
    samples = synthetic_samples(MOCK, lanes=["s1", "s2"])
    renamed = [Sample.of({**s.label_map, "lane": "s9"} if s.label_map["lane"] == "s2"
                         else s.label_map, s.value) for s in samples]
    result = compare(MOCK, renamed)
    assert sorted(codes(result)) == ["LD807", "LD808", "LD808"]
    assert "lane tag 's9'" in next(f.message for f in result.findings if f.code == "LD807")


def test_a_lane_without_version_label_is_not_observable():
    design = MOCK.with_lane(Lane("s3", (("tier", "canary"),), ("mockb",)))
    result = compare(design, synthetic_samples(design))
    assert [f.path for f in result.findings if f.code == "LD809"] == ["spec.lanes[2].labels"]


def test_extra_call_to_a_service_the_design_lacks():
    result = compare(MOCK, synthetic_samples(MOCK, faults=(ExtraCall("mockc", "audit"),)))
    assert codes(result) == ["LD804"]
    assert result.findings[0].message.startswith("mockc calls audit.default, a service the "
                                                 "design lacks")
    assert result.extra_calls[0]["callee"] == "audit.default"


def test_workloads_map_to_services_by_canonical_service_or_name():
    labels = {"destination_service_name": "mockb", "destination_service_namespace": "default",
              "destination_version": "v1", "source_version": "v2"}
    by_name = Sample.of({**labels, "source_workload": "mocka-v2"}, 3)
    by_label = Sample.of({**labels, "source_workload": "x", "source_canonical_service":
                          "mocka"}, 3)
    other_ns = Sample.of({**labels, "source_workload": "mocka-v2",
                          "source_workload_namespace": "elsewhere"}, 3)
    calls, tagged = read_calls(MOCK, [by_name, by_label, other_ns])
    assert [c.caller for c in calls] == ["mocka", "mocka", None] and not tagged


def test_expectations_follow_the_lane_rule():
    exp = lane_expectations(MOCK)
    (s3,) = exp["s3"][("mockb", "mockc")]
    assert (s3.caller_lane, s3.callee_lane, s3.context) == ("s3", "s1", "s3")
    assert lane_version(MOCK.lane("s2")) == "v2"


def test_no_samples_is_one_finding():
    assert codes(compare(MOCK, [])) == ["LD810"]


def test_the_query_is_one_bounded_sum():
    shop = examples.load("shop")
    query = requests_query(shop, "15m")
    assert query.count("sum by") == 1 and query.count("istio_requests_total") == 1
    assert 'reporter="destination"' in query and "[15m]" in query
    namespaces = {shop.namespace_of(s) for s in shop.service_names}
    assert f'destination_service_namespace=~"{"|".join(sorted(namespaces))}"' in query
    assert query.rstrip(")").endswith("[15m]")
    with pytest.raises(ValueError):
        requests_query(shop, "15 minutes")
    with pytest.raises(ValueError):
        requests_query(shop, "15m", lane_tag="lane-tag")


def test_window_and_answer_parsing():
    assert window_seconds("1h30m") == 5400
    for bad in ("", "15", "0m", "1.5h"):
        with pytest.raises(ValueError):
            window_seconds(bad)
    answer = {"resultType": "vector", "result": [{"metric": {"a": "b"}, "value": [1, "2.5"]}]}
    assert samples_from_answer(answer) == [Sample((("a", "b"),), 2.5)]
    for bad in (None, {"resultType": "matrix"}, {"resultType": "vector", "result": [{}]}):
        with pytest.raises(ValueError):
            samples_from_answer(bad)


def test_redact_hides_credentials_and_query():
    assert redact("https://u:p@prom.example:9090/api?x=1") == "https://***@prom.example:9090/api"


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 8, 9, 10, 12])
def test_without_the_tag_a_fault_is_found_or_its_hop_is_listed(seed):
    """Untagged: every reported divergence is an injected one, and every injected one not
    reported sits on a hop the comparison lists as indistinguishable."""
    from observe_scenarios import pick_faults

    from benchmarks.generate import synthetic_design

    design = synthetic_design(16, 4, seed=seed)
    faults, expected = pick_faults(design, seed)
    result = compare(design, synthetic_samples(design, faults=faults, tagged=False))
    found = {(f.code, f.path) for f in result.findings if f.severity != "info"}
    assert {p for _, p in found} <= {p for _, p in expected}
    assert ("LD804", next(p for c, p in expected if c == "LD804")) in found
    listed = {(r["caller"], r["callee"]) for r in result.indistinguishable}
    paths = {p: e for e, p in call_paths(design).items()}
    for _code, path in expected - found:
        assert paths[path] in listed, path


def test_a_missing_lane_version_is_named_as_such():
    samples = synthetic_samples(MOCK, faults=(MissingVersion("mockc", "s2"),))
    result = compare(MOCK, samples)
    assert [(f.code, f.path) for f in result.findings] == [("LD803",
                                                           "spec.services[1].calls[0]")]
    assert "no mockc pod with version v2 served a call" in result.findings[0].hint


def test_a_designed_call_never_made_is_reported_at_its_first_hop_only():
    result = compare(MOCK, synthetic_samples(MOCK, faults=(UnusedCall("mocka", "mockb"),)))
    assert [(f.code, f.path) for f in result.findings] == [("LD805",
                                                           "spec.services[0].calls[0]")]
    assert result.unseen_calls == (("mocka", "mockb"),)


def test_the_token_goes_in_the_authorization_header_only(monkeypatch, tmp_path):
    """What the client sends (urlopen captured; the real server is tested elsewhere)."""
    import io
    import json as json_

    from lanedesign.observe import Prometheus, read_token
    from lanedesign.observe import prometheus as module

    sent = []

    def fake_urlopen(request, timeout):
        sent.append(request)
        return io.BytesIO(json_.dumps({"status": "success", "data": {
            "resultType": "vector", "result": []}}).encode())

    monkeypatch.setattr(module.urllib.request, "urlopen", fake_urlopen)
    token_file = tmp_path / "token"
    token_file.write_text("  abc.def  \n")
    client = Prometheus("http://prom:9090/", read_token(token_file))
    assert client.query("up", at=12.5) == {"resultType": "vector", "result": []}
    (request,) = sent
    assert request.get_header("Authorization") == "Bearer abc.def"
    assert request.full_url == "http://prom:9090/api/v1/query"
    assert b"abc" not in request.data and b"time=12.500" in request.data
    assert "abc" not in repr(client)


def test_a_namespace_without_the_lane_tag_is_reported_not_judged():
    """A partial Telemetry roll-out: shop's payments namespace reports no lane label."""
    shop = examples.load("shop")
    samples = [Sample.of({k: v for k, v in s.label_map.items() if k != "lane"}
                         if s.label_map["destination_service_namespace"] == "payments"
                         else s.label_map, s.value) for s in synthetic_samples(shop)]
    result = compare(shop, samples)
    assert codes(result) == ["LD811"]
    assert "namespace payments have no lane tag" in result.findings[0].message
    assert not [c for c in result.cells if shop.namespace_of(c.callee) == "payments"]


def test_5xx_answers_are_counted_per_cell():
    """Plain Istio answers 503 UH where a lane's subset has no ready pods (source reports)."""
    samples = [Sample.of({**s.label_map, "response_code": "503", "destination_version":
                          "unknown"}, s.value)
               if s.label_map["lane"] == "s2" and s.label_map["destination_service_name"]
               == "mockc" else s for s in synthetic_samples(MOCK)]
    result = compare(MOCK, samples)
    cell = result.cell("s2", "mockb", "mockc")
    assert cell.errors == 600 and cell.to_dict()["errors_5xx"] == 600
    (finding,) = result.findings
    assert finding.code == "LD803" and "600 answered 5xx" in finding.hint


def test_a_weighted_ingress_split_is_checked():
    weighted = examples.load("mock-weighted")
    assert not compare(weighted, synthetic_samples(weighted)).divergent
    skewed = synthetic_samples(weighted, weights={"s1": 40, "s2": 40, "s3": 20})
    result = compare(weighted, skewed)
    assert sorted((f.code, f.path) for f in result.findings) == [
        ("LD812", "spec.ingress.weights.s1"), ("LD812", "spec.ingress.weights.s2")]
    assert "lane s2 received 40% of the requests" in next(
        f.message for f in result.findings if f.path.endswith("s2"))
