"""The live diagram in a real browser: requests drawn as they went and a view that follows
the edit, in Voila and JupyterLab, from the three-service mock to 1,000 services x 50 lanes.

Each test asserts what a user sees: a node's bounding box inside the canvas's visible box
(not merely in the DOM), the gateway in the first view, a red gateway for a 404, and a
console without errors. Servers, browser and helpers come from tests/test_browser.py.
Screenshots go to ``test-artifacts/canvas-*.png``.
"""
# ruff: noqa: F811 (the browser fixtures, imported, share the name of the page argument)

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from conftest import ROOT
from playwright.sync_api import expect
from test_browser import (
    CANVAS,
    START_TIMEOUT,
    PageLog,
    _drag,
    _lab,
    _one_cell,
    _run_in_lab,
    _service,
    _shot,
    _tab,
    _voila,
    chromium,  # noqa: F401 (a fixture)
    page,  # noqa: F401 (a fixture)
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

STAGE = f"{CANVAS} .ld-canvas-stage"
DRAWN = f"{CANVAS} svg.ld-canvas-svg g.ld-service"
# how much of a node's box lies inside the stage's visible box (1: all of it)
INSIDE = """([node, stage]) => {
  const n = document.querySelector(node), s = document.querySelector(stage);
  if (!n || !s) return 0;
  const a = n.getBoundingClientRect(), b = s.getBoundingClientRect();
  const w = Math.max(0, Math.min(a.right, b.right) - Math.max(a.left, b.left));
  const h = Math.max(0, Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top));
  return a.width * a.height ? (w * h) / (a.width * a.height) : 0;
}"""
IN_VIEW = f"(args) => ({INSIDE})(args) > 0.99"


def _designer_cell(expr: str) -> str:
    return (f"import sys\nsys.path.insert(0, {str(ROOT / 'tests')!r})\n"
            f"sys.path.insert(0, {str(ROOT)!r})\n"
            "from lanedesign.widgets import Designer\n" + expr)


@pytest.fixture(scope="module")
def voila_header(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("voila-header")
    yield from _voila(_one_cell(home, "header", _designer_cell('Designer("mock-header")')),
                      home)


@pytest.fixture(scope="module")
def voila_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("voila-shop")
    yield from _voila(_one_cell(home, "shop", _designer_cell('Designer("shop")')), home)


@pytest.fixture(scope="module")
def voila_50(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("voila-50")
    yield from _voila(_one_cell(home, "fifty", _designer_cell(
        "from synthetic import layered_design\nDesigner(layered_design(50, 10))")), home)


@pytest.fixture(scope="module")
def voila_1000(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("voila-1000")
    yield from _voila(_one_cell(home, "thousand", _designer_cell(
        "from benchmarks.generate import design_for\nDesigner(design_for('L'))")), home)


@pytest.fixture(scope="module")
def lab_50(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """JupyterLab with a one-cell notebook: the designer on 50 services x 10 lanes."""
    home = tmp_path_factory.mktemp("lab-50")
    root = home / "work"
    root.mkdir()
    _one_cell(root, "fifty", _designer_cell(
        "from synthetic import layered_design\nDesigner(layered_design(50, 10))"))
    yield from _lab(home, root, "fifty.ipynb")


# -- helpers ----------------------------------------------------------------------------------
def _open(page, url: str) -> PageLog:
    console = PageLog(page)
    page.goto(url)
    page.locator(DRAWN).first.wait_for(timeout=START_TIMEOUT * 1000)
    page.locator(STAGE).scroll_into_view_if_needed()
    return console


def _in_view(page, node: str, timeout: int = 30_000) -> None:
    """Wait until ``node``'s box lies inside the canvas stage's visible box."""
    page.wait_for_function(IN_VIEW, arg=[node, STAGE], timeout=timeout)


def _node(service: str) -> str:
    return f'{CANVAS} g.ld-service[data-service="{service}"]'


def _gateway_in_first_view(page) -> None:
    _in_view(page, f"{CANVAS} svg.ld-canvas-svg g#gateway")


def _add_service(page, name: str) -> None:
    _tab(page, "Services")
    field = page.locator(".ld-designer input[placeholder='new service name']")
    field.fill(name)
    field.press("Enter")
    page.locator(".ld-designer button", has_text=re.compile(r"^Add$")).first.click()
    page.locator("button", has_text=f"Undo: add service {name}").wait_for(timeout=60_000)


# -- requests drawn as they went -------------------------------------------------------------
def test_a_404_is_drawn_at_a_red_gateway_with_nothing_reached(voila_header: str, page) -> None:
    console = _open(page, voila_header)
    _tab(page, "Request")
    headers = page.locator(".ld-designer textarea").first
    headers.fill("")
    page.locator(".ld-designer button", has_text=re.compile(r"^Send$")).click()
    head = page.locator(".ld-diagram-panel .ld-head")
    expect(head).to_have_text("HTTP 404: no rule matches; no default", timeout=30_000)
    gateway = page.locator(f"{CANVAS} svg g#gateway")
    expect(gateway).to_contain_text("404: no rule matches; no default")
    assert gateway.locator("polygon").first.get_attribute("stroke") == "#c0392b"
    _in_view(page, f"{CANVAS} svg g#gateway")
    # no service drawn as reached or in a lane, and no arrow from the gateway
    for service in ("mocka", "mockb", "mockc"):
        text = page.locator(_node(service)).text_content() or ""
        assert "not reached" in text and "@s1" not in text
    assert page.locator(f"{CANVAS} svg g.edge title", has_text="gateway").count() == 0
    _shot(page, "canvas-404-voila.png")
    # the negative: a request with its header gets an arrow into the entry again
    headers.fill("x-asm-prefer-tag: s2")
    page.locator(".ld-designer button", has_text=re.compile(r"^Send$")).click()
    expect(head).to_contain_text("request in lane s2", timeout=30_000)
    assert page.locator(f"{CANVAS} svg g.edge").count() >= 1
    assert console.errors() == []


# -- the view follows the edit ---------------------------------------------------------------
def test_mock_baggage_edits_stay_in_view(voila_mock: str, page) -> None:
    console = _open(page, voila_mock)
    _gateway_in_first_view(page)
    _tab(page, "Services")
    _drag(page, _service(page, "mockc"), _service(page, "mocka"))
    page.locator("button", has_text="Undo: add call mockc -> mocka").wait_for(timeout=30_000)
    _in_view(page, _node("mockc"))
    _shot(page, "canvas-mock-drag.png")
    assert console.errors() == []


def test_shop_first_view_and_a_chosen_service_centred(voila_shop: str, page) -> None:
    console = _open(page, voila_shop)
    _gateway_in_first_view(page)
    _shot(page, "canvas-shop-first.png")
    _tab(page, "Services")
    page.locator(".ld-designer .widget-select select").first.select_option("inventory")
    selected = page.locator(_node("inventory"))
    expect(selected).to_have_class(re.compile(r"\bld-selected\b"), timeout=30_000)
    _in_view(page, _node("inventory"))
    # centred: its centre near the stage's centre
    page.wait_for_function("""(sel) => {
      const n = document.querySelector(sel).getBoundingClientRect();
      const s = document.querySelector(".ld-designer .ld-canvas-stage").getBoundingClientRect();
      return Math.abs((n.left + n.right) / 2 - (s.left + s.right) / 2) < 0.1 * s.width + 2
        || n.width >= s.width * 0.8;
    }""", arg=_node("inventory"), timeout=30_000)
    _shot(page, "canvas-shop-selected.png")
    assert console.errors() == []


def _add_and_see(page, name: str, shot: str) -> None:
    _add_service(page, name)
    page.locator(_node(name)).wait_for(timeout=60_000)
    _in_view(page, _node(name))
    _shot(page, shot)


def test_50_services_first_view_new_service_and_tick_in_view(voila_50: str, page) -> None:
    console = _open(page, voila_50)
    _gateway_in_first_view(page)
    _shot(page, "canvas-50-first.png")
    _add_and_see(page, "brand-new", "canvas-50-added.png")
    # tick a far service into the shown lane: it joins the picture and is panned to
    lane = page.locator(".ld-diagram-panel .widget-dropdown select").first.input_value()
    _tab(page, "Lanes")
    page.locator(".ld-designer input[placeholder='filter services']:visible").fill("svc-0049")
    box = page.locator(f".ld-member-{lane}-svc-0049 input[type=checkbox]")
    box.check()
    page.locator("button", has_text=f"Undo: tick svc-0049 in {lane}").wait_for(timeout=60_000)
    _in_view(page, _node("svc-0049"))
    _shot(page, "canvas-50-ticked.png")
    assert console.errors() == []


def test_1000_services_first_view_and_a_new_service_in_view(voila_1000: str, page) -> None:
    console = _open(page, voila_1000)
    _gateway_in_first_view(page)
    _shot(page, "canvas-1000-first.png")
    _add_and_see(page, "brand-new", "canvas-1000-added.png")
    assert console.errors() == []


def test_jupyterlab_50_services_first_view_and_edit_in_view(lab_50: str, page) -> None:
    console = PageLog(page)
    _run_in_lab(page, lab_50)
    page.locator(DRAWN).first.wait_for(timeout=60_000)
    page.locator(STAGE).scroll_into_view_if_needed()
    _gateway_in_first_view(page)
    _shot(page, "canvas-lab-50-first.png")
    _add_and_see(page, "brand-new", "canvas-lab-50-added.png")
    assert console.errors() == []


@pytest.fixture(scope="module")
def voila_mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("voila-mock")
    yield from _voila(_one_cell(home, "mock", _designer_cell('Designer("mock-baggage")')),
                      home)

