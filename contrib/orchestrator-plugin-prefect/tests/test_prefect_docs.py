"""docs/engines/prefect.md keeps its promises: its files, written out as they are on the page, run
as the page says (the flow once, then one pipeline with a parameter), and serve() would put the
scheduled pipeline on the schedule the page describes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from prefect.client.schemas.schedules import CronSchedule

from orchestrator.testing.adapters import REPO, assert_rates_example_landed, run_page_commands, write_page_files

PAGE = REPO / "docs" / "engines" / "prefect.md"


@pytest.fixture
def page_files(tmp_path: Path) -> Path:
    assert write_page_files(PAGE, tmp_path) == ["flows.py", "pipeline.yaml", "rates.py"]
    return tmp_path


def test_the_example_runs_as_the_page_says(page_files: Path) -> None:
    assert len(run_page_commands(PAGE, page_files)) == 2
    assert_rates_example_landed(page_files)


def test_serve_would_put_the_scheduled_pipeline_on_its_schedule(page_files: Path) -> None:
    shown = subprocess.run(
        [sys.executable, "-c", (
            "from flows import flow\nfrom orchestrator_plugin_prefect.deploy import deployments\n"
            "for d in deployments(flow):\n"
            "    (s,) = d.schedules\n"
            "    print(d.name, d.entrypoint, s.parameters, d.concurrency_limit, s.schedule.model_dump_json(), sep='|')\n"
        )], cwd=page_files, check=True, capture_output=True, text=True, timeout=240,
    ).stdout.strip()
    name, entrypoint, parameters, limit, schedule = shown.split("|")
    assert (name, entrypoint, parameters, limit) == ("prices", "flows.py:flow", "{'pipelines': ['prices']}", "1")
    assert CronSchedule.model_validate_json(schedule) == CronSchedule(cron="0 6 * * *", timezone="Europe/Paris")
