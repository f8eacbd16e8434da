"""Istio's request matching, as the gateway evaluates an ingress rule (``istio-semantics.md`` §1).

Values are case-sensitive; ``regex`` is RE2 matched against the whole value; all conditions of
one match must hold; a request without the header does not match a header condition.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import re2

from .model import RequestMatch, StringMatch

MAX_REGEX = 1024  # Istio's webhook limit


@lru_cache(maxsize=4096)
def compile_regex(pattern: str) -> re2._Regexp:
    """Compile RE2 once; raises ``re2.error`` for a pattern RE2 rejects."""
    return re2.compile(pattern)


def regex_problem(pattern: str) -> str | None:
    """Why Istio would reject ``pattern`` as a StringMatch regex, or ``None``."""
    if not pattern:
        return "an empty regex"
    if len(pattern) > MAX_REGEX:
        return f"a regex of {len(pattern)} characters (Istio allows {MAX_REGEX})"
    try:
        compile_regex(pattern)
    except re2.error as exc:
        return f"not an RE2 regex ({exc})"
    return None


def string_matches(match: StringMatch, value: str | None) -> bool:
    if value is None:
        return False
    if match.kind == "exact":
        return value == match.value
    if match.kind == "prefix":
        return value.startswith(match.value)
    try:
        return compile_regex(match.value).fullmatch(value) is not None
    except re2.error:
        return False  # the validator reports it; an invalid regex matches nothing


def request_matches(match: RequestMatch | None, path: str, headers: Mapping[str, str]) -> bool:
    """Whether a request (path without query, lowercase header names) meets ``match``."""
    if match is None:
        return True
    if match.uri is not None and not string_matches(match.uri, path):
        return False
    return all(string_matches(m, headers.get(name.lower())) for name, m in match.headers)


def string_covers(wider: StringMatch, narrower: StringMatch) -> bool:
    """True only when every value ``narrower`` matches is matched by ``wider`` (conservative)."""
    if wider == narrower:
        return True
    if wider.kind == "regex" and wider.value == ".*":
        return True
    if wider.kind == "prefix" and narrower.kind in ("exact", "prefix"):
        return narrower.value.startswith(wider.value)
    if narrower.kind == "exact":
        return string_matches(wider, narrower.value)
    return False


def covers(earlier: RequestMatch | None, later: RequestMatch | None) -> bool:
    """True when every request ``later`` matches is matched by ``earlier`` (it shadows it)."""
    if earlier is None or earlier.is_catch_all:
        return True
    if later is None:
        return False
    uri = earlier.uri
    uri_is_wide = uri is None or (uri.kind == "prefix" and uri.value in ("", "/"))
    if not uri_is_wide and (later.uri is None or not string_covers(uri, later.uri)):
        return False
    later_headers = later.header_map
    return all(
        name in later_headers and string_covers(m, later_headers[name])
        for name, m in earlier.headers
    )


def disjoint(a: RequestMatch | None, b: RequestMatch | None) -> bool:
    """True only when no request meets both matches (a condition on one field excludes)."""
    if a is None or b is None:
        return False
    pairs = []
    if a.uri is not None and b.uri is not None:
        pairs.append((a.uri, b.uri))
    b_headers = b.header_map
    pairs += [(m, b_headers[name]) for name, m in a.headers if name in b_headers]
    return any(strings_disjoint(x, y) for x, y in pairs)


def strings_disjoint(x: StringMatch, y: StringMatch) -> bool:
    """True only when no value meets both (a regex against a prefix or regex: assume one does)."""
    if x.kind == "exact":
        return not string_matches(y, x.value)
    if y.kind == "exact":
        return not string_matches(x, y.value)
    if x.kind == y.kind == "prefix":
        return not (x.value.startswith(y.value) or y.value.startswith(x.value))
    return False
