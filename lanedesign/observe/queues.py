"""Lanes across queues, observed: the brokers' per-group metrics read against the design.

The mesh's request metrics never show a message's lane (a sidecar does not read Kafka
records). What a broker exporter in Prometheus does show is each consumer group's (or
queue's) backlog, and the lanes' consumers are told apart by their names
(``lanedesign consumers``: ``shipping-s2`` for Kafka, ``orders.s2`` for RabbitMQ). So per
designed topic: which of the expected groups have series (present / missing), which groups
of the topic the design does not expect (one shared group for every lane, a stray lane), and
the lag per lane. Topics whose broker has no known metric, or no series, are said to be not
observable (LD738), never guessed at.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ..emit.consumers import ConsumerRow, consumer_rows, style_of
from ..findings import Finding, make
from ..model import LaneDesign, Topic
from .calls import Sample
from .prometheus import Prometheus, PrometheusError, redact
from .query import regex_alternatives, samples_from_answer, window_seconds

DEFAULT_MAX_LAG = 1000.0


@dataclass(frozen=True)
class BrokerMetric:
    """A broker exporter's backlog gauge: its name, the label naming the consumer group (or
    queue), and the label naming the topic (None: the queue's name says it)."""

    metric: str
    group_label: str
    topic_label: str | None


# the exporters' own names: danielqsj/kafka_exporter, apache/rocketmq-exporter, RabbitMQ's
# built-in prometheus plugin (per-object metrics)
METRICS: dict[str, BrokerMetric] = {
    "kafka": BrokerMetric("kafka_consumergroup_lag", "consumergroup", "topic"),
    "redpanda": BrokerMetric("kafka_consumergroup_lag", "consumergroup", "topic"),
    "rocketmq": BrokerMetric("rocketmq_group_diff", "group", "topic"),
    "rabbitmq": BrokerMetric("rabbitmq_queue_messages_ready", "queue", None),
}


@dataclass(frozen=True)
class GroupSeen:
    """One consumer group (or queue) of a topic: expected by the design, seen, its lag."""

    topic: str
    name: str
    consumer: str | None  # the designed consumer (None: a group the design does not expect)
    lane: str | None
    seen: bool
    lag: float | None  # the largest backlog in the window

    def to_dict(self) -> dict[str, Any]:
        return {"topic": self.topic, "name": self.name, "consumer": self.consumer,
                "lane": self.lane, "expected": self.consumer is not None, "seen": self.seen,
                "lag": self.lag}


@dataclass(frozen=True)
class QueueObservation:
    """The groups per topic, the findings, and what was asked of whom (URL redacted)."""

    groups: tuple[GroupSeen, ...]
    findings: tuple[Finding, ...]
    queries: tuple[str, ...]
    prometheus: str
    window: str
    at: float

    @property
    def divergent(self) -> bool:
        return any(f.severity in ("error", "warning") for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {"prometheus": self.prometheus, "window": self.window,
                "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.at)),
                "queries": list(self.queries),
                "groups": [g.to_dict() for g in self.groups],
                "findings": [f.to_dict() for f in self.findings]}


def broker_metric(topic: Topic) -> BrokerMetric | None:
    return METRICS.get(topic.broker.lower())


def lag_query(metric: BrokerMetric, topics: list[Topic], window: str) -> str:
    """The backlog per group (and topic) over ``window``, for the design's topics."""
    window_seconds(window)
    names = [t.name for t in topics]
    if metric.topic_label is not None:
        selector = f'{metric.topic_label}=~"{regex_alternatives(names)}"'
        by = f"{metric.group_label}, {metric.topic_label}"
    else:  # queues are named after their topic: <topic>.<lane> or <topic>.<consumer>.<lane>
        selector = f'{metric.group_label}=~"({regex_alternatives(names)})\\\\..+"'
        by = metric.group_label
    # a group's backlog is the sum over its partitions of each one's largest in the window
    return f"sum by ({by}) (max_over_time({metric.metric}{{{selector}}}[{window}]))"


def compare_groups(design: LaneDesign, seen: dict[str, list[Sample]],
                   max_lag: float = DEFAULT_MAX_LAG) -> tuple[list[GroupSeen], list[Finding]]:
    """Pure: ``seen`` maps a broker metric's name to its series; per designed topic, the
    expected groups present or missing, unexpected groups, the lag per lane."""
    rows = consumer_rows(design)
    groups: list[GroupSeen] = []
    findings: list[Finding] = []
    if not design.topics:
        findings.append(make("LD738", "spec.topics", "the design has no topics: there are no "
                             "consumer groups to look for"))
    for i, topic in enumerate(design.topics):
        path = f"spec.topics[{i}]"
        metric = broker_metric(topic)
        if metric is None:
            findings.append(make("LD738", f"{path}.broker", f"topic {topic.name!r}: no known "
                                 f"exporter metric for broker {topic.broker or '(none)'!r}; "
                                 "its lanes' consumers cannot be observed"))
            continue
        lags = _lags(topic, metric, seen.get(metric.metric, []))
        if not lags:
            findings.append(make("LD738", path, f"topic {topic.name!r}: Prometheus has no "
                                 f"{metric.metric} series for it in the window"))
            continue
        expected = {r.name: r for r in rows if r.topic == topic.name}
        for name, row in expected.items():
            groups.append(_seen(topic, row, lags.get(name)))
            findings += _row_findings(path, row, lags, max_lag)
        for name in sorted(set(lags) - set(expected)):
            groups.append(GroupSeen(topic.name, name, None, None, True, lags[name]))
            findings.append(make("LD736", path, f"topic {topic.name!r}: {_noun(topic)} "
                                 f"{name!r} is not in the design (expected: "
                                 f"{', '.join(sorted(expected)) or 'none'})"))
    return groups, findings


def _lags(topic: Topic, metric: BrokerMetric, samples: list[Sample]) -> dict[str, float]:
    out: dict[str, float] = {}
    for sample in samples:
        labels = sample.label_map
        name = labels.get(metric.group_label)
        if not name:
            continue
        if metric.topic_label is not None and labels.get(metric.topic_label) != topic.name:
            continue
        if metric.topic_label is None and not name.startswith(topic.name + "."):
            continue
        out[name] = max(out.get(name, 0.0), sample.value)
    return out


def _seen(topic: Topic, row: ConsumerRow, lag: float | None) -> GroupSeen:
    return GroupSeen(topic.name, row.name, row.consumer, row.lane, lag is not None, lag)


def _row_findings(path: str, row: ConsumerRow, lags: dict[str, float],
                  max_lag: float) -> list[Finding]:
    lag = lags.get(row.name)
    keys = ", ".join(row.accepts) + (" and untagged" if row.untagged else "")
    if lag is None:
        return [make("LD735", path, f"lane {row.lane}: {row.consumer}'s {row.style} "
                     f"{row.name!r} has no series; messages keyed {keys} wait or go elsewhere")]
    if lag > max_lag:
        return [make("LD737", path, f"lane {row.lane}: {row.consumer}'s {row.style} "
                     f"{row.name!r} lags {lag:g} messages (limit {max_lag:g})")]
    return []


def _noun(topic: Topic) -> str:
    return "queue" if style_of(topic) == "queue" else "consumer group"


def observe_queues(design: LaneDesign, prometheus: Prometheus, window: str = "15m",
                   at: float | None = None, max_lag: float = DEFAULT_MAX_LAG,
                   ) -> QueueObservation:
    """One query per broker metric the design's topics use, then ``compare_groups``."""
    at = time.time() if at is None else at
    by_metric: dict[str, tuple[BrokerMetric, list[Topic]]] = {}
    for topic in design.topics:
        metric = broker_metric(topic)
        if metric is not None:
            by_metric.setdefault(metric.metric, (metric, []))[1].append(topic)
    seen: dict[str, list[Sample]] = {}
    queries = []
    for name, (metric, topics) in by_metric.items():
        promql = lag_query(metric, topics, window)
        queries.append(promql)
        answer = prometheus.query(promql, at)
        try:
            seen[name] = samples_from_answer(answer)
        except ValueError as exc:
            raise PrometheusError(f"unexpected answer: {exc}", redact(prometheus.url)) from None
    groups, findings = compare_groups(design, seen, max_lag)
    return QueueObservation(tuple(groups), tuple(findings), tuple(queries),
                            redact(prometheus.url), window, at)


def gauge_openmetrics(metric: str, series: list[tuple[dict[str, str], float]], end: float,
                      window: float = 900.0, step: float = 15.0) -> str:
    """Gauges holding each value over ``window`` up to ``end`` (tests and teaching: a broker
    exporter's series as ``promtool tsdb create-blocks-from openmetrics`` reads them)."""
    steps = max(1, round(window / step))
    lines = [f"# HELP {metric} Synthetic broker backlog (lanedesign tests).",
             f"# TYPE {metric} gauge"]
    for labels, value in series:
        text = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
        for i in range(steps + 1):
            lines.append(f"{metric}{{{text}}} {value!r} {end - window + i * step:.3f}")
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
