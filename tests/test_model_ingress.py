"""Ingress edits that keep rules honest: a new rule for an unrouted lane, a rule's header
following its lane, dropping what the strategy ignores."""

from __future__ import annotations

from lanedesign import examples, validate
from lanedesign.model import IngressRule, RequestMatch, StringMatch


def test_a_new_rule_names_a_lane_nobody_routes_to_yet():
    mock = examples.load("mock-baggage")  # rules for s2 and s3 written out
    assert [r.lane for r in mock.ingress.rules] == ["s2", "s3"]
    added = mock.with_new_rule()
    rule = added.ingress.rules[-1]
    assert rule.lane == "s1"  # the only lane without a rule: the baseline
    assert rule.match.header_map["x-asm-prefer-tag"] == StringMatch("exact", "s1")
    again = added.with_new_rule()  # every lane routed: the first test lane
    assert again.ingress.rules[-1].lane == "s2"


def test_a_new_rule_on_default_rules_writes_them_out_first():
    mock = examples.load("mock-baggage")
    design = mock.with_ingress(rules=None)  # one rule per lane, s1..s3: every lane routed
    added = design.with_new_rule()
    assert [r.lane for r in added.ingress.rules] == ["s1", "s2", "s3", "s2"]
    fresh = mock.with_ingress(rules=(mock.ingress.rules[0],))
    assert fresh.with_new_rule().ingress.rules[-1].lane == "s3"  # s2 has one, s3 not


def test_a_rules_header_value_can_follow_its_lane():
    mock = examples.load("mock-baggage")
    moved = mock.with_ingress(rules=(IngressRule("s3", mock.ingress.rules[0].match),
                                     *mock.ingress.rules[1:]))
    assert moved.rule_route_value(0) == "s2"  # still matches s2's header: misleading
    fixed = moved.with_rule_route_value(0, "s3")
    assert fixed.rule_route_value(0) == "s3" and fixed.ingress.rules[0].lane == "s3"
    assert fixed.ingress.rules[1:] == moved.ingress.rules[1:]
    uri_only = mock.with_ingress(rules=(IngressRule("s2", RequestMatch(
        uri=StringMatch("prefix", "/a"))),))
    assert uri_only.rule_route_value(0) is None
    assert uri_only.with_rule_route_value(0, "s3") == uri_only  # nothing to follow
    assert mock.with_rule_route_value(7, "s3") == mock


def test_switching_strategy_offers_to_drop_what_it_ignores_and_ld507_goes():
    weighted = examples.load("mock-weighted")
    assert weighted.unused_ingress == ()
    as_rules = weighted.with_ingress(strategy="rules")
    assert as_rules.unused_ingress == ("weights", "match")
    assert "LD507" in {f.code for f in validate(as_rules)}
    clean = as_rules.without_unused_ingress()
    assert clean.ingress.weights == () and clean.ingress.match is None
    assert "LD507" not in {f.code for f in validate(clean)} and clean.unused_ingress == ()
    back = examples.load("mock-baggage").with_ingress(strategy="weighted")
    assert back.unused_ingress == ("rules",)
    assert back.without_unused_ingress().ingress.rules is None


# -- a new lane reachable in one edit (the designer offers it after "Add lane") ---------------
def test_a_rule_for_a_new_lane_makes_it_reachable():
    mock = examples.load("mock-baggage").add_lane("s4")  # written-out rules for s2, s3 only
    assert "LD509" in {f.code for f in validate(mock)}
    reached = mock.with_rule_for_lane("s4")
    assert [r.lane for r in reached.ingress.rules] == ["s2", "s3", "s4"]
    rule = reached.ingress.rules[-1]
    assert rule.match.header_map == {"x-asm-prefer-tag": StringMatch("exact", "s4")}
    assert "LD509" not in {f.code for f in validate(reached)}
    from lanedesign.simulate import simulate
    assert simulate(reached, [("x-asm-prefer-tag", "s4")]).lane == "s4"
    assert simulate(mock, [("x-asm-prefer-tag", "s4")]).lane == "s1"  # the default, before


def test_a_rule_for_a_lane_goes_before_a_catch_all_rule():
    mock = examples.load("mock-baggage").add_lane("s4")
    rules = (*mock.ingress.rules, IngressRule("s1"))  # the last rule matches everything
    design = mock.with_ingress(rules=rules).with_rule_for_lane("s4")
    assert [r.lane for r in design.ingress.rules] == ["s2", "s3", "s4", "s1"]
    assert "LD503" not in {f.code for f in validate(design)}  # not shadowed


def test_a_rule_for_a_lane_changes_nothing_where_none_is_needed_or_possible():
    mock = examples.load("mock-baggage").add_lane("s4")
    assert mock.with_rule_for_lane("s2") == mock  # s2 has its rule
    assert mock.with_rule_for_lane("s9") == mock  # no such lane
    implied = mock.with_ingress(rules=None)  # one rule per lane: s4 is reached already
    assert implied.with_rule_for_lane("s4") == implied
    weighted = examples.load("mock-weighted").add_lane("s4")
    assert weighted.with_rule_for_lane("s4") == weighted  # weights, not rules, reach a lane


def test_lanes_not_entered_are_those_no_rule_weight_or_default_sends_into():
    design = examples.load("mock-baggage")
    assert design.lanes_not_entered == ()
    explicit = design.add_lane("s4")  # mock-baggage writes out rules for s2 and s3 only
    assert explicit.lanes_not_entered == ("s4",)
    assert [f.path for f in validate(explicit) if f.code == "LD509"] == ["spec.lanes[3]"]
    assert explicit.with_rule_for_lane("s4").lanes_not_entered == ()
    weighted = examples.load("mock-weighted")
    zero = weighted.with_ingress(weights=tuple((lane, 0 if lane == "s3" else w)
                                               for lane, w in weighted.ingress.weights))
    assert zero.lanes_not_entered == ("s3",)
    assert design.with_(ingress=None).lanes_not_entered == ()
