"""The diagram's lane legend: a chip per lane while lanes are few; for many, a searchable
lane chooser (in place of the plain lane menu) and chips for just the lanes the diagram draws.

At 50 lanes a chip per lane filled ten rows and pushed the canvas below the fold. The chooser
is a Combobox: typing filters the lanes (the browser's own list), choosing one shows it the way
a clicked chip does (``on_pick``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import ipywidgets as W

from ..model import LaneDesign
from ..render import Diagram

CHIP_LANES = 8  # up to this many lanes every lane is a chip (two rows beside the tabs at most)


def _chip(design: LaneDesign, colours: Mapping[str, str], lane: str) -> list[str]:
    """One legend chip for the canvas: [lane, colour, text]."""
    return [lane, colours[lane], lane + (" (baseline)" if lane == design.baseline else "")]


class LaneLegend:
    """Chooses the legend's chips and keeps the lane chooser for many lanes."""

    def __init__(self, on_pick: Callable[[str], None], replaces: W.Widget | None = None) -> None:
        self.on_pick = on_pick
        self.replaces = replaces  # the plain lane menu, hidden while the chooser is shown
        self.find = W.Combobox(description="lane", placeholder="type to find a lane",
                               ensure_option=True, layout=W.Layout(width="200px"),
                               style={"description_width": "initial"})
        self.find.add_class("ld-lane-find")
        self.count = W.HTML()
        self.widget = W.HBox([self.find, self.count],
                             layout=W.Layout(align_items="center", display="none"))
        self.widget.add_class("ld-lane-chooser")
        self.find.observe(self._picked, "value")
        self._syncing = False
        self._current: str | None = None  # the lane last put in the chooser

    def chips(self, design: LaneDesign, colours: Mapping[str, str], current: str,
              diagram: Diagram) -> list[list[str]]:
        """The chips for the canvas: every lane when few; else the current lane, the
        baseline and the lanes ``diagram`` draws, in design order (the chooser finds the rest)."""
        drawn = {text.removesuffix(" (baseline)") for text, _ in diagram.swatches}
        drawn.update(diagram.lanes)
        lanes = list(dict.fromkeys(design.lane_names))
        many = len(lanes) > CHIP_LANES
        self.widget.layout.display = "" if many else "none"
        if self.replaces is not None:
            self.replaces.layout.display = "none" if many else ""
        self._syncing = True
        try:
            if tuple(self.find.options) != tuple(lanes):
                self.find.options = tuple(lanes)
            # only when the current lane changed: a redraw after an edit must not wipe what
            # someone is typing there
            if current != self._current:
                self.find.value = current if current in lanes else ""
                self._current = current
        finally:
            self._syncing = False
        if not many:
            return [_chip(design, colours, lane) for lane in lanes]
        keep = {current, design.baseline, *drawn}
        shown = [lane for lane in lanes if lane in keep]
        self.count.value = (f'<span class="ld-help" title="the legend shows the {len(shown)} '
                            f'lanes drawn">of {len(lanes)} lanes</span>')
        return [_chip(design, colours, lane) for lane in shown]

    def _picked(self, change: dict) -> None:
        if not self._syncing and change["new"] in self.find.options:
            self.on_pick(change["new"])
