"""``python -m benchmarks.observe [--quick] [--sizes M,L] [--format text|json]``.

``lanedesign observe`` at M and L against one real local Prometheus (Debian's package) that
holds each size's synthetic traffic, with and without the lane tag. The floor is the same
PromQL sent with urllib and its JSON answer parsed: Prometheus's own work and the transfer,
which ``observe`` cannot avoid; the ratio is what reading the answer against the design adds.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.parse
import urllib.request
from typing import Any

from lanedesign.observe import Prometheus, observe, requests_query, synthetic_samples
from lanedesign.observe.local import LocalPrometheus, tools

from .generate import design_for
from .report import machine
from .timing import FULL, QUICK, Budget, Metric, measure

STEP = 300.0  # four points per series over the 15m window: small blocks, the same increase()


def raw_query(url: str, promql: str, at: float) -> Any:
    body = urllib.parse.urlencode({"query": promql, "time": f"{at:.3f}"}).encode()
    with urllib.request.urlopen(url + "/api/v1/query", data=body, timeout=600) as r:
        return json.loads(r.read())


def run(sizes: list[str], budget: Budget) -> list[dict[str, Any]]:
    rows = []
    with LocalPrometheus() as local:
        loaded = []
        for size in sizes:
            design = design_for(size)
            for tagged in (True, False):
                print(f"benchmarks.observe: loading {size} ({'tagged' if tagged else 'untagged'})"
                      " ...", file=sys.stderr, flush=True)
                # traffic in every lane (the most series), whatever a weighted ingress says
                samples = synthetic_samples(design, tagged=tagged, lanes=design.lane_names)
                loaded.append((size, design, tagged, len(samples),
                               local.add(samples, step=STEP)))
        local.start(timeout=300)
        for size, design, tagged, series, at in loaded:
            client = Prometheus(local.url, timeout=600)
            promql = requests_query(design, "15m")
            seen = observe(design, client, "15m", at)
            answer_bytes = len(json.dumps(raw_query(local.url, promql, at)))
            metric = measure(
                "observe", lambda d=design, c=client, t=at: observe(d, c, "15m", t),
                lambda q=promql, t=at: raw_query(local.url, q, t),
                "the same query sent with urllib and its JSON parsed", budget,
                {"series": series, "queries": seen.queries, "answer_bytes": answer_bytes,
                 "findings": [f.code for f in seen.comparison.findings]})
            rows.append({"size": size, "services": len(design.services),
                         "lanes": len(design.lanes), "tagged": tagged, **_row(metric)})
    return rows


def _row(metric: Metric) -> dict[str, Any]:
    return {"median_s": round(metric.median, 4), "floor_s": round(metric.floor, 4),
            "ratio": round(metric.ratio, 2), "repeats": metric.repeats, **metric.detail}


def to_markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| size | lane tag | series | observe | floor (query + JSON) | ratio | queries |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['size']} ({r['services']:,} x {r['lanes']}) | "
                     f"{'yes' if r['tagged'] else 'no'} | {r['series']:,} | "
                     f"{r['median_s'] * 1000:.1f} ms | {r['floor_s'] * 1000:.1f} ms | "
                     f"{r['ratio']:.2f}x | {r['queries']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.observe", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="size M only, few repeats")
    parser.add_argument("--sizes", help="comma-separated from M,L (default M,L)")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    args = parser.parse_args(argv)
    sizes = [s.strip().upper() for s in (args.sizes or ("M" if args.quick else "M,L"))
             .split(",") if s.strip()]
    if tools() is None:
        print("benchmarks.observe needs Debian's prometheus package (prometheus, promtool)",
              file=sys.stderr)
        return 2
    before = machine()
    rows = run(sizes, QUICK if args.quick else FULL)
    doc = {"machine": before, "quick": args.quick, "observe": rows}
    print(json.dumps(doc, indent=2) if args.format == "json" else to_markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
