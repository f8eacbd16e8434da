"""Manifest YAML: multi-line strings become literal blocks and read back unchanged."""

from __future__ import annotations

import yaml

from lanedesign.emit import dump_manifests


def test_multi_line_strings_are_literal_blocks():
    source = "local a = 1\n\nfunction f()\n  return a\nend\n"
    text = dump_manifests([{"data": {"script": source, "one": "line"}}], header="made by me")
    assert text.startswith("# made by me\n---\n")
    assert "  script: |\n    local a = 1\n\n    function f()\n      return a\n" in text
    assert yaml.safe_load(text) == {"data": {"script": source, "one": "line"}}


def test_strings_that_cannot_be_blocks_still_read_back():
    odd = {"trailing": "a \nb", "tab": "\tx\ny", "plain": "yes", "num": "1"}
    assert yaml.safe_load(dump_manifests([odd])) == odd
