"""The file's schedules as Prefect deployments, checked on the objects ``serve()`` would hand
to Prefect (serving itself needs a Prefect server, which these tests do not start): one
deployment per scheduled pipeline, the schedule, its parameters, its concurrency, and an
entrypoint that Prefect can load the flow from. What Prefect cannot serve is refused."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import pytest
from orchestrator_plugin_prefect import deployment, pipeline_flow
from orchestrator_plugin_prefect.deploy import deployments
from orchestrator_plugin_prefect.flow import data_interval
from prefect.client.schemas.objects import ConcurrencyLimitStrategy
from prefect.client.schemas.schedules import CronSchedule, IntervalSchedule
from prefect.flows import load_flow_from_entrypoint

from orchestrator.adapters import read_shape
from orchestrator.errors import ConfigError


@pytest.fixture
def flows_module(project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """project/flows.py imported as a module of its own, the working directory beside it."""
    monkeypatch.chdir(project)
    spec = importlib.util.spec_from_file_location("flows", project / "flows.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["flows"] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules["flows"]


def test_each_scheduled_pipeline_is_a_deployment_on_its_schedule(flows_module: ModuleType) -> None:
    made = {d.name: d for d in deployments(flows_module.flow)}

    assert sorted(made) == ["daily_sales", "rates"]  # by_hand has no schedule
    daily = made["daily_sales"]
    (schedule,) = daily.schedules
    assert schedule.schedule == CronSchedule(cron="0 2 * * *", timezone="Europe/Berlin")
    assert schedule.parameters == {"pipelines": ["daily_sales"]}
    assert daily.concurrency_options.collision_strategy == ConcurrencyLimitStrategy.CANCEL_NEW  # overlap: skip
    assert daily.concurrency_limit == 1
    rates = made["rates"]
    (schedule,) = rates.schedules
    assert isinstance(schedule.schedule, IntervalSchedule)
    assert schedule.schedule.interval == timedelta(minutes=15)
    assert schedule.schedule.anchor_date == datetime(2026, 11, 1, 0, 5, tzinfo=UTC)
    assert rates.concurrency_options.collision_strategy == ConcurrencyLimitStrategy.ENQUEUE  # overlap: queue


def test_a_deployment_names_an_entrypoint_prefect_loads_the_flow_from(flows_module: ModuleType) -> None:
    made = deployment(flows_module.flow, "daily_sales")

    assert made.entrypoint == "flows.py:flow"
    loaded = load_flow_from_entrypoint(made.entrypoint)
    assert loaded.name == "scheduled"
    assert set(loaded.parameters.properties) == {"pipelines"}


def test_a_flow_not_held_by_a_module_level_name_needs_an_entrypoint(project: Path) -> None:
    flow = pipeline_flow(project / "scheduled.yaml")
    with pytest.raises(ValueError, match="assign the flow to a module-level name"):
        deployment(flow, "daily_sales")
    assert deployment(flow, "daily_sales", entrypoint="flows.py:flow").entrypoint == "flows.py:flow"


def test_a_pipeline_without_a_schedule_has_no_deployment(flows_module: ModuleType) -> None:
    with pytest.raises(ValueError, match=r"pipeline 'by_hand' of scheduled.yaml has no schedule: \(scheduled: rates, daily_sales\)"):
        deployment(flows_module.flow, "by_hand")


def test_a_scheduled_run_gets_the_data_interval_of_its_tick(project: Path) -> None:
    shape = read_shape(project / "scheduled.yaml")
    fired = datetime(2026, 11, 5, 1, 0, tzinfo=UTC)  # 02:00 in Berlin

    start, end = data_interval(shape, ["daily_sales"], fired)

    assert (start.isoformat(), end.isoformat()) == ("2026-11-04T02:00:00+01:00", "2026-11-05T02:00:00+01:00")
    assert data_interval(shape, ["by_hand"], fired) is None
    assert data_interval(shape, None, fired) is None


@pytest.mark.parametrize(
    ("schedule", "key", "why"),
    [
        ('{cron: "0 2 * * *", start: 2026-11-01}', "start", "Prefect's cron schedules have no start"),
        ('{every: 1h, end: 2026-12-31}', "end", "Prefect's schedules have no end"),
        ('{every: 1h, catchup: all}', "catchup", "Prefect does not run the ticks its scheduler missed"),
        ('{every: 1h, overlap: cancel}', "overlap", "Prefect cannot cancel the running run"),
        ('{cron: "30 0 2 * * *"}', "cron", "Prefect's cron has no seconds field"),
    ],
)
def test_what_prefect_cannot_serve_is_refused_by_key(project: Path, schedule: str, key: str, why: str) -> None:
    file = project / "odd.yaml"
    file.write_text(
        "pipelines:\n  odd:\n    type: ETL\n    schedule: " + schedule + "\n    phases:\n"
        "      extract: {steps: [{plugin: python.call, args: {callable: 'steps:rows', kwargs: {name: odd}}}]}\n"
        "      load: {steps: [{plugin: jsonl.write, args: {path: out/odd.jsonl}}]}\n"
    )
    flow = pipeline_flow(file)
    with pytest.raises(ConfigError) as raised:
        deployment(flow, "odd", entrypoint="flows.py:flow")
    assert f"$.pipelines.odd.schedule.{key}: cannot be served by Prefect: {why}" in str(raised.value)
