"""What every ``lanedesign`` sub-command shares: exit codes, usage errors, JSON and findings
output, loading a checked design. ``cli.py`` and the command modules beside it
(``cli_observe.py``) import it, so no command module imports another."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from .findings import Finding
from .model import LaneDesign
from .pipeline import check_and_export

EXIT_OK, EXIT_DESIGN, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A mistake in how the command was called (exit 2)."""


# -- output helpers ------------------------------------------------------------------------
def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def findings_text(findings: Sequence[Finding], source: str) -> str:
    counts = {s: sum(f.severity == s for f in findings) for s in ("error", "warning", "info")}
    lines = [f"{source}: {counts['error']} error(s), {counts['warning']} warning(s), "
             f"{counts['info']} info"]
    for f in findings:
        lines.append(f"  {f}")
        lines.append(f"          fix: {f.hint}")
    return "\n".join(lines)


def report_findings(findings: Sequence[Finding], args: argparse.Namespace,
                    stream: TextIO | None = None) -> None:
    """Findings as one JSON document on stdout, or as text on ``stream`` (stdout)."""
    if args.format == "json":
        print_json({"findings": [f.to_dict() for f in findings]})
    else:
        print(findings_text(findings, args.design), file=stream or sys.stdout)


def load_checked(args: argparse.Namespace, target: str | None = None,
                 ) -> tuple[LaneDesign | None, list[Finding]]:
    """Load and check ``args.design``; the design is ``None`` when it cannot be used."""
    checked = check_and_export(args.design, target)
    return checked.design, list(checked.findings)


def unusable(findings: list[Finding], args: argparse.Namespace,
             stream: TextIO | None = None) -> int:
    """Report why the design cannot be used; the exit code (2 for an unreadable file)."""
    if any(f.code == "LD007" for f in findings):
        report_findings(findings, args, stream)
        return EXIT_USAGE
    report_findings([f for f in findings if f.severity == "error"], args, stream)
    return EXIT_DESIGN
