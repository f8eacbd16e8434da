"""Request headers as the independent interpreters read them (Istio's and the Gateway API's).

Both read Envoy-based proxies, which treat header names case-insensitively and match a
repeated header on its lines joined with ','. Imports nothing from lanedesign.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

# A request's headers: lowercase name -> the values of each header line, in order.
Headers = dict[str, list[str]]


def headers_of(pairs: Mapping[str, str] | Iterable[tuple[str, str]]) -> Headers:
    """Header lines as ``Headers`` (names lowercased, repeated lines kept)."""
    items = pairs.items() if isinstance(pairs, Mapping) else pairs
    out: Headers = {}
    for name, value in items:
        out.setdefault(name.lower(), []).append(value)
    return out


def joined(headers: Headers, name: str) -> str | None:
    """What Envoy matches on: every value of the header joined with ',' (None if absent)."""
    values = headers.get(name.lower())
    return ",".join(values) if values else None
