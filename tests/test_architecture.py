"""The layering of the package (ARCHITECTURE.md): no import circle, and no module imports a
layer above its own. Every import counts: top-level, inside functions and under
``TYPE_CHECKING`` alike."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

from conftest import ROOT

PKG = ROOT / "cmfy_graph"

#: the layers, lowest first: a module may import its own layer and those below
LAYERS: list[set[str]] = [
    {"errors", "pnginfo", "nodes_spec", "jsonpos"},
    {"spec", "rules", "config"},
    {"dynamic"},
    {"codegen", "validate", "inputs", "journal", "grid"},
    {"graph"},
    {"nodes", "", "script", "convert", "sweep"},  # "" is the package's own __init__
    {"lint", "client"},
    {"runner"},
    {"commands"},
    {"cli", "__main__"},
]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path, name: str) -> set[str]:
    is_pkg = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            found.add(mod)
            found.update(f"{mod}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m == "cmfy_graph" or m.startswith("cmfy_graph.")}


def _graph() -> nx.DiGraph:
    modules = {_module_name(p): p for p in PKG.rglob("*.py")}
    g = nx.DiGraph()
    for name, path in modules.items():
        g.add_node(name)
        for target in _imports(path, name):
            if target in modules and target != name:
                g.add_edge(name, target)
    return g


def _layer(module: str) -> int:
    top = module.split(".")[1] if "." in module else ""
    for i, layer in enumerate(LAYERS):
        if top in layer:
            return i
    raise AssertionError(f"{module} is in no layer: add it to LAYERS and to ARCHITECTURE.md")


def test_no_import_circle() -> None:
    g = _graph()
    # a package's __init__ re-exporting its submodules is not a circle
    packages = {n for n in g if (PKG.parent / n.replace(".", "/") / "__init__.py").is_file()}
    cycles = list(nx.simple_cycles(g.subgraph(n for n in g if n not in packages)))
    assert not cycles, [" -> ".join(c) for c in cycles]


def test_no_module_imports_a_higher_layer() -> None:
    bad = [
        f"{a} (layer {_layer(a)}) imports {b} (layer {_layer(b)})"
        for a, b in _graph().edges
        if _layer(a) < _layer(b)
    ]
    assert not bad, bad


def test_generated_classes_import_only_the_dsl() -> None:
    g = _graph()
    for n in g:
        if n.startswith("cmfy_graph.nodes."):
            assert set(g.successors(n)) <= {"cmfy_graph.graph"}, n


def test_the_checker_sees_a_circle(tmp_path: Path) -> None:
    """The import scan itself: a circle written in a scratch package is found."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text("from .b import x\n")
    (tmp_path / "pkg" / "b.py").write_text("def f():\n    from . import a\n")
    g = nx.DiGraph()
    for p in (tmp_path / "pkg").glob("*.py"):
        name = "pkg." + p.stem
        for t in _imports(p, "cmfy_graph." + name):
            g.add_edge(name, t.replace("cmfy_graph.", "", 1))
    g = g.subgraph(["pkg.a", "pkg.b"])
    assert list(nx.simple_cycles(g))


def test_no_hand_written_function_over_80_lines() -> None:
    """Generated code (``cmfy_graph/nodes``) aside, every function reads on one screen."""
    long = []
    for path in PKG.rglob("*.py"):
        if "nodes" in path.relative_to(PKG).parts[:1]:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = (node.end_lineno or node.lineno) - node.lineno + 1
                if n > 80:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({n} lines)")
    assert not long, long
