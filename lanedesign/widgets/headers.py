"""Headers and pass-through: the route header and how the lane context survives each hop."""

from __future__ import annotations

import html

import ipywidgets as W

from ..model import LaneDesign
from .common import Panel, heading, help_text, labelled
from .state import DesignState

METHODS = [("trace ID", "traceId"), ("custom header", "header"), ("baggage", "baggage")]
METHOD_HELP = {
    "traceId": "trace ID: the apps propagate a per-request trace header (e.g. x-b3-traceid); "
               "the mesh remembers trace -> lane. Only ASM can do this.",
    "header": "custom header: the apps propagate a business header themselves; it is the route "
              "header.",
    "baggage": "baggage (recommended): the apps propagate W3C baggage (OpenTelemetry); the mesh "
               "turns the lane member back into the route header on every hop.",
}


class HeadersPanel(Panel):
    title = "Headers"

    def __init__(self, state: DesignState) -> None:
        super().__init__(state)
        style = {"description_width": "110px"}
        self.route_header = W.Text(description="route header", continuous_update=False,
                                   layout=W.Layout(width="420px"), style=style)
        self.route_header.observe(lambda c: self.edit(
            f"set the route header to {c.new}",
            lambda d: d.with_(route_header=c.new.strip())), "value")
        self.method = W.ToggleButtons(options=METHODS, style={"button_width": "120px"})
        self.method.observe(lambda _: self._set_method(), "value")
        self.method_help = W.HTML()
        self.trace_header = W.Text(description="trace header", continuous_update=False,
                                   placeholder="x-b3-traceid", layout=W.Layout(width="420px"),
                                   style=style)
        self.trace_header.observe(lambda _: self._set_method(), "value")
        self.baggage_key = W.Text(description="baggage key", continuous_update=False,
                                  layout=W.Layout(width="420px"), style=style)
        self.baggage_key.observe(lambda _: self._set_method(), "value")
        self.example = W.HTML()
        self.widget = W.VBox([
            heading("Route header"),
            help_text("The traffic-guiding header: its value names the lane of the whole call "
                      "chain. The gateway sets it; the mesh routes every hop by it."),
            self.route_header,
            heading("How the lane context survives each hop"),
            labelled("pass-through", self.method, "104px"),
            self.method_help,
            self.trace_header,
            self.baggage_key,
            heading("What a request in a lane carries from one service to the next"),
            self.example,
        ])

    def refresh(self) -> None:
        super().refresh()
        design = self.state.design
        pt = design.pass_through
        with self.syncing():
            self.route_header.value = design.route_header
            if pt.method in dict(METHODS).values():
                self.method.value = pt.method
            if pt.trace_header is not None:  # keep what was typed while another method is on
                self.trace_header.value = pt.trace_header
            self.baggage_key.value = pt.baggage_key or ""
            self.baggage_key.placeholder = f"{design.route_header} (the route header)"
        self.method_help.value = "".join(
            f'<div class="ld-help">{"<b>" if m == pt.method else ""}{html.escape(text)}'
            f'{"</b>" if m == pt.method else ""}</div>' for m, text in METHOD_HELP.items())
        self.trace_header.layout.display = "" if pt.method == "traceId" else "none"
        self.baggage_key.layout.display = "" if pt.method == "baggage" else "none"
        lane = next((n for n in design.lane_names if n != design.baseline), "s2")
        self.example.value = f"<pre>{html.escape(carried_headers(design, lane))}</pre>"

    def _set_method(self) -> None:
        """One edit for the method and the fields it needs; fields it ignores are cleared."""
        method = self.method.value
        trace = self.trace_header.value.strip() or None
        key = self.baggage_key.value.strip() or None
        self.edit(f"set the pass-through ({method})",
                  lambda d: d.with_method(method, trace, key))


def carried_headers(design: LaneDesign, lane: str) -> str:
    """The headers an app must forward on its outbound calls for a chain in ``lane``."""
    pt = design.pass_through
    if pt.method == "traceId":
        trace = pt.trace_header or "<trace header>"
        return (f"{trace}: 4bf92f3577b34da6a3ce929d0e0e4736   (the app forwards it)\n"
                f"{design.route_header}: {lane}   (re-added by the mesh from trace -> lane)")
    if pt.method == "header":
        return f"{design.route_header}: {lane}   (the app forwards it)"
    return (f"baggage: {design.baggage_key}={lane}   (the app forwards it, e.g. OpenTelemetry)\n"
            f"{design.route_header}: {lane}   (set by the mesh from the baggage member)")
