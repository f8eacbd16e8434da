"""Tables: the routing matrix Styler marks fallbacks; findings, hops, distribution bars."""

from __future__ import annotations

import re

from synthetic import layered_design

from lanedesign import distribution, simulate, validate
from lanedesign.model import Lane, LaneDesign, Service
from lanedesign.render import (
    findings_frame,
    findings_styler,
    page_of,
    routing_frame,
    routing_styler,
    trace_frame,
    trace_styler,
)
from lanedesign.render.svg import FALLBACK_COLOUR, lane_colours
from lanedesign.render.tables import distribution_svg


def cell_css(html: str, uuid: str, row: int, col: int) -> str:
    """The CSS block that styles one cell of a Styler's HTML."""
    cell = f"#T_{uuid}_row{row}_col{col}"
    return " ".join(body for selectors, body in re.findall(r"([^{}]+)\{([^}]*)\}", html)
                    if cell in [s.strip() for s in selectors.split(",")])


def test_matrix_highlights_exactly_the_fallback_cells(mock):
    styler = routing_styler(mock, uuid="m")
    html = styler.to_html()
    frame = routing_frame(mock)
    for r, service in enumerate(frame.index):
        for c, lane in enumerate(frame.columns):
            css = cell_css(html, "m", r, c)
            served = frame.loc[service, lane]
            assert f"background-color: {lane_colours(mock)[served]}" in css
            assert ("outline: 1px dashed" in css) == (served != lane)
    cells = re.findall(r'<td id="T_m_row(\d)_col(\d)"[^>]*>([^<]*)</td>', html)
    marked = {(frame.index[int(r)], frame.columns[int(c)]) for r, c, text in cells
              if text.startswith("↩ ")}
    assert marked == {("mocka", "s3"), ("mockb", "s2"), ("mockc", "s3")}
    assert FALLBACK_COLOUR in html and "↩ fallback" in html


def test_matrix_uuid_is_stable_and_differs_between_tables(mock, shop):
    assert routing_styler(mock).to_html() == routing_styler(mock).to_html()
    assert routing_styler(mock).uuid != routing_styler(shop).uuid


def test_user_names_are_escaped_in_tables():
    design = LaneDesign("x", services=(Service("<b>x</b>"),),
                        lanes=(Lane("s1", {"v": "1"}, ("<b>x</b>",)),), baseline="s1")
    html = routing_styler(design).to_html()
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html


def test_routing_frame_filters(shop):
    assert list(routing_frame(shop, contains="PAY").index) == ["payment"]
    assert list(routing_frame(shop, lanes=["payments-v3", "base"]).columns) == [
        "payments-v3", "base"]
    only = routing_frame(shop, lanes=["base"], fallbacks_only=True)
    assert only.empty  # the baseline holds every service
    assert "fraud" in routing_frame(shop, lanes=["base", "checkout-v2"], fallbacks_only=True).index


def test_page_of_clamps_and_counts():
    frame = routing_frame(layered_design(95, 2))
    rows, pages = page_of(frame, 2, 40)
    assert pages == 3 and len(rows) == 15 and rows.index[0] == "svc-0080"
    assert page_of(frame, 99, 40)[0].index[0] == "svc-0080"
    assert page_of(frame, -1, 40)[0].index[0] == "svc-0000"
    assert page_of(frame.iloc[:0], 0)[1] == 1


def test_findings_table(shop):
    findings = validate(shop)
    frame = findings_frame(findings)
    assert list(frame.columns) == ["code", "severity", "path", "message", "hint"]
    assert frame.iloc[0].to_dict() == {"code": "LD403", "severity": "info",
                                       "path": "spec.services[4].propagates",
                                       "message": findings[0].message, "hint": findings[0].hint}
    html = findings_styler(findings).to_html()
    assert "LD403" in html and "background-color: #dbe9f6" in html


def test_hop_table_of_a_request(mock):
    trace = simulate(mock, {"x-asm-prefer-tag": "s2"})
    rows = trace_frame(trace).to_dict("records")
    assert [(r["call"], r["lane"], r["note"]) for r in rows] == [
        ("mocka", "s2", ""), ("└ mockb", "s1", "fallback -> s1"),
        ("\u2003└ mockc", "s2", "")]
    assert rows[1]["labels"] == "version=v1"
    html = trace_styler(mock, trace, uuid="t").to_html()
    assert "outline: 1px dashed" in cell_css(html, "t", 1, 2)
    assert "outline" not in cell_css(html, "t", 0, 2)


def test_a_hop_through_a_topic_is_marked_async_and_names_its_topic():
    from lanedesign import examples

    design = examples.load("orders-queue")
    trace = simulate(design, {"x-asm-prefer-tag": "s3"})
    rows = trace_frame(trace, design=design).to_dict("records")
    assert [(r["call"], r["lane"], r["note"]) for r in rows] == [
        ("web", "s3", ""), ("└ checkout", "s1", "fallback -> s1"),
        ("\u2003└ payment", "s1", "fallback -> s1"),
        ("\u2003└~> shipping", "s1", "via kafka topic orders; fallback -> s1"),
        ("\u2003\u2003└ notify", "s3", "")]
    # without the design the topic is still named, only the broker label is unknown
    assert trace_frame(trace).iloc[3]["note"] == "via topic orders; fallback -> s1"
    # the Request tab's table (trace_styler) passes the design through
    html = trace_styler(design, trace, uuid="q").to_html()
    assert "└~&gt; shipping" in html and "via kafka topic orders" in html
    # a call is never marked async: only the one hop with a topic carries "~>"
    assert sum("~>" in r["call"] for r in rows) == 1 == sum("via" in r["note"] for r in rows)


def test_distribution_bars(shop):
    dist = distribution(shop, 1000, seed=1, host="shop.example.com")
    svg = distribution_svg(shop, dist)
    assert re.findall(r'<text x="0" y="\d+">([^<]+)</text>', svg) == list(shop.lane_names)
    texts = re.findall(r"([\d.]+)% \((\d+), weight (\d+)\)", svg)
    assert sum(int(n) for _, n, _ in texts) == 1000
    assert [w for _, _, w in texts] == ["70", "10", "5", "10", "5"]
    assert "404" not in svg
    missed = distribution_svg(shop, distribution(shop, 10, seed=1, host="other.example.com"))
    assert "404 (no route)" in missed and "100.0% (10)" in missed


def test_consumer_table_says_what_each_consumer_version_must_take():
    from lanedesign import examples
    from lanedesign.render.tables import consumers_frame, consumers_styler

    design = examples.load("orders-queue")
    rows = consumers_frame(design).to_dict("records")
    assert [(r["lane"], r["keys it must take"], r["consumer group / queue"],
             r["filters by lane"]) for r in rows] == [
        ("s1", "s1, s3 + untagged", "shipping-s1", "yes"),  # s3 has no shipping: falls back
        ("s2", "s2", "shipping-s2", "yes")]
    assert {r["topic"] for r in rows} == {"orders (kafka)"}
    html = consumers_styler(design, uuid="c").to_html()
    assert _SEVERITY_ERROR not in html  # every consumer filters: nothing marked
    broken = design.with_filters_by_lane("shipping", False)
    assert {r["filters by lane"] for r in consumers_frame(broken).to_dict("records")} == {
        "NO: takes any message (LD417)"}
    assert _SEVERITY_ERROR in consumers_styler(broken, uuid="c").to_html()
    assert consumers_frame(examples.load("mock-header")).empty  # no topics, no rows


_SEVERITY_ERROR = "background-color: #f8d7da"


def test_the_request_tab_shows_a_message_hop():
    from lanedesign.widgets import Designer

    designer = Designer("orders-queue")
    request = designer.show(designer.request)
    request.headers.value = "x-asm-prefer-tag: s3"
    request.send.click()
    assert [h.topic for h in request.trace.hops] == [None, None, None, "orders", None]
    assert "└~&gt; shipping" in request.hops.value
    assert "via kafka topic orders; fallback -&gt; s1" in request.hops.value
