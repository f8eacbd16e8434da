"""Why a service is served by the lane it is: the words the interactive diagram shows on hover.

Built from what the simulator reported for a diagram's lane (which lane served each visit and
how: its own version, a fallback, or a call without lane context); nothing is decided here.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..model import LaneDesign


def serving_hint(design: LaneDesign, lane: str | None, service: str,
                 served: Sequence[tuple[str, str]], reached: bool | None) -> str:
    """Lines explaining who serves ``service`` for a request in ``lane``.

    ``served`` is the simulator's (serving lane, how) per visit, how being ``lane``,
    ``fallback`` or ``lost``; ``reached`` is None when the entry reaches nothing at all.
    """
    lines = [service]
    known = design.lane(lane) is not None if lane else False
    for by, how in dict.fromkeys(served):
        if how == "lost":
            lines.append(f"no lane context here (a caller drops it): the baseline {by} serves it")
        elif how == "fallback":
            override = design.fallback_map.get(service) == by
            target = "its fallback target" if override else "the baseline"
            lines.append(f"lane {lane} has no version of it: falls back to {by} ({target})")
            if design.mode == "strict":
                lines.append(f"strict mode: every lane must hold every service; a mesh answers "
                             f"404 for this call in lane {lane} (tick it in the Lanes tab)")
        elif not lane:
            lines.append(f"no lane header: the baseline {by} serves it")
        elif not known:
            lines.append(f"lane {lane} does not exist: the baseline {by} serves it")
        elif by == lane:
            own = "the baseline's" if by == design.baseline else "its own"
            lines.append(f"lane {lane} has {own} version: served by {by}")
        else:
            lines.append(f"served by {by}")
    if reached is False:
        lines.append("not reached from the entry service (drawn from the routing table)")
    lost = context_loss_label(design, service)
    if lost is not None:
        lines.append(f"{lost}: everything it calls goes to the baseline")
    return "\n".join(lines)


def context_loss_label(design: LaneDesign, service: str) -> str | None:
    """The diagram's short word for an app that loses the lane context, or None."""
    svc = design.service(service)
    if svc is None or design.keeps_context(service):
        return None
    return ("drops the lane context" if not svc.propagates else
            f"does not forward {design.context_header}")
