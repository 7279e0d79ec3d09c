"""What the test suites of engine adapters share (Airflow, Prefect, Dagster, Argo): the small
pipeline project every engine runs (a pipeline that fails with one downstream and one unrelated
pipeline, a pipeline whose load fails once, pipelines whose ``retry: {on: [...]}`` retries one
error and not another, steps that count their calls), copies of the
quickstart, the core's history of a file, and the check of an engine's docs page (its titled files
written out, its ``python -c`` commands run, the rows they land).

A suite's conftest imports the fixtures it uses (``from orchestrator.testing.adapters import
write_config``); pytest registers a fixture imported into a conftest. Nothing here imports an engine.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

#: the repository's root (examples/, docs/), for suites run from a checkout
REPO = Path(__file__).resolve().parents[3]
#: the shared test project: failing.yaml, retried.yaml, retry_on.yaml and their steps.py
ENGINE_PROJECT = Path(__file__).resolve().parent / "engine_project"

_TITLED = re.compile(r'^```(\w+) title="([^"]+)"\n(.*?)^```$', re.MULTILINE | re.DOTALL)
_COMMAND = re.compile(r'^python -c "(.*)"$', re.MULTILINE)


def copy_project(destination: Path, *extra: Path) -> Path:
    """The shared test project copied to ``destination``, with the files of each ``extra`` folder
    (a suite's own pipelines) on top; returns ``destination``."""
    shutil.copytree(ENGINE_PROJECT, destination, ignore=shutil.ignore_patterns("__pycache__", "calls"))
    for folder in extra:
        shutil.copytree(folder, destination, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    return destination


def copy_quickstart(destination: Path) -> Path:
    """A copy of examples/quickstart at ``destination``, without a previous run's output."""
    shutil.copytree(REPO / "examples" / "quickstart", destination, ignore=shutil.ignore_patterns("out", ".orchestrator"))
    return destination


def history(config: Path) -> dict[str, dict[str, Any]]:
    """The core's runs of ``config``, by run id, as ``orchestrator runs --json`` lists them."""
    out = subprocess.run(
        [sys.executable, "-m", "orchestrator", "runs", "--config", str(config), "--json"],
        check=True, capture_output=True, text=True,
    ).stdout
    return {run["run_id"]: run for run in json.loads(out)}


def calls(project: Path) -> dict[str, int]:
    """The calls the shared project's steps counted in ``project`` (a copy of it), by counter."""
    folder = project / "calls"
    return {file.name: int(file.read_text()) for file in sorted(folder.iterdir())} if folder.exists() else {}


def core_calls(config: Path, destination: Path) -> dict[str, int]:
    """The calls the steps make when the core runs ``config`` itself (``orchestrator run``, its
    pipelines' ``retry:`` carried out by the core), in a fresh copy of the shared project at
    ``destination``: what an engine's run of the same file must match, retry for retry."""
    copy = copy_project(destination)
    shutil.copy(config, copy / config.name)
    subprocess.run(
        [sys.executable, "-m", "orchestrator", "run", str(copy / config.name)],
        check=False, capture_output=True, cwd=copy,
    )  # a pipeline may fail: the calls its retries made are what is compared
    return calls(copy)


def listing_of(engine: str) -> tuple[list[str], str]:
    """What listing the plugins costs an adapter's engine, in a fresh process: the modules of the
    ``engine`` package that loading and listing the plugins imported (an adapter must import
    none), and what ``orchestrator plugins`` prints."""
    code = (
        "import json, sys\nfrom orchestrator.plugins.discovery import load_plugins\n"
        "from orchestrator.plugins.listing import listing\n"
        "listing(load_plugins().registry)\n"
        f"print(json.dumps(sorted(name for name in sys.modules if name.split('.')[0] == {engine!r})))\n"
    )
    imported = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    shown = subprocess.run([sys.executable, "-m", "orchestrator", "plugins"], capture_output=True, text=True, check=True).stdout
    return json.loads(imported.strip().splitlines()[-1]), shown


def write_page_files(page: Path, destination: Path) -> list[str]:
    """Write every titled code block of a docs page (```` ```yaml title="pipeline.yaml" ````)
    into ``destination`` as the file it names; return the names, sorted."""
    names = []
    for _, name, text in _TITLED.findall(page.read_text(encoding="utf-8")):
        (destination / name).write_text(text, encoding="utf-8")
        names.append(name)
    return sorted(names)


def run_page_commands(page: Path, cwd: Path, timeout: float = 240) -> list[str]:
    """Run each ``python -c "..."`` line of a docs page in ``cwd``, as a reader would, failing the
    test with the command's error output when one fails; return the commands run."""
    commands = _COMMAND.findall(page.read_text(encoding="utf-8"))
    for code in commands:
        done = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
        assert done.returncode == 0, done.stderr[-3000:]
    return commands


def assert_rates_example_landed(folder: Path) -> None:
    """What the engine pages' example lands when run as the pages say (the whole file once, then
    the ``rates`` pipeline alone into another warehouse): the prices in ``out/warehouse.db``, the
    rates alone in ``out/other.db``."""
    with sqlite3.connect(folder / "out" / "warehouse.db") as db:
        assert db.execute("SELECT currency, price_of_100_eur FROM prices ORDER BY currency").fetchall() == [
            ("GBP", 85.0), ("USD", 108.0),
        ]
    with sqlite3.connect(folder / "out" / "other.db") as db:
        assert db.execute("SELECT COUNT(*) FROM rates").fetchone() == (2,)
        assert db.execute("SELECT name FROM sqlite_master WHERE name = 'prices'").fetchall() == []


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """Write a (dedented) pipeline file, and side files, into a fresh project folder."""

    def write(text: str, name: str = "pipeline.yaml", **files: str) -> Path:
        project = tmp_path / "project"
        project.mkdir(exist_ok=True)
        for file_name, content in files.items():
            (project / file_name).write_text(textwrap.dedent(content))
        path = project / name
        path.write_text(textwrap.dedent(text))
        return path

    return write


@pytest.fixture
def quickstart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of examples/quickstart; its warehouse goes where the file's default puts it."""
    monkeypatch.delenv("WAREHOUSE", raising=False)
    return copy_quickstart(tmp_path / "quickstart")
