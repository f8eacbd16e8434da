"""Emitters: a design in, plain Kubernetes objects (dicts) out, one module per target.

``emit(design, target)`` is the single entry point; each target module exposes
``emit_<target>(design) -> list[dict]``. Emitters assume a design the validator accepts
(callers validate first) and raise ``TargetError`` for what a target cannot express.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

from ..model import LaneDesign
from .common import TargetError
from .yamlout import dump_manifests, manifest_header, object_filename, write_manifests

TARGETS: tuple[str, ...] = ("istio", "asm")

__all__ = ["TARGETS", "TargetError", "dump_manifests", "emit", "manifest_header",
           "object_filename", "write_manifests"]


def emit(design: LaneDesign, target: str, full_routes: bool = False) -> list[dict]:
    """The manifests for ``target`` (``istio`` or ``asm``), in apply order.

    ``full_routes`` (Istio): a route for every lane in every VirtualService, even where the
    default route already serves the lane (see ``emit_istio``); ASM has no such choice.
    """
    if target == "istio":
        from .istio import emit_istio

        with collector_paused():
            return emit_istio(design, full_routes)
    if target == "asm":
        from .asm import emit_asm

        with collector_paused():
            return emit_asm(design)
    raise ValueError(f"unknown target {target!r}; known: {', '.join(TARGETS)}")


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
