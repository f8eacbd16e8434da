"""The designer: one tab per task over a shared design state, with undo, and the live
diagram beside the tabs.

Only the visible tab is redrawn after an edit; the others are marked stale and redrawn when
they are opened, so a large design stays quick to edit. The diagram beside them follows
every edit; the Request tab and the matrix highlight on it.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import ipywidgets as W

from .. import examples
from ..designfile import load_design
from ..model import LaneDesign
from ..render import DEFAULT_MAX_NODES
from ..simulate import Trace
from .canvas import CanvasPanel
from .cluster import ClusterPanel
from .common import CSS, Panel, button, message
from .export import ExportPanel
from .headers import HeadersPanel
from .ingress import IngressPanel
from .lanes import LanesPanel
from .request import RequestPanel
from .services import ServicesPanel
from .state import DesignState
from .views import FindingsPanel, MatrixPanel


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
        self.diagram = CanvasPanel(state, max_nodes)
        self.matrix = MatrixPanel(state)
        self.request = RequestPanel(state)
        self.export = ExportPanel(state)
        self.cluster = ClusterPanel(state)
        self.panels: list[Panel] = [self.services, self.lanes, self.headers, self.ingress,
                                    self.findings, self.matrix, self.request,
                                    self.export, self.cluster]
        # tabs whose tables need the width; the others keep the diagram beside them
        self.wide: list[Panel] = [self.findings, self.export, self.cluster]
        self.tabs = W.Tab(children=[p.widget for p in self.panels],
                          layout=W.Layout(flex="1 1 560px", min_width="0"))
        self.tabs.observe(lambda _: self._tab_changed(), "selected_index")
        self.diagram.on_select = self._select_service
        # a service chosen anywhere is centred on the diagram (canvas.py: focus_service)
        self.services.on_select = self.diagram.focus_service
        self.matrix.on_cell = self.diagram.show_cell
        self.request.on_trace = self._request_traced
        self.diagram.widget.layout.flex = "1 1 440px"
        self.diagram.widget.add_class("ld-beside")
        self.title = W.HTML()
        self.status = W.HTML()
        self.undo_button = button("Undo", self.undo, tooltip="undo the last edit",
                                  width="auto")
        self.redo_button = button("Redo", self.redo, tooltip="make the undone edit again",
                                  width="auto")
        self.notice = W.HTML()
        self.notice.add_class("ld-notice")
        # the notice ("undid: ...") sits in the head row: a row of its own above the tabs
        # pushed the editors and the diagram down on every undo, and back up on the next edit
        # one line: the notice takes the room left and ends in an ellipsis (its tooltip
        # holds it all)
        self.notice.layout = W.Layout(flex="1 1 0", min_width="0", overflow="hidden")
        head = W.HBox([self.title, self.status, self.undo_button, self.redo_button,
                       self.notice], layout=W.Layout(align_items="center"))
        self.stage = W.HBox([self.tabs, self.diagram.widget],
                            layout=W.Layout(flex_flow="row wrap", align_items="flex-start"))
        self.widget = W.VBox([W.HTML(CSS), head, self.stage],
                             layout=W.Layout(max_width="1600px"))
        self.widget.add_class("ld-designer")
        state.on_change(self._changed)
        state.on_lane(self._lane_chosen)
        self._changed()

    # -- the public surface -------------------------------------------------------------------
    @property
    def design(self) -> LaneDesign:
        return self.state.design

    def undo(self) -> None:
        self.state.undo()

    def redo(self) -> None:
        self.state.redo()

    def show(self, panel: Panel) -> Panel:
        """Open ``panel``'s tab (it is redrawn if stale) and return it; the diagram is
        always shown beside the tabs, so it is only brought up to date."""
        if panel is self.diagram:
            if self.diagram.stale:
                self._redraw(self.diagram)
            return panel
        self.tabs.selected_index = self.panels.index(panel)
        self._refresh_visible()
        return panel

    @property
    def visible(self) -> Panel:
        return self.panels[self.tabs.selected_index or 0]

    def _tab_changed(self) -> None:
        visible = self.visible
        self.diagram.widget.layout.display = "none" if visible in self.wide else ""
        self._refresh_visible()
        if visible is self.request:
            self.diagram.show_trace(self.request.trace, self.request.carried)
        elif self.diagram.trace is not None:
            self.diagram.show_trace(None)

    def _request_traced(self, trace: Trace | None) -> None:
        if self.visible is not self.request:
            return
        if self.diagram.stale:  # an edit: the diagram's own refresh draws it next
            self.diagram.trace = trace
            self.diagram.request_header = self.request.carried
        else:
            self.diagram.show_trace(trace, self.request.carried)

    def _lane_chosen(self) -> None:
        """Another current lane, chosen in one view: every other view shows it too."""
        self.lanes.follow_lane()
        self.diagram.follow_lane()
        self.request.follow_lane(run=self.visible is self.request)

    def _select_service(self, service: str) -> None:
        """A service clicked on the diagram: selected in the Services editor."""
        if self.visible not in (self.services, self.request, self.matrix):
            self.show(self.services)
        self.services.choose(service)

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
        self.status.value = status_chips(state)
        last = state.last_edit
        self.undo_button.disabled = last is None
        self.undo_button.description = f"Undo: {last}" if last else "Undo"
        redo = state.next_redo
        self.redo_button.disabled = redo is None
        self.redo_button.description = f"Redo: {redo}" if redo else "Redo"
        self.notice.value = _inline(message(state.notice, "info")) if state.notice else ""
        findings = f"Findings ({len(state.findings)})" if state.findings else "Findings"
        self.tabs.titles = [findings if p is self.findings else p.title for p in self.panels]
        for panel in (*self.panels, self.diagram):
            panel.stale = True
        self._refresh_visible()
        if self.diagram.stale:  # the diagram follows every edit
            self._redraw(self.diagram)

    def _refresh_visible(self) -> None:
        self._redraw(self.visible)

    def _redraw(self, panel: Panel) -> None:
        if not panel.stale:
            return
        try:
            panel.refresh()
        except Exception as exc:  # the edge of the UI: a bug shows as a message, not a trace
            panel.stale = False
            self.notice.value = _inline(message(f"Could not redraw {panel.title}: "
                                                f"{type(exc).__name__}: {exc}", "error"))


def status_chips(state: DesignState) -> str:
    """The chips beside the title: errors or "valid", then warnings, with a lane no request
    can reach (LD509) named on its own chip; hovering a chip lists its findings."""
    errors = [f for f in state.findings if f.severity == "error"]
    warnings = [f for f in state.findings if f.severity == "warning"]
    unreached = state.unreached_lanes
    chips = [("#f8d7da", f"{len(errors)} error(s)", errors) if errors else
             ("#e6f4ea", "valid", [])]
    if warnings:
        chips.append(("#fff3cd", f"{len(warnings)} warning(s)", warnings))
    if unreached:
        names = ", ".join(unreached[:3]) + (f" +{len(unreached) - 3}" if len(unreached) > 3
                                            else "")
        chips.append(("#fff3cd", f"⚠ no request reaches {names}",
                      [f for f in warnings if f.code == "LD509"]))
    return "".join(
        f'<span class="ld-chip" style="background:{colour}" title="'
        f'{html.escape(chr(10).join(f"{f.code} {f.path}: {f.message}" for f in listed[:12]))}'
        f'">{html.escape(text)}</span>' for colour, text, listed in chips)


def _inline(box: str) -> str:
    """A message box for the head row: one line, no margin, the whole text as its tooltip."""
    text = html.escape(html.unescape(re.sub(r"<[^>]+>", "", box)), quote=True)
    return box.replace('class="ld-msg ', f'title="{text}" style="margin:0;padding:1px 8px;'
                       'white-space:nowrap;overflow:hidden;text-overflow:ellipsis" '
                       'class="ld-msg ', 1)
