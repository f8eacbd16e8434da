"""The Cluster tab's import part: propose a design from workloads or a lane group's objects,
show it with its findings, and load it as one undoable edit."""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as W

from .. import cluster
from ..cluster import Cluster, ImportResult
from .cluster_views import attempt, proposal_html
from .common import button, heading, help_text, message
from .state import DesignState

LABEL_KEYS = ["version", "ASM_TRAFFIC_TAG"]
_LABEL_WIDTH = {"description_width": "85px"}


class ImportPart:
    """Import controls over the panel's connection (``connection()``: None when there is none)."""

    def __init__(self, state: DesignState, connection: Callable[[], Cluster | None]) -> None:
        self.state = state
        self.connection = connection
        self.proposal: ImportResult | None = None
        self.source = W.ToggleButtons(options=[("from workloads", "workloads"),
                                               ("from a lane group", "group")],
                                      style={"button_width": "140px"})
        self.source.observe(lambda _: self._show_source(), "value")
        self.namespaces = W.Text(description="namespaces", placeholder="shop, payments",
                                 layout=W.Layout(width="300px"), style=_LABEL_WIDTH)
        self.label_key = W.Combobox(value=LABEL_KEYS[0], options=LABEL_KEYS,
                                    description="label key", ensure_option=False,
                                    layout=W.Layout(width="230px"),
                                    style={"description_width": "65px"})
        self.design_name = W.Text(description="name", placeholder="the first namespace",
                                  layout=W.Layout(width="220px"),
                                  style={"description_width": "40px"})
        self.keep_calls = W.Checkbox(description="keep the current design's calls, headers "
                                     "and ingress", indent=False, layout=W.Layout(width="auto"))
        self.workloads_box = W.HBox([self.namespaces, self.label_key, self.design_name],
                                    layout=W.Layout(flex_flow="row wrap"))
        self.group = W.Text(description="lane group", layout=W.Layout(width="300px"),
                            style=_LABEL_WIDTH)
        self.propose_button = button("Propose a design", self.propose, width="150px")
        self.use_button = button("Use this design", self.use_proposal, "success",
                                 width="150px")
        self.note = W.HTML()
        self.view = W.HTML(layout=W.Layout(max_height="320px", overflow="auto"))
        self._show_source()
        self.children: list[W.Widget] = [
            heading("Import a design"),
            help_text("From workloads: each value of a pod label becomes a lane; each Service "
                      "brings its selector and ports, its workloads' environment the calls "
                      "it names (inferred), and a gateway route or LoadBalancer the ingress. "
                      "From a lane group: the design behind the objects it owns."),
            self.source, self.workloads_box, self.group, self.keep_calls,
            W.HBox([self.propose_button, self.use_button, self.note],
                   layout=W.Layout(align_items="center")),
            self.view]

    def sync(self) -> None:
        """Enable the buttons that may run now."""
        self.group.placeholder = self.state.design.name
        self.propose_button.disabled = self.connection() is None
        self.use_button.disabled = self.proposal is None or self.proposal.design is None

    def _show_source(self) -> None:
        workloads = self.source.value == "workloads"
        self.workloads_box.layout.display = "" if workloads else "none"
        self.group.layout.display = "none" if workloads else ""

    def propose(self) -> None:
        """Read the cluster and show a proposed design with its findings."""
        conn, design = self.connection(), self.state.design
        if conn is None:
            return
        if self.source.value == "group":
            group = self.group.value.strip() or design.name
            result = attempt(self.note, lambda: cluster.import_owned(
                conn, group, existing=design if self.keep_calls.value else None))
        else:
            namespaces = [n for n in (p.strip() for p in self.namespaces.value.split(",")) if n]
            if not namespaces:
                self.note.value = message("Enter at least one namespace.", "warning")
                return
            result = attempt(self.note, lambda: cluster.import_design(
                conn, namespaces, self.label_key.value.strip() or LABEL_KEYS[0],
                self.design_name.value.strip() or None,
                existing=design if self.keep_calls.value else None))
        self.proposal = result
        self.view.value = proposal_html(result) if result else ""
        if result is not None:
            self.note.value = ""
        self.sync()

    def use_proposal(self) -> None:
        """Load the proposed design as one undoable edit."""
        if self.proposal is None or self.proposal.design is None:
            return
        name = self.proposal.design.name
        if self.state.replace(self.proposal.design, f"use the imported design {name}"):
            self.note.value = message(f"Now editing {name}; Undo goes back.", "ok")
