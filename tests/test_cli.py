"""The command line contract of design-file.md: output shapes, exit codes, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import ROOT

from lanedesign.cli import main

EX = ROOT / "examples"


def run(*args: str, cwd=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lanedesign", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=60)


def run_json(capsys, *args: str) -> tuple[int, dict]:
    code = main([*map(str, args), "--format", "json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_console_script_and_module_both_work():
    proc = run("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("lanedesign ")
    script = ROOT / ".venv" / "bin" / "lanedesign"
    exe = script if script.exists() else "lanedesign"
    proc = subprocess.run([str(exe), "validate", str(EX / "mock-baggage.yaml")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_validate_json_clean(capsys):
    code, data = run_json(capsys, "validate", EX / "mock-baggage.yaml")
    assert code == 0 and data == {"findings": []}


def test_validate_json_with_errors(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text((EX / "mock-baggage.yaml").read_text().replace("baseline: s1",
                                                                  "baseline: s7"))
    code, data = run_json(capsys, "validate", bad)
    assert code == 1
    finding = data["findings"][0]
    assert set(finding) >= {"code", "severity", "path", "message", "hint"}
    assert (finding["code"], finding["severity"], finding["path"]) == (
        "LD201", "error", "spec.baseline")


def test_validate_warnings_only_exit_zero(tmp_path, capsys):
    text = (EX / "mock-baggage.yaml").read_text().replace("  - name: mockc\n    port: 8000",
                                                          "  - name: mockc\n    calls: [mocka]")
    path = tmp_path / "cycle.yaml"
    path.write_text(text)
    code, data = run_json(capsys, "validate", path)
    assert code == 0 and [f["code"] for f in data["findings"]] == ["LD402"]


def test_a_lane_no_request_reaches_is_a_warning_and_still_exits_zero(tmp_path, capsys):
    # LD509 was raised from info to warning for the designer's status chip: warnings leave
    # validate's exit code at 0 (design-file.md), so no pipeline that ran before fails now
    text = (EX / "mock-baggage.yaml").read_text().replace("    default: s1\n", "")
    path = tmp_path / "unreached.yaml"
    path.write_text(text)
    code, data = run_json(capsys, "validate", path)
    severities = {f["code"]: f["severity"] for f in data["findings"]}
    assert code == 0 and severities["LD509"] == "warning"


@pytest.mark.parametrize("content", [b"\x00\xff\x13binary", b"key: [unclosed", b"",
                                     b"apiVersion: v1\nkind: ConfigMap\n"])
def test_junk_is_a_finding_not_a_crash(tmp_path, content):
    path = tmp_path / "junk.yaml"
    path.write_bytes(content)
    proc = run("validate", path, "--format", "json")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr + proc.stdout
    assert json.loads(proc.stdout)["findings"][0]["code"] in ("LD001", "LD002")


def test_missing_file_is_a_usage_error(tmp_path):
    proc = run("validate", tmp_path / "absent.yaml", "--format", "json")
    assert proc.returncode == 2
    assert json.loads(proc.stdout)["findings"][0]["code"] == "LD007"
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("argv", [[], ["frobnicate"], ["simulate"],
                                  ["simulate", "examples/mock-baggage.yaml", "--header", "novalue"],
                                  ["simulate", "examples/mock-baggage.yaml", "--requests", "0"],
                                  ["validate", "examples/mock-baggage.yaml", "--format", "xml"]])
def test_usage_errors_exit_2_without_traceback(argv):
    proc = run(*argv)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and proc.stderr.strip()


@pytest.mark.parametrize("name", ["mock-baggage", "mock-header", "mock-traceid"])
def test_simulate_json_shape_and_documented_chain(capsys, name):
    code, data = run_json(capsys, "simulate", EX / f"{name}.yaml", "--header",
                          "x-asm-prefer-tag=s2")
    assert code == 0
    assert data["status"] == 200 and data["lane"] == "s2"
    assert [(h["caller"], h["service"], h["lane"], h["fallback"]) for h in data["hops"]] == [
        (None, "mocka", "s2", False), ("mocka", "mockb", "s1", True),
        ("mockb", "mockc", "s2", False)]
    assert data["hops"][1]["labels"] == {"version": "v1"}
    assert data["warnings"] == []


def test_simulate_text_reads_at_a_glance():
    proc = run("simulate", "examples/mock-baggage.yaml", "--header", "x-asm-prefer-tag=s2")
    assert proc.returncode == 0
    assert "mocka@s2 -> mockb@s1 (fallback) -> mockc@s2" in proc.stdout
    assert "lane s2" in proc.stdout


def test_simulate_404(capsys):
    code, data = run_json(capsys, "simulate", EX / "mock-weighted.yaml", "--path", "/other")
    assert code == 0 and data["status"] == 404 and data["lane"] is None and data["hops"] == []


def test_simulate_distribution_is_repeatable(capsys):
    args = ("simulate", EX / "mock-weighted.yaml", "--path", "/mock", "--requests", "2000",
            "--seed", "42")
    _, first = run_json(capsys, *args)
    _, second = run_json(capsys, *args)
    assert first["distribution"] == second["distribution"]
    assert set(first["distribution"]) == {"s1", "s2", "s3"}
    assert abs(sum(first["distribution"].values()) - 1) < 1e-9
    assert abs(first["distribution"]["s1"] - 0.6) < 0.05


def test_simulate_accepts_curl_style_headers_and_baggage(capsys):
    code, data = run_json(capsys, "simulate", EX / "mock-baggage.yaml", "-H",
                          "baggage: x-asm-prefer-tag=s3,user=alice")
    assert code == 0 and data["lane"] == "s3"


def test_simulate_refuses_a_design_with_errors(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text((EX / "mock-baggage.yaml").read_text().replace("calls: [mockc]",
                                                                  "calls: [mockz]"))
    code, data = run_json(capsys, "simulate", bad)
    assert code == 1 and [f["code"] for f in data["findings"]] == ["LD401"]


def test_matrix_json(capsys):
    code, data = run_json(capsys, "matrix", EX / "mock-baggage.yaml")
    assert code == 0
    assert data["matrix"]["mockb"] == {"s1": "s1", "s2": "s1", "s3": "s3"}
    assert data["matrix"]["mocka"] == {"s1": "s1", "s2": "s2", "s3": "s1"}


def test_matrix_text_marks_fallbacks():
    proc = run("matrix", "examples/shop.yaml")
    assert proc.returncode == 0
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("fraud "))
    assert "payments-v3*" in line


def test_findings_lists_the_catalogue(capsys):
    code, data = run_json(capsys, "findings")
    assert code == 0 and {"LD001", "LD601"} <= {c["code"] for c in data["codes"]}


def test_example_lists_and_prints_the_built_in_designs(capsys):
    code, data = run_json(capsys, "example")
    assert code == 0 and "mock-baggage" in data["examples"]
    assert main(["example", "shop"]) == 0
    assert capsys.readouterr().out == (EX / "shop.yaml").read_text()
    assert run("example", "nope").returncode == 2


def test_simulate_on_a_large_mesh_shortens_the_tree_and_lists_every_state(tmp_path, capsys):
    from benchmarks.generate import design_for
    from lanedesign.cli import TREE_LINES
    from lanedesign.designfile import dump_design

    design = design_for("L")
    path = tmp_path / "large.yaml"
    path.write_text(dump_design(design), encoding="utf-8")
    lane = design.lanes[-1].name
    assert main(["simulate", str(path), "--lane", lane]) == 0
    text = capsys.readouterr().out.splitlines()
    tree = [line for line in text if not line.startswith(("HTTP", "warning:"))]
    assert len(tree) == TREE_LINES + 1 and "more paths" in tree[-1]
    assert not any("stopped" in line for line in text)
    assert main(["simulate", str(path), "--lane", lane, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    services = {s["service"] for s in doc["states"]}
    assert len(services) == len(design.services)  # every service of the mesh is reached
    assert doc["more_paths"] > 0 and len(doc["hops"]) == 10_000


def test_simulate_with_an_unknown_lane_warns_and_claims_no_lane(capsys):
    """``--lane nope``: the baseline serves the chain (lanes.md §2); the text never says
    "lane nope", and text and JSON both carry the warning."""
    design = EX / "mock-baggage.yaml"
    assert main(["simulate", str(design), "--lane", "nope"]) == 0
    text = capsys.readouterr().out
    assert "lane nope" not in text and "'nope' names no lane" in text
    assert "the baseline s1 serves the chain" in text
    assert "chain: mocka@s1 -> mockb@s1 -> mockc@s1" in text
    assert "warning: unknown lane: nope" in text
    code, data = run_json(capsys, "simulate", design, "--lane", "nope")
    assert code == 0 and data["status"] == 200
    assert any("unknown lane" in w and "nope" in w for w in data["warnings"])
    assert {h["lane"] for h in data["hops"]} == {"s1"}
    # a lane of the design: no warning, and the text names it (the check above can fail)
    assert main(["simulate", str(design), "--lane", "s2"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("HTTP 200, lane s2") and "warning" not in text


def test_export_out_twice_removes_what_the_design_no_longer_emits(tmp_path, capsys):
    """GitOps: the folder holds exactly the design's objects; the user's files stay."""
    out = tmp_path / "out"
    design = tmp_path / "d.yaml"
    design.write_text((EX / "mock-baggage.yaml").read_text())
    code, first = run_json(capsys, "export", design, "--target", "istio", "--out", out)
    assert code == 0 and first["removed"] == [] and first["findings"] == []
    envoy = [f for f in first["files"] if "envoyfilter-" in f]
    assert len(envoy) == 1
    (out / "istio-system" / "envoyfilter-mine.yaml").write_text("# mine\n")
    # the header method: no EnvoyFilter (and its folder keeps only the user's file)
    design.write_text((EX / "mock-header.yaml").read_text().replace("name: mock-header",
                                                                    "name: mock-baggage"))
    assert main(["export", str(design), "--target", "istio", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert f"removed {envoy[0]} (no longer emitted)" in captured.err
    assert envoy[0] not in captured.out
    assert not (out / envoy[0]).exists() and not any("envoyfilter-mock" in p.name
                                                     for p in out.rglob("*"))
    assert (out / "istio-system" / "envoyfilter-mine.yaml").read_text() == "# mine\n"
    (out / ".lanedesign-export.json").write_text("garbled")
    code, third = run_json(capsys, "export", design, "--target", "istio", "--out", out)
    assert code == 0 and [f["code"] for f in third["findings"]] == ["LD603"]


def test_export_with_gateway_adds_the_gateway_and_asm_refuses_the_option(capsys):
    code, plain = run_json(capsys, "export", EX / "mock-baggage.yaml", "--target", "istio")
    code2, data = run_json(capsys, "export", EX / "mock-baggage.yaml", "--target", "istio",
                           "--with-gateway")
    assert code == code2 == 0
    gateways = [o for o in data["objects"] if o["kind"] == "Gateway"]
    assert [(g["metadata"]["namespace"], g["metadata"]["name"]) for g in gateways] == [
        ("istio-system", "ingressgateway")]
    assert not [o for o in plain["objects"] if o["kind"] == "Gateway"]
    code, data = run_json(capsys, "export", EX / "mock-header.yaml", "--target", "gateway-api",
                          "--with-gateway")
    assert code == 0 and [o["kind"] for o in data["objects"]].count("Gateway") == 1
    proc = run("export", EX / "mock-header.yaml", "--target", "asm", "--with-gateway")
    assert proc.returncode == 2 and "--with-gateway" in proc.stderr
    assert "Traceback" not in proc.stderr
    for command in ("diff", "apply"):  # the same option where the objects go to a cluster
        assert "--with-gateway" in run(command, "--help").stdout
