"""Floors: the least work that produces the same output, measured beside the real thing.

Each floor does what its metric must do at the very least, with the fastest tool at hand
(C-backed where there is one), and nothing else: no checks, no messages, no options.
"""

from __future__ import annotations

import pickle
import re
from collections import deque
from collections.abc import Callable, Iterable

import yaml

from lanedesign.emit import collector_paused
from lanedesign.model import LaneDesign

CDumper = yaml.CSafeDumper  # libyaml: the benchmark's premise; it fails loudly without it


def scan_design(design: LaneDesign) -> int:
    """Look every service name, call and lane member up once: the least a validator must do."""
    known = {svc.name for svc in design.services}
    found = sum(callee in known for svc in design.services for callee in svc.calls)
    return found + sum(member in known for lane in design.lanes for member in lane.services)


def call_graph(design: LaneDesign) -> dict[str, tuple[str, ...]]:
    """Callees by service name: the adjacency a graph search needs."""
    return {svc.name: svc.calls for svc in design.services}


def bfs(graph: dict[str, tuple[str, ...]], start: str) -> int:
    """A plain breadth-first search from ``start``; returns the number of services reached."""
    seen = {start}
    queue = deque([start])
    while queue:
        for callee in graph.get(queue.popleft(), ()):
            if callee not in seen:
                seen.add(callee)
                queue.append(callee)
    return len(seen)


def table_builder(rows: list[list[str]], index: list[str],
                  columns: list[str]) -> Callable[[], object]:
    """Building a DataFrame of the same shape and values from ready rows (pandas' own cost)."""
    import pandas as pd

    return lambda: pd.DataFrame(rows, index=index, columns=columns)


def tree_builder(objects: list[dict]) -> Callable[[], object]:
    """Allocating an object tree like ``objects`` at C speed (unpickling a copy of it).

    With the garbage collector paused, as ``emit`` pauses it: the floor is the allocation.
    """
    blob = pickle.dumps(objects, protocol=pickle.HIGHEST_PROTOCOL)

    def build() -> object:
        with collector_paused():
            return pickle.loads(blob)

    return build


def c_dump(objects: Iterable[dict]) -> str:
    """The same objects as multi-document YAML by libyaml with default options."""
    return yaml.dump_all(objects, Dumper=CDumper)


def bare_dot(nodes: Iterable[str], edges: Iterable[tuple[str, str]]) -> str:
    """DOT source of a graph with these nodes and edges and no attributes at all."""
    lines = ["digraph {"]
    lines += [f"  {_quote(node)}" for node in nodes]
    lines += [f"  {_quote(a)} -> {_quote(b)}" for a, b in edges]
    lines.append("}")
    return "\n".join(lines)


_ID = r'"(?:[^"\\]|\\.)*"|[A-Za-z_][\w.]*|-?\d+(?:\.\d+)?'
_EDGE = re.compile(rf"^\s*({_ID})\s*->\s*({_ID})")
_NODE = re.compile(rf"^\s*({_ID})\s*(?:\[|$)")
_KEYWORDS = {"graph", "node", "edge", "subgraph", "digraph", "strict"}


def dot_graph(source: str) -> tuple[list[str], list[tuple[str, str]]]:
    """The nodes and edges of DOT source as the graphviz package writes it (one per line)."""
    nodes: dict[str, None] = {}
    edges: list[tuple[str, str]] = []
    for line in source.splitlines():
        edge = _EDGE.match(line)
        if edge:
            a, b = (_unquote(x) for x in edge.groups())
            nodes.update({a: None, b: None})
            edges.append((a, b))
            continue
        node = _NODE.match(line)
        if node and node.group(1) not in _KEYWORDS:
            nodes[_unquote(node.group(1))] = None
    return list(nodes), edges


def _quote(name: str) -> str:
    return '"' + name.replace('"', '\\"') + '"'


def _unquote(name: str) -> str:
    return name[1:-1].replace('\\"', '"') if name.startswith('"') else name
