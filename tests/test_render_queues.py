"""Topics in diagrams: a cylinder per topic, dashed publisher -> topic -> consumer edges, and
a simulated request's path continuing through a topic where a hop has ``topic`` set."""

from __future__ import annotations

from conftest import ROOT
from test_render import parse_dot

from lanedesign.designfile import load_design
from lanedesign.model import Service, Topic
from lanedesign.render import chain_diagram, lanes_diagram, to_svg, trace_diagram
from lanedesign.render.svg import LOST_COLOUR, MESSAGE_COLOUR, TRACE_COLOUR
from lanedesign.simulate import simulate

ORDERS = ROOT / "tests" / "fixtures" / "queues" / "orders.yaml"


def orders():
    return load_design(ORDERS).design


def named(source: str) -> tuple[dict[str, dict], dict[tuple[str, str], dict]]:
    """Nodes and edges keyed by the first line of each node's label (service or topic)."""
    nodes, edges = parse_dot(source)
    names = {nid: a["label"].split("\\n")[0] for nid, a in nodes.items() if "label" in a}
    return ({names[n]: a for n, a in nodes.items() if n in names},
            {(names[t], names[h]): a for (t, h), a in edges.items()
             if t in names and h in names})


def test_a_topic_is_a_cylinder_between_publisher_and_consumer():
    diagram = chain_diagram(orders(), "s3")
    nodes, edges = named(diagram.source)
    assert nodes["orders"]["shape"] == "cylinder"
    assert nodes["orders"]["label"] == "orders\\nkafka topic"
    for edge in (("checkout", "orders"), ("orders", "shipping")):
        assert edges[edge]["style"] == "dashed" and edges[edge]["color"] == MESSAGE_COLOUR
    # T6: checkout runs in s1 (fallback) for a lane-s3 request, so it writes key s1
    assert edges[("checkout", "orders")]["label"] == "key s1"
    assert ("checkout", "shipping") not in edges  # a message is not a call
    assert "message" in diagram.keys


def test_no_topics_no_cylinder_and_no_legend_key():
    diagram = chain_diagram(orders().with_(topics=()), "s3")
    assert "cylinder" not in diagram.source and "message" not in diagram.keys


def test_a_topic_of_services_left_out_is_not_drawn():
    diagram = chain_diagram(orders(), "s3", focus=["frontend"])
    assert "cylinder" not in diagram.source


def test_a_consumer_that_does_not_filter_is_marked():
    design = orders()
    design = design.with_service(Service("shipping", calls=("inventory",),
                                         consumes=("orders",), filters_by_lane=False))
    _, edges = named(chain_diagram(design, "s2").source)
    assert edges[("orders", "shipping")]["label"] == "takes every lane"
    assert edges[("orders", "shipping")]["color"] == LOST_COLOUR
    _, edges = named(chain_diagram(orders(), "s2").source)
    assert "label" not in edges[("orders", "shipping")]


def test_every_lane_box_has_its_own_topic():
    diagram = lanes_diagram(orders())
    nodes, _ = parse_dot(diagram.source)
    assert sorted(n for n, a in nodes.items() if a.get("shape") == "cylinder") == [
        "l0t0", "l1t0", "l2t0"]


def test_a_request_continues_through_the_topic():
    """Lane s3's request: checkout (s1, fallback) publishes to ``orders``; the path is drawn
    on publisher -> topic -> consumer (dashed, numbered by the state it reaches), then on to
    inventory in the lane."""
    trace = simulate(orders(), lane="s3")
    diagram = trace_diagram(orders(), trace)
    nodes, edges = named(diagram.source)

    def number(edge: tuple[str, str]) -> int:  # "#3\nkey s1" -> 3
        return int(edges[edge]["label"].split("\\n")[0].strip().lstrip("#"))

    for edge in (("checkout", "orders"), ("orders", "shipping")):
        assert edges[edge]["color"] == TRACE_COLOUR and edges[edge]["style"] == "dashed"
    # numbered in the order the request takes them: the call, the message, the next call
    assert number(("frontend", "checkout")) == 2  # 1: the gateway's hop into frontend
    assert number(("checkout", "orders")) == number(("orders", "shipping")) == 3
    after = edges[("shipping", "inventory")]  # on the request's path: thick, numbered next
    assert after["penwidth"] == "2.4" and number(("shipping", "inventory")) == 4
    assert "dashed" not in nodes["shipping"].get("style", "")  # reached through the topic
    # the same design without a request: the topic's edges are the message colour, no path
    _, edges = named(chain_diagram(orders(), "s3").source)
    assert edges[("checkout", "orders")]["color"] == MESSAGE_COLOUR


def test_the_simulators_trace_is_drawn_through_the_topic():
    trace = simulate(orders(), lane="s3")
    assert [h.topic for h in trace.hops if h.topic] == ["orders"]
    _, edges = named(trace_diagram(orders(), trace).source)
    for edge in (("checkout", "orders"), ("orders", "shipping")):
        assert edges[edge]["color"] == TRACE_COLOUR and edges[edge]["style"] == "dashed"


def test_the_drawing_renders():
    svg = to_svg(chain_diagram(orders(), "s2").source)
    assert "orders" in svg and "kafka topic" in svg and "<path" in svg


def test_a_topic_name_never_reaches_dot_raw():
    """Odd names are text in the drawing: no HTML label, no escape sequence."""
    odd = 'or"ders\\n<b>'
    design = orders().with_(topics=(Topic(odd, "kafka"),))
    design = design.with_service(Service("checkout", publishes=(odd,)))
    svg = to_svg(chain_diagram(design, "s1").source)
    assert "cylinder" in chain_diagram(design, "s1").source
    assert "&lt;b&gt;" in svg and "<b>" not in svg
