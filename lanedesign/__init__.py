"""lanedesign: design, check, simulate and export service-mesh traffic lanes."""

from __future__ import annotations

from .designfile import Loaded, dump_design, load_design, parse_design, save_design
from .findings import CATALOGUE, Finding
from .model import (
    Ingress,
    IngressRule,
    Lane,
    LaneDesign,
    PassThrough,
    RequestMatch,
    Service,
    StringMatch,
    Waypoint,
)
from .pipeline import Exported, check_and_export
from .simulate import (
    StateGraph,
    Trace,
    distribution,
    routing_table,
    serving_lane,
    simulate,
)
from .validate import validate
from .version import __version__

__all__ = [
    "CATALOGUE",
    "Exported",
    "Finding",
    "Ingress",
    "IngressRule",
    "Lane",
    "LaneDesign",
    "Loaded",
    "PassThrough",
    "RequestMatch",
    "Service",
    "StateGraph",
    "StringMatch",
    "Trace",
    "Waypoint",
    "__version__",
    "check_and_export",
    "distribution",
    "dump_design",
    "load_design",
    "parse_design",
    "routing_matrix",
    "routing_table",
    "save_design",
    "serving_lane",
    "simulate",
    "validate",
]


def __getattr__(name: str) -> object:
    """``routing_matrix`` on first use: it needs pandas (the render layer), which the command
    line and the emitters do without, so ``import lanedesign`` stays quick."""
    if name == "routing_matrix":
        from .render.tables import routing_matrix

        return routing_matrix
    raise AttributeError(f"module 'lanedesign' has no attribute {name!r}")
