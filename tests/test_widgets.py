"""The designer's widgets: user actions become model edits; every view follows; undo works."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import pytest
from synthetic import layered_design

from lanedesign import dump_design, examples
from lanedesign.cli import main
from lanedesign.widgets import Designer, DesignState
from lanedesign.widgets.common import parse_labels
from lanedesign.widgets.export import load_text
from lanedesign.widgets.headers import carried_headers


@pytest.fixture
def designer():
    return Designer("mock-baggage")


def fallback_cells(designer: Designer) -> set[tuple[str, str]]:
    """(service, lane) pairs the matrix tab shows as served by a fallback."""
    frame = designer.show(designer.matrix).frame
    return {(svc, lane) for svc, row in frame.iterrows() for lane, served in row.items()
            if served != lane}


def dashed_calls(designer: Designer) -> set[str]:
    """The calls the diagram draws dashed (fallbacks), by service name."""
    diagram = designer.show(designer.diagram).diagram
    names = dict(diagram.nodes)
    return {f"{names[m.group(1)]}->{names[m.group(2)]}" for m in
            re.finditer(r"(n\d+) -> (n\d+) \[[^\]]*style=dashed", diagram.source)}


# -- membership, the heart of it --------------------------------------------------------------
def test_unticking_a_service_makes_a_fallback_everywhere_and_undo_restores_it(designer):
    assert fallback_cells(designer) == {("mockb", "s2"), ("mocka", "s3"), ("mockc", "s3")}
    assert dashed_calls(designer) == {"mocka->mockb"}  # lane s2: mocka -> mockb falls back

    designer.show(designer.lanes).checkboxes[("s2", "mockc")].value = False

    assert designer.design.lane("s2").services == ("mocka",)
    assert ("mockc", "s2") in fallback_cells(designer)
    assert "↩ s1" in designer.matrix.output.value
    assert dashed_calls(designer) == {"mocka->mockb", "mockb->mockc"}
    assert "fallback -> s1" in designer.diagram.diagram.source
    assert designer.undo_button.description == "Undo: untick mockc in s2"

    designer.undo()
    assert designer.design == examples.load("mock-baggage")
    assert ("mockc", "s2") not in fallback_cells(designer)
    assert designer.show(designer.lanes).checkboxes[("s2", "mockc")].value is True
    assert designer.undo_button.disabled


def test_ticking_a_service_removes_its_fallback(designer):
    designer.show(designer.lanes).checkboxes[("s2", "mockb")].value = True
    assert designer.design.lane("s2").services == ("mocka", "mockb", "mockc")
    assert ("mockb", "s2") not in fallback_cells(designer)
    assert dashed_calls(designer) == set()


def test_an_edit_that_breaks_the_design_shows_the_finding_not_a_crash(designer):
    designer.show(designer.lanes).checkboxes[("s1", "mockb")].value = False  # the baseline
    codes = [f.code for f in designer.state.findings]
    assert "LD202" in codes
    assert "1 error(s)" in designer.status.value
    assert designer.tabs.titles[4] == f"Findings ({len(codes)})"
    assert "LD202" in designer.show(designer.findings).table.value
    for view in (designer.diagram, designer.matrix):
        designer.show(view)
        assert "The design has 1 error(s)" in view.banner.value
    assert "Cannot show" not in designer.matrix.output.value
    assert "Cannot show" not in designer.diagram.title_html.value
    assert designer.diagram.canvas.svg.startswith("<svg")
    designer.show(designer.export)
    assert "errors before exporting to istio" in designer.export.status.value
    assert designer.export.write.disabled


def test_per_service_fallback_target(designer):
    lanes = designer.show(designer.lanes)
    designer.lanes.checkboxes[("s3", "mockc")].value = True
    menu = lanes.fallbacks["mockc"]
    assert ("s3", "s3") in menu.options
    menu.value = "s3"
    assert designer.design.fallback_map == {"mockc": "s3"}
    assert designer.show(designer.matrix).frame.loc["mockc", "s2"] == "s2"
    designer.show(designer.lanes).checkboxes[("s2", "mockc")].value = False
    assert designer.show(designer.matrix).frame.loc["mockc", "s2"] == "s3"


def test_the_grid_pages_and_filters_large_designs():
    designer = Designer(layered_design(200, 4))
    lanes = designer.show(designer.lanes)
    services, pages = lanes.page_services()
    assert len(services) == 20 and pages == 10
    assert len(lanes.checkboxes) == 20 * 4
    lanes.filter.value = "svc-019"
    assert lanes.page_services() == ([f"svc-019{i}" for i in range(10)], 1)
    lanes.checkboxes[("lane-1", "svc-0190")].value = True
    assert designer.design.lane("lane-1").holds("svc-0190")


# -- services ---------------------------------------------------------------------------------
def test_rename_add_and_remove_a_service(designer):
    services = designer.show(designer.services)
    services.select.value = "mockb"
    services.name.value = "reviews"
    services.rename.click()
    design = designer.design
    assert design.service("mocka").calls == ("reviews",)
    assert design.lane("s3").services == ("reviews",)

    services.new_name.value = "ratings"
    designer.services.widget  # noqa: B018 - the panel stays built
    services._add()
    assert designer.design.lane("s1").holds("ratings")  # into the baseline
    assert services.select.value == "ratings"

    services.remove.click()
    assert designer.design.service("ratings") is None
    assert designer.state.last_edit == "remove service ratings"


def test_calls_and_context_dropping(designer):
    services = designer.show(designer.services)
    services.select.value = "mockb"
    services.propagates.value = False
    assert designer.design.service("mockb").propagates is False
    assert "LD403" in [f.code for f in designer.state.findings]
    source = designer.show(designer.diagram).diagram.source
    assert "style=dotted" in source and "context dropped -> s1" in source

    services = designer.show(designer.services)
    services.select.value = "mocka"
    services.calls.value = ["mockb", "mockc"]
    assert designer.design.service("mocka").calls == ("mockb", "mockc")


def test_a_bad_port_is_a_notice_and_changes_nothing(designer):
    services = designer.show(designer.services)
    before = designer.design
    services.port.value = "eighty"
    assert designer.design == before
    assert "not a number" in designer.notice.value


# -- lanes ------------------------------------------------------------------------------------
def test_add_rename_relabel_and_remove_a_lane(designer):
    lanes = designer.show(designer.lanes)
    lanes.new_name.value = "s4"
    lanes.widget.children  # noqa: B018
    lanes._add()
    assert designer.design.lane("s4").label_map == {"version": "s4"}
    assert lanes.lane.value == "s4"
    lanes.labels.value = "version=v4, team=pay"
    assert designer.design.lane("s4").label_map == {"version": "v4", "team": "pay"}
    lanes.name.value = "canary"
    lanes.rename.click()
    assert designer.design.lane_names == ("s1", "s2", "s3", "canary")
    lanes.remove.click()
    assert designer.design.lane_names == ("s1", "s2", "s3")


def test_bad_pod_labels_are_a_notice(designer):
    lanes = designer.show(designer.lanes)
    lanes.lane.value = "s2"
    lanes.labels.value = "version v2"
    assert designer.design.lane("s2").label_map == {"version": "v2"}
    assert "is not key=value" in designer.notice.value


def test_baseline_and_strict_mode(designer):
    lanes = designer.show(designer.lanes)
    lanes.mode.value = "strict"
    assert designer.design.mode == "strict"
    assert {f.code for f in designer.state.findings} >= {"LD203"}
    assert all(menu.disabled for menu in lanes.fallbacks.values())
    designer.undo()
    lanes = designer.show(designer.lanes)
    lanes.baseline.value = "s2"
    assert designer.design.baseline == "s2"


@pytest.mark.parametrize(("text", "pairs"), [
    ("version=v2", (("version", "v2"),)),
    (" a=b , c=d ", (("a", "b"), ("c", "d"))),
    ("", ()),
])
def test_parse_labels(text, pairs):
    assert parse_labels(text) == pairs


# -- headers and pass-through -----------------------------------------------------------------
def test_switching_the_pass_through_method(designer):
    headers = designer.show(designer.headers)
    assert headers.trace_header.layout.display == "none"
    headers.method.value = "traceId"
    assert designer.design.pass_through.method == "traceId"
    assert "LD303" in [f.code for f in designer.state.findings]  # needs a trace header
    assert headers.trace_header.layout.display == ""
    headers.trace_header.value = "x-b3-traceid"
    assert designer.design.pass_through.trace_header == "x-b3-traceid"
    assert not designer.state.has_errors
    headers.method.value = "header"
    assert designer.design.pass_through.trace_header is None  # header: it is the route header
    assert not designer.state.has_errors
    headers.route_header.value = "x-lane"
    assert designer.design.route_header == "x-lane"


def test_carried_headers_explain_each_method(mock):
    assert "baggage: x-asm-prefer-tag=s2" in carried_headers(mock, "s2")
    header = mock.with_pass_through(method="header", baggage_key=None)
    assert carried_headers(header, "s3").startswith("x-asm-prefer-tag: s3")


# -- ingress ----------------------------------------------------------------------------------
def test_rules_are_edited_in_order(designer):
    ingress = designer.show(designer.ingress)
    rules = designer.design.ingress.rules
    assert [r.lane for r in rules] == ["s2", "s3"]
    ingress._move(0, 1)
    assert [r.lane for r in designer.design.ingress.rules] == ["s3", "s2"]
    ingress._add_rule(designer.design)
    assert len(designer.design.ingress.rules) == 3
    ingress._drop(2)
    ingress.default.value = ""
    assert designer.design.ingress.default is None


def test_weighted_ingress_and_the_distribution(designer):
    ingress = designer.show(designer.ingress)
    ingress.strategy.value = "weighted"
    assert "LD508" in [f.code for f in designer.state.findings]  # no weights yet
    boxes = {b.description: b for b in _find(ingress.body, "BoundedIntText")}
    boxes["s1"].value = 80
    ingress = designer.show(designer.ingress)
    {b.description: b for b in _find(ingress.body, "BoundedIntText")}["s2"].value = 20
    assert designer.design.ingress.weight_map == {"s1": 80, "s2": 20, "s3": 0}
    request = designer.show(designer.request)
    shares = {int(w): float(p) for p, w in
              re.findall(r"([\d.]+)% \(\d+, weight (\d+)\)", request.spread.value)}
    assert set(shares) == {80, 20, 0} and abs(shares[80] - 80) < 5 and shares[0] == 0


def _find(widget, kind: str) -> list:
    found = [widget] if type(widget).__name__ == kind else []
    for child in getattr(widget, "children", ()):
        found += _find(child, kind)
    return found


# -- try a request ----------------------------------------------------------------------------
def test_a_request_in_lane_s3(designer):
    request = designer.show(designer.request)
    request.headers.value = "x-asm-prefer-tag: s3"
    request.send.click()
    assert [(h.service, h.lane) for h in request.trace.hops] == [
        ("mocka", "s1"), ("mockb", "s3"), ("mockc", "s1")]
    assert "HTTP 200, lane <b>s3</b>" in request.status.value
    assert "fallback -&gt; s1" in request.hops.value
    assert designer.diagram.trace is request.trace  # highlighted on the diagram beside
    assert "request in lane s3" in designer.diagram.title_html.value
    designer.show(designer.lanes)
    assert designer.diagram.trace is None and "lane s2" in designer.diagram.title_html.value


def test_a_request_that_matches_nothing(designer):
    designer.state.edit("drop the default", lambda d: d.with_ingress(default=None))
    request = designer.show(designer.request)
    request.headers.value = "x-other: 1"
    request.send.click()
    assert request.trace.status == 404 and "HTTP 404" in request.status.value


def test_a_malformed_header_line_is_a_message(designer):
    request = designer.show(designer.request)
    request.headers.value = "no separator here"
    request.send.click()
    assert "is not &#x27;name: value&#x27;" in request.status.value


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
    assert "asmswimlanegroup-mock-baggage.yaml" in files and len(files) == 4
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
    from lanedesign.emit import dump_manifests, emit

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


# -- state and the designer as a whole --------------------------------------------------------
def test_state_records_edits_refuses_bad_ones_and_skips_no_ops(mock):
    state = DesignState(mock)
    seen = []
    state.on_change(lambda: seen.append(state.design))
    assert not state.edit("nothing", lambda d: d)
    assert not state.edit("bad", lambda d: d.with_membership("nope", "mocka", True))
    assert state.notice.startswith("could not bad") and state.design == mock
    assert state.edit("tick", lambda d: d.with_membership("s3", "mocka", True))
    assert state.last_edit == "tick" and len(state.history) == 1
    assert state.undo() and state.design == mock and not state.undo()


def test_only_the_visible_tab_and_the_diagram_beside_it_are_redrawn(designer):
    designer.show(designer.lanes).checkboxes[("s2", "mockc")].value = False
    assert designer.matrix.stale and not designer.lanes.stale
    assert not designer.diagram.stale  # the diagram follows every edit
    assert "mockb->mockc" in dashed_calls(designer)


def test_the_designer_displays_as_a_widget(designer):
    bundle = designer._repr_mimebundle_()
    assert bundle["text/plain"] == "<Designer of lane design 'mock-baggage'>"
    assert "application/vnd.jupyter.widget-view+json" in bundle


def test_a_large_design_stays_drawable():
    designer = Designer(layered_design(1000, 10))
    diagram = designer.show(designer.diagram)
    assert len(diagram.diagram.shown) <= 60 and "left out" in diagram.diagram.note
    diagram.focus.value = "service"
    diagram.service.value = "svc-0500"
    assert diagram.diagram.shown[0] == "svc-0500"
    matrix = designer.show(designer.matrix)
    assert len(matrix.frame) == 40 and matrix.page_label.value == "page 1 of 25 (1000 services)"
    matrix.next.click()
    assert matrix.frame.index[0] == "svc-0040"
