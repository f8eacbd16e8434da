"""``lanedesign observe`` against a real Prometheus (Debian's package) holding synthetic
traffic with injected faults: it must report exactly the faults, with the generator's counts."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest
from conftest import ROOT
from observe_scenarios import scenarios
from prometheus_tier import INSTALL_HINT, LocalPrometheus, required, tools

from lanedesign.cli import main
from lanedesign.designfile import save_design
from lanedesign.observe import Prometheus, compare, observe, synthetic_samples

SCENARIOS = {s.name: s for s in scenarios()}


@pytest.fixture(scope="session")
def prom(tmp_path_factory):
    """One Prometheus over every scenario: (url, {scenario: the time its window ends})."""
    if tools() is None:
        if required():
            pytest.fail(f"prometheus is required under CI: {INSTALL_HINT}")
        pytest.skip(f"prometheus/promtool not installed: {INSTALL_HINT}")
    tier = LocalPrometheus(tmp_path_factory.mktemp("prometheus"))
    ats = {name: tier.add(s.samples()) for name, s in SCENARIOS.items()}
    with tier:
        tier.start()
        yield tier.url, ats


def run_observe(capsys, tmp_path, name, prom, *extra):
    url, ats = prom
    path = tmp_path / f"{name}.yaml"
    save_design(SCENARIOS[name].design, path)
    code = main(["observe", str(path), "--prometheus", url, "--at", str(ats[name]),
                 "--format", "json", *extra])
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_observe_reports_exactly_the_injected_faults(name, prom, capsys, tmp_path):
    scenario = SCENARIOS[name]
    code, data = run_observe(capsys, tmp_path, name, prom)
    found = {(f["code"], f["path"]) for f in data["findings"] if f["severity"] != "info"}
    assert found == scenario.expected
    assert code == (1 if scenario.expected else 0)
    assert data["queries"] == 1 and data["tagged"] is scenario.tagged
    assert data["window"] == "15m" and data["series"] > 0


def test_the_counts_are_the_generators(prom, capsys, tmp_path):
    """40% of lane s2's 600 calls mockb -> mockc lost the context and reached v1."""
    code, data = run_observe(capsys, tmp_path, "mock-tagged", prom)
    assert code == 1
    cell = next(c for c in data["calls"] if c["lanes"] == ["s2"] and c["caller"] == "mockb")
    assert cell["expected"] == ["v2"] and cell["calls"] == 600
    assert cell["reached"] == {"v1": {"count": 240, "share": 0.4},
                               "v2": {"count": 360, "share": 0.6}}
    assert cell["lost_context"] == 240
    finding = next(f for f in data["findings"] if f["code"] == "LD802")
    assert finding["message"].startswith("lane s2: mockb -> mockc reached v1 in 40% of calls")
    assert "mockb may drop the lane context" in finding["hint"]
    entry = next(c for c in data["calls"] if c["lanes"] == ["s2"] and c["caller"] is None)
    assert entry["reached"] == {"v2": {"count": 600, "share": 1.0}}


def test_prometheus_answers_what_the_generator_made(prom):
    """The comparison of Prometheus's answer equals that of the samples themselves."""
    url, ats = prom
    for name in ("seeded-1", "mock-tagged", "untagged"):
        s = SCENARIOS[name]
        direct = compare(s.design, synthetic_samples(s.design, faults=s.faults, tagged=s.tagged))
        seen = observe(s.design, Prometheus(url), at=ats[name]).comparison
        assert seen.findings == direct.findings
        assert [c.to_dict() for c in seen.cells] == [c.to_dict() for c in direct.cells]


def test_untagged_says_which_hops_cannot_be_told_apart(prom, capsys, tmp_path):
    code, data = run_observe(capsys, tmp_path, "untagged", prom)
    assert code == 1
    hops = {(r["caller"], r["callee"]): r["lanes"] for r in data["indistinguishable"]}
    assert hops == {(None, "mocka"): {"s1": ["v1"], "s2": ["v2"], "s3": ["v1"]},
                    ("mocka", "mockb"): {"s1": ["v1"], "s3": ["v3"]}}
    assert [f["code"] for f in data["findings"] if f["severity"] == "info"] == ["LD806"]
    cell = next(c for c in data["calls"] if c["lanes"] == ["s2"] and c["caller"] == "mockb")
    assert cell["inferred"] and cell["reached"]["v1"]["share"] == 0.4


def test_a_window_without_traffic(prom, capsys, tmp_path):
    code, data = run_observe(capsys, tmp_path, "mock-clean", prom, "--window", "1m",
                             "--at", str(prom[1]["mock-clean"] - 3600))
    assert code == 1 and [f["code"] for f in data["findings"]] == ["LD810"]


def test_text_output_names_lanes_calls_and_findings(prom, tmp_path):
    url, ats = prom
    path = tmp_path / "mock.yaml"
    save_design(SCENARIOS["mock-tagged"].design, path)
    proc = subprocess.run([sys.executable, "-m", "lanedesign", "observe", str(path),
                           "--prometheus", url, "--at", str(ats["mock-tagged"])],
                          capture_output=True, text=True, timeout=60, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "lane s2" in proc.stdout
    assert "mockb -> mockc: expects v2; reached v2 60% (360), v1 40% (240)" in proc.stdout
    assert "LD802" in proc.stdout


def test_wrong_api_path_is_a_clear_error(prom, capsys, tmp_path):
    url = prom[0]
    path = tmp_path / "mock.yaml"
    save_design(SCENARIOS["mock-clean"].design, path)
    code = main(["observe", str(path), "--prometheus", url + "/nothing-here", "--format",
                 "json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 1 and data["error"]["status"] == 404
    assert data["findings"][0]["code"] == "LD800"


def test_unreachable_prometheus_and_the_token_never_shown(tmp_path, capsys):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = tmp_path / "token"
    token.write_text("s3cr3t-t0ken\n")
    path = tmp_path / "mock.yaml"
    save_design(SCENARIOS["mock-clean"].design, path)
    proc = subprocess.run(
        [sys.executable, "-m", "lanedesign", "observe", str(path), "--prometheus",
         f"http://user:pw@127.0.0.1:{port}", "--token-file", str(token)],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: cannot reach Prometheus")
    for secret in ("s3cr3t", "pw@", "Traceback"):
        assert secret not in proc.stdout + proc.stderr
    client = Prometheus(f"http://127.0.0.1:{port}", "s3cr3t-t0ken")
    assert "s3cr3t" not in repr(client)


@pytest.mark.parametrize("args, message", [
    (["--window", "15 minutes"], "--window"),
    (["--at", "yesterday"], "--at"),
    (["--token-file", "/nonexistent/token"], "--token-file"),
    (["--tolerance", "2"], "--tolerance"),
])
def test_usage_errors_exit_2(args, message, tmp_path, capsys):
    path = tmp_path / "mock.yaml"
    save_design(SCENARIOS["mock-clean"].design, path)
    code = main(["observe", str(path), "--prometheus", "http://127.0.0.1:9", *args])
    assert code == 2 and message in capsys.readouterr().err


def test_a_url_that_is_not_http_is_a_usage_error(tmp_path, capsys):
    path = tmp_path / "mock.yaml"
    save_design(SCENARIOS["mock-clean"].design, path)
    assert main(["observe", str(path), "--prometheus", "prometheus:9090"]) == 2
    assert main(["observe", str(tmp_path / "missing.yaml"), "--prometheus",
                 "http://127.0.0.1:9"]) == 2


def test_import_traffic_adds_the_calls_the_design_lacks(prom, capsys, tmp_path):
    url, ats = prom
    path = tmp_path / "mock.yaml"
    save_design(SCENARIOS["untagged"].design, path)
    out = tmp_path / "completed.yaml"
    code = main(["import-traffic", str(path), "--prometheus", url, "--at",
                 str(ats["untagged"]), "--out", str(out), "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["file"] == str(out)
    calls = {s["name"]: s.get("calls", []) for s in data["design"]["spec"]["services"]}
    assert calls == {"mocka": ["mockb", "mockc"], "mockb": ["mockc"], "mockc": []}
    assert "added call mocka -> mockc (1800 calls in the window)" in data["notes"]
    # the completed design now observes clean where only the extra call was wrong
    code = main(["observe", str(out), "--prometheus", url, "--at", str(ats["untagged"]),
                 "--format", "json"])
    again = json.loads(capsys.readouterr().out)
    assert "LD804" not in [f["code"] for f in again["findings"]]


def test_import_traffic_proposes_a_new_design(prom, capsys):
    url, ats = prom
    code = main(["import-traffic", "--prometheus", url, "--at", str(ats["mock-tagged"]),
                 "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0, data["findings"]
    spec = data["design"]["spec"]
    assert [(s["name"], s.get("calls", [])) for s in spec["services"]] == [
        ("mocka", ["mockb"]), ("mockb", ["mockc"]), ("mockc", [])]
    assert {ln["name"]: ln["services"] for ln in spec["lanes"]} == {
        "v1": ["mocka", "mockb", "mockc"], "v2": ["mocka", "mockc"], "v3": ["mockb"]}
    assert spec["baseline"] == "v1" and spec["ingress"]["entry"] == "mocka"
    assert any(n.startswith("a new design: lanes from the version label values")
               for n in data["notes"])


def test_the_designers_traffic_part_asks_prometheus(prom):
    from lanedesign.widgets.state import DesignState
    from lanedesign.widgets.traffic import TrafficPart

    url, ats = prom
    part = TrafficPart(DesignState(SCENARIOS["mock-tagged"].design))
    part.url.value = url
    part.run(at=ats["mock-tagged"])
    assert "lane tag present" in part.status.value
    assert "LD802" in part.findings.value and "<svg" in part.view.value


def test_the_observe_benchmark_reports_one_query_per_observation(prom, capsys):
    """Shapes, never times: ``python -m benchmarks.observe --quick`` (its own Prometheus)."""
    from benchmarks.observe import main as bench

    assert bench(["--quick", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)["observe"]
    assert [(r["size"], r["tagged"]) for r in rows] == [("M", True), ("M", False)]
    for r in rows:
        assert r["queries"] == 1 and r["series"] > 0 and r["median_s"] > 0 < r["floor_s"]
        assert r["findings"] in ([], ["LD806"])
