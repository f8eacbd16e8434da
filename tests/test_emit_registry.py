"""The registry is the one place a target is named: a throwaway target registered here shows
up in the CLI, the designer's Export tab, validate and the cluster planner unchanged."""

from __future__ import annotations

import json

import pytest
from kube_standin import CORE, running

from lanedesign import examples
from lanedesign.cli import main
from lanedesign.cluster import TargetNotServed, connect, diff, discover, plan_steps, target_kinds
from lanedesign.emit import TargetError, emit, registry
from lanedesign.emit.common import managed_labels
from lanedesign.emit.target import Target
from lanedesign.findings import make
from lanedesign.model import LaneDesign
from lanedesign.validate import validate
from lanedesign.widgets import Designer

TOY_GROUP = "toy.example.com"
TOY_KIND = ("toy.example.com/v1", "ToyRoute")
TOY_SERVED = ("toy.example.com", "v1", "toyroutes", "ToyRoute")


def toy_emit(design: LaneDesign) -> list[dict]:
    return [{"apiVersion": TOY_KIND[0], "kind": TOY_KIND[1],
             "metadata": {"name": design.name, "namespace": design.namespace,
                          "labels": managed_labels(design)},
             "spec": {"lanes": list(design.lane_names)}}]


def toy_problems(design: LaneDesign) -> list:
    # refuses weighted ingress, with a code of the catalogue
    if design.ingress is not None and design.ingress.strategy == "weighted":
        return [make("LD610", "spec.ingress", "toys cannot weigh")]
    return []


TOY = Target(name="toy", label="Toy mesh", kinds=(TOY_KIND,), routing_kinds=frozenset({"ToyRoute"}),
             install_hint={TOY_GROUP: "Install the toy mesh."}, problems=toy_problems,
             emit=toy_emit)


@pytest.fixture
def toy():
    registry.register(TOY)
    yield TOY
    registry.unregister(TOY.name)


def test_built_in_targets_are_listed_by_name():
    assert registry.names()[:2] == ("istio", "asm")
    assert registry.target("asm").label == "Alibaba Cloud ASM"
    with pytest.raises(ValueError, match="known: istio, asm"):
        registry.target("nope")


def test_each_target_module_states_its_kinds_once():
    assert registry.group_kinds()["istio.alibabacloud.com"] == registry.target("asm").kinds
    assert registry.routing_kinds() >= {"VirtualService", "EnvoyFilter", "ASMSwimLane"}
    assert "DestinationRule" not in registry.routing_kinds()  # subsets first, then routes


def test_a_registered_target_is_a_cli_choice_and_exports(toy, capsys, tmp_path):
    design = examples.path("mock-header")
    assert main(["validate", str(design), "--target", "toy", "--format", "json"]) == 0
    capsys.readouterr()
    assert main(["export", str(design), "--target", "toy", "--format", "json"]) == 0
    [obj] = json.loads(capsys.readouterr().out)["objects"]
    assert obj["kind"] == "ToyRoute"
    assert main(["export", str(examples.path("mock-weighted")), "--target", "toy"]) == 1
    captured = capsys.readouterr()
    assert "LD610" in captured.err and captured.out == ""


def test_without_registering_it_the_cli_refuses_the_name(capsys):
    assert main(["validate", str(examples.path("mock-header")), "--target", "toy"]) == 2
    assert "invalid choice: 'toy'" in capsys.readouterr().err


def test_a_registered_target_is_checked_by_validate_and_emitted(toy):
    weighted = examples.load("mock-weighted")
    assert [f.code for f in validate(weighted, "toy") if f.code != "LD511"] == ["LD610"]
    assert emit(examples.load("mock-header"), "toy")[0]["kind"] == "ToyRoute"


def test_a_registered_target_is_a_choice_of_the_export_tab(toy):
    designer = Designer(examples.load("mock-header"))
    export = designer.show(designer.export)
    assert ("Toy mesh", "toy") in export.target.options
    export.target.value = "toy"
    assert "1 objects" in export.status.value and "kind: ToyRoute" in export.preview.value
    designer.state.replace(examples.load("mock-weighted"), "weighted")
    export = designer.show(designer.export)
    assert "Toy mesh cannot express this design" in export.status.value


def test_the_planner_discovers_routes_and_hints_a_registered_target(toy, tmp_path):
    design = examples.load("mock-header")
    assert target_kinds("toy") == (TOY_KIND,)
    with running(tmp_path, *CORE) as served, connect(served.kubeconfig) as cluster:
        assert "toy" not in discover(cluster).targets
        with pytest.raises(TargetNotServed) as refused:
            diff(cluster, toy_emit(design), design.name)
        assert refused.value.hint == "Install the toy mesh."
    with running(tmp_path, TOY_SERVED, *CORE) as served, connect(served.kubeconfig) as cluster:
        found = discover(cluster)
        assert "toy" in found.targets and found.groups[TOY_GROUP] == ["v1"]
        plan = diff(cluster, toy_emit(design), design.name)
    [step] = plan_steps(plan)
    assert (step.phase, step.ref.kind) == ("route", "ToyRoute")


@pytest.mark.parametrize("name", ["istio", "asm"])
def test_a_target_reads_back_what_it_emits(name):
    target = registry.target(name)
    design = examples.load("mock-weighted" if name == "asm" else "mock-baggage")
    read = target.read(target.emit(design))
    assert read.design is not None and read.design.name == design.name
    assert [(ln.name, ln.labels, ln.services) for ln in read.design.lanes] == \
        [(ln.name, ln.labels, ln.services) for ln in design.lanes]


def test_ld601_is_written_once_the_validator_and_the_emitter_agree():
    traceid = examples.load("mock-traceid")
    [from_validate] = [f for f in validate(traceid, "istio") if f.code == "LD601"]
    with pytest.raises(TargetError) as refused:
        emit(traceid, "istio")
    assert refused.value.finding == from_validate
