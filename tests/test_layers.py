"""Layers point one way: each module imports only lower layers (read from the source, so a
new import that breaks the direction fails here, not in review). ``docs/architecture.md``
explains the layers."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from conftest import ROOT

PACKAGE = ROOT / "lanedesign"

# lowest first; a module may import a lower layer, or its own layer within its own subpackage
LAYERS: list[tuple[str, ...]] = [
    ("lanedesign.version", "lanedesign.findings", "lanedesign.names", "lanedesign.request",
     "lanedesign.requestmatch", "lanedesign.ports"),
    ("lanedesign.routing",),  # a team's routing holds request matches
    ("lanedesign.model",),
    ("lanedesign.matching", "lanedesign.codec", "lanedesign.fields"),
    ("lanedesign.designfile",),
    ("lanedesign.emit",),  # the targets and their registry
    ("lanedesign.stategraph", "lanedesign.simulate_queues"),  # what the simulator answers;
    # where a message goes
    ("lanedesign.simulate_team",),  # the simulator where a team's routing decides
    ("lanedesign.validate", "lanedesign.simulate"),  # validate --target asks the registry
    ("lanedesign.observe",),  # traffic seen in a mesh, compared with the design
    ("lanedesign.render",),
    ("lanedesign.pipeline", "lanedesign.files", "lanedesign.examples"),
    ("lanedesign.cluster",),
    ("lanedesign.cli_common",),  # what every sub-command shares
    ("lanedesign.cli_observe",),  # observe, import-traffic
    ("lanedesign.cli", "lanedesign.widgets"),
    ("lanedesign", "lanedesign.__main__"),  # the package front
]
# third-party libraries that belong to one place each
# the only imports inside functions, each because a heavy library would slow every start-up
LOCAL_IMPORTS = {
    ("lanedesign", "__getattr__"),  # routing_matrix needs pandas
    ("lanedesign.cli", "_cluster_api"),  # the kubernetes client, for cluster commands only
    ("lanedesign.render.svg", "to_svg"),  # Graphviz as WebAssembly, for drawings only
}
OWNERS = {"yaml": ("lanedesign.codec",), "pandas": ("lanedesign.render",),
          "kubernetes": ("lanedesign.cluster",), "ipywidgets": ("lanedesign.widgets",)}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str) -> int:
    best = (-1, -1)  # (length of the matching prefix, layer)
    for index, names in enumerate(LAYERS):
        for name in names:
            # a name holds its submodules, but the package front is only itself
            inside = module.startswith(name + ".") and name != "lanedesign"
            if (module == name or inside) and len(name) > best[0]:
                best = (len(name), index)
    assert best[1] >= 0, f"{module} is in no layer: add it to LAYERS"
    return best[1]


def package_of(module: str) -> str:
    path = MODULES[module]
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def imports(module: str, top_level_only: bool = False) -> list[tuple[str, int]]:
    """(imported module, line) for every ``lanedesign`` or third-party import in ``module``."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else ast.walk(tree)
    found = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            base = package_of(module).split(".")
            base = ".".join(base[:len(base) - node.level + 1])
            target = f"{base}.{node.module}" if node.module else base
            # `from . import x` names a submodule when there is one
            subs = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in MODULES]
            found += [(s, node.lineno) for s in subs] or [(target, node.lineno)]
    return found


def ours(name: str) -> bool:
    return name == "lanedesign" or name.startswith("lanedesign.")


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down_the_layers(module):
    mine = layer_of(module)
    wrong = []
    for target, line in imports(module):
        if not ours(target) or target == module:
            continue
        theirs = layer_of(target)
        same_package = package_of(module) != "lanedesign" and (
            target == package_of(module) or target.startswith(package_of(module) + "."))
        if theirs > mine or (theirs == mine and not same_package):
            wrong.append(f"line {line}: {target}")
    assert wrong == [], f"{module} imports upwards or sideways"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_libraries_are_imported_only_where_they_belong(module):
    for target, line in imports(module):
        library = target.split(".")[0]
        owners = OWNERS.get(library)
        if owners:
            assert any(module == o or module.startswith(o + ".") for o in owners), \
                f"{module} line {line} imports {library}; only {', '.join(owners)} may"


def local_imports(module: str) -> set[tuple[str, str]]:
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    return {(module, fn.name) for fn in ast.walk(tree)
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
            and any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.walk(fn))}


def test_imports_sit_at_the_top_of_modules_but_for_the_listed_heavy_ones():
    found = set().union(*(local_imports(m) for m in MODULES))
    assert found == LOCAL_IMPORTS


def test_no_module_below_the_front_imports_the_package_front():
    front = [(m, line) for m in MODULES if layer_of(m) < len(LAYERS) - 1
             for target, line in imports(m) if target == "lanedesign"]
    assert front == []


def test_there_is_no_import_cycle():
    graph = {m: {t for t, _ in imports(m, top_level_only=True) if t in MODULES and t != m}
             for m in MODULES}
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                pytest.fail("import cycle: " + " -> ".join([*path, node, nxt]))
            if nxt not in state:
                visit(nxt, [*path, node])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [])


def test_the_checks_bite(monkeypatch, tmp_path):
    # the model importing the Istio target: upwards, and a cycle through the emitters
    fake = tmp_path / "model.py"
    fake.write_text("from .emit import istio\nimport yaml\n", encoding="utf-8")
    monkeypatch.setitem(MODULES, "lanedesign.model", fake)
    with pytest.raises(AssertionError, match="imports upwards or sideways"):
        test_imports_point_down_the_layers("lanedesign.model")
    with pytest.raises(AssertionError, match="imports yaml"):
        test_libraries_are_imported_only_where_they_belong("lanedesign.model")
    with pytest.raises(pytest.fail.Exception, match=r"import cycle: .*lanedesign\.model"):
        test_there_is_no_import_cycle()
    with pytest.raises(AssertionError, match="in no layer"):
        layer_of("elsewhere.module")
    with pytest.raises(AssertionError, match="in no layer"):
        layer_of("lanedesign.new_module")  # a new module must be placed, not taken as front
