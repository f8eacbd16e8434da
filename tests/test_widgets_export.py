"""The Export tab: previews, files, refusals; saving and loading designs."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from lanedesign import dump_design, examples
from lanedesign.cli import main
from lanedesign.emit import emit
from lanedesign.widgets import Designer
from lanedesign.widgets.export import load_text


# -- export and loading -----------------------------------------------------------------------
def test_asm_export_preview_and_files(tmp_path, designer):
    designer.state.edit("drop the default", lambda d: d.with_ingress(default=None))
    export = designer.show(designer.export)
    export.target.value = "asm"
    assert "kind: ASMSwimLaneGroup" in export.preview.value
    assert 'download="mock-baggage-asm.yaml"' in export.downloads.value
    export.folder.value = str(tmp_path / "out")
    export.write.click()
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    # the four objects, and the index of what lanedesign wrote there (files.py)
    assert "asmswimlanegroup-mock-baggage.yaml" in files and len(files) == 5
    assert ".lanedesign-export.json" in files
    assert "Wrote 4 files" in export.result.value


def test_istio_export_preview_and_files_by_namespace(tmp_path, designer):
    export = designer.show(designer.export)
    assert export.target.value == "istio"
    assert "kind: EnvoyFilter" in export.preview.value and "8 objects" in export.status.value
    export.folder.value = str(tmp_path)
    export.write.click()
    assert (tmp_path / "default" / "virtualservice-mock-baggage-mockb.yaml").is_file()
    assert "default/destinationrule-mock-baggage-mocka.yaml" in export.result.value
    headers = designer.show(designer.headers)
    headers.method.value = "traceId"  # Istio cannot do this
    headers.trace_header.value = "x-b3-traceid"  # else the design's own error comes first
    export = designer.show(designer.export)
    assert "Istio cannot express this design" in export.status.value
    assert "LD601" in export.status.value and export.write.disabled


def test_the_export_tab_offers_the_full_routes(designer):
    export = designer.show(designer.export)
    assert "name: lane-s1" not in export.preview.value  # minimal: the default serves s1
    export.full_routes.value = True
    assert "name: lane-s1" in export.preview.value
    assert export.objects == emit(designer.design, "istio", full_routes=True)
    export.target.value = "asm"
    assert export.full_routes.layout.display == "none"


def test_a_target_that_cannot_express_the_design_says_why(designer):
    export = designer.show(designer.export)
    export.target.value = "asm"
    assert "Alibaba Cloud ASM cannot express this design" in export.status.value
    assert "LD610" in export.status.value and export.preview.layout.display == "none"


def test_gateway_api_export_is_offered_and_says_what_it_refuses(designer):
    export = designer.show(designer.export)
    export.target.value = "gateway-api"
    # mock-baggage's gateway rules match the route header, which baggage may stand in for
    assert "LD623" in export.status.value and export.write.disabled
    designer.show(designer.headers).method.value = "header"
    export = designer.show(designer.export)
    export.target.value = "gateway-api"
    assert "kind: HTTPRoute" in export.preview.value and "10 gateway-api objects" in (
        export.preview.value)


def test_the_export_tab_lists_every_refusal_the_cli_reports(designer, capsys, tmp_path):
    # mock-baggage with another baggage key: ASM refuses it twice (LD612 and LD610)
    design = designer.design.with_pass_through(baggage_key="other")
    path = tmp_path / "other-key.yaml"
    path.write_text(dump_design(design))
    assert main(["validate", str(path), "--target", "asm", "--format", "json"]) == 1
    cli = [f["code"] for f in json.loads(capsys.readouterr().out)["findings"]]
    assert {"LD612", "LD610"} <= set(cli)
    designer.state.replace(design, "other baggage key")
    export = designer.show(designer.export)
    export.target.value = "asm"
    shown = [code for code in cli if f"<b>{code}</b>" in export.status.value]
    assert shown == cli


def test_save_and_load_a_design_file(tmp_path, designer):
    export = designer.show(designer.export)
    export.design_path.value = str(tmp_path / "mine.yaml")
    export.save.click()
    saved = (tmp_path / "mine.yaml").read_text()
    assert saved == dump_design(designer.design)

    export.load_bytes(examples.path("shop").read_bytes(), "shop.yaml")
    assert designer.design.name == "shop"
    designer.undo()
    assert designer.design.name == "mock-baggage"


def test_the_upload_button_loads_a_file(designer):
    export = designer.show(designer.export)
    content = examples.path("mock-weighted").read_bytes()
    export.upload.value = ({"name": "w.yaml", "type": "application/x-yaml", "size": len(content),
                            "content": memoryview(content),
                            "last_modified": datetime(2026, 1, 1, tzinfo=timezone.utc)},)
    assert designer.design.name == "mock-weighted"
    assert export.upload.value == ()  # cleared, so the same file can be loaded again
    assert designer.undo_button.description == "Undo: load w.yaml"


def test_loading_junk_keeps_the_design(designer):
    export = designer.show(designer.export)
    export.load_bytes(b"spec: [unclosed", "junk.yaml")
    assert designer.design.name == "mock-baggage"
    assert "junk.yaml was not loaded" in export.result.value and "LD001" in export.result.value


def test_loading_asm_yaml_imports_the_lanes(designer):
    from lanedesign.codec import dump_manifests
    from lanedesign.emit import emit

    weighted = examples.load("mock-weighted")
    text = dump_manifests(emit(weighted, "asm")).encode()
    loaded = load_text(text)
    assert loaded.design is not None and loaded.design.lane_names == weighted.lane_names
    designer.show(designer.export).load_bytes(text, "lanes.yaml")
    assert designer.design.lane_names == weighted.lane_names


def test_open_an_example(designer):
    export = designer.show(designer.export)
    export.example.value = "shop"
    export.open.click()
    assert designer.design.name == "shop"
    assert designer.title.value.endswith("shop</span>")


# -- large designs: what the tab leaves for later ----------------------------------------------
def test_a_large_export_previews_the_first_objects_and_prepares_the_download_on_request():
    from benchmarks.generate import synthetic_design
    from lanedesign.widgets.export import PREVIEW_OBJECTS, manifests

    design = synthetic_design(60, 4, seed=3)
    designer = Designer(design)
    export = designer.show(designer.export)
    objects = emit(design, "istio")
    assert len(objects) > PREVIEW_OBJECTS and export.objects == objects
    assert f"and {len(objects) - PREVIEW_OBJECTS} more objects" in export.preview.value
    assert export.downloads.value == "" and export.prepare.layout.display == ""
    export.prepare.click()
    assert 'download="synthetic-istio.yaml"' in export.downloads.value
    assert 'download="synthetic.yaml"' in export.downloads.value
    assert export.prepare.layout.display == "none"
    # the Cluster tab asks for the same objects: one emission serves both
    assert manifests(designer.design, "istio")[0] is export.objects


def test_writing_files_again_removes_what_the_design_no_longer_emits(tmp_path, designer):
    """The Export tab writes through ``files.export_files``, as ``export --out`` does."""
    export = designer.show(designer.export)
    export.folder.value = str(tmp_path)
    export.write.click()
    envoy = tmp_path / "istio-system" / "envoyfilter-mock-baggage-baggage.yaml"
    assert envoy.is_file() and (tmp_path / ".lanedesign-export.json").is_file()
    designer.state.edit("header method", lambda d: d.with_method("header"))
    export = designer.show(designer.export)
    export.write.click()
    assert not envoy.exists()
    assert "Removed 1 no longer emitted: istio-system/envoyfilter-mock-baggage-baggage.yaml" \
        in export.result.value


def test_the_export_tab_offers_the_gateway_where_the_target_emits_one(designer):
    export = designer.show(designer.export)
    assert "kind: Gateway" not in export.preview.value  # opt-in
    export.with_gateway.value = True
    assert "kind: Gateway\n" in export.preview.value
    assert export.objects == emit(designer.design, "istio", with_gateway=True)
    export.target.value = "asm"  # ASM emits no Gateway: the box is not offered
    assert export.with_gateway.layout.display == "none"


# -- the data plane (docs/ambient.md) -----------------------------------------------------------
def test_the_data_plane_selector_edits_the_design_and_the_export_follows(designer):
    designer.state.replace(examples.load("mock-header"), "open mock-header")
    export = designer.show(designer.export)
    assert export.data_plane.value == "sidecar"
    assert "who routes" in export.data_planes_help.value  # the two side by side
    export.data_plane.value = "ambient"
    assert designer.design.data_plane == "ambient"
    assert designer.state.last_edit == "data plane ambient"
    # the istio target is refused, pointing at gateway-api, which emits the waypoint
    assert "LD640" in export.status.value and "--target gateway-api" in export.status.value
    export.target.value = "gateway-api"
    assert "gatewayClassName: istio-waypoint" in export.preview.value
    assert "istio.io/use-waypoint: waypoint" in export.preview.value
    designer.state.undo()
    export = designer.show(designer.export)
    assert designer.design.data_plane == "sidecar" and export.data_plane.value == "sidecar"
    assert "istio-waypoint" not in export.preview.value


def test_opening_the_ambient_example_shows_its_data_plane(designer):
    export = designer.show(designer.export)
    export.example.value = "mock-ambient"
    export.open.click()
    export = designer.show(designer.export)
    assert export.data_plane.value == "ambient"
    assert designer.state.last_edit == "open example mock-ambient"  # no edit of its own
