"""The package stays easy to read: modules under 300 lines, and no circular
imports between them (checked on the import graph, module-level imports
only: an import inside a function or under TYPE_CHECKING is deliberate)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Where each part of the installed package lives in the checkout (pyproject).
PARTS = {"decnet_audit": ROOT / "auditor", "decnet_audit.rules": ROOT / "rules",
         "decnet_audit.reports": ROOT / "reports"}
LIMIT = 300


def modules() -> dict[str, Path]:
    out = {}
    for package, folder in PARTS.items():
        for path in folder.rglob("*.py"):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join([package, *parts])] = path
    return out


MODULES = modules()


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _top_level_imports(tree: ast.Module):
    # Module-level statements, into if/try blocks, never into functions,
    # classes or `if TYPE_CHECKING:`.
    todo = list(tree.body)
    while todo:
        node = todo.pop(0)
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If):
            if not (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
                todo += node.body + node.orelse
        elif isinstance(node, ast.Try):
            todo += node.body + node.orelse + node.finalbody + [
                s for h in node.handlers for s in h.body]


def imports_of(name: str) -> set[str]:
    tree = ast.parse(MODULES[name].read_text())
    package = name if _is_package(name) else name.rpartition(".")[0]
    found = set()
    for node in _top_level_imports(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            targets = [base] + [f"{base}.{a.name}" for a in node.names]
        found.update(t for t in targets if t in MODULES and t != name)
    return found


def test_every_module_is_found():
    assert {"decnet_audit", "decnet_audit.cli", "decnet_audit.fix.apply",
            "decnet_audit.rules.json_only", "decnet_audit.reports.describe"} <= set(MODULES)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_is_under_the_size_limit(name):
    lines = len(MODULES[name].read_text().splitlines())
    assert lines < LIMIT, f"{MODULES[name].relative_to(ROOT)} has {lines} lines"


def test_no_circular_imports():
    graph = {name: imports_of(name) for name in MODULES}
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            cycle = path[path.index(name):] + [name]
            pytest.fail("circular import: " + " -> ".join(cycle))
        if name in done:
            return
        for target in sorted(graph[name]):
            visit(target, [*path, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])


def test_the_graph_sees_imports():
    # The check above proves nothing if the graph is empty.
    assert "decnet_audit.model" in imports_of("decnet_audit.engine")
    assert "decnet_audit.fix.sql" in imports_of("decnet_audit.fix.apply")
    assert "decnet_audit.sources.statefile" in imports_of("decnet_audit.engine")
    assert "decnet_audit.sources.database" in imports_of("decnet_audit.fix.sql")
