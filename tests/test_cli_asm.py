"""``lanedesign export --target asm`` and ``lanedesign import-asm``: output, files, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lanedesign import examples
from lanedesign.cli import main
from lanedesign.designfile import load_design, save_design

FIXTURES = Path(__file__).parent / "fixtures" / "asm"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# -- export --------------------------------------------------------------------------------
def test_export_prints_the_objects_as_yaml(capsys):
    code, out, _ = run(capsys, "export", str(examples.path("mock-weighted")), "--target", "asm")
    assert code == 0
    assert out.startswith("# 4 asm objects for lane design 'mock-weighted'")
    docs = list(yaml.safe_load_all(out))
    assert [d["kind"] for d in docs] == ["ASMSwimLaneGroup", *["ASMSwimLane"] * 3]


def test_export_writes_one_file_per_object(capsys, tmp_path):
    code, out, _ = run(capsys, "export", str(examples.path("mock-weighted")), "--target", "asm",
                       "--out", str(tmp_path), "--format", "json")
    assert code == 0
    files = json.loads(out)["files"]
    assert sorted(Path(f).name for f in files) == [
        "asmswimlane-s1.yaml", "asmswimlane-s2.yaml", "asmswimlane-s3.yaml",
        "asmswimlanegroup-mock-weighted.yaml"]
    group = yaml.safe_load((tmp_path / "asmswimlanegroup-mock-weighted.yaml").read_text())
    assert group["spec"]["isPermissive"] is True


def test_traceid_example_exports_to_asm(capsys):
    code, out, _ = run(capsys, "export", str(examples.path("mock-traceid")), "--target", "asm")
    assert code == 0
    group = next(yaml.safe_load_all(out))
    assert group["spec"]["permissiveModeConfiguration"]["traceHeader"] == "my-trace-id"


def test_export_refusal_is_exit_1_with_the_finding(capsys):
    code, out, err = run(capsys, "export", str(examples.path("mock-baggage")), "--target",
                         "asm", "--format", "json")
    assert code == 1 and not err
    (finding,) = json.loads(out)["findings"]
    assert (finding["code"], finding["path"]) == ("LD610", "spec.ingress.default")


# -- import --------------------------------------------------------------------------------
def test_import_prints_a_design_that_loads(capsys, tmp_path):
    code, out, err = run(capsys, "import-asm", str(FIXTURES / "a-traceid.yaml"))
    assert code == 0
    assert "LD705" in err  # findings go to stderr, the design to stdout
    (tmp_path / "d.yaml").write_text(out)
    loaded = load_design(tmp_path / "d.yaml")
    assert loaded.findings == ()
    assert loaded.design.pass_through.trace_header == "my-trace-id"


def test_import_json_is_one_document(capsys):
    code, out, _ = run(capsys, "import-asm", str(FIXTURES / "c-baggage-weighted.yaml"),
                       "--format", "json")
    result = json.loads(out)
    assert code == 0
    assert set(result) == {"findings", "design"}
    assert result["design"]["spec"]["ingress"]["weights"] == {"s1": 60, "s2": 20, "s3": 20}
    assert {f["code"] for f in result["findings"]} <= {"LD705", "LD404", "LD511"}
    assert all(f["severity"] == "info" for f in result["findings"])


def test_import_saves_with_out(capsys, tmp_path):
    target = tmp_path / "mock.yaml"
    code, out, _ = run(capsys, "import-asm", str(FIXTURES / "b-header.yaml"), "--out",
                       str(target), "--format", "json")
    assert code == 0
    assert json.loads(out)["file"] == str(target)
    assert load_design(target).design.route_header == "my-trace-id"


def test_export_then_import_gives_the_same_objects(capsys, tmp_path):
    design = examples.load("mock-traceid").with_ingress(default=None)
    save_design(design, tmp_path / "d.yaml")
    _, first, _ = run(capsys, "export", str(tmp_path / "d.yaml"), "--target", "asm")
    (tmp_path / "asm.yaml").write_text(first)
    assert run(capsys, "import-asm", str(tmp_path / "asm.yaml"), "--out",
               str(tmp_path / "back.yaml"))[0] == 0
    _, second, _ = run(capsys, "export", str(tmp_path / "back.yaml"), "--target", "asm")
    assert list(yaml.safe_load_all(second)) == list(yaml.safe_load_all(first))


def test_import_picks_a_group(capsys, tmp_path):
    text = (FIXTURES / "a-traceid.yaml").read_text()
    both = tmp_path / "both.yaml"
    both.write_text(text + "\n---\n" + text.split("---")[0].replace("name: test", "name: b"))
    code, out, _ = run(capsys, "import-asm", str(both), "--format", "json")
    assert code == 1
    assert [f["code"] for f in json.loads(out)["findings"]] == ["LD702"]
    code, out, _ = run(capsys, "import-asm", str(both), "--group", "test", "--format", "json")
    assert code == 0 and json.loads(out)["design"]["metadata"]["name"] == "test"


@pytest.mark.parametrize(("content", "code"), [
    (b"\x89PNG\r\n\x1a\n\x00\x00", "LD001"),
    (b"", "LD701"),
    (b"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 2}\n",
     "LD701"),
])
def test_import_junk_is_exit_1_without_traceback(capsys, tmp_path, content, code):
    junk = tmp_path / "junk.yaml"
    junk.write_bytes(content)
    exit_code, out, err = run(capsys, "import-asm", str(junk), "--format", "json")
    assert exit_code == 1 and "Traceback" not in err
    result = json.loads(out)
    assert set(result) == {"findings"}
    assert code in [f["code"] for f in result["findings"]]


def test_import_missing_file_is_a_usage_error(capsys, tmp_path):
    code, out, err = run(capsys, "import-asm", str(tmp_path / "absent.yaml"))
    assert code == 2 and out == "" and "cannot read" in err


def test_console_script_on_junk(tmp_path):
    junk = tmp_path / "junk.yaml"
    junk.write_bytes(b"\x00\xff\xfe")
    proc = subprocess.run([sys.executable, "-m", "lanedesign", "import-asm", str(junk)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "LD001" in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_validate_with_the_asm_target_lists_what_asm_cannot_express(capsys):
    code, out, _ = run(capsys, "validate", str(examples.path("mock-baggage")), "--target",
                       "asm", "--format", "json")
    assert code == 1
    assert [f["code"] for f in json.loads(out)["findings"]] == ["LD610"]
    code, out, _ = run(capsys, "validate", str(examples.path("mock-traceid")), "--target",
                       "asm", "--format", "json")
    # ASM has no ingress default, so a request naming no lane gets 404: said, as info
    assert code == 0 and [f["code"] for f in json.loads(out)["findings"]] == ["LD511"]
