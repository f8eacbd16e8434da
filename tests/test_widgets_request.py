"""The Request tab: one request through the lanes, and a malformed header line."""

from __future__ import annotations


# -- try a request ----------------------------------------------------------------------------
def test_a_request_in_lane_s3(designer):
    request = designer.show(designer.request)
    request.headers.value = "x-asm-prefer-tag: s3"
    request.send.click()
    assert [(h.service, h.lane) for h in request.trace.hops] == [
        ("mocka", "s1"), ("mockb", "s3"), ("mockc", "s1")]
    assert "HTTP 200, lane <b>s3</b>" in request.status.value
    assert "fallback -&gt; s1" in request.hops.value
    assert designer.diagram.trace is request.trace  # highlighted on the diagram beside
    assert "request in lane s3" in designer.diagram.title_html.value
    designer.show(designer.lanes)  # the lane the request asked for is the current lane now
    assert designer.diagram.trace is None and "lane s3" in designer.diagram.title_html.value
    assert designer.lanes.lane.value == "s3"


def test_a_request_that_matches_nothing(designer):
    designer.state.edit("drop the default", lambda d: d.with_ingress(default=None))
    request = designer.show(designer.request)
    request.headers.value = "x-other: 1"
    request.send.click()
    assert request.trace.status == 404 and "HTTP 404" in request.status.value


def test_a_malformed_header_line_is_a_message(designer):
    request = designer.show(designer.request)
    request.headers.value = "no separator here"
    request.send.click()
    assert "is not &#x27;name: value&#x27;" in request.status.value
