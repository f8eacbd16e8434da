"""Model edits: each returns a new design and keeps every reference consistent."""

from __future__ import annotations

import dataclasses

import pytest

from lanedesign import examples
from lanedesign.model import Lane, LaneDesign, RequestMatch, Service, StringMatch


def test_values_are_immutable(mock):
    with pytest.raises(dataclasses.FrozenInstanceError):
        mock.name = "other"
    with pytest.raises(dataclasses.FrozenInstanceError):
        mock.lanes[0].services = ()


def test_build_from_plain_python():
    design = LaneDesign(
        name="demo",
        services=[Service("a", calls=["b"]), Service("b")],
        lanes=[Lane("base", {"version": "v1"}, ["a", "b"]), Lane("new", {"version": "v2"}, "b")],
        baseline="base",
    )
    assert design.lanes[1].services == ("b",)  # a lone name is one name
    assert design.lane("base").label_map == {"version": "v1"}
    assert hash(design)  # hashable: usable as a cache key


def test_membership_edit_keeps_service_order(mock):
    design = mock.with_membership("s3", "mocka", True)
    assert design.lane("s3").services == ("mocka", "mockb")
    assert mock.lane("s3").services == ("mockb",)  # the original is untouched
    assert design.with_membership("s3", "mocka", False) == mock


def test_rename_lane_updates_every_reference(shop):
    design = shop.with_fallback("user", "mobile-beta").rename_lane("mobile-beta", "beta")
    assert "beta" in design.lane_names and "mobile-beta" not in design.lane_names
    assert design.fallback_map["user"] == "beta"
    assert design.ingress.weight_map["beta"] == 5
    renamed = shop.rename_lane("base", "stable")
    assert renamed.baseline == "stable"


def test_remove_lane_removes_its_references(shop):
    design = shop.without_lane("payments-v3")
    assert "fraud" not in design.fallback_map
    assert "payments-v3" not in design.ingress.weight_map
    assert shop.without_lane("base").baseline == ""


def test_rename_and_remove_service(mock):
    renamed = mock.rename_service("mockb", "middle")
    assert renamed.service("mocka").calls == ("middle",)
    assert renamed.lane("s3").services == ("middle",)
    removed = mock.without_service("mocka")
    assert removed.ingress.entry == ""
    assert all("mocka" not in lane.services for lane in removed.lanes)


def test_fallback_edits_keep_order(shop):
    design = shop.with_fallback("user", "mobile-beta").with_fallback("fraud", "base")
    assert design.fallback == (("fraud", "base"), ("user", "mobile-beta"))
    assert design.with_fallback("fraud", None).fallback == (("user", "mobile-beta"),)


def test_effective_rules_default_to_one_header_rule_per_lane():
    design = examples.load("mock-header")
    rules = design.effective_rules
    assert [r.lane for r in rules] == ["s1", "s2", "s3"]
    assert rules[1].match.header_map["x-asm-prefer-tag"].value == "s2"


def test_with_ingress_creates_one_when_missing(mock):
    design = mock.with_(ingress=None).with_ingress(entry="mocka")
    assert design.ingress.entry == "mocka" and design.ingress.strategy == "rules"


def test_lookups_by_name_follow_edits_and_take_the_first_of_a_name(mock):
    dup = mock.with_(services=(*mock.services, Service("mocka", port=9)),
                     lanes=(*mock.lanes, Lane("s2", {"version": "v9"}, ["mockb"])))
    assert dup.service("mocka").port == 8000 and dup.service("nope") is None
    assert dup.lane("s2").services == ("mocka", "mockc") and dup.lane(None) is None
    assert not dup.lane("s2").holds("mockb") and dup.lanes[-1].holds("mockb")
    # an edit makes a new design: the lookups see the edit, the old design keeps its own
    edited = mock.with_membership("s2", "mockb", True).rename_service("mockc", "mockd")
    assert edited.lane("s2").holds("mockb") and not mock.lane("s2").holds("mockb")
    assert edited.service("mockd") is not None and edited.service("mockc") is None
    assert mock.service("mockc") is not None


def test_looking_up_leaves_equality_hash_and_pickling_alone(mock):
    import pickle

    fresh = examples.load("mock-baggage")
    mock.service("mockb"), mock.lane("s3"), mock.lanes[0].holds("mocka")
    assert mock == fresh and hash(mock) == hash(fresh) and repr(mock) == repr(fresh)
    again = pickle.loads(pickle.dumps(mock))
    assert again == mock and again.lane("s3").holds("mockb")
    assert dataclasses.replace(mock.lanes[2], services=("mocka",)).holds("mocka")


# -- lane edits the designer calls ------------------------------------------------------------
def test_add_lane_is_labelled_by_its_name_and_strict_mode_gives_it_every_service(mock):
    loose = mock.add_lane("s9")
    assert loose.lane("s9") == Lane("s9", {"version": "s9"}, ())
    strict = mock.with_(mode="strict").add_lane("s9")
    assert strict.lane("s9").services == mock.service_names
    first = LaneDesign(name="empty").add_lane("main")
    assert first.baseline == "main"  # the first lane of a design is its baseline


def test_add_service_joins_the_baseline_or_every_lane_in_strict_mode(mock):
    loose = mock.add_service("mockd")
    assert [ln.name for ln in loose.lanes if ln.holds("mockd")] == [mock.baseline]
    strict = mock.with_(mode="strict").add_service("mockd")
    assert all(ln.holds("mockd") for ln in strict.lanes)
    assert LaneDesign(name="x").add_service("a").service_names == ("a",)  # no lanes yet


@pytest.mark.parametrize(("method", "kept"), [
    ("traceId", ("x-b3-traceid", None)),
    ("header", (None, None)),
    ("baggage", (None, "lane")),
])
def test_switching_the_method_clears_the_fields_it_ignores(mock, method, kept):
    design = mock.with_method(method, trace_header="x-b3-traceid", baggage_key="lane")
    pt = design.pass_through
    assert (pt.method, pt.trace_header, pt.baggage_key) == (method, *kept)


def test_rule_edits_by_index(mock):
    design = mock.with_ingress(rules=mock.effective_rules)
    lanes = [r.lane for r in design.ingress.rules]
    moved = design.with_rule_moved(0, 1)
    assert [r.lane for r in moved.ingress.rules] == [lanes[1], lanes[0], *lanes[2:]]
    assert design.with_rule_moved(0, -1) is design  # nothing before the first
    assert [r.lane for r in design.without_rule(1).ingress.rules] == [lanes[0], *lanes[2:]]
    assert design.with_rule(0, lane="s3").ingress.rules[0].lane == "s3"
    assert design.with_rule(99, lane="s3") is design and design.without_rule(99) is design
    # a new rule goes to a lane no rule routes to yet (tests/test_model_ingress.py has more)
    routed = {r.lane for r in design.ingress.rules}
    added = design.with_new_rule().ingress.rules[-1]
    assert added.lane not in routed
    assert added.match.header_map[mock.route_header].value == added.lane


def test_weight_edit_gives_every_lane_an_entry_in_lane_order(mock):
    design = mock.with_ingress(strategy="weighted", weights=(("s2", 30),))
    weighted = design.with_weight("s1", 70)
    assert weighted.ingress.weights == tuple(
        (n, {"s1": 70, "s2": 30}.get(n, 0)) for n in mock.lane_names)


def test_reference_edits_keep_untouched_services_and_lanes_as_they_are(shop):
    renamed = shop.rename_lane(shop.lanes[-1].name, "renamed")
    assert all(a is b for a, b in zip(renamed.services, shop.services))
    assert all(a is b for a, b in zip(renamed.lanes[:-1], shop.lanes[:-1]))
    dropped = shop.without_service("no-such-service")
    assert dropped == shop


def test_removing_the_baseline_and_the_entry_leaves_them_empty(mock):
    assert mock.without_lane(mock.baseline).baseline == ""
    assert mock.without_service(mock.ingress.entry).ingress.entry == ""
    assert mock.rename_service(mock.ingress.entry, "front").ingress.entry == "front"


def test_header_conditions_are_added_last_and_the_last_removal_leaves_no_match():
    lane = StringMatch("exact", "s2")
    user = StringMatch("exact", "a")
    match = RequestMatch(headers=(("x-lane", lane),)).with_header("x-user", user)
    assert [name for name, _ in match.headers] == ["x-lane", "x-user"]
    assert match.without_header(0).headers == (("x-user", user),)
    assert RequestMatch(headers=(("x-lane", lane),)).without_header(0) is None
    with_uri = RequestMatch(uri=StringMatch("prefix", "/a"), headers=(("x-lane", lane),))
    assert with_uri.without_header(0) == RequestMatch(uri=StringMatch("prefix", "/a"))


# -- a team's routing and the ingress's paths ------------------------------------------------
def test_with_routing_sets_and_drops_a_services_team_routing(mock):
    from lanedesign.model import Routing, TeamSubset

    routing = Routing(subsets=(TeamSubset("canary", {"track": "canary"}),))
    name = mock.service_names[0]
    routed = mock.with_routing(name, routing)
    assert routed.service(name).routing == routing
    assert routed.service(name).calls == mock.service(name).calls  # nothing else changes
    assert mock.service(name).routing is None  # the design it came from is untouched
    dropped = routed.with_routing(name, None)
    assert dropped.service(name).routing is None and dropped == mock
    with pytest.raises(KeyError):
        mock.with_routing("nosuch", routing)


def test_with_ingress_path_adds_the_path_to_every_rule_and_makes_the_default_a_rule(mock):
    from lanedesign.simulate import enter

    design = mock.with_ingress(default=mock.baseline)
    uri = StringMatch("prefix", "/shop")
    limited = design.with_ingress_path(uri)
    rules = limited.ingress.rules
    assert [r.lane for r in rules] == [*(r.lane for r in design.effective_rules),
                                       design.baseline]
    assert all(r.match.uri == uri for r in rules)
    assert [r.match.headers for r in rules[:-1]] == [r.match.headers
                                                     for r in design.effective_rules]
    assert rules[-1].match.headers == () and limited.ingress.default is None
    lane = design.lane_names[-1]
    header = {design.route_header: lane}
    assert enter(limited, header, "/shop/cart").lane == lane
    assert enter(limited, {}, "/shop").lane == design.baseline
    assert enter(limited, header, "/other").status == 404  # the design before sent it on
    assert enter(design, header, "/other").lane == lane


def test_context_loss_says_why_the_lane_is_lost():
    from dataclasses import replace

    design = examples.load("mock-baggage")
    assert design.context_loss("mockb") is None
    dropped = design.with_service(replace(design.service("mockb"), propagates=False))
    assert dropped.context_loss("mockb") == "does not propagate the lane context"
    listed = design.with_service(replace(design.service("mockb"),
                                         forwards=("x-request-id",)))
    assert listed.context_loss("mockb") == "forwards only x-request-id, not baggage"
