"""What the interpreter checks of every target share: random requests, a steered weighted
choice, a host the gateway serves."""

from __future__ import annotations

import random

from hypothesis import strategies as st

from lanedesign import LaneDesign


class PickLane(random.Random):
    """Makes the simulator's weighted choice pick ``lane`` and records what it was offered."""

    def __init__(self, lane: str) -> None:
        super().__init__(0)
        self.lane = lane
        self.offered: dict[str, float] | None = None

    def choices(self, population, weights=None, *, cum_weights=None, k=1):  # type: ignore[override]
        total = sum(weights)
        self.offered = {lane: w / total for lane, w in zip(population, weights)}
        return [self.lane]


def gateway_host(design: LaneDesign) -> str:
    """A host the gateway serves: the first of the ingress hosts, any wildcard filled in."""
    assert design.ingress is not None
    host = design.ingress.hosts[0]
    return "lanes.example.com" if host == "*" else host.replace("*", "a", 1)


@st.composite
def requests(draw, design: LaneDesign) -> tuple[list[tuple[str, str]], str, str]:
    """A request with headers the design's matches look at, baggage, a path and a host."""
    values = [*design.lane_names, "alice", "bob", "other", "S2", "", "no-such-lane"]
    pairs = [(name, draw(st.sampled_from(values)))
             for name in (design.route_header, "x-user", "x-env", "X-User")
             if draw(st.booleans())]
    if design.pass_through.method == "baggage":
        key = design.baggage_key
        member = st.sampled_from([*(f"{key}={lane}" for lane in design.lane_names),
                                  f"{key}=nope", f"{key}=S2", "userId=alice", f" {key} = s2 ;p"])
        for line in draw(st.lists(st.lists(member, min_size=1, max_size=3), max_size=2)):
            pairs.append(("baggage", ",".join(line)))
    path = draw(st.sampled_from(["/", "/api", "/api/v2", "/mock", "/x"]))
    host = draw(st.sampled_from([gateway_host(design), "elsewhere.example.org"]))
    return pairs, path, host
