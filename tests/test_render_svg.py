"""SVG helpers: lane colours, framed diagrams, message boxes."""

from __future__ import annotations

import xml.dom.minidom

import pytest

from lanedesign.model import Lane
from lanedesign.render import chain_diagram
from lanedesign.render.palette import (
    MIN_LIGHTNESS,
    ciede2000,
    colour_distance,
    hex_to_lab,
    min_distance,
    spaced_fills,
)
from lanedesign.render.svg import (
    BASELINE_FILL,
    LANE_FILLS,
    SET3,
    UNKNOWN_FILL,
    framed_svg,
    lane_colours,
    message_svg,
)


def test_the_baseline_is_grey_and_other_lanes_take_the_palette_in_order(mock):
    colours = lane_colours(mock)
    assert colours[mock.baseline] == BASELINE_FILL
    others = [n for n in mock.lane_names if n != mock.baseline]
    assert [colours[n] for n in others] == list(LANE_FILLS[:len(others)])


def test_the_palette_repeats_only_after_50_lanes(mock):
    design = mock
    for i in range(len(LANE_FILLS) + 2):
        design = design.with_lane(Lane(f"x{i}", {"version": f"x{i}"}))
    colours = lane_colours(design)
    assert colours["x0"] != BASELINE_FILL and len(set(colours.values())) == len(LANE_FILLS) + 1
    assert len(LANE_FILLS) == 50


# CIEDE2000 (the CIE's perceptual difference; ~1 is just noticeable, 10+ reads as another
# colour side by side): the least difference between any two lane fills (and the baseline's
# grey) for the first N lanes
@pytest.mark.parametrize(("lanes", "least"), [(10, 13.5), (24, 11.5), (32, 10.0), (50, 8.0)])
def test_lane_fills_stay_distinct(lanes, least):
    assert min_distance([BASELINE_FILL, *LANE_FILLS[:lanes]]) >= least


def test_the_old_twelve_colour_palette_would_fail_the_distinctness_check():
    # the negative case: ColorBrewer Set3 repeated (the palette before) at 24 lanes
    set3 = [*SET3, "#ffffb3"]
    assert min_distance([*set3, *set3][:24]) == 0.0
    assert min_distance(set3) < 10.0  # its two yellows are close


def test_the_stored_palette_is_what_the_spacing_search_gives():
    assert tuple(spaced_fills(len(LANE_FILLS), SET3, (BASELINE_FILL, UNKNOWN_FILL))) == LANE_FILLS


def test_lane_fills_keep_black_text_readable():
    # WCAG contrast of black text on the fill: relative luminance + 0.05 over 0.05
    for colour in LANE_FILLS:
        if colour not in SET3:  # the generated ones are at least this light
            assert hex_to_lab(colour)[0] >= MIN_LIGHTNESS - 0.5
        rgb = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        luminance = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
        assert (luminance + 0.05) / 0.05 >= 6.9, colour  # WCAG AAA is 7; Set3's purple is 6.96


def test_ciede2000_matches_sharmas_reference_pairs():
    # rows 1, 7 and 17 of Sharma, Wu and Dalal's CIEDE2000 test data
    assert ciede2000((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485)) == pytest.approx(2.0425,
                                                                                       abs=1e-4)
    assert ciede2000((50.0, 0.0, 0.0), (50.0, -1.0, 2.0)) == pytest.approx(2.3669, abs=1e-4)
    assert ciede2000((50.0, 2.5, 0.0), (73.0, 25.0, -18.0)) == pytest.approx(27.1492, abs=1e-4)
    assert colour_distance("#80b1d3", "#80b1d3") == 0.0


def test_lane_names_are_on_the_nodes_where_colours_repeat(mock):
    design = mock
    for i in range(len(LANE_FILLS) + 2):
        design = design.with_lane(Lane(f"x{i}", {"version": f"x{i}"}, ("mocka",)))
    colours = lane_colours(design)
    last, first = f"x{len(LANE_FILLS) + 1}", "x1"
    assert colours[last] == colours[first]  # the same fill twice ...
    source = chain_diagram(design, last).source
    assert f"@{last}" in source  # ... but the node says which lane serves it


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
