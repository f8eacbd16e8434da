"""Emitters: a design in, plain Kubernetes objects (dicts) out, one module per target.

``emit(design, target)`` is the single entry point; each target module defines a ``TARGET``
(``target.py``) listed by ``registry.py``. Emitters assume a design the validator accepts
(callers validate first) and raise ``TargetError`` for what a target cannot express.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

from ..model import LaneDesign
from . import registry
from .common import TargetError
from .target import ReadResult, Target
from .yamlout import dump_manifests, manifest_header, object_filename, write_manifests

__all__ = ["ReadResult", "Target", "TargetError", "dump_manifests", "emit", "manifest_header",
           "object_filename", "write_manifests"]


def emit(design: LaneDesign, target: str) -> list[dict]:
    """The manifests for ``target`` (a registered name: ``istio``, ``asm``, ``gateway-api``),
    in apply order."""
    emitter = registry.target(target).emit
    with collector_paused():
        return emitter(design)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a burst of allocation, then restore it.

    An emitter builds millions of small dicts for a large mesh (5,000 services x 100 lanes)
    and keeps them all; the collector would traverse that growing heap again and again (most
    of the emit time, measured by ``benchmarks``) to find nothing, as the objects form trees
    without reference cycles. Plain reference counting still frees everything as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
