"""The package's modules import each other without a circle, counting every import: lazy and type-only ones too."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import nanobanana

PACKAGE = Path(nanobanana.__file__).parent


def modules() -> dict[str, Path]:
    found = {}
    for file in PACKAGE.rglob("*.py"):
        parts = ("nanobanana", *file.relative_to(PACKAGE).with_suffix("").parts)
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = file
    return found


def imported(name: str, file: Path, known: dict[str, Path]) -> Iterator[str]:
    """The package's modules that ``name`` imports anywhere in its file (``from . import x`` names ``x``)."""
    package = name if file.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            submodules = [f"{target}.{alias.name}" for alias in node.names if f"{target}.{alias.name}" in known]
            yield from submodules
            if len(submodules) < len(node.names) and target in known:
                yield target


def cycle_from(start: str, graph: dict[str, set[str]]) -> list[str] | None:
    path: list[str] = []
    done: set[str] = set()

    def visit(module: str) -> list[str] | None:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done:
            return None
        path.append(module)
        for target in sorted(graph[module]):
            if found := visit(target):
                return found
        path.pop()
        done.add(module)
        return None

    return visit(start)


def test_no_module_of_the_package_imports_itself_through_others() -> None:
    known = modules()
    graph = {name: set(imported(name, file, known)) - {name} for name, file in known.items()}

    cycles = [cycle for name in sorted(graph) if (cycle := cycle_from(name, graph))]

    assert cycles == []


def test_the_graph_sees_lazy_and_type_only_imports() -> None:
    known = modules()

    assert "nanobanana._pillow" in set(imported("nanobanana.types", known["nanobanana.types"], known))
    assert "nanobanana._answers" in set(imported("nanobanana._exceptions", known["nanobanana._exceptions"], known))
