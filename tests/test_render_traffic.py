"""The Traffic view: edge widths from the calls, divergent edges marked, numbers on hover."""

from __future__ import annotations

import re

from lanedesign import examples
from lanedesign.observe import DropsContext, ExtraCall, UnusedCall, compare, synthetic_samples
from lanedesign.render.traffic import traffic_diagram
from lanedesign.widgets.state import DesignState
from lanedesign.widgets.traffic import TrafficPart

MOCK = examples.load("mock-baggage")
FAULTS = (DropsContext("mockb", "s2", 0.4), ExtraCall("mockc", "audit"))


def edge_line(source: str, tail: str, head: str) -> str:
    return next(line for line in source.splitlines() if f"{tail} -> {head} " in line)


def width(line: str) -> float:
    return float(re.search(r"penwidth=([\d.]+)", line).group(1))


def test_divergent_edge_is_red_with_numbers_on_hover():
    diagram = traffic_diagram(MOCK, compare(MOCK, synthetic_samples(MOCK, faults=FAULTS)), "s2")
    line = edge_line(diagram.source, "n1", "n2")  # mockb -> mockc
    assert 'color="#c0392b"' in line and 'label="unexpected: v1 40%"' in line
    assert "tooltip=\"mockb -> mockc: 600 calls; expects v2; reached v2 60% (360), v1 40% " \
           "(240)\"" in line
    assert "#c0392b" not in edge_line(diagram.source, "n0", "n1")  # mocka -> mockb is fine


def test_edge_width_grows_with_the_calls():
    shop = examples.load("shop")
    diagram = traffic_diagram(shop, compare(shop, synthetic_samples(shop)))
    widths = [width(line) for line in diagram.source.splitlines() if "penwidth=" in line
              and "->" in line]
    assert min(widths) >= 1.0 and max(widths) == 5.0 and len(set(widths)) > 2


def test_extra_and_unseen_calls_are_drawn_apart():
    samples = synthetic_samples(MOCK, faults=(ExtraCall("mocka", "audit"),
                                              UnusedCall("mockb", "mockc")))
    source = traffic_diagram(MOCK, compare(MOCK, samples)).source
    assert 'label="not in the design"' in source and "audit.default" in source
    unseen = edge_line(source, "n1", "n2")
    assert "style=dotted" in unseen and "no calls observed" in unseen


def test_the_cluster_tabs_traffic_part_shows_a_comparison():
    part = TrafficPart(DesignState(MOCK))
    part.show(compare(MOCK, synthetic_samples(MOCK, faults=FAULTS)), "synthetic")
    assert part.lane.options[0] == "(all lanes)" and "s2" in part.lane.options
    assert "<svg" in part.view.value and "LD802" in part.findings.value
    part.lane.value = "s2"
    assert "observed traffic, lane s2" in part.view.value


def test_the_traffic_part_reports_a_bad_url_without_a_traceback():
    part = TrafficPart(DesignState(MOCK))
    part.url.value = "not a url"
    part.run()
    assert "not an http(s) URL" in part.status.value and part.comparison is None
