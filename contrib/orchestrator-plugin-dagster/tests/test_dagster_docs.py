"""docs/engines/dagster.md keeps its promises: its files, written out as they are on the page, run
as the page says (the job once, then one asset with a parameter), and the scheduled pipeline has
the schedule the page describes."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

PAGE = REPO / "docs" / "engines" / "dagster.md"
TITLED = re.compile(r'^```(\w+) title="([^"]+)"\n(.*?)^```$', re.MULTILINE | re.DOTALL)
COMMAND = re.compile(r'^python -c "(.*)"$', re.MULTILINE)


@pytest.fixture
def page_files(tmp_path: Path) -> Path:
    for _, name, text in TITLED.findall(PAGE.read_text(encoding="utf-8")):
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def test_the_page_shows_the_files_the_example_needs(page_files: Path) -> None:
    assert sorted(path.name for path in page_files.iterdir()) == ["definitions.py", "pipeline.yaml", "rates.py"]


def test_the_example_runs_as_the_page_says(page_files: Path) -> None:
    commands = COMMAND.findall(PAGE.read_text(encoding="utf-8"))
    assert len(commands) == 2
    for code in commands:
        done = subprocess.run([sys.executable, "-c", code], cwd=page_files, capture_output=True, text=True, timeout=240, check=False)
        assert done.returncode == 0, done.stderr[-3000:]
    with sqlite3.connect(page_files / "out" / "warehouse.db") as db:
        assert db.execute("SELECT currency, price_of_100_eur FROM prices ORDER BY currency").fetchall() == [
            ("GBP", 85.0), ("USD", 108.0),
        ]
    with sqlite3.connect(page_files / "out" / "other.db") as db:
        assert db.execute("SELECT COUNT(*) FROM rates").fetchone() == (2,)
        assert db.execute("SELECT name FROM sqlite_master WHERE name = 'prices'").fetchall() == []


def test_the_scheduled_pipeline_has_the_schedule_the_page_describes(page_files: Path) -> None:
    shown = subprocess.run(
        [sys.executable, "-c", (
            "from definitions import defs\n"
            "s = defs.resolve_schedule_def('prices_schedule')\n"
            "print(s.cron_schedule, s.execution_timezone, s.job_name, sep='|')\n"
        )], cwd=page_files, check=True, capture_output=True, text=True, timeout=240,
    ).stdout.strip()
    assert shown == "0 6 * * *|Europe/Paris|prices_job"
