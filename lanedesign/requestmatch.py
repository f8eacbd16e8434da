"""What a request is matched by: Istio's StringMatch and the HTTPMatchRequest parts lanes use.

The types only; ``matching`` evaluates them. A leaf below the model, so that a team's routing
(``routing``) can hold matches too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace


def pairs(value: Mapping[str, object] | Iterable[tuple[str, object]] | None) -> tuple:
    """Freeze a mapping (or pairs) into a tuple of pairs, keeping the caller's order."""
    if value is None:
        return ()
    items = value.items() if isinstance(value, Mapping) else value
    return tuple((k, v) for k, v in items)


@dataclass(frozen=True)
class StringMatch:
    """One Istio StringMatch: ``exact``, ``prefix`` or ``regex`` (RE2, whole value)."""

    kind: str
    value: str


@dataclass(frozen=True)
class RequestMatch:
    """Conditions that must all hold (AND): an optional URI match and header matches."""

    uri: StringMatch | None = None
    headers: tuple[tuple[str, StringMatch], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "headers", pairs(self.headers))

    @property
    def header_map(self) -> dict[str, StringMatch]:
        return dict(self.headers)

    @property
    def is_catch_all(self) -> bool:
        """True when every request matches (no headers, URI absent or prefix ``/``/empty)."""
        if self.headers:
            return False
        uri = self.uri
        return uri is None or (uri.kind == "prefix" and uri.value in ("", "/"))

    def with_header(self, name: str, match: StringMatch) -> RequestMatch:
        """One more header condition, last."""
        return replace(self, headers=(*self.headers, (name, match)))

    def without_header(self, index: int) -> RequestMatch | None:
        """Header condition ``index`` removed; ``None`` when no condition is left (a rule
        without a match matches every request)."""
        headers = tuple(h for i, h in enumerate(self.headers) if i != index)
        return replace(self, headers=headers) if self.uri or headers else None
