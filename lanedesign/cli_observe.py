"""``lanedesign observe`` and ``lanedesign import-traffic``: the design read against the
mesh's request metrics in Prometheus. Registered by ``cli.build_parser``; the same exit codes
and ``--format json`` contract as every command (0 as designed, 1 divergences or design
errors or Prometheus unreachable, 2 usage)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from .cli_common import (
    EXIT_DESIGN,
    EXIT_OK,
    UsageError,
    findings_text,
    load_checked,
    print_json,
    unusable,
)
from .designfile import design_to_dict, dump_design, save_design
from .findings import Finding
from .observe import (
    DEFAULT_TOLERANCE,
    Prometheus,
    PrometheusError,
    observe,
    read_token,
    window_seconds,
)
from .observe.importer import import_traffic
from .observe.query import REPORTERS
from .observe.queues import DEFAULT_MAX_LAG, observe_queues

Command = Callable[..., argparse.ArgumentParser]


def register(command: Command) -> None:
    """Add the sub-commands with ``cli.build_parser``'s ``command`` helper."""
    p = command("observe", cmd_observe, "Compare the design with the mesh's traffic in "
                "Prometheus: per lane and call, the versions expected and reached.")
    _prometheus_options(p)
    p.add_argument("--tolerance", type=float, default=None, metavar="SHARE",
                   help="unexpected shares up to this are noise (default 0.01)")
    p = command("import-traffic", cmd_import_traffic, "Add the calls seen in Prometheus to "
                "a design (the services it lacks too), or propose a new design from them, "
                "with notes on what was inferred.", design=False)
    p.add_argument("design", metavar="DESIGN", nargs="?",
                   help="the design to complete (default: a new one from the traffic)")
    _prometheus_options(p)
    p.add_argument("--out", metavar="FILE", help="save the design to FILE instead of printing")
    p.add_argument("--min-calls", type=float, default=1.0, metavar="N",
                   help="ignore calls seen fewer than N times in the window (default 1)")
    p = command("observe-queues", cmd_observe_queues, "Compare the consumer groups (or "
                "queues) a broker exporter reports in Prometheus with those the design's "
                "lanes need (lanedesign consumers): present, missing, unexpected, lag per lane.")
    _prometheus_options(p)
    p.add_argument("--max-lag", type=float, default=DEFAULT_MAX_LAG, metavar="N",
                   help=f"a lane's group lagging more messages is a finding (default "
                   f"{DEFAULT_MAX_LAG:g})")


def _prometheus_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--prometheus", required=True, metavar="URL",
                   help="the Prometheus server, e.g. http://prometheus.istio-system:9090")
    p.add_argument("--window", default="15m", help="how far back to count (default 15m)")
    p.add_argument("--at", metavar="TIME", help="end of the window: unix seconds or "
                   "2026-11-30T12:00:00Z (default: now)")
    p.add_argument("--token-file", metavar="FILE", help="a bearer token for Prometheus, "
                   "read from FILE (never printed)")
    p.add_argument("--lane-tag", default="lane", help="the metric label that carries the "
                   "lane (the Telemetry of `export --telemetry` adds `lane`)")
    p.add_argument("--reporter", choices=REPORTERS, default=None,
                   help="which proxy's reports to count (default: waypoint for a design with "
                   "dataPlane: ambient, else destination)")
    p.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS")


def _at(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--at {text!r}: give unix seconds or a time like "
                         "2026-11-30T12:00:00Z") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).timestamp()


def _client(args: argparse.Namespace) -> Any:
    """The Prometheus client for the arguments; usage mistakes raise UsageError (exit 2)."""
    try:
        window_seconds(args.window)
    except ValueError as exc:
        raise UsageError(f"--window: {exc}") from None
    token = None
    if args.token_file:
        try:
            token = read_token(args.token_file)
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise UsageError(f"--token-file {args.token_file}: {reason}") from None
    try:
        return Prometheus(args.prometheus, token, args.timeout)
    except ValueError as exc:
        raise UsageError(f"--prometheus: {exc}") from None


def _failed(exc: Any, args: argparse.Namespace) -> int:
    if args.format == "json":
        print_json({"error": exc.to_dict(), "findings": [exc.finding().to_dict()]})
    else:
        print(f"error: {exc}" + (f". {exc.hint}" if exc.hint else ""), file=sys.stderr)
    return EXIT_DESIGN


def cmd_observe(args: argparse.Namespace) -> int:
    tolerance = DEFAULT_TOLERANCE if args.tolerance is None else args.tolerance
    if not 0 <= tolerance < 1:
        raise UsageError("--tolerance must be a share from 0 up to (not including) 1")
    client, at = _client(args), _at(args.at)
    design, findings = load_checked(args)
    if design is None:
        return unusable(findings, args)
    try:
        seen = observe(design, client, args.window, at, tolerance, args.lane_tag,
                       args.reporter)
    except PrometheusError as exc:
        return _failed(exc, args)
    except ValueError as exc:  # a lane tag that is not a label name
        raise UsageError(str(exc)) from None
    if args.format == "json":
        print_json(seen.to_dict())
    else:
        print(observation_text(seen, args.design))
    return EXIT_DESIGN if seen.comparison.divergent else EXIT_OK


def observation_text(seen: Any, source: str) -> str:
    """Per lane, each call with the versions it reached; then the findings."""
    data = seen.to_dict()
    c = seen.comparison
    lines = [f"{source}: {data['series']} series from {data['prometheus']}, "
             f"{data['window']} up to {data['at']}; lane tag: "
             f"{'yes' if c.tagged else 'no (lanes inferred from versions)'}"]
    current = None
    for cell in c.cells:
        name = ("(no lane context)" if not cell.lanes else
                "lane " + "/".join(cell.lanes) + (" (inferred)" if cell.inferred else ""))
        if name != current:
            lines.append(name)
            current = name
        total = cell.total or 1.0
        reached = ", ".join(f"{v or '?'} {n / total:.0%} ({round(n)})"
                            for v, n in sorted(cell.reached.items(), key=lambda x: -x[1]))
        mark = "  <- differs" if cell.unexpected > 0 else ""
        if cell.errors:
            reached += f"; {round(cell.errors)} answered 5xx"
        lines.append(f"  {cell.caller or 'ingress'} -> {cell.callee}: expects "
                     f"{', '.join(cell.expected) or '?'}; reached {reached}{mark}")
    lines.append(findings_text(list(c.findings), "findings"))
    return "\n".join(lines)


def cmd_observe_queues(args: argparse.Namespace) -> int:
    client, at = _client(args), _at(args.at)
    design, findings = load_checked(args)
    if design is None:
        return unusable(findings, args)
    try:
        seen = observe_queues(design, client, args.window, at, args.max_lag)
    except PrometheusError as exc:
        return _failed(exc, args)
    if args.format == "json":
        print_json(seen.to_dict())
    else:
        print(queues_text(seen, args.design))
    return EXIT_DESIGN if seen.divergent else EXIT_OK


def queues_text(seen: Any, source: str) -> str:
    """Per topic, each consumer group: the lane it serves, seen or missing, its lag."""
    data = seen.to_dict()
    lines = [f"{source}: {len(seen.queries)} queries to {data['prometheus']}, "
             f"{data['window']} up to {data['at']}",
             "(a message's lane is not in the mesh's metrics: only the brokers' groups are)"]
    current = None
    for g in seen.groups:
        if g.topic != current:
            lines.append(f"topic {g.topic}")
            current = g.topic
        who = f"{g.consumer}@{g.lane}" if g.consumer else "not in the design"
        state = f"lag {g.lag:g}" if g.seen else "MISSING"
        lines.append(f"  {g.name}: {who}; {state}")
    lines.append(findings_text(list(seen.findings), "findings"))
    return "\n".join(lines)


def cmd_import_traffic(args: argparse.Namespace) -> int:
    client, at = _client(args), _at(args.at)
    design = None
    if args.design is not None:
        design, findings = load_checked(args)
        if design is None:
            return unusable(findings, args)
    try:
        result = import_traffic(design, client, args.window, at, args.min_calls,
                                args.reporter)
    except PrometheusError as exc:
        return _failed(exc, args)
    if args.out is not None:
        try:
            save_design(result.design, args.out)
        except OSError as exc:
            raise UsageError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    if args.format == "json":
        out: dict[str, Any] = {"design": design_to_dict(result.design),
                               "notes": list(result.notes),
                               "findings": [f.to_dict() for f in result.findings]}
        if args.out is not None:
            out["file"] = args.out
        print_json(out)
    else:
        for line in [*result.notes, *map(str, result.findings)]:
            print(f"# {line}", file=sys.stderr)
        sys.stdout.write(args.out + "\n" if args.out else dump_design(result.design))
    return EXIT_DESIGN if _errors(result.findings) else EXIT_OK


def _errors(findings: tuple[Finding, ...]) -> bool:
    return any(f.severity == "error" for f in findings)
