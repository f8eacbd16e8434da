"""Apply a plan make-before-break, in three phases with a short wait between them.

1. ``prepare``: DestinationRules (and ASM groups, other non-routing objects). A rule that
   loses subsets is applied first with the old subsets still in it, so the live routes keep
   their targets (Istio's "avoid 503s while reconfiguring service routes").
2. ``route``: VirtualServices, EnvoyFilters, ASM lanes; pruned routing objects go here too.
3. ``adopt``: the team VirtualServices taken over (``--adopt``) are deleted: sidecars move
   from the older team object to ours, which carries the team's routes.
4. ``cleanup``: the final DestinationRules without the dropped subsets; pruned DRs, groups
   and other objects last, and the team DestinationRules taken over.

Every state in between serves traffic, so a failure stops at once and a re-run converges.
Within a phase the writes are independent (any order of them is one of those states), so up
to ``concurrency`` of them are in flight at once; phases never overlap.
Before any write the whole set went through the server's dry run (``diff``); a plan with
conflicts, rejections or (unless ``allow_overlap``) objects of other owners routing the same
hosts writes nothing.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

from ..emit.registry import routing_kinds
from ..model import LaneDesign
from .adopt import has_records
from .ambient import labelled_by, unlabel_object
from .client import DEFAULT_CONCURRENCY, FIELD_MANAGER, Cluster, ObjectRef
from .errors import ClusterError, StalePlan
from .plan import Change, Plan, diff

PHASES = ("prepare", "route", "adopt", "cleanup")
DEFAULT_SETTLE_SECONDS = 3.0


@dataclass(frozen=True)
class Step:
    """One write: apply an object (``obj``) or delete a pruned one, in a phase."""

    phase: str
    verb: str  # apply | delete
    ref: ObjectRef
    action: str  # create | update | prune | adopt | restore | remove
    obj: dict | None = field(default=None, repr=False)
    note: str = ""
    live_version: tuple[str | None, str | None] = (None, None)  # uid, resourceVersion
    manager: str = FIELD_MANAGER  # a team's own when handing its object back

    def text(self) -> str:
        note = f" - {self.note}" if self.note else ""
        return f"{self.verb} {self.ref} ({self.action}){note}"

    def to_dict(self) -> dict[str, Any]:
        return {"phase": self.phase, "verb": self.verb, **self.ref.to_dict(),
                "action": self.action, "note": self.note}


@dataclass(frozen=True)
class Progress:
    """Reported after each step and before each wait: for a progress bar or a log line."""

    done: int
    total: int
    phase: str
    message: str
    step: Step | None = None
    ok: bool = True


@dataclass(frozen=True)
class ApplyResult:
    """What apply did: the plan, the steps, those done, the one that failed and why."""

    plan: Plan
    steps: tuple[Step, ...]
    dry_run: bool
    done: tuple[Step, ...] = ()
    failed: Step | None = None
    error: ClusterError | None = None

    @property
    def status(self) -> str:
        if self.plan.blocked:
            return "blocked"
        if self.dry_run:
            return "dry-run"
        if self.failed is not None:
            return "failed"
        return "applied" if self.done else "unchanged"

    @property
    def ok(self) -> bool:
        return self.status in ("dry-run", "applied", "unchanged")

    @property
    def pending(self) -> tuple[Step, ...]:
        """Steps not applied (after a failure: the failed one and those after it)."""
        return tuple(s for s in self.steps if s not in self.done)

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "status": self.status, "dryRun": self.dry_run, "plan": self.plan.to_dict(),
            "steps": [s.to_dict() for s in self.steps],
            "done": [s.to_dict() for s in self.done],
            "pending": [s.to_dict() for s in self.pending],
        }
        if self.error is not None:
            result["error"] = self.error.to_dict()
        return result

    def summary(self) -> str:
        lines = [self.plan.summary()]
        status = self.status
        if status == "blocked":
            lines.append("nothing applied")
        elif not self.steps:
            lines.append("in sync: nothing to apply")
        elif status == "dry-run":
            lines.append("dry run, nothing written; the server accepted every object. "
                         "apply --yes would:")
            lines += by_phase(self.steps)
        elif status == "applied":
            lines.append(f"applied {len(self.done)} step(s):")
            lines += by_phase(self.done)
        else:
            lines.append(f"stopped at {self.failed.text()}: {self.error}")  # type: ignore[union-attr]
            if self.error is not None and self.error.hint:
                lines.append(f"  hint: {self.error.hint}")
            lines.append(f"applied {len(self.done)} step(s):")
            lines += by_phase(self.done) or ["  none"]
            lines.append(f"not applied {len(self.pending)} step(s):")
            lines += by_phase(self.pending)
            lines.append("every intermediate state keeps the routed subsets in place; fix the "
                         "cause and re-run apply to converge")
        return "\n".join(lines)


def by_phase(steps: Sequence[Step]) -> list[str]:
    """One line per step: its phase, then what it does (the summaries' step lists)."""
    return [f"  {s.phase:<8} {s.text()}" for s in steps]


def plan_steps(plan: Plan, prune: bool = False) -> list[Step]:
    """The writes for ``plan`` in make-before-break order (deletes only with ``prune``)."""
    steps: list[Step] = []
    for change in plan.of("create", "update"):
        if change.ref.kind in routing_kinds():
            steps.append(Step("route", "apply", change.ref, change.action, change.desired))
            continue
        bridge = _keep_old_subsets(change)
        if bridge is None:
            steps.append(Step("prepare", "apply", change.ref, change.action, change.desired))
            continue
        if (change.live or {}).get("spec") != bridge.get("spec"):
            steps.append(Step("prepare", "apply", change.ref, change.action, bridge,
                              "new subsets in, dropped ones kept until routes move"))
        steps.append(Step("cleanup", "apply", change.ref, change.action, change.desired,
                          "drop the subsets no route uses any more"))
    if prune:
        for change in plan.of("prune"):
            if has_records(change.live):
                continue  # the only copy of adopted team objects: `remove` hands them back
            if labelled_by(change.live):
                steps.append(unlabel_step(change.ref, change.live or {}, "prune"))
                continue
            phase = "route" if change.ref.kind in routing_kinds() else "cleanup"
            steps.append(Step(phase, "delete", change.ref, "prune",
                              live_version=change.live_version))
    for adoption in plan.adoptions:  # routes before the subsets they use, as for prune
        phase = "adopt" if adoption.foreign.kind in routing_kinds() else "cleanup"
        steps.append(Step(phase, "delete", adoption.foreign, "adopt",
                          note=f"taken over by {adoption.ours}",
                          live_version=adoption.live_version))
    return sorted(steps, key=lambda s: PHASES.index(s.phase))  # stable: emitted order kept


def unlabel_step(ref: ObjectRef, live: dict, action: str) -> Step:
    """The app's Namespace or Service keeps everything but the labels lanedesign set: it is
    applied with none of them (never deleted: lanedesign did not create it)."""
    return Step("cleanup", "apply", ref, action, unlabel_object(live),
                "drop the labels lanedesign set; the object stays")


def _keep_old_subsets(change: Change) -> dict | None:
    """The DestinationRule with the live subsets it would drop still in, or ``None``."""
    if change.ref.kind != "DestinationRule" or change.live is None or change.desired is None:
        return None
    wanted = list((change.desired.get("spec") or {}).get("subsets") or [])
    names = {s.get("name") for s in wanted}
    dropped = [s for s in (change.live.get("spec") or {}).get("subsets") or []
               if s.get("name") not in names]
    if not dropped:
        return None
    bridge = copy.deepcopy(change.desired)
    bridge["spec"]["subsets"] = wanted + copy.deepcopy(dropped)
    return bridge


def apply(cluster: Cluster, plan_or_objects: Plan | Sequence[dict], group: str | None = None,
          dry_run: bool = False, prune: bool = False, force_conflicts: bool = False,
          settle_seconds: float = DEFAULT_SETTLE_SECONDS,
          on_progress: Callable[[Progress], None] | None = None,
          sleep: Callable[[float], None] = time.sleep,
          concurrency: int = DEFAULT_CONCURRENCY, allow_overlap: bool = False,
          design: LaneDesign | None = None, adopt: bool = False) -> ApplyResult:
    """Apply objects (or a reviewed ``Plan``) after a server dry run of the whole set.

    A ``Plan`` is re-checked first: if the cluster changed since it was made, ``StalePlan``
    is raised and nothing is written. ``dry_run`` stops after the check and reports the steps.
    Within a phase up to ``concurrency`` writes are in flight; a phase starts only when every
    write of the one before it is done. ``on_progress`` is called on the caller's thread.
    Objects of other owners routing the same hosts block the apply unless ``allow_overlap``
    (or the reviewed plan allowed them), or ``adopt`` and ``design`` carries their routing:
    then they are taken over; ``design`` also names paths in findings.
    """
    plan = _current_plan(cluster, plan_or_objects, group, force_conflicts, concurrency,
                         allow_overlap, design, adopt)
    steps = tuple(plan_steps(plan, prune))
    if plan.blocked or dry_run:
        return ApplyResult(plan, steps, dry_run)
    done, failed = run_steps(cluster, steps, plan.force_conflicts, settle_seconds,
                             on_progress, sleep, concurrency)
    return ApplyResult(plan, steps, False, done, *(failed or (None, None)))


def run_steps(cluster: Cluster, steps: Sequence[Step], force: bool = False,
              settle_seconds: float = DEFAULT_SETTLE_SECONDS,
              on_progress: Callable[[Progress], None] | None = None,
              sleep: Callable[[float], None] = time.sleep,
              concurrency: int = DEFAULT_CONCURRENCY,
              ) -> tuple[tuple[Step, ...], tuple[Step, ClusterError] | None]:
    """Write ``steps`` phase by phase (in the order their phases first appear), waiting
    between phases; the steps done (in ``steps``' order) and the first failure, if any."""
    steps = tuple(steps)
    report = on_progress or (lambda progress: None)
    done: list[int] = []  # indexes into steps, in the order the writes finished

    def finished() -> tuple[Step, ...]:
        return tuple(steps[i] for i in sorted(done))  # plan order, whatever finished first

    with ThreadPoolExecutor(max_workers=max(1, concurrency),
                            thread_name_prefix="lanedesign-apply") as pool:
        for phase in dict.fromkeys(s.phase for s in steps):
            todo = [i for i, s in enumerate(steps) if s.phase == phase]
            if done and settle_seconds > 0:  # let the proxies take the previous phase first
                report(Progress(len(done), len(steps), phase, f"waiting {settle_seconds:g}s "
                                f"for the mesh to take the {steps[done[-1]].phase} phase"))
                sleep(settle_seconds)
            failed = _run_phase(pool, cluster, steps, todo, force, done, report)
            if failed is not None:
                return finished(), failed
    return finished(), None


def _run_phase(pool: ThreadPoolExecutor, cluster: Cluster, steps: tuple[Step, ...],
               todo: list[int], force: bool, done: list[int],
               report: Callable[[Progress], None]) -> tuple[Step, ClusterError] | None:
    """The writes of one phase, at most the pool's size at once; the first failure, if any.

    After a failure no further write of the phase starts; those already in flight finish
    (every order of writes within a phase is safe, which is what makes the phase).
    """
    stop = threading.Event()

    def write(index: int) -> ClusterError | bool:
        if stop.is_set():
            return False  # not started: stays pending
        try:
            _write(cluster, steps[index], force)
        except ClusterError as exc:
            stop.set()
            return exc
        return True

    futures = {pool.submit(write, i): i for i in todo}
    failures: list[tuple[int, ClusterError]] = []
    try:
        for future in as_completed(futures):  # on the caller's thread, as writes finish
            index, outcome = futures[future], future.result()
            step = steps[index]
            if outcome is True:
                done.append(index)
                report(Progress(len(done), len(steps), step.phase, step.text(), step))
            elif isinstance(outcome, ClusterError):
                failures.append((index, outcome))
                report(Progress(len(done), len(steps), step.phase,
                                f"failed: {step.text()}: {outcome}", step, ok=False))
    except BaseException:
        stop.set()  # a bug or Ctrl-C: start no more writes (those in flight end) and stop
        raise
    if not failures:
        return None
    index, error = min(failures, key=lambda f: f[0])  # the earliest in plan order
    return steps[index], error


def _current_plan(cluster: Cluster, plan_or_objects: Plan | Sequence[dict], group: str | None,
                  force_conflicts: bool, concurrency: int, allow_overlap: bool,
                  design: LaneDesign | None, adopt: bool) -> Plan:
    if isinstance(plan_or_objects, Plan):
        reviewed = plan_or_objects
        force = force_conflicts or reviewed.force_conflicts
        allow = allow_overlap or reviewed.allow_overlap
        fresh = diff(cluster, reviewed.objects, reviewed.group, force, concurrency, allow,
                     design or reviewed.design, adopt or reviewed.adopt)
        if fresh.fingerprint() != reviewed.fingerprint():
            raise StalePlan("the cluster changed since this plan was made",
                            "Run diff again, review it, then apply the new plan.")
        return fresh
    if group is None:
        raise ValueError("apply needs the lane group name when given objects, not a Plan")
    return diff(cluster, plan_or_objects, group, force_conflicts, concurrency, allow_overlap,
                design, adopt)


def _write(cluster: Cluster, step: Step, force: bool) -> None:
    if step.verb == "apply":
        if step.manager == FIELD_MANAGER:
            cluster.apply(step.obj or {}, force=force)
        else:  # a team's object handed back (remove)
            cluster.apply(step.obj or {}, manager=step.manager)
    else:
        uid, version = step.live_version
        cluster.delete(step.ref, uid=uid, resource_version=version)
