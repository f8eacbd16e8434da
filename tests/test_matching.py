"""Istio's request matching, one case per line: match, request -> matches or not."""

from __future__ import annotations

import pytest

from lanedesign.matching import (
    MAX_REGEX,
    covers,
    regex_problem,
    request_matches,
    string_covers,
    string_matches,
)
from lanedesign.model import RequestMatch, StringMatch


def sm(kind: str, value: str) -> StringMatch:
    return StringMatch(kind, value)


@pytest.mark.parametrize(("match", "value", "expected"), [
    (sm("exact", "s2"), "s2", True),
    (sm("exact", "s2"), "S2", False),  # case-sensitive
    (sm("exact", "s2"), None, False),  # no header: no match
    (sm("prefix", "/api"), "/api/v1", True),
    (sm("prefix", "/api"), "/ap", False),
    (sm("regex", "s[0-9]"), "s7", True),
    (sm("regex", "s[0-9]"), "xs7", False),  # the whole value
    (sm("regex", "("), "(", False),  # an invalid regex matches nothing
])
def test_string_matches(match, value, expected):
    assert string_matches(match, value) is expected


def test_all_conditions_must_hold_and_header_names_are_lowercase():
    match = RequestMatch(uri=sm("prefix", "/shop"), headers=(("X-User", sm("exact", "a")),))
    assert request_matches(match, "/shop/cart", {"x-user": "a"})
    assert not request_matches(match, "/shop/cart", {"x-user": "b"})
    assert not request_matches(match, "/other", {"x-user": "a"})
    assert request_matches(None, "/anything", {})


@pytest.mark.parametrize(("pattern", "problem"), [
    ("s[0-9]+", None),
    ("", "an empty regex"),
    ("a" * (MAX_REGEX + 1), f"a regex of {MAX_REGEX + 1} characters"),
    ("(?<=a)b", "not an RE2 regex"),  # look-behind: RE2 has none
])
def test_regex_problems_are_what_istio_would_reject(pattern, problem):
    found = regex_problem(pattern)
    assert (found is None) if problem is None else found.startswith(problem)


@pytest.mark.parametrize(("wider", "narrower", "expected"), [
    (sm("prefix", "/a"), sm("prefix", "/a/b"), True),
    (sm("prefix", "/a/b"), sm("prefix", "/a"), False),
    (sm("regex", ".*"), sm("regex", "x+"), True),
    (sm("regex", "s[0-9]"), sm("exact", "s2"), True),
    (sm("exact", "s2"), sm("prefix", "s2"), False),
])
def test_string_covers_is_conservative(wider, narrower, expected):
    assert string_covers(wider, narrower) is expected


def test_an_earlier_match_shadows_a_later_one_only_when_it_takes_all_its_requests():
    header = RequestMatch(headers=(("x-lane", sm("exact", "s2")),))
    both = RequestMatch(uri=sm("prefix", "/api"), headers=(("x-lane", sm("exact", "s2")),))
    assert covers(None, header) and covers(RequestMatch(uri=sm("prefix", "/")), header)
    assert covers(header, both)
    assert not covers(both, header)
    assert not covers(header, None)
