"""Adopting a team's Istio objects into services' routing (lanedesign.emit.istio_adopt):
Bookinfo's and Online Boutique's objects as shipped, and every refusal."""

from __future__ import annotations

import copy

import pytest
import yaml
from team_routing import bookinfo_adopted, bookinfo_lanes

from lanedesign.emit.istio import emit_istio
from lanedesign.emit.istio_adopt import adopt_routing, fqdn
from lanedesign.model import LaneDesign, Service

BOOKINFO = ("destination-rule-all", "virtual-service-reviews-jason-v2-v3",
            "virtual-service-ratings-test-delay", "bookinfo-gateway")


def team_objects(shared_dir, names=BOOKINFO) -> list[dict]:
    """Bookinfo's networking objects as the team applied them (in `default`)."""
    out = []
    for name in names:
        path = shared_dir / "realapps" / "bookinfo" / "networking" / f"{name}.yaml"
        for obj in yaml.safe_load_all(path.read_text()):
            if obj:
                obj.setdefault("metadata", {})["namespace"] = "default"
                out.append(obj)
    return out


def reviews_vs(shared_dir) -> dict:
    return copy.deepcopy(next(o for o in team_objects(shared_dir)
                              if o["kind"] == "VirtualService"
                              and o["metadata"]["name"] == "reviews"))


def test_bookinfo_adopted_is_the_hand_written_routing(shared_dir):
    design, findings = adopt_routing(bookinfo_lanes(), team_objects(shared_dir))
    assert findings == []  # every object fits; the gateway's `*` VirtualService is not ours
    assert design == bookinfo_adopted()


def test_adopting_twice_changes_nothing_and_our_objects_are_skipped(shared_dir):
    design, _ = adopt_routing(bookinfo_lanes(), team_objects(shared_dir))
    again, findings = adopt_routing(design, [*team_objects(shared_dir), *emit_istio(design)])
    assert again == design and findings == []


def test_online_boutique_frontend_catch_all_to_the_whole_service(shared_dir):
    text = (shared_dir / "realapps" / "online-boutique" / "istio-manifests.yaml").read_text()
    objects = [o for o in yaml.safe_load_all(text) if o]
    for obj in objects:
        obj["metadata"].setdefault("namespace", "default")
    design = LaneDesign("boutique", services=(Service("frontend", port=80),),
                        baseline="v1").add_lane("v1")
    adopted, findings = adopt_routing(design, objects)
    assert [f.code for f in findings] == ["LD956"]
    routing = adopted.service("frontend").routing
    assert routing is not None and not routing.steers  # the baseline's subset takes it


def test_short_hosts_resolve_in_the_objects_namespace():
    assert fqdn("reviews", "shop") == "reviews.shop.svc.cluster.local"
    assert fqdn("reviews.shop", "x") == "reviews.shop.svc.cluster.local"
    assert fqdn("reviews.shop.svc", "x") == "reviews.shop.svc.cluster.local"
    assert fqdn("reviews.shop.svc.cluster.local", "x") == "reviews.shop.svc.cluster.local"
    assert fqdn("api.example.com", "x") == "api.example.com"


def refused(shared_dir, change) -> tuple[dict[str, str], LaneDesign]:
    vs = reviews_vs(shared_dir)
    change(vs)
    design, findings = adopt_routing(bookinfo_lanes(), [vs])
    return {f.code: f.path for f in findings}, design


@pytest.mark.parametrize("code, change, where", [
    ("LD950", lambda vs: vs["spec"]["http"][0].update(delegate={"name": "r"}), "http[0]"),
    ("LD951", lambda vs: vs["spec"].update(tcp=[{"route": []}]), "spec"),
    ("LD952", lambda vs: vs["spec"].update(exportTo=["shop"]), "spec.exportTo"),
    ("LD953", lambda vs: vs["spec"]["hosts"].append("ratings"), "spec.hosts"),
    ("LD953", lambda vs: vs["spec"].update(gateways=["mesh", "bookinfo-gateway"]),
     "spec.hosts"),
    ("LD954", lambda vs: vs["spec"]["http"][0]["match"][0].update(method={"exact": "GET"}),
     "match[0].method"),
    ("LD954", lambda vs: vs["spec"]["http"][0]["match"][0].update(
        queryParams={"u": {"exact": "1"}}), "match[0].queryParams"),
    ("LD954", lambda vs: vs["spec"]["http"][0]["match"][0].update(
        sourceLabels={"app": "x"}), "match[0].sourceLabels"),
    ("LD954", lambda vs: vs["spec"]["http"][0]["match"][0].update(
        withoutHeaders={"x": {"exact": "1"}}), "match[0].withoutHeaders"),
    ("LD954", lambda vs: vs["spec"]["http"][0]["match"][0]["headers"].update(
        present={}), "headers.present"),
    ("LD955", lambda vs: vs["spec"]["http"][0]["route"][0]["destination"].update(
        host="ratings"), "destination.host"),
    ("LD955", lambda vs: vs["spec"]["http"][0].update(redirect={"uri": "/x"}), "redirect"),
    ("LD955", lambda vs: vs["spec"]["http"][0]["route"][0]["destination"].pop("subset"),
     "route[0]"),
])
def test_what_cannot_be_held_is_refused_and_changes_nothing(shared_dir, code, change, where):
    found, design = refused(shared_dir, change)
    assert code in found and found[code].endswith(where), found
    assert design.service("reviews").routing is None  # refused: nothing adopted


def test_a_virtual_service_without_a_catch_all_is_a_warning(shared_dir):
    found, design = refused(shared_dir, lambda vs: vs["spec"]["http"].pop())
    assert found == {"LD957": "VirtualService default/reviews"}
    routing = design.service("reviews").routing
    assert routing is not None and routing.default == () and len(routing.routes) == 1


def test_routes_after_the_catch_all_are_dropped_as_istio_does(shared_dir):
    def extra(vs: dict) -> None:
        vs["spec"]["http"].append({"route": [{"destination": {"host": "reviews",
                                                              "subset": "v1"}}]})
    found, design = refused(shared_dir, extra)
    assert found == {}
    assert design == adopt_routing(bookinfo_lanes(), [reviews_vs(shared_dir)])[0]


def test_a_workload_selector_on_a_destination_rule_is_refused(shared_dir):
    rules = [o for o in team_objects(shared_dir, BOOKINFO[:1])]
    rules[2]["spec"]["workloadSelector"] = {"matchLabels": {"app": "x"}}
    design, findings = adopt_routing(bookinfo_lanes(), rules)
    assert [f.code for f in findings] == ["LD955"]
    assert design.service("ratings").routing is None
    assert design.service("reviews").routing is not None
