"""The pipeline's modules import one another in no circle (lazy imports inside functions count)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "clipstream_models"


def imports_of(path: Path) -> set[str]:
    """The package's own modules that `path` imports, anywhere in it."""
    names = {p.stem for p in PACKAGE.glob("*.py")}
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("clipstream_models."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("clipstream_models."))
    return (found & names) - {path.stem}


def test_no_module_imports_itself_through_others():
    graph = {p.stem: imports_of(p) for p in PACKAGE.glob("*.py") if p.stem != "__main__"}
    assert sum(len(v) for v in graph.values()) > 10, graph
    done: set[str] = set()

    def circle_from(node: str, path: list[str]) -> list[str] | None:
        """A circle through the modules on `path` and below `node`, if there is one."""
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        for nxt in sorted(graph.get(node, ())):
            if found := circle_from(nxt, [*path, node]):
                return found
        done.add(node)
        return None

    for node in sorted(graph):
        assert circle_from(node, []) is None, f"import circle: {circle_from(node, [])}"
