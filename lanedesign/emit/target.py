"""What a target is: the one value a target module exports as ``TARGET``.

A target (Istio, ASM, ...) is one module under ``lanedesign/emit/`` that states, in one
``Target``, everything the rest of lanedesign needs to know about it: its name and label,
the kinds it makes (and which of them route), every design it refuses (``problems``), how it
emits a design and, where it can, how it reads its objects back into a design. The registry
(``registry.py``) lists them; validate, the cluster planner and client, the CLI and the
designer derive their tables from it, so none of them names a target.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..findings import Finding
from ..model import LaneDesign


@dataclass(frozen=True)
class ReadResult:
    """A design read back from a target's objects (``None``: nothing readable), what was
    assumed on the way (notes), and what could not be read (findings)."""

    design: LaneDesign | None
    notes: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()


@dataclass(frozen=True)
class Target:
    """One target: everything the rest of lanedesign knows about it."""

    name: str  # the --target value: "istio", "asm"
    label: str  # for people: "Istio", "Alibaba Cloud ASM"
    kinds: tuple[tuple[str, str], ...]  # (apiVersion, kind) it makes, in apply order
    # kinds that route requests: applied after the objects they point at, removed before
    routing_kinds: frozenset[str]
    install_hint: dict[str, str]  # API group -> what to install when a cluster lacks it
    # every reason the target cannot express a design (all of them, coded); it may assume a
    # design the validator accepts (no errors), as ``emit`` does
    problems: Callable[[LaneDesign], list[Finding]]
    emit: Callable[[LaneDesign], list[dict]]  # plain dicts in apply order; pure
    read: Callable[[list[dict]], ReadResult] | None = None  # objects -> design, if supported
    # keyword options ``emit`` also takes (``full_routes``: Istio's every-lane routes;
    # ``with_gateway``: the Gateway the ingress names)
    options: frozenset[str] = frozenset()

    @property
    def api_groups(self) -> tuple[str, ...]:
        """The API groups of its kinds, in order of first use (``networking.istio.io``)."""
        return tuple(dict.fromkeys(api.rpartition("/")[0] for api, _ in self.kinds))
