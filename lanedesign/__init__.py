"""lanedesign: design, check, simulate and export service-mesh traffic lanes."""

from __future__ import annotations

__version__ = "0.1.0"

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
)
from .pipeline import Exported, check_and_export
from .simulate import (
    Trace,
    distribution,
    routing_matrix,
    routing_table,
    serving_lane,
    simulate,
)
from .validate import validate

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
    "StringMatch",
    "Trace",
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
