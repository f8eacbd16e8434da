"""The Traffic view: the design's call graph drawn with what the mesh's metrics observed.

Edge width grows with the calls a call carried in the window; calls whose traffic diverges
from the design are red and labelled with what they reached; hovering an edge shows the
numbers; calls the design lacks are dashed purple, designed calls nobody made are faded and
dotted. What diverges comes from ``observe.compare`` (a ``Comparison``); this only draws it.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict

from ..model import LaneDesign
from ..observe.calls import Cell, Comparison
from .diagram import DEFAULT_MAX_NODES, Diagram, _graph, _label, _select
from .svg import EDGE_COLOUR, FADED_COLOUR, LOST_COLOUR, lane_colours

EXTRA_COLOUR = "#7b3294"  # calls the design lacks
MAX_WIDTH = 5.0


def traffic_diagram(design: LaneDesign, comparison: Comparison, lane: str | None = None, *,
                    max_nodes: int = DEFAULT_MAX_NODES, direction: str = "LR") -> Diagram:
    """The observed calls of ``lane`` (every lane when None) on the design's call graph."""
    cells = [c for c in comparison.cells if lane is None or lane in c.lanes]
    per_edge: dict[tuple[str | None, str], list[Cell]] = defaultdict(list)
    for cell in cells:
        per_edge[(cell.caller, cell.callee)].append(cell)
    divergent = {_edge_of(f.path, design) for f in comparison.findings
                 if f.code in ("LD801", "LD802", "LD803")}
    shown, left_out = _select(design, lane, None, max_nodes)
    ids = {name: f"n{i}" for i, name in enumerate(shown)}
    busiest = max((sum(c.total for c in cs) for cs in per_edge.values()), default=0.0) or 1.0
    g = _graph(direction)
    fills = lane_colours(design)
    serve = design.serving_lane_resolver()
    for name in shown:
        served = serve(lane, name) if lane else design.baseline
        g.node(ids[name], label=_label(name), style="rounded,filled",
               fillcolor=fills.get(served, "#ffffff"), tooltip=_label(name))
    if design.ingress and design.ingress.entry in ids:
        g.node("gateway", label=_label("gateway"), shape="invhouse", style="filled",
               fillcolor="#ffffff", color="#333333")
    for svc in design.services:
        for callee in dict.fromkeys(svc.calls):
            if svc.name in ids and callee in ids:
                _edge(g, ids[svc.name], ids[callee], (svc.name, callee), per_edge, divergent,
                      busiest)
    entry = design.ingress.entry if design.ingress else ""
    if entry in ids:
        _edge(g, "gateway", ids[entry], (None, entry), per_edge, divergent, busiest)
    _extra_edges(g, comparison, ids, lane)
    title = (f"observed traffic, {'lane ' + lane if lane else 'all lanes'} (width: calls; "
             "red: diverges; hover: numbers)")
    return Diagram(g.source, title, shown, left_out)


def _edge_of(path: str, design: LaneDesign) -> tuple[str | None, str] | None:
    """The call a finding's path names (``spec.services[1].calls[0]``, ``spec.ingress.entry``)."""
    if path == "spec.ingress.entry":
        return (None, design.ingress.entry) if design.ingress else None
    try:
        head, _, rest = path.partition("].calls[")
        svc = design.services[int(head.rpartition("[")[2])]
        return svc.name, svc.calls[int(rest.rstrip("]"))]
    except (ValueError, IndexError):
        return None


def _edge(g, tail: str, head: str, call: tuple[str | None, str],
          per_edge: dict, divergent: set, busiest: float) -> None:
    cells = per_edge.get(call, [])
    total = sum(c.total for c in cells)
    caller = call[0] or "ingress"
    if not total:
        g.edge(tail, head, style="dotted", color=FADED_COLOUR, penwidth="1",
               tooltip=_label(f"{caller} -> {call[1]}: no calls observed"))
        return
    reached: Counter = Counter()
    for cell in cells:
        reached.update(cell.reached)
    expected = sorted({v for c in cells for v in c.expected})
    shares = ", ".join(f"{v or '?'} {n / total:.0%} ({round(n)})"
                       for v, n in sorted(reached.items(), key=lambda x: -x[1]))
    tip = f"{caller} -> {call[1]}: {round(total)} calls; expects {', '.join(expected) or '?'}; " \
          f"reached {shares}"
    width = 1.0 + (MAX_WIDTH - 1.0) * math.sqrt(total / busiest)
    attrs = {"penwidth": f"{width:.2f}", "color": EDGE_COLOUR, "tooltip": _label(tip),
             "arrowsize": "0.5"}
    if call in divergent:
        wrong: Counter = Counter()  # each cell judged by its own lane's expectation
        for cell in cells:
            wrong.update({v: n for v, n in cell.reached.items()
                          if cell.expected and v not in cell.expected})
        text = ", ".join(f"{v or '?'} {n / total:.0%}" for v, n in wrong.most_common())
        attrs.update(color=LOST_COLOUR, fontcolor=LOST_COLOUR,
                     label=_label(f"unexpected: {text}"), arrowsize="0.5")
    g.edge(tail, head, **attrs)


def _extra_edges(g, comparison: Comparison, ids: dict[str, str], lane: str | None) -> None:
    """Calls the design lacks (all lanes: the metrics' lane is not kept for them)."""
    if lane is not None:
        return
    for i, row in enumerate(comparison.extra_calls):
        tail = ids.get(row["caller"])
        if tail is None:
            continue
        head = ids.get(row["callee"])
        if head is None:
            head = f"x{i}"
            g.node(head, label=_label(row["callee"]), style="dashed", color=EXTRA_COLOUR,
                   fontcolor=EXTRA_COLOUR)
        g.edge(tail, head, style="dashed", color=EXTRA_COLOUR, fontcolor=EXTRA_COLOUR,
               label=_label("not in the design"),
               tooltip=_label(f"{row['caller']} -> {row['callee']}: {row['count']} calls, "
                              "a call the design lacks"))
