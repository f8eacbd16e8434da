"""Diagrams and tables drawn from the simulator's results (no widgets, no routing of its own).

``to_svg`` renders DOT in-process; ``chain_diagram``/``lanes_diagram``/``trace_diagram`` draw
call chains; ``routing_styler``, ``findings_table`` and friends turn results into tables.
"""

from __future__ import annotations

from .diagram import (
    DEFAULT_MAX_NODES,
    Diagram,
    auto_focus,
    chain_diagram,
    lane_focus,
    lanes_diagram,
    neighbourhood,
    trace_diagram,
)
from .svg import Picture, image_html, lane_colours, message_svg, to_svg
from .tables import (
    distribution_svg,
    findings_frame,
    findings_styler,
    page_of,
    routing_frame,
    routing_styler,
    trace_frame,
    trace_styler,
)

__all__ = [
    "DEFAULT_MAX_NODES",
    "Diagram",
    "Picture",
    "auto_focus",
    "chain_diagram",
    "distribution_svg",
    "findings_frame",
    "findings_styler",
    "image_html",
    "lane_colours",
    "lane_focus",
    "lanes_diagram",
    "message_svg",
    "neighbourhood",
    "page_of",
    "routing_frame",
    "routing_styler",
    "to_svg",
    "trace_diagram",
    "trace_frame",
    "trace_styler",
]
