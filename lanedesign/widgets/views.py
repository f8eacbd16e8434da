"""Read-only views of the current design: findings, the call-chain diagram, the routing matrix."""

from __future__ import annotations

import ipywidgets as W

from ..findings import Finding
from ..render import (
    DEFAULT_MAX_NODES,
    Diagram,
    chain_diagram,
    findings_styler,
    lane_focus,
    lanes_diagram,
    neighbourhood,
    page_of,
    routing_frame,
    routing_styler,
)
from .common import Panel, button, errors_banner, help_text, message, safely
from .state import DesignState

MATRIX_PAGE = 40  # rows per page, for a matrix of up to MATRIX_CELLS // MATRIX_PAGE lanes
MATRIX_CELLS = 800  # a wider matrix gets fewer rows a page: each cell is styled HTML to make


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


class DiagramPanel(Panel):
    title = "Diagram"

    def __init__(self, state: DesignState, max_nodes: int = DEFAULT_MAX_NODES) -> None:
        super().__init__(state)
        self.view = W.ToggleButtons(options=[("one lane", "lane"), ("all lanes", "all")],
                                    tooltips=["the call chain of one lane",
                                              "every lane's call chain, side by side"],
                                    style={"button_width": "90px"})
        self.lane = W.Dropdown(description="lane", layout=W.Layout(width="220px"),
                               style={"description_width": "40px"})
        self.focus = W.Dropdown(options=[("automatic", "auto"), ("whole design", "all"),
                                         ("the lane's services", "lane"),
                                         ("around a service", "service")],
                                description="focus", layout=W.Layout(width="270px"),
                                style={"description_width": "50px"})
        self.service = W.Dropdown(description="service", layout=W.Layout(width="220px"),
                                  style={"description_width": "55px"})
        self.radius = W.IntSlider(value=1, min=1, max=4, description="radius",
                                  layout=W.Layout(width="200px"),
                                  style={"description_width": "50px"})
        self.max_nodes = W.IntSlider(value=max_nodes, min=10, max=200, step=10,
                                     description="at most", layout=W.Layout(width="260px"),
                                     style={"description_width": "55px"})
        for w in (self.view, self.lane, self.focus, self.service, self.radius, self.max_nodes):
            w.observe(lambda _: self._redraw(), "value")
        self.banner = W.HTML()
        self.output = W.HTML(layout=W.Layout(overflow="auto", max_height="540px"))
        self.output.add_class("ld-diagram")
        self.diagram: Diagram | None = None
        self.widget = W.VBox([
            W.HBox([self.view, self.lane, self.focus], layout=W.Layout(flex_flow="row wrap")),
            W.HBox([self.service, self.radius, self.max_nodes],
                   layout=W.Layout(flex_flow="row wrap")),
            self.banner, self.output])

    def refresh(self) -> None:
        super().refresh()
        design = self.state.design
        lanes = list(dict.fromkeys(design.lane_names))
        services = list(dict.fromkeys(design.service_names))
        with self.syncing():
            self.lane.options = lanes
            if self.lane.value not in lanes:
                default = next((n for n in lanes if n != design.baseline), None)
                self.lane.value = default or (lanes[0] if lanes else None)
            self.service.options = services
            if self.service.value not in services:
                entry = design.ingress.entry if design.ingress else ""
                self.service.value = entry if entry in services else (
                    services[0] if services else None)
        self._redraw()

    def _redraw(self) -> None:
        if self._syncing:
            return
        around = self.focus.value == "service"
        self.service.layout.display = self.radius.layout.display = "" if around else "none"
        self.lane.disabled = self.view.value == "all"
        self.banner.value = errors_banner(self.state.findings)
        self.output.value = safely(self._draw, "the diagram")

    def _draw(self) -> str:
        self.diagram = self.current()
        return self.diagram.svg()

    def current(self) -> Diagram:
        """The diagram the controls ask for."""
        design = self.state.design
        focus = None  # automatic: everything, or a focus chosen for large designs
        if self.focus.value == "all":
            focus = design.service_names
        elif self.focus.value == "lane":
            focus = lane_focus(design, self.lane.value or "")
        elif self.focus.value == "service":
            focus = neighbourhood(design, self.service.value or "", self.radius.value)
        if self.view.value == "all":
            return lanes_diagram(design, focus=focus, max_nodes=self.max_nodes.value)
        return chain_diagram(design, self.lane.value, focus=focus,
                             max_nodes=self.max_nodes.value)


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
        self.output = W.HTML(layout=W.Layout(overflow="auto", max_height="560px"))
        self.frame = routing_frame(state.design)
        self.widget = W.VBox([
            help_text("Which lane's version serves each service (rows) for a request in each "
                      "lane (columns)."),
            W.HBox([self.filter, self.fallbacks_only, self.prev, self.page_label, self.next],
                   layout=W.Layout(align_items="center")),
            self.banner, self.output])

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
