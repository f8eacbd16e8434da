"""Name rules: whole-value matches (a trailing newline is not part of a valid name)."""

from __future__ import annotations

import pytest

from lanedesign import names


@pytest.mark.parametrize(
    ("check", "good", "bad"),
    [
        (names.is_dns1123_label, "s2", "s2\n"),
        (names.is_dns1035_label, "mocka", "mocka\n"),
        (names.is_dns1123_subdomain, "a.b", "a.b\n"),
        (names.is_label_key, "version", "version\n"),
        (names.is_label_value, "v1", "v1\n"),
        (names.is_header_name, "x-lane", "x-lane\n"),
        (names.is_token, "Lane", "Lane\n"),
    ],
)
def test_a_trailing_newline_is_not_part_of_a_name(check, good, bad):
    assert check(good)
    assert not check(bad)
