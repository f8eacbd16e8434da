"""The Cluster tab's Traffic part: the design against the mesh's metrics in Prometheus.

Asks ``lanedesign.observe`` (one query), then draws ``render.traffic_diagram`` of the chosen
lane and lists the divergences; no comparison happens here.
"""

from __future__ import annotations

import ipywidgets as W

from ..observe import Comparison, Prometheus, PrometheusError, observe, read_token
from ..render.traffic import traffic_diagram
from .common import button, heading, help_text, message, safely
from .export import findings_message
from .state import DesignState

ALL_LANES = "(all lanes)"


class TrafficPart:
    """Prometheus URL, window and token file; Observe; the Traffic view and its findings."""

    def __init__(self, state: DesignState) -> None:
        self.state = state
        self.comparison: Comparison | None = None
        wide = {"description_width": "85px"}
        self.url = W.Text(description="Prometheus", placeholder="http://prometheus:9090",
                          layout=W.Layout(width="340px"), style=wide)
        self.window = W.Text(value="15m", description="window", layout=W.Layout(width="140px"),
                             style={"description_width": "55px"})
        self.token_file = W.Text(description="token file", placeholder="(none)",
                                 layout=W.Layout(width="260px"), style=wide)
        self.observe_button = button("Observe", self.run, width="100px")
        self.lane = W.Dropdown(description="lane", layout=W.Layout(width="220px"),
                               style={"description_width": "35px"})
        self.lane.observe(lambda _: self.draw(), "value")
        self.status = W.HTML()
        self.view = W.HTML(layout=W.Layout(overflow="auto"))
        self.findings = W.HTML()
        self.children: list[W.Widget] = [
            heading("Traffic"),
            help_text("Compare the design with the calls the mesh made (Istio's request "
                      "metrics in Prometheus). Export with --telemetry so the metrics carry "
                      "the lane; without it, lanes are inferred from versions."),
            W.HBox([self.url, self.window, self.token_file, self.observe_button],
                   layout=W.Layout(align_items="center", flex_flow="row wrap")),
            self.status, self.lane, self.view, self.findings]

    def run(self, at: float | None = None) -> None:
        """One query for the window; any failure becomes a message."""
        design = self.state.design
        try:
            token = read_token(self.token_file.value.strip()) \
                if self.token_file.value.strip() else None
            client = Prometheus(self.url.value.strip(), token)
            seen = observe(design, client, self.window.value.strip() or "15m", at)
        except PrometheusError as exc:
            self.status.value = message(f"{exc}. {exc.hint}", "error")
            return
        except (OSError, ValueError) as exc:
            self.status.value = message(str(exc), "error")
            return
        self.show(seen.comparison, f"{seen.comparison.series} series, {seen.window} up to "
                                   f"{seen.to_dict()['at']}")

    def show(self, comparison: Comparison, where: str = "") -> None:
        """Draw a comparison (also for one made without Prometheus, e.g. synthetic)."""
        self.comparison = comparison
        tag = "lane tag present" if comparison.tagged else "no lane tag: lanes inferred"
        self.status.value = message(f"Observed {where} ({tag}).".replace(" ()", ""), "info")
        lanes = [ALL_LANES, *dict.fromkeys(self.state.design.lane_names)]
        self.lane.options = lanes
        self.lane.value = ALL_LANES
        self.draw()
        shown = [f for f in comparison.findings if f.severity != "info"]
        self.findings.value = (findings_message("Where traffic leaves the design:", shown)
                               if shown else message("Traffic follows the design.", "ok"))

    def draw(self) -> None:
        if self.comparison is None or self.lane.value is None:
            return
        lane = None if self.lane.value == ALL_LANES else self.lane.value
        comparison, design = self.comparison, self.state.design
        self.view.value = safely(
            lambda: traffic_diagram(design, comparison, lane).svg(), "the traffic view")
