"""Tagged data: every call carries its lane (the Telemetry's ``lane`` tag).

Calls are judged in their own lane; untagged calls a caller makes beyond the untagged calls
it receives lost the lane context in that caller and are charged to the lanes that fall short.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict

from ..findings import make
from .calls import Call, Cell, Context, edge_text, num, pct
from .expect import Edge


def tagged_cells(ctx: Context, calls: list[Call]) -> tuple[list[Cell], Counter]:
    design, lanes = ctx.design, set(ctx.design.lane_names)
    serve = design.serving_lane_resolver()
    cells: dict[tuple, Cell] = {}
    unknown = Counter()
    inbound: dict[str, Counter] = defaultdict(Counter)  # service -> lane (or None) -> calls
    outbound: dict[Edge, Counter] = defaultdict(Counter)  # edge -> lane (or None) -> calls
    untagged_versions: dict[Edge, Counter] = defaultdict(Counter)
    for call in calls:
        if call.lane is not None and call.lane not in lanes:
            unknown[call.lane] += call.count
            continue
        inbound[call.callee][call.lane] += call.count
        outbound[call.edge][call.lane] += call.count
        if call.lane is None:
            untagged_versions[call.edge][call.callee_version] += call.count
        key = ((call.lane,) if call.lane else (), call.caller, call.callee)
        if key not in cells:
            version = ctx.versions.get(serve(call.lane, call.callee))
            cells[key] = Cell(key[0], call.caller, call.callee, (version,) if version else ())
        cells[key].reached[call.callee_version] += call.count
        if call.response_code.startswith("5"):
            cells[key].errors += call.count
    for edge, by_lane in outbound.items():
        _attribute_lost(ctx, edge, by_lane, inbound, untagged_versions[edge], cells)
    return list(cells.values()), unknown


def _attribute_lost(ctx: Context, edge: Edge, out: Counter, inbound: dict[str, Counter],
                    versions: Counter, cells: dict[tuple, Cell]) -> None:
    """Untagged calls a caller makes beyond the untagged calls it receives lost the lane
    context in that caller; they are charged to the lanes whose calls fall short."""
    caller, callee = edge
    svc = ctx.design.service(caller) if caller else None
    if svc is None or not svc.propagates or not out[None]:
        return  # the ingress, or an app the design says drops the context
    into = inbound.get(caller, Counter())
    total_in, total_out = sum(into.values()), sum(out.values())
    if not total_in:
        return
    k = total_out / total_in  # calls out per call in, the same in every lane
    lost = out[None] - into[None] * k
    if lost <= ctx.tolerance * total_out:
        return
    deficits = {lane: into[lane] * k - out[lane] for lane in into if lane is not None}
    deficits = {lane: d for lane, d in deficits.items() if d > ctx.tolerance * total_out}
    short = sum(deficits.values())
    if not short:
        ctx.findings.append(make(
            "LD802", ctx.paths[edge],
            f"{edge_text(edge)}: {num(lost)} calls carried no lane context, and no lane's "
            f"calls into {caller} fall short to explain them",
            f"{caller} may drop the lane context on some calls; check its propagation"))
        return
    serve = ctx.design.serving_lane_resolver()
    reached = sum(versions.values())
    for lane, deficit in sorted(deficits.items()):
        charged = min(deficit, lost * deficit / short)
        key = ((lane,), caller, callee)
        if key not in cells:
            version = ctx.versions.get(serve(lane, callee))
            cells[key] = Cell((lane,), caller, callee, (version,) if version else ())
        cells[key].lost += charged
        for version, n in versions.items():
            cells[key].reached[version] += charged * n / reached


def without_tag_label(ctx: Context, calls: list[Call]) -> list[Call]:
    """Calls whose series lack the lane label although others have it: their namespace is
    not covered by the Telemetry (a partial roll-out). Reported, not judged: read as "no
    lane context" they would all look like lost contexts."""
    missing: Counter = Counter()
    for call in calls:
        if not call.has_tag:
            missing[call.callee_namespace or "?"] += call.count
    for namespace, count in sorted(missing.items()):
        ctx.findings.append(make(
            "LD811", "spec.namespace",
            f"{num(count)} calls into namespace {namespace} have no lane tag while others "
            "have one; they are not judged",
            f"apply the Telemetry of `lanedesign export --telemetry` in namespace "
            f"{namespace} too"))
    return [c for c in calls if c.has_tag] if missing else calls


def ingress_split(ctx: Context, calls: list[Call]) -> None:
    """A weighted ingress: do the lanes get their weights' shares of the entry's calls?

    The default lane also takes the requests the weighted match misses, so it is left out,
    and the shares are compared among the other lanes of positive weight.
    """
    ingress = ctx.design.ingress
    if ingress is None or ingress.strategy != "weighted":
        return
    weights = {lane: w for lane, w in ingress.weights if w > 0 and lane != ingress.default}
    if len(weights) < 2:
        return
    entered: Counter = Counter()
    for call in calls:
        if call.caller is None and call.callee == ingress.entry and call.lane in weights:
            entered[call.lane] += call.count
    total, weight_sum = sum(entered.values()), sum(weights.values())
    if not total:
        return
    for lane, weight in weights.items():
        expected, seen = weight / weight_sum, entered[lane] / total
        # binomial noise of a real gateway's random split, three standard deviations
        noise = 3 * math.sqrt(expected * (1 - expected) / total) + ctx.tolerance
        if abs(seen - expected) > noise:
            ctx.findings.append(make(
                "LD812", f"spec.ingress.weights.{lane}",
                f"lane {lane} received {pct(seen)} of the requests the weighted ingress "
                f"split ({num(entered[lane])} of {num(total)}); its weight gives "
                f"{pct(expected)}",
                "check the gateway VirtualService's weights against the design "
                "(`lanedesign diff`), then apply the design"))


def unknown_tag_findings(ctx: Context, unknown: Counter) -> None:
    for tag, count in sorted(unknown.items()):
        ctx.findings.append(make(
            "LD807", "spec.lanes",
            f"{num(count)} calls carry lane tag {tag!r}, which names no lane of the design "
            "(the mesh serves them from the baseline)",
            "add the lane to the design, or find the client sending this route header value"))


def lanes_without_traffic(ctx: Context, calls: list[Call]) -> None:
    seen = {c.lane for c in calls}
    for i, lane in enumerate(ctx.design.lanes):
        if lane.name not in seen:
            ctx.findings.append(make(
                "LD808", f"spec.lanes[{i}]",
                f"lane {lane.name}: no call carried it in this window"))
