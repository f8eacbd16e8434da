"""The baggage match: RE2 that holds exactly when the simulator reads the lane from baggage."""

from __future__ import annotations

import re2
from hypothesis import given
from hypothesis import strategies as st

from lanedesign.emit.baggage_match import baggage_regex, quote_regex
from lanedesign.simulate import lane_from_baggage


@given(st.lists(st.tuples(st.sampled_from(["lane", "lane ", " lane", "lan", "lanex", "x",
                                           "", "l"]),
                          st.sampled_from(["=", " = ", ""]),
                          st.sampled_from(["s2", "s3", " s2", "%73%32", "s%32", "S2", "s2;p",
                                           "nope", "", "s2 ;q=1", "%7"])), max_size=4),
       st.sampled_from([",", ", ", "\t,"]), st.sampled_from(["s2", "s3", "feat-x"]))
def test_the_baggage_regex_reads_baggage_like_the_simulator(members, sep, lane):
    value = sep.join(k + eq + v for k, eq, v in members)
    expected = lane_from_baggage(value, "lane") == lane
    assert (re2.fullmatch(baggage_regex("lane", lane), value) is not None) == expected, value


def test_the_baggage_regex_escapes_the_key():
    regex = baggage_regex("a.b*c", "s2")
    assert re2.fullmatch(regex, "a.b*c=s2")
    assert not re2.fullmatch(regex, "aXbbc=s2")
    assert not re2.fullmatch(regex, "a.b*c=s2,a.b*c=s3")
    assert len(baggage_regex("x-asm-prefer-tag", "s2")) < 1024


def test_quote_regex_makes_metacharacters_literal():
    text = "a.b*c(d)|e[f]{g}^$+?\\"
    assert re2.fullmatch(quote_regex(text), text)
    assert not re2.fullmatch(quote_regex("a.b"), "axb")
