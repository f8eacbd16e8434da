"""The designer: one tab per task over a shared design state, with undo.

Only the visible tab is redrawn after an edit; the others are marked stale and redrawn when
they are opened, so a large design stays quick to edit.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import ipywidgets as W

from .. import examples
from ..designfile import load_design
from ..model import LaneDesign
from ..render import DEFAULT_MAX_NODES
from .cluster import ClusterPanel
from .common import CSS, Panel, button, message
from .export import ExportPanel
from .headers import HeadersPanel
from .ingress import IngressPanel
from .lanes import LanesPanel
from .request import RequestPanel
from .services import ServicesPanel
from .state import DesignState
from .views import DiagramPanel, FindingsPanel, MatrixPanel


def _design_from(design: LaneDesign | str | Path | None) -> LaneDesign:
    """A design from a design, an example name or a design file path."""
    if design is None:
        return examples.load("mock-baggage")
    if isinstance(design, LaneDesign):
        return design
    if isinstance(design, str) and design in examples.names():
        return examples.load(design)
    loaded = load_design(design)
    if loaded.design is None:
        problems = "; ".join(f"{f.code} {f.path}: {f.message}" for f in loaded.findings)
        raise ValueError(f"cannot open {design}: {problems}")
    return loaded.design


class Designer:
    """Design lanes interactively: ``Designer("mock-baggage")`` in a notebook cell.

    ``design`` is a LaneDesign, the name of a built-in example or a design file path.
    """

    def __init__(self, design: LaneDesign | str | Path | None = None, *,
                 max_nodes: int = DEFAULT_MAX_NODES) -> None:
        self.state = DesignState(_design_from(design))
        state = self.state
        self.services = ServicesPanel(state)
        self.lanes = LanesPanel(state)
        self.headers = HeadersPanel(state)
        self.ingress = IngressPanel(state)
        self.findings = FindingsPanel(state)
        self.diagram = DiagramPanel(state, max_nodes)
        self.matrix = MatrixPanel(state)
        self.request = RequestPanel(state)
        self.export = ExportPanel(state)
        self.cluster = ClusterPanel(state)
        self.panels: list[Panel] = [self.services, self.lanes, self.headers, self.ingress,
                                    self.findings, self.diagram, self.matrix, self.request,
                                    self.export, self.cluster]
        self.tabs = W.Tab(children=[p.widget for p in self.panels])
        self.tabs.observe(lambda _: self._refresh_visible(), "selected_index")
        self.title = W.HTML()
        self.status = W.HTML()
        self.undo_button = button("Undo", self.undo, tooltip="undo the last edit",
                                  width="auto")
        self.notice = W.HTML()
        head = W.HBox([self.title, self.status, self.undo_button],
                      layout=W.Layout(align_items="center"))
        self.widget = W.VBox([W.HTML(CSS), head, self.notice, self.tabs],
                             layout=W.Layout(max_width="1240px"))
        self.widget.add_class("ld-designer")
        state.on_change(self._changed)
        self._changed()

    # -- the public surface -------------------------------------------------------------------
    @property
    def design(self) -> LaneDesign:
        return self.state.design

    def undo(self) -> None:
        self.state.undo()

    def show(self, panel: Panel) -> Panel:
        """Open ``panel``'s tab (it is redrawn if stale) and return it."""
        self.tabs.selected_index = self.panels.index(panel)
        self._refresh_visible()
        return panel

    def _repr_mimebundle_(self, **kwargs: Any) -> dict:
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = repr(self)
        return bundle

    def __repr__(self) -> str:
        return f"<Designer of lane design {self.design.name!r}>"

    # -- redrawing ----------------------------------------------------------------------------
    def _changed(self) -> None:
        state = self.state
        self.title.value = (f'<span class="ld-title">lanedesign · '
                            f'{html.escape(state.design.name or "(unnamed)")}</span>')
        counts = {s: sum(f.severity == s for f in state.findings) for s in ("error", "warning")}
        chips = [("#f8d7da", f"{counts['error']} error(s)") if counts["error"] else
                 ("#e6f4ea", "valid"),
                 *([("#fff3cd", f"{counts['warning']} warning(s)")] if counts["warning"] else [])]
        self.status.value = "".join(f'<span class="ld-chip" style="background:{c}">{t}</span>'
                                    for c, t in chips)
        last = state.last_edit
        self.undo_button.disabled = last is None
        self.undo_button.description = f"Undo: {last}" if last else "Undo"
        self.notice.value = message(state.notice, "info") if state.notice else ""
        findings = f"Findings ({len(state.findings)})" if state.findings else "Findings"
        self.tabs.titles = [findings if p is self.findings else p.title for p in self.panels]
        for panel in self.panels:
            panel.stale = True
        self._refresh_visible()

    def _refresh_visible(self) -> None:
        index = self.tabs.selected_index or 0
        panel = self.panels[index]
        if not panel.stale:
            return
        try:
            panel.refresh()
        except Exception as exc:  # the edge of the UI: a bug shows as a message, not a trace
            panel.stale = False
            self.notice.value = message(f"Could not redraw {panel.title}: "
                                        f"{type(exc).__name__}: {exc}", "error")
