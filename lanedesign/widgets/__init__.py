"""The notebook designer (ipywidgets): ``Designer(design)`` shows one tab per task.

Widgets hold a design and its history, turn user actions into model edits and redraw from
the core (validate, simulate, render); they hold no lane logic of their own.
"""

from __future__ import annotations

from .designer import Designer
from .state import DesignState

__all__ = ["DesignState", "Designer"]
