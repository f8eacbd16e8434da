"""Untagged data: only versions. A call is attributed to the lanes whose design has its
caller version on that call and expects the callee version it reached; hops where several
lanes call from one version are listed, not guessed."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from ..findings import make
from .calls import Call, Cell, Context, edge_text, some
from .expect import Edge, Expectation


def untagged_cells(ctx: Context, calls: list[Call]) -> list[Cell]:
    """Attribute each call by its version pair; lanes sharing the pair share a cell."""
    cells: dict[tuple, Cell] = {}
    for call in calls:
        candidates = _candidates(ctx, call.edge, call.caller_version)
        consistent = tuple(ln for ln, vs in candidates.items() if call.callee_version in vs)
        lanes = consistent or tuple(candidates)
        key = (lanes, call.caller, call.callee)
        if key not in cells:
            expected = sorted({v for ln in lanes for v in candidates[ln]})
            cells[key] = Cell(lanes, call.caller, call.callee, tuple(expected),
                              inferred=True)
        cells[key].reached[call.callee_version] += call.count
        if call.response_code.startswith("5"):
            cells[key].errors += call.count
    return list(cells.values())


def _candidates(ctx: Context, edge: Edge, caller_version: str) -> dict[str, set[str]]:
    """Lanes whose call on ``edge`` comes from ``caller_version``: the versions each expects."""
    found: dict[str, set[str]] = {}
    caller = edge[0]
    for lane, edges in ctx.expectations.items():
        for exp in edges.get(edge, ()):
            if caller is not None and caller_version not in _caller_versions(ctx, caller, exp):
                continue
            version = ctx.versions.get(exp.callee_lane)
            if version:
                found.setdefault(lane, set()).add(version)
    return found


def _caller_versions(ctx: Context, caller: str, exp: Expectation) -> set[str | None]:
    """The versions the caller may answer in: its lane's, or, where that version served no
    call at all (not deployed), the version its calls fall back to."""
    own = ctx.versions.get(exp.caller_lane)
    if own in ctx.seen_versions[caller]:
        return {own}
    return {own, ctx.versions.get(ctx.design.fallback_for(caller))}


def indistinguishable_hops(ctx: Context) -> list[dict[str, Any]]:
    """Hops where several lanes call from the same version: without a lane tag their calls
    are one stream, so a call of one lane that reaches another's version looks like the
    other's own call (and lanes expecting the same callee version share one cell)."""
    rows = []
    for edge in ctx.paths:
        groups: dict[str, dict[str, set[str]]] = defaultdict(dict)
        for lane, edges in ctx.expectations.items():
            for exp in edges.get(edge, ()):
                caller_v = "" if edge[0] is None else ctx.versions.get(exp.caller_lane) or "?"
                callee_v = ctx.versions.get(exp.callee_lane) or "?"
                groups[caller_v].setdefault(lane, set()).add(callee_v)
        for caller_v, lanes in groups.items():
            if len(lanes) > 1:
                rows.append({"caller": edge[0], "callee": edge[1],
                             "caller_version": caller_v or None,
                             "lanes": {ln: sorted(vs) for ln, vs in lanes.items()}})
    if rows:
        hops = [f"{edge_text((r['caller'], r['callee']))} ({'/'.join(r['lanes'])})"
                for r in rows]
        ctx.findings.append(make(
            "LD806", "spec.lanes",
            f"without a lane tag, {len(rows)} hop(s) cannot be told apart: several lanes call "
            f"from the same version, so a call of one that reaches another's version looks "
            f"like the other's own: {some(hops)}",
            "export with `--telemetry` so that Istio's metrics carry the lane"))
    return rows
