"""Apply at scale against a real kube-apiserver: ``python -m benchmarks.apply_real [--size L]``.

Starts the kube tier's control plane (etcd + kube-apiserver built from source by
``tests/gotools.py``; Istio's CRDs from ``../shared``), then measures lanedesign applying the
design of a size (default L: 1,000 services x 50 lanes) from nothing, and again unchanged:
seconds, write requests and all requests, counted by the server's audit log. The default
pause between phases (``--wait``) is included, as a user would get it.

Targets (issue 10): L from nothing in 30 s or less; an unchanged re-apply makes zero writes
in 10 s or less. Tests never assert times; this prints them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

from lanedesign.cluster import DEFAULT_CONCURRENCY, DEFAULT_SETTLE_SECONDS, apply, connect
from lanedesign.emit import emit

from .generate import SIZES, design_for
from .report import machine

ROOT = Path(__file__).resolve().parent.parent
FROM_NOTHING_TARGET_S = 30.0
REAPPLY_TARGET_S = 10.0


def measure(size: str, wait: float, concurrency: int, shared: Path) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT / "tests"))
    from kube_real import default_crd_files, running

    design = design_for(size)
    objects = emit(design, "istio")
    doc: dict[str, Any] = {"size": size, "services": len(design.services),
                           "lanes": len(design.lanes), "objects": len(objects),
                           "wait_s": wait, "concurrency": concurrency}
    with running(crd_files=default_crd_files(shared), audit="Metadata") as plane:
        for namespace in sorted({o["metadata"]["namespace"] for o in objects}):
            plane.ensure_namespace(namespace)
        config = plane.kubeconfig(plane.folder / "bench")
        with connect(config, timeout=(5.0, 120.0)) as cluster:
            for run in ("from_nothing", "unchanged"):
                mark = plane.audit_mark()
                cpu = resource.getrusage(resource.RUSAGE_SELF)
                server_cpu = _server_cpu(plane)
                start = time.perf_counter()
                result = apply(cluster, objects, design.name, settle_seconds=wait,
                               concurrency=concurrency)
                seconds = time.perf_counter() - start
                after = resource.getrusage(resource.RUSAGE_SELF)
                server_after = _server_cpu(plane)
                calls = plane.calls(mark)
                doc[run] = {"status": result.status, "seconds": round(seconds, 2),
                            "steps": len(result.done),
                            "writes": sum(1 for c in calls if c.writes),
                            "requests": len(calls),
                            "dry_runs": sum(1 for c in calls if c.dry_run),
                            "client_cpu_s": round(after.ru_utime + after.ru_stime
                                                  - cpu.ru_utime - cpu.ru_stime, 2),
                            "server_cpu_s": {name: round(server_after[name] - used, 2)
                                             for name, used in server_cpu.items()}}
    first, again = doc["from_nothing"], doc["unchanged"]
    doc["targets"] = [
        {"target": f"{size} applied from nothing in {FROM_NOTHING_TARGET_S:g} s or less",
         "value": first["seconds"],
         "met": first["status"] == "applied" and first["seconds"] <= FROM_NOTHING_TARGET_S},
        {"target": f"{size} re-applied unchanged: zero writes in {REAPPLY_TARGET_S:g} s or less",
         "value": again["seconds"],
         "met": again["writes"] == 0 and again["seconds"] <= REAPPLY_TARGET_S},
    ]
    return doc


def _server_cpu(plane: Any) -> dict[str, float]:
    """CPU seconds etcd and kube-apiserver used so far (Linux /proc; empty elsewhere)."""
    ticks = os.sysconf("SC_CLK_TCK")
    used = {}
    for proc in plane.processes:
        stat = Path(f"/proc/{proc.popen.pid}/stat")
        if stat.exists():
            fields = stat.read_text().rsplit(")", 1)[1].split()
            used[proc.name] = (int(fields[11]) + int(fields[12])) / ticks
    return used


def to_text(doc: dict[str, Any]) -> str:
    lines = [f"apply against kube-apiserver: {doc['size']} ({doc['services']} services x "
             f"{doc['lanes']} lanes, {doc['objects']} objects), wait {doc['wait_s']:g} s, "
             f"concurrency {doc['concurrency']}",
             "| run | status | seconds | writes | requests | dry runs | client CPU s | "
             "server CPU s |",
             "|---|---|---:|---:|---:|---:|---:|---|"]
    for run in ("from_nothing", "unchanged"):
        r = doc[run]
        lines.append(f"| {run.replace('_', ' ')} | {r['status']} | {r['seconds']:.1f} | "
                     f"{r['writes']} | {r['requests']} | {r['dry_runs']} | "
                     f"{r['client_cpu_s']:.1f} | "
                     + ", ".join(f"{k} {v:.1f}" for k, v in r["server_cpu_s"].items()) + " |")
    lines += [f"- {'met' if t['met'] else 'MISSED'}: {t['target']} ({t['value']:.1f} s)"
              for t in doc["targets"]]
    lines.append(f"machine: {json.dumps(doc['machine'])}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.apply_real", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="L", choices=list(SIZES))
    parser.add_argument("--wait", type=float, default=DEFAULT_SETTLE_SECONDS,
                        help="seconds between phases (default: apply's own)")
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    parser.add_argument("--format", choices=("text", "json"), default="text")
    args = parser.parse_args(argv)
    shared = Path(os.environ.get("LANEDESIGN_SHARED", ROOT.parent / "shared"))
    if not (shared / "schemas").is_dir():
        print(f"needs Istio's CRDs in {shared}/schemas (set LANEDESIGN_SHARED)", file=sys.stderr)
        return 2
    before = machine()
    doc = measure(args.size, args.wait, args.concurrency, shared)
    doc["machine"] = {**before, "load_average_after": machine()["load_average"]}
    print(json.dumps(doc, indent=2) if args.format == "json" else to_text(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
