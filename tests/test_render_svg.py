"""SVG helpers: lane colours, framed diagrams, message boxes."""

from __future__ import annotations

import xml.dom.minidom

from lanedesign.model import Lane
from lanedesign.render.svg import (
    BASELINE_FILL,
    LANE_FILLS,
    framed_svg,
    lane_colours,
    message_svg,
)


def test_the_baseline_is_grey_and_other_lanes_take_the_palette_in_order(mock):
    colours = lane_colours(mock)
    assert colours[mock.baseline] == BASELINE_FILL
    others = [n for n in mock.lane_names if n != mock.baseline]
    assert [colours[n] for n in others] == list(LANE_FILLS[:len(others)])


def test_the_palette_repeats_for_many_lanes(mock):
    design = mock
    for i in range(len(LANE_FILLS) + 2):
        design = design.with_lane(Lane(f"x{i}", {"version": f"x{i}"}))
    colours = lane_colours(design)
    assert colours["x0"] != BASELINE_FILL and len(set(colours.values())) == len(LANE_FILLS) + 1


def test_a_message_box_wraps_long_text_and_escapes_it():
    svg = message_svg("a <b> " + "word " * 40, width=200)
    xml.dom.minidom.parseString(svg)  # well-formed
    assert "&lt;b&gt;" in svg and svg.count("<text") > 3


def test_a_frame_adds_title_note_and_legend_around_a_graph():
    graph = '<svg width="300pt" height="80pt" viewBox="0 0 300 80"><g/></svg>'
    framed = framed_svg(graph, "Lane s2", "mockb falls back", [("s1 (baseline)", "#e4e4e4")])
    xml.dom.minidom.parseString(framed)
    assert "Lane s2" in framed and "mockb falls back" in framed and "s1 (baseline)" in framed
    assert framed.startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    assert framed_svg("not an svg", "title") == "not an svg"


def test_a_picture_reads_in_an_untrusted_notebook_as_an_image_of_the_same_svg():
    import base64
    import re

    from lanedesign import examples
    from lanedesign.render import Picture, chain_diagram

    diagram = chain_diagram(examples.load("mock-baggage"), "s2")
    bundle = diagram._repr_mimebundle_()
    assert bundle["text/plain"].startswith("<Diagram 'lane s2'")
    data = re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', bundle["text/html"])
    assert data and base64.b64decode(data.group(1)).decode() == bundle["image/svg+xml"]
    assert 'alt="lane s2"' in bundle["text/html"]
    picture = Picture("<svg/>", 'a "quoted" <alt>')._repr_mimebundle_()
    assert 'alt="a &quot;quoted&quot; &lt;alt&gt;"' in picture["text/html"]


def test_edge_label_padding_is_measured_by_graphviz_but_not_drawn():
    from lanedesign import examples
    from lanedesign.render import chain_diagram, to_svg

    design = examples.load("shop")
    diagram = chain_diagram(design, "mobile-beta")
    assert 'label="     x-shop-lane: mobile-beta     "' in diagram.source  # room beside the edge
    svg = to_svg(diagram.source)
    assert ">x&#45;shop&#45;lane: mobile&#45;beta</text>" in svg  # drawn without the spaces
    assert "&#160;" not in svg
