"""Adopting a team's Istio objects into services' routing (lanedesign.emit.istio_adopt):
Bookinfo's and Online Boutique's objects as shipped, and every refusal."""

from __future__ import annotations

import copy

import pytest
import yaml
from team_routing import bookinfo_adopted, bookinfo_lanes

from lanedesign.emit.common import resolve_host
from lanedesign.emit.istio import emit_istio
from lanedesign.emit.istio_adopt import adopt, adopt_routing
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
    """As Istio's ResolveShortnameToFQDN: only a name without a dot gets the namespace and
    domain; ``reviews.shop`` names no Service (the overlap check reads hosts the same way)."""
    assert resolve_host("reviews", "shop") == "reviews.shop.svc.cluster.local"
    assert resolve_host("reviews.shop", "x") == "reviews.shop"
    assert resolve_host("reviews.shop.svc", "x") == "reviews.shop.svc"
    assert resolve_host("reviews.shop.svc.cluster.local", "x") == "reviews.shop.svc.cluster.local"
    assert resolve_host("api.example.com", "x") == "api.example.com"


def test_a_virtual_service_for_a_dotted_short_name_is_not_the_services(shared_dir):
    """Istio does not apply a VirtualService for ``reviews.default`` to the reviews Service,
    so adopting it into reviews' routing would start routes the mesh never ran."""
    vs = reviews_vs(shared_dir)
    namespace = vs["metadata"].get("namespace") or "default"
    vs["spec"]["hosts"] = [f"reviews.{namespace}"]
    design, _ = adopt_routing(bookinfo_lanes(), [vs])
    assert design.service("reviews").routing is None
    vs["spec"]["hosts"] = ["reviews"]  # the same object with the short name is adopted
    design, _ = adopt_routing(bookinfo_lanes(), [vs])
    assert design.service("reviews").routing is not None


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


# -- the team's gateway route on the design's ingress gateway ---------------------------------
TEAM_PATHS = ("/productpage", "/static", "/static/css/x.css", "/login", "/logout",
              "/api/v1/products", "/api/v1/products/0/reviews")
OTHER_PATHS = ("/", "/productpagex", "/loginx", "/Login", "/stat", "/api/v1/product",
               "/api/v2/products")


def on_bookinfo_gateway() -> LaneDesign:
    """Bookinfo's lanes with the ingress on the team's Gateway (as import-cluster proposes)."""
    return bookinfo_lanes().with_ingress(gateway="default/bookinfo-gateway")


def gateway_vs(shared_dir) -> dict:
    return copy.deepcopy(next(o for o in team_objects(shared_dir, ("bookinfo-gateway",))
                              if o["kind"] == "VirtualService"))


def team_gateway_sends(vs: dict, path: str) -> bool:
    """Whether the team's gateway VirtualService routes ``path``, read from its match blocks
    with Python's own string tests (no lanedesign code)."""
    for route in vs["spec"]["http"]:
        for block in route.get("match") or [{}]:
            uri = block.get("uri") or {"prefix": "/"}
            kind, value = next(iter(uri.items()))
            if (kind == "exact" and path == value) or \
                    (kind == "prefix" and path.startswith(value)):
                return True
    return False


def test_the_gateway_route_is_read_into_the_ingress_rules_with_its_paths(shared_dir):
    from lanedesign.simulate import enter

    vs = gateway_vs(shared_dir)
    done = adopt(on_bookinfo_gateway(), [vs])
    assert [f.code for f in done.findings] == ["LD959"]
    assert done.ingress == "VirtualService default/bookinfo"
    design = done.design
    assert design.ingress.default is None
    assert [r.lane for r in design.ingress.rules] == ["v1", "v2", "v3", "v1"]
    for path in (*TEAM_PATHS, *OTHER_PATHS):
        sent = team_gateway_sends(vs, path)
        for lane in ("v2", "v3"):
            got = enter(design, {"x-lane": lane}, f"{path}?q=1")
            assert (got.lane if sent else got.status) == (lane if sent else 404), path
        plain = enter(design, {}, path)
        assert (plain.lane if sent else plain.status) == ("v1" if sent else 404), path
    assert all(team_gateway_sends(vs, p) for p in TEAM_PATHS)  # the test's paths are apt
    assert not any(team_gateway_sends(vs, p) for p in OTHER_PATHS)


def test_the_emitted_gateway_route_keeps_the_team_paths_and_adopting_again_is_a_no_op(
        shared_dir):
    design = adopt(on_bookinfo_gateway(), team_objects(shared_dir)).design
    [gateway] = [o for o in emit_istio(design) if o["metadata"]["name"] == "bookinfo-ingress"]
    assert gateway["spec"]["gateways"] == ["default/bookinfo-gateway"]
    regex = "/productpage|/static.*|/login|/logout|/api/v1/products.*"
    assert [r["match"][0]["uri"] for r in gateway["spec"]["http"]] == [{"regex": regex}] * 4
    assert "default" not in [r["name"] for r in gateway["spec"]["http"]]
    again = adopt(design, [*team_objects(shared_dir), *emit_istio(design)])
    assert again.design == design and [f.code for f in again.findings] == ["LD959"]


def test_a_route_for_every_path_changes_nothing(shared_dir):
    vs = gateway_vs(shared_dir)
    vs["spec"]["http"].append({"route": [{"destination": {"host": "productpage"}}]})
    done = adopt(on_bookinfo_gateway(), [vs])
    assert done.design == on_bookinfo_gateway()
    assert [f.code for f in done.findings] == ["LD959"]


def test_paths_regex_escapes_what_it_quotes():
    from lanedesign.emit.istio_adopt import paths_regex
    from lanedesign.matching import string_matches
    from lanedesign.model import StringMatch

    one = StringMatch("exact", "/a.b")
    assert paths_regex([one]) == one
    both = paths_regex([one, StringMatch("prefix", "/c+d"), StringMatch("regex", "/e|/f")])
    assert both == StringMatch("regex", r"/a\.b|/c\+d.*|(?:/e|/f)")
    assert [string_matches(both, p) for p in ("/a.b", "/axb", "/c+d/1", "/ccd", "/f", "/g")] \
        == [True, False, True, False, True, False]


@pytest.mark.parametrize("change, where", [
    (lambda vs: vs["spec"]["http"][0]["route"][0]["destination"].update(subset="v1"),
     "route[0]"),
    (lambda vs: vs["spec"]["http"][0]["route"][0]["destination"].update(host="reviews"),
     "route[0]"),
    (lambda vs: vs["spec"]["http"][0]["route"][0]["destination"].update(port={"number": 80}),
     "route[0]"),
    (lambda vs: vs["spec"]["http"][0]["route"].append(
        {"destination": {"host": "productpage"}}), "http[0].route"),
    (lambda vs: vs["spec"]["http"][0].update(rewrite={"uri": "/"}), "http[0].rewrite"),
    (lambda vs: vs["spec"]["http"][0].update(timeout="5s"), "http[0].timeout"),
    (lambda vs: vs["spec"]["http"][0]["match"][0].update(headers={"x": {"exact": "1"}}),
     "match[0].headers"),
    (lambda vs: vs["spec"].update(hosts=["*", "bookinfo.example.com"]), "spec.hosts"),
    (lambda vs: vs["spec"]["gateways"].append("mesh"), "spec.gateways"),
    (lambda vs: vs["spec"].update(exportTo=["."]), "spec.exportTo"),
])
def test_a_gateway_route_the_ingress_cannot_hold_is_refused(shared_dir, change, where):
    vs = gateway_vs(shared_dir)
    change(vs)
    done = adopt(on_bookinfo_gateway(), [vs])
    assert [f.code for f in done.findings] == ["LD958"], done.findings
    assert done.findings[0].path.endswith(where)
    assert done.design == on_bookinfo_gateway() and done.ingress is None


def test_a_weighted_ingress_or_a_rule_on_another_path_is_refused(shared_dir):
    from lanedesign.model import IngressRule, RequestMatch, StringMatch

    weighted = on_bookinfo_gateway().with_ingress(strategy="weighted", weights=(("v1", 100),))
    assert [f.code for f in adopt(weighted, [gateway_vs(shared_dir)]).findings] == ["LD958"]
    ruled = on_bookinfo_gateway().with_ingress(rules=(
        IngressRule("v2", RequestMatch(uri=StringMatch("prefix", "/beta"))),))
    done = adopt(ruled, [gateway_vs(shared_dir)])
    assert [(f.code, f.path) for f in done.findings] == [
        ("LD958", "spec.ingress.rules[0].match.uri")]
    assert done.design == ruled


def test_gateway_routes_on_another_gateway_or_for_other_hosts_are_not_the_ingress(
        shared_dir):
    other_gateway = bookinfo_lanes()  # istio-system/ingressgateway
    done = adopt(other_gateway, [gateway_vs(shared_dir)])
    assert done.findings == () and done.design == other_gateway and done.ingress is None
    hosted = on_bookinfo_gateway().with_ingress(hosts=("bookinfo.example.com",))
    vs = gateway_vs(shared_dir)
    vs["spec"]["hosts"] = ["shop.example.com"]
    assert adopt(hosted, [vs]).findings == ()
    vs["spec"]["hosts"] = ["*"]  # meets the ingress's host: two routes for it
    assert [f.code for f in adopt(hosted, [vs]).findings] == ["LD958"]


def test_adopt_says_which_objects_went_into_which_service(shared_dir):
    vs = reviews_vs(shared_dir)
    vs["spec"]["http"][0]["delegate"] = {"name": "r"}
    done = adopt(on_bookinfo_gateway(), [*team_objects(shared_dir, BOOKINFO[:1]), vs,
                                         *team_objects(shared_dir, BOOKINFO[2:])])
    assert done.adopted["ratings"] == ("DestinationRule default/ratings",
                                       "VirtualService default/ratings")
    assert done.refused == {"reviews": ("DestinationRule default/reviews",
                                        "VirtualService default/reviews")}
    assert done.design.service("reviews").routing is None
    assert done.ingress == "VirtualService default/bookinfo"
