"""Emitters: a design in, plain Kubernetes objects (dicts) out, one module per target.

``emit(design, target)`` is the single entry point; each target module defines a ``TARGET``
(``target.py``) listed by ``registry.py``. Emitters assume a design the validator accepts
(callers validate first) and raise ``TargetError`` for what a target cannot express.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# the YAML text of manifests lives in the codec; these names stay importable from here for
# code written before it moved (the emitters themselves never use them)
from ..codec import dump_manifests, manifest_header, object_filename
from ..model import LaneDesign
from . import registry
from .common import TargetError
from .target import ReadResult, Target

__all__ = ["ReadResult", "Target", "TargetError", "dump_manifests", "emit", "manifest_header",
           "object_filename"]


def emit(design: LaneDesign, target: str, full_routes: bool = False,
         with_gateway: bool = False) -> list[dict]:
    """The manifests for ``target`` (a registered name: ``istio``, ``asm``, ``gateway-api``),
    in apply order.

    Options, for a target that offers them (``Target.options``); others ignore them:
    ``full_routes`` (Istio) a route for every lane in every VirtualService, even where the
    default route already serves the lane; ``with_gateway`` (Istio, Gateway API) also the
    Gateway the ingress names, which a stock mesh does not have.
    """
    found = registry.target(target)
    asked = {"full_routes": full_routes, "with_gateway": with_gateway}
    options = {name: value for name, value in asked.items() if name in found.options}
    with collector_paused():
        return found.emit(design, **options)


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
