"""What the apps need for lanes across message queues: the mesh does not do this part.

A sidecar routes HTTP and gRPC requests; it never reads a Kafka record or an AMQP message, so
a lane survives a queue only where the apps carry it (ASM's "integrate message queues with
permissive lanes"): the producer writes two properties into each message, its OWN lane (the
key consumers filter on) and the request's lane tag; each consumer version knows its lane
from its pod label and takes only the messages whose key it serves; it puts the tag back on
the calls it makes. This module says, per topic and lane, what each app must be configured
with, as plain rows and as objects the team applies in its own charts (a ConfigMap and a
Deployment strategic-merge patch per service and lane). It is not a ``Target``: nothing here
is applied, diffed or pruned by lanedesign.

Which consumer version takes a message whose key is lane K: K's own version if K holds the
consumer, else the consumer's fallback target's, else the baseline's (``serving_lane``); so
each version's filter accepts the keys it serves, and the baseline's also untagged messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..findings import Finding, make
from ..model import LaneDesign, Service, Topic
from .common import object_name

LANE_ENV = "LANE_NAME"  # the env var holding the pod's own lane (downward API)
LANE_LABEL = "lanedesign.io/lane"  # the pod label the patches add where no label holds the lane
KEY_PROPERTY = "x-lane-key"  # the message property: the producer's own lane (the filter key)
# brokers whose consumers share a topic and filter in the app: one consumer group per lane
GROUP_BROKERS = frozenset({"kafka", "rocketmq", "pulsar", "redpanda", "kinesis", "nats"})
# brokers that copy messages into queues: one queue per lane, bound with the keys it takes
QUEUE_BROKERS = frozenset({"rabbitmq", "amqp", "activemq", "sqs", "sns", "servicebus"})

MESH_NOTE = ("The mesh does not route messages: apply this configuration in your own charts "
             "and make the apps use it (the producer writes the properties below into every "
             "message; each consumer takes only the keys of its lane and sends the lane tag "
             "on the calls it makes).")


@dataclass(frozen=True)
class ConsumerRow:
    """One consumer version of one topic: which message keys (producer lanes) it takes and
    the consumer group or queue it takes them with."""

    topic: str
    broker: str
    style: str  # "group" (one consumer group per lane) or "queue" (one queue per lane)
    consumer: str
    namespace: str
    lane: str  # the lane of the consumer version (its pod label)
    version: tuple[tuple[str, str], ...]  # that lane's pod labels
    accepts: tuple[str, ...]  # the message keys it takes, its own lane first
    untagged: bool  # it also takes messages without a key (the baseline's version)
    name: str  # the consumer group, or the queue
    bound_to: str | None  # the exchange/topic a queue is bound to (queue style)
    filters: bool  # False: the app takes every message (``filtersByLane: false``)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "topic": self.topic, "broker": self.broker, "style": self.style,
            "consumer": self.consumer, "namespace": self.namespace, "lane": self.lane,
            "version": dict(self.version), "accepts": list(self.accepts),
            "untagged": self.untagged,
            ("consumerGroup" if self.style == "group" else "queue"): self.name,
            "filtersByLane": self.filters,
        }
        if self.bound_to is not None:
            out["boundTo"] = self.bound_to
            out["bindingKeys"] = list(self.accepts)
        return out


@dataclass(frozen=True)
class Properties:
    """The message properties a producer writes (and a consumer reads back)."""

    key: str  # the producer's own lane, from its LANE_ENV
    tag: str  # the property carrying the request's lane tag
    tag_form: str  # how the tag is written: "<lane>" or "<baggage key>=<lane>"

    def to_dict(self) -> dict[str, str]:
        return {"keyProperty": self.key, "keyValue": f"${LANE_ENV} (the producer's own lane)",
                "tagProperty": self.tag, "tagValue": self.tag_form}


@dataclass(frozen=True)
class ConsumerPlan:
    """Everything ``lanedesign consumers`` shows: the rows, the producers' properties, the
    objects for the team's charts and what could not be worked out."""

    rows: tuple[ConsumerRow, ...]
    producers: tuple[tuple[str, tuple[str, ...]], ...]  # topic -> its producer services
    properties: Properties
    label_key: str  # the pod label the lane env var reads
    adds_label: bool  # True: the patches add ``LANE_LABEL`` (no label holds the lane name)
    objects: tuple[dict, ...]
    # each Deployment patch's ``namespace/name`` and the label selector of its pods
    patch_targets: tuple[tuple[str, str], ...]
    findings: tuple[Finding, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "note": MESH_NOTE,
            "laneEnv": LANE_ENV,
            "laneLabel": self.label_key,
            "properties": self.properties.to_dict(),
            "producers": [{"topic": t, "services": list(s)} for t, s in self.producers],
            "consumers": [r.to_dict() for r in self.rows],
            "objects": list(self.objects),
            "patchTargets": [{"deployment": d, "labelSelector": sel}
                             for d, sel in self.patch_targets],
            "findings": [f.to_dict() for f in self.findings],
        }


def style_of(topic: Topic) -> str:
    """``queue`` for brokers that fan out into queues (RabbitMQ, SQS) or an exchange, else
    ``group`` (Kafka, RocketMQ and any broker not known here)."""
    if topic.broker.lower() in QUEUE_BROKERS or topic.kind == "exchange":
        return "queue"
    return "group"


def group_name(consumer: str, lane: str) -> str:
    """Kafka/RocketMQ: the consumer group of ``consumer``'s version in ``lane``."""
    return f"{consumer}-{lane}"


def queue_name(topic: str, lane: str, consumer: str | None = None) -> str:
    """RabbitMQ/SQS: the queue of ``lane``, bound to the topic's exchange; ``consumer`` is
    named too where several services consume the topic (each needs its own queues)."""
    return f"{topic}.{consumer}.{lane}" if consumer else f"{topic}.{lane}"


def expected_groups(design: LaneDesign) -> dict[tuple[str, str], ConsumerRow]:
    """(topic, consumer group or queue) -> the row that expects it (observe reads this)."""
    return {(r.topic, r.name): r for r in consumer_rows(design)}


def message_properties(design: LaneDesign) -> Properties:
    """The tag goes where the design's pass-through carries the lane: the ``baggage``
    member for the baggage method, else the route header (which the gateway sets)."""
    if design.pass_through.method == "baggage":
        return Properties(KEY_PROPERTY, "baggage", f"{design.baggage_key}=<request's lane>")
    return Properties(KEY_PROPERTY, design.route_header, "<request's lane>")


def lane_label(design: LaneDesign) -> tuple[str, bool]:
    """The pod label whose value is the lane's name in every lane, and False; or, when no
    label does that (``version: v2`` for lane s2), ``LANE_LABEL`` and True: the patches add it."""
    if not design.lanes:
        return LANE_LABEL, True
    first = design.lanes[0].label_map
    for key in first:
        if all(lane.label_map.get(key) == lane.name for lane in design.lanes):
            return key, False
    return LANE_LABEL, True


def consumer_rows(design: LaneDesign) -> tuple[ConsumerRow, ...]:
    """Per topic, consumer and lane holding a version of it: the keys that version takes."""
    serve = design.serving_lane_resolver()
    rows = []
    for topic in design.topics:
        style = style_of(topic)
        # two consumer services of one exchange need a queue each
        consumers = design.consumers(topic.name)
        shared = len(consumers) > 1
        for svc in (design.service(name) for name in consumers):
            for lane in design.lanes:
                if not lane.holds(svc.name):
                    continue
                # its own lane's key, then those of lanes it serves as fallback target
                accepts = (lane.name, *(k.name for k in design.lanes if k.name != lane.name
                                        and serve(k.name, svc.name) == lane.name))
                queue = style == "queue"
                rows.append(ConsumerRow(
                    topic=topic.name, broker=topic.broker, style=style, consumer=svc.name,
                    namespace=design.namespace_of(svc.name), lane=lane.name,
                    version=lane.labels, accepts=accepts,
                    untagged=lane.name == design.baseline,
                    name=queue_name(topic.name, lane.name, svc.name if shared else None)
                    if queue else group_name(svc.name, lane.name),
                    bound_to=topic.name if queue else None, filters=svc.filters_by_lane))
    return tuple(rows)


def consumer_plan(design: LaneDesign) -> ConsumerPlan:
    """The rows, the producers, and the ConfigMaps and Deployment patches, in a stable order."""
    rows = consumer_rows(design)
    label_key, adds = lane_label(design)
    props = message_properties(design)
    producers = tuple((t.name, design.producers(t.name)) for t in design.topics)
    objects: list[dict] = []
    targets: list[tuple[str, str]] = []
    for svc in design.services:
        if not (svc.publishes or svc.consumes):
            continue
        for lane in design.lanes:
            if lane.holds(svc.name):
                mine = [r for r in rows if r.consumer == svc.name and r.lane == lane.name]
                objects.append(config_map(design, svc, lane.name, mine, props))
                patch = deployment_patch(design, svc, lane.name, label_key, adds)
                objects.append(patch)
                meta = patch["metadata"]
                targets.append((f"{meta['namespace']}/{meta['name']}",
                                patch_selector(design, svc, lane.labels)))
    return ConsumerPlan(rows, producers, props, label_key, adds, tuple(objects),
                        tuple(targets), tuple(_findings(design, adds)))


def env_key(*parts: str) -> str:
    """An environment variable name (a C identifier) from topic and field names."""
    return "_".join(re.sub(r"[^A-Za-z0-9]+", "_", p).strip("_").upper() for p in parts)


def config_map_name(service: str, lane: str) -> str:
    return object_name(service, lane, "lanes")


def config_map(design: LaneDesign, svc: Service, lane: str, rows: list[ConsumerRow],
               props: Properties) -> dict:
    """One version's settings: every value a string (a ConfigMap's ``data`` holds strings)."""
    data = {"LANE_KEY_PROPERTY": props.key, "LANE_TAG_PROPERTY": props.tag}
    if props.tag == "baggage":
        data["LANE_BAGGAGE_KEY"] = design.baggage_key
    for topic in svc.publishes:
        data[env_key("LANE_PUBLISHES", topic)] = "true"
    for row in rows:
        prefix = ("LANE_TOPIC", row.topic)
        data[env_key(*prefix, "CONSUMER_GROUP" if row.style == "group" else "QUEUE")] = row.name
        data[env_key(*prefix, "ACCEPTS")] = ",".join(row.accepts)
        data[env_key(*prefix, "UNTAGGED")] = "true" if row.untagged else "false"
        if row.bound_to is not None:
            data[env_key(*prefix, "BOUND_TO")] = row.bound_to
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": config_map_name(svc.name, lane),
                     "namespace": design.namespace_of(svc.name),
                     "labels": {"app": svc.name}},
        "data": data,
    }


def deployment_name(design: LaneDesign, service: str, lane: str) -> str:
    """A guess at the lane version's Deployment name: ``<service>-<lane label value>``
    (``reviews-v2``); the team renames it to its own."""
    found = design.lane(lane)
    labels = found.label_map if found is not None else {}
    suffix = labels.get("version") or next(iter(labels.values()), lane)
    return object_name(service, suffix)


def deployment_patch(design: LaneDesign, svc: Service, lane: str, label_key: str,
                     adds_label: bool) -> dict:
    """A strategic-merge patch of the lane version's Deployment: the lane env var from the pod
    label (downward API) and the version's ConfigMap; containers merge by ``name``."""
    container = {
        "name": svc.name,  # the container's name: rename to yours (the list merges on it)
        "env": [{"name": LANE_ENV, "valueFrom": {"fieldRef": {
            "fieldPath": f"metadata.labels['{label_key}']"}}}],
        "envFrom": [{"configMapRef": {"name": config_map_name(svc.name, lane)}}],
    }
    template: dict[str, Any] = {"spec": {"containers": [container]}}
    if adds_label:
        template = {"metadata": {"labels": {LANE_LABEL: lane}}, **template}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": deployment_name(design, svc.name, lane),
                     "namespace": design.namespace_of(svc.name)},
        "spec": {"template": template},
    }


def patch_selector(design: LaneDesign, svc: Service, lane_labels: tuple[tuple[str, str], ...],
                   ) -> str:
    """The pods a patch is for, as a label selector (``app=shipping,version=v2``): a
    kustomize ``target.labelSelector`` where the Deployment's name is not the guessed one."""
    labels = {**svc.selector_map, **dict(lane_labels)}
    return ",".join(f"{k}={v}" for k, v in labels.items())


def _findings(design: LaneDesign, adds: bool) -> list[Finding]:
    out = [make("LD730", "spec.topics", MESH_NOTE)]
    if not design.topics:
        out.append(make("LD731", "spec.topics", "the design has no topics: no app needs "
                        "lane configuration for messages"))
    for i, topic in enumerate(design.topics):
        broker = topic.broker.lower()
        if broker and broker not in GROUP_BROKERS | QUEUE_BROKERS:
            out.append(make("LD732", f"spec.topics[{i}].broker", f"broker {topic.broker!r} "
                            f"is not one lanedesign knows; topic {topic.name!r} is shown with "
                            "a consumer group per lane"))
    for i, svc in enumerate(design.services):
        if svc.consumes and not svc.filters_by_lane:
            out.append(make("LD733", f"spec.services[{i}].filtersByLane", f"{svc.name} does "
                            "not filter by lane: until it does, every version of it takes "
                            "every lane's messages and the rows below are not in force"))
    if adds:
        out.append(make("LD734", "spec.lanes", "no pod label holds the lane's name in every "
                        f"lane: the patches add the pod label {LANE_LABEL} for {LANE_ENV}"))
    return out
