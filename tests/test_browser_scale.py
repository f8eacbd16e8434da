# ruff: noqa: F811  (the base tests' fixtures are imported by name, then asked for by name)
"""The designer at scale and offline, in a real browser (Voila and JupyterLab, Debian chromium).

50 lanes: a lane chooser instead of 50 legend chips, the canvas above the fold; the Lanes
grid's service column stays put when the grid scrolls sideways; no control label is cut at
1280 px in Lab's notebook panel; and no page request leaves localhost, no console warning
about shared-module versions, no console error. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from conftest import ROOT
from playwright.sync_api import expect
from test_browser import (  # the servers, the browser and the page helpers of the base tests
    CANVAS,
    START_TIMEOUT,
    PageLog,
    _one_cell,
    _run_in_lab,
    _shot,
    _tab,
    _voila,
    chromium,  # noqa: F401 (a fixture)
    lab,  # noqa: F401 (a fixture)
    page,  # noqa: F401 (a fixture)
    voila,  # noqa: F401 (a fixture)
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
SHARED_MODULE = re.compile(r"shared (singleton )?module|Unsatisfied version|No satisfying version")
# elements whose text a user reads as a control's name: none may end in an ellipsis
LABELS = (".ld-designer .jupyter-button, .ld-designer .widget-toggle-button, "
          ".ld-designer .widget-label, .ld-designer .widget-label-basic, "
          ".ld-designer .lm-TabBar-tabLabel")
CUT_LABELS = """(sel) => [...document.querySelectorAll(sel)]
  .filter(e => e.offsetParent !== null && e.scrollWidth > e.clientWidth + 1)
  .map(e => (e.textContent || "").trim() + " (" + e.scrollWidth + ">" + e.clientWidth + ")")"""


@pytest.fixture(scope="module", autouse=True)
def this_checkout() -> Iterator[None]:
    """Servers (and so their kernels) started by this module import this checkout's
    lanedesign and find its Voila template, whichever lanedesign the venv has installed."""
    saved = {k: os.environ.get(k) for k in ("PYTHONPATH", "JUPYTER_PATH")}
    for key, path in (("PYTHONPATH", ROOT), ("JUPYTER_PATH", ROOT / "share" / "jupyter")):
        os.environ[key] = os.pathsep.join(filter(None, [str(path), saved[key]]))
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _designer_of(home: Path, name: str, design: str) -> Path:
    return _one_cell(home, name, (
        f"import sys\nsys.path.insert(0, {str(ROOT)!r})\n"
        "from lanedesign.widgets import Designer\n"
        f"from benchmarks.generate import synthetic_design\nDesigner({design})"))


@pytest.fixture(scope="module")
def voila_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("voila-shop")
    yield from _voila(_designer_of(home, "shop", "'shop'"), home)


@pytest.fixture(scope="module")
def voila_m(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """50 services x 10 lanes (the benchmark's M)."""
    home = tmp_path_factory.mktemp("voila-m")
    yield from _voila(_designer_of(home, "m", "synthetic_design(50, 10)"), home)


@pytest.fixture(scope="module")
def voila_50_lanes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """50 services x 50 lanes."""
    home = tmp_path_factory.mktemp("voila-50-lanes")
    yield from _voila(_designer_of(home, "lanes50", "synthetic_design(50, 50)"), home)


def _check(seen: PageLog) -> None:
    """Offline and quiet: no request leaves this machine, no shared-module version warning,
    no console error."""
    away = [u for u in seen.requests
            if urlparse(u).scheme in ("http", "https", "ws", "wss")
            and urlparse(u).hostname not in LOCAL_HOSTS]
    assert away == [], f"requests leaving localhost: {away}"
    versions = [t for _, t in seen.console if SHARED_MODULE.search(t)]
    assert versions == [], "shared-module version warnings:\n" + "\n".join(versions)
    errors = seen.errors()
    assert errors == [], "console errors:\n" + "\n".join([*errors, *seen.failed])


def _open(page, url: str) -> PageLog:
    seen = PageLog(page)
    page.goto(url)
    page.locator(f"{CANVAS} svg.ld-canvas-svg g.ld-service").first.wait_for(
        timeout=START_TIMEOUT * 1000)
    page.wait_for_function(f"!!document.querySelector({CANVAS!r}).dataset.scale")
    return seen


def _no_cut_labels(page, where: str) -> None:
    cut = page.evaluate(CUT_LABELS, LABELS)
    assert cut == [], f"labels cut short in {where}: {cut}"


def test_the_app_page_is_offline_and_quiet_in_voila(voila: str, page) -> None:
    seen = _open(page, voila)
    for tab in ("Lanes", "Headers", "Request"):  # panels built on first view load nothing
        _tab(page, tab)
        page.wait_for_timeout(500)
    _shot(page, "scale-small-app.png")
    assert seen.requests, "the recorder saw the page's own requests"
    _check(seen)


def test_the_recorder_would_catch_a_cdn_request(voila: str, page) -> None:
    # the negative case: the same check flags a page that asks a CDN for a stylesheet
    seen = _open(page, voila)
    page.evaluate("""() => { const l = document.createElement("link"); l.rel = "stylesheet";
      l.href = "https://cdn.jsdelivr.net/npm/font-awesome@4.5.0/css/font-awesome.min.css";
      document.head.appendChild(l); }""")
    page.wait_for_timeout(500)
    with pytest.raises(AssertionError, match="leaving localhost"):
        _check(seen)


def test_shop_and_m_are_quiet_and_keep_labels_whole_in_voila(voila_shop: str, voila_m: str,
                                                              page) -> None:
    for url, name in ((voila_shop, "shop"), (voila_m, "m")):
        # a page each: leaving a Voila page posts a kernel shutdown that Voila answers 403
        page = page.context.browser.new_page(viewport={"width": 1280, "height": 800})
        seen = _open(page, url)
        for tab in ("Services", "Lanes", "Headers", "Ingress", "Request"):
            _tab(page, tab)
            page.wait_for_timeout(400)
            _no_cut_labels(page, f"{name}'s {tab} tab")
        _shot(page, f"scale-{name}-request.png")
        _check(seen)
    # the negative case: buttons squeezed to 40 px are reported
    page.add_style_tag(content=".ld-designer .jupyter-button { min-width: 0 !important; "
                               "width: 40px !important; }")
    assert page.evaluate(CUT_LABELS, LABELS) != []


def test_the_lanes_grid_keeps_service_names_in_view_scrolled_sideways(voila_m: str,
                                                                       page) -> None:
    _open(page, voila_m)
    _tab(page, "Lanes")
    page.locator(".ld-designer .ld-grid .ld-service-col").nth(1).wait_for(timeout=60_000)
    placed = page.evaluate("""() => {
      const grid = document.querySelector(".ld-designer .ld-grid");
      const name = grid.querySelectorAll(".ld-service-col")[1];
      const box = grid.querySelector(".ld-member-feat-001-api-0000, .widget-checkbox");
      const before = {name: name.getBoundingClientRect().left,
                      box: box.getBoundingClientRect().left};
      grid.scrollLeft = 400;
      return {scrolls: grid.scrollWidth > grid.clientWidth, scrolled: grid.scrollLeft,
              name: name.getBoundingClientRect().left - before.name,
              box: box.getBoundingClientRect().left - before.box,
              text: name.textContent.trim()};
    }""")
    assert placed["scrolls"] and placed["scrolled"] > 0
    assert placed["box"] < -50  # the checkboxes did move ...
    assert abs(placed["name"]) < 1 and placed["text"]  # ... the service name did not
    _shot(page, "scale-m-lanes-scrolled.png")


def test_fifty_lanes_a_chooser_above_the_fold_with_the_canvas(voila_50_lanes: str,
                                                              page) -> None:
    seen = _open(page, voila_50_lanes)
    chips = page.locator(f"{CANVAS} .ld-canvas-lane")
    assert 1 <= chips.count() <= 4  # the lanes drawn, not 50
    chooser = page.locator(".ld-diagram-panel .ld-lane-find input")
    expect(chooser).to_be_visible()
    expect(page.locator(".ld-diagram-panel .ld-lane-chooser")).to_contain_text("of 50 lanes")
    stage = page.locator(f"{CANVAS} .ld-canvas-stage").bounding_box()
    assert stage is not None and stage["y"] + 200 <= 800  # most of the canvas above the fold
    for chip in chips.all():
        expect(chip).to_be_in_viewport()
    expect(chooser).to_be_in_viewport()
    _shot(page, "scale-50-lanes.png")

    chooser.fill("feat-037")
    chooser.press("Enter")
    expect(page.locator(".ld-diagram-panel .ld-head")).to_have_text("lane feat-037",
                                                                    timeout=30_000)
    expect(page.locator(f"{CANVAS} .ld-canvas-lane.ld-current")).to_have_attribute(
        "data-lane", "feat-037")
    # the chooser's list holds every lane: the browser filters it as one types
    options = page.evaluate("""() => { const i = document.querySelector(
        ".ld-diagram-panel .ld-lane-find input"); return i.list ? i.list.options.length : 0; }""")
    assert options == 50
    fills = page.evaluate(f"""() => [...document.querySelectorAll(
        {CANVAS!r} + " .ld-canvas-lane")].map(c => c.style.getPropertyValue("--swatch"))""")
    assert len(set(fills)) == len(fills)
    _shot(page, "scale-50-lanes-chosen.png")
    _no_cut_labels(page, "the 50-lane designer")
    _check(seen)


def test_lab_keeps_labels_whole_at_1280_and_stays_offline_and_quiet(lab: str, page) -> None:
    seen = PageLog(page)
    _run_in_lab(page, lab)
    page.locator(f"{CANVAS} svg.ld-canvas-svg").first.wait_for(timeout=60_000)
    page.locator(".ld-designer").first.scroll_into_view_if_needed()
    for tab in ("Services", "Lanes", "Headers", "Ingress", "Findings", "Request"):
        _tab(page, tab)
        page.wait_for_timeout(400)
        _no_cut_labels(page, f"Lab's {tab} tab")
    _tab(page, "Lanes")
    # the notice line keeps its height: an undo's "undid: ..." moves nothing below it
    member = page.locator(".ld-member-s2-mockc input[type=checkbox]").first
    member.uncheck()
    undo = page.locator("button", has_text="Undo: untick mockc in s2").first
    undo.wait_for(timeout=30_000)
    tabs_below_head = """() => {  // the tabs' offset below the designer's top (Lab may scroll)
      const d = document.querySelector(".ld-designer");
      return d.querySelector(".widget-tab").getBoundingClientRect().top
             - d.getBoundingClientRect().top; }"""
    before = page.evaluate(tabs_below_head)
    undo.click()
    page.locator(".ld-designer .ld-notice", has_text="undid").first.wait_for(timeout=30_000)
    assert page.evaluate(tabs_below_head) == pytest.approx(before, abs=1)
    _shot(page, "scale-lab-1280.png")
    _check(seen)
