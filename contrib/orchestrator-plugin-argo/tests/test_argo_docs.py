"""docs/engines/argo.md is kept true: its command line writes the manifest the page shows, its
option table is the command's, its Dockerfile puts the page's files where the manifest runs them,
and the manifest's command lines run the page's pipelines."""

from __future__ import annotations

import re
import shlex
import sqlite3
import uuid
from pathlib import Path

from test_argo_local_runs import containers_in_dag_order, export, run_in_pod

from conftest import cli

PAGE = Path(__file__).resolve().parents[3] / "docs" / "engines" / "argo.md"
BLOCK = re.compile(r"^```(\w*)(?: title=\"([^\"]+)\")?\n(.*?)^```", re.MULTILINE | re.DOTALL)
MANIFEST = "sales-workflow.yaml"


def blocks() -> list[tuple[str, str | None, str]]:
    return [(m.group(1), m.group(2), m.group(3)) for m in BLOCK.finditer(PAGE.read_text(encoding="utf-8"))]


def write_files(into: Path) -> dict[str, str]:
    files = {title: body for _, title, body in blocks() if title}
    for title, body in files.items():
        (into / title).write_text(body, encoding="utf-8")
    return files


def test_the_command_line_writes_the_manifest_the_page_shows(tmp_path: Path) -> None:
    files = write_files(tmp_path)
    (tmp_path / MANIFEST).unlink()
    lines = [line for lang, _, body in blocks() if lang == "sh" for line in body.splitlines() if line.startswith("orchestrator export argo")]
    (command,) = [shlex.split(line) for line in lines]
    done = cli(*command[1:], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / MANIFEST).read_text() == files[MANIFEST]


def test_the_option_table_is_the_commands() -> None:
    from orchestrator_plugin_argo.export import command

    section = PAGE.read_text(encoding="utf-8").split("## orchestrator export argo", 1)[1].split("\n## ", 1)[0]
    documented = {option for row in section.splitlines() if row.startswith("| `") for option in re.findall(r"`(--?[\w-]+)", row.split("|")[1])}
    real = {option for parameter in command.params for option in parameter.opts if option.startswith("-")} - {"--help"}
    assert documented == real


def test_the_dockerfile_puts_the_pages_files_where_the_manifest_runs_them() -> None:
    files = {title: body for _, title, body in blocks() if title}
    dockerfile = files["Dockerfile"]
    (workdir,) = re.findall(r"^WORKDIR (\S+)$", dockerfile, re.MULTILINE)
    assert f"workingDir: {workdir}\n" in files[MANIFEST]
    (copied,) = re.findall(r"^COPY (.+) \S+/$", dockerfile, re.MULTILINE)
    assert set(copied.split()) == set(files) - {"Dockerfile", MANIFEST}


def test_the_manifests_command_lines_run_the_pages_pipelines(tmp_path: Path) -> None:
    write_files(tmp_path)
    uid = str(uuid.uuid4())
    for _, container in containers_in_dag_order(export(tmp_path / "sales.yaml")):
        done = run_in_pod(container, uid)
        assert done.returncode == 0, done.stdout + done.stderr
    with sqlite3.connect(tmp_path / "out" / "warehouse.db") as db:
        assert db.execute("SELECT day, total FROM daily_totals").fetchall() == [("2026-11-03", 20.0)]
