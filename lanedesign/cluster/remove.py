"""Remove a lane group: hand the team objects it adopted back, then delete what it owns.

Make-before-break in reverse (docs/cluster.md, "Removing a lane group"):

1. ``restore``: each adopted team object is recreated from its record (``adopt.py``) by
   server-side apply under the team's own field manager, while ours still route: sidecars
   keep the older object for a host, ours, which carries the same routes.
2. ``route``: the lane group's routing objects (VirtualServices, EnvoyFilters, ASM lanes,
   HTTPRoutes) are deleted; sidecars take the team's VirtualService again.
3. ``cleanup``: the rest (DestinationRules, ASM groups, version Services, a Gateway it
   brought) last, so no route ever points at a missing subset.

Every step is dry-run first; one the server refuses (LD916), or a record that cannot be read
(LD913), means nothing is written. Deletes carry the uid and resourceVersion seen.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..emit import registry
from ..findings import Finding, has_errors, make
from .adopt import ADOPTED, records_of
from .ambient import labelled_by
from .apply import DEFAULT_SETTLE_SECONDS, Progress, Step, by_phase, run_steps, unlabel_step
from .client import DEFAULT_CONCURRENCY, Cluster, ObjectRef
from .errors import ApiError, ClusterError
from .plan import ambient_owned, owned_objects

PHASES = ("restore", "route", "cleanup")


@dataclass(frozen=True)
class RemoveResult:
    """What remove did (or, as a dry run, would do): the steps, findings, the failure."""

    group: str
    steps: tuple[Step, ...]
    findings: tuple[Finding, ...]
    dry_run: bool
    cluster: dict[str, str | None]
    done: tuple[Step, ...] = ()
    failed: Step | None = None
    error: ClusterError | None = None

    @property
    def blocked(self) -> bool:
        return has_errors(self.findings)

    @property
    def status(self) -> str:
        if self.blocked:
            return "blocked"
        if not self.steps:
            return "nothing"
        if self.dry_run:
            return "dry-run"
        return "failed" if self.failed is not None else "removed"

    @property
    def ok(self) -> bool:
        return self.status in ("nothing", "dry-run", "removed")

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "group": self.group, **self.cluster, "status": self.status, "dryRun": self.dry_run,
            "steps": [{**s.to_dict(), "manager": s.manager} for s in self.steps],
            "done": [s.to_dict() for s in self.done],
            "findings": [f.to_dict() for f in self.findings]}
        if self.error is not None:
            result["error"] = self.error.to_dict()
        return result

    def summary(self) -> str:
        where = self.cluster.get("context") or self.cluster.get("server") or "the cluster"
        lines = [f"remove lane group {self.group!r} from {where}:"]
        for finding in self.findings:
            lines += [f"{finding}", f"    fix: {finding.hint}"]
        status = self.status
        if status == "blocked":
            lines.append("blocked: nothing removed")
        elif status == "nothing":
            lines.append("the cluster holds no object of this lane group: nothing to remove")
        elif status == "dry-run":
            lines.append("dry run, nothing written; the server accepted every step. "
                         "remove --yes would:")
            lines += by_phase(self.steps)
        elif status == "removed":
            lines.append(f"done, {len(self.done)} step(s):")
            lines += by_phase(self.done)
        else:
            lines.append(f"stopped at {self.failed.text()}: {self.error}")  # type: ignore[union-attr]
            lines.append(f"done {len(self.done)} step(s):")
            lines += by_phase(self.done) or ["  none"]
            lines.append("the team's objects recreated so far stay; run remove again to "
                         "finish")
        return "\n".join(lines)


def remove(cluster: Cluster, group: str, dry_run: bool = False,
           settle_seconds: float = DEFAULT_SETTLE_SECONDS,
           on_progress: Callable[[Progress], None] | None = None,
           sleep: Callable[[float], None] = time.sleep,
           concurrency: int = DEFAULT_CONCURRENCY) -> RemoveResult:
    """Hand back what lane group ``group`` adopted and delete every object it owns (every
    target's kinds), after a dry run of each step; ``dry_run`` stops after that."""
    owned = owned_objects(cluster, group, registry.group_kinds())
    findings: list[Finding] = []
    steps = _restores(cluster, owned, findings)
    routing = registry.routing_kinds()
    homes = sorted({ns for o in owned if (ns := o["metadata"].get("namespace"))})
    for obj in ambient_owned(cluster, group, homes):  # waypoints it created, labels it set
        if labelled_by(obj):
            steps.append(unlabel_step(ObjectRef.of(obj), obj, "remove"))
        else:
            owned.append(obj)
    for obj in owned:
        meta = obj.get("metadata") or {}
        phase = "route" if obj["kind"] in routing else "cleanup"
        steps.append(Step(phase, "delete", ObjectRef.of(obj), "remove",
                          live_version=(meta.get("uid"), meta.get("resourceVersion"))))
    steps.sort(key=lambda s: PHASES.index(s.phase))
    findings += _dry_run(cluster, steps)
    result = RemoveResult(group, tuple(steps), tuple(findings), dry_run, cluster.describe())
    if result.blocked or dry_run or not steps:
        return result
    done, failed = run_steps(cluster, steps, False, settle_seconds, on_progress, sleep,
                             concurrency)
    return RemoveResult(group, tuple(steps), tuple(findings), False, cluster.describe(), done,
                        *(failed or (None, None)))


def _restores(cluster: Cluster, owned: Sequence[dict], findings: list[Finding]) -> list[Step]:
    """A step recreating each recorded team object that is not back already."""
    steps: list[Step] = []
    for obj in owned:
        ours = ObjectRef.of(obj)
        try:
            records = records_of(obj)
        except ValueError as exc:
            findings.append(make("LD913", str(ours), f"the annotation {ADOPTED} of {ours} "
                                 f"cannot be read ({exc}): the team objects it records "
                                 "cannot be handed back"))
            continue
        for rec in records:
            ref = ObjectRef.of(rec["manifest"])
            if cluster.get(ref) is not None:
                findings.append(make("LD914", str(ours), f"{ref}, recorded as adopted on "
                                     f"{ours}, exists again; it is left as it is"))
                continue
            steps.append(Step("restore", "apply", ref, "restore", rec["manifest"],
                              f"as {rec['manager']}, from the record on {ours}",
                              manager=rec["manager"]))
    return steps


def _dry_run(cluster: Cluster, steps: Sequence[Step]) -> list[Finding]:
    """LD916 for each step the server refuses when asked as a dry run."""
    refused = []
    for step in steps:
        try:
            if step.verb == "apply":
                cluster.apply(step.obj or {}, dry_run=True, manager=step.manager)
            else:
                uid, version = step.live_version
                cluster.delete(step.ref, dry_run=True, uid=uid, resource_version=version)
        except ApiError as exc:
            refused.append(make("LD916", str(step.ref), f"the server refuses {step.text()}: "
                                f"{exc.status} {exc.reason}: {exc.message}"))
    return refused
