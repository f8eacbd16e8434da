"""The targets lanedesign knows, by name: the one place a target is listed.

Everything that used to repeat target knowledge (validate's ``--target`` choices, the
cluster planner's kind tables, the client's install hints, the designer's target buttons)
asks this registry. Adding a target: write ``emit/<name>.py`` with a ``TARGET``, add it to
``_BUILT_IN`` below, and give it tests and a page in ``docs/`` (``docs/architecture.md``).
"""

from __future__ import annotations

from . import asm, gateway_api, istio
from .target import Target

_BUILT_IN: tuple[Target, ...] = (istio.TARGET, asm.TARGET, gateway_api.TARGET)
_REGISTRY: dict[str, Target] = {t.name: t for t in _BUILT_IN}


def targets() -> tuple[Target, ...]:
    """Every registered target, built-in ones first, in registration order."""
    return tuple(_REGISTRY.values())


def names() -> tuple[str, ...]:
    """The registered targets' names: the ``--target`` choices."""
    return tuple(_REGISTRY)


def target(name: str) -> Target:
    """The target called ``name``; ``ValueError`` naming the known ones otherwise."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown target {name!r}; known: {', '.join(_REGISTRY)}") from None


def register(new: Target) -> Target:
    """Add ``new`` (or replace the target of the same name); returns it."""
    _REGISTRY[new.name] = new
    return new


def unregister(name: str) -> None:
    """Remove the target called ``name`` (tests that registered a throwaway one)."""
    _REGISTRY.pop(name, None)


def group_kinds() -> dict[str, tuple[tuple[str, str], ...]]:
    """API group -> the (apiVersion, kind) pairs some target makes in it, without repeats."""
    out: dict[str, dict[tuple[str, str], None]] = {}
    for t in _REGISTRY.values():
        for api_version, kind in t.kinds:
            out.setdefault(api_version.rpartition("/")[0], {})[(api_version, kind)] = None
    return {group: tuple(kinds) for group, kinds in out.items()}


def routing_kinds() -> frozenset[str]:
    """The kinds that route requests, in any target."""
    return frozenset().union(*(t.routing_kinds for t in _REGISTRY.values()))


def install_hints() -> dict[str, str]:
    """API group -> what to install when a cluster does not serve it."""
    hints: dict[str, str] = {}
    for t in _REGISTRY.values():
        for group, hint in t.install_hint.items():
            hints.setdefault(group, hint)
    return hints
