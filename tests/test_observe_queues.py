"""``lanedesign observe-queues``: a broker exporter's consumer groups (or queues) read against
the groups the design's lanes need. Pure comparisons first, then a real Prometheus (Debian's
package) holding synthetic kafka_exporter and RabbitMQ series with injected faults."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT
from prometheus_tier import INSTALL_HINT, LocalPrometheus, required, tools

from lanedesign.cli import main
from lanedesign.designfile import load_design, save_design
from lanedesign.model import Topic
from lanedesign.observe.calls import Sample
from lanedesign.observe.queues import METRICS, compare_groups, gauge_openmetrics, lag_query

ORDERS = ROOT / "tests" / "fixtures" / "queues" / "orders.yaml"
KAFKA = "kafka_consumergroup_lag"
RABBIT = "rabbitmq_queue_messages_ready"


def orders(broker: str = "kafka"):
    design = load_design(ORDERS).design
    return design.with_(topics=(Topic("orders", broker),)) if broker != "kafka" else design


def kafka(group: str, lag: float, topic: str = "orders", partition: str = "0") -> Sample:
    return Sample.of({"consumergroup": group, "topic": topic, "partition": partition}, lag)


# -- pure ---------------------------------------------------------------------------------------
def test_as_designed_every_lane_group_is_seen_with_its_lag():
    groups, findings = compare_groups(orders(), {KAFKA: [kafka("shipping-s1", 4),
                                                         kafka("shipping-s2", 2)]})
    assert [(g.name, g.lane, g.seen, g.lag) for g in groups] == [
        ("shipping-s1", "s1", True, 4.0), ("shipping-s2", "s2", True, 2.0)]
    assert findings == []


def test_missing_unexpected_and_lagging_groups():
    seen = {KAFKA: [kafka("shipping", 7), kafka("shipping-s1", 4000),
                    kafka("billing-s1", 1, topic="payments")]}  # another topic: not ours
    groups, findings = compare_groups(orders(), seen, max_lag=1000)
    assert {(f.code, f.severity) for f in findings} == {
        ("LD735", "error"), ("LD736", "warning"), ("LD737", "warning")}
    by_code = {f.code: f.message for f in findings}
    assert "lane s2" in by_code["LD735"] and "'shipping-s2'" in by_code["LD735"]
    assert "'shipping' is not in the design" in by_code["LD736"]
    assert "lags 4000" in by_code["LD737"]
    assert {g.name for g in groups} == {"shipping-s1", "shipping-s2", "shipping"}


def test_a_topic_without_series_or_metric_is_not_observable():
    _, findings = compare_groups(orders(), {KAFKA: [kafka("x-s1", 1, topic="payments")]})
    assert [(f.code, f.path) for f in findings] == [("LD738", "spec.topics[0]")]
    _, findings = compare_groups(orders("tibco"), {})
    assert [(f.code, f.path) for f in findings] == [("LD738", "spec.topics[0].broker")]
    _, findings = compare_groups(orders().with_(topics=()), {})
    assert [f.code for f in findings] == ["LD738"]


def test_queues_are_matched_by_their_topic_prefix():
    seen = {RABBIT: [Sample.of({"queue": "orders.s1"}, 0), Sample.of({"queue": "orders.s9"}, 3),
                     Sample.of({"queue": "ordersX.s2"}, 1)]}
    groups, findings = compare_groups(orders("rabbitmq"), seen)
    assert {(g.name, g.seen) for g in groups} == {("orders.s1", True), ("orders.s2", False),
                                                  ("orders.s9", True)}
    assert sorted(f.code for f in findings) == ["LD735", "LD736"]


def test_queries_name_only_the_designs_topics():
    q = lag_query(METRICS["kafka"], [Topic("orders", "kafka")], "15m")
    assert q == ('sum by (consumergroup, topic) (max_over_time(kafka_consumergroup_lag'
                 '{topic=~"orders"}[15m]))')


# -- a real Prometheus ---------------------------------------------------------------------
SETS = {
    "designed": (KAFKA, [({"consumergroup": "shipping-s1", "topic": "orders", "partition": p}, 3)
                         for p in ("0", "1")]
                 + [({"consumergroup": "shipping-s2", "topic": "orders", "partition": "0"}, 1)]),
    "faults": (KAFKA, [({"consumergroup": "shipping", "topic": "orders", "partition": "0"}, 9),
                       ({"consumergroup": "shipping-s1", "topic": "orders", "partition": "0"},
                        2500),
                       ({"consumergroup": "shipping-s2", "topic": "payments",
                         "partition": "0"}, 1)]),
    "rabbit": (RABBIT, [({"queue": "orders.s1"}, 0), ({"queue": "orders.s2"}, 12)]),
}


@pytest.fixture(scope="module")
def prom(tmp_path_factory):
    if tools() is None:
        if required():
            pytest.fail(f"prometheus is required under CI: {INSTALL_HINT}")
        pytest.skip(f"prometheus/promtool not installed: {INSTALL_HINT}")
    tier = LocalPrometheus(tmp_path_factory.mktemp("prometheus-queues"))
    ats = {name: tier.add_text(lambda at, m=metric, s=series: gauge_openmetrics(m, s, at))
           for name, (metric, series) in SETS.items()}
    with tier:
        tier.start()
        yield tier.url, ats


def run(capsys, tmp_path, prom, name, design, *extra):
    url, ats = prom
    path = tmp_path / "design.yaml"
    save_design(design, path)
    code = main(["observe-queues", str(path), "--prometheus", url, "--at", str(ats[name]),
                 *extra])
    return code, capsys.readouterr().out


def test_real_prometheus_as_designed(prom, capsys, tmp_path):
    code, out = run(capsys, tmp_path, prom, "designed", orders(), "--format", "json")
    data = json.loads(out)
    assert code == 0 and len(data["queries"]) == 1
    # shipping-s1's two partitions add up
    assert [(g["name"], g["lag"]) for g in data["groups"]] == [("shipping-s1", 6.0),
                                                                ("shipping-s2", 1.0)]
    assert [f for f in data["findings"] if f["severity"] != "info"] == []


def test_real_prometheus_reports_exactly_the_faults(prom, capsys, tmp_path):
    code, out = run(capsys, tmp_path, prom, "faults", orders(), "--format", "json")
    data = json.loads(out)
    assert code == 1
    assert sorted(f["code"] for f in data["findings"]) == ["LD735", "LD736", "LD737"]
    assert {g["name"]: g["seen"] for g in data["groups"]} == {
        "shipping-s1": True, "shipping-s2": False, "shipping": True}


def test_real_prometheus_rabbitmq_queues_and_text(prom, capsys, tmp_path):
    code, out = run(capsys, tmp_path, prom, "rabbit", orders("rabbitmq"))
    assert code == 0
    assert "orders.s1: shipping@s1; lag 0" in out and "orders.s2: shipping@s2; lag 12" in out
    assert "a message's lane is not in the mesh's metrics" in out
    # the same data read for a window where nothing was written: nothing observable
    code, out = run(capsys, tmp_path, prom, "rabbit", orders("rabbitmq"), "--window", "1m",
                    "--at", str(prom[1]["rabbit"] - 3 * 3600))
    assert code == 0 and "LD738" in out
