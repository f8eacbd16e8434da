"""One current lane across the designer (Lanes tab, diagram and legend, Request tab's "as lane"),
kept through add, rename, remove, undo and redo; a new lane reachable or saying why not; a
Request tab that never claims a lane the request did not get; the weighted view."""

from __future__ import annotations

import pytest

from lanedesign import examples
from lanedesign.widgets import Designer
from lanedesign.widgets.request import grouped_warnings, with_route_header
from lanedesign.widgets.state import DesignState, followed_lane


def lanes_shown(designer: Designer) -> dict[str, object]:
    """The current lane as each view shows it (the Request tab opened to read its menu)."""
    request = designer.show(designer.request)
    shown = {"state": designer.state.current_lane, "request": request.as_lane.value}
    if request.as_lane not in request.presets.children:  # weighted: no lane is asked for
        shown["request"] = shown["state"]
    designer.show(designer.lanes)
    shown.update(lanes=designer.lanes.lane.value, diagram=designer.diagram.lane.value,
                 legend=designer.diagram.canvas.lane)
    return shown


def every_view(lane: str) -> dict[str, str]:
    return dict.fromkeys(("state", "request", "lanes", "diagram", "legend"), lane)


def add_lane(designer: Designer, name: str) -> None:
    lanes = designer.show(designer.lanes)
    lanes.new_name.value = name
    lanes._add()


# -- one current lane through edits -------------------------------------------------------------
def test_the_designer_opens_on_one_lane_in_every_view(designer):
    assert lanes_shown(designer) == every_view("s2")  # the first test lane


def test_a_lane_added_becomes_current_and_undo_redo_take_it_back_and_forth(designer):
    designer.show(designer.lanes).lane.value = "s3"
    assert lanes_shown(designer) == every_view("s3")
    add_lane(designer, "s4")
    assert lanes_shown(designer) == every_view("s4")
    assert designer.request.headers.value == "x-asm-prefer-tag: s4"
    designer.undo()
    assert lanes_shown(designer) == every_view("s3")  # the lane current before the add
    designer.redo()
    assert lanes_shown(designer) == every_view("s4")


def test_renaming_the_current_lane_follows_it_and_undo_follows_back(designer):
    lanes = designer.show(designer.lanes)
    lanes.lane.value = "s3"
    lanes.name.value = "canary"
    lanes.rename.click()
    assert designer.design.lane_names == ("s1", "s2", "canary")
    assert lanes_shown(designer) == every_view("canary")
    designer.undo()
    assert lanes_shown(designer) == every_view("s3")
    designer.redo()
    assert lanes_shown(designer) == every_view("canary")


def test_renaming_another_lane_leaves_the_current_one(designer):
    designer.state.edit("rename lane s3 to canary", lambda d: d.rename_lane("s3", "canary"))
    assert lanes_shown(designer) == every_view("s2")


def test_removing_the_current_lane_picks_the_baseline_and_undo_brings_it_back(designer):
    lanes = designer.show(designer.lanes)
    lanes.lane.value = "s3"
    lanes.remove.click()
    assert lanes_shown(designer) == every_view("s1")
    designer.undo()
    assert lanes_shown(designer) == every_view("s3")


def test_undo_keeps_a_lane_chosen_since_the_edit(designer):
    designer.show(designer.lanes).checkboxes[("s3", "mocka")].value = True  # edited in s2
    designer.diagram.lane.value = "s3"  # then the user looks at s3
    designer.undo()  # the tick is undone; the view the user chose stays
    assert lanes_shown(designer) == every_view("s3")


@pytest.mark.parametrize("where", ["diagram", "legend", "matrix", "request", "typed header"])
def test_choosing_a_lane_anywhere_shows_it_everywhere(designer, where):
    if where == "diagram":
        designer.diagram.lane.value = "s3"
    elif where == "legend":
        designer.diagram.handle({"event": "lane", "lane": "s3"})
    elif where == "matrix":
        designer.show(designer.matrix)
        designer.diagram.handle({"event": "cell", "service": "mockb", "lane": "s3"})
    elif where == "request":
        designer.show(designer.request).as_lane.value = "s3"
    else:
        request = designer.show(designer.request)
        request.headers.value = "x-asm-prefer-tag: s3"
        request.send.click()
    assert lanes_shown(designer) == every_view("s3")


def test_as_lane_rewrites_the_route_header_only_and_the_header_is_what_is_sent(designer):
    request = designer.show(designer.request)
    request.headers.value = "x-user: alice\nx-asm-prefer-tag: s2"
    request.as_lane.value = "s3"
    assert request.headers.value == "x-asm-prefer-tag: s3\nx-user: alice"
    assert request.trace.lane == "s3"
    designer.show(designer.lanes).lane.value = "s2"  # chosen elsewhere: the header follows
    request = designer.show(designer.request)
    assert request.headers.value == "x-asm-prefer-tag: s2\nx-user: alice"
    assert request.as_lane.value == "s2" and request.trace.lane == "s2"
    request.as_lane.value = request.as_lane.options[-1][1]  # "no lane header"
    assert request.headers.value == "x-user: alice"
    assert designer.state.current_lane == "s2"  # a request without a lane moves no view
    request.headers.value = "x-asm-prefer-tag: s9"  # names no lane: the menu says none
    request.send.click()
    assert request.as_lane.value is None and designer.state.current_lane == "s2"


def test_with_route_header_keeps_other_lines():
    assert with_route_header("", "x-lane", "s2") == "x-lane: s2"
    assert with_route_header("X-Lane=s1\nb: 2", "x-lane", "s3") == "x-lane: s3\nb: 2"
    assert with_route_header("x-lane: s1\nb: 2", "x-lane", None) == "b: 2"


def test_followed_lane_rules():
    mock = examples.load("mock-baggage")
    assert followed_lane(mock, mock.add_lane("s4"), "s2") == "s4"
    assert followed_lane(mock, mock.rename_lane("s2", "blue"), "s2") == "blue"
    assert followed_lane(mock, mock.rename_lane("s3", "blue"), "s2") == "s2"
    assert followed_lane(mock, mock.without_lane("s2"), "s2") == "s1"
    shop = examples.load("shop")
    assert followed_lane(mock, shop, "s2") == "checkout-v2"  # another design: its first lane
    state = DesignState(mock)
    assert not state.choose_lane("s9") and state.current_lane == "s2"  # no such lane


def test_a_new_design_opens_on_its_first_lane(designer):
    designer.state.replace(examples.load("shop"), "open shop")
    assert lanes_shown(designer) == every_view("checkout-v2")
    designer.undo()
    assert lanes_shown(designer) == every_view("s2")


# -- a new lane is reachable, or says why not ---------------------------------------------------
def test_a_new_lane_with_written_rules_offers_the_rule_that_reaches_it(designer):
    assert "no request reaches" not in designer.status.value
    add_lane(designer, "s4")
    lanes = designer.lanes
    assert lanes.reach.layout.display == ""
    assert "No request can reach lane s4" in lanes.reach_note.value
    assert "ld-msg-warning" in lanes.reach_note.value
    assert "go to the default lane s1" in lanes.reach_note.value
    assert lanes.reach_rule.description == "Add rule: x-asm-prefer-tag: s4 → s4"
    assert "no request reaches s4" in designer.status.value  # on the status chip
    assert "LD509" in {f.code for f in designer.state.findings if f.severity == "warning"}
    lanes.reach_rule.click()
    assert [r.lane for r in designer.design.ingress.rules] == ["s2", "s3", "s4"]
    assert designer.undo_button.description == "Undo: add an ingress rule for s4"
    assert lanes.reach.layout.display == "none"
    assert "no request reaches" not in designer.status.value
    assert designer.state.current_lane == "s4"
    designer.undo()
    assert lanes.reach.layout.display == "" and designer.design.ingress.rules[-1].lane == "s3"


def test_a_new_lane_needs_no_offer_where_one_rule_per_lane_is_implied():
    designer = Designer("mock-header")  # no rules written: every lane has its rule
    add_lane(designer, "s4")
    assert designer.state.current_lane == "s4"
    assert designer.lanes.reach.layout.display == "none"
    assert "no request reaches" not in designer.status.value


def test_a_new_lane_under_weights_says_why_it_is_not_reached_without_a_rule_button():
    designer = Designer("mock-weighted")
    add_lane(designer, "s4")
    lanes = designer.lanes
    assert lanes.reach.layout.display == ""
    assert "weight 0" in lanes.reach_note.value
    assert lanes.reach_rule.layout.display == "none"


# -- the Request tab is honest about the lane ---------------------------------------------------
def test_a_request_served_by_another_lane_than_asked_is_no_green_success(designer):
    add_lane(designer, "s4")
    request = designer.show(designer.request)
    assert request.as_lane.value == "s4"
    status = request.status.value
    assert request.trace.lane == "s1" and request.trace.via == "default"
    assert "HTTP 200, lane <b>s1</b>" not in status and "ld-msg-ok" not in status
    assert "not in lane s4" in status and "ld-msg-warning" in status
    assert "gateway&#x27;s default" in status or "gateway's default" in status
    assert "no ingress rule sends to lane s4" in status
    assert request.carried == "x-asm-prefer-tag: s4"
    assert designer.diagram.request_header == "x-asm-prefer-tag: s4"
    # the gateway's edge says what the gateway set and what the request carried
    assert "x-asm-prefer-tag: s1" in designer.diagram.diagram.source
    assert "(the request carried x-asm-prefer-tag: s4)" in designer.diagram.diagram.source
    assert "the request carried <code>x-asm-prefer-tag: s4</code>" in \
        designer.diagram.title_html.value
    assert request.fix.layout.display == ""
    request.fix.click()  # the rule, from the Request tab too: then s4 serves it
    request = designer.show(designer.request)
    assert request.trace.lane == "s4" and "HTTP 200, lane <b>s4</b>" in request.status.value
    assert "ld-msg-ok" in request.status.value and request.fix.layout.display == "none"
    assert "the request carried" not in designer.diagram.diagram.source


def test_a_request_caught_by_an_earlier_rule_says_so(designer):
    designer.state.edit("catch all first", lambda d: d.with_ingress(
        rules=(d.ingress.rules[0].__class__("s2"), *d.ingress.rules)))
    request = designer.show(designer.request)
    request.as_lane.value = "s3"
    assert request.trace.lane == "s2"
    assert "not in lane s3" in request.status.value
    assert "rule 0, route" in request.status.value and "matched first" in request.status.value


def test_a_request_that_gets_its_lane_is_green(designer):
    request = designer.show(designer.request)
    request.as_lane.value = "s3"
    assert "HTTP 200, lane <b>s3</b>" in request.status.value
    assert "not in lane" not in request.status.value and request.fix.layout.display == "none"


def test_a_404_names_the_lane_asked_for():
    designer = Designer("mock-traceid")  # written rules, no default
    add_lane(designer, "s4")
    request = designer.show(designer.request)
    assert request.trace.status == 404
    assert "HTTP 404: the request enters no lane. It asked for lane s4" in \
        request.status.value


# -- the weighted view ------------------------------------------------------------------------
def test_weighted_ingress_prefills_no_header_it_ignores_and_names_a_typed_one():
    designer = Designer("mock-weighted")
    request = designer.show(designer.request)
    assert request.headers.value == ""  # the split ignores the route header
    assert request.path.value == "/mock"  # the path the split takes (not a 404 on "/")
    assert request.trace.status == 200
    assert "is ignored" in request.presets.children[0].value
    request.headers.value = "x-asm-prefer-tag: s2"
    request.send.click()
    assert "x-asm-prefer-tag: s2 was ignored: the weight split chose lane" in \
        request.status.value
    assert "not in lane" not in request.status.value  # nothing was asked of the split
    designer.show(designer.lanes).lane.value = "s3"  # another lane elsewhere: no header
    assert designer.show(designer.request).headers.value == "x-asm-prefer-tag: s2"


def test_repeated_warnings_are_one_line_with_a_count():
    texts = [f"context dropped: svc-{i} does not propagate the lane context" for i in range(12)]
    html = grouped_warnings([*texts, "unknown lane: x: s9 names no lane"])
    assert html.count("ld-msg-warning") == 2
    assert "context dropped … (x12)" in html and "svc-11 does not propagate" in html
    assert "unknown lane: x: s9" in html
    two = grouped_warnings(texts[:2])  # a pair stays as it is
    assert two.count("ld-msg-warning") == 2 and "(x2)" not in two
