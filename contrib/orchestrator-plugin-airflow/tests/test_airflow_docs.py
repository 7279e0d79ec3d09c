"""docs/engines/airflow.md is kept true: its command line writes the DAG file the page shows, its
option table is the command's, and that DAG runs on Airflow with the page's pipeline file."""

from __future__ import annotations

import re
import shlex
import sqlite3
import subprocess
import sys
from pathlib import Path

from conftest import LOAD_PLUGINS

BIN = Path(sys.executable).parent
PAGE = Path(__file__).resolve().parents[3] / "docs" / "engines" / "airflow.md"
BLOCK = re.compile(r"^```(\w*)(?: title=\"([^\"]+)\")?\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks() -> list[tuple[str, str | None, str]]:
    return [(m.group(1), m.group(2), m.group(3)) for m in BLOCK.finditer(PAGE.read_text(encoding="utf-8"))]


def write_files(into: Path) -> dict[str, str]:
    files = {title: body for _, title, body in blocks() if title}
    for title, body in files.items():
        (into / title).parent.mkdir(parents=True, exist_ok=True)
        (into / title).write_text(body, encoding="utf-8")
    return files


def shown_exports() -> list[list[str]]:
    lines = [line for lang, _, body in blocks() if lang == "sh" for line in body.splitlines()]
    return [shlex.split(line.split("#")[0]) for line in lines if line.startswith("orchestrator export airflow")]


def test_the_command_line_writes_the_dag_file_the_page_shows(tmp_path: Path) -> None:
    files = write_files(tmp_path)
    (tmp_path / "dags" / "sales.py").unlink()
    (command,) = shown_exports()
    done = subprocess.run(
        [str(BIN / "orchestrator"), *command[1:]], cwd=tmp_path, capture_output=True, text=True,
        env={"ORCHESTRATOR_LOAD_PLUGINS": LOAD_PLUGINS, "PATH": f"{BIN}:/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "dags" / "sales.py").read_text() == files["dags/sales.py"]


def test_the_option_table_is_the_commands() -> None:
    from orchestrator_plugin_airflow.export import command

    section = PAGE.read_text(encoding="utf-8").split("## orchestrator export airflow", 1)[1].split("\n## ", 1)[0]
    documented = {option for row in section.splitlines() if row.startswith("| `") for option in re.findall(r"`(--?[\w-]+)", row.split("|")[1])}
    real = {option for parameter in command.params for option in parameter.opts if option.startswith("-")} - {"--help"}
    assert documented == real


def test_the_pages_dag_runs_on_airflow(dag_test, tmp_path: Path) -> None:
    files = write_files(tmp_path)
    ran = dag_test(files["dags/sales.py"], logical_date="2026-11-03T01:00:00+00:00")
    assert ran["state"] == "success", ran["log"][-4000:]
    assert set(ran["tasks"]) == {"orders", "daily_totals"}
    with sqlite3.connect(tmp_path / "out" / "warehouse.db") as db:
        assert db.execute("SELECT day, total FROM daily_totals").fetchall() == [("2026-11-03", 20.0)]
