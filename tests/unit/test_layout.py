"""The package's shape: no import cycle, no god module, no test code in the wheel.

Read from the source with `ast` (nothing is imported), so every import counts: at the top of a
module, inside a function, under `if TYPE_CHECKING:`.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "arenadb"
MAX_LINES = 500  # issue 14: "no module over about 500 lines"
# Modules over MAX_LINES today, each being split by someone: shrink this list, never grow it.
OVER_MAX_LINES: set[str] = set()
# A class holds one idea (issue 14: "no class over about 200 lines"), decorators included.
MAX_CLASS_LINES = 220
# Classes over MAX_CLASS_LINES today (none since issue 14): keep it empty.
OVER_MAX_CLASS_LINES: set[str] = set()
# Import cycles known today, each being broken by someone: shrink this list, never grow it.
# (cli.common imports AppContext from cli.app, whose command table imports the commands.)
KNOWN_CYCLES: list[list[str]] = []


def _modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imported_names(name: str, path: Path) -> set[str]:
    """Every dotted name `name`'s module imports, relative imports resolved, anywhere in it."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            names.add(base)
            # `from package import module` imports the module itself.
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports (the most specific module each import names:
    `from arenadb.models.game import Game` depends on arenadb.models.game, not on the package)."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for imported in _imported_names(name, path):
            if imported in modules:
                targets.add(imported)
        # `from arenadb.db import writer` names both arenadb.db and arenadb.db.writer: keep the
        # module, drop the package it was reached through.
        graph[name] = {t for t in targets if not any(o.startswith(t + ".") for o in targets)} - {
            name
        }
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def _path_between(graph: dict[str, set[str]], start: str, members: set[str]) -> list[str]:
    """One import cycle through `start` inside a component, for the failure message."""
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for target in sorted(graph[node] & members):
            if target == start:
                return [*paths[node], start]
            if target not in paths:
                paths[target] = [*paths[node], target]
                queue.append(target)
    return [start]  # pragma: no cover - a component always has a cycle through each member


def test_the_package_has_no_import_cycle() -> None:
    graph = _import_graph()
    components = _cycles(graph)
    cycles = [
        " -> ".join(_path_between(graph, component[0], set(component)))
        for component in components
        if component not in KNOWN_CYCLES
    ]
    assert not cycles, "import cycles:\n" + "\n".join(cycles)
    # A known cycle that is gone leaves the list, so that it cannot come back unnoticed.
    assert [c for c in KNOWN_CYCLES if c not in components] == []


def test_the_cycle_check_sees_imports_inside_functions_and_type_checking(tmp_path: Path) -> None:
    # The graph reader itself: a cycle hidden in a function body and under TYPE_CHECKING.
    first = tmp_path / "first.py"
    first.write_text("def f():\n    from arenadb.second import g\n")
    second = tmp_path / "second.py"
    second.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import first\n"
    )
    assert _imported_names("arenadb.first", first) >= {"arenadb.second"}
    assert _imported_names("arenadb.second", second) >= {"arenadb.first"}
    graph = {"arenadb.first": {"arenadb.second"}, "arenadb.second": {"arenadb.first"}}
    assert _cycles(graph) == [["arenadb.first", "arenadb.second"]]


def test_no_module_is_over_the_line_limit() -> None:
    root = PACKAGE.parent
    sizes = {
        path.relative_to(root).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
        for path in PACKAGE.rglob("*.py")
    }
    over = {name for name, lines in sizes.items() if lines > MAX_LINES}
    assert over <= OVER_MAX_LINES, {name: sizes[name] for name in over - OVER_MAX_LINES}
    # An allowed module that got split leaves the list, so that it cannot grow back.
    assert over >= OVER_MAX_LINES, f"under {MAX_LINES} lines now: {OVER_MAX_LINES - over}"


def _class_sizes(path: Path, name: str) -> dict[str, int]:
    """`name:Class` -> lines, from its first decorator to its last line, for every class
    (nested ones too) of the module at `path`."""
    sizes = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.ClassDef):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            assert node.end_lineno is not None
            sizes[f"{name}:{node.name}"] = node.end_lineno - first + 1
    return sizes


def test_no_class_is_over_the_line_limit() -> None:
    root = PACKAGE.parent
    sizes: dict[str, int] = {}
    for path in PACKAGE.rglob("*.py"):
        sizes.update(_class_sizes(path, path.relative_to(root).as_posix()))
    over = {name for name, lines in sizes.items() if lines > MAX_CLASS_LINES}
    assert over <= OVER_MAX_CLASS_LINES, {name: sizes[name] for name in over - OVER_MAX_CLASS_LINES}
    # An allowed class that got split leaves the list, so that it cannot grow back.
    assert over >= OVER_MAX_CLASS_LINES, (
        f"under {MAX_CLASS_LINES} lines now: {OVER_MAX_CLASS_LINES - over}"
    )


def test_the_class_size_check_counts_decorators_and_nested_classes(tmp_path: Path) -> None:
    module = tmp_path / "module.py"
    module.write_text("@decorated\nclass Outer:\n    class Inner:\n        x = 1\n\n    y = 2\n")
    assert _class_sizes(module, "m") == {"m:Outer": 6, "m:Inner": 2}


def test_the_package_never_imports_the_tests() -> None:
    offenders = {
        name: sorted(n for n in _imported_names(name, path) if n.split(".")[0] == "tests")
        for name, path in _modules().items()
    }
    assert not {name: found for name, found in offenders.items() if found}
