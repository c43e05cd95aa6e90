"""The import graph of bioseq and the dashboard: every import points down the layers of :data:`MAY_IMPORT`, and
no modules import each other in a circle.

Every ``import`` counts, the ones inside functions too (a function-local import that closes a loop is still a
loop); only imports under ``if TYPE_CHECKING:`` are left out (they never run).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bioseq", "dashboard")

# The layers, bottom up: each may import its own layer and the layers it lists, nothing else.
LEAF = frozenset({"errors", "option_spec", "outputs", "runtime", "version", "workspace"})  # bioseq.<name>
TASK = frozenset({"task", "task_tools"})  # what a model is trained to do: reads the labels, scores the predictions
DATA = {"leaf", "data"}
MODEL = DATA | {"metrics", "task", "model"}
MAY_IMPORT: dict[str, set[str]] = {
    "leaf": {"leaf"},  # errors, option_spec, outputs, runtime (device, torchrun), version, workspace
    "data": DATA,
    "metrics": DATA | {"metrics"},
    "task": DATA | {"metrics", "task"},
    "model": MODEL,
    "training": MODEL | {"training"},  # bioseq.options (gathers the three config classes) is of this layer
    "prediction": MODEL | {"prediction"},  # not training: both stand on model and runtime
    "interpret": MODEL | {"training", "prediction", "interpret"},
    "plots": MODEL | {"training", "prediction", "interpret", "plots"},
    "app": MODEL | {"training", "prediction", "interpret", "plots", "app"},
    "cli": MODEL | {"training", "prediction", "interpret", "plots", "app", "cli"},
    "api": MODEL | {"training", "prediction", "interpret", "plots", "app", "cli"},  # bioseq/__init__.py
    "dashboard": MODEL | {"training", "prediction", "interpret", "plots", "app", "cli", "api", "dashboard"},
}


def layer(module: str) -> str:
    """The layer of a module of :data:`PACKAGES` (dotted name)."""
    parts = module.split(".")
    if parts[0] == "dashboard":
        return "dashboard"
    if module == "bioseq":
        return "api"
    name = parts[1]
    if name in LEAF:
        return "leaf"
    if name in TASK:
        return "task"
    if name == "options":
        return "training"
    if name == "__main__":
        return "cli"
    assert name in MAY_IMPORT, f"{module} is in no layer: give it one in tests/test_layers.py"
    return name


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, root: Path, modules: set[str]) -> dict[str, int]:
    """The modules of ``modules`` that ``path`` imports, each with the line of its first import."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = []
    me = module_name(path, root)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found: dict[str, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([node.module] if node.module else []))
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        else:
            continue
        for name in names:
            while name and name not in modules:  # import a.b.c of a module a.b counts as a.b
                name = name.rpartition(".")[0]
            if name and name != me:
                found.setdefault(name, node.lineno)
    return found


def import_graph(root: Path = ROOT) -> dict[str, dict[str, int]]:
    """Module -> {imported module: line}, over every module of :data:`PACKAGES` under ``root``."""
    paths = {module_name(p, root): p for pkg in PACKAGES for p in sorted((root / pkg).rglob("*.py"))}
    modules = set(paths)
    return {m: imports(p, root, modules) for m, p in paths.items()}


def upward(graph: dict[str, dict[str, int]]) -> list[str]:
    """Every import that its layer may not make, as ``module:line -> module (layer -> layer)``."""
    return [f"{m}:{line} -> {t} ({layer(m)} -> {layer(t)})" for m in sorted(graph)
            for t, line in sorted(graph[m].items()) if layer(t) not in MAY_IMPORT[layer(m)]]


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The import circles: Tarjan's strongly connected components of more than one module (or a module that
    imports itself), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:  # iterative, so a deep graph cannot reach the recursion limit
        work = [(v, iter(sorted(graph[v])))]
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        while work:
            node, edges = work[-1]
            for w in edges:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on_stack:
                    low[node] = min(low[node], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        component.append(w)
                        if w == node:
                            break
                    if len(component) > 1 or node in graph[node]:
                        found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def cycle_edges(graph: dict[str, dict[str, int]], component: list[str]) -> list[str]:
    """The imports inside one circle, ``module:line -> module``: the ones to break."""
    inside = set(component)
    return [f"{m}:{line} -> {t}" for m in component for t, line in sorted(graph[m].items()) if t in inside]


def test_every_import_points_down_a_layer():
    assert upward(import_graph()) == []


def test_no_import_circle():
    graph = import_graph()
    assert [cycle_edges(graph, c) for c in cycles(graph)] == []


def test_nothing_in_bioseq_imports_the_public_api():
    """``bioseq/__init__.py`` is the top: it may import anything, and nothing inside bioseq imports it."""
    graph = import_graph()
    assert [m for m in sorted(graph) if m.startswith("bioseq.") and "bioseq" in graph[m]] == []


# The checks themselves, on hand-made trees.

def _tree(tmp_path: Path, files: dict[str, str]) -> dict[str, dict[str, int]]:
    for pkg in PACKAGES:
        (tmp_path / pkg).mkdir()
        (tmp_path / pkg / "__init__.py").write_text("")
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.parent != tmp_path / "bioseq":
            (path.parent / "__init__.py").touch()
        path.write_text(text)
    return import_graph(tmp_path)


def test_a_function_local_import_up_a_layer_is_caught(tmp_path):
    graph = _tree(tmp_path, {"bioseq/model/store.py": "def f():\n    from ..training import fit\n",
                             "bioseq/training/fit.py": "", "bioseq/prediction/shards.py":
                             "from ..training.fit import x\n", "bioseq/runtime.py": "import bioseq.errors\n",
                             "bioseq/errors.py": ""})
    assert upward(graph) == ["bioseq.model.store:2 -> bioseq.training.fit (model -> training)",
                             "bioseq.prediction.shards:1 -> bioseq.training.fit (prediction -> training)"]


def test_type_checking_imports_are_left_out(tmp_path):
    graph = _tree(tmp_path, {"bioseq/data/io.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                             "    from ..model.store import ModelBundle\n", "bioseq/model/store.py": ""})
    assert graph["bioseq.data.io"] == {} and upward(graph) == []


def test_circles_are_found_with_the_imports_that_close_them(tmp_path):
    graph = _tree(tmp_path, {"bioseq/model/cells.py": "def f():\n    from .recurrence import X\n",
                             "bioseq/model/recurrence.py": "from .cells import Y\n",
                             "bioseq/model/store.py": "from . import ensemble\n", "bioseq/model/ensemble.py":
                             "from .store import Z\n", "bioseq/model/classifier.py": "from . import cells\n"})
    found = cycles(graph)
    assert found == [["bioseq.model.cells", "bioseq.model.recurrence"], ["bioseq.model.ensemble", "bioseq.model.store"]]
    assert cycle_edges(graph, found[0]) == ["bioseq.model.cells:2 -> bioseq.model.recurrence",
                                            "bioseq.model.recurrence:1 -> bioseq.model.cells"]


@pytest.mark.parametrize("module, expected", [("bioseq", "api"), ("bioseq.runtime", "leaf"),
                                              ("bioseq.task_tools", "task"), ("bioseq.options", "training"),
                                              ("bioseq.app.records", "app"), ("dashboard.views.train", "dashboard")])
def test_layers_of_modules(module, expected):
    assert layer(module) == expected
