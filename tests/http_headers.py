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


def app_copies(received: Headers, names: Iterable[str], forwards: Iterable[str] | None,
               propagates: bool, *, first_line: bool = True) -> Headers:
    """What an app puts on its outbound calls of the headers ``names`` it received: nothing
    if it drops the context; else those on its ``forwards`` list (all when it has none). An
    OpenTelemetry app carries on only the first line of a repeated header (``first_line``)."""
    if not propagates:
        return {}
    allowed = None if forwards is None else set(forwards)
    return {h: received[h][:1] if first_line else list(received[h]) for h in names
            if h in received and (allowed is None or h in allowed)}
