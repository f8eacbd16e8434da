"""The Headers tab: the route header and the pass-through method."""

from __future__ import annotations

from lanedesign.widgets.headers import carried_headers


# -- headers and pass-through -----------------------------------------------------------------
def test_switching_the_pass_through_method(designer):
    headers = designer.show(designer.headers)
    assert headers.trace_header.layout.display == "none"
    headers.method.value = "traceId"
    assert designer.design.pass_through.method == "traceId"
    assert "LD303" in [f.code for f in designer.state.findings]  # needs a trace header
    assert headers.trace_header.layout.display == ""
    headers.trace_header.value = "x-b3-traceid"
    assert designer.design.pass_through.trace_header == "x-b3-traceid"
    assert not designer.state.has_errors
    headers.method.value = "header"
    assert designer.design.pass_through.trace_header is None  # header: it is the route header
    assert not designer.state.has_errors
    headers.route_header.value = "x-lane"
    assert designer.design.route_header == "x-lane"


def test_carried_headers_explain_each_method(mock):
    assert "baggage: x-asm-prefer-tag=s2" in carried_headers(mock, "s2")
    header = mock.with_pass_through(method="header", baggage_key=None)
    assert carried_headers(header, "s3").startswith("x-asm-prefer-tag: s3")
