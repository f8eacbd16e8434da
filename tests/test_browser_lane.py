"""One current lane in a real browser (Voila and JupyterLab): the Lanes tab's picker, the
diagram's lane and legend, and the Request tab's "as lane" agree after add, rename and undo;
a new lane's rule is offered; the Request tab is honest about the lane a request got; the
weighted view names the header it ignores. On mock-baggage, shop and a 50 x 10 design.

The notebooks put this checkout first on ``sys.path``, so the kernel runs this tree's
lanedesign whichever one the server's Python has installed.
"""

# ruff: noqa: F811 (the ``page`` fixture is imported from test_browser; helpers name it too)
from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from conftest import ROOT
from playwright.sync_api import expect
from test_browser import (
    CANVAS,
    START_TIMEOUT,
    PageLog,
    _lab,
    _one_cell,
    _run_in_lab,
    _shot,
    _tab,
    _voila,
    chromium,  # noqa: F401 (a fixture)
    page,  # noqa: F401 (a fixture)
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]

DESIGNS = {  # notebook name -> the designer it opens
    "mock": 'Designer("mock-baggage")',
    "shop": 'Designer("shop")',
    "m50": 'Designer(design_for("M"))',  # 50 services, 10 lanes, written-out header rules
}
# (first test lane, a new lane's name) per header-rules design
LANES = {"mock": ("s2", "s4"), "m50": ("feat-001", "feat-new")}


def _notebooks(folder) -> None:
    for name, opened in DESIGNS.items():
        _one_cell(folder, name, (
            f"import sys\nsys.path.insert(0, {str(ROOT)!r})\n"
            "from benchmarks.generate import design_for\n"
            f"from lanedesign.widgets import Designer\n{opened}"))


@pytest.fixture(scope="module")
def voila_lanes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], str]]:
    """Voila serving the three notebooks; gives the page address of one by name."""
    home = tmp_path_factory.mktemp("voila-lanes")
    _notebooks(home)
    for url in _voila(home, home):
        base, token = url.split("/?token=")
        yield lambda name, base=base, token=token: (
            f"{base}/voila/render/{name}.ipynb?token={token}")


@pytest.fixture(scope="module")
def lab_lanes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], str]]:
    """JupyterLab serving the three notebooks; gives the address that opens one by name."""
    home = tmp_path_factory.mktemp("lab-lanes")
    root = home / "work"
    root.mkdir()
    _notebooks(root)
    for url in _lab(home, root, "mock.ipynb"):
        base, token = url.split("/lab/tree/mock.ipynb?token=")
        yield lambda name, base=base, token=token: (
            f"{base}/lab/tree/{name}.ipynb?reset&token={token}")


# -- opening a designer and watching the console ------------------------------------------
def _open(page, url: str, lab: bool) -> None:
    if lab:
        _run_in_lab(page, url)
    else:
        page.goto(url)
    page.locator(f"{CANVAS} svg.ld-canvas-svg g.ld-service").first.wait_for(
        timeout=START_TIMEOUT * 1000)
    page.locator(".ld-designer").scroll_into_view_if_needed()


# -- what each view shows as the current lane --------------------------------------------------
SHOWN = """() => {
  const shown = {};
  for (const w of document.querySelectorAll(".ld-designer .ld-lane-picker")) {
    if (w.offsetParent === null) continue;  // a hidden tab's picker
    const role = w.closest(".ld-diagram-panel") ? "diagram"
      : w.querySelector("label").textContent.trim();
    shown[role] = w.querySelector("select").value;
  }
  // with many lanes the diagram's menu gives way to a searchable chooser
  const find = document.querySelector(".ld-designer .ld-diagram-panel .ld-lane-find input");
  if (find && find.offsetParent !== null) shown.diagram = find.value;
  const chip = document.querySelector(".ld-designer .ld-canvas-lane.ld-current");
  if (chip) shown.legend = chip.dataset.lane;
  return shown;
}"""


def _expect_current(page, lane: str, views: tuple[str, ...]) -> None:
    """Every view in ``views`` (of: lane, as lane, diagram, legend) shows ``lane``."""
    want = dict.fromkeys(views, lane)
    try:
        page.wait_for_function(f"() => {{ const s = ({SHOWN})(); const w = {want!r}; "
                               "return Object.keys(w).every(k => s[k] === w[k]); }",
                               timeout=30_000)
    except Exception:
        pytest.fail(f"views show {page.evaluate(SHOWN)}, expected {want}")
    if "diagram" in views:  # the Request tab's diagram draws the request instead
        expect(page.locator(".ld-diagram-panel .ld-head").first).to_have_text(
            re.compile(rf"^lane {re.escape(lane)}\b"))


def _undo(page, what: str) -> None:
    """Undo ``what``; its notice ("undid: ...") must not push the tabs down."""
    tabs = page.locator(".ld-designer .lm-TabBar").first
    before = tabs.bounding_box()
    page.locator(".ld-designer button", has_text=f"Undo: {what}").click()
    page.locator(".ld-designer button", has_text=f"Undo: {what}").wait_for(state="detached",
                                                                          timeout=30_000)
    page.locator(".ld-designer .ld-msg-info", has_text=f"undid: {what}").wait_for(
        timeout=30_000)
    after = tabs.bounding_box()
    assert before and after and abs(after["y"] - before["y"]) < 1, (before, after)


def _add_lane(page, name: str) -> None:
    _tab(page, "Lanes")
    field = page.locator(".ld-designer input[placeholder='new lane name']")
    field.fill(name)
    field.press("Enter")
    page.locator(".ld-designer button", has_text="Add lane").click()
    page.locator(".ld-designer button", has_text=f"Undo: add lane {name}").wait_for(
        timeout=30_000)


# -- the scenarios ------------------------------------------------------------------------------
def _header_rules_scenario(page, design: str, prefix: str) -> None:
    """Add a lane: current everywhere, unreachable said and its rule offered; the Request tab
    says the request was not served in it, then is green once the rule is added; rename and
    undo keep every view on one lane."""
    first, new = LANES[design]
    header = "x-asm-prefer-tag"
    _tab(page, "Lanes")
    _expect_current(page, first, ("lane", "diagram", "legend"))
    _add_lane(page, new)
    _expect_current(page, new, ("lane", "diagram", "legend"))
    offer = page.locator(".ld-designer button", has_text=f"Add rule: {header}: {new} → {new}")
    expect(offer.first).to_be_visible()
    expect(page.locator(".ld-designer .ld-msg-warning",
                        has_text=f"No request can reach lane {new}").first).to_be_visible()
    expect(page.locator(".ld-designer .ld-chip", has_text=f"no request reaches {new}")
           ).to_be_visible()
    _shot(page, f"{prefix}lane-added.png")

    _tab(page, "Request")
    _expect_current(page, new, ("as lane",))
    status = page.locator(".ld-designer .ld-msg-warning", has_text=f"not in lane {new}")
    expect(status).to_be_visible(timeout=30_000)
    expect(status).to_contain_text(f"no ingress rule sends to lane {new}")
    expect(page.locator(".ld-designer .ld-msg-ok", has_text="HTTP 200")).to_have_count(0)
    expect(page.locator(".ld-diagram-panel .ld-head").first).to_contain_text(
        f"the request carried {header}: {new}")
    _shot(page, f"{prefix}request-not-in-lane.png")
    page.locator(".ld-designer button:visible", has_text=f"Add rule: {header}: {new}").click()
    page.locator(".ld-designer button", has_text=f"Undo: add an ingress rule for {new}"
                 ).wait_for(timeout=30_000)
    expect(page.locator(".ld-designer .ld-msg-ok", has_text=f"HTTP 200, lane {new}")
           ).to_be_visible(timeout=30_000)
    expect(page.locator(".ld-designer .ld-chip", has_text="no request reaches")).to_have_count(0)
    _shot(page, f"{prefix}request-in-lane.png")

    _tab(page, "Lanes")
    name = page.locator(".ld-designer .widget-text:visible", has_text="name").locator("input").first
    name.fill("canary")
    name.press("Enter")
    page.locator(".ld-designer button:visible", has_text="Rename").click()
    page.locator(".ld-designer button", has_text=f"Undo: rename lane {new} to canary").wait_for(
        timeout=30_000)
    _expect_current(page, "canary", ("lane", "diagram", "legend"))
    _shot(page, f"{prefix}lane-renamed.png")
    _undo(page, f"rename lane {new} to canary")
    _expect_current(page, new, ("lane", "diagram", "legend"))
    _undo(page, f"add an ingress rule for {new}")
    _undo(page, f"add lane {new}")
    _expect_current(page, first, ("lane", "diagram", "legend"))
    _tab(page, "Request")
    _expect_current(page, first, ("as lane",))
    expect(page.locator(".ld-designer .ld-msg-ok", has_text=f"HTTP 200, lane {first}")
           ).to_be_visible(timeout=30_000)
    expect(page.locator(".ld-diagram-panel .ld-head").first).to_contain_text(
        f"request in lane {first}", timeout=30_000)
    _shot(page, f"{prefix}lane-undone.png")


def _weighted_scenario(page, prefix: str) -> None:
    """shop's weight split: no route header pre-filled, a typed one named as ignored; a new
    lane is current everywhere and says why no request reaches it."""
    _tab(page, "Request")
    headers = page.locator(".ld-designer textarea")
    expect(headers).to_have_value("")
    expect(page.locator(".ld-designer .ld-help", has_text="is ignored")).to_be_visible()
    headers.fill("x-shop-lane: search-exp")
    page.locator(".ld-designer button", has_text="Send").first.click()
    ignored = page.locator(".ld-designer .ld-msg-info",
                           has_text="x-shop-lane: search-exp was ignored")
    expect(ignored).to_be_visible(timeout=30_000)
    expect(page.locator(".ld-designer .ld-lane-picker select:visible")).to_have_count(1)
    _shot(page, f"{prefix}weighted-request.png")
    _add_lane(page, "canary")
    _expect_current(page, "canary", ("lane", "diagram", "legend"))
    expect(page.locator(".ld-designer .ld-msg-warning", has_text="weight 0")).to_be_visible()
    _undo(page, "add lane canary")
    _expect_current(page, "checkout-v2", ("lane", "diagram", "legend"))


def _scenario(page, design: str, prefix: str) -> None:
    if design == "shop":
        _weighted_scenario(page, prefix)
    else:
        _header_rules_scenario(page, design, prefix)


@pytest.mark.parametrize("design", list(DESIGNS))
def test_one_current_lane_and_honest_requests_in_voila(voila_lanes, page, design) -> None:
    console = PageLog(page)
    _open(page, voila_lanes(design), lab=False)
    _scenario(page, design, f"lane-voila-{design}-")
    assert console.errors() == []


@pytest.mark.parametrize("design", list(DESIGNS))
def test_one_current_lane_and_honest_requests_in_jupyterlab(lab_lanes, page, design) -> None:
    console = PageLog(page)
    _open(page, lab_lanes(design), lab=True)
    _scenario(page, design, f"lane-lab-{design}-")
    assert console.errors() == []
