"""The ``lanedesign`` command line (``design-file.md``, "Command line").

Exit codes: 0 success, 1 the design has errors (or the target cannot express it), 2 usage
errors. ``--format json`` prints exactly one JSON document on stdout. No tracebacks: every
failure becomes a message (text) or findings (JSON).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any

from . import examples
from .cli_common import (
    EXIT_DESIGN,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    findings_text,
    load_checked,
    print_json,
    report_findings,
    unusable,
)
from .cli_observe import register as register_observe
from .codec import dump_manifests, manifest_header
from .designfile import design_to_dict, dump_design, save_design
from .emit import TargetError, registry
from .emit.asm import import_asm
from .emit.consumers import LANE_ENV, consumer_plan
from .emit.telemetry import emit_telemetry
from .files import export_files
from .findings import CATALOGUE, Finding, has_errors
from .model import LaneDesign
from .pipeline import check_and_export
from .request import parse_header
from .simulate import distribution, routing_table, simulate
from .validate import validate
from .version import __version__


# -- commands --------------------------------------------------------------------------------
def cmd_validate(args: argparse.Namespace) -> int:
    findings = list(check_and_export(args.design, args.target).findings)
    report_findings(findings, args)
    if any(f.code == "LD007" for f in findings):
        return EXIT_USAGE
    return EXIT_DESIGN if has_errors(findings) else EXIT_OK


def _parse_headers(values: Sequence[str]) -> list[tuple[str, str]]:
    headers = []
    for raw in values:
        try:
            headers.append(parse_header(raw))
        except ValueError:
            raise UsageError(f"--header expects NAME=VALUE (or 'NAME: VALUE'), got {raw!r}"
                             ) from None
    return headers


def cmd_simulate(args: argparse.Namespace) -> int:
    headers = _parse_headers(args.header)
    if args.requests is not None and args.requests < 1:
        raise UsageError("--requests must be at least 1")
    design, findings = load_checked(args)
    if design is None:
        return unusable(findings, args)
    trace = simulate(design, headers, path=args.path, host=args.host, seed=args.seed,
                     lane=args.lane)
    result = trace.to_dict()
    if args.requests is not None:
        dist = distribution(design, args.requests, args.seed, headers, args.path, args.host)
        result["distribution"] = dist.fractions
        result["unmatched"] = dist.unmatched / dist.requests
    if args.format == "json":
        print_json(result)
    else:
        print(trace_text(design, trace))
        if args.requests is not None:
            print(f"\n{args.requests} requests:")
            for lane, share in result["distribution"].items():
                print(f"  {lane:<12} {share:6.1%}  {'#' * round(share * 40)}")
            if dist.unmatched:
                print(f"  {'404':<12} {result['unmatched']:6.1%}")
    return EXIT_OK


TREE_LINES = 200  # the text tree is for reading: longer ones end in "+N more paths"


def trace_text(design: LaneDesign, trace: Any, limit: int = TREE_LINES) -> str:
    """A simulated request as a tree a person reads at a glance (at most ``limit`` hops)."""
    if trace.status != 200:
        lines = [f"HTTP {trace.status}: the request enters no lane"]
    else:
        via = f" (chosen by {trace.via})" if trace.via else ""
        if trace.lane is not None and design.lane(trace.lane) is None:
            # `--lane nope`: the chain carries a name no route matches, so every hop takes
            # its default route, the baseline (lanes.md §2); say so, never "lane nope"
            lines = [f"HTTP 200, no lane: {trace.lane!r} names no lane of this design, so "
                     f"the baseline {design.baseline} serves the chain"]
        else:
            lines = [f"HTTP 200, lane {trace.lane}{via}"]
        tree = trace.tree(limit)
        if not tree.more_paths and all(h.depth == i for i, h in enumerate(tree.hops)):
            lines.append("chain: " + "".join(
                (" ~> " if h.topic else " -> " if i else "") + _hop_label(h)
                for i, h in enumerate(tree.hops)))
        lines += _tree_lines(trace.lane, tree.hops, design)
        if tree.more_paths:
            graph = trace.graph
            lines.append(f"{tree.note} (the request reaches {len(set(graph.services))} "
                         f"services in {len(graph)} states; --format json lists them)")
    lines += [f"warning: {w}" for w in trace.warnings]
    return "\n".join(lines)


def _tree_lines(lane: str | None, hops: Sequence[Any],
                design: LaneDesign | None = None) -> list[str]:
    """Hops (depth-first, with depths) drawn as a tree with box-drawing branches; a message
    (an asynchronous hop) branches with ``~>`` and names its topic."""
    last = []
    for i, hop in enumerate(hops):
        nxt = next((h.depth for h in hops[i + 1:] if h.depth <= hop.depth), -1)
        last.append(nxt < hop.depth)
    lines, open_levels = [], []  # open_levels[d]: an ancestor at depth d has later siblings
    for hop, is_last in zip(hops, last):
        del open_levels[hop.depth:]
        arrow = "~> " if hop.topic else "─ "
        branch = (("└" if is_last else "├") + arrow) if hop.depth else ""
        indent = "".join("│  " if more else "   " for more in open_levels[1:])
        labels = ",".join(f"{k}={v}" for k, v in hop.labels)
        note = f"  fallback -> {hop.lane}" if hop.fallback else ""
        if hop.topic:
            topic = design.topic(hop.topic) if design is not None else None
            what = f"{topic.broker} {topic.kind}" if topic is not None else "topic"
            note = f"  (via {what} {hop.topic})" + note
        if hop.context is None and lane is not None:
            note += "  (no lane context)"
        if hop.route:  # a team's route chose the version
            note += f"  team route {hop.route}"
        if hop.fault:
            note += f"  fault: {hop.fault}"
        if hop.status:
            note += f"  -> HTTP {hop.status}"
        lines.append(f"{indent}{branch}{hop.service} @{hop.lane} [{labels}]{note}")
        open_levels.append(not is_last)
    return lines


def _hop_label(hop: Any) -> str:
    return f"{hop.service}@{hop.lane}" + (" (fallback)" if hop.fallback else "")


def cmd_matrix(args: argparse.Namespace) -> int:
    design, findings = load_checked(args)
    if design is None:
        return unusable(findings, args)
    table = routing_table(design)
    if args.format == "json":
        print_json({"matrix": table})
        return EXIT_OK
    lanes = design.lane_names
    width = max([len("service"), *map(len, design.service_names)])
    cols = [max(len(lane), *(len(table[s][lane]) + 1 for s in table)) for lane in lanes]

    def line(first: str, cells: Sequence[str]) -> str:
        return f"{first:<{width}}  " + "  ".join(f"{x:<{c}}" for x, c in zip(cells, cols))

    print(line("service", lanes))
    for svc, row in table.items():
        print(line(svc, [row[ln] + ("*" if row[ln] != ln else "") for ln in lanes]))
    print("* = served by a fallback lane")
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    design, objects, findings = _emitted(args)
    if design is None:
        # stdout carries the manifests (`export ... > out.yaml`): never error text
        return unusable(findings, args, sys.stderr)
    header = manifest_header(design.name, args.target, len(objects), args.design)
    if args.out is None:
        if args.format == "json":
            print_json({"objects": objects})
        else:
            sys.stdout.write(dump_manifests(objects, header))
        return EXIT_OK
    try:
        # the folder keeps exactly the design's objects: files this export no longer writes,
        # and that lanedesign wrote there before, go (files.py)
        done = export_files(objects, Path(args.out), header, design.name, args.target)
    except OSError as exc:
        raise UsageError(f"cannot write to {args.out}: {exc.strerror or exc}") from exc
    if args.format == "json":
        print_json(done.to_dict())
    else:
        print("\n".join(str(p) for p in done.written))
        # stdout lists the files written (for scripts); what else happened goes to stderr
        for path in done.removed:
            print(f"removed {path} (no longer emitted)", file=sys.stderr)
        for finding in done.findings:
            print(f"{finding}\n  fix: {finding.hint}", file=sys.stderr)
    return EXIT_OK


def cmd_import_asm(args: argparse.Namespace) -> int:
    try:
        text = Path(args.file).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror or exc}") from exc
    loaded = import_asm(text, args.group)
    design, findings = loaded.design, list(loaded.findings)
    if design is not None:  # the objects read; now what the design they describe says
        findings += validate(design)
    if design is not None and args.out is not None:
        try:
            save_design(design, args.out)
        except OSError as exc:
            raise UsageError(f"cannot write {args.out}: {exc.strerror or exc}") from exc
    if args.format == "json":
        result: dict[str, Any] = {"findings": [f.to_dict() for f in findings]}
        if design is not None:
            result["design"] = design_to_dict(design)
            if args.out is not None:
                result["file"] = args.out
        print_json(result)
    else:
        for f in findings:
            print(f"# {f}", file=sys.stderr)
        if design is not None:
            sys.stdout.write(args.out + "\n" if args.out is not None else dump_design(design))
    return EXIT_DESIGN if design is None or has_errors(findings) else EXIT_OK


def cmd_example(args: argparse.Namespace) -> int:
    if args.name is None:
        names = examples.names()
        if args.format == "json":
            print_json({"examples": names})
        else:
            print("\n".join(names))
        return EXIT_OK
    if args.name not in examples.names():
        raise UsageError(f"no example {args.name!r}; known: {', '.join(examples.names())}")
    sys.stdout.write(examples.path(args.name).read_text(encoding="utf-8"))
    return EXIT_OK


# -- cluster commands: diff, apply, import-cluster ------------------------------------------
def _cluster_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--context", help="kubeconfig context (default: the current one)")
    p.add_argument("--kubeconfig", metavar="FILE", help="kubeconfig file (default: "
                   "$KUBECONFIG or ~/.kube/config)")
    p.add_argument("--in-cluster", action="store_true", help="use the pod's service account")


def _on_cluster(args: argparse.Namespace, func: Any) -> int:
    """Connect and run ``func(cluster)``; a cluster failure becomes one line, no traceback.

    Config mistakes (no kubeconfig, unknown context) exit 2, everything else 1.
    """
    api = _cluster_api()
    # urllib3 logs every connection retry as a warning; the error below says it once
    logging.getLogger("urllib3").setLevel(logging.ERROR)
    try:
        with api.connect(args.kubeconfig, args.context, args.in_cluster) as cluster:
            return int(func(cluster))
    except api.ClusterError as exc:
        if args.format == "json":
            print_json({"error": exc.to_dict()})
        else:
            print(f"error: {exc}" + (f". {exc.hint}" if exc.hint else ""), file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, api.ConfigError) else EXIT_DESIGN


def _cluster_api() -> ModuleType:
    """``lanedesign.cluster``, imported when a cluster command runs: it brings the kubernetes
    client (about half a second), which validate, simulate and export do without. The one
    function-local import of the command line (``tests/test_layers.py`` lists it)."""
    from . import cluster

    return cluster


def _emitted(args: argparse.Namespace) -> tuple[LaneDesign | None, list, list[Finding]]:
    """The design, its objects for ``--target``, and findings (design ``None`` if unusable)."""
    with_gateway = getattr(args, "with_gateway", False)
    if with_gateway and "with_gateway" not in registry.target(args.target).options:
        raise UsageError(f"--with-gateway: the {args.target} target emits no Gateway; "
                         "targets that do: " + ", ".join(
                             t.name for t in registry.targets() if "with_gateway" in t.options))
    checked = check_and_export(args.design, args.target,
                               full_routes=getattr(args, "full_routes", False),
                               with_gateway=with_gateway)
    objects = list(checked.objects)
    if checked.design is not None and getattr(args, "telemetry", False):
        # export --telemetry: a Telemetry that tags request metrics with the lane (observe)
        try:
            objects += emit_telemetry(checked.design)
        except TargetError as exc:
            return None, [], [*checked.findings, exc.finding]
    return checked.design, objects, list(checked.findings)


def _progress_line(progress: Any) -> None:
    print(f"[{progress.done}/{progress.total}] {progress.phase:<8} {progress.message}",
          file=sys.stderr, flush=True)


def cmd_diff(args: argparse.Namespace) -> int:
    design, objects, findings = _emitted(args)
    if design is None:
        return unusable(findings, args)

    def run(cluster: Any) -> int:
        plan = _cluster_api().diff(cluster, objects, design.name, args.force_conflicts,
                                   allow_overlap=args.allow_overlap, design=design,
                                   adopt=args.adopt)
        if args.format == "json":
            print_json({**plan.to_dict(),
                        "findings": [f.to_dict() for f in [*findings, *plan.findings]]})
        else:
            print(plan.summary())
        return EXIT_DESIGN if plan.blocked else EXIT_OK

    return _on_cluster(args, run)


def cmd_apply(args: argparse.Namespace) -> int:
    if args.wait < 0:
        raise UsageError("--wait must be 0 or more seconds")
    design, objects, findings = _emitted(args)
    if design is None:
        return unusable(findings, args)

    def run(cluster: Any) -> int:
        result = _cluster_api().apply(
            cluster, objects, design.name, dry_run=not args.yes, prune=args.prune,
            force_conflicts=args.force_conflicts, settle_seconds=args.wait,
            on_progress=_progress_line, allow_overlap=args.allow_overlap, design=design,
            adopt=args.adopt)
        if args.format == "json":
            print_json({**result.to_dict(), "findings": [
                f.to_dict() for f in [*findings, *result.plan.findings]]})
        else:
            print(result.summary())
            if not args.yes and result.ok and result.steps:
                print("(dry run: add --yes to apply)")
        return EXIT_OK if result.ok else EXIT_DESIGN

    return _on_cluster(args, run)


def cmd_remove(args: argparse.Namespace) -> int:
    if args.wait < 0:
        raise UsageError("--wait must be 0 or more seconds")
    design, findings = load_checked(args)
    if design is None:
        return unusable(findings, args)

    def run(cluster: Any) -> int:
        result = _cluster_api().remove(cluster, design.name, dry_run=not args.yes,
                                       settle_seconds=args.wait, on_progress=_progress_line)
        if args.format == "json":
            print_json(result.to_dict())
        else:
            print(result.summary())
            if not args.yes and result.status == "dry-run":
                print("(dry run: add --yes to remove)")
        return EXIT_OK if result.ok else EXIT_DESIGN

    return _on_cluster(args, run)


def cmd_import_cluster(args: argparse.Namespace) -> int:
    if not (args.group or args.namespace):
        raise UsageError("import-cluster needs --namespace NS (workloads) or --group NAME "
                         "(the objects a lane group owns)")
    existing = None
    if args.calls_from:
        existing, findings = load_checked(argparse.Namespace(design=args.calls_from))
        if existing is None:
            raise UsageError(f"--calls-from {args.calls_from}: not a usable design "
                             f"({'; '.join(f.message for f in findings[:2])})")

    def run(cluster: Any) -> int:
        api = _cluster_api()
        if args.group:
            result = api.import_owned(cluster, args.group, existing, adopt=args.adopt)
        else:
            result = api.import_design(cluster, args.namespace, args.label_key, args.name,
                                       args.baseline, existing, adopt=args.adopt)
        if args.format == "json":
            print_json(result.to_dict())
        else:
            for line in [*result.notes, *map(str, result.findings)]:
                print(f"# {line}", file=sys.stderr)
            sys.stdout.write(result.yaml())
        # a proposal to complete by hand: its findings say what Kubernetes could not tell
        # (calls no environment names); only finding nothing at all (a missing namespace,
        # no lane label: coded findings) is a failure
        return EXIT_OK if result.design is not None else EXIT_DESIGN

    return _on_cluster(args, run)


def cmd_consumers(args: argparse.Namespace) -> int:
    """What each lane's producers and consumers must be configured with (the apps' part)."""
    design, findings = load_checked(args)
    if design is None:
        return unusable(findings, args, sys.stderr if args.format == "yaml" else None)
    plan = consumer_plan(design)
    if args.format == "json":
        # the validator's findings too, as every command's JSON has them
        print_json({**plan.to_dict(), "findings": [f.to_dict() for f in
                                                   (*findings, *plan.findings)]})
    elif args.format == "yaml":
        header = (f"{len(plan.objects)} objects for the apps of lane design {design.name!r} "
                  f"(lanedesign consumers, from {args.design}).\n{plan.to_dict()['note']}")
        sys.stdout.write(dump_manifests(plan.objects, header))
    else:
        print(consumers_text(plan))
    return EXIT_OK


def consumers_text(plan: Any) -> str:
    """The plan as a table per topic, then the producers' properties and the patches."""
    lines = [f"NOTE: {plan.to_dict()['note']}", ""]
    props = plan.properties
    lines.append(f"producers write: {props.key}=${{{LANE_ENV}}} (their own lane, the filter "
                 f"key) and {props.tag}: {props.tag_form}")
    lines.append(f"every version gets {LANE_ENV} from its pod label {plan.label_key!r} "
                 "(downward API)")
    for topic, producers in plan.producers:
        rows = [r for r in plan.rows if r.topic == topic]
        lines.append("")
        lines.append(f"topic {topic}" + (f" ({rows[0].broker})" if rows and rows[0].broker
                                         else "") + f": producers {', '.join(producers) or '-'}")
        if rows and rows[0].style == "queue":
            lines.append(f"  producers publish with routing key ${{{LANE_ENV}}} (their own lane)")
        for r in rows:
            kind = "group" if r.style == "group" else "queue"
            bound = f" bound to {r.bound_to} with keys" if r.bound_to else " takes keys"
            extra = " + untagged" if r.untagged else ""
            off = "  (does not filter: LD733)" if not r.filters else ""
            lines.append(f"  {r.consumer}@{r.lane}: {kind} {r.name}{bound} "
                         f"{','.join(r.accepts)}{extra}{off}")
    lines.append("")
    lines.append("Deployment patches (strategic merge; the name is a guess, the pods are):")
    lines += [f"  {deployment}: {selector}" for deployment, selector in plan.patch_targets]
    lines.append("(--format yaml prints the ConfigMaps and patches; --format json all of it)")
    # LD730 is the NOTE that opens the table
    lines.append(findings_text([f for f in plan.findings if f.code != "LD730"], "findings"))
    return "\n".join(lines)


def cmd_findings(args: argparse.Namespace) -> int:
    if args.format == "json":
        print_json({"codes": [vars(info) for info in CATALOGUE.values()]})
    else:
        for info in CATALOGUE.values():
            print(f"{info.code} {info.severity:<7} {info.name}: {info.meaning}")
    return EXIT_OK


# -- the parser ------------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="lanedesign", description="Design, check and export service-mesh "
                     "traffic lanes.")
    parser.add_argument("--version", action="version", version=f"lanedesign {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for add in (_validate_parser, _simulate_parser, _matrix_parser, _export_parser,
                _import_asm_parser, _findings_parser, _example_parser, _diff_parser,
                _apply_parser, _remove_parser, _import_cluster_parser, _consumers_parser):
        add(sub)
    register_observe(partial(_command, sub))  # observe, import-traffic: cli_observe.py
    return parser


def _command(sub: Any, name: str, func: Any, help_text: str, design: bool = True,
             ) -> argparse.ArgumentParser:
    """A sub-command with ``--format``, and the design file argument unless ``design=False``."""
    p = sub.add_parser(name, help=help_text, description=help_text)
    if design:
        p.add_argument("design", metavar="DESIGN", help="the design file (YAML)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=func)
    return p


def _validate_parser(sub: Any) -> None:
    p = _command(sub, "validate", cmd_validate, "Check a design; list findings with codes and "
                 "hints.")
    p.add_argument("--target", choices=registry.names(),
                   help="also check what this target can express")


def _simulate_parser(sub: Any) -> None:
    p = _command(sub, "simulate", cmd_simulate, "Send one request through the ingress and the "
                 "call graph; show the lane serving each hop.")
    p.add_argument("--header", "-H", action="append", default=[], metavar="NAME=VALUE",
                   help="a request header (repeatable); the first = or : ends the name, "
                   "so x-user=a:b sends x-user with value a:b")
    p.add_argument("--path", default="/", help="request path (default /)")
    p.add_argument("--host", help="request host (default: any)")
    p.add_argument("--lane", help="skip the ingress; start the chain in this lane")
    p.add_argument("--requests", type=int, metavar="N", help="also send N requests and show "
                   "how they spread over the lanes")
    p.add_argument("--seed", type=int, help="random seed for weighted ingress")


def _matrix_parser(sub: Any) -> None:
    _command(sub, "matrix", cmd_matrix, "Show the serving lane of every service in every lane.")


def _export_parser(sub: Any) -> None:
    p = _command(sub, "export", cmd_export, "Emit the manifests for a target as multi-document "
                 "YAML (or one file per object with --out).")
    p.add_argument("--target", choices=registry.names(), required=True)
    p.add_argument("--out", metavar="DIR", help="write one YAML file per object into DIR "
                   "(and remove the files an earlier export wrote there for objects no longer "
                   "emitted)")
    _full_routes_option(p)
    _with_gateway_option(p)
    p.add_argument("--telemetry", action="store_true", help="also emit an Istio Telemetry "
                   "that tags request metrics with the lane (for `lanedesign observe`)")


def _import_asm_parser(sub: Any) -> None:
    p = _command(sub, "import-asm", cmd_import_asm, "Read ASMSwimLaneGroup/ASMSwimLane YAML "
                 "and print the lane design it describes.", design=False)
    p.add_argument("file", metavar="FILE", help="YAML with ASMSwimLaneGroup and ASMSwimLane")
    p.add_argument("--group", metavar="NAME", help="the group to import when FILE holds several")
    p.add_argument("--out", metavar="FILE", help="save the design to FILE instead of printing it")


def _consumers_parser(sub: Any) -> None:
    help_text = ("What the apps need where lanes cross a message queue (the mesh does not do "
                 "this part): per topic and lane, the consumer version, its consumer group or "
                 "queue, the lane env var from the pod label and the properties producers "
                 "write; as a table, JSON, or ConfigMaps and Deployment patches (yaml).")
    p = sub.add_parser("consumers", help=help_text, description=help_text)
    p.add_argument("design", metavar="DESIGN", help="the design file (YAML)")
    # text and table are one: every sub-command takes --format text|json
    p.add_argument("--format", choices=("table", "text", "json", "yaml"), default="table")
    p.set_defaults(func=cmd_consumers)


def _findings_parser(sub: Any) -> None:
    _command(sub, "findings", cmd_findings, "List every finding code.", design=False)


def _example_parser(sub: Any) -> None:
    p = _command(sub, "example", cmd_example, "List the built-in example designs, or print one "
                 "(e.g. `lanedesign example shop > shop.yaml`).", design=False)
    p.add_argument("name", nargs="?", help="the example to print")


def _diff_parser(sub: Any) -> None:
    p = _command(sub, "diff", cmd_diff, "Compare the design's manifests with the cluster "
                 "(server dry run): create, update with field diff, unchanged, prune, "
                 "conflict.")
    p.add_argument("--target", choices=registry.names(), default="istio")
    _full_routes_option(p)
    _with_gateway_option(p)
    p.add_argument("--force-conflicts", action="store_true",
                   help="judge as if taking over fields other managers own")
    _overlap_option(p, "judge as apply --allow-overlap would (exit 0 despite overlaps)")
    p.add_argument("--adopt", action="store_true", help="judge as apply --adopt would")
    _cluster_options(p)


def _apply_parser(sub: Any) -> None:
    p = _command(sub, "apply", cmd_apply, "Server-side apply the manifests make-before-break; "
                 "without --yes only the server dry run runs.")
    p.add_argument("--target", choices=registry.names(), default="istio")
    _full_routes_option(p)
    _with_gateway_option(p)
    p.add_argument("--yes", action="store_true", help="really apply (default: dry run)")
    p.add_argument("--prune", action="store_true",
                   help="delete objects this lane group owns that the design no longer emits")
    p.add_argument("--force-conflicts", action="store_true",
                   help="take over fields another field manager owns")
    p.add_argument("--wait", type=float, default=3.0, metavar="SECONDS",
                   help="pause between phases so proxies get new subsets first (default 3)")
    _overlap_option(p, "apply even though objects of other owners route the same hosts "
                    "(the findings say what Istio then keeps and what is lost)")
    p.add_argument("--adopt", action="store_true", help="take over other owners' mesh "
                   "VirtualServices and DestinationRules whose routing the design carries "
                   "(recorded on ours, deleted after ours route; `remove` hands them back)")
    _cluster_options(p)


def _remove_parser(sub: Any) -> None:
    p = _command(sub, "remove", cmd_remove, "Delete every object of the design's lane group "
                 "(routes before subsets), first recreating the team objects it adopted; "
                 "without --yes only the server dry run runs.")
    p.add_argument("--yes", action="store_true", help="really remove (default: dry run)")
    p.add_argument("--wait", type=float, default=3.0, metavar="SECONDS",
                   help="pause between phases so proxies follow (default 3)")
    _cluster_options(p)


def _import_cluster_parser(sub: Any) -> None:
    p = _command(sub, "import-cluster", cmd_import_cluster, "Propose a design from the "
                 "Services and Deployments in namespaces (or read back a lane group's objects); "
                 "its findings say what to complete by hand.", design=False)
    p.add_argument("--namespace", "-n", action="append", metavar="NS",
                   help="namespace to read (repeatable)")
    p.add_argument("--label-key", default="version",
                   help="pod label whose values name the lanes (default: version)")
    p.add_argument("--name", help="design name (default: the first namespace)")
    p.add_argument("--baseline", help="the baseline lane (default: one holding every service)")
    p.add_argument("--calls-from", metavar="DESIGN",
                   help="take calls, headers and ingress from this design (over the calls "
                   "inferred from the workloads' environment; with --group too)")
    p.add_argument("--group", metavar="NAME",
                   help="instead: rebuild lane group NAME from the objects it owns")
    p.add_argument("--adopt", action="store_true",
                   help="read the teams' VirtualServices and DestinationRules for the "
                   "services (and their gateway route on the ingress gateway) into the "
                   "design: services[].routing, the ingress's paths (docs/istio.md)")
    _cluster_options(p)


def _overlap_option(p: argparse.ArgumentParser, help_text: str) -> None:
    p.add_argument("--allow-overlap", action="store_true", help=help_text)


def _full_routes_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--full-routes", action="store_true",
                   help="istio: a route for every lane in each VirtualService, also where the "
                        "default route serves the lane already (default: only routes that "
                        "change where a request goes)")


def _with_gateway_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--with-gateway", action="store_true",
                   help="istio, gateway-api: also emit the Gateway the ingress names (a stock "
                        "mesh has none); see docs/istio.md, docs/gateway-api.md")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        return int(args.func(args))
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        print(f"lanedesign: internal error: {type(exc).__name__}: {exc}\n"
              "This is a bug in lanedesign; please report it with the design file.",
              file=sys.stderr)
        return EXIT_DESIGN
