"""docs/plugins/contrib/sql.md is kept honest: its configs validate, its example runs against a
real PostgreSQL through the installed CLI, its outputs are what the CLI prints, and its args tables
list exactly the arguments each step's schema declares.

The page follows the conventions of the core's docs: a block titled ``title="path"`` is that file,
and ``<!-- test: ... -->`` comments above a block say how to use it (``run``, ``invalid``,
``output of COMMAND``)."""

from __future__ import annotations

import re
import shlex
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from orchestrator.config.plan import load_plan
from orchestrator.errors import ConfigError
from orchestrator.plugins.discovery import Plugins
from sql_helpers import Backend, cli

PAGE = Path(__file__).resolve().parents[3] / "docs" / "plugins" / "contrib" / "sql.md"
MARKER = re.compile(r"^<!--\s*test:\s*(.*?)\s*-->$")


@dataclass
class Block:
    line: int
    info: str
    body: str
    markers: list[str] = field(default_factory=list)

    @property
    def title(self) -> str | None:
        match = re.search(r'title="([^"]+)"', self.info)
        return match.group(1) if match else None

    @property
    def is_config(self) -> bool:
        if self.info.split()[:1] != ["yaml"]:
            return False
        data = yaml.safe_load(self.body)
        return isinstance(data, dict) and "pipelines" in data


def blocks() -> list[Block]:
    found: list[Block] = []
    pending: list[str] = []
    lines = PAGE.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if marker := MARKER.match(line.strip()):
            pending.append(marker.group(1))
        elif line.startswith("```"):
            start, body = index + 1, []
            index += 1
            while not lines[index].startswith("```"):
                body.append(lines[index])
                index += 1
            found.append(Block(start, line[3:].strip(), "\n".join(body) + "\n", pending))
            pending = []
        elif line.strip():
            pending = []
        index += 1
    return found


def configs() -> list[Block]:
    return [b for b in blocks() if b.is_config]


@pytest.fixture
def page_dir(tmp_path: Path) -> Path:
    """Every titled block of the page, written as the file it names."""
    for block in blocks():
        if block.title:
            (tmp_path / block.title).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / block.title).write_text(block.body, encoding="utf-8")
    return tmp_path


def test_sql_docs_page_has_a_runnable_elt_example_into_postgresql() -> None:
    ran = [b for b in configs() if "run" in b.markers]
    assert len(ran) == 1
    pipelines = yaml.safe_load(ran[0].body)["pipelines"]
    assert "ELT" in {p["type"] for p in pipelines.values()}
    assert "${PG_URL}" in ran[0].body
    unmarked = [b.line for b in configs() if not {"run", "invalid"} & set(b.markers)]
    assert not unmarked, f"configs at lines {unmarked} are neither run nor shown as invalid"


@pytest.mark.parametrize("block", configs(), ids=lambda b: f"line {b.line}")
def test_sql_docs_every_config_validates(block: Block, page_dir: Path, plugins: Plugins, pg: Backend) -> None:
    path = page_dir / (block.title or f"config-{block.line}.yaml")
    path.write_text(block.body, encoding="utf-8")
    env = {"PG_URL": pg.url}
    if "invalid" in block.markers:
        with pytest.raises(ConfigError):
            load_plan(path, plugins.registry, env=env)
    else:
        load_plan(path, plugins.registry, env=env)


def test_sql_docs_example_runs_against_postgresql_through_the_cli_and_can_run_again(page_dir: Path, pg: Backend) -> None:
    (config,) = [b for b in configs() if "run" in b.markers]
    assert config.title
    for attempt in (1, 2):
        done = cli("run", config.title, env={"PG_URL": pg.url}, cwd=page_dir)
        assert done.returncode == 0, f"run {attempt}:\n{done.stdout}\n{done.stderr}"
        assert pg.fetch("SELECT COUNT(*) FROM raw_orders") == [(6,)]
        assert [(str(day), orders, str(revenue)) for day, orders, revenue in pg.fetch("SELECT * FROM daily_revenue ORDER BY day")] == [
            ("2026-03-01", 2, "200.50"), ("2026-03-02", 1, "42.00"), ("2026-03-03", 2, "410.00"),
        ]
        with sqlite3.connect(page_dir / "out" / "report.db") as report:
            assert report.execute("SELECT day, orders, revenue FROM big_days ORDER BY day").fetchall() == [
                ("2026-03-01", 2, 200.5), ("2026-03-03", 2, 410.0),
            ]


def test_sql_docs_outputs_are_what_the_cli_prints(page_dir: Path, pg: Backend) -> None:
    shown = [(b, m[len("output of "):]) for b in blocks() for m in b.markers if m.startswith("output of ")]
    assert shown
    for block, command in shown:
        argv = shlex.split(command)
        assert argv[0] == "orchestrator"
        done = cli(*argv[1:], env={"PG_URL": pg.url}, cwd=page_dir)
        assert (done.stdout + done.stderr).rstrip() == block.body.rstrip(), f"line {block.line}: `{command}` prints\n{done.stdout}{done.stderr}"


@pytest.mark.parametrize(("step", "phase"), [("sql.query", "extract"), ("sql.write", "load"), ("sql.execute", "transform_at_load")])
def test_sql_docs_args_table_lists_exactly_the_schema_args(step: str, phase: str, plugins: Plugins) -> None:
    text = PAGE.read_text(encoding="utf-8")
    section = re.search(rf"^## {re.escape(step)}\n(.*?)(?=^## )", text, re.MULTILINE | re.DOTALL)
    assert section, f"no '## {step}' section"
    table = re.search(r"^\| arg \|.*\n\|[-| ]+\n((?:\|.*\n)+)", section.group(1), re.MULTILINE)
    assert table, f"'## {step}' has no '| arg |' table"
    documented = re.findall(r"^\| `(\w+)` \|", table.group(1), re.MULTILINE)
    entry = plugins.registry.get(phase, step)
    assert entry is not None and entry.schema is not None
    assert documented == list(entry.schema["properties"])
