"""The live diagram beside the editors: an interactive canvas (anywidget) and its controls.

Graphviz lays the diagram out (``render``); the canvas's JavaScript (``canvas.js``, shipped in
the package, nothing fetched at run time) zooms, pans and fits it and turns gestures into
messages: a clicked service is selected in the editors, a service dragged onto another adds
a call, a clicked call can be removed, a clicked legend lane is shown. Every edit goes
through the design state like any other, so it is validated and undoable.

The view follows the user: services changed by the last edit are always drawn and panned
into view (never zoomed), a service chosen anywhere (Services tab, matrix) is centred and
selected, and a new view opens on the gateway and the current lane's services.

The canvas's synced traits, all there is between Python and the browser:

- ``svg``: Graphviz's drawing; service and call ``<g>`` elements carry ids.
- ``graph``: ``{nodes: {id: service}, edges: {id: [caller, callee]}, hints: {id: text},
  home: [ids]}``: what the ids are, the hover texts, and what a new view opens on.
- ``selected`` / ``selected_call``: the service (``""``) and call (``[]``) marked.
- ``reveal``: ``{ids, centre, seq}``: nodes to pan into view (centred when ``centre``);
  ``seq`` counts requests so asking twice for the same nodes still pans.
- ``view_key`` / ``view``: what is shown (a new key opens a new view) and the browser's
  last zoom ``{key, x, y, scale}``, kept across redraws and by every output of the widget.
- ``lanes`` / ``marks`` / ``lane``: the legend (lane chips, marks used, the current lane).
- ``min_scale`` / ``height``: the scale at which the smallest text is readable; the height.

Messages from the browser: ``{event: "select", node}``, ``{event: "connect", from, to}``,
``{event: "call", edge}``, ``{event: "lane", lane}``. The routing matrix is a widget of its
own (``views.MatrixTable``) whose clicked cells reach ``show_cell`` through the designer.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import ipywidgets as W
import traitlets as T

from ..render import (
    DEFAULT_MAX_NODES,
    Diagram,
    auto_focus,
    chain_diagram,
    lane_colours,
    lane_focus,
    lanes_diagram,
    neighbourhood,
    to_svg,
    trace_diagram,
)
from ..render.diagram import SMALLEST_FONT, carried_otherwise, changed_services
from ..render.svg import LEGEND_KEYS, mark_svg
from ..simulate import Trace
from .common import Panel, button, errors_banner, message, set_options
from .legend import LaneLegend
from .state import DesignState

HERE = Path(__file__).parent
READABLE_PX = 9.0  # the smallest text the canvas draws at its initial zoom, in CSS pixels
CANVAS_HEIGHT = 420
MAX_FOLLOWED = 40  # an edit changing more services than this is a new design: not followed
STAGE_WIDTH = 540  # about the canvas's width beside the tabs at 1280 px, to choose a layout
_VIEWBOX = re.compile(r'viewBox="[-\d.]+ [-\d.]+ ([\d.]+) ([\d.]+)"')


class DiagramCanvas(anywidget.AnyWidget):
    """Graphviz's SVG with zoom, pan and fit; reports clicks and drags as messages."""

    _esm = HERE / "canvas.js"
    _css = HERE / "canvas.css"
    svg = T.Unicode("").tag(sync=True)
    graph = T.Dict().tag(sync=True)  # {nodes, edges, hints, home}: see the module docstring
    selected = T.Unicode("").tag(sync=True)  # the selected service
    selected_call = T.List().tag(sync=True)  # [caller, callee] or []
    reveal = T.Dict().tag(sync=True)  # {ids, centre, seq}: nodes to pan into view
    view_key = T.Unicode("").tag(sync=True)  # what is shown; a new key starts a new view
    view = T.Dict().tag(sync=True)  # the zoom the browser last had: {key, x, y, scale}
    lanes = T.List().tag(sync=True)  # legend: [lane, colour, text]
    marks = T.List().tag(sync=True)  # legend: [text, its mark as SVG] per mark drawn
    lane = T.Unicode("").tag(sync=True)  # the lane shown (marked in the legend)
    min_scale = T.Float(READABLE_PX / SMALLEST_FONT).tag(sync=True)
    height = T.Int(CANVAS_HEIGHT).tag(sync=True)

    @property
    def nodes(self) -> dict[str, str]:
        """Node id -> service, as drawn."""
        return self.graph.get("nodes", {})

    @property
    def edges(self) -> dict[str, list[str]]:
        """Edge id -> [caller, callee], as drawn."""
        return self.graph.get("edges", {})

    @property
    def hints(self) -> dict[str, str]:
        """Node id -> why that lane serves it (the hover text)."""
        return self.graph.get("hints", {})

    def pan_to(self, ids: list[str], centre: bool = False) -> None:
        """Bring ``ids`` into view (the browser pans; it never zooms for this)."""
        if ids:
            self.reveal = {"ids": list(ids), "centre": centre,
                           "seq": self.reveal.get("seq", 0) + 1}


ViewName = str  # "lane", "compare" or "request"


class CanvasPanel(Panel):
    """The diagram's controls, the canvas, and what a click on it selected."""

    title = "Diagram"

    def __init__(self, state: DesignState, max_nodes: int = DEFAULT_MAX_NODES) -> None:
        super().__init__(state)
        self.view = W.ToggleButtons(options=[("one lane", "lane"), ("compare lanes", "compare")],
                                    tooltips=["the call chain of one lane",
                                              "chosen lanes' call chains side by side"],
                                    style={"button_width": "112px"})
        self.lane = W.Dropdown(description="lane", layout=W.Layout(width="200px"),
                               style={"description_width": "34px"})
        self.lane.add_class("ld-lane-picker")  # one of the current lane's three pickers
        self.compare = W.TagsInput(allow_duplicates=False, layout=W.Layout(width="100%"))
        self.focus = W.Dropdown(options=[("automatic", "auto"), ("whole design", "all"),
                                         ("the lane's services", "lane"),
                                         ("around a service", "service")],
                                description="focus", layout=W.Layout(width="230px"),
                                style={"description_width": "40px"})
        self.service = W.Dropdown(description="service", layout=W.Layout(width="200px"),
                                  style={"description_width": "50px"})
        self.radius = W.IntSlider(value=1, min=1, max=4, description="radius",
                                  layout=W.Layout(width="190px"),
                                  style={"description_width": "45px"})
        self.max_nodes = W.IntSlider(value=max_nodes, min=10, max=200, step=10,
                                     description="at most", layout=W.Layout(width="240px"),
                                     style={"description_width": "50px"})
        for w in (self.view, self.lane, self.compare, self.focus, self.service, self.radius,
                  self.max_nodes):
            w.observe(self._control_changed, "value")
        self.canvas = DiagramCanvas()
        self.canvas.on_msg(lambda _w, content, _b: self.handle(content))
        self.legend = LaneLegend(lambda lane: self.handle({"event": "lane", "lane": lane}),
                                 replaces=self.lane)
        self.title_html = W.HTML()
        self.banner = W.HTML()
        self.note = W.HTML()
        self.offer = button("Show them", self._show_left_out, tooltip="add them to the view")
        self.call_text = W.HTML()
        self.remove_call = button("Remove call", self._remove_call, "danger")
        self.close_call = button("✕", self._close_call, tooltip="close", width="32px")
        self.call_box = W.HBox([self.call_text, self.remove_call, self.close_call],
                               layout=W.Layout(align_items="center", display="none"))
        self.diagram: Diagram | None = None
        self.trace: Trace | None = None  # a request to highlight (the Request tab is open)
        self.request_header = ""  # the lane header that request carried, as the user typed it
        self.extra: tuple[str, ...] = ()  # left-out services the user asked to see
        self.edited: tuple[str, ...] = ()  # services the last edit changed: always drawn
        self._before = state.design  # the design last drawn, to see what an edit changed
        self._follow = False  # the next drawing pans to ``edited``
        self._clicked = ""  # a service being selected by a click on the canvas
        self.direction = "LR"  # Graphviz's rankdir, chosen per view (kept across edits)
        self._direction_for = ""  # the view key the direction was chosen for
        self.on_select: Callable[[str], None] | None = None  # the designer selects it too
        self.widget = W.VBox([
            W.HBox([self.view, self.lane, self.legend.widget],
                   layout=W.Layout(flex_flow="row wrap")),
            self.compare,
            W.HBox([self.focus, self.max_nodes], layout=W.Layout(flex_flow="row wrap")),
            W.HBox([self.service, self.radius], layout=W.Layout(flex_flow="row wrap")),
            self.banner, self.title_html, self.canvas,
            W.HBox([self.note, self.offer], layout=W.Layout(align_items="center")),
            self.call_box,
        ], layout=W.Layout(min_width="0"))
        self.widget.add_class("ld-diagram-panel")

    # -- redrawing ----------------------------------------------------------------------------
    def refresh(self) -> None:
        super().refresh()
        design = self.state.design
        if design is not self._before:
            changed = changed_services(self._before, design)
            # a whole new design (a loaded file) is a new picture, not an edit to follow
            self.edited = tuple(changed) if len(changed) <= MAX_FOLLOWED else ()
            self._before, self._follow = design, bool(self.edited)
        lanes = list(dict.fromkeys(design.lane_names))
        services = list(dict.fromkeys(design.service_names))
        with self.syncing():
            set_options(self.lane, lanes, self.state.current_lane)
            if self.state.current_lane in lanes:  # one current lane for every view
                self.lane.value = self.state.current_lane
            self.compare.allowed_tags = lanes
            chosen = [lane for lane in self.compare.value if lane in lanes]
            if not chosen:
                chosen = list(dict.fromkeys(x for x in (design.baseline, self.lane.value)
                                            if x in lanes))
            self.compare.value = chosen
            entry = design.ingress.entry if design.ingress else ""
            set_options(self.service, services, entry if entry in services else None)
        self._redraw()

    def _control_changed(self, change: dict) -> None:
        if self._syncing:
            return
        if change["owner"] in (self.lane, self.view, self.focus, self.compare):
            self.extra = ()
        if change["owner"] is self.lane and self.state.choose_lane(self.lane.value):
            return  # the state tells every view, this one included (follow_lane)
        self._redraw()

    def follow_lane(self) -> None:
        """The current lane changed in another view: show it here too."""
        if self.state.current_lane not in self.lane.options or self.stale:
            return
        with self.syncing():
            self.lane.value = self.state.current_lane
        self.extra = ()
        if self.trace is None:  # a request shown is redrawn when the Request tab sends it
            self._redraw()

    def show_trace(self, trace: Trace | None, header: str = "") -> None:
        """Highlight a simulated request on the diagram (None: back to the lane view);
        ``header`` is the lane header it carried into the gateway."""
        self.trace = trace
        self.request_header = header if trace is not None else ""
        self._redraw()

    def show_cell(self, service: str, lane: str) -> None:
        """A routing-matrix cell: ``service`` and its neighbours in ``lane``."""
        design = self.state.design
        if design.service(service) is None or lane not in design.lane_names:
            return
        with self.syncing():
            self.view.value = "lane"
            self.lane.value = lane
            self.focus.value = "service"
            self.service.value = service
            self.state.choose_lane(lane)  # the other views follow; this one redraws below
        self.extra = ()
        self.canvas.selected = service
        self._redraw()
        if self.diagram is not None:
            self.canvas.pan_to([i for i, s in self.diagram.nodes if s == service], centre=True)

    def _redraw(self) -> None:
        if self._syncing:
            return
        around = self.focus.value == "service"
        self.service.layout.display = self.radius.layout.display = "" if around else "none"
        comparing = self.view.value == "compare" and self.trace is None
        self.compare.layout.display = "" if comparing else "none"
        self.lane.disabled = comparing or self.trace is not None
        self.banner.value = errors_banner(self.state.findings)
        try:
            if self._direction_for != self._view_key():
                self.diagram, svg = self._best_layout()
            else:
                self.diagram = self.current()
                svg = to_svg(self.diagram.source)
        except Exception as exc:  # the edge of the UI: a failure shows as a message
            self.diagram = None
            self.title_html.value = message(f"Cannot show the diagram: "
                                            f"{type(exc).__name__}: {exc}", "error")
            self.canvas.svg = ""
            return
        self._send(self.diagram, svg)
        self._note()
        self._show_call()
        if self._follow:  # pan (never zoom) to what the edit changed; once per edit
            self._follow = False
            edited = set(self.edited)
            self.canvas.pan_to([i for i, s in self.diagram.nodes if s in edited])

    def _send(self, diagram: Diagram, svg: str) -> None:
        design = self.state.design
        colours = lane_colours(design)
        carried = ""  # said when the gateway set another lane header than the request carried
        if self.trace is not None and carried_otherwise(design, self.trace, self.request_header):
            carried = (f' <span class="ld-help">(the request carried '
                       f'<code>{html.escape(self.request_header)}</code>)</span>')
        self.title_html.value = (f'<div class="ld-head">{html.escape(diagram.title)}'
                                 f'{carried}</div>')
        with self.canvas.hold_sync():
            self.canvas.view_key = self._view_key()
            self.canvas.graph = {"nodes": dict(diagram.nodes),
                                 "edges": {i: [a, b] for i, a, b in diagram.calls},
                                 "hints": dict(diagram.hints), "home": self._home(diagram)}
            self.canvas.lanes = self.legend.chips(design, colours, self.shown_lane or "", diagram)
            # [text, its mark's drawing]: the legend shows what each line or box looks like
            self.canvas.marks = [[LEGEND_KEYS[k], mark_svg(k)] for k in diagram.keys]
            self.canvas.lane = self.shown_lane or ""
            if self.canvas.selected and design.service(self.canvas.selected) is None:
                self.canvas.selected = ""
            self.canvas.svg = svg

    def _home(self, diagram: Diagram) -> list[str]:
        """What a new view opens on: the selected service, else the gateway and the shown
        lane's own services (the entry where the lane holds none)."""
        design = self.state.design
        selected = self.canvas.selected
        chosen = [i for i, s in diagram.nodes if s == selected]
        if chosen:
            return chosen[:1]
        lane = design.lane(self.shown_lane or "")
        held = set(lane.services) if lane is not None and lane.name != design.baseline \
            else set()
        entry = design.ingress.entry if design.ingress else ""
        ids = [i for i, s in diagram.nodes if s in held or (not held and s == entry)]
        return ["gateway", *ids]

    def _best_layout(self) -> tuple[Diagram, str]:
        """Left to right or top down, whichever shows more of the view at readable size;
        chosen when the view changes, then kept, so an edit never turns the picture."""
        drawn = []
        for direction in ("LR", "TB"):
            diagram = self.current(direction)
            svg = to_svg(diagram.source)
            size = _VIEWBOX.search(svg)
            width, height = (float(size.group(1)), float(size.group(2))) if size else (1, 1)
            fit = min(STAGE_WIDTH / max(width, 1), CANVAS_HEIGHT / max(height, 1), 1.0)
            drawn.append((fit, direction, diagram, svg))
        fit, direction, diagram, svg = max(drawn, key=lambda d: d[0])  # LR wins a tie
        self.direction, self._direction_for = direction, self._view_key()
        return diagram, svg

    def _view_key(self) -> str:
        """What is shown, not how it looks: an edit keeps the key (and so the zoom)."""
        if self.trace is not None:
            return f"request|{self.trace.lane}"
        parts = [self.view.value, self.focus.value, str(self.max_nodes.value)]
        if self.view.value == "compare":
            parts.append(",".join(self.compare.value))
        else:
            parts.append(self.lane.value or "")
        if self.focus.value == "service":
            parts += [self.service.value or "", str(self.radius.value)]
        return "|".join(parts)

    @property
    def shown_lane(self) -> str | None:
        if self.trace is not None:
            return self.trace.lane
        return None if self.view.value == "compare" else self.lane.value

    def current(self, direction: str | None = None) -> Diagram:
        """The diagram the controls ask for."""
        direction = direction or self.direction
        design = self.state.design
        lane = self.shown_lane
        focus: list[str] | None = None  # automatic
        if self.focus.value == "all":
            focus = list(design.service_names)
        elif self.focus.value == "lane":
            focus = lane_focus(design, lane or "", neighbours=False)
        elif self.focus.value == "service":
            focus = neighbourhood(design, self.service.value or "", self.radius.value)
        limit = self.max_nodes.value
        always = [s for s in (*self.extra, *self.edited) if design.service(s) is not None]
        if always:  # asked for, or just edited: drawn whatever the focus leaves out
            base = focus if focus is not None else auto_focus(design, lane, limit)[:limit]
            focus = list(dict.fromkeys([*base[:limit], *always]))
            limit = max(limit, len(focus))
        if self.trace is not None:
            return trace_diagram(design, self.trace, focus=focus, max_nodes=limit,
                                 direction=direction, carried=self.request_header)
        if self.view.value == "compare":
            return lanes_diagram(design, list(self.compare.value) or None, focus=focus,
                                 max_nodes=limit, direction=direction)
        return chain_diagram(design, lane, focus=focus, max_nodes=limit, direction=direction)

    def owned_left_out(self) -> list[str]:
        """Services a shown test lane holds that the diagram leaves out."""
        design, diagram = self.state.design, self.diagram
        if diagram is None:
            return []
        shown = set(diagram.shown)
        lanes = diagram.lanes or ((self.shown_lane,) if self.shown_lane else ())
        owned = [s for lane in lanes if lane != design.baseline and design.lane(lane)
                 for s in design.lane(lane).services]  # type: ignore[union-attr]
        return [s for s in dict.fromkeys(owned) if s not in shown and design.service(s)]

    def _note(self) -> None:
        missing = self.owned_left_out()
        diagram = self.diagram
        parts = []
        if missing:
            names = ", ".join(missing[:8]) + (f" and {len(missing) - 8} more"
                                              if len(missing) > 8 else "")
            parts.append(message(f"Not shown, though the lane holds them: {names}.", "warning"))
        elif diagram is not None and diagram.note:
            parts.append(f'<div class="ld-help">{html.escape(diagram.note)}</div>')
        self.note.value = "".join(parts)
        self.offer.layout.display = "" if missing else "none"
        self.offer.description = f"Show them ({len(missing)})" if missing else "Show them"

    def _show_left_out(self) -> None:
        self.extra = tuple(dict.fromkeys([*self.extra, *self.owned_left_out()]))
        self._redraw()

    # -- what the canvas reports --------------------------------------------------------------
    def handle(self, content: dict[str, Any]) -> None:
        """One message from the browser: select, connect, call, lane or cell."""
        event = content.get("event")
        nodes = self.canvas.nodes
        if event == "select" and content.get("node") in nodes:
            self.select(nodes[content["node"]])
        elif event == "connect" and content.get("from") in nodes and content.get("to") in nodes:
            self.add_call(nodes[content["from"]], nodes[content["to"]])
        elif event == "call" and content.get("edge") in self.canvas.edges:
            caller, callee = self.canvas.edges[content["edge"]]
            self.canvas.selected_call = [caller, callee]
            self._show_call()
        elif event == "lane" and content.get("lane") in self.state.design.lane_names:
            self.show_lane(content["lane"])
        elif event == "cell":
            self.show_cell(str(content.get("service", "")), str(content.get("lane", "")))

    def select(self, service: str) -> None:
        self.canvas.selected = service
        self._clicked = service  # chosen on the canvas: it is in view, nothing to pan
        if self.on_select is not None:
            self.on_select(service)
        self._clicked = ""

    def focus_service(self, service: str) -> None:
        """A service chosen anywhere (the Services tab): drawn, selected and centred."""
        if self.state.design.service(service) is None or service == self._clicked:
            return
        self.canvas.selected = service
        if self.diagram is not None and service not in self.diagram.shown:
            self.extra = (*self.extra, service)
            self._redraw()
        if self.diagram is not None:
            self.canvas.pan_to([i for i, s in self.diagram.nodes if s == service], centre=True)

    def show_lane(self, lane: str) -> None:
        """A legend lane clicked: it becomes the current lane of every view."""
        with self.syncing():
            self.view.value = "lane"
            self.lane.value = lane
            self.state.choose_lane(lane)  # the other views follow; this one redraws below
        self.extra = ()
        self._redraw()

    def add_call(self, caller: str, callee: str) -> bool:
        """``caller`` calls ``callee`` too (last in its call order): one undoable edit."""
        design = self.state.design
        svc = design.service(caller)
        if svc is None or design.service(callee) is None:
            return False
        if caller == callee:
            self.state.say(f"{caller} cannot call itself")
            return False
        if callee in svc.calls:
            self.state.say(f"{caller} already calls {callee}")
            return False
        return self.state.edit(f"add call {caller} -> {callee}",
                               lambda d: d.with_calls(caller, (*svc.calls, callee)))

    def _show_call(self) -> None:
        call = list(self.canvas.selected_call)
        design = self.state.design
        svc = design.service(call[0]) if len(call) == 2 else None
        if svc is None or call[1] not in svc.calls:
            self.canvas.selected_call = []
            self.call_box.layout.display = "none"
            return
        order = svc.calls.index(call[1]) + 1
        self.call_text.value = (f"<b>{html.escape(call[0])} → {html.escape(call[1])}</b> "
                                f"<span class='ld-help'>(call {order} of {len(svc.calls)} "
                                f"that {html.escape(call[0])} makes)</span>")
        self.call_box.layout.display = ""

    def _remove_call(self) -> None:
        call = list(self.canvas.selected_call)
        svc = self.state.design.service(call[0]) if len(call) == 2 else None
        if svc is None:
            return
        calls = tuple(c for c in svc.calls if c != call[1])
        self.state.edit(f"remove call {call[0]} -> {call[1]}",
                        lambda d: d.with_calls(call[0], calls))

    def _close_call(self) -> None:
        self.canvas.selected_call = []
        self._show_call()
