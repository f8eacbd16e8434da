"""The run's results as one JSON document or a Markdown table, with the targets checked."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

from .suite import SizeReport

EXPORT_RATIO_TARGET = 1.5  # emit + serialise within 1.5x of the C-dumper floor
REFRESH_TARGET_S = 0.2  # edit -> validate -> matrix -> diagram for M, on two cores
L_EXPORT_TARGET_S = 1.0  # L exported (emit + serialise) in a second or less
SIMULATE_RATIO_TARGET = 5.0  # one request per lane within 5x of a BFS per request
XL_YAML_TARGET_B = 30_000_000  # the XL Istio output in 30 MB or less
DESIGNER_OPEN_TARGET_S = 2.0  # L: Designer(design) to every tab drawn
DESIGNER_EDIT_TARGET_S = 0.2  # L: tick a member until the visible tab has redrawn
LINEAR_SLACK = 1.5  # bytes per service x lane may grow this much from M to XL


def machine() -> dict[str, Any]:
    """What the numbers were measured on, including how busy the machine was."""
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"nproc": len(os.sched_getaffinity(0)), "cpu": cpu,
            "python": platform.python_version(),
            "load_average": [round(x, 2) for x in os.getloadavg()]}


def targets(reports: list[SizeReport]) -> list[dict[str, Any]]:
    """Each target with the measured value and whether it was met."""
    by_size = {r.size: r for r in reports}
    out: list[dict[str, Any]] = []
    for r in reports:
        ratio = r.metric("export").ratio
        out.append({"target": f"{r.size}: emit + serialise within {EXPORT_RATIO_TARGET}x of "
                              "the C-dumper floor",
                    "value": ratio, "met": ratio <= EXPORT_RATIO_TARGET})
    for r in reports:
        ratio = r.metric("simulate").ratio
        out.append({"target": f"{r.size}: simulate within {SIMULATE_RATIO_TARGET:g}x of the "
                              "BFS floor", "value": ratio, "met": ratio <= SIMULATE_RATIO_TARGET})
    if "XL" in by_size:
        size = by_size["XL"].metric("export").detail["yaml_bytes"]
        out.append({"target": f"XL: Istio output at most {XL_YAML_TARGET_B / 1e6:g} MB",
                    "value": size, "met": size <= XL_YAML_TARGET_B})
    if "L" in by_size and any(m.name == "designer_open" for m in by_size["L"].metrics):
        for name, limit in (("designer_open", DESIGNER_OPEN_TARGET_S),
                            ("designer_edit", DESIGNER_EDIT_TARGET_S)):
            seconds = by_size["L"].metric(name).median
            out.append({"target": f"L: {name} in {limit:g} s or less", "value": seconds,
                        "met": seconds <= limit})
    if "M" in by_size:
        seconds = by_size["M"].metric("refresh").median
        out.append({"target": f"M: edit -> validate -> matrix -> diagram under "
                              f"{REFRESH_TARGET_S} s",
                    "value": seconds, "met": seconds < REFRESH_TARGET_S})
    if "L" in by_size:
        seconds = by_size["L"].metric("export").median
        out.append({"target": f"L: exported in {L_EXPORT_TARGET_S:g} s or less",
                    "value": seconds, "met": seconds <= L_EXPORT_TARGET_S})
    per_cell = {r.size: r.metric("memory").detail["bytes_per_service_lane"]
                for r in sorted(reports, key=lambda r: r.services * r.lanes) if r.size != "S"}
    if len(per_cell) >= 2:
        # at most linear: the bytes per cell of a larger mesh may not grow beyond the smallest's
        first = next(iter(per_cell.values()))
        growth = max(v / first for v in per_cell.values())
        out.append({"target": "memory at most linear in services x lanes (bytes per service x "
                              f"lane of larger meshes within {LINEAR_SLACK}x of the smallest's)",
                    "value": growth, "met": growth <= LINEAR_SLACK, "bytes": per_cell})
    return out


def to_json(reports: list[SizeReport], quick: bool, before: dict[str, Any]) -> dict[str, Any]:
    return {
        "machine": {**before, "load_average_after": machine()["load_average"]},
        "quick": quick,
        "sizes": {
            r.size: {"services": r.services, "lanes": r.lanes,
                     "metrics": {m.name: m.to_dict() for m in r.metrics}}
            for r in reports
        },
        "targets": targets(reports),
    }


def _amount(value: float, unit: str) -> str:
    if unit == "B":
        for scale, name in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
            if value >= scale:
                return f"{value / scale:.1f} {name}"
        return f"{value:.0f} B"
    for scale, name in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if value >= scale:
            return f"{value / scale:.3g} {name}"
    return f"{value * 1e9:.0f} ns"


def to_markdown(doc: dict[str, Any]) -> str:
    """Rows = metrics, columns = sizes; each cell ``median (ratio to floor)``."""
    sizes = doc["sizes"]
    head = ["metric", *(f"{s} ({e['services']} svc x {e['lanes']} lanes)"
                        for s, e in sizes.items())]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    names = list(dict.fromkeys(n for e in sizes.values() for n in e["metrics"]))
    for name in names:
        cells = [name]
        for entry in sizes.values():
            m = entry["metrics"].get(name)
            cells.append("-" if m is None else
                         f"{_amount(m['median'], m['unit'])} ({m['ratio']:.2f}x)")
        lines.append("| " + " | ".join(cells) + " |")
    per_cell = [_amount(e["metrics"]["memory"]["detail"]["bytes_per_service_lane"], "B")
                for e in sizes.values()]
    lines.append("| memory per service x lane | " + " | ".join(per_cell) + " |")
    output = [_amount(e["metrics"]["export"]["detail"]["yaml_bytes"], "B")
              for e in sizes.values()]
    lines.append("| Istio output (YAML) | " + " | ".join(output) + " |")
    lines += ["", "Floors, measured in the same run:"]
    floor_of = {n: m["floor_is"] for e in sizes.values() for n, m in e["metrics"].items()}
    lines += [f"- {name}: {floor_of[name]}" for name in names]
    lines += ["", "Targets:"]
    for t in doc["targets"]:
        lines.append(f"- {t['target']}: {t['value']:.3g} ({'met' if t['met'] else 'MISSED'})")
    m = doc["machine"]
    lines += ["", f"Machine: {m['nproc']} CPUs ({m['cpu']}), Python {m['python']}, load "
                  f"average {m['load_average'][0]} before / {m['load_average_after'][0]} after."]
    return "\n".join(lines)
