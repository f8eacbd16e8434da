"""Notebook 03's diff and apply cells. nbval runs the notebook without a cluster (conftest
hides any kubeconfig) and checks the clean stop it stored; here a kernel runs it against the
stand-in and the real kube-apiserver (``served``): a diff, nothing applied until the context's
name is typed, then an apply with a progress bar."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import nbformat
from conftest import ROOT
from nbclient import NotebookClient

from lanedesign import examples
from lanedesign.emit import emit

NOTEBOOK = ROOT / "notebooks" / "03-export-and-apply.ipynb"
DIFF_CELL, APPLY_CELL = "03-15", "03-17"


def cell(book: nbformat.NotebookNode, cell_id: str) -> nbformat.NotebookNode:
    return next(c for c in book.cells if c.get("id") == cell_id)


def text(node: nbformat.NotebookNode) -> str:
    """The printed text of a cell's outputs."""
    return "".join(o.get("text", "") for o in node.outputs if o.output_type == "stream")


@contextmanager
def kernel(kubeconfig: str, folder) -> Iterator[tuple[NotebookClient, nbformat.NotebookNode]]:
    """A fresh copy of notebook 03 and a kernel whose only cluster is ``kubeconfig``."""
    book = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(book, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(folder)}})
    env = {k: v for k, v in os.environ.items() if k != "KUBERNETES_SERVICE_HOST"}
    with client.setup_kernel(env={**env, "KUBECONFIG": kubeconfig}):
        yield client, book


def run_all(client: NotebookClient, book: nbformat.NotebookNode) -> None:
    for index, node in enumerate(book.cells):
        client.execute_cell(node, index)


def test_the_stored_notebook_shows_the_clean_stop_and_no_machine_paths():
    book = nbformat.read(NOTEBOOK, as_version=4)
    assert "No cluster is configured here" in text(cell(book, DIFF_CELL))
    assert "there is no plan" in text(cell(book, APPLY_CELL))
    stored = str([node.outputs for node in book.cells if node.cell_type == "code"])
    for machine in ("/tmp/", "/home/", "/root/", "/work/", "Traceback"):
        assert machine not in stored


def test_with_a_cluster_it_applies_only_after_the_context_name_is_typed(served, tmp_path):
    context = served.context
    with kernel(str(served.kubeconfig), tmp_path) as (client, book):
        run_all(client, book)
        diffed = text(cell(book, DIFF_CELL))
        assert f"lane group 'mock-baggage' against {context}:" in diffed
        assert "8 create" in diffed
        assert text(cell(book, APPLY_CELL)) == \
            f"Nothing applied: set CONFIRM = '{context}' once you have read the diff.\n"
        assert served.writes() == []

        apply_cell = cell(book, APPLY_CELL)
        apply_cell.source = apply_cell.source.replace('CONFIRM = ""', f'CONFIRM = "{context}"')
        client.execute_cell(apply_cell, book.cells.index(apply_cell))
        applied = text(apply_cell)
        bars = [state for state in client.widget_state.values()
                if state.get("_model_name") == "FloatProgressModel"]
        written = {(c.kind, c.name) for c in served.writes()}

    wanted = {(o["kind"], o["metadata"]["name"]) for o in emit(examples.load("mock-baggage"),
                                                                "istio")}
    assert written == wanted
    assert "applied 8 step(s):" in applied
    assert applied.count("(create)") >= 8  # a line per object as it goes, then the summary
    assert [(bar["value"], bar["max"]) for bar in bars] == [(8, 8)]  # tqdm's bar, at the end
    everything = str([node.outputs for node in book.cells if node.cell_type == "code"])
    assert served.token not in everything

