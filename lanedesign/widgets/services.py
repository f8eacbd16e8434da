"""Services and calls: add, remove, rename services; their ports; who calls whom (per lane
version where versions differ); who drops the context or forwards only some headers; the
team routing a service carries (read-only, or dropped)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from html import escape

import ipywidgets as W

from ..model import LaneDesign, Service
from ..render.routing import routing_lines
from .common import Panel, button, heading, help_text, message
from .state import DesignState


class ServicesPanel(Panel):
    title = "Services"

    def __init__(self, state: DesignState) -> None:
        super().__init__(state)
        self.filter = W.Text(placeholder="filter services", continuous_update=True,
                             layout=W.Layout(width="240px"))
        self.filter.observe(lambda _: self.refresh(), "value")
        self.select = W.Select(rows=16, layout=W.Layout(width="240px"))
        self.select.observe(lambda _: self._chosen(), "value")
        self.on_select: Callable[[str], None] | None = None  # the diagram centres on it
        self.new_name = W.Text(placeholder="new service name", continuous_update=False,
                               layout=W.Layout(width="160px"))
        add = button("Add", self._add, "success", "add the service (and to the baseline lane)",
                     width="72px")

        self.name = W.Text(description="name", continuous_update=False)
        self.rename = button("Rename", self._rename, tooltip="rename everywhere it is used")
        self.namespace = W.Text(description="namespace", continuous_update=False)
        self.namespace.observe(lambda c: self._set_field("namespace", c.new or None), "value")
        self.port = W.Text(description="port", continuous_update=False, placeholder="none")
        self.port.observe(lambda c: self._set_port(c.new), "value")
        self.calls = W.TagsInput(allow_duplicates=False, layout=W.Layout(width="100%"))
        self.calls.observe(lambda c: self._set_calls(c.new), "value")
        self.ports = W.HTML()
        self.version = W.Dropdown(description="version in", layout=W.Layout(width="240px"))
        self.version.observe(lambda _: self._show_version_calls(), "value")
        self.version_calls = W.TagsInput(allow_duplicates=False, layout=W.Layout(width="100%"))
        self.version_calls.observe(lambda c: self._set_version_calls(c.new), "value")
        self.version_same = button("Same as the service", self._clear_version_calls,
                                   tooltip="this version calls what the service calls",
                                   width="160px")
        self.propagates = W.Checkbox(description="propagates the lane context", indent=False)
        self.propagates.observe(lambda c: self._set_field("propagates", c.new), "value")
        self.forwards = W.Text(description="forwards only", continuous_update=False,
                               placeholder="every header that carries the lane",
                               style={"description_width": "initial"},
                               layout=W.Layout(width="100%"))
        self.forwards.observe(lambda c: self._set_forwards(c.new), "value")
        self.routing = W.HTML()
        self.drop_routing = button("Drop the team routing", self._drop_routing, "warning",
                                   "route this service by the lanes alone (undo brings the "
                                   "team's routing back)", width="180px")
        self.remove = button("Remove service", self._remove, "danger",
                             "remove the service and every reference to it")
        self.summary = W.HTML()

        left = W.VBox([self.filter, self.select, W.HBox([self.new_name, add])],
                      layout=W.Layout(width="250px", min_width="250px"))
        editor = W.VBox([
            heading("Service"),
            W.HBox([self.name, self.rename]),
            self.namespace,
            self.port,
            self.ports,
            heading("Calls (in call order)"),
            help_text("Type a service name and press Enter; only services of the design are "
                      "accepted."),
            self.calls,
            heading("Calls of one lane's version"),
            help_text("Where a lane's version calls other services than the rest (Bookinfo's "
                      "reviews v1 calls nothing, v2 and v3 call ratings)."),
            W.HBox([self.version, self.version_same]),
            self.version_calls,
            heading("Lane context"),
            self.propagates,
            help_text("Untick to model an app that drops the lane context (no trace header, "
                      "route header or baggage on its outbound calls): everything it calls is "
                      "served by the baseline. A common cause of 'my lane does not work'."),
            self.forwards,
            help_text("For an app that copies a fixed list of request headers onto its calls "
                      "(comma-separated): the lane survives only if the list holds the "
                      "pass-through method's header."),
            heading("Team routing"),
            help_text("What the service's team routes beside the lanes (adopted from their "
                      "VirtualService and DestinationRule: import-cluster --adopt). Lanes go "
                      "first; the team's routes steer the baseline's traffic (docs/istio.md)."),
            self.routing,
            self.drop_routing,
            W.HBox([self.remove], layout=W.Layout(margin="12px 0 0 0")),
        ], layout=W.Layout(flex="1 1 320px", min_width="0", max_width="620px"))
        # the editor narrows (or wraps below the list) to leave room for the diagram beside
        self.widget = W.VBox([W.HBox([left, editor], layout=W.Layout(flex_flow="row wrap")),
                              self.summary])

    # -- reading the design -------------------------------------------------------------------
    @property
    def selected(self) -> Service | None:
        return self.state.design.service(self.select.value or "")

    def refresh(self) -> None:
        super().refresh()
        design = self.state.design
        text = self.filter.value.strip().lower()
        names = [s.name for s in design.services if text in s.name.lower()]
        options = [(self._option_label(design, n), n) for n in dict.fromkeys(names)]
        with self.syncing():
            keep = self.select.value if self.select.value in names else None
            self.select.options = options
            self.select.value = keep if keep is not None else (names[0] if names else None)
        self._show_selected()
        shown = len(options)
        total = len(design.services)
        self.summary.value = ("" if shown == total else
                              message(f"showing {shown} of {total} services", "info"))

    @staticmethod
    def _option_label(design: LaneDesign, name: str) -> str:
        svc = design.service(name)
        mark = "  (drops context)" if svc is not None and not design.keeps_context(name) else ""
        tcp = "  (tcp)" if svc is not None and svc.tcp_only else ""
        return f"{name}{tcp}{mark}"

    def _show_selected(self) -> None:
        svc = self.selected
        design = self.state.design
        with self.syncing():
            for w in (self.name, self.namespace, self.port, self.calls, self.propagates,
                      self.rename, self.remove, self.version, self.version_calls,
                      self.version_same, self.forwards):
                w.disabled = svc is None
            self.drop_routing.disabled = svc is None or svc.routing is None
            if svc is None:
                self.name.value = ""
                self.ports.value = ""
                self.routing.value = ""
                return
            self.name.value = svc.name
            self.namespace.value = svc.namespace or ""
            self.namespace.placeholder = f"{design.namespace} (the design's)"
            self.port.value = "" if svc.port is None else str(svc.port)
            routed = svc.routed_port
            self.port.placeholder = (f"{routed} (the first HTTP or gRPC port)"
                                     if svc.port is None and routed is not None else "none")
            # unknown callees (a finding) stay visible: TagsInput rejects values not allowed
            self.calls.value = []
            self.calls.allowed_tags = list(dict.fromkeys(
                [*(n for n in design.service_names if n and n != svc.name),
                 *(c for c in svc.calls if c)]))
            self.calls.value = list(dict.fromkeys(c for c in svc.calls if c))
            self.propagates.value = svc.propagates
            self.forwards.value = ", ".join(svc.forwards or ())
            self.ports.value = ports_table(svc)
            self.routing.value = routing_html(design, svc)
            lanes = [ln.name for ln in design.lanes if ln.holds(svc.name)]
            keep = self.version.value if self.version.value in lanes else None
            self.version.options = lanes
            self.version.value = keep if keep is not None else (lanes[0] if lanes else None)
        self._show_version_calls()

    def _show_version_calls(self) -> None:
        svc, lane = self.selected, self.version.value
        with self.syncing():
            self.version_calls.value = []
            if svc is None or not lane:
                return
            own = svc.calls_in(lane)
            self.version_calls.allowed_tags = list(dict.fromkeys(
                [*(n for n in self.state.design.service_names if n and n != svc.name),
                 *own]))
            self.version_calls.value = list(dict.fromkeys(own))
            self.version_same.disabled = lane not in svc.lane_calls_map

    def _chosen(self) -> None:
        self._show_selected()
        if not self._syncing and self.on_select is not None and self.select.value:
            self.on_select(self.select.value)  # a user's choice, not a refresh's

    def choose(self, service: str) -> None:
        """Select ``service`` in the list (clearing a filter that hides it)."""
        if self.state.design.service(service) is None:
            return
        if service not in {v for _, v in self.select.options}:
            self.filter.value = ""  # refreshes the list
        self.select.value = service

    # -- edits --------------------------------------------------------------------------------
    def _set_field(self, field: str, value: object) -> None:
        svc = self.selected
        if svc is not None:
            self.edit(f"set {field} of {svc.name}",
                      lambda d: d.with_service(replace(svc, **{field: value})))

    def _set_port(self, text: str) -> None:
        text = text.strip()
        if text and not (text.isdigit() and 0 < int(text) < 65536):
            self.state.say(f"port {text!r} is not a number from 1 to 65535")
            return
        self._set_field("port", int(text) if text else None)

    def _set_calls(self, calls: list[str]) -> None:
        svc = self.selected
        if svc is not None:
            self.edit(f"set the calls of {svc.name}",
                      lambda d: d.with_calls(svc.name, tuple(calls)))

    def _set_version_calls(self, calls: list[str]) -> None:
        svc, lane = self.selected, self.version.value
        if svc is None or not lane or tuple(calls) == svc.calls_in(lane):
            return
        self.edit(f"set the calls of {svc.name} in lane {lane}",
                  lambda d: d.with_lane_calls(svc.name, lane, tuple(calls)))

    def _clear_version_calls(self) -> None:
        svc, lane = self.selected, self.version.value
        if svc is not None and lane:
            self.edit(f"{svc.name} in lane {lane} calls what {svc.name} calls",
                      lambda d: d.with_lane_calls(svc.name, lane, None))

    def _set_forwards(self, text: str) -> None:
        headers = tuple(dict.fromkeys(h.strip().lower() for h in text.split(",") if h.strip()))
        self._set_field("forwards", headers or None)

    def _rename(self) -> None:
        svc, new = self.selected, self.name.value.strip()
        if svc is None or not new or new == svc.name:
            return
        if self.state.edit(f"rename service {svc.name} to {new}",
                           lambda d: d.rename_service(svc.name, new)):
            self.select.value = new

    def _add(self) -> None:
        name = self.new_name.value.strip()
        if not name:
            self.state.say("type a name for the new service first")
            return
        if self.state.design.service(name) is not None:
            self.state.say(f"there is already a service {name!r}")
            return
        if self.state.edit(f"add service {name}", lambda d: add_service(d, name)):
            self.new_name.value = ""
            self.filter.value = ""
            self.select.value = name

    def _drop_routing(self) -> None:
        svc = self.selected
        if svc is not None and svc.routing is not None:
            self.edit(f"drop the team routing of {svc.name}",
                      lambda d: d.with_routing(svc.name, None))

    def _remove(self) -> None:
        svc = self.selected
        if svc is not None:
            self.edit(f"remove service {svc.name}", lambda d: d.without_service(svc.name))


def ports_table(svc: Service) -> str:
    """The service's ports as Kubernetes has them, with the protocol Istio derives."""
    if not svc.ports:
        return ""
    routed = svc.route_port
    rows = "".join(
        f"<tr><td>{escape(p.name or '')}</td><td>{p.port}</td>"
        f"<td>{escape(str(p.target_port if p.target_port is not None else p.port))}</td>"
        f"<td>{escape(p.protocol)}</td>"
        f"<td>{'routed by lanes' if p is routed and p.routes_http else ''}"
        f"{'TCP: no header routing' if not p.routes_http else ''}</td></tr>"
        for p in svc.ports)
    return ("<table class='ld-ports'><tr><th>port</th><th>number</th><th>targetPort</th>"
            f"<th>protocol</th><th></th></tr>{rows}</table>")


def routing_html(design: LaneDesign, svc: Service) -> str:
    """The service's team routing, one line each (``render.routing``), or a word on none."""
    if svc.routing is None:
        return '<div class="ld-help">none: the lanes alone route it</div>'
    lanes = [ln.name for ln in design.lanes if ln.holds(svc.name)]
    rows = "".join(f"<li>{escape(line)}</li>" for line in routing_lines(svc.routing, lanes))
    return f"<ul class='ld-routing'>{rows}</ul>"


def add_service(design: LaneDesign, name: str) -> LaneDesign:
    """``LaneDesign.add_service`` (kept here for callers of the widget module)."""
    return design.add_service(name)
