"""Istio ambient mode: the design's data plane and waypoints, read, written, checked and
emitted (docs/ambient.md)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from lanedesign import examples
from lanedesign.designfile import dump_design, parse_design
from lanedesign.model import LaneDesign, ServicePort, Waypoint


def _mock() -> LaneDesign:
    return examples.load("mock-baggage")


# -- the model ------------------------------------------------------------------------------
def test_defaults_are_sidecar_and_one_waypoint_per_namespace() -> None:
    design = _mock()
    assert design.data_plane == "sidecar" and not design.ambient
    assert design.waypoint == Waypoint("waypoint", "namespace", True)
    assert design.waypoint_for("mockb") == "waypoint"


def test_service_scope_names_a_waypoint_per_service() -> None:
    design = _mock().with_data_plane("ambient").with_waypoint(scope="service")
    assert design.waypoint_for("mockb") == "mockb-waypoint"
    assert design.waypoints() == (("default", "mocka-waypoint"), ("default", "mockb-waypoint"),
                                  ("default", "mockc-waypoint"))


def test_namespace_scope_has_one_waypoint_per_namespace_of_a_lane_routed_service() -> None:
    design = _mock().with_data_plane("ambient").with_waypoint(name="lanes")
    svc = design.service("mockc")
    assert svc is not None
    design = design.with_service(replace(svc, namespace="back"))
    assert design.waypoints() == (("default", "lanes"), ("back", "lanes"))


def test_tcp_only_services_need_no_waypoint() -> None:
    design = _mock().with_data_plane("ambient")
    svc = design.service("mockc")
    assert svc is not None
    tcp = replace(svc, ports=(ServicePort(6379, name="tcp-redis"),), port=None)
    design = design.with_service(tcp)
    assert design.waypoint_services() == ("mocka", "mockb")


def test_switching_the_data_plane_keeps_the_waypoint_settings() -> None:
    design = _mock().with_data_plane("ambient").with_waypoint(scope="service", create=False)
    back = design.with_data_plane("sidecar").with_data_plane("ambient")
    assert back == design


# -- the design file --------------------------------------------------------------------------
def test_defaults_are_left_out_of_the_file() -> None:
    text = dump_design(_mock())
    assert "dataPlane" not in text and "waypoint" not in text


@pytest.mark.parametrize("waypoint", [Waypoint(), Waypoint("mesh-wp"),
                                      Waypoint(scope="service"), Waypoint(create=False),
                                      Waypoint("w2", "service", False)])
def test_round_trip(waypoint: Waypoint) -> None:
    design = _mock().with_data_plane("ambient").with_(waypoint=waypoint)
    text = dump_design(design)
    assert "dataPlane: ambient" in text
    loaded = parse_design(text)
    assert loaded.findings == ()
    assert loaded.design == design
    assert dump_design(loaded.design) == text


def test_the_written_waypoint_holds_only_what_differs() -> None:
    text = dump_design(_mock().with_data_plane("ambient").with_waypoint(create=False))
    assert "waypoint:\n    create: false\n" in text
    assert "scope" not in text


@pytest.mark.parametrize(("snippet", "code", "path"), [
    ("dataPlane: sidecars", "LD006", "spec.dataPlane"),
    ("dataPlane: [ambient]", "LD004", "spec.dataPlane"),
    ("waypoint: yes", "LD004", "spec.waypoint"),
    ("waypoint: {scope: pod}", "LD006", "spec.waypoint.scope"),
    ("waypoint: {create: 'no'}", "LD004", "spec.waypoint.create"),
    ("waypoint: {name: 7}", "LD004", "spec.waypoint.name"),
    ("waypoint: {nmae: w}", "LD005", "spec.waypoint.nmae"),
])
def test_bad_values_are_findings(snippet: str, code: str, path: str) -> None:
    text = dump_design(_mock()).replace("  baseline: s1\n", f"  baseline: s1\n  {snippet}\n")
    loaded = parse_design(text)
    assert [(f.code, f.path) for f in loaded.findings] == [(code, path)]
    assert loaded.design is not None
