"""A service's team routing in words, for the designer's Services tab (read-only).

``routing_lines(routing)`` -> ``["route (unnamed): end-user exact jason -> v2", ...]``: the
settings every route keeps, the team's match routes, the default, the DestinationRule's
policy keys and the team's own subsets. Nothing is decided here; the model holds it all.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from ..model import RequestMatch, RouteDestination, Routing
from ..simulate import describe_fault


def routing_lines(routing: Routing, lanes: Iterable[str] = ()) -> list[str]:
    """What ``routing`` holds, one line per setting, route, default, policy and subsets;
    subsets named like one of ``lanes`` (the lanes holding the service) are the lanes'."""
    lines = [f"setting {key}: {_setting(key, value)}" for key, value in routing.settings.items()]
    for route in routing.routes:
        matches = " or ".join(match_text(m) for m in route.matches) or "(no match)"
        name = f"route {route.name}" if route.name else "route"
        line = f"{name}: {matches} -> {destinations_text(route.destinations)}"
        own = "; ".join(f"{k} {_setting(k, v)}" for k, v in route.settings.items())
        lines.append(f"{line} ({own})" if own else line)
    lines.append("default -> " + (destinations_text(routing.default) if routing.default
                                  else "the baseline's subset"))
    if routing.traffic_policy:
        lines.append("DestinationRule policy: " + ", ".join(routing.traffic_policy))
    held = set(lanes)
    extra = [s for s in routing.subsets if s.name not in held]
    shared = [s.name for s in routing.subsets if s.name in held]
    if extra:
        lines.append("extra subsets: " + ", ".join(
            f"{s.name} ({_labels(s.labels)})" for s in extra))
    if shared:
        lines.append("subsets the lanes also define: " + ", ".join(shared))
    return lines


def match_text(match: RequestMatch) -> str:
    """``end-user exact jason and uri prefix /api``."""
    parts = [f"uri {match.uri.kind} {match.uri.value}"] if match.uri is not None else []
    parts += [f"{name} {m.kind} {m.value}" for name, m in match.headers]
    return " and ".join(parts) or "every request"


def destinations_text(destinations: Iterable[RouteDestination]) -> str:
    """``v1 80%, v2 20%``; a port as ``v2:9080``."""
    return ", ".join(f"{d.subset}{f':{d.port}' if d.port else ''}"
                     f"{f' {d.weight}%' if d.weight is not None else ''}" for d in destinations)


def _setting(key: str, value: object) -> str:
    if key == "fault":
        text, _ = describe_fault(value)
        if text:
            return text
    if isinstance(value, (str, int, float)):
        return str(value)
    return json.dumps(value, sort_keys=True, separators=(", ", ": "))


def _labels(labels: Iterable[tuple[str, str]]) -> str:
    return ", ".join(f"{k}={v}" for k, v in labels)
