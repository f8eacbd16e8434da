"""Built-in example designs (the same files as the checkout's ``examples/``)."""

from __future__ import annotations

from pathlib import Path

from ..designfile import load_design
from ..model import LaneDesign

FOLDER = Path(__file__).parent


def names() -> list[str]:
    """The example names, e.g. ``mock-baggage`` or ``shop``."""
    return sorted(p.stem for p in FOLDER.glob("*.yaml"))


def path(name: str) -> Path:
    return FOLDER / f"{name}.yaml"


def load(name: str) -> LaneDesign:
    """A built-in example as a design; raises ``KeyError`` for an unknown name."""
    if name not in names():
        raise KeyError(f"no example {name!r}; known: {', '.join(names())}")
    loaded = load_design(path(name))
    if loaded.design is None:  # the examples are tested to load; this guards a broken install
        raise ValueError(f"example {name!r} does not load: {loaded.findings}")
    return loaded.design
