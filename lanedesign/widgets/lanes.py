"""Lanes: add, remove, rename; pod labels; baseline and mode; the membership grid; fallbacks."""

from __future__ import annotations

import html
from dataclasses import replace

import ipywidgets as W

from ..model import LaneDesign
from .common import (
    Panel,
    button,
    css_name,
    format_labels,
    heading,
    help_text,
    labelled,
    message,
    parse_labels,
    set_options,
)
from .state import DesignState

PAGE_SIZE = 20
LANE_PAGE_SIZE = 12  # lane columns at a time: a grid cell is a widget, and 50 lanes x 20
#                      services would be 1,000 of them to build (about 2 s) on every page turn
NO_OVERRIDE = ""  # the fallback dropdown's value for "the baseline"
MODE_HELP = {
    "loose": "loose: a lane holds only the services it changes; calls to the others fall back "
             "(to the baseline, or a service's fallback target) and return to the lane after.",
    "strict": "strict: every lane holds every service; there is no fallback.",
}


class LanesPanel(Panel):
    title = "Lanes"

    def __init__(self, state: DesignState) -> None:
        super().__init__(state)
        self.baseline = W.Dropdown(description="baseline", layout=W.Layout(width="230px"))
        self.baseline.observe(lambda c: self.edit(
            f"make {c.new} the baseline", lambda d: d.with_(baseline=c.new or "")), "value")
        self.mode = W.ToggleButtons(options=["loose", "strict"], style={"button_width": "70px"})
        self.mode.observe(lambda c: self.edit(
            f"switch to {c.new} mode", lambda d: d.with_(mode=c.new)), "value")
        self.mode_help = W.HTML()

        self.lane = W.Dropdown(description="lane", layout=W.Layout(width="230px"))
        self.lane.observe(lambda c: self._lane_picked(c.new), "value")
        self.lane.add_class("ld-lane-picker")  # one of the current lane's three pickers
        self.name = W.Text(description="name", continuous_update=False,
                           layout=W.Layout(width="220px"))
        self.rename = button("Rename", self._rename)
        self.labels = W.Text(description="pod labels", continuous_update=False,
                             placeholder="version=v2", layout=W.Layout(width="300px"))
        self.labels.observe(lambda c: self._set_labels(c.new), "value")
        self.remove = button("Remove lane", self._remove, "danger")
        self.new_name = W.Text(placeholder="new lane name", continuous_update=False,
                               layout=W.Layout(width="150px"))
        add = button("Add lane", self._add, "success", width="90px")
        # a lane no request can reach (LD509), and the rule that would reach it
        self.reach_note = W.HTML()
        self.reach_rule = button("", self._add_rule, "warning")
        self.reach = W.HBox([self.reach_note, self.reach_rule],
                            layout=W.Layout(align_items="center", flex_flow="row wrap",
                                            display="none"))

        self.filter = W.Text(placeholder="filter services", layout=W.Layout(width="200px"))
        self.filter.observe(lambda _: self._go(0), "value")
        self.page = 0
        self.prev = button("◀", lambda: self._go(self.page - 1), width="36px")
        self.next = button("▶", lambda: self._go(self.page + 1), width="36px")
        self.page_label = W.Label()
        self.lane_page = 0
        self.lane_prev = button("◀", lambda: self._go_lanes(self.lane_page - 1), width="36px")
        self.lane_next = button("▶", lambda: self._go_lanes(self.lane_page + 1), width="36px")
        self.lane_page_label = W.Label()
        self.grid = W.GridBox()
        self.grid.add_class("ld-grid")
        self._grid_key: tuple = ()
        self.checkboxes: dict[tuple[str, str], W.Checkbox] = {}  # (lane, service)
        self.fallbacks: dict[str, W.Dropdown] = {}  # service -> fallback target

        self.widget = W.VBox([
            W.HBox([self.baseline, labelled("mode", self.mode, "40px")],
                   layout=W.Layout(align_items="center")),
            self.mode_help,
            heading("Lane"),
            W.HBox([self.lane, self.name, self.rename, self.labels, self.remove],
                   layout=W.Layout(flex_flow="row wrap")),
            W.HBox([self.new_name, add], layout=W.Layout(margin="0 0 0 90px")),
            self.reach,
            heading("Which services each lane holds"),
            help_text("Tick a service to give the lane its own version of it. Unticked services "
                      "are served by the fallback target (the baseline unless the row names "
                      "another lane)."),
            W.HBox([self.filter, self.prev, self.page_label, self.next,
                    self.lane_prev, self.lane_page_label, self.lane_next],
                   layout=W.Layout(align_items="center")),
            self.grid,
        ])

    # -- drawing ------------------------------------------------------------------------------
    def refresh(self) -> None:
        super().refresh()
        design = self.state.design
        lanes = list(dict.fromkeys(design.lane_names))
        with self.syncing():
            missing = [] if design.baseline in lanes else [("(none)", "")]
            self.baseline.options = missing + [(n, n) for n in lanes]
            self.baseline.value = design.baseline if design.baseline in lanes else ""
            if design.mode in ("loose", "strict"):
                self.mode.value = design.mode
            set_options(self.lane, lanes)
            if self.state.current_lane in lanes:
                self.lane.value = self.state.current_lane
        self.mode_help.value = f'<div class="ld-help">{MODE_HELP.get(design.mode, "")}</div>'
        self._show_lane()
        self._draw_grid()

    def follow_lane(self) -> None:
        """The current lane changed in another view: pick it here too."""
        if self.stale:
            return  # drawn from the state when the tab is opened
        with self.syncing():
            if self.state.current_lane in self.lane.options:
                self.lane.value = self.state.current_lane
        self._show_lane()

    def _lane_picked(self, lane: str | None) -> None:
        if not self._syncing and not self.state.choose_lane(lane):
            self._show_lane()  # already current (the views follow through the state)

    def _show_lane(self) -> None:
        lane = self.state.design.lane(self.lane.value)
        with self.syncing():
            for w in (self.name, self.rename, self.labels, self.remove):
                w.disabled = lane is None
            self.name.value = lane.name if lane else ""
            self.labels.value = format_labels(lane.labels) if lane else ""
        self._show_reach(lane.name if lane else None)

    def _show_reach(self, lane: str | None) -> None:
        """Say when no request can reach ``lane``, and offer the rule that would."""
        design = self.state.design
        unreached = lane is not None and lane in self.state.unreached_lanes
        self.reach.layout.display = "" if unreached else "none"
        if not unreached:
            return
        reached = design.with_rule_for_lane(lane)  # type: ignore[arg-type]
        ingress = design.ingress
        default = f"the default lane {ingress.default}" if ingress and ingress.default \
            else "nowhere (HTTP 404)"
        if reached != design:
            why = (f"No request can reach lane {lane}: no ingress rule sends to it, so "
                   f"requests with {design.route_header}: {lane} go to {default}.")
        elif ingress is not None and ingress.strategy == "weighted":
            why = (f"No request can reach lane {lane}: the gateway splits by weight and "
                   f"{lane} has weight 0 (give it a share in the Ingress tab).")
        else:
            why = f"No request can reach lane {lane} (LD509): see the Ingress tab."
        self.reach_note.value = message(why, "warning")
        self.reach_rule.layout.display = "" if reached != design else "none"
        self.reach_rule.description = f"Add rule: {design.route_header}: {lane} → {lane}"

    def _add_rule(self) -> None:
        lane = self.lane.value
        if lane:
            self.edit(f"add an ingress rule for {lane}", lambda d: d.with_rule_for_lane(lane))

    def page_services(self) -> tuple[list[str], int]:
        """The services on the current grid page, and the number of pages."""
        text = self.filter.value.strip().lower()
        names = [n for n in dict.fromkeys(self.state.design.service_names) if text in n.lower()]
        pages = max((len(names) + PAGE_SIZE - 1) // PAGE_SIZE, 1)
        self.page = min(max(self.page, 0), pages - 1)
        return names[self.page * PAGE_SIZE:(self.page + 1) * PAGE_SIZE], pages

    def page_lanes(self) -> tuple[list[str], int]:
        """The lane columns on the current lane page, and the number of lane pages."""
        lanes = list(dict.fromkeys(self.state.design.lane_names))
        pages = max((len(lanes) + LANE_PAGE_SIZE - 1) // LANE_PAGE_SIZE, 1)
        self.lane_page = min(max(self.lane_page, 0), pages - 1)
        start = self.lane_page * LANE_PAGE_SIZE
        return lanes[start:start + LANE_PAGE_SIZE], pages

    def _go(self, page: int) -> None:
        self.page = page
        self._draw_grid()

    def _go_lanes(self, page: int) -> None:
        self.lane_page = page
        self._draw_grid()

    def _draw_grid(self) -> None:
        design = self.state.design
        services, pages = self.page_services()
        lanes, lane_pages = self.page_lanes()
        self.page_label.value = f"page {self.page + 1} of {pages}"
        self.prev.disabled, self.next.disabled = self.page == 0, self.page >= pages - 1
        for w in (self.prev, self.page_label, self.next):
            w.layout.display = "none" if pages == 1 else ""
        first = self.lane_page * LANE_PAGE_SIZE
        total = len(dict.fromkeys(design.lane_names))
        self.lane_page_label.value = f"lanes {first + 1}-{first + len(lanes)} of {total}"
        self.lane_prev.disabled = self.lane_page == 0
        self.lane_next.disabled = self.lane_page >= lane_pages - 1
        for w in (self.lane_prev, self.lane_page_label, self.lane_next):
            w.layout.display = "none" if lane_pages == 1 else ""
        key = (tuple(services), tuple(lanes), design.baseline)
        if key != self._grid_key:
            self._build_grid(services, lanes)
            self._grid_key = key
        with self.syncing():
            for (lane, service), box in self.checkboxes.items():
                found = design.lane(lane)
                box.value = bool(found and found.holds(service))
            for service, menu in self.fallbacks.items():
                menu.options = _fallback_options(design, service)
                menu.value = design.fallback_map.get(service, NO_OVERRIDE)
                menu.disabled = design.mode == "strict"

    def _build_grid(self, services: list[str], lanes: list[str]) -> None:
        design = self.state.design
        cells: list[W.Widget] = [_cell("service", "ld-grid-head")]
        for lane in lanes:
            star = " ★" if lane == design.baseline else ""
            cells.append(_cell(lane + star, "ld-grid-head ld-center",
                               f"lane {lane}{star and ' (baseline)'}"))
        cells.append(_cell("fallback target", "ld-grid-head"))
        cells[-1].add_class("ld-fallback-col")
        for head in cells:  # the header row stays in view while the grid scrolls
            head.add_class("ld-grid-top")
        cells[0].add_class("ld-service-col")  # the names stay in view scrolled sideways
        self.checkboxes, self.fallbacks = {}, {}
        # one Layout for every box of the grid: a layout is a widget of its own, and sharing
        # it halves what the grid creates (the browser applies it to each box alike)
        box_layout = W.Layout(width="28px")
        for service in services:
            cells.append(_cell(service, "ld-grid-name", service))
            cells[-1].add_class("ld-service-col")
            for lane in lanes:
                found = design.lane(lane)
                hook = css_name("member", lane, service)
                box = W.Checkbox(value=bool(found and found.holds(service)), indent=False,
                                 layout=box_layout, _dom_classes=(hook,) if hook else ())
                box.observe(lambda c, lane=lane, service=service: self._member(lane, service,
                                                                                c.new), "value")
                self.checkboxes[(lane, service)] = box
                cells.append(box)
            menu = W.Dropdown(layout=W.Layout(width="150px"))
            menu.add_class("ld-fallback-col")  # stays on screen when many lanes scroll
            menu.observe(lambda c, service=service: self._fallback(service, c.new), "value")
            self.fallbacks[service] = menu
            cells.append(menu)
        self.grid.children = cells
        # a column as wide as its lane's name (within reason); long names end in an ellipsis
        widths = [8 * (len(lane) + 2 * (lane == design.baseline)) + 20 for lane in lanes]
        columns = " ".join(f"{min(max(w, 44), 120)}px" for w in widths)
        self.grid.layout = W.Layout(
            grid_template_columns=f"170px {columns} 160px", overflow="auto",
            grid_gap="0px 4px", align_items="center")

    # -- edits --------------------------------------------------------------------------------
    def _member(self, lane: str, service: str, member: bool) -> None:
        verb = "tick" if member else "untick"
        self.edit(f"{verb} {service} in {lane}",
                  lambda d: d.with_membership(lane, service, member))

    def _fallback(self, service: str, lane: str | None) -> None:
        target = lane or None
        what = (f"fall back to {target} for {service}" if target
                else f"fall back to the baseline for {service}")
        self.edit(what, lambda d: d.with_fallback(service, target))

    def _set_labels(self, text: str) -> None:
        lane = self.state.design.lane(self.lane.value)
        if lane is None or self._syncing:
            return
        try:
            labels = parse_labels(text)
        except ValueError as exc:
            self.state.say(f"pod labels: {exc}; write key=value, key=value")
            return
        self.edit(f"set the pod labels of {lane.name}",
                  lambda d: d.with_lane(replace(lane, labels=labels)))

    def _rename(self) -> None:
        old, new = self.lane.value, self.name.value.strip()
        if old and new and new != old:  # the current lane follows the rename (DesignState)
            self.state.edit(f"rename lane {old} to {new}", lambda d: d.rename_lane(old, new))

    def _add(self) -> None:
        name = self.new_name.value.strip()
        if not name:
            self.state.say("type a name for the new lane first")
        elif self.state.design.lane(name) is not None:
            self.state.say(f"there is already a lane {name!r}")
        elif self.state.edit(f"add lane {name}", lambda d: add_lane(d, name), lane=name):
            self.new_name.value = ""  # the new lane is current in every view now

    def _remove(self) -> None:
        lane = self.lane.value
        if lane:
            self.edit(f"remove lane {lane}", lambda d: d.without_lane(lane))


def add_lane(design: LaneDesign, name: str) -> LaneDesign:
    """``LaneDesign.add_lane`` (kept here for callers of the widget module)."""
    return design.add_lane(name)


def _fallback_options(design: LaneDesign, service: str) -> list[tuple[str, str]]:
    baseline = design.baseline or "none set"
    options = [(f"baseline ({baseline})", NO_OVERRIDE)]
    options += [(lane.name, lane.name) for lane in design.lanes
                if lane.name != design.baseline and lane.holds(service)]
    current = design.fallback_map.get(service)
    if current and current not in {v for _, v in options}:
        options.append((f"{current} (lacks it)", current))
    return options


def _cell(text: str, css: str, tooltip: str = "") -> W.HTML:
    title = f' title="{html.escape(tooltip)}"' if tooltip else ""
    return W.HTML(f'<div class="{css}"{title}>{html.escape(text)}</div>')

