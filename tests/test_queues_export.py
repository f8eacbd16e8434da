"""``lanedesign consumers``: what each lane's producers and consumers need where a lane crosses
a message queue (emit/consumers.py), and the shapes of its ConfigMaps and Deployment patches.

The rule each row must follow is written again here, without lanedesign's code (ASM's MQ
page, asm-lanes.md T6): a message carries its producer's own lane as key K; the consumer
version of lane K takes it if K holds the consumer, else that of the consumer's fallback
target, else the baseline's; the baseline's version also takes messages without a key.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest
from conftest import ROOT
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from strategies import designs

from lanedesign.cli import main
from lanedesign.codec import load_plain
from lanedesign.designfile import load_design, parse_design
from lanedesign.emit.consumers import (
    LANE_ENV,
    LANE_LABEL,
    consumer_plan,
    consumer_rows,
    expected_groups,
)
from lanedesign.model import Lane, Service, Topic

ORDERS = ROOT / "tests" / "fixtures" / "queues" / "orders.yaml"


def orders():
    loaded = load_design(ORDERS)
    assert loaded.design is not None and not loaded.findings
    return loaded.design


def taker(design, key: str, consumer: str) -> str:
    """The lane whose consumer version takes a message keyed ``key`` (independent rule)."""
    lanes = {lane.name: set(lane.services) for lane in design.lanes}
    if consumer in lanes.get(key, set()):
        return key
    return dict(design.fallback).get(consumer, design.baseline)


def check_rows_follow_the_rule(design) -> None:
    rows = consumer_rows(design)
    for topic in design.topics:
        for svc in design.services:
            if topic.name not in svc.consumes:
                continue
            mine = [r for r in rows if r.topic == topic.name and r.consumer == svc.name]
            for lane in design.lanes:
                takers = [r.lane for r in mine if lane.name in r.accepts]
                assert takers == [taker(design, lane.name, svc.name)], (topic, svc, lane)
            assert [r.lane for r in mine if r.untagged] == [design.baseline]


# -- the rows ---------------------------------------------------------------------------------
def test_the_worked_example_rows():
    rows = {r.lane: r for r in consumer_rows(orders())}
    assert set(rows) == {"s1", "s2"}  # s3 holds no shipping version
    assert rows["s1"].name == "shipping-s1" and rows["s1"].accepts == ("s1", "s3")
    assert rows["s1"].untagged and not rows["s2"].untagged
    assert rows["s2"].name == "shipping-s2" and rows["s2"].accepts == ("s2",)
    assert rows["s2"].to_dict()["consumerGroup"] == "shipping-s2"
    check_rows_follow_the_rule(orders())


def test_a_fallback_override_takes_the_lanes_it_serves():
    design = orders().with_(fallback=(("shipping", "s2"),))
    rows = {r.lane: r for r in consumer_rows(design)}
    assert rows["s1"].accepts == ("s1",) and rows["s2"].accepts == ("s2", "s3")
    check_rows_follow_the_rule(design)


def test_strict_mode_every_lane_takes_only_its_own_key():
    base = orders()
    every = tuple(s.name for s in base.services)
    design = base.with_(mode="strict", lanes=tuple(
        Lane(ln.name, ln.labels, every) for ln in base.lanes))
    rows = consumer_rows(design)
    assert sorted((r.lane, r.accepts) for r in rows) == [
        ("s1", ("s1",)), ("s2", ("s2",)), ("s3", ("s3",))]
    check_rows_follow_the_rule(design)


def test_the_rule_check_can_fail():
    """The independent check is not vacuous: rows claiming s3's key for s2 fail it."""
    design = orders()
    wrong = design.with_(lanes=tuple(
        Lane(ln.name, ln.labels, (*ln.services, "shipping")) if ln.name == "s3" else ln
        for ln in design.lanes))
    rows = consumer_rows(wrong)  # rows of another design...
    assert [r.lane for r in rows if "s3" in r.accepts] == ["s3"]
    assert taker(design, "s3", "shipping") == "s1"  # ...disagree with this design's rule


def test_rabbitmq_gets_a_queue_per_lane_bound_with_the_keys_it_takes():
    design = orders().with_(topics=(Topic("orders", "rabbitmq", "exchange"),))
    rows = {r.lane: r.to_dict() for r in consumer_rows(design)}
    assert rows["s1"]["queue"] == "orders.s1" and rows["s1"]["boundTo"] == "orders"
    assert rows["s1"]["bindingKeys"] == ["s1", "s3"]
    assert "consumerGroup" not in rows["s1"]
    # a second consumer of the exchange needs queues of its own
    two = design.with_service(Service("billing", consumes=("orders",)))
    two = two.with_membership("s1", "billing", True)
    names = sorted(r.name for r in consumer_rows(two))
    assert names == ["orders.billing.s1", "orders.shipping.s1", "orders.shipping.s2"]
    check_rows_follow_the_rule(two)
    assert set(expected_groups(two)) == {("orders", n) for n in names}


def test_no_topics_no_rows_and_a_finding_says_so():
    plan = consumer_plan(orders().with_(topics=()))
    assert plan.rows == () and {f.code for f in plan.findings} >= {"LD730", "LD731"}


def test_findings_for_an_unknown_broker_and_a_consumer_that_does_not_filter():
    design = orders().with_(topics=(Topic("orders", "tibco"),))
    design = design.with_service(Service(
        "shipping", calls=("inventory",), consumes=("orders",), filters_by_lane=False))
    found = {(f.code, f.path) for f in consumer_plan(design).findings}
    assert ("LD732", "spec.topics[0].broker") in found
    assert ("LD733", "spec.services[2].filtersByLane") in found
    assert "LD733" not in {f.code for f in consumer_plan(orders()).findings}


# -- the objects -------------------------------------------------------------------------------
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
CM_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
FIELD_PATH = re.compile(r"^metadata\.labels\['[^']+'\]$")


def config_map_problems(obj: dict) -> list[str]:
    """Why ``obj`` is not a ConfigMap Kubernetes takes (string data under valid keys)."""
    out = []
    if (obj.get("apiVersion"), obj.get("kind")) != ("v1", "ConfigMap"):
        out.append("not a v1 ConfigMap")
    for key, value in obj.get("data", {}).items():
        if not CM_KEY.match(key) or not ENV_NAME.match(key):
            out.append(f"key {key!r} is not a ConfigMap key usable by envFrom")
        if not isinstance(value, str):
            out.append(f"{key}: {value!r} is not a string")
    return out


def patch_problems(obj: dict) -> list[str]:
    """Why ``obj`` is not a strategic-merge patch of a Deployment's containers that merges:
    containers merge on ``name``, env entries on ``name`` and hold one source each."""
    out = []
    if (obj.get("apiVersion"), obj.get("kind")) != ("apps/v1", "Deployment"):
        out.append("not an apps/v1 Deployment")
    if set(obj) != {"apiVersion", "kind", "metadata", "spec"} or set(obj["spec"]) != {
            "template"}:
        out.append("a patch that touches more than the pod template")
    for c in obj["spec"]["template"]["spec"]["containers"]:
        if not c.get("name"):
            out.append("a container without its merge key `name`")
        for env in c.get("env", []):
            if not ENV_NAME.match(env.get("name", "")):
                out.append(f"env name {env.get('name')!r}")
            if ("value" in env) == ("valueFrom" in env):
                out.append(f"{env.get('name')}: needs exactly one of value, valueFrom")
            path = env.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath", "")
            if "valueFrom" in env and not FIELD_PATH.match(path):
                out.append(f"fieldPath {path!r}")
    return out


def test_the_objects_have_kubernetes_shapes():
    plan = consumer_plan(orders())
    kinds = [o["kind"] for o in plan.objects]
    assert kinds == ["ConfigMap", "Deployment"] * 4  # checkout and shipping in s1 and s2
    for obj in plan.objects:
        problems = config_map_problems(obj) if obj["kind"] == "ConfigMap" else \
            patch_problems(obj)
        assert problems == [], obj
    shipping_s2 = next(o for o in plan.objects if o["metadata"]["name"] == "shipping-s2-lanes")
    assert shipping_s2["data"]["LANE_TOPIC_ORDERS_CONSUMER_GROUP"] == "shipping-s2"
    assert shipping_s2["data"]["LANE_TOPIC_ORDERS_ACCEPTS"] == "s2"
    assert shipping_s2["data"]["LANE_TOPIC_ORDERS_UNTAGGED"] == "false"


def test_the_shape_checks_can_fail():
    good = consumer_plan(orders()).objects
    cm = {**good[0], "data": {"LANE_PORT": 9092, "bad key": "x"}}
    assert len(config_map_problems(cm)) == 2
    patch = json.loads(json.dumps(good[1]))
    container = patch["spec"]["template"]["spec"]["containers"][0]
    del container["name"]
    container["env"][0]["value"] = "s1"
    container["env"][0]["valueFrom"]["fieldRef"]["fieldPath"] = "metadata.labels.version"
    assert len(patch_problems(patch)) == 3


def test_the_lane_env_reads_a_label_that_holds_the_lane_name():
    """Where every lane has a label whose value is its name, the env var reads it and the
    patches add no label; otherwise they add ``lanedesign.io/lane``."""
    plan = consumer_plan(orders())
    patch = next(o for o in plan.objects if o["kind"] == "Deployment")
    env = patch["spec"]["template"]["spec"]["containers"][0]["env"][0]
    assert env["name"] == LANE_ENV
    assert env["valueFrom"]["fieldRef"]["fieldPath"] == f"metadata.labels['{LANE_LABEL}']"
    assert patch["spec"]["template"]["metadata"]["labels"] == {LANE_LABEL: "s1"}
    design = orders()
    tagged = design.with_(lanes=tuple(
        Lane(ln.name, (*ln.labels, ("ASM_TRAFFIC_TAG", ln.name)), ln.services)
        for ln in design.lanes))
    plan = consumer_plan(tagged)
    patch = next(o for o in plan.objects if o["kind"] == "Deployment")
    env = patch["spec"]["template"]["spec"]["containers"][0]["env"][0]
    assert env["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.labels['ASM_TRAFFIC_TAG']"
    assert "metadata" not in patch["spec"]["template"]
    assert "LD734" not in {f.code for f in plan.findings}


def test_the_properties_follow_the_pass_through_method():
    plan = consumer_plan(orders())
    assert plan.properties.tag == "baggage"
    assert plan.properties.tag_form == "x-asm-prefer-tag=<request's lane>"
    header = consumer_plan(orders().with_method("header"))
    assert header.properties.tag == "x-asm-prefer-tag"


# -- the command --------------------------------------------------------------------------------
def test_cli_table_says_the_mesh_does_not_do_this(capsys):
    assert main(["consumers", str(ORDERS)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("NOTE: The mesh does not route messages")
    assert "shipping@s1: group shipping-s1 takes keys s1,s3 + untagged" in out
    assert "shipping@s2: group shipping-s2 takes keys s2\n" in out
    assert "shop/shipping-v2: app=shipping,version=v2" in out


def test_cli_json_is_one_document(capsys):
    assert main(["consumers", str(ORDERS), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["note"].startswith("The mesh does not route messages")
    assert [c["consumerGroup"] for c in data["consumers"]] == ["shipping-s1", "shipping-s2"]
    assert data["producers"] == [{"topic": "orders", "services": ["checkout"]}]
    assert "LD730" in {f["code"] for f in data["findings"]}


def test_cli_yaml_is_the_objects(capsys):
    assert main(["consumers", str(ORDERS), "--format", "yaml"]) == 0
    text = capsys.readouterr().out
    assert "# The mesh does not route messages" in text
    docs = [d for d in text.split("\n---\n")[1:]]
    objects = [load_plain(d) for d in docs]
    assert objects == list(consumer_plan(orders()).objects)


def test_cli_refuses_a_broken_design(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(ORDERS.read_text().replace("baseline: s1", "baseline: s9"))
    assert parse_design(bad.read_text()).design is not None
    assert main(["consumers", str(bad), "--format", "yaml"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "LD2" in captured.err


# -- against a real kube-apiserver ----------------------------------------------------------------
@pytest.mark.kube
def test_the_patch_merges_into_a_real_deployment(control_plane):
    """The server takes the ConfigMap and merges the patch into the team's Deployment: its
    container keeps its image and gains the env var and the ConfigMap."""
    plan = consumer_plan(orders())
    cm = next(o for o in plan.objects if o["metadata"]["name"] == "shipping-s2-lanes")
    patch = next(o for o in plan.objects if o["metadata"].get("name") == "shipping-v2"
                 and o["kind"] == "Deployment")
    labels = {"app": "shipping", "version": "v2"}
    team = {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "shipping-v2", "namespace": "shop"},
            "spec": {"selector": {"matchLabels": labels}, "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "shipping", "image": "shop/shipping:2",
                                         "env": [{"name": "BROKER", "value": "kafka:9092"}]}]}}}}
    control_plane.ensure_namespace("shop")
    control_plane.apply(team)
    control_plane.apply(cm)
    control_plane.request("PATCH", "/apis/apps/v1/namespaces/shop/deployments/shipping-v2",
                          patch, content_type="application/strategic-merge-patch+json")
    got = control_plane.get("/apis/apps/v1/namespaces/shop/deployments/shipping-v2")
    template = got["spec"]["template"]
    (container,) = template["spec"]["containers"]
    assert container["image"] == "shop/shipping:2"
    assert [e["name"] for e in container["env"]] == [LANE_ENV, "BROKER"] or \
        [e["name"] for e in container["env"]] == ["BROKER", LANE_ENV]
    assert container["envFrom"] == [{"configMapRef": {"name": "shipping-s2-lanes"}}]
    assert template["metadata"]["labels"] == {**labels, LANE_LABEL: "s2"}
    stored = control_plane.get("/api/v1/namespaces/shop/configmaps/shipping-s2-lanes")
    assert stored["data"] == cm["data"]


# -- random designs ------------------------------------------------------------------------
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_random_designs_every_key_has_exactly_the_rules_consumer(data):
    """On random designs (fallback overrides, strict mode, partial lanes) with a random topic,
    the rows agree with the independent rule above, and every consumer version's objects
    keep their shapes."""
    design = data.draw(designs())
    names = list(design.service_names)
    assume(names and len(set(names)) == len(names))
    assume(len(set(design.lane_names)) == len(design.lanes))
    assume(design.lane(design.baseline) is not None)  # else a validation error
    consumers = data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=3,
                                   unique=True))
    producer = data.draw(st.sampled_from(names))
    broker = data.draw(st.sampled_from(["kafka", "rabbitmq", "sqs", "tibco", ""]))
    services = tuple(
        replace(s, consumes=("jobs",) if s.name in consumers else (),
                publishes=("jobs",) if s.name == producer else ())
        for s in design.services)
    design = design.with_(services=services, topics=(Topic("jobs", broker),))
    check_rows_follow_the_rule(design)
    assert consumer_rows(design)  # the baseline holds every consumer: never vacuous
    for obj in consumer_plan(design).objects:
        problems = config_map_problems(obj) if obj["kind"] == "ConfigMap" else \
            patch_problems(obj)
        assert problems == []
