"""The designer itself, in-process and without a browser: opening it, and one edit.

Widgets here are ipywidgets models with no front end attached, so what is timed is the
Python side a kernel runs: building every tab's widgets and drawing its content (HTML, SVG,
tables), which is what makes a user wait before the browser gets anything to show.
"""

from __future__ import annotations

from dataclasses import replace

from lanedesign import routing_table, simulate, validate
from lanedesign.emit import emit
from lanedesign.model import LaneDesign

from .timing import Budget, Metric, measure


def designer_metrics(design: LaneDesign, budget: Budget) -> list[Metric]:
    """``designer_open`` (every tab drawn) and ``designer_edit`` (tick a member)."""
    from lanedesign.widgets import Designer
    from lanedesign.widgets import export as export_tab

    def open_all() -> object:
        # a new design object, as a fresh session has: nothing it computed before is kept
        fresh = replace(design)
        export_tab._last.clear()
        designer = Designer(fresh)
        for panel in designer.panels:
            designer.show(panel)
        return designer

    def core() -> object:
        fresh = replace(design)
        lane = fresh.lanes[-1].name
        return (validate(fresh), routing_table(fresh), simulate(fresh, lane=lane),
                emit(fresh, "istio"))

    opened = measure("designer_open", open_all, core,
                     "the core passes the tabs show (validate, routing table, one request, "
                     "Istio objects), with no widgets", budget,
                     {"tabs": [p.title for p in Designer(design).panels]})

    designer = Designer(design)
    lanes = designer.show(designer.lanes)
    (lane, service), box = next(((key, box) for key, box in lanes.checkboxes.items()
                                 if not box.value), next(iter(lanes.checkboxes.items())))
    state = designer.state

    def tick() -> None:
        box.value = not box.value  # tick, then untick: each an edit with undo

    def floor() -> None:
        validate(state.design.with_membership(lane, service, not box.value))

    edited = measure("designer_edit", tick, floor,
                     "validating the edited design (what any edit must do)", budget,
                     {"edit": f"tick {service} in lane {lane}", "visible_tab": "Lanes"})
    return [opened, edited]
