"""check_and_export: the one path from a design to a target's objects, for every front end."""

from __future__ import annotations

from lanedesign import examples
from lanedesign.codec import dump_manifests
from lanedesign.designfile import dump_design, parse_design
from lanedesign.emit import emit
from lanedesign.pipeline import check_and_export, design_from_text, merge

MOCK = examples.load("mock-baggage")


def test_a_clean_design_is_exported_from_a_path_a_parse_or_a_design():
    from_path = check_and_export(examples.path("mock-baggage"), "istio")
    from_parse = check_and_export(parse_design(dump_design(MOCK)), "istio")
    from_design = check_and_export(MOCK, "istio")
    assert from_path.ok and from_path.objects == tuple(emit(MOCK, "istio"))
    assert from_parse.objects == from_design.objects == from_path.objects


def test_without_a_target_it_only_checks():
    checked = check_and_export(MOCK)
    assert checked.ok and checked.objects == () and checked.refusals == ()


def test_every_refusal_of_the_target_is_returned_not_just_the_first():
    design = MOCK.with_pass_through(baggage_key="other")
    checked = check_and_export(design, "asm")
    assert not checked.ok and checked.objects == ()
    assert [f.code for f in checked.refusals] == ["LD612", "LD610"]
    assert [f.code for f in checked.errors] == ["LD612", "LD610"]


def test_design_errors_come_first_and_stop_the_target_checks():
    broken = MOCK.with_(baseline="s9")
    checked = check_and_export(broken, "asm")
    assert not checked.ok and checked.refusals == ()
    assert "LD201" in [f.code for f in checked.errors]


def test_an_unreadable_file_is_a_finding_not_an_exception(tmp_path):
    checked = check_and_export(tmp_path / "missing.yaml", "istio")
    assert not checked.ok and [f.code for f in checked.findings] == ["LD007"]


def test_merge_keeps_one_finding_per_path_the_reader_flagged():
    parsed = parse_design("apiVersion: lanedesign/v1alpha1\nkind: LaneDesign\n"
                          "metadata: {name: x}\nspec: {baseline: 3}\n")
    checked = check_and_export(parsed)
    paths = [f.path for f in checked.findings]
    assert paths.count("spec.baseline") == 1
    assert merge(parsed.findings, parsed.findings) == list(parsed.findings)


def test_an_upload_is_a_design_file_or_asm_objects():
    weighted = examples.load("mock-weighted")
    from_asm = design_from_text(dump_manifests(emit(weighted, "asm")).encode())
    assert from_asm.design.lanes == weighted.lanes
    assert design_from_text(dump_design(MOCK).encode()).design == MOCK
    junk = design_from_text(b"a: [")
    assert junk.design is None and junk.findings[0].code == "LD001"
