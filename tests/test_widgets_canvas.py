"""The live diagram beside the editors: what its gestures do to the design and the views.

The browser half (canvas.js turning pointer events into these messages) is driven by
tests/test_browser.py; here the messages are handed to the panel as the browser sends them.
"""

from __future__ import annotations

import pytest
from ipywidgets import DOMWidget
from synthetic import layered_design

from lanedesign import examples
from lanedesign.widgets import Designer
from lanedesign.widgets.canvas import READABLE_PX, DiagramCanvas


@pytest.fixture
def designer():
    return Designer("mock-baggage")


def node_of(designer: Designer, service: str) -> str:
    return next(i for i, s in designer.diagram.canvas.nodes.items() if s == service)


def edge_of(designer: Designer, caller: str, callee: str) -> str:
    return next(i for i, c in designer.diagram.canvas.edges.items() if c == [caller, callee])


def test_the_canvas_ships_its_javascript_and_fetches_nothing():
    esm = DiagramCanvas._esm
    text = esm.read_text() if hasattr(esm, "read_text") else str(esm)
    assert "export default" in text and "pointerdown" in text and "wheel" in text
    for remote in ("http://", "https://", "cdn", "import("):
        assert remote not in text.replace("http://www.w3.org/2000/svg", "")
    # the smallest Graphviz text (9 pt) is drawn at READABLE_PX at the initial zoom
    assert DiagramCanvas().min_scale * 9 == pytest.approx(READABLE_PX)


def test_the_canvas_is_sent_ids_hints_and_the_legend(designer):
    canvas = designer.diagram.canvas
    assert canvas.svg.startswith("<svg")
    for node_id in canvas.nodes:
        assert f'id="{node_id}"' in canvas.svg
    assert sorted(canvas.nodes.values()) == ["mocka", "mockb", "mockc"]
    assert "falls back to s1" in canvas.hints[node_of(designer, "mockb")]
    assert [lane for lane, _, _ in canvas.lanes] == ["s1", "s2", "s3"]
    assert canvas.lane == "s2"
    # each mark drawn comes with its own little drawing: the dashed fallback line
    (_, mark), = [m for m in canvas.marks if m[0].startswith("fallback")]
    assert mark.startswith("<svg") and 'stroke-dasharray="5,2"' in mark
    assert all(m.startswith("<svg") and t for t, m in canvas.marks)


def test_dragging_one_service_onto_another_adds_a_call_that_matrix_and_findings_follow(
        designer):
    before = examples.load("mock-baggage")
    designer.show(designer.matrix)
    designer.diagram.handle({"event": "connect", "from": node_of(designer, "mockc"),
                             "to": node_of(designer, "mocka")})
    assert designer.design.service("mockc").calls == ("mocka",)
    assert designer.undo_button.description == "Undo: add call mockc -> mocka"
    assert ["mockc", "mocka"] in designer.diagram.canvas.edges.values()
    # a cycle now: the validator says so, and the findings tab title counts it
    assert any("cycle" in f.message for f in designer.state.findings)
    assert designer.tabs.titles[4].startswith("Findings (")
    designer.undo()
    assert designer.design == before
    assert ["mockc", "mocka"] not in designer.diagram.canvas.edges.values()


def test_a_new_call_to_a_service_reached_only_by_it_changes_the_matrix_walk(designer):
    designer.state.edit("add svc", lambda d: d.with_service(
        d.service("mockc").__class__("mockd")).with_membership("s1", "mockd", True))
    designer.diagram.focus.value = "all"
    designer.diagram.handle({"event": "connect", "from": node_of(designer, "mockc"),
                             "to": node_of(designer, "mockd")})
    assert designer.design.service("mockc").calls == ("mockd",)
    hint = designer.diagram.canvas.hints[node_of(designer, "mockd")]
    assert "not reached" not in hint and "falls back to s1" in hint


def test_a_refused_call_says_why_and_records_nothing(designer):
    a = node_of(designer, "mocka")
    designer.diagram.handle({"event": "connect", "from": a, "to": node_of(designer, "mockb")})
    assert designer.state.notice == "mocka already calls mockb" and not designer.state.history
    designer.diagram.handle({"event": "connect", "from": a, "to": a})
    assert designer.state.notice == "mocka cannot call itself" and not designer.state.history
    designer.diagram.handle({"event": "connect", "from": a, "to": "no-such-node"})
    assert not designer.state.history


def test_clicking_a_service_selects_it_in_the_editors(designer):
    designer.show(designer.lanes)
    designer.diagram.handle({"event": "select", "node": node_of(designer, "mockc")})
    assert designer.visible is designer.services
    assert designer.services.select.value == "mockc"
    assert designer.services.name.value == "mockc"
    assert designer.diagram.canvas.selected == "mockc"
    # a filter hiding it is cleared
    designer.services.filter.value = "mocka"
    designer.diagram.handle({"event": "select", "node": node_of(designer, "mockb")})
    assert designer.services.select.value == "mockb"


def test_clicking_a_call_shows_it_and_offers_to_remove_it(designer):
    designer.diagram.handle({"event": "call", "edge": edge_of(designer, "mocka", "mockb")})
    panel = designer.diagram
    assert panel.canvas.selected_call == ["mocka", "mockb"]
    assert panel.call_box.layout.display == ""
    assert "mocka → mockb" in panel.call_text.value
    panel.remove_call.click()
    assert designer.design.service("mocka").calls == ()
    assert designer.undo_button.description == "Undo: remove call mocka -> mockb"
    assert panel.call_box.layout.display == "none" and panel.canvas.selected_call == []
    designer.undo()
    assert designer.design.service("mocka").calls == ("mockb",)


def test_a_legend_lane_and_a_matrix_cell_switch_the_diagram(designer):
    designer.diagram.view.value = "compare"
    designer.diagram.handle({"event": "lane", "lane": "s3"})
    assert designer.diagram.view.value == "lane" and designer.diagram.lane.value == "s3"
    assert designer.diagram.canvas.lane == "s3"
    designer.show(designer.matrix)
    # the matrix widget's own message (matrix.js), not a listener on the page
    designer.matrix.output._handle_custom_msg({"event": "cell", "service": "mockc",
                                               "lane": "s2"}, [])
    panel = designer.diagram
    assert (panel.lane.value, panel.focus.value, panel.service.value) == ("s2", "service",
                                                                          "mockc")
    assert panel.canvas.selected == "mockc" and panel.diagram.shown[0] == "mockc"
    panel.handle({"event": "cell", "service": "nope", "lane": "s2"})  # ignored, no error
    assert panel.service.value == "mockc"


def test_lane_choice_and_zoom_survive_add_lane_and_undo(designer):
    panel = designer.diagram
    panel.lane.value = "s3"
    lanes = designer.show(designer.lanes)
    lanes.lane.value = "s3"
    key = panel.canvas.view_key
    panel.canvas.view = {"key": key, "x": 10, "y": 20, "scale": 1.7}  # as the browser sets it
    lanes.new_name.value = "s4"
    lanes._add()
    assert lanes.lane.value == "s4"  # the new lane is current in every view
    assert panel.lane.value == "s4" and panel.canvas.view_key != key
    assert "s4" in [lane for lane, _, _ in panel.canvas.lanes]
    designer.undo()  # back to the lane current before the add, and to its zoom
    assert lanes.lane.value == "s3" and panel.lane.value == "s3"
    assert panel.canvas.view_key == key and panel.canvas.view["scale"] == 1.7
    designer.undo()  # nothing to undo: nothing moves
    assert panel.lane.value == "s3"


def test_a_second_view_of_the_canvas_never_goes_stale(designer):
    canvas = designer.diagram.canvas  # one model: every displayed view renders from it
    designer.show(designer.lanes).checkboxes[("s2", "mockc")].value = False
    dashed = canvas.svg.count("stroke-dasharray")
    assert dashed == 2  # mocka -> mockb and now mockb -> mockc fall back
    designer.undo()
    assert canvas.svg.count("stroke-dasharray") == 1


def test_automatic_focus_and_an_offer_for_what_a_lane_holds_but_the_view_leaves_out():
    design = layered_design(50, 10)
    designer = Designer(design)
    panel = designer.diagram
    panel.lane.value = "lane-3"
    held = design.lane("lane-3").services
    assert set(held) <= set(panel.diagram.shown) and len(panel.diagram.shown) < 50
    panel.focus.value = "service"
    panel.service.value = "svc-0010"
    assert panel.owned_left_out() and "Not shown, though the lane holds them" in \
        panel.note.value
    assert panel.offer.layout.display == ""
    panel.offer.click()
    assert set(held) <= set(panel.diagram.shown) and not panel.owned_left_out()
    assert panel.offer.layout.display == "none"


def test_at_most_applies_when_comparing_lanes():
    design = layered_design(1000, 10)
    designer = Designer(design)
    panel = designer.diagram
    panel.view.value = "compare"
    assert list(panel.compare.value) == ["base", panel.lane.value]
    panel.max_nodes.value = 30
    assert len(panel.diagram.shown) == 30
    panel.compare.value = ["base", "lane-2", "lane-5"]
    assert panel.diagram.lanes == ("base", "lane-2", "lane-5")
    assert len(panel.diagram.shown) == 30 and panel.owned_left_out()  # 2 x 20 held > 30


def test_redo_beside_undo_makes_the_undone_edit_again_until_a_new_edit(designer):
    assert designer.redo_button.disabled and designer.redo_button.description == "Redo"
    designer.show(designer.lanes).checkboxes[("s2", "mockc")].value = False
    edited = designer.design
    designer.undo()
    assert designer.redo_button.description == "Redo: untick mockc in s2"
    assert not designer.redo_button.disabled
    designer.redo_button.click()
    assert designer.design == edited and designer.state.notice == "redid: untick mockc in s2"
    assert designer.undo_button.description == "Undo: untick mockc in s2"
    assert designer.redo_button.disabled
    designer.undo()
    designer.show(designer.lanes).checkboxes[("s3", "mocka")].value = True  # a new edit
    assert designer.redo_button.disabled and not designer.state.redo()
    assert designer.state.notice == "nothing to redo"


def test_request_lane_presets_are_one_menu_that_works_at_ten_lanes():
    designer = Designer(layered_design(50, 10))
    request = designer.show(designer.request)
    assert request.presets.children == (request.as_lane,)
    assert len(request.as_lane.options) == 10 + 1  # the lanes, "no lane header"
    request.as_lane.value = "lane-7"
    assert request.headers.value.endswith(": lane-7") and request.trace.lane == "lane-7"
    assert designer.diagram.trace is request.trace
    request.as_lane.value = request.as_lane.options[-1][1]
    assert request.headers.value == ""


# -- the Export tab at 10+ lanes and after edits ----------------------------------------------
def test_export_messages_name_the_full_path_and_clear_on_the_next_edit(designer, tmp_path,
                                                                     monkeypatch):
    monkeypatch.chdir(tmp_path)
    export = designer.show(designer.export)
    export.design_path.value = "saved.yaml"
    export.save.click()
    assert f"Saved the design to {tmp_path / 'saved.yaml'}" in export.result.value
    export.folder.value = "out"
    export.write.click()
    assert f"files to {tmp_path / 'out'}:" in export.result.value
    export.example.value = "shop"
    export.open_example()
    assert "Done: open example shop" in export.result.value
    designer.undo()  # the design the message spoke of is gone
    designer.show(designer.export)
    assert export.result.value == ""
    # the target buttons have a row of their own: an error beside them squeezed them
    children = export.widget.children
    at = children.index(export.target)
    assert children[at + 1] is export.status


def test_long_yaml_can_be_searched(designer):
    export = designer.show(designer.export)
    export.find.value = "mockb"
    assert "<mark>mockb</mark>" in export.preview.value
    count = export.preview.value.count("<mark>")
    assert f"{count} matches" in export.found.value and count > 1
    everything = export.preview.value
    export.only_matching.value = True
    assert "<mark>mockb</mark>" in export.preview.value
    assert len(export.preview.value) < len(everything)
    assert "mock-baggage-mocka" not in export.preview.value  # objects without mockb go
    export.find.value = "no-such-text"
    assert "0 matches" in export.found.value


# -- the view follows the edit ----------------------------------------------------------------
def test_the_canvas_talks_through_its_model_and_names_its_traits():
    from pathlib import Path

    import lanedesign.widgets.canvas as module

    text = (Path(module.__file__).parent / "canvas.js").read_text()
    assert "document.addEventListener" not in text and "ld-matrix" not in text
    synced = {n for n in DiagramCanvas.class_trait_names(sync=True) if not n.startswith("_")}
    own = synced - set(DOMWidget.class_trait_names(sync=True))
    assert own == {"svg", "graph", "selected", "selected_call", "reveal", "view_key", "view",
                   "lanes", "marks", "lane", "min_scale", "height"}
    doc = module.__doc__ or ""
    for name in own:
        assert f"``{name}``" in doc  # each documented in the module docstring


def test_a_new_service_is_drawn_and_panned_to_though_automatic_focus_leaves_it_out():
    designer = Designer(layered_design(200, 10))
    panel = designer.diagram
    assert "svc-0150" not in panel.diagram.shown  # far from the lane: left out
    seq = panel.canvas.reveal.get("seq", 0)
    services = designer.show(designer.services)
    services.new_name.value = "brand-new"
    services._add()
    assert "brand-new" in panel.diagram.shown and len(panel.diagram.shown) <= 62
    assert panel.canvas.reveal["seq"] > seq
    assert [panel.canvas.nodes[i] for i in panel.canvas.reveal["ids"]] == ["brand-new"]
    # a control change later does not pan again
    seq = panel.canvas.reveal["seq"]
    panel.radius.value = 2
    assert panel.canvas.reveal["seq"] == seq and "brand-new" in panel.diagram.shown


def test_a_tick_pans_to_the_ticked_service_without_a_new_view(designer):
    panel = designer.diagram
    key = panel.canvas.view_key
    designer.show(designer.lanes).checkboxes[("s2", "mockc")].value = False
    assert panel.canvas.view_key == key  # the same view: the zoom is kept, only panned
    assert [panel.canvas.nodes[i] for i in panel.canvas.reveal["ids"]] == ["mockc"]


def test_a_service_chosen_in_the_services_tab_is_selected_centred_and_drawn():
    designer = Designer(layered_design(200, 10))
    panel = designer.diagram
    assert "svc-0150" not in panel.diagram.shown
    designer.show(designer.services).select.value = "svc-0150"
    assert panel.canvas.selected == "svc-0150" and "svc-0150" in panel.diagram.shown
    assert panel.canvas.reveal["centre"] is True
    assert [panel.canvas.nodes[i] for i in panel.canvas.reveal["ids"]] == ["svc-0150"]
    # a click on the canvas selects without panning under the pointer
    seq = panel.canvas.reveal["seq"]
    other = next(s for s in panel.diagram.shown if s != "svc-0150")
    panel.handle({"event": "select", "node": node_of(designer, other)})
    assert designer.services.select.value == other and panel.canvas.reveal["seq"] == seq


def test_a_new_view_opens_on_the_gateway_and_the_lanes_own_services():
    designer = Designer(layered_design(50, 10))
    panel = designer.diagram
    panel.lane.value = "lane-3"
    home = panel.canvas.graph["home"]
    assert home[0] == "gateway" and 'id="gateway"' in panel.canvas.svg
    held = set(designer.design.lane("lane-3").services)
    assert {panel.canvas.nodes[i] for i in home[1:]} == held
    assert "svc-0000" in panel.diagram.shown  # the entry, though the lane lacks it


def test_a_404_request_is_drawn_at_the_gateway_with_nothing_reached():
    designer = Designer("mock-header")
    request = designer.show(designer.request)
    request.headers.value = ""  # no lane header: no rule matches, and there is no default
    request.run()
    canvas = designer.diagram.canvas
    assert request.trace.status == 404
    assert "404: no rule matches; no default" in canvas.svg
    assert "HTTP 404" in designer.diagram.title_html.value
    assert "@s1" not in canvas.svg and canvas.svg.count("not reached") == 3
    assert "<title>gateway&#45;&gt;" not in canvas.svg  # no arrow into the entry
