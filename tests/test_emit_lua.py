"""The baggage Lua filter, run in LuaJIT (lupa) against a stand-in of Envoy's request handle."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from istio_interpreter import run_lua
from lupa import luajit21

from lanedesign.emit.lua import baggage_inbound_lua, baggage_lua, lua_string
from lanedesign.simulate import lane_from_baggage

SOURCE = baggage_lua("x-lane", "lane")


def lane_set(*baggage: str, route: str | None = None) -> str | None:
    """The route header after the filter ran on a request with these baggage header lines."""
    headers = {"baggage": list(baggage)} if baggage else {}
    if route is not None:
        headers["x-lane"] = [route]
    values = run_lua(SOURCE, headers).headers.get("x-lane")
    assert values is None or len(values) == 1
    return values[0] if values else None


# -- lua_string: the only way design text enters Lua source ------------------------------------
@pytest.mark.parametrize(
    ("text", "literal"),
    [
        ("x-asm-prefer-tag", '"x-asm-prefer-tag"'),
        ('a"b', r'"a\"b"'),
        ("a\\b", r'"a\\b"'),
        ("line\nbreak", r'"line\010break"'),
        ("]]", '"]]"'),
        ("\x00" + "1", r'"\0001"'),  # a digit after an escape stays a digit
        ("é", r'"\195\169"'),
    ],
)
def test_lua_string_escapes(text, literal):
    assert lua_string(text) == literal


HOSTILE = ['"); os.exit(1) --', "\\", "\\\"", "]]--[[", "a\r\nb", "\x1b[2J", "%s%d", "'", "\x7f"]


@pytest.mark.parametrize("text", HOSTILE)
def test_lua_string_cannot_be_broken_out_of(text):
    runtime = luajit21.LuaRuntime(register_eval=False)
    literal = lua_string(text)
    assert "\n" not in literal and "\r" not in literal
    assert runtime.execute(f"local s = {literal}\nreturn s") == text


@given(st.text())
def test_lua_string_round_trips_any_text(text):
    runtime = luajit21.LuaRuntime(register_eval=False)
    assert runtime.execute(f"return {lua_string(text)}") == text


def test_the_script_holds_design_names_only_as_literals():
    key = "we'ird%key.*+"  # a valid baggage key (an HTTP token) full of Lua pattern magic
    source = baggage_lua("x-lane", key)
    assert f"local BAGGAGE_KEY = {lua_string(key)}\n" in source
    assert source.count(key) == 1
    run = run_lua(source, {"baggage": [f"{key}=s2"]})
    assert run.headers["x-lane"] == ["s2"]
    # compared as plain text, never as a Lua pattern
    assert "x-lane" not in run_lua(source, {"baggage": ["weXird%keyyy=s2"]}).headers


# -- what the filter does -------------------------------------------------------------------
# (baggage, lane the filter sets) for SOURCE; the istio tier runs them on Istio's output too
BAGGAGE_CASES = [
        ("lane=s2", "s2"),
        ("lane=s2;ttl=30;secret", "s2"),  # properties after ';'
        (" a=1 ,\tlane = s2 ; p=1 , b=2", "s2"),  # optional whitespace
        ("other=%2C%3B%3D,lane=s2,more=%25", "s2"),  # percent-encoded other members
        ("lane=%73%32", "s2"),  # the value is percent-decoded
        ("lane=s2,lane=s3", "s3"),  # the last member wins (the gateway appends its choice)
        ("userId=alice", None),  # no lane member
        ("lanes=s2,xlane=s2, lane2=s2", None),  # the key must match exactly
        ("lane", None),
        ("lane=", None),
        ("lane=S2", None),  # upper case is not a lane name
        ("lane=" + "a" * 63, "a" * 63),
        ("lane=" + "a" * 64, None),  # longer than a DNS-1123 label
        ("lane=-s2", None),
        ("lane=s2-", None),
        ("lane=s 2", None),
        ("lane=s2\r\nx-evil: 1", None),  # header injection
        ("lane=s2%0D%0Ax-evil:%201", None),  # ... percent-encoded
        ("lane=s2%2Cs3", None),  # an encoded ',' inside the value
        ("lane=s2%3Bp", None),  # an encoded ';'
        ("lane=%", None),
        ("lane=s2,lane=S3", None),  # the last member decides, even when it is invalid
]


@pytest.mark.parametrize(("baggage", "lane"), BAGGAGE_CASES)
def test_lane_from_baggage(baggage, lane):
    assert lane_set(baggage) == lane


def test_a_long_baggage_list():
    members = [f"m{i}=v{i};p" for i in range(179)]
    assert lane_set(",".join([*members, "lane=s2"])) == "s2"  # 180 members, the W3C maximum
    assert lane_set(",".join(["lane=s2", *members])) == "s2"


def test_several_baggage_headers_form_one_list():
    assert lane_set("a=1", "lane=s2") == "s2"
    assert lane_set("lane=s2", "lane=s3;p=1") == "s3"
    assert lane_set("lane=s2", "b=2") == "s2"


def test_an_existing_route_header_is_kept_untouched():
    run = run_lua(SOURCE, {"baggage": ["lane=s2"], "x-lane": ["s3"]})
    assert run.headers["x-lane"] == ["s3"]
    assert run.calls == ()  # no modification, so Envoy keeps the route it chose


def test_no_baggage_changes_nothing():
    run = run_lua(SOURCE, {"x-other": ["1"]})
    assert run.headers == {"x-other": ["1"]}
    assert run.calls == ()


def test_the_header_is_set_once_and_nothing_else_changes():
    run = run_lua(SOURCE, {"baggage": ["a=1, lane=s2"], "x-other": ["1"]})
    assert run.calls == ("replace x-lane",)
    assert run.headers == {"baggage": ["a=1, lane=s2"], "x-other": ["1"], "x-lane": ["s2"]}


# -- the filter and the simulator agree -----------------------------------------------------
MEMBER = st.one_of(
    st.sampled_from(["lane=s2", "lane=s3;ttl=1", " lane = s4 ", "lane=S2", "lane=%73%35",
                     "lane=", "lane", "other=1", "lane=a%2Cb", "lane=é", "lanes=s6", "=s2"]),
    st.text(alphabet=" \t,;=%lane0123sS-x\r\n\"'\\", max_size=12),
)
BAGGAGE_LINE = st.lists(MEMBER, max_size=6).map(",".join)


@given(st.lists(BAGGAGE_LINE, min_size=1, max_size=3))
def test_the_filter_reads_baggage_as_the_simulator_does(lines):
    # Envoy (and the simulator) join several header lines with ','
    assert lane_set(*lines) == lane_from_baggage(",".join(lines), "lane")


# -- the inbound filter: the app receives one baggage line naming its lane ---------------------
INBOUND = baggage_inbound_lua("x-lane", "lane")


def app_baggage(*baggage: str, route: str | None) -> list[str] | None:
    """The ``baggage`` lines the app receives after the inbound filter ran."""
    headers = {"baggage": list(baggage)} if baggage else {}
    if route is not None:
        headers["x-lane"] = [route]
    return run_lua(INBOUND, headers).headers.get("baggage")


@pytest.mark.parametrize(
    ("baggage", "route", "received"),
    [
        # the client's member first, the gateway's added after: one line, the routed lane
        (("lane=s3", "lane=s2"), "s2", ["lane=s2"]),
        (("userId=alice, lane=s3;p=1 ,b=2", "lane=s2"), "s2", ["userId=alice,b=2,lane=s2"]),
        (("a=1",), "s2", ["a=1,lane=s2"]),
        ((), "s2", ["lane=s2"]),  # no baggage yet: the lane is named anyway
        (("lanes=x", "xlane=y"), "s2", ["lanes=x,xlane=y,lane=s2"]),  # exact key only
        (("lane=s3",), None, ["lane=s3"]),  # no route header: baggage untouched
        (("lane=s3",), "S2", ["lane=s3"]),  # not a lane name: untouched
        (("lane=s3",), "s2,s4", ["lane=s3"]),  # two route headers joined: untouched
        (("lane=s3", "lane=s2"), "s2\r\nx: 1", ["lane=s3", "lane=s2"]),
    ],
)
def test_the_inbound_filter_names_the_routed_lane_once(baggage, route, received):
    assert app_baggage(*baggage, route=route) == received


def test_the_inbound_filter_keeps_members_with_pattern_magic():
    key = "we'ird%key.*+"
    source = baggage_inbound_lua("x-lane", key)
    assert source.count(key) == 1
    run = run_lua(source, {"baggage": [f"{key}=s3,weXird%keyyy=1"], "x-lane": ["s2"]})
    assert run.headers["baggage"] == [f"weXird%keyyy=1,{key}=s2"]


def test_opentelemetry_reads_the_routed_lane_after_the_inbound_filter():
    from opentelemetry import baggage as otel_baggage
    from opentelemetry.baggage.propagation import W3CBaggagePropagator

    propagator = W3CBaggagePropagator()
    lines = ["userId=alice,lane=s3", "lane=s2"]  # the client's, then the gateway's
    before = propagator.extract({"baggage": lines})
    assert otel_baggage.get_baggage("lane", before) == "s3"  # the problem: the first line wins
    after = propagator.extract({"baggage": app_baggage(*lines, route="s2")})
    assert otel_baggage.get_all(after) == {"userId": "alice", "lane": "s2"}


@given(st.lists(BAGGAGE_LINE, max_size=3),
       st.sampled_from(["s2", "a" * 63, "S2", "", "s-", "s2,s3"]))
def test_the_inbound_filter_and_the_outbound_filter_agree(lines, route):
    """After the inbound filter, the outbound filter reads back the routed lane (or nothing
    changed when the route header is no lane name)."""
    received = app_baggage(*lines, route=route)
    if lane_from_baggage(route and f"lane={route}", "lane") == route:
        assert received is not None and len(received) == 1
        assert lane_from_baggage(received[0], "lane") == route
        assert lane_set(*received) == route
    else:
        assert received == (list(lines) or None)
