"""Model edits: each returns a new design and keeps every reference consistent."""

from __future__ import annotations

import dataclasses

import pytest

from lanedesign import examples
from lanedesign.model import Lane, LaneDesign, Service


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
