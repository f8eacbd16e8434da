"""Read-only views of the current design: findings and the routing matrix (the diagram is the
live canvas beside the tabs, ``canvas.py``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import ipywidgets as W
import traitlets as T

from ..findings import Finding
from ..render import findings_styler, page_of, routing_frame, routing_styler
from .common import Panel, button, errors_banner, help_text, message, safely
from .state import DesignState

MATRIX_PAGE = 40  # rows per page, for a matrix of up to MATRIX_CELLS // MATRIX_PAGE lanes
MATRIX_CELLS = 800  # a wider matrix gets fewer rows a page: each cell is styled HTML to make


class MatrixTable(anywidget.AnyWidget):
    """The matrix's HTML (``value``); a clicked cell comes back as a message
    ``{event: "cell", service, lane}`` (``matrix.js``), never read from the page's DOM."""

    _esm = Path(__file__).parent / "matrix.js"
    value = T.Unicode("").tag(sync=True)


class FindingsPanel(Panel):
    title = "Findings"

    def __init__(self, state: DesignState) -> None:
        super().__init__(state)
        self.summary = W.HTML()
        self.table = W.HTML()
        self.widget = W.VBox([
            help_text("Checked on every edit. Each finding has a stable code, the path in the "
                      "design file and a fix; codes are listed in docs/findings.md."),
            self.summary, self.table])

    def refresh(self) -> None:
        super().refresh()
        findings = self.state.findings
        self.summary.value = summary(findings)
        self.table.value = "" if not findings else safely(
            lambda: findings_styler(findings).to_html(), "the findings")


def summary(findings: list[Finding]) -> str:
    """'2 errors, 1 warning, 0 info' as a coloured box ('valid' when there are no errors)."""
    counts = {s: sum(f.severity == s for f in findings) for s in ("error", "warning", "info")}
    text = f"{counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} info"
    if counts["error"]:
        return message(text, "error")
    return message(f"The design is valid: {text}.", "ok" if not counts["warning"] else "warning")


class MatrixPanel(Panel):
    title = "Matrix"

    def __init__(self, state: DesignState) -> None:
        super().__init__(state)
        self.filter = W.Text(placeholder="filter services", layout=W.Layout(width="200px"))
        self.fallbacks_only = W.Checkbox(description="only services with a fallback",
                                         indent=False, layout=W.Layout(width="240px"))
        self.page = 0
        self.prev = button("◀", lambda: self._go(self.page - 1), width="36px")
        self.next = button("▶", lambda: self._go(self.page + 1), width="36px")
        self.page_label = W.Label()
        for w in (self.filter, self.fallbacks_only):
            w.observe(lambda _: self._go(0), "value")
        self.banner = W.HTML()
        self.output = MatrixTable(layout=W.Layout(overflow="auto", max_height="560px"))
        self.output.add_class("ld-matrix")
        self.output.on_msg(lambda _w, content, _b: self._clicked(content))
        self.on_cell: Callable[[str, str], None] | None = None  # the designer shows it
        self.frame = routing_frame(state.design)
        self.widget = W.VBox([
            help_text("Which lane's version serves each service (rows) for a request in each "
                      "lane (columns). Click a cell to see it on the diagram."),
            W.HBox([self.filter, self.fallbacks_only, self.prev, self.page_label, self.next],
                   layout=W.Layout(align_items="center")),
            self.banner, self.output])

    def _clicked(self, content: dict[str, Any]) -> None:
        """A clicked cell: ``service`` in ``lane`` (the designer shows it on the diagram)."""
        if content.get("event") == "cell" and self.on_cell is not None:
            self.on_cell(str(content.get("service", "")), str(content.get("lane", "")))

    def _go(self, page: int) -> None:
        self.page = page
        self.refresh()

    def refresh(self) -> None:
        super().refresh()
        self.banner.value = errors_banner(self.state.findings)
        self.output.value = safely(self._draw, "the routing matrix")

    def _draw(self) -> str:
        design = self.state.design
        frame = routing_frame(design, contains=self.filter.value.strip(),
                              fallbacks_only=self.fallbacks_only.value)
        rows = max(10, min(MATRIX_PAGE, MATRIX_CELLS // max(len(frame.columns), 1)))
        self.frame, pages = page_of(frame, self.page, rows)
        self.page = min(self.page, pages - 1)
        self.page_label.value = (f"page {self.page + 1} of {pages} ({len(frame)} services)"
                                 if pages > 1 else f"{len(frame)} services")
        self.prev.disabled, self.next.disabled = self.page == 0, self.page >= pages - 1
        for w in (self.prev, self.next):
            w.layout.display = "none" if pages == 1 else ""
        if self.frame.empty:
            return message("No service matches.", "info")
        return routing_styler(design, self.frame).to_html()
