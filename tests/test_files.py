"""Writing exports: one file per object, a folder per namespace, each with its header; an
export folder keeps exactly the design's objects (the index of what lanedesign wrote)."""

from __future__ import annotations

import json

import pytest
import yaml

from lanedesign import examples
from lanedesign.codec import manifest_header
from lanedesign.files import INDEX, export_files, write_manifests
from lanedesign.pipeline import check_and_export


def vs(namespace: str | None, name: str) -> dict:
    meta = {"name": name} if namespace is None else {"name": name, "namespace": namespace}
    return {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": meta}


def test_write_manifests_puts_each_object_in_its_own_file(tmp_path):
    header = manifest_header("shop", "istio", 3, "shop.yaml")
    objects = [vs("a-g", "b"), vs("a", "g-b"), vs(None, "s1")]
    written = write_manifests(objects, tmp_path / "out", header)
    assert [p.relative_to(tmp_path / "out").as_posix() for p in written] == [
        "a-g/virtualservice-b.yaml", "a/virtualservice-g-b.yaml", "virtualservice-s1.yaml"]
    for path, obj in zip(written, objects):
        text = path.read_text()
        assert text.startswith(f"# {header}\n") and yaml.safe_load(text) == obj


# -- export_files: the folder holds exactly the design's objects (GitOps) ---------------------


def export(design, folder, target="istio"):
    checked = check_and_export(design, target)
    assert checked.ok, checked.findings
    objects = checked.objects
    header = manifest_header(design.name, target, len(objects))
    return export_files(objects, folder, header, design.name, target)


def yaml_files(folder) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*.yaml")}


def test_a_second_export_removes_exactly_the_stale_files_and_keeps_the_users(tmp_path):
    design = examples.load("shop")
    first = export(design, tmp_path)
    assert first.removed == () and first.findings == ()
    before = yaml_files(tmp_path)
    assert before == {p.relative_to(tmp_path).as_posix() for p in first.written}
    # the user's own files, one named like an export file, one beside them
    namespace = next(p.parent for p in first.written if p.parent != tmp_path)
    mine = [namespace / "virtualservice-shop-handmade.yaml", tmp_path / "notes.yaml"]
    for path in mine:
        path.write_text("# mine\n", encoding="utf-8")
    lane = design.lanes[-1].name
    weights = design.ingress.weight_map  # the baseline takes the removed lane's share
    smaller = design.without_lane(lane).with_weight(
        design.baseline, weights[design.baseline] + weights.get(lane, 0))
    smaller = smaller.without_service(smaller.services[-1].name)
    second = export(smaller, tmp_path)
    now = {p.relative_to(tmp_path).as_posix() for p in second.written}
    stale = before - now
    assert stale  # the check could be vacuous: the smaller design must emit fewer objects
    assert {p.relative_to(tmp_path).as_posix() for p in second.removed} == stale
    assert yaml_files(tmp_path) == now | {p.relative_to(tmp_path).as_posix() for p in mine}
    assert all(p.read_text() == "# mine\n" for p in mine)
    assert second.findings == ()
    record = json.loads((tmp_path / INDEX).read_text())
    assert set(record["groups"]["shop"]["files"]) == now
    assert record["groups"]["shop"]["target"] == "istio"


def test_the_same_export_twice_removes_nothing(tmp_path):
    design = examples.load("mock-baggage")
    export(design, tmp_path)
    again = export(design, tmp_path)
    assert again.removed == () and again.findings == () and again.written


def test_another_design_in_the_same_folder_is_left_alone(tmp_path):
    baggage, header = examples.load("mock-baggage"), examples.load("mock-header")
    export(baggage, tmp_path)
    first = yaml_files(tmp_path)
    export(header, tmp_path)
    # mock-header shares no file name with mock-baggage (names carry the design's)
    both = yaml_files(tmp_path)
    assert first < both
    done = export(header.without_service("mockc"), tmp_path)  # mock-header's files only
    assert done.removed and first <= yaml_files(tmp_path)


def test_a_target_switch_replaces_the_groups_files(tmp_path):
    design = examples.load("mock-header")
    export(design, tmp_path, "istio")
    done = export(design, tmp_path, "asm")
    assert yaml_files(tmp_path) == {p.relative_to(tmp_path).as_posix() for p in done.written}
    assert done.removed


def test_a_stale_file_changed_since_is_kept_with_a_finding(tmp_path):
    design = examples.load("mock-baggage")
    first = export(design, tmp_path)
    envoy = next(p for p in first.written if p.name.startswith("envoyfilter-"))
    envoy.write_text(envoy.read_text() + "# tuned by hand\n", encoding="utf-8")
    header_design = design.with_method("header")  # no EnvoyFilter any more
    done = export(header_design, tmp_path)
    assert envoy.is_file() and envoy not in done.removed
    assert [f.code for f in done.findings] == ["LD604"]
    assert done.findings[0].severity == "warning" and str(envoy) in done.findings[0].message


def test_a_stale_file_that_cannot_be_removed_is_kept_with_a_finding(tmp_path, monkeypatch):
    design = examples.load("mock-baggage")
    first = export(design, tmp_path)
    envoy = next(p for p in first.written if p.name.startswith("envoyfilter-"))

    def refuse(self, missing_ok=False):  # as a read-only mount or a locked file would
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(type(envoy), "unlink", refuse)
    done = export(design.with_method("header"), tmp_path)
    assert envoy.is_file() and envoy not in done.removed
    assert [f.code for f in done.findings] == ["LD605"]
    assert "Permission denied" in done.findings[0].message
    monkeypatch.undo()
    # still recorded: the next export removes it
    again = export(design.with_method("header"), tmp_path)
    assert envoy in again.removed and not envoy.exists()


@pytest.mark.parametrize("content", [
    "{not json", "[]", '{"writer": "lanedesign", "format": 99, "groups": {}}',
    '{"writer": "lanedesign", "format": 1, "groups": {"mock-baggage": {"files": '
    '{"../outside.yaml": "' + "0" * 64 + '"}, "dirs": []}}}',
    '{"writer": "lanedesign", "format": 1, "groups": {"mock-baggage": {"files": '
    '{"/etc/x.yaml": "' + "0" * 64 + '"}, "dirs": []}}}',
])
def test_a_garbled_index_is_a_finding_and_nothing_is_removed(tmp_path, content):
    design = examples.load("mock-baggage")
    export(design, tmp_path)
    (tmp_path / INDEX).write_text(content, encoding="utf-8")
    before = yaml_files(tmp_path)
    done = export(design.with_method("header"), tmp_path)
    assert [f.code for f in done.findings] == ["LD603"]
    assert done.removed == () and before <= yaml_files(tmp_path)
    assert (tmp_path / INDEX).read_text() == content  # left for the user to look at


def test_namespace_folders_it_created_go_when_empty(tmp_path):
    design = examples.load("shop")
    export(design, tmp_path)
    assert (tmp_path / "payments").is_dir()  # shop's second namespace
    (tmp_path / "kept-by-user").mkdir()  # an empty folder it did not create
    smaller = design
    for service in design.services:
        if design.namespace_of(service.name) == "payments":
            smaller = smaller.without_service(service.name)
    done = export(smaller, tmp_path)
    assert done.removed and all(p.parent.name == "payments" for p in done.removed)
    assert not (tmp_path / "payments").exists()
    assert (tmp_path / "kept-by-user").is_dir()
    record = json.loads((tmp_path / INDEX).read_text())
    assert record["groups"]["shop"]["dirs"] == ["istio-system", "shop"]
