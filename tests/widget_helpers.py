"""Helpers for the designer's widget tests: what the views show, read back."""

from __future__ import annotations

import re

from lanedesign.widgets import Designer


def fallback_cells(designer: Designer) -> set[tuple[str, str]]:
    """(service, lane) pairs the matrix tab shows as served by a fallback."""
    frame = designer.show(designer.matrix).frame
    return {(svc, lane) for svc, row in frame.iterrows() for lane, served in row.items()
            if served != lane}


def dashed_calls(designer: Designer) -> set[str]:
    """The calls the diagram draws dashed (fallbacks), by service name."""
    diagram = designer.show(designer.diagram).diagram
    names = dict(diagram.nodes)
    return {f"{names[m.group(1)]}->{names[m.group(2)]}" for m in
            re.finditer(r"(n\d+) -> (n\d+) \[[^\]]*style=dashed", diagram.source)}
