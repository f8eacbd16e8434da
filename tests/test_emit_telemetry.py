"""The opt-in Telemetry resource: schema-valid, and its CEL expression yields the lane."""

from __future__ import annotations

import json

import celpy
import pytest
from istio_schema import schema_errors

from lanedesign import examples
from lanedesign.cli import main
from lanedesign.emit import TargetError
from lanedesign.emit.telemetry import emit_telemetry, lane_tag_expression


@pytest.mark.shared
@pytest.mark.parametrize("name", ["mock-baggage", "shop"])
def test_telemetry_is_valid_against_istios_crd(name, shared_dir):
    objects = emit_telemetry(examples.load(name))
    assert objects
    for obj in objects:
        assert schema_errors(shared_dir, obj) == []
        # the CRD's CEL rule (not evaluated by jsonschema): UPSERT needs a non-empty value
        for metric in obj["spec"]["metrics"]:
            for override in metric["overrides"]:
                for tag in override["tagOverrides"].values():
                    assert tag["operation"] == "UPSERT" and tag["value"]


@pytest.mark.shared
def test_the_schema_check_bites(shared_dir):
    (obj,) = emit_telemetry(examples.load("mock-baggage"))
    obj["spec"]["metrics"][0]["overrides"][0]["match"]["metric"] = "LANE_COUNT"
    obj["spec"]["metrics"][0]["overrides"][0]["tagOverrides"]["lane"]["op"] = "SET"
    assert len(schema_errors(shared_dir, obj)) == 2


def test_one_per_namespace_of_the_design():
    shop = examples.load("shop")
    objects = emit_telemetry(shop)
    assert [o["metadata"]["namespace"] for o in objects] == sorted(
        {shop.namespace_of(s) for s in shop.service_names})
    assert {o["metadata"]["name"] for o in objects} == {"shop-lane-tag"}


def evaluate(expression: str, headers: dict[str, str]) -> str:
    env = celpy.Environment()
    program = env.program(env.compile(expression))
    return str(program.evaluate({"request": celpy.json_to_cel({"headers": headers})}))


def test_the_expression_is_cel_and_gives_the_lane_or_none():
    expression = lane_tag_expression("x-asm-prefer-tag")
    assert evaluate(expression, {"x-asm-prefer-tag": "s2", "baggage": "a=b"}) == "s2"
    assert evaluate(expression, {"baggage": "x-asm-prefer-tag=s2"}) == "none"
    # the `|` default of Istio's old attribute expressions is not CEL: it would not load
    with pytest.raises(celpy.CELParseError):
        celpy.Environment().compile("request.headers['x-asm-prefer-tag'] | 'none'")


def test_a_header_that_could_break_the_expression_is_refused():
    with pytest.raises(TargetError) as caught:
        lane_tag_expression("x-lane']+'")
    assert caught.value.finding.code == "LD102"


def test_export_adds_it_only_when_asked(capsys, tmp_path):
    from conftest import ROOT

    design = ROOT / "examples" / "mock-baggage.yaml"
    assert main(["export", str(design), "--target", "istio", "--format", "json"]) == 0
    plain = json.loads(capsys.readouterr().out)["objects"]
    assert main(["export", str(design), "--target", "istio", "--telemetry",
                 "--format", "json"]) == 0
    tagged = json.loads(capsys.readouterr().out)["objects"]
    assert tagged[:-1] == plain and tagged[-1]["kind"] == "Telemetry"
    assert main(["export", str(design), "--target", "istio", "--telemetry", "--out",
                 str(tmp_path)]) == 0
    assert (tmp_path / "default" / "telemetry-mock-baggage-lane-tag.yaml").is_file()
