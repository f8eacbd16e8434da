"""Findings: codes from one catalogue, with severity and a fix, as data."""

from __future__ import annotations

import pytest
from conftest import ROOT

from lanedesign.findings import CATALOGUE, SEVERITIES, Finding, catalogue_markdown, has_errors, make


def test_make_takes_severity_and_fix_from_the_catalogue():
    finding = make("LD201", "spec.baseline", "baseline 's9' names no lane")
    info = CATALOGUE["LD201"]
    assert finding == Finding("LD201", info.severity, "spec.baseline",
                              "baseline 's9' names no lane", info.fix)
    assert make("LD201", "p", "m", "a hint").hint == "a hint"


def test_an_unknown_code_is_a_programming_error():
    with pytest.raises(KeyError):
        make("LD999", "", "no such code")


def test_findings_read_as_text_and_as_json():
    finding = make("LD201", "spec.baseline", "names no lane")
    assert str(finding) == "error   LD201 spec.baseline: names no lane"
    assert finding.to_dict() == {"code": "LD201", "severity": "error", "path": "spec.baseline",
                                 "message": "names no lane", "hint": finding.hint,
                                 "name": CATALOGUE["LD201"].name}


def test_has_errors_ignores_warnings_and_info():
    warning = next(c for c, i in CATALOGUE.items() if i.severity == "warning")
    assert not has_errors([make(warning, "", "w")])
    assert has_errors((make(warning, "", "w"), make("LD201", "", "e")))


def test_the_catalogue_is_well_formed():
    assert all(code == info.code and code.startswith("LD") and len(code) == 5
               for code, info in CATALOGUE.items())
    assert {info.severity for info in CATALOGUE.values()} <= set(SEVERITIES)
    assert len({info.name for info in CATALOGUE.values()}) == len(CATALOGUE)  # names unique
    assert all(info.meaning and info.fix for info in CATALOGUE.values())


def test_docs_findings_md_is_generated_from_the_catalogue():
    assert (ROOT / "docs" / "findings.md").read_text(encoding="utf-8") == catalogue_markdown()
