"""A pipeline's ``schedule:`` and ``triggers:`` in a config: unquoted dates, the run's variables
(``${schedule.*}``, ``${trigger.path}``) and the schema ``orchestrator schema`` prints."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema  # type: ignore[import-untyped]

from helpers import cli
from orchestrator.config.plan import load_plan
from orchestrator.plugins.discovery import load_plugins

CONFIG = """\
pipelines:
  daily:
    type: ETL
    schedule: {cron: "0 2 * * *", timezone: Europe/Berlin, start: 2026-11-01, end: 2026-12-31 06:00:00}
    triggers:
      - file: {path: "in/*.csv"}
    phases:
      extract:
        steps:
          - plugin: csv.read
            args: {path: "${trigger.path}"}
      load:
        steps:
          - plugin: csv.write
            args: {path: "out/${schedule.logical_time}.csv"}
"""


def plan_of(tmp_path: Path, **variables: dict[str, str]):  # type: ignore[no-untyped-def]
    config = tmp_path / "daily.yaml"
    config.write_text(CONFIG)
    return load_plan(config, load_plugins({"ORCHESTRATOR_LOAD_PLUGINS": "builtin"}).registry, variables=variables or None)


def args(plan, phase: str):  # type: ignore[no-untyped-def]
    return plan.pipelines["daily"].phases[phase][0].args


def test_unquoted_dates_reach_the_plan_as_iso_text(tmp_path: Path) -> None:
    schedule = plan_of(tmp_path).pipelines["daily"].schedule
    assert schedule["start"] == "2026-11-01" and schedule["end"] == "2026-12-31T06:00:00"


def test_a_manual_run_gets_now_and_keeps_trigger_path_as_written(tmp_path: Path) -> None:
    before = datetime.now(UTC)
    plan = plan_of(tmp_path)
    logical = datetime.fromisoformat(args(plan, "load")["path"].removeprefix("out/").removesuffix(".csv"))
    assert before <= logical <= datetime.now(UTC)
    assert args(plan, "extract")["path"] == "${trigger.path}"


def test_the_scheduler_passes_the_tick_and_the_file(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, schedule={"logical_time": "2026-11-03T02:00:00+01:00"}, trigger={"path": "/data/in/a.csv"})
    assert args(plan, "load")["path"] == "out/2026-11-03T02:00:00+01:00.csv"
    assert args(plan, "extract")["path"] == "/data/in/a.csv"


def test_the_printed_schema_embeds_the_schedule_fragment(tmp_path: Path) -> None:
    out = tmp_path / "schema.json"
    assert cli("schema", "--output", str(out)).returncode == 0
    validator = jsonschema.Draft202012Validator(json.loads(out.read_text()))
    good = {"pipelines": {"p": {"type": "ETL", "schedule": {"every": "1h"}, "triggers": [{"file": {"path": "x"}}],
                                "phases": {"extract": {"steps": [{"plugin": "csv.read", "args": {"path": "a"}}]},
                                           "load": {"steps": [{"plugin": "csv.write", "args": {"path": "b"}}]}}}}}
    assert list(validator.iter_errors(good)) == []
    good["pipelines"]["p"]["schedule"] = {"every": "1h", "catchup": "sometimes"}
    assert [e.json_path for e in validator.iter_errors(good)] == ["$.pipelines.p.schedule.catchup"]
