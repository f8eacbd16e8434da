"""Bookinfo with its team's routing, written out by hand (what adopting Bookinfo's
networking objects must give: tests/test_adopt.py checks the import against it)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from lanedesign.designfile import load_design
from lanedesign.model import (
    LaneDesign,
    RequestMatch,
    RouteDestination,
    Routing,
    StringMatch,
    TeamRoute,
    TeamSubset,
)

FIXTURES = Path(__file__).parent / "fixtures" / "adopt"
JASON = RequestMatch(headers=(("end-user", StringMatch("exact", "jason")),))
DELAY = {"delay": {"percentage": {"value": 100.0}, "fixedDelay": "7s"}}


def bookinfo_lanes(method: str = "header") -> LaneDesign:
    """Bookinfo with lanes v2 and v3 for reviews (v1 the baseline), no team routing."""
    design = load_design(FIXTURES / "bookinfo-lanes.yaml").design
    assert design is not None
    if method == "baggage":
        design = design.with_method("baggage")
    return design


def team_routing() -> dict[str, Routing]:
    """Bookinfo's destination-rule-all, virtual-service-reviews-jason-v2-v3 and
    virtual-service-ratings-test-delay as each service's routing."""
    def subsets(*names: str) -> tuple[TeamSubset, ...]:
        return tuple(TeamSubset(n, {"version": n}) for n in names)

    return {
        "productpage": Routing(subsets=subsets("v1")),
        "details": Routing(subsets=subsets("v1", "v2")),
        "reviews": Routing(routes=(TeamRoute("", (JASON,), (RouteDestination("v2"),)),),
                           default=(RouteDestination("v3"),),
                           subsets=subsets("v1", "v2", "v3")),
        "ratings": Routing(routes=(TeamRoute("", (JASON,), (RouteDestination("v1"),),
                                             {"fault": DELAY}),),
                           default=(RouteDestination("v1"),),
                           subsets=subsets("v1", "v2", "v2-mysql", "v2-mysql-vm")),
    }


def with_routing(design: LaneDesign, routing: dict[str, Routing]) -> LaneDesign:
    for name, found in routing.items():
        svc = design.service(name)
        assert svc is not None
        design = design.with_service(replace(svc, routing=found))
    return design


def bookinfo_adopted(method: str = "header") -> LaneDesign:
    return with_routing(bookinfo_lanes(method), team_routing())
