"""``python -m benchmarks [--quick] [--sizes S,M,L,XL] [--format text|json]``."""

from __future__ import annotations

import argparse
import json
import sys

from .generate import SIZES
from .report import machine, to_json, to_markdown
from .suite import run_size
from .timing import FULL, QUICK


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="a short run: sizes S and M, few repeats (for tests)")
    parser.add_argument("--sizes", help=f"comma-separated, from {','.join(SIZES)} "
                                        "(default: all; with --quick: S,M)")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    args = parser.parse_args(argv)
    default = "S,M" if args.quick else ",".join(SIZES)
    args.sizes = [s.strip().upper() for s in (args.sizes or default).split(",") if s.strip()]
    unknown = [s for s in args.sizes if s not in SIZES]
    if unknown or not args.sizes:
        parser.error(f"unknown size(s) {', '.join(unknown) or '(none given)'}; "
                     f"known: {', '.join(SIZES)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    before = machine()
    budget = QUICK if args.quick else FULL
    reports = []
    for size in args.sizes:
        print(f"benchmarks: measuring {size} ...", file=sys.stderr, flush=True)
        reports.append(run_size(size, budget))
    doc = to_json(reports, args.quick, before)
    print(json.dumps(doc, indent=2) if args.format == "json" else to_markdown(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
