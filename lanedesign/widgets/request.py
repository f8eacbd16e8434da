"""Try a request: headers, path and host in; the hop chain out (a table here, highlighted on
the designer's diagram).

"as lane" is the designer's current lane (``DesignState.current_lane``): choosing one writes
the route header; the header is what is sent, and a lane header typed in makes its lane
current. The outcome never claims a lane the request did not get: a request that asked for
one lane and was served by another (a default, an earlier rule) says so as a warning, and
offers the rule that would reach a lane no request can.

Weighted ingress also shows how many requests each lane gets (``distribution``); the split
ignores a route header, so none is pre-filled, and one typed in is named as ignored.
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
from ..simulate import Trace, distribution, lane_from_baggage, simulate
from .common import Panel, button, errors_banner, heading, help_text, message, safely
from .state import DesignState

NO_LANE = "\x00none"  # the menu's value for "no lane header" (no lane name can be it)
GROUP_AFTER = 2  # more warnings of one kind than this are one line with a count


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
        self.fix = button("", self._add_rule, "warning")  # the rule that reaches the lane
        self.fix.layout.display, self.fix.layout.align_self = "none", "flex-start"
        self.presets = W.HBox(layout=W.Layout(max_width="370px"))  # beside path and host
        # a menu, not a button per lane: at 10+ lanes buttons shrank to "b...", "feat..."
        self.as_lane = W.Dropdown(description="as lane", layout=W.Layout(width="260px"),
                                  style={"description_width": "50px"})
        self.as_lane.observe(self._lane_chosen, "value")
        self.as_lane.add_class("ld-lane-picker")  # one of the current lane's three pickers
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
        self.carried = ""  # the lane header the last request carried, for the diagram
        # the designer highlights each simulated request on its diagram
        self.on_trace: Callable[[Trace | None], None] | None = None
        self._headers_for: str | None = None  # the design name the headers were filled for
        self._lane_for: str | None = None  # the current lane the route header was set for
        self.widget = W.VBox([
            W.HBox([
                W.VBox([help_text("Request headers, e.g. the route header naming a lane:"),
                        self.headers, self.presets]),
                W.VBox([self.path, self.host, self.send]),
            ]),
            self.status,
            self.fix,
            self.hops,
            self.many,
        ])

    def refresh(self) -> None:
        super().refresh()
        design = self.state.design
        weighted = _weighted(design)
        if self._headers_for != design.name:  # a new design: start from the current lane
            lane = self.state.current_lane
            # a weight split ignores the route header: pre-filling one would mislead
            self.headers.value = "" if weighted or not lane else \
                f"{design.route_header}: {lane}"
            self.path.value = _split_path(design) if weighted else "/"
            self._headers_for, self._lane_for = design.name, lane
        elif not weighted:
            self._follow_edit(design)
        if weighted:
            self.presets.children = [help_text(
                f"Weighted ingress: the gateway picks the lane by weight and sets "
                f"{design.route_header} itself, so a route header typed here is ignored; "
                "send many requests below to see the split.")]
        else:
            with self.syncing():
                self.as_lane.options = [*((n, n) for n in dict.fromkeys(design.lane_names)),
                                        ("no lane header", NO_LANE)]
                self._sync_as_lane()
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
        """"as lane": the route header rewritten (other headers kept), the lane made current
        in every view, and the request sent."""
        self.headers.value = with_route_header(self.headers.value,
                                               self.state.design.route_header, lane)
        self._lane_for = lane
        if lane is not None:
            self.state.choose_lane(lane)  # follow_lane finds the header already naming it
        self.run()

    def follow_lane(self, run: bool = True) -> None:
        """The current lane changed in another view: the request asks for it (header rules;
        a weight split ignores the header)."""
        design, lane = self.state.design, self.state.current_lane
        if _weighted(design) or lane is None or self.asked() == lane:
            return
        self.headers.value = with_route_header(self.headers.value, design.route_header, lane)
        self._lane_for = lane
        with self.syncing():
            self._sync_as_lane()
        if run and not self.stale:
            self.run()
        else:
            self.stale = True  # sent again when the tab is opened

    def _follow_edit(self, design: LaneDesign) -> None:
        """An edit moved the current lane (an add, a rename, a remove, undo): the route
        header follows, unless it was set to something else (no lane header, a made-up
        value) on purpose."""
        lane, asked = self.state.current_lane, self.asked()
        if lane is None or asked == lane:
            return
        if asked == self._lane_for or asked in design.lane_names:
            self.headers.value = with_route_header(self.headers.value, design.route_header,
                                                   lane)
            self._lane_for = lane

    def asked(self) -> str | None:
        """The lane the typed headers ask for (route header, else the baggage member)."""
        try:
            headers = dict(self.parsed_headers())
        except ValueError:
            return None
        return asked_lane(self.state.design, headers)

    def _sync_as_lane(self) -> None:
        """"as lane" shows what the typed header asks for, blank when it names no lane of
        the design (call inside ``syncing``)."""
        asked = self.asked()
        values = [v for _, v in self.as_lane.options]
        self.as_lane.value = NO_LANE if asked is None else asked if asked in values else None

    def _add_rule(self) -> None:
        lane = self.asked()
        if lane:
            self.edit(f"add an ingress rule for {lane}", lambda d: d.with_rule_for_lane(lane))

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
        headers = dict(request["headers"])
        asked = asked_lane(design, headers)
        if not _weighted(design):
            with self.syncing():
                self._sync_as_lane()
            if asked in design.lane_names:
                self._lane_for = asked
                self.state.choose_lane(asked)  # the header sent names the current lane
        self.carried = carried_header(design, headers)
        self.trace = trace = simulate(design, seed=1, **request)
        self.status.value = errors_banner(self.state.findings) + outcome(design, trace, headers)
        offer = asked is not None and not _weighted(design) and \
            asked in self.state.unreached_lanes and design.with_rule_for_lane(asked) != design
        self.fix.layout.display = "" if offer else "none"
        self.fix.description = f"Add rule: {design.route_header}: {asked} → {asked}" \
            if offer else ""
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


def outcome(design: LaneDesign, trace: Trace,
            headers: dict[str, str] | None = None) -> str:
    """One line on what the gateway did, then the simulator's warnings (grouped).

    Green only when the request got what it asked for: a request asking for one lane and
    served by another says which, and why, as a warning."""
    headers = headers or {}
    asked = asked_lane(design, headers)
    weighted = _weighted(design)
    sent = carried_header(design, headers)
    if trace.status != 200:
        asking = f" It asked for lane {asked} ({sent})." if asked and not weighted else ""
        head = message(f"HTTP {trace.status}: the request enters no lane.{asking}", "warning")
        return head + grouped_warnings(trace.warnings)
    shown = trace.tree(12)
    chain = " → ".join(f"{h.service}@{h.lane}" for h in shown.hops)
    more = f" … ({shown.note})" if shown.more_paths else ""
    lane = html.escape(str(trace.lane))
    via = f" (chosen by {_via(trace)})" if trace.via else ""
    if asked is not None and asked != trace.lane and not weighted:
        head = message(
            f"HTTP 200, but <b>not in lane {html.escape(asked)}</b>: the request carried "
            f"<code>{html.escape(sent)}</code> and was served by lane <b>{lane}</b>, "
            f"{html.escape(_why_elsewhere(design, trace, asked))}: {html.escape(chain)}{more}",
            "warning", raw=True)
    else:
        head = message(f"HTTP 200, lane <b>{lane}</b>{html.escape(via)}: "
                       f"{html.escape(chain)}{more}", "ok", raw=True)
    if weighted and asked is not None:
        head += message(f"{sent} was ignored: the weight split chose lane {trace.lane}, and "
                        f"the gateway set {design.route_header}: {trace.lane}.", "info")
    return head + grouped_warnings(trace.warnings)


def _why_elsewhere(design: LaneDesign, trace: Trace, asked: str) -> str:
    """Why a request asking for ``asked`` went to ``trace.lane`` instead."""
    if design.lane(asked) is None:
        where = "the default" if trace.via == "default" else _via(trace)
        return f"chosen by {where}: {asked} names no lane of this design"
    if trace.via == "default":
        return f"the gateway's default, because no ingress rule sends to lane {asked}"
    return f"because {_via(trace)} matched first"


def grouped_warnings(warnings: tuple[str, ...] | list[str]) -> str:
    """The simulator's warnings, each kind once: more than ``GROUP_AFTER`` of one kind
    ("context dropped: ...") become one line with a count, the details folded under it."""
    kinds: dict[str, list[str]] = {}
    for text in warnings:
        kind, sep, _ = text.partition(": ")
        kinds.setdefault(kind if sep else text, []).append(text)
    parts = []
    for kind, texts in kinds.items():
        if len(texts) <= GROUP_AFTER:
            parts += [message(t, "warning") for t in dict.fromkeys(texts)]
            continue
        items = "".join(f"<li>{html.escape(t.partition(': ')[2] or t)}</li>"
                        for t in texts[:50])
        rest = f"<li>and {len(texts) - 50} more</li>" if len(texts) > 50 else ""
        parts.append(message(f"<details><summary>{html.escape(kind)} … (x{len(texts)})"
                             f"</summary><ul style='margin:2px 0'>{items}{rest}</ul></details>",
                             "warning", raw=True))
    return "".join(parts)


def asked_lane(design: LaneDesign, headers: dict[str, str]) -> str | None:
    """The lane a request's headers ask for: the route header's value, else (baggage method)
    the baggage member the gateway reads; None when it names none."""
    value = headers.get(design.route_header.lower())
    if value is None and design.pass_through.method == "baggage":
        value = lane_from_baggage(headers.get("baggage"), design.baggage_key)
    return value or None


def carried_header(design: LaneDesign, headers: dict[str, str]) -> str:
    """The lane header as the request carried it into the gateway, for people to read."""
    route = design.route_header.lower()
    if route in headers:
        return f"{route}: {headers[route]}"
    if asked_lane(design, headers) is not None:
        return f"baggage: {headers.get('baggage', '')}"
    return "no lane header"


def with_route_header(text: str, route_header: str, lane: str | None) -> str:
    """The typed headers with the route header's line set to ``lane`` (added if missing,
    removed for None); other lines are kept as typed."""
    name = route_header.lower()
    lines = [line for line in text.splitlines()
             if line.strip() and _line_name(line) != name]
    if lane is not None:
        lines.insert(0, f"{route_header}: {lane}")
    return "\n".join(lines)


def _line_name(line: str) -> str | None:
    found = re.search(r"[=:]", line)
    return line[:found.start()].strip().lower() if found else None


def _weighted(design: LaneDesign) -> bool:
    return design.ingress is not None and design.ingress.strategy == "weighted"


def _split_path(design: LaneDesign) -> str:
    """A path the weight split takes (its match's exact or prefix path), else ``/``."""
    match = design.ingress.match if design.ingress else None
    uri = match.uri if match is not None else None
    return uri.value if uri is not None and uri.kind in ("exact", "prefix") and uri.value \
        else "/"


_RULE = re.compile(r"rules\[(\d+)\]")


def _via(trace: Trace) -> str:
    """``rules[0]`` as the Ingress tab names it: rule 0, and the route it is emitted as."""
    found = _RULE.fullmatch(trace.via or "")
    if not found:
        return str(trace.via)
    index = int(found.group(1))
    return f"rule {index}, route {rule_route_name(index, str(trace.lane))}"
