"""docs/engines/dagster.md keeps its promises: its files, written out as they are on the page, run
as the page says (the job once, then one asset with a parameter), and the scheduled pipeline has
the schedule the page describes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.testing.adapters import REPO, assert_rates_example_landed, run_page_commands, write_page_files

PAGE = REPO / "docs" / "engines" / "dagster.md"


@pytest.fixture
def page_files(tmp_path: Path) -> Path:
    assert write_page_files(PAGE, tmp_path) == ["definitions.py", "pipeline.yaml", "rates.py"]
    return tmp_path


def test_the_example_runs_as_the_page_says(page_files: Path) -> None:
    assert len(run_page_commands(PAGE, page_files)) == 2
    assert_rates_example_landed(page_files)


def test_the_scheduled_pipeline_has_the_schedule_the_page_describes(page_files: Path) -> None:
    shown = subprocess.run(
        [sys.executable, "-c", (
            "from definitions import defs\n"
            "s = defs.resolve_schedule_def('prices_schedule')\n"
            "print(s.cron_schedule, s.execution_timezone, s.job_name, sep='|')\n"
        )], cwd=page_files, check=True, capture_output=True, text=True, timeout=240,
    ).stdout.strip()
    assert shown == "0 6 * * *|Europe/Paris|prices_job"
