"""Notebook 01 as a reader meets it: opened in JupyterLab from a clone, before any cell runs.

A notebook from a clone is untrusted, so JupyterLab shows only "safe" outputs of what was
stored; the lesson's diagrams must still be pictures, not ``<Diagram ...>`` text.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conftest import ROOT
from test_browser import (  # noqa: F401 (fixtures)
    KERNEL_READY,
    START_TIMEOUT,
    _lab_on,
    _run_all_cells,
    _shot,
    chromium,
    page,
)

LESSON = "01-lanes-explained.ipynb"
pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

STORED_PICTURES = """() => Array.from(document.querySelectorAll(
    ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output img"))
  .filter(img => img.src.startsWith("data:image/svg+xml") && img.naturalWidth > 0).length"""


@pytest.fixture(scope="module")
def lab_lesson(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Notebook 01 exactly as committed, stored outputs and all, as a clone has it."""
    yield from _lab_on(tmp_path_factory.mktemp("lab-lesson"), LESSON, stored=True)


def test_the_lesson_shows_its_diagrams_before_it_runs(lab_lesson: str, page) -> None:  # noqa: F811
    import nbformat

    book = nbformat.read(ROOT / "notebooks" / LESSON, as_version=4)
    pictures = sum(1 for cell in book.cells if cell.cell_type == "code"
                   for out in cell.get("outputs", []) if "image/svg+xml" in out.get("data", {}))
    assert pictures >= 5  # the lesson's diagrams and the weighted split are stored
    page.goto(lab_lesson)  # no cell is run: what shows is what was stored
    page.wait_for_selector(".jp-NotebookPanel .jp-OutputArea-output", timeout=90_000)
    page.wait_for_function(f"() => ({STORED_PICTURES})() >= {pictures}", timeout=60_000)
    outputs = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output")
    text = " ".join(outputs.all_inner_texts())
    assert "<Diagram" not in text and "<Picture" not in text
    _shot(page, "lesson-unrun-in-jupyterlab.png")


# the stored outputs of notebook 01's queue section: from its heading to the next "## " one
QUEUE_SECTION = """() => {
  const cells = Array.from(document.querySelectorAll(
      ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell"));
  const start = cells.findIndex(c => c.querySelector("h2")
      && c.querySelector("h2").textContent.includes("Across a message queue"));
  const end = cells.findIndex((c, i) => i > start && c.querySelector("h2"));
  const section = cells.slice(start, end);
  return {found: start >= 0 && end > start,
          text: section.map(c => c.querySelector(".jp-OutputArea")?.innerText || "").join("\\n"),
          pictures: section.flatMap(c => Array.from(c.querySelectorAll(
              ".jp-OutputArea-output img"))).filter(img =>
              img.src.startsWith("data:image/svg+xml") && img.naturalWidth > 0).length};
}"""


def test_the_queue_section_reads_before_it_runs(lab_lesson: str, page) -> None:  # noqa: F811
    page.goto(lab_lesson)
    page.wait_for_selector(".jp-NotebookPanel .jp-OutputArea-output", timeout=90_000)
    heading = page.locator(".jp-NotebookPanel h2", has_text="Across a message queue")
    page.wait_for_function(f"() => ({QUEUE_SECTION})().pictures >= 2", timeout=60_000)
    section = page.evaluate(QUEUE_SECTION)
    assert section["found"]
    # the chains with the message hop, the simulator's warning, the validator's finding
    assert "checkout@s1 (fallback) -> payment@s1 (fallback) ~> shipping@s1" in section["text"]
    assert "x-lane-key: s1" in section["text"] and "x-asm-prefer-tag: s3" in section["text"]
    assert "shipping does not filter orders by lane" in section["text"]
    assert "LD417" in section["text"] and "shipping-s2" in section["text"]
    # the explorer, unrun, is its saved snapshot: the message hop, not a VBox repr
    assert "Hop 4 of 5: checkout ~> shipping" in section["text"]
    assert "VBox(children" not in section["text"]
    heading.scroll_into_view_if_needed()
    _shot(page, "lesson-queue-unrun-in-jupyterlab.png")
    page.locator(".jp-RenderedHTMLCommon p", has_text="is a message. Look at lane").first \
        .scroll_into_view_if_needed()
    _shot(page, "lesson-queue-t6-unrun-in-jupyterlab.png")
    snapshot = page.locator(".ld-lesson-snapshot").nth(1)
    assert snapshot.locator("img").evaluate("img => img.naturalWidth") > 0
    snapshot.scroll_into_view_if_needed()
    _shot(page, "lesson-queue-explorer-unrun-in-jupyterlab.png")
    page.locator(".jp-NotebookPanel h3", has_text="What breaks when a consumer").first \
        .scroll_into_view_if_needed()
    _shot(page, "lesson-queue-careless-unrun-in-jupyterlab.png")


@pytest.fixture(scope="module")
def lab_lesson_fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Notebook 01 without its stored outputs: what shows is what this run computed."""
    yield from _lab_on(tmp_path_factory.mktemp("lab-lesson-fresh"), LESSON, stored=False)


def test_a_student_steps_through_the_queue_chain(lab_lesson_fresh: str, page) -> None:  # noqa: F811
    page.goto(lab_lesson_fresh)
    page.wait_for_function("!!window.jupyterapp", timeout=START_TIMEOUT * 1000)
    # as test_browser's Lab test: commands reach the kernel only once its session is ready
    page.wait_for_function(KERNEL_READY, timeout=START_TIMEOUT * 1000)
    _run_all_cells(page)
    dialog = page.locator(".jp-Dialog")
    assert not dialog.count(), dialog.all_inner_texts()
    # the second explorer is LaneExplorer(orders), set to lane s3 and hop 4 (the message)
    explorer = page.locator(".ld-designer:has(.ld-lesson-step)").nth(1)
    step = explorer.locator(".ld-lesson-step")
    step.get_by_text("Hop 4 of 5").wait_for(timeout=60_000)
    assert "message properties" in step.inner_text() and "x-lane-key" in step.inner_text()
    assert explorer.locator(".ld-lesson-current").inner_text().startswith("▶ 4")
    explorer.locator("button", has_text="Next ▶").click()
    step.get_by_text("Hop 5 of 5").wait_for(timeout=30_000)
    assert "shipping sets it from the message's tag" in step.inner_text()
    assert explorer.locator(".ld-lesson-current").inner_text().startswith("▶ 5")
    assert explorer.locator("button", has_text="Next ▶").is_disabled()
    explorer.locator("button", has_text="◀ Prev").click()
    step.get_by_text("Hop 4 of 5").wait_for(timeout=30_000)
    step.scroll_into_view_if_needed()
    _shot(page, "lesson-queue-stepper.png")
