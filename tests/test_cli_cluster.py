"""The cluster commands end to end (real emitters): diff, apply, import-cluster against the
stand-in API server and the real kube-apiserver (``served``)."""

from __future__ import annotations

import json
import logging
import socket

import pytest
from cluster_objects import deployment, service, vs
from kube_standin import CORE, ISTIO, running, write_kubeconfig

from lanedesign import examples
from lanedesign.cli import main
from lanedesign.designfile import dump_design, parse_design


@pytest.fixture
def kube(served):
    return served


@pytest.fixture
def design_file(tmp_path):
    path = tmp_path / "mock.yaml"
    path.write_text(examples.path("mock-baggage").read_text())
    return path


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_diff_lists_what_apply_would_do(kube, design_file, capsys):
    code, out, err = run(capsys, "diff", design_file, "--kubeconfig", kube.kubeconfig)
    assert code == 0, err
    assert "create     DestinationRule default/mock-baggage-mocka" in out
    assert "create     EnvoyFilter istio-system/mock-baggage-baggage" in out
    assert "8 create" in out
    assert kube.writes() == []


def test_diff_json_is_one_document(kube, design_file, capsys):
    code, out, _ = run(capsys, "diff", design_file, "--kubeconfig", kube.kubeconfig,
                       "--format", "json")
    doc = json.loads(out)
    assert code == 0
    assert doc["counts"]["create"] == 8 and doc["context"] == kube.context
    assert [c["kind"] for c in doc["changes"]] == ["DestinationRule"] * 3 + \
        ["VirtualService"] * 4 + ["EnvoyFilter"]


def test_apply_without_yes_is_a_dry_run(kube, design_file, capsys):
    code, out, _ = run(capsys, "apply", design_file, "--kubeconfig", kube.kubeconfig)
    assert code == 0
    assert "dry run, nothing written" in out and "(dry run: add --yes to apply)" in out
    assert kube.writes() == []


def test_apply_yes_writes_reports_progress_and_a_second_run_changes_nothing(
        kube, design_file, capsys):
    code, out, err = run(capsys, "apply", design_file, "--yes", "--wait", "0",
                         "--kubeconfig", kube.kubeconfig)
    assert code == 0, err
    progress = err.splitlines()
    assert [line.split("]")[0] for line in progress] == [f"[{n}/8" for n in range(1, 9)]
    # a phase's writes run concurrently: its lines come in the order the writes finished
    assert {line.split("] ")[1] for line in progress[:3]} == {
        f"prepare  apply DestinationRule default/mock-baggage-mock{s} (create)" for s in "abc"}
    assert "route    apply EnvoyFilter istio-system/mock-baggage-baggage (create)" in \
        {line.split("] ")[1] for line in progress[3:]}
    assert "applied 8 step(s)" in out
    writes = len(kube.writes())
    code, out, err = run(capsys, "apply", design_file, "--yes", "--kubeconfig",
                         kube.kubeconfig)
    assert code == 0 and err == ""
    assert "in sync: nothing to apply" in out
    assert len(kube.writes()) == writes


def test_apply_prune_removes_what_the_design_dropped(kube, design_file, capsys):
    run(capsys, "apply", design_file, "--yes", "--wait", "0", "--kubeconfig", kube.kubeconfig)
    smaller = examples.load("mock-baggage").without_service("mockc")
    design_file.write_text(dump_design(smaller))
    code, out, _ = run(capsys, "apply", design_file, "--yes", "--wait", "0",
                       "--kubeconfig", kube.kubeconfig)
    assert code == 0 and "2 prune" in out
    assert [c.method for c in kube.writes()][-2:] == ["PATCH", "PATCH"]
    code, out, _ = run(capsys, "apply", design_file, "--yes", "--prune", "--wait", "0",
                       "--kubeconfig", kube.kubeconfig, "--format", "json")
    assert code == 0
    assert [(s["kind"], s["phase"]) for s in json.loads(out)["done"]] == [
        ("VirtualService", "route"), ("DestinationRule", "cleanup")]


def test_a_conflict_exits_1_and_writes_nothing(kube, design_file, capsys):
    kube.add(vs("mock-baggage-mockb", "s1", group=None))
    code, out, _ = run(capsys, "apply", design_file, "--yes", "--kubeconfig", kube.kubeconfig)
    assert code == 1
    assert "conflict   VirtualService default/mock-baggage-mockb: exists without lanedesign's" \
        in out
    assert kube.writes() == []
    code, _, _ = run(capsys, "diff", design_file, "--kubeconfig", kube.kubeconfig)
    assert code == 1


def test_missing_crds_are_one_line_without_a_traceback(tmp_path, design_file, capsys):
    with running(tmp_path, *CORE) as served:
        code, out, err = run(capsys, "diff", design_file, "--kubeconfig", served.kubeconfig)
    assert code == 1 and out == ""
    assert err.startswith("error: the cluster does not serve networking.istio.io/v1 "
                          "DestinationRule, networking.istio.io/v1 VirtualService")
    assert err.count("\n") == 1 and "Traceback" not in err


def test_an_unreachable_cluster_is_one_line_without_a_traceback(tmp_path, design_file,
                                                                capsys):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = write_kubeconfig(tmp_path, f"http://127.0.0.1:{port}")
    code, out, err = run(capsys, "apply", design_file, "--yes", "--kubeconfig", config)
    assert code == 1 and out == ""
    assert err.startswith(f"error: cannot reach the Kubernetes API server at "
                          f"http://127.0.0.1:{port}: [Errno 111] Connection refused.")
    assert err.count("\n") == 1 and "Traceback" not in err
    code, out, _ = run(capsys, "diff", design_file, "--kubeconfig", config, "--format", "json")
    assert json.loads(out)["error"]["type"] == "unreachable"


def test_an_unknown_context_or_kubeconfig_is_a_usage_error(tmp_path, design_file, capsys):
    config = write_kubeconfig(tmp_path, "http://127.0.0.1:1")
    code, _, err = run(capsys, "diff", design_file, "--kubeconfig", config, "--context", "prod")
    assert code == 2 and "context 'prod' is not in" in err
    code, _, err = run(capsys, "diff", design_file, "--kubeconfig", tmp_path / "nope")
    assert code == 2 and "no kubeconfig found" in err


def test_a_design_with_errors_is_reported_before_any_connection(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(dump_design(examples.load("mock-baggage").with_(baseline="nope")))
    code, out, _ = run(capsys, "apply", bad, "--kubeconfig", tmp_path / "nope")
    assert code == 1 and "LD201" in out


def test_credentials_never_reach_output_logs_errors_or_files(served, tmp_path, design_file,
                                                             capsys, caplog):
    caplog.set_level(logging.DEBUG)
    seen = []
    token = served.token
    # either server demands the kubeconfig's token
    served.add(service("mocka"))
    served.add(deployment("mocka", {"version": "v1"}))
    for argv in (["diff", design_file], ["apply", design_file],
                 ["apply", design_file, "--yes", "--wait", "0"],
                 ["apply", design_file, "--yes", "--format", "json"],
                 ["import-cluster", "-n", "default"],
                 ["import-cluster", "-n", "default", "--format", "json"]):
        code, out, err = run(capsys, *argv, "--kubeconfig", served.kubeconfig)
        assert code in (0, 1), err
        seen += [out, err]
    assert served.writes()  # the token worked: the server demands it
    wrong = served.kubeconfig_with(tmp_path / "wrong", token[::-1])
    code, out, err = run(capsys, "diff", design_file, "--kubeconfig", wrong)
    assert code == 1 and "401 Unauthorized" in err
    seen += [out, err]
    for text in [*seen, caplog.text]:
        assert token not in text and token[::-1] not in text


def test_import_cluster_prints_a_design_from_services_and_deployments(kube, capsys):
    for app in ("cart", "pay"):
        kube.add(service(app))
        kube.add(deployment(app, {"version": "v1"}))
    kube.add(deployment("cart", {"version": "v2"}))
    code, out, err = run(capsys, "import-cluster", "--namespace", "default",
                         "--kubeconfig", kube.kubeconfig, "--name", "shop")
    assert code == 0, err
    design = parse_design(out).design
    assert design.name == "shop" and design.baseline == "v1"
    assert [(ln.name, ln.services) for ln in design.lanes] == [("v1", ("cart", "pay")),
                                                               ("v2", ("cart",))]
    assert "# calls between services cannot be read from Kubernetes" in err


def test_import_cluster_reads_back_what_apply_wrote(kube, design_file, capsys):
    run(capsys, "apply", design_file, "--yes", "--wait", "0", "--kubeconfig", kube.kubeconfig)
    code, out, _ = run(capsys, "import-cluster", "--group", "mock-baggage",
                       "--kubeconfig", kube.kubeconfig, "--format", "json")
    assert code == 0
    lanes = {ln["name"]: ln["services"] for ln in json.loads(out)["design"]["spec"]["lanes"]}
    assert lanes == {"s1": ["mocka", "mockb", "mockc"], "s2": ["mocka", "mockc"],
                     "s3": ["mockb"]}


def test_import_cluster_needs_a_namespace_or_a_group(capsys):
    code, _, err = run(capsys, "import-cluster")
    assert code == 2 and "--namespace" in err


def test_the_asm_target_applies_the_group_then_its_lanes(kube, tmp_path, capsys):
    design = tmp_path / "weighted.yaml"
    design.write_text(examples.path("mock-weighted").read_text())
    code, out, err = run(capsys, "apply", design, "--target", "asm", "--yes", "--wait", "0",
                         "--kubeconfig", kube.kubeconfig)
    assert code == 0, err
    written = [(c.kind, c.name) for c in kube.writes()]
    assert written[0] == ("ASMSwimLaneGroup", "mock-weighted")  # the prepare phase
    assert set(written[1:]) == {("ASMSwimLane", "s1"), ("ASMSwimLane", "s2"),
                                ("ASMSwimLane", "s3")}
    assert len(written) == 4
    code, out, _ = run(capsys, "diff", design, "--target", "asm",
                       "--kubeconfig", kube.kubeconfig)
    assert code == 0 and "4 unchanged" in out


def test_a_target_the_design_or_the_cluster_cannot_take_exits_1(tmp_path, capsys):
    traceid = tmp_path / "traceid.yaml"
    traceid.write_text(examples.path("mock-traceid").read_text())
    with running(tmp_path, *ISTIO, *CORE) as served:
        code, out, _ = run(capsys, "diff", traceid, "--kubeconfig", served.kubeconfig)
        assert code == 1 and "LD601" in out  # plain Istio cannot express traceId
        code, out, err = run(capsys, "diff", traceid, "--target", "asm",
                             "--kubeconfig", served.kubeconfig)
        assert code == 1 and out == ""
        assert err.startswith("error: the cluster does not serve istio.alibabacloud.com/v1 "
                              "ASMSwimLaneGroup")
        assert "Alibaba Cloud Service Mesh" in err


def test_import_cluster_takes_calls_from_an_existing_design(kube, design_file, tmp_path,
                                                            capsys):
    for app in ("mocka", "mockb"):
        kube.add(service(app))
        kube.add(deployment(app, {"version": "v1"}))
    code, out, _ = run(capsys, "import-cluster", "-n", "default", "--calls-from", design_file,
                       "--kubeconfig", kube.kubeconfig, "--format", "json")
    assert code == 0
    services = json.loads(out)["design"]["spec"]["services"]
    assert [(s["name"], s.get("calls")) for s in services] == [("mocka", ["mockb"]),
                                                               ("mockb", None)]
    code, _, err = run(capsys, "import-cluster", "-n", "default", "--calls-from",
                       tmp_path / "missing.yaml", "--kubeconfig", kube.kubeconfig)
    assert code == 2 and "not a usable design" in err
    code, _, err = run(capsys, "apply", design_file, "--wait", "-1",
                       "--kubeconfig", kube.kubeconfig)
    assert code == 2 and "--wait" in err
