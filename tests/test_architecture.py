"""The core's dependency rules, checked on its own imports (every ``import`` statement in
core/orchestrator, including those inside functions and under ``TYPE_CHECKING``: a lazy import is
still a dependency, only a cheaper one).

1. No import cycle between modules.
2. Nothing imports upward. The layers, from the bottom (a module may import its own layer's group
   and every layer below; groups side by side in one layer may not import each other):

   - vocabulary: plain data, errors and pure helpers every layer shares; the plan model, the
     phase names and the policies live in ``config/`` and the resume data and path layout in
     ``runstate/`` by concern, but import nothing above this layer
   - config: from a YAML file to a plan
   - plugins: hook specifications, discovery, listing
   - the run state | the engine (with the executor interface): neither knows the other, the
     engine is handed what it needs (design §3: the engine sees ports, never a store or a file)
   - consumers of a run's events: the reporters | the notification dispatcher
   - backends: the concrete executors and the core's own plugin (``builtin``), which the engine
     finds through the registry and never imports
   - launch: a run put together (history, notifications, engine)
   - serve: what runs pipelines unattended (schedules, triggers, the server), built on launch
   - the entry points: the CLI | the Python API and the package's public face | the testing kit
   - what engine adapters share, built on the Python API (nothing below imports it, so no
     ``orchestrator run`` pays for it)
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from orchestrator.config.graph import knots

CORE = Path(__file__).resolve().parents[1] / "core"
PACKAGE = CORE / "orchestrator"

LAYERS: list[dict[str, tuple[str, ...]]] = [
    {
        "vocabulary": (
            "orchestrator.version",
            "orchestrator.errors",
            "orchestrator.events",
            "orchestrator.context",
            "orchestrator.tracecontext",
            "orchestrator.files",
            "orchestrator.sqlite_sandbox",
            "orchestrator.daemon_threads",
            "orchestrator.diagnostics",
            "orchestrator.config.model",
            "orchestrator.config.phases",
            "orchestrator.config.policies",
            "orchestrator.config.cost",
            "orchestrator.config.telemetry",
            "orchestrator.config.cache",
            "orchestrator.runstate.progress",
            "orchestrator.runstate.layout",
            "orchestrator.runstate.frames",
            "orchestrator.plugins.registry",
        )
    },
    {"config": ("orchestrator.config",)},
    {"plugins": ("orchestrator.plugins",), "convert": ("orchestrator.convert",)},
    {
        "runstate": ("orchestrator.runstate",),
        "engine": ("orchestrator.executors", "orchestrator.engine"),
    },
    {
        "reporting": ("orchestrator.reporting",),
        "notify": ("orchestrator.notify",),
        "consumers": ("orchestrator.consumers",),
        "prometheus": ("orchestrator.prometheus",),
    },
    {
        "backends": (
            "orchestrator.executors.local",
            "orchestrator.executors.process",
            "orchestrator.executors.remote",
            "orchestrator.builtin",
        )
    },
    {"launch": ("orchestrator.launch",)},
    {"serve": ("orchestrator.serve",)},
    {
        "cli": ("orchestrator.cli", "orchestrator.__main__"),
        "api": ("orchestrator.api", "orchestrator"),
        "testing": ("orchestrator.testing",),
    },
    {"adapters": ("orchestrator.adapters",)},
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(CORE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def core_modules() -> dict[str, Path]:
    """Every Python module of the core (the plugin template is a project of its own, not code the
    core imports)."""
    return {
        module_name(path): path
        for path in sorted(PACKAGE.rglob("*.py"))
        if "plugin_template" not in path.relative_to(PACKAGE).parts
    }


def imports(name: str, path: Path, modules: dict[str, Path]) -> Iterator[tuple[str, int]]:
    """The core modules ``name`` imports, with the line of each import."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in modules:
                    yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")[: len(name.split(".")) - node.level + (1 if is_package else 0)]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                if submodule in modules:  # ``from orchestrator.config import cache``
                    yield submodule, node.lineno
                elif source in modules:
                    yield source, node.lineno


def import_graph() -> dict[str, dict[str, int]]:
    modules = core_modules()
    graph: dict[str, dict[str, int]] = {}
    for name, path in modules.items():
        graph[name] = {}
        for target, line in imports(name, path, modules):
            if target != name:
                graph[name].setdefault(target, line)
    return graph


def place(module: str) -> tuple[int, str] | None:
    """(layer, group) of a module: its most specific entry in :data:`LAYERS`."""
    best: tuple[int, int, str] | None = None
    for index, groups in enumerate(LAYERS):
        for group, prefixes in groups.items():
            for prefix in prefixes:
                matches = module == prefix or (prefix != "orchestrator" and module.startswith(prefix + "."))
                if matches and (best is None or len(prefix) > best[0]):
                    best = (len(prefix), index, group)
    return None if best is None else (best[1], best[2])


def where(module: str, line: int) -> str:
    path = core_modules()[module]
    return f"{path.relative_to(CORE.parent)}:{line}"


def test_every_module_has_a_layer() -> None:
    unplaced = [name for name in core_modules() if place(name) is None]
    assert not unplaced, f"modules missing from LAYERS in this test (add them where they belong): {unplaced}"


def test_nothing_imports_upward_or_sideways() -> None:
    graph = import_graph()
    wrong = []
    for source, targets in graph.items():
        placed = place(source)
        assert placed is not None
        for target, line in targets.items():
            there = place(target)
            assert there is not None
            if there[0] > placed[0]:
                wrong.append(f"{where(source, line)}: {source} ({placed[1]}) imports {target}, a layer above ({there[1]})")
            elif there[0] == placed[0] and there[1] != placed[1]:
                wrong.append(f"{where(source, line)}: {source} ({placed[1]}) imports {target} ({there[1]}), beside it")
    assert not wrong, "imports against the layering:\n" + "\n".join(wrong)


def test_no_import_cycles() -> None:
    graph = import_graph()
    cycles = [sorted(component) for component in knots(graph)]
    described = []
    for component in sorted(cycles):
        edges = [
            f"  {where(source, line)}: {source} imports {target}"
            for source in component
            for target, line in sorted(graph[source].items())
            if target in component
        ]
        described.append("cycle between " + ", ".join(component) + ":\n" + "\n".join(edges))
    assert not described, "\n".join(described)


def test_the_checks_catch_what_they_are_for() -> None:
    """The rules themselves: a cycle is found, and an import is placed in the right layer."""
    assert [sorted(c) for c in knots({"a": {"b": 1}, "b": {"a": 1}, "c": {"a": 1}})] == [["a", "b"]]
    assert place("orchestrator.config.model") == (0, "vocabulary")
    assert place("orchestrator.config.plan") == (1, "config")
    assert place("orchestrator.executors") == (3, "engine")
    assert place("orchestrator.executors.remote") == (5, "backends")
    assert place("orchestrator") == (8, "api")
    assert place("orchestrator.cli.run") == (8, "cli")
    assert place("orchestrator.serve.ticks") == (7, "serve")
    graph = import_graph()
    assert "orchestrator.config.cache" in graph["orchestrator.plugins.discovery"]  # from orchestrator.config import cache
    assert "orchestrator.launch" in graph["orchestrator.cli.run"]  # an import inside a function counts


MAP = CORE.parent / "docs" / "design" / "packages.md"


def test_the_package_map_names_every_module() -> None:
    """docs/design/packages.md lists every module of the core in its tables, and only modules that exist."""
    named = set(re.findall(r"^\| `([\w/]+\.py)` \|", MAP.read_text(encoding="utf-8"), re.MULTILINE))
    present = {str(path.relative_to(PACKAGE)) for path in core_modules().values()}
    assert not present - named, f"modules missing from {MAP.name}: {sorted(present - named)}"
    assert not named - present, f"{MAP.name} names modules that do not exist: {sorted(named - present)}"
