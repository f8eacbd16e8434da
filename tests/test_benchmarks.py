"""The benchmark generator and harness: shapes and output, never times."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections import deque

import pytest
from conftest import ROOT

from benchmarks import floors, timing
from benchmarks.__main__ import parse_args
from benchmarks.generate import MAX_FAN_OUT, SIZES, design_for, synthetic_design
from lanedesign import examples, validate
from lanedesign.findings import has_errors

METRICS = {"validate", "matrix", "simulate", "emit", "serialise", "export", "diagram", "refresh",
           "memory", "designer_open", "designer_edit"}


def depths(design) -> dict[str, int]:
    """Fewest calls from the entry service to each service."""
    graph = floors.call_graph(design)
    entry = design.ingress.entry
    seen = {entry: 0}
    queue = deque([entry])
    while queue:
        name = queue.popleft()
        for callee in graph[name]:
            if callee not in seen:
                seen[callee] = seen[name] + 1
                queue.append(callee)
    return seen


def test_s_is_the_mock_scenario():
    assert design_for("S") == examples.load("mock-baggage")


def test_the_generator_is_seeded():
    assert design_for("M") == design_for("M")
    assert synthetic_design(50, 10, seed=1) != synthetic_design(50, 10, seed=2)


@pytest.mark.parametrize("size", ["M", "L", "XL"])
def test_generated_designs_have_the_size_and_validate_clean(size):
    design = design_for(size)
    assert len(design.services) == SIZES[size].services
    assert len(design.lanes) == SIZES[size].lanes
    assert len(set(design.service_names)) == len(design.services)
    findings = validate(design)
    assert not has_errors(findings), [f for f in findings if f.severity == "error"]
    assert "LD404" not in {f.code for f in findings}  # every service is reachable


@pytest.mark.parametrize("size", ["M", "L", "XL"])
def test_generated_designs_look_like_a_mesh(size):
    design = design_for(size)
    n = len(design.services)
    fan_outs = [len(svc.calls) for svc in design.services if svc.calls]
    assert max(fan_outs) <= MAX_FAN_OUT and min(fan_outs) >= 1
    assert 1 < max(depths(design).values()) <= 8
    baseline = design.baseline_lane()
    assert baseline is not None and len(baseline.services) == n
    for lane in design.lanes:
        if lane is not baseline:
            assert 0.05 * n - 1 <= len(lane.services) <= 0.30 * n + 1
    assert design.fallback, "some services have a per-service fallback target"
    assert any(not svc.propagates for svc in design.services)


def test_large_meshes_have_a_few_cycles_and_both_ingress_strategies():
    large = design_for("L")
    assert "LD402" in {f.code for f in validate(large)}
    assert {design_for(s).ingress.strategy for s in ("M", "L", "XL")} == {"rules", "weighted"}


def test_floors_do_the_same_work():
    design = examples.load("shop")
    assert floors.bfs(floors.call_graph(design), design.ingress.entry) == len(depths(design))
    calls = sum(len(s.calls) for s in design.services)
    members = sum(len(lane.services) for lane in design.lanes)
    assert floors.scan_design(design) == calls + members
    source = floors.bare_dot(["a", "b"], [("a", "b")])
    assert source.count("->") == 1 and source.startswith("digraph {")


def test_dot_graph_reads_back_what_graphviz_writes():
    from graphviz import Digraph

    g = Digraph(graph_attr={"rankdir": "LR"}, node_attr={"shape": "box"})
    g.node("n0", label="mocka\\n@s2")
    with g.subgraph(name="cluster_0") as box:
        box.attr(label="lane s2")
        box.node("n 1", label='say "hi"')
        box.edge("n0", "n 1", label="fallback -> s1", style="dashed")
    g.edge("n 1", "n2")
    nodes, edges = floors.dot_graph(g.source)
    assert nodes == ["n0", "n 1", "n2"]
    assert edges == [("n0", "n 1"), ("n 1", "n2")]
    assert floors.dot_graph(floors.bare_dot(nodes, edges)) == (nodes, edges)


def test_sample_counts_follow_the_budget(monkeypatch):
    budget = timing.Budget(seconds=1.0, min_repeats=2, max_repeats=9)
    assert [budget.repeats(x) for x in (10.0, 0.25, 1e-6)] == [2, 4, 9]
    calls = {"a": 0, "b": 0, "floor": 0}

    def count(name):
        return lambda: calls.__setitem__(name, calls[name] + 1)

    metrics = timing.measure_against({"a": count("a"), "b": count("b")}, count("floor"),
                                     "nothing", timing.Budget(1.0, 3, 3))
    assert [m.name for m in metrics] == ["a", "b"] and calls == {"a": 4, "b": 4, "floor": 4}
    assert metrics[0].floor == metrics[1].floor and metrics[0].repeats == 3  # warm-up excluded
    monkeypatch.setattr(timing, "SLOW_WORK", -1.0)  # everything counts as slow work now
    slow = timing.measure("a", count("a"), count("floor"), "nothing", timing.FULL)
    assert slow.repeats == 2 and calls["a"] == 6  # the warm-up is one of the two samples


def test_usage_errors():
    assert parse_args(["--quick"]).sizes == ["S", "M"]
    assert parse_args(["--sizes", "l, xl"]).sizes == ["L", "XL"]
    with pytest.raises(SystemExit) as exc:
        parse_args(["--sizes", "S,Q"])
    assert exc.value.code == 2


def test_quick_run_prints_one_json_document_with_every_figure_and_its_floor():
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--format", "json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert list(doc["sizes"]) == ["S", "M"] and doc["quick"] is True
    assert doc["machine"]["nproc"] >= 1 and doc["machine"]["python"]
    for size, entry in doc["sizes"].items():
        assert entry["services"] == SIZES[size].services
        metrics = entry["metrics"]
        assert set(metrics) == METRICS
        for name, m in metrics.items():
            for key in ("median", "floor", "ratio"):
                assert isinstance(m[key], float) and m[key] > 0, (size, name, key)
            assert math.isclose(m["ratio"], m["median"] / m["floor"])
            assert m["repeats"] >= 1 and m["floor_is"]
    assert metrics["memory"]["unit"] == "B" and metrics["validate"]["unit"] == "s"
    assert metrics["refresh"]["detail"]["parts"] == ["edit", "validate", "matrix", "diagram"]
    assert metrics["diagram"]["detail"]["edges"] >= 1
    assert metrics["designer_edit"]["detail"]["visible_tab"] == "Lanes"
    assert metrics["simulate"]["detail"]["states_per_request"] >= 50  # M: every service
    # the export and simulate ratios of S and of M, the refresh of M
    assert len(doc["targets"]) == 5
    assert all(isinstance(t["met"], bool) and t["value"] > 0 for t in doc["targets"])
