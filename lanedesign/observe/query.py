"""The PromQL ``observe`` sends and the reading of its answer (pure: no HTTP here).

One instant query per window: ``increase`` of ``istio_requests_total`` over the window,
summed by the labels that say who called whom in which version and lane. The query is one
request whatever the mesh's size; the answer has one series per distinct label set.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ..model import LaneDesign
from .calls import LANE_TAG, Sample

METRIC = "istio_requests_total"
# who called whom, in which version, with which lane tag: Istio's standard request labels
GROUP_BY = ("source_workload", "source_workload_namespace", "source_canonical_service",
            "source_version", "destination_service_name", "destination_service_namespace",
            "destination_version", "response_code")
REPORTERS = ("destination", "source", "waypoint")
# Istio ambient: the waypoint proxy reports the L7 request metrics with reporter="waypoint",
# its source_workload/destination_workload naming the app workloads on either side, never
# the waypoint itself; ztunnel reports only L4 (istio_tcp_*, no request, version or header),
# reporter "source"/"destination". Sources: istio.io/latest/docs/ambient/migrate/
# enable-ambient-mode/ ("Post-migration observability changes") and
# istio.io/latest/docs/reference/config/metrics/ (the standard labels), ambientmesh.io's
# "Observing the ambient mesh".
L4_METRIC = "istio_tcp_connections_opened_total"
# the label the query adds to the L4 series, so one answer holds both and they never match
LAYER_LABEL, L4 = "lanedesign_layer", "l4"


def default_reporter(design: LaneDesign) -> str:
    """Whose reports count: the waypoint's for an ambient design, else the destination's."""
    return "waypoint" if design.data_plane == "ambient" else "destination"
_DURATION = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800,
                 "y": 31536000}
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def window_seconds(window: str) -> float:
    """A Prometheus duration (``15m``, ``1h30m``) in seconds; ValueError if it is not one."""
    if not _DURATION.match(window or ""):
        raise ValueError(f"{window!r} is not a Prometheus duration such as 15m, 1h or 1h30m")
    seconds = sum(int(n) * _UNIT_SECONDS[unit]
                  for n, unit in re.findall(r"(\d+)(ms|s|m|h|d|w|y)", window))
    if seconds <= 0:
        raise ValueError(f"window {window!r} is empty")
    return seconds


def label_name(name: str) -> str:
    """``name`` if it is a Prometheus label name (it goes into the query), else ValueError."""
    if not _LABEL_NAME.match(name or ""):
        raise ValueError(f"{name!r} is not a Prometheus label name")
    return name


def regex_alternatives(values: Iterable[str]) -> str:
    # namespaces are DNS-1123 labels, which hold no regex or PromQL-string metacharacter;
    # anything else is escaped for RE2, then for the PromQL string it sits in
    return "|".join(v if re.fullmatch(r"[a-z0-9-]+", v) else
                    re.escape(v).replace("\\", "\\\\").replace('"', '\\"')
                    for v in sorted(set(values)))


def requests_query(design: LaneDesign, window: str, lane_tag: str = LANE_TAG,
                   reporter: str | None = None) -> str:
    """The one query: requests per caller/callee/version/lane over ``window`` (reported by
    ``reporter``, by default ``default_reporter``). With the waypoint's reports it also asks,
    in the same query, which services ztunnel saw connections to (``L4`` series): those
    without a waypoint show no request at all."""
    window_seconds(window)
    reporter = reporter or default_reporter(design)
    # only the design's namespaces; a design without services (import-traffic) reads all
    namespaces = {design.namespace_of(s) for s in design.service_names}
    where = ""
    if namespaces:
        where = f',destination_service_namespace=~"{regex_alternatives(namespaces)}"'
    labels = ", ".join((*GROUP_BY, label_name(lane_tag)))
    query = f'sum by ({labels}) (increase({METRIC}{{reporter="{reporter}"{where}}}[{window}]))'
    if reporter != "waypoint":
        return query
    l4 = (f"sum by (destination_service_name, destination_service_namespace) "
          f'(increase({L4_METRIC}{{reporter!="waypoint"{where}}}[{window}]))')
    return f'{query} or label_replace({l4}, "{LAYER_LABEL}", "{L4}", "", "")'


def samples_from_answer(answer: Any) -> list[Sample]:
    """The series of an instant-vector answer (``data`` of /api/v1/query); ValueError if the
    answer is not one."""
    if not isinstance(answer, dict) or answer.get("resultType") != "vector":
        raise ValueError("the answer is not an instant vector")
    out = []
    for row in answer.get("result") or []:
        try:
            labels, (_, value) = row["metric"], row["value"]
            out.append(Sample.of({str(k): str(v) for k, v in labels.items()}, float(value)))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"a series of the answer is malformed: {exc}") from exc
    return out
