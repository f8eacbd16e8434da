"""A few controls for teaching lanes (notebook 01): pick a lane, a pass-through method and
which apps propagate the context (and, where the design has topics, which consumers filter
by lane); see the chain, and step through it hop by hop to watch the headers travel.

Everything shown comes from the core: ``simulate`` says which version serves each hop and
whether the lane context arrived; ``carried_headers`` says what a call carries for a lane;
``message_properties`` what a producer writes into a message. The controls only make a
variant of the design to ask about, and this module only words the answers: it computes no
routing of its own.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import replace

import ipywidgets as W

from ..emit.consumers import LANE_ENV, message_properties
from ..model import LaneDesign
from ..render import chain_diagram, image_html
from ..simulate import Hop, simulate
from .common import CSS
from .headers import carried_headers

METHODS = [("trace ID", "traceId"), ("custom header", "header"), ("baggage", "baggage")]
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"  # the example trace id carried_headers shows
CURRENT_CSS = "background: #fff3b0;"  # the row of the hop the stepper is on

# (header or message property, value, who put it there)
Carried = tuple[str, str, str]


class LaneExplorer:
    """``LaneExplorer(design)`` in a cell: move the controls, the picture and table follow;
    the hop stepper (slider, Prev/Next) shows one hop at a time: what it carries, and who
    put each header there."""

    def __init__(self, design: LaneDesign) -> None:
        self.base = design
        lanes = list(dict.fromkeys(design.lane_names))
        default = next((n for n in lanes if n != design.baseline), lanes[0] if lanes else None)
        self.lane = W.ToggleButtons(options=lanes, value=default, description="lane",
                                    style={"button_width": "70px"})
        self.method = W.ToggleButtons(options=METHODS, value=design.pass_through.method,
                                      description="method", style={"button_width": "130px"})
        self.propagates = {
            svc.name: W.Checkbox(value=svc.propagates, description=f"{svc.name} propagates",
                                 indent=False, layout=W.Layout(width="auto"))
            for svc in design.services}
        # only consumers of a topic: "filters by lane" means nothing for the others
        self.filters = {
            svc.name: W.Checkbox(value=svc.filters_by_lane,
                                 description=f"{svc.name} filters by lane", indent=False,
                                 layout=W.Layout(width="auto"))
            for svc in design.services if svc.consumes}
        for w in (self.lane, self.method, *self.propagates.values(), *self.filters.values()):
            w.observe(lambda _: self.redraw(), "value")
        self.step = W.IntSlider(value=1, min=1, max=1, description="hop",
                                continuous_update=True, layout=W.Layout(width="360px"))
        self.prev = W.Button(description="◀ Prev", layout=W.Layout(width="80px"))
        self.next = W.Button(description="Next ▶", layout=W.Layout(width="80px"))
        self.prev.on_click(lambda _: self.move(-1))
        self.next.on_click(lambda _: self.move(+1))
        self.step.observe(lambda _: self.show_step(), "value")
        self.picture = W.HTML()
        self.picture.add_class("ld-lesson-picture")
        self.hops = W.HTML()
        self.hops.add_class("ld-lesson-hops")
        self.detail = W.HTML()
        self.detail.add_class("ld-lesson-step")
        self.warnings = W.HTML()
        self.trace = simulate(design, lane=default)
        self.widget = W.VBox([
            W.HTML(CSS + "<style>.ld-lesson-picture svg { max-width: 100%; height: auto; }"
                   ".ld-lesson-step { border-left: 4px solid #e0b800; padding-left: 8px; }"
                   ".ld-lesson-hops td:nth-child(2) { white-space: nowrap; }"
                   "</style>"),
            self.lane, self.method,
            W.HBox([*self.propagates.values(), *self.filters.values()],
                   layout=W.Layout(flex_flow="row wrap")),
            self.picture, self.warnings,
            W.HBox([self.prev, self.step, self.next]),
            self.detail, self.hops])
        self.widget.add_class("ld-designer")
        self.redraw()

    @property
    def design(self) -> LaneDesign:
        """The design as the controls set it."""
        design = self.base
        method = self.method.value
        if method != design.pass_through.method:
            trace = design.pass_through.trace_header
            if trace in (None, design.route_header):  # the header method's: not a trace id
                trace = "my-trace-id"
            design = design.with_pass_through(
                method=method, trace_header=design.route_header if method == "header" else
                trace if method == "traceId" else design.pass_through.trace_header)
        for name, box in self.propagates.items():
            svc = design.service(name)
            if svc is not None and svc.propagates != box.value:
                design = design.with_service(replace(svc, propagates=box.value))
        for name, box in self.filters.items():
            svc = design.service(name)
            if svc is not None and svc.filters_by_lane != box.value:
                design = design.with_filters_by_lane(name, box.value)
        return design

    @property
    def current(self) -> int:
        """The index (0-based) of the hop the stepper shows."""
        return self.step.value - 1

    def redraw(self) -> None:
        design, lane = self.design, self.lane.value
        self.trace = simulate(design, lane=lane)
        self.svg = chain_diagram(design, lane).svg()
        self.picture.value = self.svg
        self.warnings.value = "".join(
            f'<div class="ld-help">⚠ {html.escape(w)}</div>' for w in self.trace.warnings)
        count = max(len(self.trace.hops), 1)
        # the slider keeps its hop where it can (a student compares methods on one hop)
        self.step.max = count
        self.step.value = min(self.step.value, count)
        self.show_step()

    def move(self, delta: int) -> None:
        """Prev/Next: one hop back or on, stopping at the ends."""
        self.step.value = min(max(self.step.value + delta, self.step.min), self.step.max)

    def show_step(self) -> None:
        design, hops, at = self.design, self.trace.hops, self.current
        self.prev.disabled = at <= 0
        self.next.disabled = at >= len(hops) - 1
        rows = "".join(_row(design, hops, i, current=i == at) for i in range(len(hops)))
        self.hops.value = (
            '<table class="ld-plan"><tr><th>#</th><th>call</th><th>served by</th>'
            f"<th>headers on this call</th></tr>{rows}</table>").replace(
                "<th>", '<th style="text-align: left">')
        self.detail.value = step_html(design, hops, at) if hops else ""

    def _repr_mimebundle_(self, **kwargs: object) -> dict:
        # A live notebook shows the widget. A stored one opened unrun (from a clone, or on
        # GitHub) has no kernel to draw it and is untrusted: it falls back to the sanitised
        # HTML, so the reader sees what the explorer showed when saved, not a VBox repr.
        bundle = dict(self.widget._repr_mimebundle_(**kwargs) or {})
        summary = (f"LaneExplorer: lane {self.lane.value}, pass-through {self.method.value}, "
                   f"hop {self.step.value} of {self.step.max}")
        return bundle | {"text/html": self.snapshot_html(), "text/plain": summary}

    def snapshot_html(self) -> str:
        """The explorer as it stands, as static HTML (the picture as an <img>)."""
        return ('<div class="ld-lesson-snapshot"><p><i>The explorer as saved: lane '
                f"{html.escape(str(self.lane.value))}, pass-through "
                f"{html.escape(self.method.value)}. Run the notebook to switch lanes and "
                "methods and step through the hops.</i></p>"
                f"{image_html(self.svg, 'the chain')}{self.warnings.value}"
                f"{self.detail.value}{self.hops.value}</div>")


# -- what one hop carries, and who put it there -----------------------------------------------
def parent(hops: Sequence[Hop], index: int) -> Hop | None:
    """The hop that made hop ``index``'s call (the last one before it, one level up)."""
    depth = hops[index].depth
    return next((h for h in reversed(hops[:index]) if h.depth == depth - 1), None)


def hop_carries(design: LaneDesign, hops: Sequence[Hop], index: int) -> list[Carried]:
    """What hop ``index`` carries for the lane to survive it: HTTP headers for a call, the
    message's properties for a hop through a topic; each with who put it there.

    An empty list: the hop carries no lane context (the simulator's ``context`` is None).
    """
    hop, caller = hops[index], parent(hops, index)
    lane, route = hop.context, design.route_header
    if lane is None:
        return []
    if hop.caller is None or caller is None:  # the first hop: the gateway chose the lane
        out = [(route, lane, "the gateway sets it: its rule chose the lane")]
        if design.pass_through.method == "baggage":
            out.append(("baggage", f"{design.baggage_key}={lane}", "the gateway adds it"))
        if design.pass_through.method == "traceId":
            trace = design.pass_through.trace_header or "<trace header>"
            out.append((trace, TRACE_ID, f"the client or tracing starts it; the sidecar "
                                         f"remembers trace id -> {lane}"))
        return out
    if hop.topic is not None:  # a message: the producer writes two properties (docs/queues.md)
        props = message_properties(design)
        tag = f"{design.baggage_key}={lane}" if props.tag == "baggage" else lane
        return [(props.key, caller.lane, f"{hop.caller}@{caller.lane} writes its own lane "
                                          f"(${LANE_ENV}, its pod label): the filter key"),
                (props.tag, tag, f"{hop.caller} writes the request's lane tag it received")]
    if caller.topic is not None:  # the consumer's call: the lane comes from the message
        if design.pass_through.method == "baggage":
            return [("baggage", f"{design.baggage_key}={lane}",
                     f"{hop.caller} sets it from the message's tag"),
                    (route, lane, "set by the mesh from the baggage member")]
        return [(route, lane, f"{hop.caller} sets it from the message's tag")]
    return [_split(line) for line in carried_headers(design, lane).splitlines()]


def _split(line: str) -> Carried:
    """``name: value   (who)`` (carried_headers' lines) as a triple."""
    header, _, rest = line.partition(": ")
    value, _, who = rest.partition("   (")
    return header, value, who.rstrip(")")


def hop_story(design: LaneDesign, hops: Sequence[Hop], index: int) -> str:
    """One or two plain sentences: which version served hop ``index`` and why, as the
    simulator decided it."""
    hop, caller = hops[index], parent(hops, index)
    served = f"{hop.service}@{hop.lane}"
    if hop.caller is None or caller is None:
        text = f"The gateway sends the request to {served}."
    elif hop.topic is not None:
        topic = design.topic(hop.topic)
        what = f"{topic.broker} {topic.kind} {hop.topic}" if topic else f"topic {hop.topic}"
        text = (f"{hop.caller}@{caller.lane} publishes a message to {what}; {served} "
                f"consumes it (no sidecar routes it: the apps carry the lane).")
        svc = design.service(hop.service)
        if hop.context is None:
            text += (f" {hop.caller} dropped the lane context, so the message is untagged and "
                     "the baseline's consumer takes it.")
        elif svc is not None and not svc.filters_by_lane:
            text += (f" {hop.service} does not filter by lane: any of its versions may take "
                     "the message (the simulator shows the baseline's).")
        else:
            text += f" The filter key is {caller.lane}, so {served} takes it"
            if hop.lane != caller.lane:  # loose mode: the key's lane has no consumer (LD414)
                text += (f" (lane {caller.lane} has no {hop.service}: its fallback's consumer "
                         f"must be configured to take key {caller.lane} too)")
            text += "."
            if hop.lane != hop.context:
                text += (f" The tag says {hop.context}: the consumer puts it back on its "
                         f"calls, so the chain returns to lane {hop.context}.")
        return text
    else:
        text = f"{hop.caller}@{caller.lane} calls {hop.service}; {served} serves it."
    if hop.context is None and caller is not None:
        text += f" The call has no lane context ({hop.caller} dropped it): the baseline serves."
    elif hop.fallback and hop.context is not None:
        text += (f" Lane {hop.context} has no {hop.service}, so its fallback ({hop.lane}) "
                 f"serves; the chain stays in lane {hop.context}.")
    return text


def step_html(design: LaneDesign, hops: Sequence[Hop], index: int) -> str:
    """The stepper's panel for hop ``index``: the story and a header | value | who table."""
    hop = hops[index]
    kind = "message properties" if hop.topic else "headers"
    carried = hop_carries(design, hops, index)
    td, th = '<td style="text-align: left">', '<th style="text-align: left">'
    rows = "".join(f"<tr>{td}<code>{html.escape(name)}</code></td>{td}<code>"
                   f"{html.escape(value)}</code></td>{td}{html.escape(who)}</td></tr>"
                   for name, value, who in carried)
    table = (f'<table class="ld-plan"><tr>{th}{kind}</th>{th}value</th>'
             f"{th}who put it there</th></tr>{rows}</table>" if carried else
             f"<div><b>No lane context:</b> this {'message' if hop.topic else 'call'} "
             "carries none of the lane's headers.</div>")
    return (f"<div><b>Hop {index + 1} of {len(hops)}: {html.escape(_call(hop))}</b></div>"
            f"<div>{html.escape(hop_story(design, hops, index))}</div>{table}")


def _call(hop: Hop) -> str:
    if hop.topic is not None:
        return f"{hop.caller} ~> {hop.service}  (message via {hop.topic})"
    return f"{hop.caller or 'gateway'} → {hop.service}"


def _row(design: LaneDesign, hops: Sequence[Hop], index: int, current: bool) -> str:
    hop = hops[index]
    served = f"{hop.lane}" + (" (fallback)" if hop.fallback else "")
    carried = hop_carries(design, hops, index)
    if carried:
        text = "\n".join(f"{name}: {value}   ({who})" for name, value, who in carried)
    elif hop.topic is not None:
        text = "untagged message: the producer dropped the lane context"
    else:
        text = "no lane context: the caller dropped it, the baseline serves"
    attrs = f' class="ld-lesson-current" style="{CURRENT_CSS}"' if current else ""
    marker = "▶ " if current else ""
    # inline styles: a stored snapshot is shown by JupyterLab's sanitised HTML renderer,
    # which right-aligns cells and breaks <pre> lines mid-word, and has none of CSS above
    td = '<td style="text-align: left; vertical-align: top">'
    return (f"<tr{attrs}>{td}{marker}{index + 1}</td>{td}{html.escape(_call(hop))}</td>"
            f"{td}{html.escape(served)}</td>"
            f"{td}<pre class='ld-yaml' style=\"text-align: left; white-space: pre-wrap; "
            f"word-break: normal\">{html.escape(text)}</pre></td></tr>")
