"""The measurements for one design size, each against its floor from the same run."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field

from lanedesign import routing_matrix, routing_table, simulate, validate
from lanedesign.codec import dump_manifests
from lanedesign.emit import emit
from lanedesign.model import LaneDesign
from lanedesign.render import chain_diagram, to_svg
from lanedesign.simulate import forget_shapes

from . import floors
from .designer import designer_metrics
from .generate import design_for
from .timing import Budget, Metric, measure, measure_against

DESIGNER_SIZES = ("S", "M", "L")  # the designer is for editing by hand; XL is for the CLI


@dataclass
class SizeReport:
    """Every metric of one size."""

    size: str
    services: int
    lanes: int
    metrics: list[Metric] = field(default_factory=list)

    def metric(self, name: str) -> Metric:
        return next(m for m in self.metrics if m.name == name)


def run_size(size: str, budget: Budget) -> SizeReport:
    """Measure every metric for the design of ``size``."""
    design = design_for(size)
    report = SizeReport(size, len(design.services), len(design.lanes))
    report.metrics += [_validate(design, budget), _matrix(design, budget),
                       _simulate(design, budget), *_export(design, budget),
                       _diagram(design, budget), _refresh(design, budget)]
    if size in DESIGNER_SIZES:
        report.metrics += designer_metrics(design, budget)
    report.metrics.append(_memory(size, report))
    return report


def _validate(design: LaneDesign, budget: Budget) -> Metric:
    return measure("validate", lambda: validate(design), lambda: floors.scan_design(design),
                   "one lookup per service name, call and lane member", budget)


def _matrix(design: LaneDesign, budget: Budget) -> Metric:
    return measure("matrix", lambda: routing_matrix(design), _table_floor(design),
                   "pandas building a frame of the same values from ready rows", budget)


def _table_floor(design: LaneDesign) -> Callable[[], object]:
    table = routing_table(design)
    rows = [list(by_lane.values()) for by_lane in table.values()]
    return floors.table_builder(rows, list(table), list(dict.fromkeys(design.lane_names)))


def _simulate(design: LaneDesign, budget: Budget) -> Metric:
    """One request per lane, each sample on a design that has explored nothing yet.

    The simulator explores a design's call graph once (its lane-independent ``Shape``) and
    keeps it on the design; dropping it before each sample bills that exploration too.
    """
    lanes = design.lane_names
    entry = design.ingress.entry if design.ingress else ""
    graph = floors.call_graph(design)
    traces = [simulate(design, lane=lane) for lane in lanes]
    paths = [t.graph.paths for t in traces if t.graph is not None]
    detail = {"requests": len(lanes),
              "states_per_request": max(len(t.graph) for t in traces if t.graph is not None),
              "paths_per_request": None if None in paths else max(paths),
              "services_reached": floors.bfs(graph, entry)}

    def work() -> object:
        forget_shapes(design)
        return [simulate(design, lane=lane) for lane in lanes]

    return measure("simulate", work, lambda: [floors.bfs(graph, entry) for _ in lanes],
                   "a plain BFS from the entry service per request", budget, detail)


def _export(design: LaneDesign, budget: Budget) -> list[Metric]:
    objects = emit(design, "istio")
    text = dump_manifests(objects)
    detail = {"objects": len(objects), "yaml_bytes": len(text.encode())}
    floor_is = "yaml.dump_all of the same objects with yaml.CSafeDumper"
    return [
        measure("emit", lambda: emit(design, "istio"), floors.tree_builder(objects),
                "unpickling the same object tree, collector paused as in emit", budget, detail),
        *measure_against({"serialise": lambda: dump_manifests(objects),
                          "export": lambda: dump_manifests(emit(design, "istio"))},
                         lambda: floors.c_dump(objects), floor_is, budget, detail),
    ]


def _drawn_lane(design: LaneDesign) -> str:
    """The lane the diagram metrics draw (and the refresh edits): the last, not the baseline."""
    return design.lanes[-1].name


def _drawing(design: LaneDesign, lane: str) -> tuple[Callable[[LaneDesign], str],
                                                     Callable[[], str], dict[str, object]]:
    """Drawing ``lane`` as the designer does, the bare layout of that drawing, and its size."""
    diagram = chain_diagram(design, lane)
    nodes, edges = floors.dot_graph(diagram.source)
    bare = floors.bare_dot(nodes, edges)

    def draw(d: LaneDesign) -> str:
        return chain_diagram(d, lane).svg()

    def layout() -> str:
        return to_svg(bare)

    return draw, layout, {"lane": lane, "services_shown": len(diagram.shown),
                          "nodes": len(nodes), "edges": len(edges)}


def _diagram(design: LaneDesign, budget: Budget) -> Metric:
    """The call-chain diagram as the designer shows it (focused on the lane when large)."""
    draw, layout, detail = _drawing(design, _drawn_lane(design))
    return measure("diagram", lambda: draw(design), layout,
                   "the same renderer laying out the same nodes and edges, no attributes",
                   budget, detail)


def _refresh(design: LaneDesign, budget: Budget) -> Metric:
    """One membership edit, then what the designer recomputes: findings, matrix, diagram."""
    lane = _drawn_lane(design)
    service = next((s for s in design.service_names if not design.lane(lane).holds(s)),
                   design.service_names[0])
    build = _table_floor(design)
    draw, layout, _ = _drawing(design, lane)

    def work() -> None:
        edited = design.with_membership(lane, service, True)
        validate(edited)
        routing_matrix(edited)
        draw(edited)

    def floor() -> None:
        floors.scan_design(design)
        build()
        layout()

    return measure("refresh", work, floor, "the validate, matrix and diagram floors together",
                   budget, {"edit": f"add {service} to lane {lane}",
                            "parts": ["edit", "validate", "matrix", "diagram"]})


def _memory(size: str, report: SizeReport) -> Metric:
    """Peak traced memory of one pass of the pipeline, keeping what the designer keeps."""
    tracemalloc.start()
    try:
        design = design_for(size)
        kept: list[object] = [design, validate(design), routing_matrix(design)]
        for lane in design.lane_names:  # one trace at a time, as the designer shows them
            trace = simulate(design, lane=lane)
        kept += [trace, dump_manifests(emit(design, "istio"))]
        retained, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return Metric("memory", float(peak), float(retained), "B", 1,
                  "bytes still held at the end (design, findings, matrix, last trace, YAML)",
                  {"method": "tracemalloc (Python allocations; the wasm renderer's heap is not "
                             "seen, and the diagram is not part of this pass)",
                   "parts": ["design", "validate", "matrix", "simulate", "export"],
                   "bytes_per_service_lane": peak / (report.services * report.lanes)})
