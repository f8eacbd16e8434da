"""Cluster: connect to a kubeconfig context, diff, apply after an explicit confirmation, import.

A thin face on ``lanedesign.cluster``: what changes, in which order, what lanedesign owns and
whether a reviewed plan still holds are the package's decisions. The panel gathers inputs,
refuses to apply what nobody reviewed, shows progress and draws the results; failures come
back as typed errors with a hint, already redacted of credentials.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import ipywidgets as W

from .. import cluster
from ..cluster import Cluster, ClusterError, Discovery, Plan, Progress, StalePlan
from ..model import LaneDesign
from .cluster_import import ImportPart
from .cluster_views import (
    attempt,
    discovery_html,
    failure,
    plan_status,
    plan_table,
    result_html,
    steps_summary,
)
from .common import Panel, button, heading, help_text, labelled, message
from .export import manifests, target_options
from .state import DesignState
from .traffic import TrafficPart


@dataclass(frozen=True)
class Reviewed:
    """The diff on screen and the design it was made for (any edit makes it unusable)."""

    design: LaneDesign
    plan: Plan


class ClusterPanel(Panel):
    title = "Cluster"

    def __init__(self, state: DesignState) -> None:
        super().__init__(state)
        self.connection: Cluster | None = None
        self.discovery: Discovery | None = None
        self.reviewed: Reviewed | None = None
        self._contexts_read = False
        self._emittable = False  # the design has objects for the target (else Diff is off)
        self._log: list[str] = []
        state.on_change(self._design_changed)
        self.importer = ImportPart(state, lambda: self.connection)
        self.traffic = TrafficPart(state)
        self.widget = W.VBox([*self._connection_part(), *self._plan_part(), *self._apply_part(),
                              *self.importer.children, *self.traffic.children])
        self.widget.add_class("ld-cluster")

    # -- building -----------------------------------------------------------------------------
    def _connection_part(self) -> list[W.Widget]:
        self.kubeconfig = W.Text(description="kubeconfig", continuous_update=False,
                                 placeholder="$KUBECONFIG or ~/.kube/config",
                                 layout=W.Layout(width="340px"),
                                 style={"description_width": "85px"})
        self.kubeconfig.observe(lambda _: self.read_contexts(), "value")
        self.context = W.Dropdown(description="context", layout=W.Layout(width="260px"),
                                  style={"description_width": "55px"})
        self.context.observe(lambda _: self._connection_changed(), "value")
        self.target = W.ToggleButtons(options=target_options(), style={"button_width": "150px"},
                                      tooltips=["plain Istio", "Alibaba Cloud Service Mesh"])
        self.target.observe(lambda _: self._target_changed(), "value")
        self.connect_button = button("Connect", self.connect, "primary", width="100px")
        self.status = W.HTML()  # the connection or why there is none
        return [
            help_text("Diff and apply the design's manifests to a cluster, or propose a design "
                      "from what runs there. Apply writes only a plan you reviewed and "
                      "confirmed; lanedesign changes only objects it owns (docs/cluster.md)."),
            W.HBox([self.kubeconfig, self.context, self.connect_button],
                   layout=W.Layout(align_items="center", flex_flow="row wrap")),
            self.status,
        ]

    def _plan_part(self) -> list[W.Widget]:
        self.force = W.Checkbox(description="force conflicts: take over fields another field "
                                "manager set (off unless you mean it)", indent=False,
                                layout=W.Layout(width="auto"))
        self.force.observe(lambda _: self._invalidate("force conflicts changed"), "value")
        self.allow_overlap = W.Checkbox(description="allow overlap: apply although other "
                                        "owners' objects route the same hosts", indent=False,
                                        layout=W.Layout(width="auto"))
        self.allow_overlap.observe(lambda _: self._invalidate("allow overlap changed"), "value")
        self.adopt = W.Checkbox(description="adopt: take over the team's objects whose "
                                "routing the design carries (remove hands them back)",
                                indent=False, layout=W.Layout(width="auto"))
        self.adopt.observe(lambda _: self._invalidate("adopt changed"), "value")
        self.diff_button = button("Diff (server dry run)", self.run_diff, width="170px")
        self.emit_status = W.HTML()
        self.plan_status = W.HTML()
        self.plan_table = W.HTML(layout=W.Layout(max_height="300px", overflow="auto"))
        return [heading("Diff"),
                W.HBox([labelled("target", self.target, "45px"), self.diff_button, self.force,
                        self.allow_overlap, self.adopt],
                       layout=W.Layout(align_items="center", flex_flow="row wrap")),
                self.emit_status, self.plan_status, self.plan_table]

    def _apply_part(self) -> list[W.Widget]:
        self.prune = W.Checkbox(description="prune: delete the prune candidates (objects of "
                                "this lane group the design no longer emits)", indent=False,
                                layout=W.Layout(width="auto"))
        self.wait = W.BoundedFloatText(value=cluster.DEFAULT_SETTLE_SECONDS, min=0, max=60,
                                       step=0.5, description="wait between phases (s)",
                                       layout=W.Layout(width="230px"),
                                       style={"description_width": "160px"})
        self.confirm = W.Checkbox(description="I reviewed the diff", indent=False,
                                  layout=W.Layout(width="auto"))
        for box in (self.prune, self.confirm):
            box.observe(lambda change: self._sync(change.owner), "value")
        self.apply_button = button("Apply", self.apply_plan, "danger", width="100px")
        self.apply_note = W.HTML()
        self.progress = W.IntProgress(value=0, min=0, max=1, layout=W.Layout(width="300px"))
        self.progress_text = W.Label()
        self.progress_box = W.HBox([self.progress, self.progress_text],
                                   layout=W.Layout(align_items="center", display="none"))
        self.log = W.HTML(layout=W.Layout(max_height="160px", overflow="auto"))
        self.result = W.HTML()
        return [heading("Apply"),
                W.HBox([self.prune, self.wait], layout=W.Layout(align_items="center",
                                                                flex_flow="row wrap")),
                W.HBox([self.confirm, self.apply_button, self.apply_note],
                       layout=W.Layout(align_items="center")),
                self.progress_box, self.log, self.result]

    # -- redrawing ----------------------------------------------------------------------------
    def refresh(self) -> None:
        super().refresh()
        if not self._contexts_read:  # the kubeconfig is read when the tab is first opened
            self.read_contexts()
        self._check_design()

    def _check_design(self) -> None:
        """Say so when the design has no objects for the target (errors, or inexpressible)."""
        objects, why = manifests(self.state.design, self.target.value)
        self._emittable = objects is not None
        self.emit_status.value = why
        self._sync()

    def _sync(self, changed: W.Widget | None = None) -> None:
        """Enable what may run now; a new prune choice needs a new confirmation."""
        if changed is self.prune:
            with self.syncing():
                self.confirm.value = False
        self.diff_button.disabled = self.connection is None or not self._emittable
        self.importer.sync()
        ready = self._ready_steps()
        self.confirm.disabled = not ready
        if self.reviewed is not None and self.connection is not None:
            context = self.connection.context
            self.confirm.description = f"I reviewed the diff for context {context}"
        blocker = self.apply_blocker()
        self.apply_button.disabled = bool(blocker)
        note = f"Apply is off: {blocker}." if blocker or self.connection is None else \
            f"Apply will run {steps_summary(ready)} on context {self.connection.context}."
        self.apply_note.value = f'<span class="ld-help">{html.escape(note)}</span>'

    def _ready_steps(self) -> list[cluster.Step]:
        """The writes the reviewed plan would make now (none if it is blocked or absent)."""
        if self.reviewed is None or self.reviewed.plan.blocked:
            return []
        return cluster.plan_steps(self.reviewed.plan, self.prune.value)

    def apply_blocker(self) -> str:
        """Why Apply may not run now, or '' when it may."""
        reviewed = self.reviewed
        if self.connection is None:
            return "connect to a cluster first"
        if reviewed is None:
            return "run Diff first; Apply writes only a plan you have reviewed"
        if reviewed.plan.blocked:
            if reviewed.plan.of("conflict", "rejected"):
                return "the plan is blocked by conflicts or rejections"
            if reviewed.plan.refusals:
                return "the design does not carry the team's routing exactly (see the findings)"
            if reviewed.plan.overlap_blocked:
                return "objects of other owners route the same hosts (see the findings)"
            return "the plan is blocked by conflicts or rejections"
        if not self._ready_steps():
            if reviewed.plan.of("prune"):
                return "only prune candidates are left; tick prune to delete them"
            return "nothing to apply, the cluster is in sync"
        if not self.confirm.value:
            return "tick the confirmation once you have read the diff"
        return ""

    # -- connecting ---------------------------------------------------------------------------
    def read_contexts(self) -> None:
        """Fill the context menu from the kubeconfig (its current context chosen)."""
        self._contexts_read = True
        self._disconnect()
        path = self.kubeconfig.value.strip() or None
        try:
            names, current = cluster.contexts(path)
        except ClusterError as exc:
            names, current = [], None
            self.status.value = failure(exc, "warning")
        else:
            self.status.value = message(
                f"{len(names)} context(s) in the kubeconfig; pick one and Connect.", "info")
        with self.syncing():
            self.context.options = names
            self.context.value = current if current in names else (names[0] if names else None)
        self._sync()

    def connect(self) -> None:
        """Connect to the chosen context and show what the cluster serves."""
        self._disconnect()
        found = attempt(self.status, lambda: cluster.connect(
            self.kubeconfig.value.strip() or None, self.context.value or None))
        if found is None:
            return
        self.discovery = attempt(self.status, lambda: cluster.discover(found))
        if self.discovery is None:
            found.close()
            return
        self.connection = found
        self.status.value = discovery_html(self.discovery, self.target.value)
        self._sync()

    def _disconnect(self) -> None:
        if self.connection is not None:
            self.connection.close()
        self.connection = self.discovery = None
        self._invalidate("the connection changed")

    def _connection_changed(self) -> None:
        if not self._syncing:
            self._disconnect()
            self.status.value = message("Connect to use this context.", "info")
            self._sync()

    def _target_changed(self) -> None:
        if self.discovery is not None:
            self.status.value = discovery_html(self.discovery, self.target.value)
        self._invalidate("the target changed")
        self._check_design()

    # -- diff and apply -----------------------------------------------------------------------
    def run_diff(self) -> None:
        """Server dry run of the design's objects; the plan shown is the one Apply may use."""
        self._invalidate()
        design = self.state.design
        objects, why = manifests(design, self.target.value)
        if self.connection is None or objects is None:
            self.plan_status.value = why or message("Connect first.", "info")
            return
        plan = attempt(self.plan_status, lambda: cluster.diff(
            self.connection, objects, design.name, self.force.value,
            allow_overlap=self.allow_overlap.value, design=design, adopt=self.adopt.value))
        if plan is None:
            self.plan_table.value = ""
            return
        self.reviewed = Reviewed(design, plan)
        self.plan_status.value = plan_status(plan)
        self.plan_table.value = plan_table(plan)
        self.plan_table.remove_class("ld-stale")
        self._sync()

    def apply_plan(self) -> None:
        """Apply the reviewed plan, once, showing each step; refused unless confirmed."""
        blocker = self.apply_blocker()
        if blocker:
            self.apply_note.value = message(f"Not applied: {blocker}.", "warning")
            return
        reviewed, prune = self.reviewed, self.prune.value
        self._invalidate()  # a plan is applied at most once: afterwards the cluster differs
        self.plan_status.value = message("This plan was applied (or tried); Diff again to "
                                         "compare the design with the cluster now.", "info")
        self._start_progress(len(cluster.plan_steps(reviewed.plan, prune)))
        try:
            result = cluster.apply(self.connection, reviewed.plan, prune=prune,
                                   design=reviewed.design,
                                   settle_seconds=self.wait.value,
                                   on_progress=self._progressed)
        except StalePlan:
            self.progress.bar_style = "warning"
            self.result.value = message("The cluster changed since the diff - run Diff again "
                                        "and review the new plan. Nothing was written.",
                                        "warning")
        except Exception as exc:  # the edge of the UI: a message, never a traceback
            self.progress.bar_style = "danger"
            self.result.value = failure(exc)
        else:
            self.progress.bar_style = "success" if result.ok else "danger"
            self.result.value = result_html(result)
        self._sync()

    def _start_progress(self, total: int) -> None:
        self._log = []
        self.log.value = self.result.value = ""
        self.progress.bar_style = ""
        self.progress.max, self.progress.value = max(total, 1), 0
        self.progress_text.value = f"0/{total}"
        self.progress_box.layout.display = ""

    def _progressed(self, report: Progress) -> None:
        self.progress.value = report.done
        self.progress_text.value = f"{report.done}/{report.total} {report.phase}"
        line = html.escape(f"[{report.done}/{report.total}] {report.phase:<8} {report.message}")
        self._log.append(line if report.ok else f'<span class="ld-del">{line}</span>')
        self.log.value = f'<pre class="ld-yaml">{chr(10).join(self._log)}</pre>'

    def _invalidate(self, why: str = "") -> None:
        """Forget the reviewed plan (Apply goes off); ``why`` is shown over the old table."""
        if self.reviewed is None:
            return
        self.reviewed = None
        with self.syncing():
            self.confirm.value = False
        self.plan_table.add_class("ld-stale")
        if why:
            self.plan_status.value = message(f"The diff below is out of date ({why}): run Diff "
                                             "again before applying.", "warning")
        self._sync()

    def _design_changed(self) -> None:
        # any edit, even one undone later, needs a new diff before Apply
        if self.reviewed is not None and self.reviewed.design != self.state.design:
            self._invalidate("the design changed")
