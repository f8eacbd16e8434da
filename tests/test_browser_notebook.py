"""Notebook 01 as a reader meets it: opened in JupyterLab from a clone, before any cell runs.

A notebook from a clone is untrusted, so JupyterLab shows only "safe" outputs of what was
stored; the lesson's diagrams must still be pictures, not ``<Diagram ...>`` text.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from conftest import ROOT
from test_browser import _lab, _shot, chromium, page  # noqa: F401 (fixtures)

LESSON = "01-lanes-explained.ipynb"
pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

STORED_PICTURES = """() => Array.from(document.querySelectorAll(
    ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output img"))
  .filter(img => img.src.startsWith("data:image/svg+xml") && img.naturalWidth > 0).length"""


@pytest.fixture(scope="module")
def lab_lesson(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Notebook 01 exactly as committed, stored outputs and all, as a clone has it."""
    home = tmp_path_factory.mktemp("lab-lesson")
    root = home / "work"
    root.mkdir()
    shutil.copy(ROOT / "notebooks" / LESSON, root / LESSON)
    yield from _lab(home, root, LESSON)


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
