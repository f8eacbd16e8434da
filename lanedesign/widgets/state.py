"""What the designer holds: the current design, the designs before it, its findings, and the
current lane.

Panels never change the design in place: they hand ``edit`` a pure model edit
(``design.with_...``); the state keeps the old design for undo, validates the new one and
tells every listener.

The current lane is held here once: the Lanes tab's picker, the diagram's lane (and its
legend) and the Request tab's "as lane" all show it and set it through ``choose_lane``. Edits
keep it: a lane just added becomes current, a rename of it follows the rename, removing it
falls back to the baseline, and undo and redo take it back with the edit they undo.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..findings import Finding, has_errors
from ..model import LaneDesign
from ..validate import validate

Listener = Callable[[], None]
HISTORY_LIMIT = 200


@dataclass(frozen=True)
class Step:
    """One edit in the history: the design on the far side of it, what it did, and the
    current lane before and after it (so undo and redo take the lane back too)."""

    design: LaneDesign
    what: str
    lane_before: str | None
    lane_after: str | None


def first_lane(design: LaneDesign) -> str | None:
    """The lane a design opens on: its first test lane, else the baseline, else none."""
    lanes = list(dict.fromkeys(n for n in design.lane_names if n))
    return next((n for n in lanes if n != design.baseline), lanes[0] if lanes else None)


def followed_lane(old: LaneDesign, new: LaneDesign, lane: str | None) -> str | None:
    """Where the current ``lane`` is after an edit from ``old`` to ``new``.

    Kept while it exists; a lane the edit added becomes current (one new name, none gone);
    a renamed lane is followed (its name gone, one new name in its place); a removed lane
    gives way to the baseline; another design (a loaded file) opens on its first lane.
    """
    before, after = list(old.lane_names), list(new.lane_names)
    gone = [n for n in before if n not in after]
    added = [n for n in after if n not in before]
    if len(added) == 1 and not gone:
        return added[0]
    if lane in after:
        return lane
    if len(added) == 1 and gone == [lane] and before.index(lane) == after.index(added[0]):
        return added[0]  # a rename keeps the lane's place in the list
    if old.name != new.name:
        return first_lane(new)
    return new.baseline if new.baseline in after else first_lane(new)


class DesignState:
    """The design being edited, its undo history and its current findings."""

    def __init__(self, design: LaneDesign) -> None:
        self.design = design
        self.history: list[Step] = []  # each with the design before the edit
        self.future: list[Step] = []  # undone edits, each with the design after it
        self.findings: list[Finding] = validate(design)
        self.notice = ""  # a message for the user about the last action (e.g. a refused edit)
        self.current_lane: str | None = first_lane(design)
        self._listeners: list[Listener] = []
        self._lane_listeners: list[Listener] = []

    @property
    def has_errors(self) -> bool:
        return has_errors(self.findings)

    def on_change(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def on_lane(self, listener: Listener) -> None:
        """``listener()`` runs when the user chooses another current lane (an edit that
        moves it tells the ``on_change`` listeners instead, which redraw everything)."""
        self._lane_listeners.append(listener)

    def choose_lane(self, lane: str | None) -> bool:
        """Make ``lane`` the current lane of every view; False if it is no lane or already
        current."""
        if lane == self.current_lane or lane not in self.design.lane_names:
            return False
        self.current_lane = lane
        for listener in self._lane_listeners:
            listener()
        return True

    @property
    def unreached_lanes(self) -> tuple[str, ...]:
        """Lanes no ingress rule, weight or default sends a request into (LD509)."""
        return self.design.lanes_not_entered

    def edit(self, what: str, change: Callable[[LaneDesign], LaneDesign],
             lane: str | None = None) -> bool:
        """Apply ``change`` to the design; ``what`` names the edit (shown by Undo).

        An edit the model refuses (e.g. a lane that no longer exists) becomes a notice,
        not an exception; an edit that changes nothing is not recorded. ``lane``, if given,
        is the current lane after it (else ``followed_lane`` says).
        """
        try:
            new = change(self.design)
        except (KeyError, ValueError, TypeError) as exc:
            self.notice = f"could not {what}: {exc}"
            self._tell()
            return False
        if new == self.design:
            return False
        before = self.current_lane
        after = lane if lane in new.lane_names else followed_lane(self.design, new, before)
        self.history.append(Step(self.design, what, before, after))
        del self.history[:-HISTORY_LIMIT]
        self.future.clear()  # a new edit forks history: what was undone cannot come back
        self._set(new, "", after)
        return True

    def replace(self, design: LaneDesign, what: str) -> bool:
        """Swap in a whole design (a loaded file, an example) as one undoable edit."""
        return self.edit(what, lambda _: design)

    def undo(self) -> bool:
        """Go back to the design before the last edit."""
        if not self.history:
            self.notice = "nothing to undo"
            self._tell()
            return False
        step = self.history.pop()
        self.future.append(Step(self.design, step.what, step.lane_before, step.lane_after))
        self._set(step.design, f"undid: {step.what}",
                  self._lane_back(step.design, step.lane_after, step.lane_before))
        return True

    def redo(self) -> bool:
        """Make the last undone edit again."""
        if not self.future:
            self.notice = "nothing to redo"
            self._tell()
            return False
        step = self.future.pop()
        self.history.append(Step(self.design, step.what, step.lane_before, step.lane_after))
        self._set(step.design, f"redid: {step.what}",
                  self._lane_back(step.design, step.lane_before, step.lane_after))
        return True

    def _lane_back(self, design: LaneDesign, left: str | None, back: str | None) -> str | None:
        """The current lane after undoing (or redoing) a step that moved it ``back`` ->
        ``left``: ``back`` again, unless the user has chosen another lane since that still
        exists."""
        current = self.current_lane
        if current != left and current in design.lane_names:
            return current
        if back in design.lane_names:
            return back
        return followed_lane(self.design, design, current)

    @property
    def next_redo(self) -> str | None:
        return self.future[-1].what if self.future else None

    @property
    def last_edit(self) -> str | None:
        return self.history[-1].what if self.history else None

    def say(self, notice: str) -> None:
        """Show ``notice`` to the user without changing the design."""
        self.notice = notice
        self._tell()

    def _set(self, design: LaneDesign, notice: str, lane: str | None) -> None:
        self.design = design
        self.findings = validate(design)
        self.notice = notice
        self.current_lane = lane
        self._tell()

    def _tell(self) -> None:
        for listener in self._listeners:
            listener()
