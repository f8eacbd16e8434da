"""The Ingress tab: ordered header rules and weights."""

from __future__ import annotations

import re


# -- ingress ----------------------------------------------------------------------------------
def test_rules_are_edited_in_order(designer):
    ingress = designer.show(designer.ingress)
    rules = designer.design.ingress.rules
    assert [r.lane for r in rules] == ["s2", "s3"]
    ingress._move(0, 1)
    assert [r.lane for r in designer.design.ingress.rules] == ["s3", "s2"]
    ingress._add_rule(designer.design)
    assert len(designer.design.ingress.rules) == 3
    ingress._drop(2)
    ingress.default.value = ""
    assert designer.design.ingress.default is None


def test_weighted_ingress_and_the_distribution(designer):
    ingress = designer.show(designer.ingress)
    ingress.strategy.value = "weighted"
    assert "LD508" in [f.code for f in designer.state.findings]  # no weights yet
    boxes = {b.description: b for b in _find(ingress.body, "BoundedIntText")}
    boxes["s1"].value = 80
    ingress = designer.show(designer.ingress)
    {b.description: b for b in _find(ingress.body, "BoundedIntText")}["s2"].value = 20
    assert designer.design.ingress.weight_map == {"s1": 80, "s2": 20, "s3": 0}
    request = designer.show(designer.request)
    shares = {int(w): float(p) for p, w in
              re.findall(r"([\d.]+)% \(\d+, weight (\d+)\)", request.spread.value)}
    assert set(shares) == {80, 20, 0} and abs(shares[80] - 80) < 5 and shares[0] == 0


def test_a_header_condition_is_added_and_removed_in_the_rule(designer):
    ingress = designer.show(designer.ingress)
    before = designer.design.ingress.rules[0].match.headers
    [add, *_] = [b for b in _find(ingress.body, "Button") if b.description == "+ header condition"]
    add.click()
    after = designer.design.ingress.rules[0].match.headers
    assert after[:-1] == before and after[-1][0] == "x-user"
    ingress = designer.show(designer.ingress)
    drops = [b for b in _find(ingress.body, "Button") if b.tooltip == "remove condition"]
    drops[len(after) - 1].click()
    assert designer.design.ingress.rules[0].match.headers == before


def _find(widget, kind: str) -> list:
    found = [widget] if type(widget).__name__ == kind else []
    for child in getattr(widget, "children", ()):
        found += _find(child, kind)
    return found
