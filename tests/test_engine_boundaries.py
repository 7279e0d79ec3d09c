"""The engine's boundaries, read from the code's own imports: it depends on interfaces (its ports,
the executor interface), never on a concrete backend, and no import cycle goes through it."""

from __future__ import annotations

import ast
from pathlib import Path

import orchestrator

PACKAGE = Path(orchestrator.__file__).parent
#: what whoever assembles a run builds and hands to the engine; the engine never imports them
BACKENDS = (
    "orchestrator.runstate.checkpoints", "orchestrator.runstate.deadletters", "orchestrator.runstate.history",
    "orchestrator.runstate.resume", "orchestrator.runstate.retention", "orchestrator.executors.remote",
    "orchestrator.executors.process", "orchestrator.executors.local", "orchestrator.builtin",
    "orchestrator.notify", "orchestrator.reporting", "orchestrator.launch", "orchestrator.cli", "orchestrator.serve",
    "orchestrator.api",
)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, *, runtime_only: bool) -> set[str]:
    """The ``orchestrator`` modules a file imports: all of them, or (``runtime_only``) those
    imported when the module itself is, outside ``TYPE_CHECKING`` blocks and functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and runtime_only and "TYPE_CHECKING" in ast.unparse(node.test):
                visit(node.orelse)
                continue
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and runtime_only:
                continue
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("orchestrator"):
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names if alias.name.startswith("orchestrator"))
            for field in ("body", "orelse", "finalbody", "handlers"):
                inner = getattr(node, field, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], (ast.stmt, ast.ExceptHandler)):
                    visit([n for n in inner if isinstance(n, ast.stmt)] + [s for h in inner if isinstance(h, ast.ExceptHandler) for s in h.body])

    visit(tree.body)
    modules = {module_name(p) for p in PACKAGE.rglob("*.py")}
    return {name for name in found if name in modules}


def test_the_engine_imports_no_concrete_backend() -> None:
    engine_files = sorted((PACKAGE / "engine").glob("*.py"))
    assert len(engine_files) >= 6
    offending = {
        module_name(path): sorted(name for name in imports(path, runtime_only=False) if name.startswith(BACKENDS))
        for path in engine_files
    }
    assert {name: found for name, found in offending.items() if found} == {}


def test_no_import_cycle_goes_through_the_engine() -> None:
    graph = {module_name(path): imports(path, runtime_only=True) for path in PACKAGE.rglob("*.py")}
    for start in [name for name in graph if name.startswith("orchestrator.engine")]:
        seen: set[str] = set()
        stack = [(start, (start,))]
        while stack:
            name, trail = stack.pop()
            for target in graph.get(name, ()):
                if target == start:
                    raise AssertionError(" -> ".join((*trail, target)))
                if target not in seen and target in graph:
                    seen.add(target)
                    stack.append((target, (*trail, target)))


def test_every_engine_module_stays_readable() -> None:
    sizes = {path.name: len(path.read_text(encoding="utf-8").splitlines()) for path in (PACKAGE / "engine").glob("*.py")}
    assert {name: lines for name, lines in sizes.items() if lines > 400} == {}
