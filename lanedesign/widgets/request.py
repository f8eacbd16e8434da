"""Try a request: headers, path and host in; the hop chain out (a table here, highlighted on
the designer's diagram).

Weighted ingress also shows how many requests each lane gets (``distribution``).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import ipywidgets as W

from ..emit.istio import rule_route_name
from ..model import LaneDesign
from ..render import distribution_svg, trace_styler
from ..request import parse_headers
from ..simulate import Trace, distribution, simulate
from .common import Panel, button, errors_banner, heading, help_text, message, safely
from .state import DesignState

NO_LANE = "\x00none"  # the menu's value for "no lane header" (no lane name can be it)


class RequestPanel(Panel):
    title = "Request"

    def __init__(self, state: DesignState) -> None:
        super().__init__(state)
        self.headers = W.Textarea(placeholder="name: value (one header per line)", rows=3,
                                  layout=W.Layout(width="360px"))
        self.path = W.Text(value="/", description="path", layout=W.Layout(width="220px"),
                           style={"description_width": "40px"})
        self.host = W.Text(description="host", placeholder="any",
                           layout=W.Layout(width="220px"), style={"description_width": "40px"})
        self.send = button("Send", self.run, "primary", width="90px")
        self.presets = W.HBox()
        # a menu, not a button per lane: at 10+ lanes buttons shrank to "b...", "feat..."
        self.as_lane = W.Dropdown(description="as lane", layout=W.Layout(width="260px"),
                                  style={"description_width": "50px"})
        self.as_lane.observe(self._lane_chosen, "value")
        self.requests = W.BoundedIntText(value=1000, min=1, max=100_000, description="requests",
                                         layout=W.Layout(width="200px"))
        self.seed = W.IntText(value=1, description="seed", layout=W.Layout(width="160px"),
                              style={"description_width": "40px"})
        self.send_many = button("Send them", self.run_many, width="110px")
        self.many = W.VBox()
        self.status = W.HTML()
        self.hops = W.HTML(layout=W.Layout(overflow="auto", max_height="320px"))
        self.spread = W.HTML()
        self.trace: Trace | None = None
        # the designer highlights each simulated request on its diagram
        self.on_trace: Callable[[Trace | None], None] | None = None
        self._headers_for: str | None = None  # the design name the headers were filled for
        self.widget = W.VBox([
            W.HBox([
                W.VBox([help_text("Request headers, e.g. the route header naming a lane:"),
                        self.headers, self.presets]),
                W.VBox([self.path, self.host, self.send]),
            ]),
            self.status,
            self.hops,
            self.many,
        ])

    def refresh(self) -> None:
        super().refresh()
        design = self.state.design
        if self._headers_for != design.name:  # a new design: start from its first test lane
            lane = next((n for n in design.lane_names if n != design.baseline), design.baseline)
            self.headers.value = f"{design.route_header}: {lane}" if lane else ""
            self._headers_for = design.name
        weighted = design.ingress is not None and design.ingress.strategy == "weighted"
        if weighted:
            self.presets.children = [help_text(
                "Weighted ingress: the gateway picks the lane by weight and sets the route "
                "header itself; send many requests below to see the split.")]
        else:
            with self.syncing():
                self.as_lane.options = [("choose a lane…", ""),
                                        *((n, n) for n in dict.fromkeys(design.lane_names)),
                                        ("no lane header", NO_LANE)]
                self.as_lane.value = ""
            self.presets.children = [self.as_lane]
        self.many.children = [
            heading("Weighted ingress: send many requests"),
            W.HBox([self.requests, self.seed, self.send_many]),
            self.spread,
        ] if weighted else []
        self.run()
        if weighted:
            self.run_many()

    def _lane_chosen(self, change: dict) -> None:
        if self._syncing or not change["new"]:
            return
        self._preset(None if change["new"] == NO_LANE else change["new"])

    def _preset(self, lane: str | None) -> None:
        self.headers.value = f"{self.state.design.route_header}: {lane}" if lane else ""
        self.run()

    def parsed_headers(self) -> list[tuple[str, str]]:
        """The headers typed in; raises ValueError naming a line that is not a header."""
        return parse_headers(self.headers.value.splitlines())

    def request(self) -> dict[str, Any] | None:
        """Headers, path and host as typed, or None (and a message) if a header line is bad."""
        try:
            headers = self.parsed_headers()
        except ValueError as exc:
            self.status.value = message(str(exc), "warning")
            return None
        return {"headers": headers, "path": self.path.value or "/",
                "host": self.host.value.strip() or None}

    def run(self) -> None:
        """Simulate one request with the inputs and show its hops."""
        design, request = self.state.design, self.request()
        if request is None:
            return
        self.trace = trace = simulate(design, seed=1, **request)
        self.status.value = errors_banner(self.state.findings) + outcome(design, trace)
        self.hops.value = safely(lambda: trace_styler(design, trace).to_html(), "the hops") \
            if trace.graph is not None else ""
        if self.on_trace is not None:
            self.on_trace(trace)

    def run_many(self) -> None:
        """Send N requests through the gateway and draw how they spread over the lanes."""
        design, request = self.state.design, self.request()
        if request is None:
            return
        dist = distribution(design, self.requests.value, seed=self.seed.value, **request)
        self.spread.value = safely(lambda: distribution_svg(design, dist), "the distribution")


def outcome(design: LaneDesign, trace: Trace) -> str:
    """One line on what the gateway did, then the simulator's warnings."""
    if trace.status != 200:
        head = message(f"HTTP {trace.status}: the request enters no lane.", "warning")
    else:
        via = f" (chosen by {_via(trace)})" if trace.via else ""
        shown = trace.tree(12)
        chain = " → ".join(f"{h.service}@{h.lane}" for h in shown.hops)
        more = f" … ({shown.note})" if shown.more_paths else ""
        head = message(f"HTTP 200, lane <b>{html.escape(str(trace.lane))}</b>{html.escape(via)}"
                       f": {html.escape(chain)}{more}", "ok", raw=True)
    notes = "".join(message(w, "warning") for w in trace.warnings)
    return head + notes


_RULE = re.compile(r"rules\[(\d+)\]")


def _via(trace: Trace) -> str:
    """``rules[0]`` as the Ingress tab names it: rule 0, and the route it is emitted as."""
    found = _RULE.fullmatch(trace.via or "")
    if not found:
        return str(trace.via)
    index = int(found.group(1))
    return f"rule {index}, route {rule_route_name(index, str(trace.lane))}"
