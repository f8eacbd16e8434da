"""One rule for typed request headers, shared by the command line and the Request tab."""

from __future__ import annotations

import json

import pytest

from lanedesign import examples
from lanedesign.cli import main
from lanedesign.request import parse_header, parse_headers
from lanedesign.widgets import Designer


@pytest.mark.parametrize(("text", "expected"), [
    ("x-user=a:b", ("x-user", "a:b")),
    ("x-user: a=b", ("x-user", "a=b")),
    ("X-Lane: s2", ("x-lane", "s2")),
    (" x-lane = s2 ", ("x-lane", "s2")),
    ("x-empty:", ("x-empty", "")),
    ("baggage=lane=s2,other=1", ("baggage", "lane=s2,other=1")),
])
def test_the_first_separator_ends_the_name(text, expected):
    assert parse_header(text) == expected


@pytest.mark.parametrize("text", ["no separator here", "=value", ": value", ""])
def test_a_line_without_a_name_and_separator_is_refused(text):
    with pytest.raises(ValueError, match="is not 'name: value'"):
        parse_header(text)


def test_blank_lines_are_skipped_and_order_is_kept():
    assert parse_headers(["a: 1", "  ", "b=2"]) == [("a", "1"), ("b", "2")]


def test_the_cli_and_the_request_tab_read_a_header_the_same_way(capsys):
    design = examples.load("mock-header")
    header = f"{design.route_header}=s2:x"  # a value with a colon
    assert main(["simulate", str(examples.path("mock-header")), "--header", header,
                 "--format", "json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    designer = Designer(design)
    request = designer.show(designer.request)
    request.headers.value = header
    assert request.parsed_headers() == [(design.route_header, "s2:x")]
    request.send.click()
    assert (request.trace.status, request.trace.lane) == (cli["status"], cli["lane"])


def test_the_cli_names_a_bad_header(capsys):
    assert main(["simulate", str(examples.path("mock-header")), "--header", "nothing"]) == 2
    assert "--header expects NAME=VALUE" in capsys.readouterr().err
