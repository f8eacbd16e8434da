"""Tables for notebooks and widgets: the routing matrix, findings and hops as pandas Stylers.

Every Styler gets a ``uuid`` made from its content, so the HTML is the same on every run
(notebook tests compare it) and two tables on one page never share CSS ids; colours come from
the same lane palette as the diagrams.
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Callable, Sequence

import pandas as pd
from pandas.io.formats.style import Styler

from ..emit.consumers import consumer_rows
from ..findings import Finding
from ..model import LaneDesign
from ..simulate import Distribution, Trace, serving_columns
from .svg import FALLBACK_COLOUR, lane_colours

FALLBACK_MARK = "↩"
_SEVERITY_COLOURS = {"error": "#f8d7da", "warning": "#fff3cd", "info": "#dbe9f6"}
_TABLE_STYLES = [
    {"selector": "th, td", "props": "padding: 2px 8px; font-size: 12px; text-align: left;"},
    {"selector": "caption", "props": "caption-side: bottom; font-size: 11px; color: #555;"
                                     " text-align: left; padding-top: 4px;"},
]


# -- the routing matrix -----------------------------------------------------------------------
def routing_frame(design: LaneDesign, *, contains: str = "", lanes: Sequence[str] | None = None,
                  fallbacks_only: bool = False) -> pd.DataFrame:
    """The routing matrix (service x lane -> serving lane), filtered for large designs.

    ``contains`` keeps services whose name contains the text; ``lanes`` keeps those columns;
    ``fallbacks_only`` keeps services served by a fallback in at least one shown lane.
    """
    frame = routing_matrix(design)
    if contains:
        frame = frame[frame.index.str.contains(contains, case=False, regex=False)]
    if lanes is not None:
        frame = frame[[lane for lane in dict.fromkeys(lanes) if lane in frame.columns]]
    if fallbacks_only:
        frame = frame[_fallbacks(frame).any(axis=1)]
    return frame



def routing_matrix(design: LaneDesign) -> pd.DataFrame:
    """The routing table as a DataFrame: rows = services, columns = lanes."""
    services, columns = serving_columns(design)
    frame = pd.DataFrame(columns, index=services)
    frame.index.name = "service"
    frame.columns.name = "lane"
    return frame

def _fallbacks(frame: pd.DataFrame) -> pd.DataFrame:
    """True where the serving lane is not the column's lane."""
    return frame.apply(lambda column: column != column.name)


def page_of(frame: pd.DataFrame, page: int, size: int = 40) -> tuple[pd.DataFrame, int]:
    """Rows of page ``page`` (0-based, clamped) and the number of pages."""
    pages = max((len(frame) + size - 1) // size, 1)
    page = min(max(page, 0), pages - 1)
    return frame.iloc[page * size:(page + 1) * size], pages


def _uuid(kind: str, *content: object) -> str:
    digest = hashlib.sha256(repr(content).encode()).hexdigest()[:10]
    return f"{kind}_{digest}"


def routing_styler(design: LaneDesign, frame: pd.DataFrame | None = None,
                   uuid: str | None = None) -> Styler:
    """The matrix coloured by serving lane; fallback cells marked ``↩`` and outlined."""
    frame = routing_frame(design) if frame is None else frame
    colours = lane_colours(design)

    def column_css(column: pd.Series) -> list[str]:
        return [_cell_css(colours.get(value, "#ffffff"), value != column.name)
                for value in column]

    def marked(lane: str) -> Callable[[str], str]:
        return lambda value: value if value == lane else f"{FALLBACK_MARK} {value}"

    uuid = uuid or _uuid("routing", frame.to_dict("split"), colours)
    styler = frame.style.set_uuid(uuid).apply(column_css, axis=0)
    styler = _escaped(styler).format({lane: marked(lane) for lane in frame.columns},
                                     escape="html")
    return (styler.set_table_styles(_TABLE_STYLES)
            .set_caption(f"{FALLBACK_MARK} fallback: the column's lane lacks the service"))


def _escaped(styler: Styler) -> Styler:
    """Names come from the user: cells and headers are HTML-escaped (Styler does not by default)."""
    return (styler.format(escape="html").format_index(escape="html", axis=0)
            .format_index(escape="html", axis=1))


def _cell_css(fill: str, fallback: bool) -> str:
    css = f"background-color: {fill};"
    if fallback:
        # dashed, like a fallback edge in the diagrams
        css += (f" font-style: italic; color: {FALLBACK_COLOUR};"
                f" outline: 1px dashed {FALLBACK_COLOUR}; outline-offset: -3px;")
    return css


# -- findings ---------------------------------------------------------------------------------
FINDING_COLUMNS = ["code", "severity", "path", "message", "hint"]


def findings_frame(findings: Sequence[Finding]) -> pd.DataFrame:
    """Findings as rows: code, severity, path, message, hint."""
    return pd.DataFrame([[f.code, f.severity, f.path, f.message, f.hint] for f in findings],
                        columns=FINDING_COLUMNS)


def findings_styler(findings: Sequence[Finding], uuid: str | None = None) -> Styler:
    """Findings coloured by severity, without the row index."""
    frame = findings_frame(findings)
    uuid = uuid or _uuid("findings", frame.to_dict("split"))
    styler = _escaped(frame.style.set_uuid(uuid)).hide(axis="index")
    styler = styler.map(lambda s: f"background-color: {_SEVERITY_COLOURS.get(s, '#ffffff')};",
                        subset=["severity"])
    return styler.set_table_styles(_TABLE_STYLES)


# -- a simulated request ----------------------------------------------------------------------
HOP_COLUMNS = ["hop", "call", "lane", "labels", "note"]


HOP_ROWS = 200  # a table for reading: a longer tree ends in a "+N more paths" row


def trace_frame(trace: Trace, limit: int | None = HOP_ROWS,
                design: LaneDesign | None = None) -> pd.DataFrame:
    """One row per hop: the call (indented by depth), serving lane, pod labels, a note.

    A hop reached through a message topic (an asynchronous hop, docs/queues.md) is drawn
    ``└~> service`` and its note says ``via kafka topic orders`` (the broker and kind come
    from ``design``; without it, ``via topic orders``), as the CLI tree does.
    At most ``limit`` hops; what is left out is counted in a last row (``+N more paths``).
    """
    tree = trace.tree(limit)
    rows: list[list[object]] = []
    for number, hop in enumerate(tree.hops, 1):
        arrow = "└~> " if hop.topic else "└ "
        call = ("\u2003" * (hop.depth - 1) + arrow if hop.depth else "") + hop.service
        notes = []
        if hop.topic:
            notes.append(f"via {_topic_words(design, hop.topic)}")
        if hop.fallback:
            notes.append(f"fallback -> {hop.lane}")
        if hop.context is None and trace.lane is not None:
            notes.append("no lane context")
        labels = ", ".join(f"{k}={v}" for k, v in hop.labels)
        rows.append([number, call, hop.lane, labels, "; ".join(notes)])
    if tree.more_paths:
        rows.append(["", tree.note, "", "", ""])
    return pd.DataFrame(rows, columns=HOP_COLUMNS)


def _topic_words(design: LaneDesign | None, name: str) -> str:
    """``kafka topic orders``: the broker and kind label a topic for people (docs/queues.md)."""
    topic = design.topic(name) if design is not None else None
    return f"{topic.broker} {topic.kind} {name}" if topic is not None else f"topic {name}"


def trace_styler(design: LaneDesign, trace: Trace, uuid: str | None = None,
                 limit: int | None = HOP_ROWS) -> Styler:
    """The hop table with each serving lane in its colour; fallback hops outlined."""
    frame = trace_frame(trace, limit, design)
    colours = lane_colours(design)
    falls = [hop.fallback for hop in trace.tree(limit).hops] + [False] * len(frame)

    def lane_css(column: pd.Series) -> list[str]:
        return [_cell_css(colours.get(v, "#ffffff"), f) for v, f in zip(column, falls)]

    uuid = uuid or _uuid("hops", frame.to_dict("split"), colours)
    styler = _escaped(frame.style.set_uuid(uuid)).hide(axis="index")
    if len(frame):
        styler = styler.apply(lane_css, subset=["lane"])
    return styler.set_table_styles([*_TABLE_STYLES, {"selector": "td",
                                                     "props": "white-space: nowrap;"}])


# -- what the apps configure for a topic ------------------------------------------------------
CONSUMER_COLUMNS = ["topic", "consumer", "lane", "keys it must take", "consumer group / queue",
                    "filters by lane"]


def consumers_frame(design: LaneDesign) -> pd.DataFrame:
    """``lanedesign consumers`` as a table (emit.consumers): per topic and consumer version,
    the message keys it takes (``+ untagged`` for the baseline's) and its group or queue."""
    rows = [[r.topic + (f" ({r.broker})" if r.broker else ""), r.consumer, r.lane,
             ", ".join(r.accepts) + (" + untagged" if r.untagged else ""), r.name,
             "yes" if r.filters else "NO: takes any message (LD417)"]
            for r in consumer_rows(design)]
    return pd.DataFrame(rows, columns=CONSUMER_COLUMNS)


def consumers_styler(design: LaneDesign, uuid: str | None = None) -> Styler:
    """The consumer table, each version's lane in its colour; a consumer that does not
    filter is marked like an error (LD417: its versions compete for every message)."""
    frame = consumers_frame(design)
    colours = lane_colours(design)
    uuid = uuid or _uuid("consumers", frame.to_dict("split"), colours)
    styler = _escaped(frame.style.set_uuid(uuid)).hide(axis="index")
    if len(frame):
        styler = styler.map(lambda v: f"background-color: {colours.get(v, '#ffffff')};",
                            subset=["lane"])
        styler = styler.map(lambda v: "" if v == "yes" else
                            f"background-color: {_SEVERITY_COLOURS['error']};",
                            subset=["filters by lane"])
    return styler.set_table_styles(_TABLE_STYLES)


# -- weighted ingress -------------------------------------------------------------------------
def distribution_svg(design: LaneDesign, dist: Distribution) -> str:
    """Horizontal bars: the share of requests each lane got, beside its configured weight."""
    colours = lane_colours(design)
    weights = design.ingress.weight_map if design.ingress else {}
    rows = [(lane, count, colours.get(lane, "#ffffff")) for lane, count in dist.counts.items()]
    if dist.unmatched:
        rows.append(("404 (no route)", dist.unmatched, "#f8d7da"))
    label_width = max([len(r[0]) for r in rows] + [4]) * 7 + 10
    bar, height = 260, 20
    parts = []
    for i, (lane, count, fill) in enumerate(rows):
        share = count / dist.requests if dist.requests else 0.0
        y = i * height
        weight = f", weight {weights[lane]}" if lane in weights else ""
        parts.append(
            f'<text x="0" y="{y + 14}">{html.escape(lane)}</text>'
            f'<rect x="{label_width}" y="{y + 3}" width="{bar}" height="14" fill="#f4f4f4"/>'
            f'<rect x="{label_width}" y="{y + 3}" width="{share * bar:.1f}" height="14" '
            f'fill="{fill}" stroke="#666666" stroke-width="0.5"/>'
            f'<text x="{label_width + bar + 8}" y="{y + 14}">{share:.1%} ({count}{weight})'
            "</text>")
    width = label_width + bar + 190
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="lanedesign-distribution" '
            f'width="{width}" height="{len(rows) * height + 4}" '
            f'font-family="Helvetica,Arial,sans-serif" font-size="12" fill="#222222">'
            + "".join(parts) + "</svg>\n")
