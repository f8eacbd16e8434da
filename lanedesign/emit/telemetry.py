"""An Istio Telemetry resource that tags request metrics with the lane (opt-in).

Istio's ``istio_requests_total`` knows the caller's and callee's versions, not the request's
lane. This resource copies the route header into a ``lane`` tag on REQUEST_COUNT in each
namespace of the design, so ``lanedesign observe`` can attribute every call to its lane.
The value is a CEL expression; CEL has no ``|`` default operator (older Istio attribute
expressions did), so the absent header is spelled with ``in`` and a conditional.
"""

from __future__ import annotations

import re

from ..findings import make
from ..model import LaneDesign
from .common import TargetError, managed_labels, object_name

API_VERSION = "telemetry.istio.io/v1"
LANE_TAG = "lane"  # the tag observe reads (observe.compare.LANE_TAG)
NO_LANE = "none"  # the tag's value for a request without the route header
_SAFE_HEADER = re.compile(r"^[a-z0-9][a-z0-9-]*$")  # nothing that could close a CEL string


def lane_tag_expression(route_header: str) -> str:
    """``'h' in request.headers ? request.headers['h'] : 'none'`` for the route header."""
    if not _SAFE_HEADER.match(route_header):
        raise TargetError(make("LD102", "spec.routeHeader",
                               f"route header {route_header!r} cannot be put in a Telemetry "
                               "expression: it is not a lowercase HTTP token"))
    return (f"'{route_header}' in request.headers ? request.headers['{route_header}'] "
            f": '{NO_LANE}'")


def emit_telemetry(design: LaneDesign) -> list[dict]:
    """One Telemetry per namespace of the design's services (sorted), tagging REQUEST_COUNT."""
    namespaces = sorted({design.namespace_of(s) for s in design.service_names}
                        or {design.namespace})
    value = lane_tag_expression(design.route_header)
    return [{
        "apiVersion": API_VERSION,
        "kind": "Telemetry",
        "metadata": {"name": object_name(design.name, "lane-tag"), "namespace": namespace,
                     "labels": managed_labels(design)},
        "spec": {"metrics": [{
            "providers": [{"name": "prometheus"}],
            "overrides": [{
                "match": {"metric": "REQUEST_COUNT", "mode": "CLIENT_AND_SERVER"},
                "tagOverrides": {LANE_TAG: {"operation": "UPSERT", "value": value}},
            }],
        }]},
    } for namespace in namespaces]
