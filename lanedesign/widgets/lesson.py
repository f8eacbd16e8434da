"""A few controls for teaching lanes (notebook 01): pick a lane, a pass-through method and
which apps propagate the context; see the chain and the headers each call carries.

Everything shown comes from the core (``simulate``, ``chain_diagram``); the controls only
make a variant of the design to ask it about.
"""

from __future__ import annotations

import html
from dataclasses import replace

import ipywidgets as W

from ..model import LaneDesign
from ..render import chain_diagram
from ..simulate import Hop, simulate
from .common import CSS
from .headers import carried_headers

METHODS = [("trace ID", "traceId"), ("custom header", "header"), ("baggage", "baggage")]


class LaneExplorer:
    """``LaneExplorer(design)`` in a cell: move the controls, the picture and table follow."""

    def __init__(self, design: LaneDesign) -> None:
        self.base = design
        lanes = list(dict.fromkeys(design.lane_names))
        default = next((n for n in lanes if n != design.baseline), lanes[0] if lanes else None)
        self.lane = W.ToggleButtons(options=lanes, value=default, description="lane",
                                    style={"button_width": "70px"})
        self.method = W.ToggleButtons(options=METHODS, value=design.pass_through.method,
                                      description="method", style={"button_width": "110px"})
        self.propagates = {
            svc.name: W.Checkbox(value=svc.propagates, description=f"{svc.name} propagates",
                                 indent=False, layout=W.Layout(width="auto"))
            for svc in design.services}
        for w in (self.lane, self.method, *self.propagates.values()):
            w.observe(lambda _: self.redraw(), "value")
        self.picture = W.HTML()
        self.picture.add_class("ld-lesson-picture")
        self.hops = W.HTML()
        self.widget = W.VBox([
            W.HTML(CSS + "<style>.ld-lesson-picture svg { max-width: 100%; height: auto; }"
                   "</style>"),
            self.lane, self.method,
            W.HBox(list(self.propagates.values()), layout=W.Layout(flex_flow="row wrap")),
            self.picture, self.hops])
        self.widget.add_class("ld-designer")
        self.redraw()

    @property
    def design(self) -> LaneDesign:
        """The design as the controls set it."""
        design = self.base
        method = self.method.value
        if method != design.pass_through.method:
            trace = design.pass_through.trace_header or "my-trace-id"
            design = design.with_pass_through(
                method=method, trace_header=design.route_header if method == "header" else
                trace if method == "traceId" else design.pass_through.trace_header)
        for name, box in self.propagates.items():
            svc = design.service(name)
            if svc is not None and svc.propagates != box.value:
                design = design.with_service(replace(svc, propagates=box.value))
        return design

    def redraw(self) -> None:
        design, lane = self.design, self.lane.value
        trace = simulate(design, lane=lane)
        self.picture.value = chain_diagram(design, lane).svg()
        rows = "".join(_row(design, lane, hop) for hop in trace.hops)
        self.hops.value = (
            '<table class="ld-plan"><tr><th>call</th><th>served by</th>'
            f"<th>headers on this call</th></tr>{rows}</table>")

    def _repr_mimebundle_(self, **kwargs: object) -> dict:
        return self.widget._repr_mimebundle_(**kwargs)


def _row(design: LaneDesign, lane: str, hop: Hop) -> str:
    call = f"{hop.caller or 'gateway'} → {hop.service}"
    served = f"{hop.lane}" + (" (fallback)" if hop.fallback else "")
    if hop.caller is None:
        carried = f"{design.route_header}: {lane}   (set by the gateway)"
    elif hop.context is None:
        carried = "no lane context: the caller dropped it, the baseline serves"
    else:
        carried = carried_headers(design, lane)
    return (f"<tr><td>{html.escape(call)}</td><td>{html.escape(served)}</td>"
            f"<td><pre class='ld-yaml'>{html.escape(carried)}</pre></td></tr>")
