"""The documentation in docs/ is kept honest by these tests.

Conventions the pages follow (also described in docs/index.md):

- A fenced block whose info string has ``title="some/path"`` is that file. The tests write every
  titled block of a page into a fresh directory, so configs on the page can use them.
- Every YAML block with a top-level ``pipelines:`` key is a complete config and is validated with
  ``orchestrator.config.plan.load_plan``.
- HTML comments ``<!-- test: ... -->`` on the lines just above a block say how to use it:
  ``run``, ``invalid``, ``env NAME=value``, ``param NAME=value``, ``output of COMMAND`` and
  ``summary of FILE``.
- In docs/config-reference.md, ``<!-- schema: POINTER -->`` above a ``| key |`` table says which
  object of schemas/pipeline.schema.json the table documents. Built-in steps are ``### name``
  sections with an ``| arg |`` table, executors ``### name`` sections with an ``| option |`` table.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import logging
import os
import re
import shlex
import sqlite3
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from helpers import BIN, ONLY_BUILTIN
from orchestrator.plugins import hookspecs
from orchestrator.cli import cli
from orchestrator.config.plan import load_plan
from orchestrator.engine import Engine
from orchestrator.errors import ConfigError
from orchestrator.events import RunResult
from orchestrator.config.model import Plan
from orchestrator.config.phases import PHASES
from orchestrator.plugins.discovery import Plugins, load_plugins
from orchestrator.plugins.registry import EXECUTOR, NOTIFIER

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
TESTS = ROOT / "tests"
SCHEMA = ROOT / "schemas" / "pipeline.schema.json"
SCHEDULE_SCHEMA = ROOT / "schemas" / "schedule.schema.json"
HOOKS_PAGE = DOCS / "plugins" / "hooks.md"
REFERENCE_PAGE = DOCS / "config-reference.md"
CLI_PAGE = DOCS / "cli.md"
PLUGIN_PAGE = DOCS / "plugins" / "writing-a-plugin.md"
GETTING_STARTED = DOCS / "getting-started.md"
REQUIRED_PAGES = ["index.md", "getting-started.md", "config-reference.md", "phases.md", "cli.md",
                  "plugins/writing-a-plugin.md", "plugins/hooks.md", "plugins/testing-a-plugin.md"]

HOOK_GROUP_HEADINGS = {"Registration hooks", "Lifecycle hooks"}


# -- reading the pages --------------------------------------------------------------------------


@dataclass
class Block:
    page: Path
    line: int
    info: str
    body: str
    markers: list[str] = field(default_factory=list)

    @property
    def lang(self) -> str:
        return self.info.split()[0] if self.info.split() else ""

    @property
    def title(self) -> str | None:
        match = re.search(r'title="([^"]+)"', self.info)
        return match.group(1) if match else None

    def marker_values(self, kind: str) -> list[str]:
        return [m[len(kind):].strip() for m in self.markers if m == kind or m.startswith(kind + " ")]

    def env(self) -> dict[str, str]:
        return dict(value.split("=", 1) for value in self.marker_values("env"))

    def params(self) -> dict[str, str]:
        return dict(value.split("=", 1) for value in self.marker_values("param"))

    def config(self) -> dict[str, Any] | None:
        if self.lang not in ("yaml", "yml"):
            return None
        try:
            data = yaml.safe_load(self.body)
        except yaml.YAMLError:
            return None
        return data if isinstance(data, dict) and "pipelines" in data else None

    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


MARKER = re.compile(r"^<!--\s*test:\s*(.*?)\s*-->$")


def blocks(page: Path) -> list[Block]:
    found: list[Block] = []
    pending: list[str] = []
    lines = page.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        marker = MARKER.match(line.strip())
        if marker:
            pending.append(marker.group(1))
        elif line.startswith("```"):
            info = line[3:].strip()
            body: list[str] = []
            start = index + 1
            index += 1
            while index < len(lines) and not lines[index].startswith("```"):
                body.append(lines[index])
                index += 1
            found.append(Block(page, start, info, "\n".join(body) + "\n", pending))
            pending = []
        elif line.strip():
            pending = []
        index += 1
    return found


def pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def sections(text: str, level: str) -> dict[str, str]:
    """Heading text -> the text up to the next heading of the same or a higher level."""
    pattern = re.compile(rf"^{level} (.+?)\s*$", re.MULTILINE)
    depth = len(level)
    out: dict[str, str] = {}
    matches = list(pattern.finditer(text))
    for match in matches:
        rest = text[match.end():]
        stop = re.search(rf"^#{{1,{depth}}} ", rest, re.MULTILINE)
        out[match.group(1)] = rest[: stop.start()] if stop else rest
    return out


def table_rows(text: str, first_header: str) -> list[list[str]]:
    """Rows (as cells) of every Markdown table in ``text`` whose first header cell is ``first_header``."""
    rows: list[list[str]] = []
    lines = text.splitlines()
    for index, line in enumerate(lines):
        cells = _cells(line)
        if cells and cells[0] == first_header and index + 1 < len(lines) and set(lines[index + 1]) <= set("|-: "):
            for row in lines[index + 2:]:
                if not row.startswith("|"):
                    break
                rows.append(_cells(row))
    return rows


def _cells(line: str) -> list[str]:
    if not line.startswith("|"):
        return []
    parts = re.split(r"(?<!\\)\|", line.strip().strip("|"))
    return [part.strip() for part in parts]


def first_code(cell: str) -> str:
    match = re.match(r"`([^`]+)`", cell)
    assert match, f"first cell {cell!r} is not a name in backticks"
    return match.group(1)


# -- running what the pages show ------------------------------------------------------------------


def write_page_files(page: Path, into: Path) -> None:
    for block in blocks(page):
        if block.title:
            target = into / block.title
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.body, encoding="utf-8")


def config_blocks(page: Path) -> list[Block]:
    return [block for block in blocks(page) if block.config() is not None]


def check_sqlite_loads(plan: Plan, result: RunResult) -> int:
    """Every sqlite.write step's table holds as many rows as the step reported; returns the
    number of tables checked."""
    checked = 0
    for name, pipeline in plan.pipelines.items():
        outcome = result.pipelines[name]
        for step in pipeline.phases.get("load", ()):
            if step.plugin != "sqlite.write":
                continue
            reported = next(s.rows for s in outcome.steps if s.step == step.id and s.phase == "load")
            database = plan.base_dir / step.args["database"]
            with sqlite3.connect(database) as db:
                (count,) = db.execute(f'SELECT COUNT(*) FROM "{step.args["table"]}"').fetchone()
            assert count == reported, f"{name}.{step.id}: table has {count} rows, the step reported {reported}"
            assert count > 0, f"{name}.{step.id}: the example loads no rows"
            checked += 1
    return checked


def exercise_configs(page: Path, workdir: Path, plugins: Plugins) -> dict[str, RunResult]:
    """Validate every complete config of a page (and run the ones marked ``run``)."""
    results: dict[str, RunResult] = {}
    for index, block in enumerate(config_blocks(page)):
        name = block.title or f"config-{index}.yaml"
        path = workdir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(block.body, encoding="utf-8")
        if "invalid" in block.markers:
            with pytest.raises(ConfigError):
                load_plan(path, plugins.registry, params=block.params(), env=block.env())
            continue
        try:
            plan = load_plan(path, plugins.registry, params=block.params(), env=block.env())
        except ConfigError as exc:
            pytest.fail(f"{block.where()}: the documented config is invalid:\n{exc}")
        if "run" in block.markers:
            result = Engine(plan, plugins).run_sync()
            errors = {n: o.error for n, o in result.pipelines.items() if o.error}
            assert result.ok, f"{block.where()}: the documented pipeline failed: {errors}"
            check_sqlite_loads(plan, result)
            results[name] = result
    return results


def check_outputs(page: Path, workdir: Path, results: dict[str, RunResult], env: dict[str, str]) -> int:
    """Compare every ``output of`` and ``summary of`` block with reality; returns how many."""
    checked = 0
    for block in blocks(page):
        for command in block.marker_values("output of"):
            argv = shlex.split(command)
            if argv[0] == "orchestrator":
                argv[0] = str(BIN / "orchestrator")
            elif argv[0] == "python":
                argv[0] = sys.executable
            full_env = {**os.environ, **env, **block.env()}
            done = subprocess.run(argv, capture_output=True, text=True, cwd=workdir, env=full_env, timeout=120)
            shown = (done.stdout + done.stderr).rstrip()
            assert shown == block.body.rstrip(), (
                f"{block.where()}: `{command}` prints\n{shown}\nbut the page shows\n{block.body}"
            )
            checked += 1
        for config in block.marker_values("summary of"):
            assert config in results, f"{block.where()}: {config} is not a config marked 'run' on this page"
            rows = [re.split(r"\s{2,}", line.strip()) for line in block.body.strip().splitlines()]
            assert rows[0][:3] == ["pipeline", "status", "rows"], f"{block.where()}: not a summary table"
            documented = {row[0]: (row[1], row[2]) for row in rows[1:]}
            actual = {
                name: (o.status, "-" if o.rows is None else str(o.rows))
                for name, o in results[config].pipelines.items()
            }
            assert documented == actual, f"{block.where()}: the page shows {documented}, the run gave {actual}"
            checked += 1
    return checked


# -- the pages exist and link to each other ----------------------------------------------------------


@pytest.mark.parametrize("name", REQUIRED_PAGES)
def test_page_exists(name: str) -> None:
    assert (DOCS / name).is_file(), f"docs/{name} is missing"


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(DOCS)))
def test_relative_links_point_to_existing_pages_and_headings(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if "://" in target:
            continue
        file_part, _, anchor = target.partition("#")
        linked = (page.parent / file_part).resolve() if file_part else page
        assert linked.is_file(), f"{page.name}: link to missing {target}"
        if anchor:
            headings = re.findall(r"^#+ (.+?)\s*$", linked.read_text(encoding="utf-8"), re.MULTILINE)
            slugs = {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}
            assert anchor in slugs, f"{page.name}: link {target}: no heading with anchor #{anchor}"


# -- (a) every hookspec is documented, and every documented hook exists -------------------------------


def hookspec_functions() -> dict[str, Any]:
    return {
        name: function
        for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(function, f"{hookspecs.PROJECT_NAME}_spec")
    }


def test_hookspecs_exist() -> None:
    assert len(hookspec_functions()) >= 5


HOOK_PAGES = DOCS / "plugins" / "hooks"


def test_every_hookspec_has_a_reference_page_and_every_page_is_a_hookspec() -> None:
    documented = {page.stem for page in HOOK_PAGES.glob("*.md")}
    specs = set(hookspec_functions())
    missing = sorted(specs - documented)
    assert not missing, f"hookspecs without a page docs/plugins/hooks/NAME.md: {missing}"
    unknown = sorted(documented - specs)
    assert not unknown, f"pages in docs/plugins/hooks/ that name no hookspec: {unknown}"
    assert set(sections(HOOKS_PAGE.read_text(encoding="utf-8"), "##")) == HOOK_GROUP_HEADINGS


@pytest.mark.parametrize("hook", sorted(hookspec_functions()))
def test_hook_page_names_every_parameter_and_is_linked(hook: str) -> None:
    text = (HOOK_PAGES / f"{hook}.md").read_text(encoding="utf-8")
    assert text.startswith(f"# {hook}\n")
    for parameter in inspect.signature(hookspec_functions()[hook]).parameters:
        assert f"`{parameter}`" in text, f"docs/plugins/hooks/{hook}.md does not describe its parameter `{parameter}`"
    assert f"(hooks/{hook}.md)" in HOOKS_PAGE.read_text(encoding="utf-8"), f"hooks.md does not link to {hook}.md"


# -- (b) every hookspec has a test of its own ----------------------------------------------------------


def _test_function_names() -> set[str]:
    names: set[str] = set()
    for path in TESTS.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_"):
                names.add(node.name)
    return names


def test_every_hookspec_has_a_test_named_after_it() -> None:
    tests = _test_function_names()
    untested = sorted(
        hook
        for hook in hookspec_functions()
        if not any(name == f"test_hook_{hook}" or name.startswith(f"test_hook_{hook}_") for name in tests)
    )
    assert not untested, f"hookspecs without a test_hook_<name> test under tests/: {untested}"


# -- (c) the config reference documents exactly the schema's keys -------------------------------------


def schema_objects(node: Any, pointer: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every (JSON pointer, object) in the schema that declares ``properties``."""
    if isinstance(node, dict):
        if isinstance(node.get("properties"), dict):
            yield pointer, node
        for key, value in node.items():
            yield from schema_objects(value, f"{pointer}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from schema_objects(value, f"{pointer}/{index}")


def reference_key_tables() -> dict[str, list[str]]:
    """Schema pointer -> the keys its table documents, from the config part of the reference."""
    text = REFERENCE_PAGE.read_text(encoding="utf-8")
    config_part = text.split("\n## Built-in steps", 1)[0]
    tables: dict[str, list[str]] = {}
    for match in re.finditer(r"^<!-- schema: (\S+) -->\n(\|.*(?:\n\|.*)*)", config_part, re.MULTILINE):
        rows = table_rows(match.group(2), "key")
        assert rows, f"the table after <!-- schema: {match.group(1)} --> has no '| key |' header"
        assert match.group(1) not in tables, f"two tables document {match.group(1)}"
        tables[match.group(1)] = [first_code(row[0]) for row in rows]
    unmarked = len(table_rows(config_part, "key")) - sum(len(keys) for keys in tables.values())
    assert unmarked == 0, "a '| key |' table in config-reference.md has no <!-- schema: POINTER --> above it"
    return tables


def all_schema_objects() -> dict[str, dict[str, Any]]:
    """The pipeline schema's objects, and those of the schedule fragment it refers to (pointers
    prefixed with the fragment's file name)."""
    objects = dict(schema_objects(json.loads(SCHEMA.read_text(encoding="utf-8"))))
    fragment = json.loads(SCHEDULE_SCHEMA.read_text(encoding="utf-8"))
    objects.update((f"{SCHEDULE_SCHEMA.name}{pointer}", node) for pointer, node in schema_objects(fragment) if pointer != "#")
    return objects


def test_config_reference_documents_every_schema_key_and_no_other() -> None:
    objects = all_schema_objects()
    tables = reference_key_tables()
    assert set(tables) == set(objects), (
        f"schema objects without a table: {sorted(set(objects) - set(tables))}; "
        f"tables for no schema object: {sorted(set(tables) - set(objects))}"
    )
    for pointer, node in objects.items():
        documented, declared = tables[pointer], list(node["properties"])
        assert len(documented) == len(set(documented)), f"{pointer}: a key is documented twice"
        assert set(documented) == set(declared), (
            f"{pointer}: undocumented keys {sorted(set(declared) - set(documented))}, "
            f"documented keys the schema does not have {sorted(set(documented) - set(declared))}"
        )


def test_every_schema_property_name_appears_in_the_reference() -> None:
    every = {key for node in all_schema_objects().values() for key in node["properties"]}
    documented = {key for keys in reference_key_tables().values() for key in keys}
    assert every <= documented, sorted(every - documented)


# -- (d) every built-in step and executor is documented with its real args ----------------------------


def builtin_sections() -> dict[str, str]:
    text = REFERENCE_PAGE.read_text(encoding="utf-8")
    assert "\n## Built-in steps" in text
    return sections(text.split("\n## Built-in steps", 1)[1], "###")


def builtin_entries() -> dict[str, list[tuple[str, dict[str, Any] | None]]]:
    """Name -> [(phase, 'executor' or 'notifier', args schema)] for everything the builtin plugin registers."""
    registry = load_plugins({"ORCHESTRATOR_LOAD_PLUGINS": "builtin"}).registry
    found: dict[str, list[tuple[str, dict[str, Any] | None]]] = {}
    for kind in (*PHASES, EXECUTOR, NOTIFIER):
        for name in registry.names(kind, plugin="builtin"):
            entry = registry.get(kind, name)
            assert entry is not None
            found.setdefault(name, []).append((kind, entry.schema))
    return found


def test_builtin_plugin_registers_steps_in_every_phase() -> None:
    kinds = {kind for entries in builtin_entries().values() for kind, _ in entries}
    assert kinds == {*PHASES, EXECUTOR, NOTIFIER}


@pytest.mark.parametrize("name", sorted(builtin_entries()))
def test_builtin_step_is_documented_with_exactly_its_args(name: str) -> None:
    documented_sections = builtin_sections()
    assert name in documented_sections, f"config-reference.md has no '### {name}' section"
    text = documented_sections[name]
    for kind, schema in builtin_entries()[name]:
        header = "option" if kind in (EXECUTOR, NOTIFIER) else "arg"
        documented = [first_code(row[0]) for row in table_rows(text, header)]
        declared = list((schema or {}).get("properties", {}))
        if not declared:
            assert not documented and "It takes no args." in text, f"### {name} must say 'It takes no args.' and have no table"
            continue
        assert documented, f"### {name} has no '| {header} |' table"
        unknown = sorted(set(documented) - set(declared))
        assert not unknown, f"### {name} documents args its {kind} schema does not have: {unknown}"
        missing = sorted(set(declared) - set(documented))
        assert not missing, f"### {name} does not document the {kind} args {missing}"


def test_every_builtin_section_names_a_registered_step_or_executor() -> None:
    unknown = sorted(set(builtin_sections()) - set(builtin_entries()))
    assert not unknown, f"sections for steps the builtin plugin does not register: {unknown}"


# -- (e) every complete config in the docs is valid; the getting-started ones run ---------------------

# contrib plugins' pages use steps the core does not have; each contrib test suite runs its own page
CONTRIB_PAGES = DOCS / "plugins" / "contrib"
CONFIG_PAGES = [page for page in pages() if page != PLUGIN_PAGE and CONTRIB_PAGES not in page.parents]


def test_the_docs_contain_complete_configs() -> None:
    assert sum(len(config_blocks(page)) for page in pages()) >= 5


@pytest.mark.parametrize("page", CONFIG_PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_documented_configs_validate_run_and_print_what_the_page_shows(
    page: Path, tmp_path: Path, plugins: Plugins
) -> None:
    write_page_files(page, tmp_path)
    results = exercise_configs(page, tmp_path, plugins)
    check_outputs(page, tmp_path, results, ONLY_BUILTIN)


def test_getting_started_runs_every_config_and_checks_its_results(tmp_path: Path, plugins: Plugins) -> None:
    configs = config_blocks(GETTING_STARTED)
    unmarked = [b.where() for b in configs if "run" not in b.markers and "invalid" not in b.markers]
    assert not unmarked, f"getting-started configs that are neither run nor shown as invalid: {unmarked}"
    ran = [b for b in configs if "run" in b.markers]
    assert len(ran) >= 2, "getting started shows an ETL and an ELT pipeline that run"
    assert {b.config()["pipelines"][p]["type"] for b in ran for p in b.config()["pipelines"]} >= {"ETL", "ELT"}
    write_page_files(GETTING_STARTED, tmp_path)
    results = exercise_configs(GETTING_STARTED, tmp_path, plugins)
    assert set(results) == {b.title for b in ran}
    summaries = [v for b in blocks(GETTING_STARTED) for v in b.marker_values("summary of")]
    assert set(summaries) == set(results), "every getting-started run has its summary on the page"
    assert check_outputs(GETTING_STARTED, tmp_path, results, ONLY_BUILTIN) >= len(results) + 2

    # The rows in SQLite are the rows of the documented CSV that the documented transform keeps.
    csv_rows = next(b for b in blocks(GETTING_STARTED) if b.title == "data/orders.csv").body.strip().splitlines()[1:]
    with sqlite3.connect(tmp_path / "out" / "shop.db") as db:
        assert db.execute("SELECT COUNT(*) FROM raw_orders").fetchone()[0] == len(csv_rows)
        paid = [line.split(",") for line in csv_rows if line.split(",")[4] == "paid" and float(line.split(",")[3]) >= 10]
        stored = db.execute("SELECT order_id, country FROM paid_orders ORDER BY order_id").fetchall()
        assert stored == [(int(row[0]), row[2].upper()) for row in paid]


# -- (f) the plugin of writing-a-plugin.md, installed as a real distribution ---------------------------


def _pip(*args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "--quiet", "--disable-pip-version-check", *args],
        check=True, capture_output=True, timeout=300,
    )


@dataclass
class DocPlugin:
    workdir: Path
    distribution: str
    entry_point: str
    module: str


@pytest.fixture(scope="module")
def doc_plugin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DocPlugin]:
    workdir = tmp_path_factory.mktemp("writing-a-plugin")
    write_page_files(PLUGIN_PAGE, workdir)
    pyprojects = [b.title for b in blocks(PLUGIN_PAGE) if b.title and b.title.endswith("pyproject.toml")]
    assert len(pyprojects) == 1, "the page shows one pyproject.toml"
    project_dir = (workdir / pyprojects[0]).parent
    metadata = tomllib.loads((workdir / pyprojects[0]).read_text(encoding="utf-8"))
    distribution = metadata["project"]["name"]
    entry_points = metadata["project"]["entry-points"]["orchestrator.plugins"]
    assert len(entry_points) == 1
    (entry_point, module), = entry_points.items()
    _pip("install", "--no-deps", str(project_dir))
    importlib.invalidate_caches()
    try:
        yield DocPlugin(workdir, distribution, entry_point, module)
    finally:
        _pip("uninstall", "--yes", distribution)
        for name in [n for n in sys.modules if n == module.split(".")[0] or n.startswith(module.split(".")[0] + ".")]:
            del sys.modules[name]
        importlib.invalidate_caches()


def _plugin_env(plugin: DocPlugin) -> dict[str, str]:
    return {"ORCHESTRATOR_LOAD_PLUGINS": f"builtin,{plugin.entry_point}"}


def test_documented_plugin_loads_through_its_entry_point(doc_plugin: DocPlugin) -> None:
    plugins = load_plugins(_plugin_env(doc_plugin))
    assert plugins.registry.problems == []
    info = next(p for p in plugins.registry.plugins if p.name == doc_plugin.entry_point)
    assert info.distribution == doc_plugin.distribution
    assert info.steps.get("extract") and info.steps.get("load"), "the example registers an extract and a load step"
    lifecycle = [hook for hook in info.hooks if not hook.startswith("register_")]
    assert lifecycle, "the example implements a lifecycle hook"
    for kind in ("extract", "load"):
        for name in info.steps[kind]:
            entry = plugins.registry.get(kind, name)
            assert entry is not None and entry.schema and entry.schema.get("properties"), f"{name} has no args schema"
            assert isinstance(entry.target, str), f"{name} is registered lazily, as 'module:function'"


def test_documented_plugin_runs_the_documented_pipeline(
    doc_plugin: DocPlugin, caplog: pytest.LogCaptureFixture
) -> None:
    plugins = load_plugins(_plugin_env(doc_plugin))
    caplog.set_level(logging.INFO, logger="orchestrator.run")
    results = exercise_configs(PLUGIN_PAGE, doc_plugin.workdir, plugins)
    assert len(results) == 1, "the page runs one pipeline with the plugin's steps"
    (config_name, result), = results.items()
    plan = load_plan(doc_plugin.workdir / config_name, plugins.registry)
    pipeline = next(iter(plan.pipelines.values()))
    (extract,) = pipeline.phases["extract"]
    source = plan.base_dir / extract.args["path"]
    data_lines = [line for line in source.read_text().splitlines()[extract.args.get("skip_lines", 0):] if line.strip()]

    # every row of the documented input arrives in SQLite, field by field
    (to_sqlite,) = [s for s in pipeline.phases["load"] if s.plugin == "sqlite.write"]
    columns = extract.args["columns"]
    expected = [
        tuple(line[start:start + width].strip() for start, width in columns.values()) for line in data_lines
    ]
    with sqlite3.connect(plan.base_dir / to_sqlite.args["database"]) as db:
        names = ", ".join(f'"{c}"' for c in columns)
        stored = db.execute(f'SELECT {names} FROM "{to_sqlite.args["table"]}" ORDER BY rowid').fetchall()
    assert stored == expected

    # the plugin's own load step writes the same layout back
    (to_file,) = [s for s in pipeline.phases["load"] if s.plugin.startswith(doc_plugin.entry_point + ".")]
    written = (plan.base_dir / to_file.args["path"]).read_text().splitlines()
    assert written == [line.rstrip() for line in data_lines]

    # the lifecycle hook logged each of the plugin's steps with its row count
    outcome = result.pipelines[pipeline.name]
    for step in outcome.steps:
        if step.plugin.startswith(doc_plugin.entry_point + "."):
            assert any(
                r.getMessage().startswith(f"{step.plugin}: {step.rows} rows") for r in caplog.records
            ), f"no log line from the after_step_run hook for {step.plugin}"

    # StepError reaches the user as one clean line naming the step
    source.unlink()
    failed = Engine(plan, plugins).run_sync()
    error = failed.pipelines[pipeline.name].error or ""
    assert not failed.ok
    assert error.startswith(f"step '{extract.id}' ({extract.plugin}) failed: file not found: ")
    assert str(source) in error and "\n" not in error and "Traceback" not in error


def test_documented_plugin_cli_output_matches_the_page(doc_plugin: DocPlugin) -> None:
    assert check_outputs(PLUGIN_PAGE, doc_plugin.workdir, {}, _plugin_env(doc_plugin)) >= 2


def test_documented_plugin_test_file_passes(doc_plugin: DocPlugin) -> None:
    test_files = [b.title for b in blocks(PLUGIN_PAGE) if b.title and "/tests/test_" in b.title]
    assert test_files, "the page shows a test for the plugin"
    for title in test_files:
        path = doc_plugin.workdir / title
        project = path.parent.parent
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(path.relative_to(project))],
            cwd=project, capture_output=True, text=True, timeout=300,
            env={**os.environ, "ORCHESTRATOR_LOAD_PLUGINS": "builtin,fixedwidth"},
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert " passed" in done.stdout


# -- (g) every command and option shown in the docs exists ---------------------------------------------


def _option_names(command: click.Command) -> set[str]:
    names = {"--help", "-h"}
    for parameter in command.params:
        if isinstance(parameter, click.Option):
            names.update(parameter.opts)
            names.update(parameter.secondary_opts)
    return names


def _code_spans(page: Path) -> list[str]:
    text = page.read_text(encoding="utf-8")
    spans = [b.body for b in blocks(page) if b.lang in ("sh", "text", "console", "")]
    without_blocks = re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    spans += re.findall(r"`([^`\n]+)`", without_blocks)
    return spans


COMMAND_LINE = re.compile(r"(?<![\w./'-])orchestrator[ \t]+([^\n|>#;&'\"]*)")


def shown_command_lines(page: Path) -> list[list[str]]:
    found = []
    for span in _code_spans(page):
        for match in COMMAND_LINE.finditer(span):
            found.append(match.group(1).split())
    return found


def _installed_exporter(name: str) -> click.Command | None:
    """The ``orchestrator export`` subcommand a plugin installed here registered as ``name``."""
    group = cli.commands["export"]
    assert isinstance(group, click.Group)
    try:
        return group.get_command(click.Context(group), name)
    except click.UsageError:
        return None


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(DOCS)))
def test_every_command_and_option_shown_exists(page: Path) -> None:
    group_options = _option_names(cli)
    for words in shown_command_lines(page):
        if not words or words[0].isupper():  # "orchestrator COMMAND ..." placeholders
            continue
        first = words[0]
        if first.startswith(("-", "[")):
            command, options = cli, words
        else:
            assert first in cli.commands, f"{page.name}: 'orchestrator {first}' is not a command"
            command, options = cli.commands[first], words[1:]
            while isinstance(command, click.Group) and options and options[0] in command.commands:
                command, options = command.commands[options[0]], options[1:]
            if command is cli.commands["export"] and options:
                exporter = _installed_exporter(options[0])
                if exporter is None:  # its plugin is not installed here: its own suite checks its page
                    continue
                command, options = exporter, options[1:]
        names = _option_names(command) | (group_options if command is cli else set())
        for word in options:
            for option in re.findall(r"(?<![\w])(--?[A-Za-z][\w-]*)", word):
                assert option in names, f"{page.name}: 'orchestrator {' '.join(words)}': no option {option}"


def test_cli_page_shows_commands() -> None:
    assert len(shown_command_lines(CLI_PAGE)) >= len(cli.commands)


def _leaf_commands(group: click.Group, prefix: str = "") -> dict[str, click.Command]:
    """Every runnable command by its full name (``new plugin`` for a command inside a group)."""
    found: dict[str, click.Command] = {}
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found.update(_leaf_commands(command, f"{prefix}{name} "))
        else:
            found[f"{prefix}{name}"] = command
    return found


@pytest.mark.parametrize("name", sorted(_leaf_commands(cli)))
def test_every_command_has_a_section_listing_exactly_its_options(name: str) -> None:
    documented_sections = sections(CLI_PAGE.read_text(encoding="utf-8"), "##")
    heading = f"orchestrator {name}"
    assert heading in documented_sections, f"cli.md has no '## {heading}' section"
    command = _leaf_commands(cli)[name]
    documented = set()
    for row in table_rows(documented_sections[heading], "option"):
        documented.update(re.findall(r"(?<![\w])(--?[A-Za-z][\w-]*)", row[0]))
    real = _option_names(command) - {"--help", "-h"}
    assert documented == real, f"## {heading}: documented {sorted(documented)}, real {sorted(real)}"


def test_global_options_are_documented() -> None:
    text = sections(CLI_PAGE.read_text(encoding="utf-8"), "##").get("Global options", "")
    documented = {o for row in table_rows(text, "option") for o in re.findall(r"(?<![\w])(--?[A-Za-z][\w-]*)", row[0])}
    assert documented == _option_names(cli)


def test_documented_event_kinds_are_the_engine_events() -> None:
    import orchestrator.events as events

    kinds_in_source = {kind.value for kind in events.Kind}
    text = sections(CLI_PAGE.read_text(encoding="utf-8"), "###").get("JSON events", "")
    documented = {first_code(row[0]) for row in table_rows(text, "`kind`")}
    assert documented == kinds_in_source | {"summary"}
