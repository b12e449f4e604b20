"""The plugin's import graph: no circles, nothing private imported across modules, no devtools.

Read from the source (every import statement, also those inside functions), not by importing.
"""

from __future__ import annotations

import ast
from pathlib import Path

PLUGINS = Path(__file__).resolve().parents[1] / "plugins"


def module_name(path: Path) -> str:
    name = ".".join(path.relative_to(PLUGINS).with_suffix("").parts)
    return name.removesuffix(".__init__")


def imports() -> dict[str, set[tuple[str, str | None]]]:
    """module -> {(imported module, imported name or None)} for every ``complaints``/``devtools`` import."""
    found: dict[str, set[tuple[str, str | None]]] = {}
    for path in sorted(PLUGINS.rglob("*.py")):
        edges = found.setdefault(module_name(path), set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                edges.update((node.module, alias.name) for alias in node.names)
            elif isinstance(node, ast.Import):
                edges.update((alias.name, None) for alias in node.names)
    return found


def dependency_graph() -> dict[str, set[str]]:
    found = imports()
    graph: dict[str, set[str]] = {m: set() for m in found}
    for module, edges in found.items():
        for target, name in edges:
            if name and f"{target}.{name}" in found:  # `from package import submodule`
                graph[module].add(f"{target}.{name}")
            elif target in found:
                graph[module].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v] - {v}:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_the_plugin_modules_import_each_other_without_circles():
    graph = dependency_graph()
    assert "complaints.validation" in graph and "complaints.report.render" in graph
    assert cycles(graph) == []


def test_the_circle_check_finds_a_circle():
    graph = dependency_graph()
    graph["complaints.data_docs"].add("complaints.validation")
    graph["complaints.validation"].add("complaints.data_docs")
    assert ["complaints.data_docs", "complaints.validation"] in cycles(graph)


def test_no_private_name_is_imported_from_another_module():
    private = sorted(
        f"{module} imports {target}.{name}"
        for module, edges in imports().items()
        for target, name in edges
        if name and name.startswith("_") and target.startswith("complaints")
    )
    assert private == []


def test_nothing_airflow_ships_to_workers_imports_the_demo_or_the_benchmarks():
    into_devtools = sorted(
        f"{module} imports {target}"
        for module, edges in imports().items()
        for target, _ in edges
        if target.split(".")[0] == "devtools"
    )
    assert into_devtools == []
