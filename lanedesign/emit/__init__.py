"""Emitters: a design in, plain Kubernetes objects (dicts) out, one module per target.

``emit(design, target)`` is the single entry point; each target module exposes
``emit_<target>(design) -> list[dict]``. Emitters assume a design the validator accepts
(callers validate first) and raise ``TargetError`` for what a target cannot express.
"""

from __future__ import annotations

from ..model import LaneDesign
from .common import TargetError
from .yamlout import dump_manifests, object_filename

TARGETS: tuple[str, ...] = ("istio", "asm")

__all__ = ["TARGETS", "TargetError", "dump_manifests", "emit", "object_filename"]


def emit(design: LaneDesign, target: str) -> list[dict]:
    """The manifests for ``target`` (``istio`` or ``asm``), in apply order."""
    if target == "istio":
        from .istio import emit_istio

        return emit_istio(design)
    if target == "asm":
        from .asm import emit_asm

        return emit_asm(design)
    raise ValueError(f"unknown target {target!r}; known: {', '.join(TARGETS)}")
