"""Pieces every panel uses: the panel base, message boxes, label parsing, the stylesheet."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import ipywidgets as W

from ..findings import Finding
from .state import DesignState

CSS = """
<style>
.ld-designer { font-size: 13px; }
.ld-designer .ld-help { color: #555; font-size: 12px; line-height: 1.35; }
.ld-designer .ld-head { font-weight: 600; margin: 6px 0 2px 0; }
.ld-designer .ld-scroll { overflow: auto; }
.ld-designer .ld-msg { border-radius: 4px; padding: 6px 10px; margin: 2px 0 6px 0;
  line-height: 1.4; }
.ld-designer .ld-msg-error { background: #f8d7da; border: 1px solid #e3a1a8; color: #6b1a22; }
.ld-designer .ld-msg-warning { background: #fff3cd; border: 1px solid #e8d08a; color: #5c4400; }
.ld-designer .ld-msg-info { background: #e8f1fa; border: 1px solid #b6cfe8; color: #1c3d5e; }
.ld-designer .ld-msg-ok { background: #e6f4ea; border: 1px solid #a8d5b5; color: #1d4d2b; }
.ld-designer .ld-chip { display: inline-block; border-radius: 9px; padding: 0 8px;
  margin-left: 6px; font-size: 12px; }
.ld-designer .ld-grid-head { font-weight: 600; font-size: 12px; overflow: hidden;
  text-overflow: ellipsis; white-space: nowrap; }
.ld-designer .ld-grid-name { font-size: 12px; overflow: hidden; text-overflow: ellipsis;
  white-space: nowrap; }
.ld-designer .widget-checkbox { width: auto; }
.ld-designer .widget-hbox { gap: 8px; }
.ld-designer .widget-html-content { line-height: 1.4; }
.ld-designer .ld-grid .widget-checkbox { justify-self: center; }
.ld-designer .ld-center { text-align: center; }
.ld-designer table caption { white-space: nowrap; }
.ld-designer pre.ld-yaml { font-size: 11.5px; margin: 0; white-space: pre; }
.ld-designer .ld-diagram svg { max-width: 100%; height: auto; }
.ld-designer .ld-fit svg { max-height: 400px; width: auto; }
.ld-designer .ld-title { font-size: 15px; font-weight: 600; }
.ld-designer { container-type: inline-size; }
.ld-designer .ld-beside { position: sticky; top: 0; align-self: flex-start; z-index: 2;
  background: var(--jp-layout-color0, #fff); padding-top: 4px; }
/* a notebook's output area scrolls sideways; that would hold the sticky diagram in place */
.jp-OutputArea-output:has(.ld-designer .ld-beside) { overflow: visible; }
/* too narrow for both side by side (a notebook with its sidebar open): the diagram goes
   above the tabs, and scrolls with the page rather than covering the editors */
@container (max-width: 1007px) {
  .ld-designer .ld-beside { order: -1; flex-basis: 100% !important; position: static; }
}
.ld-designer .ld-matrix thead th { position: sticky; top: 0; z-index: 1;
  background: var(--jp-layout-color0, #fff); white-space: nowrap; }
.ld-designer .ld-matrix th.row_heading { white-space: nowrap; }
.ld-designer .ld-matrix thead tr:nth-child(2) th { top: 1.6em; }
.ld-designer .ld-matrix td { cursor: pointer; }
/* tabs as wide as their titles ("Findings (12)" stays whole beside the diagram) */
.ld-designer .widget-tab > .lm-TabBar .lm-TabBar-tab { flex: 1 1 auto; min-width: 0; }
.ld-designer .ld-grid { max-height: 560px; }
.ld-designer .ld-grid .ld-grid-top { position: sticky; top: 0; z-index: 2;
  background: var(--jp-layout-color0, #fff); align-self: stretch; }
.ld-designer .ld-grid .ld-fallback-col { position: sticky; right: 0; z-index: 1;
  background: var(--jp-layout-color0, #fff); }
.ld-designer .ld-grid .ld-grid-top.ld-fallback-col { z-index: 3; }
.ld-designer table.ld-plan { border-collapse: collapse; font-size: 12px; width: 100%; }
.ld-designer table.ld-plan th { text-align: left; border-bottom: 1px solid #ccc; padding: 2px 8px; }
.ld-designer table.ld-plan td { vertical-align: top; border-bottom: 1px solid #eee;
  padding: 2px 8px; }
.ld-designer .ld-action { margin-left: 0; margin-right: 4px; }
.ld-designer details summary { cursor: pointer; color: #1c3d5e; }
.ld-designer .ld-add { color: #1d6b32; }
.ld-designer .ld-del { color: #a3202e; }
.ld-designer .ld-hunk { color: #777; }
.ld-designer .ld-stale { opacity: 0.45; }
.ld-designer .jupyter-widgets.widget-tab > .widget-tab-contents,
.ld-designer .jupyter-widgets.widget-tab > .p-TabPanel-tabContents { padding: 10px 12px; }
/* -- at scale and at 1280 px -- */
/* the Lanes grid's service names stay in view while many lane columns scroll sideways */
.ld-designer .ld-grid .ld-service-col { position: sticky; left: 0; z-index: 1;
  background: var(--jp-layout-color0, #fff); align-self: stretch; display: flex;
  align-items: center; margin-left: 0; box-shadow: 6px 0 0 var(--jp-layout-color0, #fff); }
.ld-designer .ld-grid .ld-grid-top.ld-service-col { z-index: 3; }
/* the sticky columns cover the grid's gaps too: no sliver of a scrolled-away lane name */
.ld-designer .ld-grid .ld-fallback-col { box-shadow: -6px 0 0 var(--jp-layout-color0, #fff); }
/* buttons, toggle buttons and descriptions never shrink below their text ("Ren...",
   "compare la...", "custom hea..."): a row that is too narrow wraps instead */
.ld-designer .jupyter-button { min-width: max-content; flex-shrink: 0; }
.ld-designer .widget-label-basic, .ld-designer .widget-inline-hbox > .widget-label {
  min-width: max-content; flex-shrink: 0; }
.ld-designer .widget-toggle-buttons .widget-toggle-button { min-width: max-content; }
.ld-designer .widget-toggle-buttons { flex-wrap: wrap; }
/* tab titles whole ("Findings (61)"): the tab bar wraps into a second row when it must */
.ld-designer .widget-tab > .lm-TabBar .lm-TabBar-tab { min-width: max-content; }
.ld-designer .widget-tab > .lm-TabBar .lm-TabBar-content { flex-wrap: wrap; }
/* the notice line keeps its height, empty or not: "undid: ..." never shifts the page */
.ld-designer .ld-lane-chooser { margin: 2px 0; }
</style>
"""
_LABEL_PAIR = re.compile(r"^\s*([^=\s]+)\s*=\s*(\S*)\s*$")


class Panel:
    """One tab of the designer: widgets built once, redrawn from the state by ``refresh``."""

    title = ""

    def __init__(self, state: DesignState) -> None:
        self.state = state
        self.widget: W.Box = W.VBox()
        self.stale = True  # needs a refresh before it is shown
        self._syncing = False

    def refresh(self) -> None:
        self.stale = False

    @contextmanager
    def syncing(self) -> Iterator[None]:
        """While the panel writes widget values from the design, observers must not edit."""
        self._syncing, before = True, self._syncing
        try:
            yield
        finally:
            self._syncing = before

    def edit(self, what: str, change: Callable) -> None:
        if not self._syncing:
            self.state.edit(what, change)


def message(text: str, kind: str = "info", raw: bool = False) -> str:
    """A coloured box (kind: error, warning, info, ok); ``text`` is escaped unless ``raw``."""
    body = text if raw else html.escape(text)
    return f'<div class="ld-msg ld-msg-{kind}">{body}</div>'


def errors_banner(findings: Sequence[Finding], limit: int = 4) -> str:
    """A short list of the design's errors, or '' when it has none."""
    errors = [f for f in findings if f.severity == "error"]
    if not errors:
        return ""
    items = "".join(f"<li><b>{html.escape(f.code)}</b> <code>{html.escape(f.path)}</code>: "
                    f"{html.escape(f.message)}</li>" for f in errors[:limit])
    more = f"<li>and {len(errors) - limit} more (see Findings)</li>" if len(errors) > limit else ""
    return message(f"The design has {len(errors)} error(s); this view shows what the simulator "
                   f"makes of it, which is not what a mesh would do:<ul style='margin:2px 0'>"
                   f"{items}{more}</ul>", "error", raw=True)


def safely(draw: Callable[[], str], what: str) -> str:
    """``draw()``'s HTML, or a message box if it fails: the UI never shows a traceback."""
    try:
        return draw()
    except Exception as exc:  # the edge of the UI: any failure becomes a message
        return message(f"Cannot show {what}: {type(exc).__name__}: {exc}", "error")


def parse_labels(text: str) -> tuple[tuple[str, str], ...]:
    """``"version=v2, team=pay"`` -> pairs; raises ValueError naming the bad part."""
    pairs = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        found = _LABEL_PAIR.match(part)
        if not found:
            raise ValueError(f"{part!r} is not key=value")
        pairs.append((found.group(1), found.group(2)))
    return tuple(pairs)


def format_labels(pairs: Sequence[tuple[str, str]]) -> str:
    return ", ".join(f"{k}={v}" for k, v in pairs)


def help_text(text: str) -> W.HTML:
    return W.HTML(f'<div class="ld-help">{html.escape(text)}</div>')


def heading(text: str) -> W.HTML:
    return W.HTML(f'<div class="ld-head">{html.escape(text)}</div>')


def labelled(text: str, widget: W.Widget, width: str = "90px") -> W.HBox:
    """``widget`` with a label on its left (ToggleButtons put their description above)."""
    label = W.Label(text, layout=W.Layout(width=width, justify_content="flex-end"))
    return W.HBox([label, widget], layout=W.Layout(align_items="center"))


def button(description: str, on_click: Callable[[], None], style: str = "",
           tooltip: str = "", width: str = "auto") -> W.Button:
    """A Button whose handler takes no argument."""
    b = W.Button(description=description, button_style=style, tooltip=tooltip,
                 layout=W.Layout(width=width))
    b.on_click(lambda _: on_click())
    return b


def css_name(*parts: str) -> str | None:
    """A CSS class for test hooks and styling, or None when a name is not CSS-safe."""
    name = "-".join(parts)
    return f"ld-{name}" if re.fullmatch(r"[a-z0-9][a-z0-9-]*", name) else None


def set_options(menu: W.Dropdown, options: Sequence, default: object = None) -> None:
    """New options for a Dropdown, keeping its value while it is still offered.

    Setting ``options`` alone resets the value to the first option: after adding or undoing
    a lane, pickers jumped back to the baseline. Call inside ``Panel.syncing()``.
    """
    keep = menu.value
    values = [o[1] if isinstance(o, tuple) else o for o in options]
    if tuple(menu.options) == tuple(options):
        return  # unchanged: nothing to send (a 1,000-service menu on every edit adds up)
    menu.options = options
    if keep in values:
        menu.value = keep
    elif default in values:
        menu.value = default
    else:
        menu.value = values[0] if values else None
