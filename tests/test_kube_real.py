"""The real control plane itself: the version it reports, the CRDs it serves, its audit log,
and `make kube`'s entry point (started as a subprocess, stopped with SIGINT)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import ROOT
from kube_real import ASM_CRDS, ControlPlaneError

from lanedesign.cluster import connect, discover

pytestmark = pytest.mark.kube


def test_the_server_reports_the_release_it_was_built_from(control_plane):
    version = control_plane.request("GET", "/version")
    assert (version["gitVersion"], version["major"], version["minor"]) == ("v1.36.1", "1", "36")


def test_the_crds_are_served_and_the_asm_ones_say_they_are_permissive(control_plane):
    served = {c["metadata"]["name"] for c in control_plane.request(
        "GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions")["items"]}
    assert {"virtualservices.networking.istio.io", "envoyfilters.networking.istio.io",
            "asmswimlanes.istio.alibabacloud.com", "httproutes.gateway.networking.k8s.io",
            "gateways.gateway.networking.k8s.io"} <= served
    assert all("permissive" in crd["metadata"]["annotations"]["lanedesign.io/note"]
               for crd in ASM_CRDS)


def test_rbac_and_tokens_are_enforced(control_plane):
    with pytest.raises(ControlPlaneError) as refused:
        control_plane.request("GET", "/api/v1/namespaces/default/services", user="limited")
    assert refused.value.status == 403
    assert control_plane.request("GET", "/api/v1/namespaces/default/services", user="tester")


def test_the_audit_log_holds_the_testers_requests_only(control_plane, tmp_path):
    mark = control_plane.audit_mark()
    with connect(control_plane.kubeconfig(tmp_path)) as cluster:
        discover(cluster)
    control_plane.request("GET", "/api/v1/namespaces")  # the admin: not logged
    calls = control_plane.calls(mark, user=None)
    assert calls and {c.user for c in calls} == {"tester"}
    assert all(c.method == "GET" and not c.writes for c in calls)


def test_make_kube_prints_the_kubeconfig_and_stops_on_ctrl_c(control_plane, shared_dir):
    """`make kube` runs `python tests/kube_real.py`: the same control plane, in the
    foreground (the session's own one proves the tools are built)."""
    env = {**os.environ, "LANEDESIGN_SHARED": str(shared_dir), "KUBECONFIG": os.devnull}
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "kube_real.py")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, start_new_session=True)
    lines = []
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("export KUBECONFIG="):
                break
        exports = [ln for ln in lines if ln.startswith("export KUBECONFIG=")]
        assert exports, "".join(lines)
        config = Path(exports[0].split("=", 1)[1].strip())
        assert yaml.safe_load(config.read_text())["current-context"] == "lanedesign-local"
        with connect(config) as cluster:
            assert discover(cluster).targets == ("istio", "asm", "gateway-api")
        pids = [int(p) for p in subprocess.run(
            ["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()]
        names = {Path(f"/proc/{pid}/comm").read_text().strip() for pid in pids}
        assert {n.split("-")[0] for n in names} == {"etcd", "kube"}, names
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:  # a failed check above: stop it the way a user would
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    assert proc.returncode == 0, "".join(lines) + rest
    assert rest.strip().splitlines()[-1] == "stopped"
    assert not config.parent.exists()  # the temporary folder went with it
    time.sleep(0.5)
    for pid in pids:  # etcd and kube-apiserver are gone too
        assert not Path(f"/proc/{pid}").exists() or \
            Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"


def test_the_apply_benchmark_counts_writes_and_requests_never_times(control_plane, shared_dir):
    """``benchmarks.apply_real`` at size S (its own control plane): every object written
    once from nothing, nothing written again; the figures are there, their values unasserted."""
    from benchmarks.apply_real import measure, to_text

    doc = measure("S", wait=0, concurrency=4, shared=shared_dir)
    first, again = doc["from_nothing"], doc["unchanged"]
    assert first["status"] == "applied" and first["writes"] == doc["objects"] == 8
    assert first["dry_runs"] == 8 and first["requests"] > first["writes"]
    assert again["status"] == "unchanged" and again["writes"] == 0 and again["dry_runs"] == 0
    assert {"etcd", "kube-apiserver"} <= set(first["server_cpu_s"])
    assert [t["target"].split(" ")[0] for t in doc["targets"]] == ["S", "S"]
    doc["machine"] = {}
    assert "| from nothing | applied |" in to_text(doc)


def test_a_killed_parent_takes_etcd_and_the_apiserver_with_it(control_plane, tmp_path):
    """Even SIGKILL (no chance to clean up) leaves no server behind: they die with it."""
    script = tmp_path / "start.py"
    script.write_text(
        "import sys, time\n"
        f"sys.path.insert(0, {str(ROOT / 'tests')!r})\n"
        "from kube_real import ControlPlane\n"
        f"plane = ControlPlane({str(tmp_path / 'plane')!r}, "
        f"{str(control_plane.etcd_bin)!r}, {str(control_plane.apiserver_bin)!r})\n"
        "plane.start()\n"
        "print(*[p.popen.pid for p in plane.processes], flush=True)\n"
        "time.sleep(600)\n")
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        pids = [int(p) for p in proc.stdout.readline().split()]
        assert len(pids) == 2 and all(Path(f"/proc/{pid}").exists() for pid in pids)
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() and
              Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z" for pid in pids):
        assert time.monotonic() < deadline, "etcd or kube-apiserver outlived its parent"
        time.sleep(0.1)
