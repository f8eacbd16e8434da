"""Ingress: gateway, hosts, entry service, ordered header rules or weights, default lane."""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as W

from ..emit.istio import rule_route_name
from ..model import MATCH_KINDS, LaneDesign, RequestMatch, StringMatch
from .common import Panel, button, heading, help_text, labelled, message
from .state import DesignState

NONE = ""  # dropdown value for "nothing chosen"


class MatchEditor:
    """Widgets for one request match (a URI condition and header conditions, all must hold)."""

    def __init__(self, match: RequestMatch | None,
                 on_change: Callable[[RequestMatch | None], None]) -> None:
        self.on_change = on_change
        self.in_place = False  # the last change was a value typed into these widgets
        uri = match.uri if match else None
        self.uri_kind = W.Dropdown(options=[("any path", NONE), *((k, k) for k in MATCH_KINDS)],
                                   value=uri.kind if uri and uri.kind in MATCH_KINDS else NONE,
                                   description="path", layout=W.Layout(width="180px"),
                                   style={"description_width": "40px"})
        self.uri_value = W.Text(value=uri.value if uri else "", continuous_update=False,
                                placeholder="/", layout=W.Layout(width="200px"))
        self.uri_value.layout.display = "" if uri else "none"
        self.headers: list[tuple[W.Text, W.Dropdown, W.Text]] = []
        rows = []
        for name, cond in (match.headers if match else ()):
            row = (W.Text(value=name, continuous_update=False, placeholder="header name",
                          layout=W.Layout(width="170px")),
                   W.Dropdown(options=list(MATCH_KINDS),
                              value=cond.kind if cond.kind in MATCH_KINDS else "exact",
                              layout=W.Layout(width="90px")),
                   W.Text(value=cond.value, continuous_update=False, placeholder="value",
                          layout=W.Layout(width="170px")))
            self.headers.append(row)
            index = len(self.headers) - 1
            drop = button("✕", lambda i=index: self._drop_header(i), tooltip="remove condition",
                          width="34px")
            rows.append(W.HBox([W.Label("header", layout=W.Layout(width="52px")), *row, drop]))
        for w in (self.uri_kind, self.uri_value, *(x for row in self.headers for x in row)):
            w.observe(lambda _: self.emit(in_place=True), "value")
        add = button("+ header condition", self._add_header)
        self.widget = W.VBox([W.HBox([self.uri_kind, self.uri_value]), *rows, add],
                             layout=W.Layout(align_items="flex-start"))

    def current(self) -> RequestMatch | None:
        uri = None
        if self.uri_kind.value:
            uri = StringMatch(self.uri_kind.value, self.uri_value.value)
        headers = tuple((n.value.strip().lower(), StringMatch(k.value, v.value))
                        for n, k, v in self.headers)
        return RequestMatch(uri=uri, headers=headers) if uri or headers else None

    def emit(self, match: RequestMatch | None = None, in_place: bool = False) -> None:
        """Hand the match on; ``in_place``: a typed value, which these widgets already show."""
        self.in_place = in_place
        self.on_change(match if match is not None else self.current())

    def _add_header(self) -> None:
        match = self.current() or RequestMatch()
        self.emit(match.with_header("x-user", StringMatch("exact", "")))

    def _drop_header(self, index: int) -> None:
        self.in_place = False
        self.on_change((self.current() or RequestMatch()).without_header(index))


class IngressPanel(Panel):
    title = "Ingress"

    def __init__(self, state: DesignState) -> None:
        super().__init__(state)
        style = {"description_width": "90px"}
        self.gateway = W.Text(description="gateway", continuous_update=False,
                              placeholder="namespace/name", style=style,
                              layout=W.Layout(width="330px"))
        self.gateway.observe(lambda c: self._set("set the gateway", gateway=c.new.strip()),
                             "value")
        self.hosts = W.Text(description="hosts", continuous_update=False, style=style,
                            placeholder="*, shop.example.com", layout=W.Layout(width="330px"))
        self.hosts.observe(lambda c: self._set("set the hosts", hosts=tuple(
            h.strip() for h in c.new.split(",") if h.strip())), "value")
        self.entry = W.Dropdown(description="entry service", style=style,
                                layout=W.Layout(width="290px"))
        self.entry.observe(lambda c: self._set(f"enter at {c.new}", entry=c.new), "value")
        self.strategy = W.ToggleButtons(options=[("header rules", "rules"),
                                                 ("weights", "weighted")])
        self.strategy.observe(lambda c: self._set(f"use {c.new} ingress", strategy=c.new),
                              "value")
        self.default = W.Dropdown(description="default lane", style=style,
                                  layout=W.Layout(width="290px"))
        self.default.observe(lambda c: self._set("set the default lane",
                                                 default=c.new or None), "value")
        self.body = W.VBox()
        self._shape: tuple | None = None  # what the body's widgets were built for
        self._in_place = False  # the edit being made was typed into the body's widgets
        self._offers: list[tuple[W.HTML, W.Button, W.HBox]] = []  # per rule: header offer
        self._matchers: list[MatchEditor] = []  # per rule
        self._notes: list[W.HTML] = []  # per rule: the route it is emitted as
        self._sum = W.HTML()
        self.widget = W.VBox([
            help_text("The gateway sends requests to the entry service and sets the route "
                      "header to the lane it chose."),
            W.HBox([W.VBox([self.gateway, self.hosts]), W.VBox([self.entry, self.default])]),
            labelled("strategy", self.strategy, "86px"),
            self.body,
        ])

    def _set(self, what: str, **changes: object) -> None:
        self.edit(what, lambda d: d.with_ingress(**changes))

    def refresh(self) -> None:
        super().refresh()
        design = self.state.design
        ingress = design.ingress
        lanes = list(dict.fromkeys(design.lane_names))
        with self.syncing():
            for w in (self.gateway, self.hosts, self.entry, self.strategy, self.default):
                w.disabled = ingress is None
            if ingress is None:
                self.body.children = [
                    W.HTML(message("The design has no ingress: no request can enter a lane.",
                                   "warning")),
                    button("Add an ingress", self._add_ingress, "success")]
                return
            self.gateway.value = ingress.gateway
            self.hosts.value = ", ".join(ingress.hosts)
            services = list(dict.fromkeys(design.service_names))
            known = ingress.entry in services
            self.entry.options = ([] if known else [(ingress.entry or "(none)", NONE)]) + \
                [(s, s) for s in services]
            self.entry.value = ingress.entry if known else NONE
            if ingress.strategy in ("rules", "weighted"):
                self.strategy.value = ingress.strategy
            self.default.options = [("none: unmatched requests get 404", NONE),
                                    *((n, n) for n in lanes)]
            self.default.value = ingress.default if ingress.default in lanes else NONE
        shape = _shape(design)
        typed, self._in_place = self._in_place, False
        if not (typed and shape == self._shape):
            # rebuilt only when its shape changes or the edit came from elsewhere (undo):
            # a value typed into a rule keeps its field, and keyboard focus stays there
            self._shape = shape
            if ingress.strategy == "weighted":
                self.body.children = self._weighted_body(design)
            else:
                self.body.children = self._rules_body(design)
        self._update(design)

    def _typed(self, what: str, change: Callable[[LaneDesign], LaneDesign]) -> None:
        """An edit of a value the body's widgets already show (no rebuild needed)."""
        self._in_place = True
        self.edit(what, change)
        self._in_place = False

    def _update(self, design: LaneDesign) -> None:
        """The parts that follow values without a rebuild: offers and the weights' sum."""
        ingress = design.ingress
        rules = ingress.rules or () if ingress else ()
        for i, note in enumerate(self._notes):
            if i < len(rules):
                every = "matches every request; " if rules[i].match is None else ""
                note.value = (f'<div class="ld-help">{every}emitted as route '
                              f'<code>{rule_route_name(i, rules[i].lane)}</code></div>')
        for i, (text, fix, box) in enumerate(self._offers):
            value = design.rule_route_value(i) if i < len(rules) else None
            stale = value is not None and value != rules[i].lane
            box.layout.display = "" if stale else "none"
            if stale:
                text.value = message(
                    f"rule {i} sends to {rules[i].lane} but still matches "
                    f"{design.route_header}: {value}", "warning")
                fix.description = f"match {design.route_header}: {rules[i].lane}"
        if ingress is not None and ingress.strategy == "weighted":
            total = sum(ingress.weight_map.values())
            self._sum.value = message(f"sum: {total}" + ("" if total == 100 else
                                                          " (must be 100)"),
                                      "ok" if total == 100 else "warning")

    def _add_ingress(self) -> None:
        entry = next(iter(self.state.design.service_names), "")
        self.edit("add an ingress", lambda d: d.with_ingress(entry=entry))

    # -- header rules -------------------------------------------------------------------------
    def _rules_body(self, design: LaneDesign) -> list[W.Widget]:
        ingress = design.ingress
        assert ingress is not None
        parts: list[W.Widget] = [*self._unused_offer(design),
                                 heading("Rules: the first rule that matches chooses the lane")]
        self._offers, self._matchers, self._notes = [], [], []
        if ingress.rules is None:
            rules = "; ".join(f"{design.route_header} = {r.lane}" for r in design.effective_rules)
            parts += [W.HTML(message(f"No rules written: one rule per lane matching the route "
                                     f"header ({rules or 'no lanes yet'}).", "info")),
                      button("Write these rules out to edit them", lambda: self._set(
                          "write out the default rules", rules=design.effective_rules))]
            return parts
        lanes = list(dict.fromkeys(design.lane_names))
        for i, rule in enumerate(ingress.rules):
            options = lanes if rule.lane in lanes else [*lanes, rule.lane]
            # numbered from 0 like rules[0] in findings and the Request tab, and named like
            # the route the Istio target emits for it
            lane = W.Dropdown(options=options, value=rule.lane, description=f"rule {i} →",
                              layout=W.Layout(width="210px"), style={"description_width": "60px"},
                              tooltip=f"emitted as route {rule_route_name(i, rule.lane)}")
            lane.observe(lambda c, i=i: self._typed(
                f"send rule {i} to {c.new}", lambda d: d.with_rule(i, lane=c.new)), "value")
            tools = [button("↑", lambda i=i: self._move(i, -1), width="34px",
                            tooltip="evaluate earlier"),
                     button("↓", lambda i=i: self._move(i, 1), width="34px",
                            tooltip="evaluate later"),
                     button("✕", lambda i=i: self._drop(i), width="34px", tooltip="remove rule")]
            matcher = MatchEditor(rule.match, lambda m, i=i: self._match_changed(i, m))
            self._matchers.append(matcher)
            note = W.HTML()  # the emitted route's name, kept up to date by _update
            self._notes.append(note)
            text, fix = W.HTML(), button("", lambda i=i: self.edit(
                f"match rule {i}'s header to its lane",
                lambda d: d.with_rule_route_value(i, d.ingress.rules[i].lane)))
            offer = W.HBox([text, fix], layout=W.Layout(align_items="center", display="none"))
            self._offers.append((text, fix, offer))
            box = W.VBox([W.HBox([lane, *tools, note], layout=W.Layout(align_items="center")),
                          offer,
                          W.Box([matcher.widget], layout=W.Layout(margin="0 0 0 64px"))],
                         layout=W.Layout(border="1px solid #ddd", padding="4px",
                                         margin="0 0 4px 0"))
            parts.append(box)
        add = button("+ rule", lambda: self._add_rule(design))
        reset = button("Back to one rule per lane", lambda: self._set(
            "go back to the default rules", rules=None))
        parts.append(W.HBox([add, reset]))
        return parts

    def _match_changed(self, index: int, match: RequestMatch | None) -> None:
        typed = index < len(self._matchers) and self._matchers[index].in_place
        (self._typed if typed else self.edit)(f"change the match of rule {index}",
                                              lambda d: d.with_rule(index, match=match))

    def _move(self, index: int, step: int) -> None:
        self.edit(f"move rule {index} {'up' if step < 0 else 'down'}",
                  lambda d: d.with_rule_moved(index, step))

    def _drop(self, index: int) -> None:
        self.edit(f"remove rule {index}", lambda d: d.without_rule(index))

    def _add_rule(self, design: LaneDesign) -> None:
        added = design.with_new_rule()
        lane = added.ingress.rules[-1].lane if added.ingress and added.ingress.rules else ""
        self.edit(f"add a rule for {lane}", lambda d: d.with_new_rule())

    def _unused_offer(self, design: LaneDesign) -> list[W.Widget]:
        """What the strategy ignores (LD507), with the control to drop it."""
        unused = design.unused_ingress
        if not unused:
            return []
        words = {"weights": "the weights", "match": "the group-wide match",
                 "rules": "the header rules"}
        what = " and ".join(words[f] for f in unused)
        strategy = "weights" if design.ingress and design.ingress.strategy == "weighted" \
            else "header rules"
        return [W.HTML(message(f"The {strategy} strategy ignores {what} (LD507); they stay in "
                               "the design file until dropped.", "warning")),
                button(f"Drop {what}", lambda: self.edit(f"drop {what}",
                                                         lambda d: d.without_unused_ingress()),
                       "warning")]

    # -- weights ------------------------------------------------------------------------------
    def _weighted_body(self, design: LaneDesign) -> list[W.Widget]:
        ingress = design.ingress
        assert ingress is not None
        matcher = MatchEditor(ingress.match, lambda m: (
            self._typed if matcher.in_place else self.edit)(
                "change the weighted match", lambda d: d.with_ingress(match=m)))
        weights = ingress.weight_map
        boxes = []
        for lane in dict.fromkeys(design.lane_names):
            box = W.BoundedIntText(value=max(weights.get(lane, 0), 0), min=0, max=100,
                                   description=lane, layout=W.Layout(width="200px"),
                                   style={"description_width": "110px"})
            box.observe(lambda c, lane=lane: self._weight(lane, c.new), "value")
            boxes.append(box)
        self._sum = W.HTML()
        return [
            *self._unused_offer(design),
            heading("Which requests are split"),
            help_text("Requests matching this (all conditions) are split by weight; others go "
                      "to the default lane, or get 404."),
            matcher.widget,
            heading("Weights (percent)"),
            W.HBox(boxes, layout=W.Layout(flex_flow="row wrap")),
            self._sum,
        ]

    def _weight(self, lane: str, value: int) -> None:
        self._typed(f"weight {lane} {value}", lambda d: d.with_weight(lane, value))


def _shape(design: LaneDesign) -> tuple:
    """What the ingress body's widgets are built from, but for the values typed into them."""
    ing = design.ingress
    if ing is None:
        return ()
    rules = None if ing.rules is None else tuple(
        (r.match is None, r.match is not None and r.match.uri is not None,
         len(r.match.headers) if r.match else 0) for r in ing.rules)
    weighted = (ing.match is not None and ing.match.uri is not None,
                len(ing.match.headers) if ing.match else 0)
    return (ing.strategy, tuple(dict.fromkeys(design.lane_names)), rules, weighted,
            design.unused_ingress, design.route_header)
