"""The designer in a real browser: headless Chromium drives it in Voila (``make app``) and in
JupyterLab (``make lab``'s notebook).

Debian's chromium (``make system``) and Playwright's Python package are used as they are;
``playwright install`` is never run. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect, sync_playwright

# a browser test that hangs fails after 10 minutes instead of holding CI up
pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
START_TIMEOUT = 90  # seconds for the server, then again for the first page (kernel + imports)
KERNEL_READY = """() => {
  const session = window.jupyterapp.shell.currentWidget?.sessionContext?.session;
  const kernel = session?.kernel;
  return !!kernel && kernel.connectionStatus === "connected" && kernel.status === "idle";
}"""
ALL_CELLS_RUN = """() => {
  const prompts = document.querySelectorAll(".jp-NotebookPanel:not(.lm-mod-hidden) "
                                            + ".jp-CodeCell .jp-InputPrompt");
  return prompts.length > 0 && Array.from(prompts).every(p => /\\[\\d+\\]/.test(p.textContent));
}"""


def _unavailable(reason: str) -> None:
    """Skip on a user's machine; fail in CI, where a browser test must never vanish."""
    if os.environ.get("LANEDESIGN_REQUIRE_SHARED") == "1" or os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        _unavailable("Debian's chromium is not installed: run `make system` "
                     "(apt-get install chromium); Playwright's own browsers are not used")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_served(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"voila exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    pytest.fail(f"voila did not answer at {url} within {START_TIMEOUT}s:\n"
                f"{log.read_text()[-3000:]}")


@contextmanager
def _served(cmd: list[str], url: str, home: Path,
            extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """Run a Jupyter server until the test is done (or fails); a scratch HOME keeps the
    user's settings out of it, and stopping its process group stops its kernels too."""
    log = home / "server.log"
    env = {**os.environ, "HOME": str(home), "JUPYTER_CONFIG_DIR": str(home / ".jupyter"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "PYTHONUNBUFFERED": "1",
           **(extra_env or {})}
    with log.open("w") as out:
        server = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env,
                                  cwd=home, start_new_session=True)
    try:
        _wait_until_served(url, server, log)
        yield url
    finally:
        _stop(server)


def _tool(name: str, extra: str) -> None:
    if shutil.which(name, path=str(Path(sys.executable).parent)) is None:
        _unavailable(f"{name} is not installed: pip install -e '.[{extra}]'")


def _voila(notebook: Path, home: Path) -> Iterator[str]:
    """Voila as ``make app`` runs it: with lanedesign's template (Voila's lab page without
    its CDN links), found in this checkout's ``share/jupyter``."""
    _tool("voila", "lab")
    port, token = _free_port(), secrets.token_hex(16)
    cmd = [sys.executable, "-m", "voila", str(notebook), "--no-browser", "--template=lanedesign",
           f"--port={port}", "--Voila.ip=127.0.0.1", "--Voila.port_retries=0",
           f"--Voila.token={token}", f"--Voila.connection_dir_root={home}"]
    jupyter_path = os.pathsep.join(filter(None, [str(ROOT / "share" / "jupyter"),
                                                 os.environ.get("JUPYTER_PATH")]))
    with _served(cmd, f"http://127.0.0.1:{port}/?token={token}", home,
                 {"JUPYTER_PATH": jupyter_path}) as url:
        yield url


@pytest.fixture(scope="module")
def voila(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``make app``'s page: the app notebook served by Voila on a free port, with a token."""
    home = tmp_path_factory.mktemp("voila-home")
    yield from _voila(ROOT / "notebooks" / "app.ipynb", home)


@pytest.fixture(scope="module")
def voila_large(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The designer on a synthetic design of 50 services and 10 lanes, served by Voila."""
    home = tmp_path_factory.mktemp("voila-large")
    yield from _voila(_one_cell(home, "large", (
        f"import sys\nsys.path.insert(0, {str(ROOT / 'tests')!r})\n"
        "from synthetic import layered_design\nfrom lanedesign.widgets import Designer\n"
        "Designer(layered_design(50, 10))")), home)


def _one_cell(home: Path, name: str, source: str) -> Path:
    """A notebook of one code cell in ``home`` (what Voila serves)."""
    book = nbformat.v4.new_notebook()
    book.cells = [nbformat.v4.new_code_cell(source)]
    book.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                   "language": "python"}
    path = home / f"{name}.ipynb"
    nbformat.write(book, path)
    return path


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``make lab``'s notebook in JupyterLab, copied to a scratch folder (autosave stays there)."""
    # without its stored outputs, so numbered prompts prove that this run executed the cells
    yield from _lab_on(tmp_path_factory.mktemp("lab-home"), "02-designer.ipynb", stored=False)


def _lab_on(home: Path, notebook: str, *, stored: bool) -> Iterator[str]:
    """JupyterLab on a copy of ``notebooks/<notebook>`` in ``home``: as committed (stored
    outputs, untrusted, as a clone has it) or with its outputs cleared."""
    root = home / "work"
    root.mkdir()
    book = nbformat.read(ROOT / "notebooks" / notebook, as_version=4)
    for cell in book.cells:
        if cell.cell_type == "code" and not stored:
            cell.outputs, cell.execution_count = [], None
    nbformat.write(book, root / notebook)
    yield from _lab(home, root, notebook)


def _lab(home: Path, root: Path, notebook: str) -> Iterator[str]:
    """JupyterLab serving ``root``, opened on ``notebook``, with a scratch ``home``."""
    _tool("jupyter-lab", "lab")
    settings = home / "settings"
    # no "Jupyter news?" toast over the page; keep every cell in the DOM
    for plugin, values in {"apputils-extension/notification": {"fetchNews": "false",
                                                              "checkForUpdates": False},
                           "notebook-extension/tracker": {"windowingMode": "none"}}.items():
        path = settings / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    port, token = _free_port(), secrets.token_hex(16)
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", f"--port={port}",
           "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
           "--ServerApp.ip=127.0.0.1", f"--ServerApp.root_dir={root}",
           f"--LabApp.user_settings_dir={settings}", "--LabApp.expose_app_in_browser=True"]
    url = f"http://127.0.0.1:{port}/lab/tree/{notebook}?token={token}"
    with _served(cmd, url, home) as served:
        yield served


def _stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=15)


@pytest.fixture
def page(chromium: str):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(viewport={"width": 1280, "height": 800})
        finally:
            browser.close()


class PageLog:
    """Every request a page makes and every console message and uncaught error it logs,
    collected from before the first load."""

    def __init__(self, page) -> None:
        self.requests: list[str] = []
        self.console: list[tuple[str, str]] = []  # (type, text)
        self.failed: list[str] = []  # what a console "Failed to load resource" was about
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("console", lambda m: self.console.append(
            (m.type, f"{m.text} @ {m.location.get('url', '')}")))
        page.on("pageerror", lambda e: self.console.append(("error", f"uncaught: {e}")))
        page.on("response", lambda r: r.status >= 400 and self.failed.append(
            f"{r.status} {r.request.method} {r.url}"))

    def errors(self) -> list[str]:
        """The console errors and uncaught exceptions (``failed`` says what did not load)."""
        return [t for kind, t in self.console if kind == "error"]


def _tab(page, title: str) -> None:
    page.locator(".ld-designer .lm-TabBar-tab", has_text=title).first.click()


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))


def test_the_cluster_tab_without_a_cluster_says_so(voila: str, page) -> None:
    page.goto(voila)
    page.wait_for_selector(".ld-designer", timeout=START_TIMEOUT * 1000)
    _tab(page, "Cluster")
    page.locator(".ld-cluster .ld-msg-warning", has_text="no kubeconfig found").wait_for(
        timeout=30_000)
    expect(page.locator(".ld-cluster button", has_text="Apply")).to_be_disabled()
    _shot(page, "designer-cluster.png")


def _run_all_cells(page, attempts: int = 3) -> None:
    """Run every cell; ask again when a run-all is lost (seen once: the kernel looked ready,
    the command's promise never settled and no cell ran). The command is not awaited, so a
    lost one cannot hang the test; each attempt waits a bounded time for the prompts."""
    for attempt in range(1, attempts + 1):
        page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
        try:
            page.wait_for_function(ALL_CELLS_RUN, timeout=START_TIMEOUT * 1000)
            return
        except PlaywrightTimeout:
            if attempt == attempts:
                raise
            page.wait_for_function(KERNEL_READY, timeout=START_TIMEOUT * 1000)


def _run_in_lab(page, url: str) -> None:
    """Open ``url`` in JupyterLab with the file browser closed and run every cell."""
    page.goto(url)
    page.wait_for_function("!!window.jupyterapp", timeout=START_TIMEOUT * 1000)
    # the kernel indicator says idle before commands reach the kernel; ask the session itself
    page.wait_for_function(KERNEL_READY, timeout=START_TIMEOUT * 1000)
    # the file browser closed, as when editing: the diagram then fits beside the tabs
    page.evaluate("() => { if (!window.jupyterapp.shell.leftCollapsed) "
                  "window.jupyterapp.commands.execute('application:toggle-left-area'); }")
    _run_all_cells(page)


def test_the_designer_notebook_runs_in_jupyterlab(lab: str, page) -> None:
    _run_in_lab(page, lab)
    page.wait_for_selector(".ld-designer", timeout=30_000)
    page.locator(".ld-designer").scroll_into_view_if_needed()
    _shot(page, "lab-designer.png")
    _untick_and_follow(page, "lab-")
    _drag_a_call_and_follow(page, "lab-")
    _click_a_service_and_see_it_selected(page)
    _zoom(page)


CANVAS = ".ld-designer .ld-canvas"
DASHED = f"{CANVAS} g.ld-call path[stroke-dasharray]:not(.ld-hit)"


def _service(page, name: str):
    return page.locator(f'{CANVAS} g.ld-service[data-service="{name}"]')


def _centre(locator) -> tuple[float, float]:
    box = locator.bounding_box()
    assert box is not None
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def _drag(page, source, target) -> None:
    """Press on one service, move in small steps (pointer events) and release on another."""
    source.scroll_into_view_if_needed()
    (x0, y0), (x1, y1) = _centre(source), _centre(target)
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x0 + (x1 - x0) / 4, y0 + (y1 - y0) / 4, steps=4)
    page.mouse.move(x1, y1, steps=8)
    page.mouse.up()


def _dashed(page, count: int) -> None:
    page.wait_for_function(f"document.querySelectorAll({DASHED!r}).length === {count}",
                           timeout=30_000)


def _untick_and_follow(page, prefix: str = "") -> None:
    """Untick mockc in lane s2: the matrix shows the fallback, the diagram beside the Lanes
    tab a dashed edge, while both stay on screen."""
    page.locator(f"{CANVAS} svg.ld-canvas-svg").wait_for(timeout=60_000)
    fallback_labels = page.locator(f"{CANVAS} svg text", has_text="fallback -> s1")
    assert fallback_labels.count() == 1  # lane s2 lacks mockb only
    _dashed(page, 1)

    _tab(page, "Lanes")
    member = page.locator(".ld-member-s2-mockc input[type=checkbox]")
    expect(member).to_be_checked()
    member.uncheck()
    page.locator("button", has_text="Undo: untick mockc in s2").wait_for(timeout=30_000)
    # mockb -> mockc is a fallback now too, drawn beside the grid without changing tab
    _dashed(page, 2)
    expect(page.locator(CANVAS)).to_be_in_viewport()
    expect(member).to_be_in_viewport()
    assert fallback_labels.count() == 1  # the label stays on the hop that left the lane
    assert "@s1 (fallback)" in _service(page, "mockc").text_content()
    _shot(page, f"{prefix}designer-lanes.png")

    _tab(page, "Matrix")
    row = page.locator(".ld-designer .ld-matrix table tr", has_text="mockc")
    row.locator("td", has_text="↩ s1").nth(1).wait_for(timeout=30_000)
    assert row.locator("td").nth(1).inner_text().strip() == "↩ s1"  # mockc in lane s2
    _shot(page, f"{prefix}designer-matrix.png")

    page.locator("button", has_text="Undo: untick mockc in s2").click()
    _dashed(page, 1)


def _drag_a_call_and_follow(page, prefix: str = "") -> None:
    """Drag mockc onto mocka: a call (and a cycle) appears on the diagram and in the
    findings; Undo takes it back."""
    _tab(page, "Services")
    _drag(page, _service(page, "mockc"), _service(page, "mocka"))
    page.locator("button", has_text="Undo: add call mockc -> mocka").wait_for(timeout=30_000)
    page.locator(f'{CANVAS} g.ld-call[data-caller="mockc"][data-callee="mocka"]').wait_for(
        timeout=30_000)
    findings = page.locator(".ld-designer .lm-TabBar-tab", has_text="Findings (")
    findings.wait_for(timeout=30_000)
    _tab(page, "Findings")
    page.locator(".ld-designer td", has_text="cycle").first.wait_for(timeout=30_000)
    _shot(page, f"{prefix}designer-drag-call.png")
    page.locator("button", has_text="Undo: add call mockc -> mocka").click()
    page.locator(f'{CANVAS} g.ld-call[data-caller="mockc"]').wait_for(state="detached",
                                                                      timeout=30_000)


def _zoom(page) -> None:
    """The + button zooms in by a quarter; the wheel zooms out where the pointer is."""
    canvas = page.locator(CANVAS)
    page.wait_for_function(f"!!document.querySelector({CANVAS!r}).dataset.scale")
    scale = float(canvas.get_attribute("data-scale"))
    page.locator(f"{CANVAS} .ld-canvas-in").click()
    assert float(canvas.get_attribute("data-scale")) == pytest.approx(scale * 1.25)
    stage = page.locator(f"{CANVAS} .ld-canvas-stage")
    stage.scroll_into_view_if_needed()
    x, y = _centre(stage)
    page.mouse.move(x, y)
    page.mouse.wheel(0, 400)  # down: zoom out
    page.wait_for_function(f"parseFloat(document.querySelector({CANVAS!r}).dataset.scale)"
                           f" < {scale * 1.25}")
    page.locator(f"{CANVAS} .ld-canvas-readable").click()


def _click_a_service_and_see_it_selected(page) -> None:
    _tab(page, "Lanes")
    _service(page, "mockb").click()
    selected = page.locator(".ld-designer .widget-select select option:checked")
    expect(selected).to_have_text("mockb", timeout=30_000)
    expect(page.locator(".ld-designer .lm-TabBar-tab.lm-mod-current")).to_have_text("Services")
    expect(_service(page, "mockb")).to_have_class(re.compile(r"\bld-selected\b"))


def test_the_diagram_beside_the_editors_follows_edits_in_voila(voila: str, page) -> None:
    page.goto(voila)
    page.wait_for_selector(".ld-designer", timeout=START_TIMEOUT * 1000)
    page.locator(f"{CANVAS} svg.ld-canvas-svg").wait_for(timeout=60_000)
    _shot(page, "designer-services.png")
    _untick_and_follow(page)
    _drag_a_call_and_follow(page)
    _click_a_service_and_see_it_selected(page)


def test_zoom_hover_legend_and_matrix_cells_in_voila(voila: str, page) -> None:
    page.goto(voila)
    page.locator(f"{CANVAS} svg.ld-canvas-svg g.ld-service").first.wait_for(
        timeout=START_TIMEOUT * 1000)
    _zoom(page)

    page.locator(f"{CANVAS} .ld-canvas-readable").click()
    _service(page, "mockb").hover()
    tip = page.locator(f"{CANVAS} .ld-canvas-tip")
    expect(tip).to_be_visible()
    expect(tip).to_contain_text("lane s2 has no version of it: falls back to s1")
    _shot(page, "designer-hover.png")

    page.locator(f'{CANVAS} .ld-canvas-lane[data-lane="s3"]').click()
    expect(page.locator(f'{CANVAS} .ld-canvas-lane.ld-current')).to_have_attribute(
        "data-lane", "s3", timeout=30_000)
    expect(page.locator(".ld-diagram-panel .ld-head")).to_have_text("lane s3")

    _tab(page, "Matrix")
    row = page.locator(".ld-designer .ld-matrix table tr", has_text="mockc")
    head = page.locator(".ld-diagram-panel .ld-head")
    row.locator("td").nth(1).click()  # mockc in lane s2
    expect(head).to_have_text("lane s2", timeout=30_000)
    expect(_service(page, "mockc")).to_have_class(re.compile(r"\bld-selected\b"))

    _tab(page, "Request")
    expect(page.locator(".ld-diagram-panel .ld-head")).to_contain_text("request in lane",
                                                                      timeout=30_000)


def test_lane_choice_survives_add_lane_and_undo_in_voila(voila: str, page) -> None:
    page.goto(voila)
    page.locator(f"{CANVAS} svg.ld-canvas-svg").wait_for(timeout=START_TIMEOUT * 1000)
    lane = page.locator(".ld-diagram-panel .widget-dropdown select").first
    lane.select_option("s3")
    expect(page.locator(".ld-diagram-panel .ld-head")).to_have_text("lane s3", timeout=30_000)
    _tab(page, "Lanes")
    name = page.locator(".ld-designer input[placeholder='new lane name']")
    name.fill("s4")
    name.press("Enter")
    page.locator(".ld-designer button", has_text="Add lane").click()
    page.locator("button", has_text="Undo: add lane s4").wait_for(timeout=30_000)
    page.locator(f'{CANVAS} .ld-canvas-lane[data-lane="s4"]').wait_for(timeout=30_000)
    expect(lane).to_have_value("s4")  # a lane just added is current in every view
    page.locator("button", has_text="Undo: add lane s4").click()
    page.locator(f'{CANVAS} .ld-canvas-lane[data-lane="s4"]').wait_for(state="detached",
                                                                       timeout=30_000)
    expect(lane).to_have_value("s3")
    expect(page.locator(".ld-diagram-panel .ld-head")).to_have_text("lane s3")


MIN_TEXT_PX = """(sel) => {
  const texts = [...document.querySelectorAll(sel + " svg.ld-canvas-svg text")];
  return Math.min(...texts.map(t => parseFloat(t.getAttribute("font-size"))
                                    * t.getScreenCTM().a));
}"""


def test_a_lanes_diagram_of_50_services_stays_readable(voila_large: str, page) -> None:
    page.goto(voila_large)
    page.locator(f"{CANVAS} svg.ld-canvas-svg g.ld-service").first.wait_for(
        timeout=START_TIMEOUT * 1000)
    page.wait_for_function(f"!!document.querySelector({CANVAS!r}).dataset.scale")
    _shot(page, "large-designer.png")
    smallest = page.evaluate(MIN_TEXT_PX, CANVAS)
    assert smallest >= 9.0
    _tab(page, "Lanes")
    page.locator(".ld-member-lane-1-svc-0001 input").wait_for(timeout=60_000)
    expect(page.locator(CANVAS)).to_be_in_viewport()
    # 10 lanes: the grid scrolls inside, its header row and fallback column stay in it
    placed = page.evaluate("""() => {
      const grid = document.querySelector(".ld-designer .ld-grid");
      grid.scrollTop = 200;
      const g = grid.getBoundingClientRect();
      const head = [...grid.querySelectorAll(".ld-grid-top")].map(e => e.getBoundingClientRect());
      const col = grid.querySelector(".ld-grid-top.ld-fallback-col").getBoundingClientRect();
      return {scrolls: grid.scrollWidth > grid.clientWidth, top: head[0].top - g.top,
              right: g.right - col.right, scrolled: grid.scrollTop};
    }""")
    assert placed["scrolls"] and placed["scrolled"] > 0
    assert abs(placed["top"]) < 2 and placed["right"] >= 0
    _shot(page, "large-designer-lanes.png")
    _tab(page, "Matrix")
    page.locator(".ld-designer .ld-matrix table").wait_for(timeout=60_000)
    head = page.evaluate("""() => {
      const box = document.querySelector(".ld-designer .ld-matrix");
      box.scrollTop = 300;
      const th = box.querySelector("thead th.col_heading").getBoundingClientRect();
      return {scrolled: box.scrollTop, top: th.top - box.getBoundingClientRect().top};
    }""")
    assert head["scrolled"] > 0 and abs(head["top"]) < 3  # the lane names stay in view
    _shot(page, "large-designer-matrix.png")
    page.locator(f"{CANVAS} .ld-canvas-fit").click()  # asked for: may go below readable
    _shot(page, "large-designer-fit.png")
    page.locator(f"{CANVAS} .ld-canvas-readable").click()
    assert page.evaluate(MIN_TEXT_PX, CANVAS) >= 9.0


def test_ingress_new_rule_defaults_header_offer_and_focus_in_voila(voila: str, page) -> None:
    page.goto(voila)
    page.locator(f"{CANVAS} svg.ld-canvas-svg").wait_for(timeout=START_TIMEOUT * 1000)
    _tab(page, "Ingress")
    page.locator(".ld-designer button", has_text="+ rule").click()
    page.locator("button", has_text="Undo: add a rule for s1").wait_for(timeout=30_000)
    rule = page.locator(".ld-designer .widget-dropdown", has_text="rule 2 →")
    expect(rule.locator("select")).to_have_value("s1")
    expect(page.locator(".ld-designer input[placeholder='value']").nth(2)).to_have_value("s1")
    expect(page.locator(".ld-designer code", has_text="rule-2-s1")).to_be_visible()

    # typing into rule 0's header value: the field keeps the keyboard focus after the edit
    value = page.locator(".ld-designer input[placeholder='value']").first
    value.click()
    value.press("End")
    value.type("-beta")
    value.press("Enter")
    page.locator("button", has_text="Undo: change the match of rule 0").wait_for(
        timeout=30_000)
    page.locator(".ld-designer .ld-msg-warning",
                 has_text="rule 0 sends to s2 but still matches x-asm-prefer-tag: s2-beta"
                 ).wait_for(timeout=30_000)
    assert page.evaluate("() => document.activeElement.value") == "s2-beta"
    page.locator(".ld-designer button", has_text="match x-asm-prefer-tag: s2").click()
    page.locator("button", has_text="Undo: match rule 0's header to its lane").wait_for(
        timeout=30_000)
    expect(page.locator(".ld-designer input[placeholder='value']").first).to_have_value(
        "s2", timeout=30_000)
    expect(page.locator(".ld-designer .ld-msg-warning", has_text="still matches")).to_have_count(0)
    _shot(page, "designer-ingress.png")


BOOKINFO = """\
apiVersion: lanedesign/v1alpha1
kind: LaneDesign
metadata: {name: bookinfo}
spec:
  namespace: bookinfo
  baseline: v1
  services:
  - name: productpage
    calls: [details, reviews]
    ports:
    - {name: http, port: 9080}
    forwards: [x-request-id, traceparent, end-user, cookie]
  - name: details
    ports:
    - {name: http, port: 9080}
  - name: reviews
    laneCalls: {v2: [ratings], v3: [ratings]}
    ports:
    - {name: http, port: 9080}
    - {name: tcp-metrics, port: 9091, targetPort: metrics}
    routing:  # the team's virtual-service-reviews-jason-v2-v3, adopted
      routes:
      - match: [{headers: {end-user: {exact: jason}}}]
        route: [{destination: {subset: v2}}]
      default: [{destination: {subset: v3}}]
  - name: ratings
    ports:
    - {name: http, port: 9080}
    routing:  # virtual-service-ratings-test-delay and destination-rule-all's ratings
      routes:
      - match: [{headers: {end-user: {exact: jason}}}]
        route: [{destination: {subset: v1}}]
        fault: {delay: {percentage: {value: 100.0}, fixedDelay: 7s}}
      default: [{destination: {subset: v1}}]
      trafficPolicy: {connectionPool: {http: {http1MaxPendingRequests: 10}}}
      subsets:
      - {name: v2-mysql, labels: {version: v2-mysql}}
  lanes:
  - {name: v1, labels: {version: v1}, services: [productpage, details, reviews, ratings]}
  - {name: v2, labels: {version: v2}, services: [reviews]}
  - {name: v3, labels: {version: v3}, services: [reviews]}
  ingress: {entry: productpage, default: v1}
"""


@pytest.fixture(scope="module")
def voila_bookinfo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The designer on a Bookinfo design: ports, per-version calls, a forwarded-headers list,
    the team routing of reviews and ratings."""
    home = tmp_path_factory.mktemp("voila-bookinfo")
    (home / "bookinfo.yaml").write_text(BOOKINFO, encoding="utf-8")
    yield from _voila(_one_cell(home, "bookinfo", (
        # this checkout's lanedesign, whichever one the kernel's Python has installed
        f"import sys\nsys.path.insert(0, {str(ROOT)!r})\n"
        "from lanedesign.widgets import Designer\n"
        f"Designer({str(home / 'bookinfo.yaml')!r})")), home)


def _bookinfo_services(page, url: str, service: str):
    """The Bookinfo designer's Services tab with ``service`` chosen; the service list."""
    page.goto(url)
    page.locator(f"{CANVAS} svg.ld-canvas-svg g.ld-service").first.wait_for(
        timeout=START_TIMEOUT * 1000)
    _tab(page, "Services")
    services = page.locator(".ld-designer .widget-select select").first
    services.wait_for(timeout=60_000)
    services.select_option(service)
    return services


def test_ports_version_calls_and_a_lost_lane_in_voila(voila_bookinfo: str, page) -> None:
    services = _bookinfo_services(page, voila_bookinfo, "reviews")
    ports = page.locator(".ld-designer table.ld-ports")
    expect(ports).to_contain_text("tcp-metrics")
    expect(ports).to_contain_text("TCP: no header routing")
    expect(ports).to_contain_text("routed by lanes")
    # the version in lane v2 calls ratings; the baseline's calls nothing
    version = page.locator(".ld-designer .widget-dropdown", has_text="version in").locator(
        "select")
    version.select_option("v2")
    expect(page.locator(".ld-designer .jupyter-widget-tagsinput").nth(1)).to_contain_text(
        "ratings")
    _shot(page, "bookinfo-services.png")
    # productpage forwards no baggage: the service list, the diagram and the finding say so
    expect(services).to_contain_text("productpage  (drops context)")
    expect(page.locator(CANVAS)).to_contain_text("does not forward baggage")
    _tab(page, "Findings")
    expect(page.locator(".ld-designer")).to_contain_text("LD406")
    expect(page.locator(".ld-designer")).to_contain_text("header with routeHeader end-user")
    _shot(page, "bookinfo-lost-lane.png")


def test_a_services_team_routing_is_shown_and_dropped_in_voila(voila_bookinfo: str,
                                                                 page) -> None:
    services = _bookinfo_services(page, voila_bookinfo, "ratings")
    routing = page.locator(".ld-designer ul.ld-routing")
    expect(routing).to_contain_text("route: end-user exact jason -> v1 (fault delay 7s)")
    expect(routing).to_contain_text("DestinationRule policy: connectionPool")
    expect(routing).to_contain_text("extra subsets: v2-mysql (version=v2-mysql)")
    routing.scroll_into_view_if_needed()
    _shot(page, "bookinfo-team-routing.png")
    page.locator(".ld-designer button", has_text="Drop the team routing").click()
    expect(page.locator(".ld-designer")).to_contain_text("none: the lanes alone route it")
    expect(routing).to_have_count(0)
    services.select_option("reviews")  # only ratings' was dropped
    expect(routing).to_contain_text("route: end-user exact jason -> v2")
