"""What the designer holds: the current design, the designs before it, and its findings.

Panels never change the design in place: they hand ``edit`` a pure model edit
(``design.with_...``); the state keeps the old design for undo, validates the new one and
tells every listener.
"""

from __future__ import annotations

from collections.abc import Callable

from ..findings import Finding, has_errors
from ..model import LaneDesign
from ..validate import validate

Listener = Callable[[], None]
HISTORY_LIMIT = 200


class DesignState:
    """The design being edited, its undo history and its current findings."""

    def __init__(self, design: LaneDesign) -> None:
        self.design = design
        self.history: list[tuple[LaneDesign, str]] = []  # (design before, what the edit did)
        self.future: list[tuple[LaneDesign, str]] = []  # undone edits: (design after, what)
        self.findings: list[Finding] = validate(design)
        self.notice = ""  # a message for the user about the last action (e.g. a refused edit)
        self._listeners: list[Listener] = []

    @property
    def has_errors(self) -> bool:
        return has_errors(self.findings)

    def on_change(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def edit(self, what: str, change: Callable[[LaneDesign], LaneDesign]) -> bool:
        """Apply ``change`` to the design; ``what`` names the edit (shown by Undo).

        An edit the model refuses (e.g. a lane that no longer exists) becomes a notice,
        not an exception; an edit that changes nothing is not recorded.
        """
        try:
            new = change(self.design)
        except (KeyError, ValueError, TypeError) as exc:
            self.notice = f"could not {what}: {exc}"
            self._tell()
            return False
        if new == self.design:
            return False
        self.history.append((self.design, what))
        del self.history[:-HISTORY_LIMIT]
        self.future.clear()  # a new edit forks history: what was undone cannot come back
        self._set(new, "")
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
        design, what = self.history.pop()
        self.future.append((self.design, what))
        self._set(design, f"undid: {what}")
        return True

    def redo(self) -> bool:
        """Make the last undone edit again."""
        if not self.future:
            self.notice = "nothing to redo"
            self._tell()
            return False
        design, what = self.future.pop()
        self.history.append((self.design, what))
        self._set(design, f"redid: {what}")
        return True

    @property
    def next_redo(self) -> str | None:
        return self.future[-1][1] if self.future else None

    @property
    def last_edit(self) -> str | None:
        return self.history[-1][1] if self.history else None

    def say(self, notice: str) -> None:
        """Show ``notice`` to the user without changing the design."""
        self.notice = notice
        self._tell()

    def _set(self, design: LaneDesign, notice: str) -> None:
        self.design = design
        self.findings = validate(design)
        self.notice = notice
        self._tell()

    def _tell(self) -> None:
        for listener in self._listeners:
            listener()
