"""Ingress editing that cannot mislead: new-rule defaults, a header that follows its rule's
lane, dropping what the strategy ignores, one numbering, and fields kept while typing."""

from __future__ import annotations

import ipywidgets as W
import pytest

from lanedesign import validate
from lanedesign.emit import emit
from lanedesign.widgets import Designer


@pytest.fixture
def designer():
    return Designer("mock-baggage")


def _find(widget, kind):
    if isinstance(widget, kind):
        yield widget
    for child in getattr(widget, "children", ()):
        yield from _find(child, kind)


def test_a_new_rule_names_an_unrouted_lane_with_its_own_header_value(designer):
    ingress = designer.show(designer.ingress)
    add = next(b for b in _find(ingress.body, W.Button) if b.description == "+ rule")
    add.click()
    rule = designer.design.ingress.rules[-1]
    assert rule.lane == "s1" and rule.match.header_map["x-asm-prefer-tag"].value == "s1"
    assert designer.undo_button.description == "Undo: add a rule for s1"
    assert all(box.layout.display == "none" for _, _, box in ingress._offers)


def test_changing_a_rules_lane_offers_to_update_its_header_value(designer):
    ingress = designer.show(designer.ingress)
    lane = next(d for d in _find(ingress.body, W.Dropdown) if d.description == "rule 0 →")
    lane.value = "s3"
    assert designer.design.ingress.rules[0].lane == "s3"
    text, fix, box = ingress._offers[0]
    assert box.layout.display == ""
    assert "rule 0 sends to s3 but still matches x-asm-prefer-tag: s2" in text.value
    assert fix.description == "match x-asm-prefer-tag: s3"
    fix.click()
    assert designer.design.rule_route_value(0) == "s3"
    assert ingress._offers[0][2].layout.display == "none"
    designer.undo()
    assert designer.design.rule_route_value(0) == "s2"
    assert ingress._offers[0][2].layout.display == ""  # the offer is back with the mismatch


def test_switching_weights_to_rules_offers_to_drop_the_weights_and_group_match():
    designer = Designer("mock-weighted")
    ingress = designer.show(designer.ingress)
    ingress.strategy.value = "rules"
    assert "LD507" in {f.code for f in designer.state.findings}
    drop = next(b for b in _find(ingress.body, W.Button) if b.description.startswith("Drop"))
    assert drop.description == "Drop the weights and the group-wide match"
    drop.click()
    assert "LD507" not in {f.code for f in designer.state.findings}
    assert designer.design.ingress.weights == () and designer.design.ingress.match is None
    assert not [b for b in _find(ingress.body, W.Button) if b.description.startswith("Drop")]


def test_rules_are_numbered_as_findings_the_request_tab_and_emitted_routes_are(designer):
    ingress = designer.show(designer.ingress)
    labels = [d.description for d in _find(ingress.body, W.Dropdown)
              if d.description.startswith("rule ")]
    assert labels == ["rule 0 →", "rule 1 →"]
    notes = [n.value for n in ingress._notes]
    routes = [r["name"] for obj in emit(designer.design, "istio")
              if obj["kind"] == "VirtualService" for r in obj["spec"].get("http", ())
              if r["name"].startswith("rule-")]
    assert routes == ["rule-0-s2", "rule-1-s3"]
    assert all(f"<code>{name}</code>" in note for name, note in zip(routes, notes))
    request = designer.show(designer.request)
    request.headers.value = "x-asm-prefer-tag: s3"
    request.send.click()
    assert "chosen by rule 1, route rule-1-s3" in request.status.value


def test_typing_into_a_rule_keeps_its_fields_so_keyboard_focus_stays(designer):
    ingress = designer.show(designer.ingress)
    before = ingress.body.children
    value = next(t for t in _find(ingress.body, W.Text) if t.value == "s2")
    value.value = "s2-beta"  # typed, then Enter or Tab
    assert designer.design.rule_route_value(0) == "s2-beta"
    assert ingress.body.children == before and value in _find(ingress.body, W.Text)
    assert ingress._offers[0][2].layout.display == ""  # the mismatch shows without a rebuild
    lane = next(d for d in _find(ingress.body, W.Dropdown) if d.description == "rule 0 →")
    lane.value = "s3"
    assert ingress.body.children == before
    assert "rule-0-s3" in ingress._notes[0].value
    designer.undo()  # from elsewhere: the body is rebuilt to show the design
    assert ingress.body.children != before
    assert validate(designer.design) == designer.state.findings
