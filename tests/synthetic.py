"""Large deterministic designs for tests of views that must stay usable at scale."""

from __future__ import annotations

from lanedesign.model import Ingress, Lane, LaneDesign, Service


def layered_design(services: int = 1000, lanes: int = 10, fan_out: int = 3) -> LaneDesign:
    """``services`` services in layers of 20, each calling ``fan_out`` of the next layer.

    Lane ``lane-k`` (k >= 1) holds every service whose index is k modulo 50, so each test
    lane holds about 2% of the services; the baseline ``base`` holds them all.
    """
    names = [f"svc-{i:04d}" for i in range(services)]
    width = 20
    svcs = []
    for i, name in enumerate(names):
        layer_start = (i // width + 1) * width
        calls = [names[j] for j in range(layer_start + i % width,
                                         min(layer_start + i % width + fan_out, services))]
        svcs.append(Service(name, calls=tuple(calls)))
    lane_objs = [Lane("base", labels={"version": "base"}, services=tuple(names))]
    for k in range(1, lanes):
        held = tuple(n for i, n in enumerate(names) if i % 50 == k)
        lane_objs.append(Lane(f"lane-{k}", labels={"version": f"v{k}"}, services=held))
    return LaneDesign(name="layered", services=tuple(svcs), lanes=tuple(lane_objs),
                      baseline="base", ingress=Ingress(entry=names[0]))
