"""What every run used, kept in its history: CPU time attributed to the step that spent it (a sync
step's thread, an async step's own resumptions on the loop), peak RSS (a worker's on ``process``),
bytes the steps reported, the estimated cost of the ``cost:`` model, and how ``runs show`` gives
them. Real runs of the ``orchestrator`` command, real SQLite histories."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from helpers import cli

STEPS = """
import asyncio
import time


def burn(rows, seconds=0.3):
    '''Spends ``seconds`` of this thread's CPU time.'''
    started = time.thread_time()
    while time.thread_time() - started < seconds:
        pass
    return rows


def idle(rows):
    time.sleep(0.3)
    return rows


async def burn_on_loop(seconds=0.3):
    await asyncio.sleep(0)
    started = time.thread_time()
    while time.thread_time() - started < seconds:
        pass
    return [{"n": 1}]


async def wait_on_loop():
    for _ in range(30):
        await asyncio.sleep(0.01)
    return [{"n": 2}]


attempts = []


def flaky(rows):
    burn(rows, 0.1)
    attempts.append(1)
    if len(attempts) == 1:
        raise ConnectionError("once")
    return rows
"""

SYNC = """
pipelines:
  numbers:
    type: ETL
    phases:
      extract: {steps: [{plugin: csv.read, args: {path: numbers.csv}}]}
      transform:
        steps:
          - {id: burn, plugin: python.call, args: {callable: "steps:burn"}}
          - {id: idle, plugin: python.call, args: {callable: "steps:idle"}}
      load: {steps: [{plugin: csv.write, args: {path: out/numbers.csv}}]}
"""

ASYNC = """
pipelines:
  side_by_side:
    type: ETL
    phases:
      extract:
        concurrency: 2
        steps:
          - {id: burner, plugin: python.call, args: {callable: "steps:burn_on_loop"}}
          - {id: waiter, plugin: python.call, args: {callable: "steps:wait_on_loop"}}
      load: {steps: [{plugin: jsonl.write, args: {path: out/both.jsonl}}]}
"""

RETRIED = """
pipelines:
  flaky:
    type: ETL
    phases:
      extract: {steps: [{plugin: csv.read, args: {path: numbers.csv}}]}
      transform:
        steps:
          - {id: flaky, plugin: python.call, args: {callable: "steps:flaky"}, retry: {attempts: 2, initial: 10ms}}
      load: {steps: [{plugin: jsonl.write, args: {path: out/flaky.jsonl}}]}
"""

COST = """
cost:
  currency: EUR
  cpu_hour: 36
  memory_gib_hour: 3.6
  per_run: 0.5
  executors:
    process: {cpu_hour: 72}
"""

NUMBERS = "n\n" + "".join(f"{n}\n" for n in range(100))


def _run(config: Path, *args: str, env: dict[str, str] | None = None) -> str:
    done = cli("run", str(config), "--json", *args, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    return str(json.loads(done.stdout.splitlines()[0])["run_id"])


def _show(config: Path, run_id: str) -> dict[str, Any]:
    done = cli("runs", "show", run_id, "--config", str(config), "--json")
    assert done.returncode == 0, done.stderr
    shown: dict[str, Any] = json.loads(done.stdout)
    return shown


def _step(shown: dict[str, Any], step: str, attempt: int = 1) -> dict[str, Any]:
    (row,) = [s for s in shown["steps"] if s["step"] == step and s["attempt"] == attempt]
    return row


def test_a_sync_step_is_charged_its_own_threads_cpu_and_the_files_bytes(write_config) -> None:
    config = write_config(SYNC, **{"steps.py": STEPS, "numbers.csv": NUMBERS})
    shown = _show(config, _run(config))
    burn, idle = _step(shown, "burn"), _step(shown, "idle")
    assert burn["cpu"] >= 0.3 and burn["cpu"] <= burn["elapsed"]
    assert idle["elapsed"] >= 0.3 and idle["cpu"] < 0.1, "sleeping is wall time, not CPU time"
    (pipeline,) = shown["pipelines"]
    assert pipeline["cpu"] == pytest.approx(sum(s["cpu"] for s in shown["steps"]))
    assert pipeline["rows"] == 100
    assert shown["run"]["cpu"] >= pipeline["cpu"], "the run's process did the steps' work and more"
    peaks = [row["rss"] for row in (*shown["steps"], pipeline)]
    assert all(peak > 10 * 2**20 for peak in peaks), "an interpreter holds more than 10 MiB"
    assert shown["run"]["rss"] >= max(peaks)
    (read,) = [s for s in shown["steps"] if s["plugin"] == "csv.read"]
    (written,) = [s for s in shown["steps"] if s["plugin"] == "csv.write"]
    assert read["bytes_read"] == len(NUMBERS) and read["bytes_written"] is None
    assert written["bytes_written"] == (config.parent / "out" / "numbers.csv").stat().st_size
    assert (pipeline["bytes_read"], pipeline["bytes_written"]) == (read["bytes_read"], written["bytes_written"])


def test_an_async_step_is_charged_its_own_resumptions_not_its_neighbours(write_config) -> None:
    """Both run on the loop's thread at once: the one that waits is not charged for the one that
    burns CPU while it waits."""
    config = write_config(ASYNC, **{"steps.py": STEPS})
    shown = _show(config, _run(config))
    burner, waiter = _step(shown, "burner"), _step(shown, "waiter")
    assert burner["cpu"] >= 0.3
    assert waiter["cpu"] < 0.1 and waiter["elapsed"] >= 0.3


def test_every_attempt_of_a_retried_step_keeps_what_it_used(write_config) -> None:
    config = write_config(RETRIED, **{"steps.py": STEPS, "numbers.csv": NUMBERS})
    shown = _show(config, _run(config))
    first, second = _step(shown, "flaky", 1), _step(shown, "flaky", 2)
    assert first["status"] == "failed" and second["status"] == "succeeded"
    assert 0.1 <= first["cpu"] < 0.2 and 0.1 <= second["cpu"] < 0.2, "each attempt is counted afresh"
    (pipeline,) = shown["pipelines"]
    assert pipeline["cpu"] >= first["cpu"] + second["cpu"]


def test_a_worker_process_reports_its_own_usage(write_config) -> None:
    config = write_config(SYNC, **{"steps.py": STEPS, "numbers.csv": NUMBERS})
    shown = _show(config, _run(config, "--executor", "process"))
    (pipeline,) = shown["pipelines"]
    assert _step(shown, "burn")["cpu"] >= 0.3 and pipeline["cpu"] >= 0.3
    assert pipeline["rss"] > 10 * 2**20
    # the run's process waited for its worker: the worker's CPU is in the run's
    assert shown["run"]["cpu"] >= pipeline["cpu"] and shown["run"]["rss"] >= pipeline["rss"]


@pytest.mark.parametrize("executor", ["local", "process"])
def test_the_cost_model_prices_steps_pipelines_and_runs_by_its_formula(write_config, executor: str) -> None:
    config = write_config(COST + SYNC, **{"steps.py": STEPS, "numbers.csv": NUMBERS})
    shown = _show(config, _run(config, "--executor", executor))
    cpu_hour = 72 if executor == "process" else 36
    for row in (*shown["steps"], *shown["pipelines"]):
        expected = (cpu_hour * row["cpu"] + 3.6 * row["rss"] / 2**30 * row["elapsed"]) / 3600
        assert row["cost"] == pytest.approx(expected), row
    (pipeline,) = shown["pipelines"]
    assert shown["run"]["cost"] == pytest.approx(0.5 + pipeline["cost"])
    assert shown["run"]["currency"] == "EUR"


def test_runs_show_gives_the_figures_beside_the_durations(write_config) -> None:
    config = write_config(COST + SYNC, **{"steps.py": STEPS, "numbers.csv": NUMBERS})
    run_id = _run(config)
    text = cli("runs", "show", run_id, "--config", str(config)).stdout
    lines = text.splitlines()
    assert lines[0].startswith(f"run {run_id} succeeded in ") and " EUR)" in lines[0] and "peak RSS " in lines[0]
    (pipeline_header,) = [line for line in lines if line.startswith("pipeline  status")]
    assert pipeline_header.split() == [
        "pipeline", "status", "attempts", "elapsed", "rows", "cpu", "peak", "rss", "rows/s", "read", "written", "cost", "error",
    ]
    (burn,) = [line for line in lines if line.split()[:3] == ["numbers", "transform", "burn"]]
    assert " MiB " in burn and burn.rstrip().endswith("EUR")
    (read,) = [line for line in lines if line.split()[:3] == ["numbers", "extract", "csv.read"]]
    assert f" {len(NUMBERS)} B " in read and "/s " in read


def test_accounting_off_leaves_the_figures_empty(write_config) -> None:
    config = write_config(COST + SYNC, **{"steps.py": STEPS, "numbers.csv": NUMBERS})
    shown = _show(config, _run(config, env={"ORCHESTRATOR_RESOURCE_ACCOUNTING": "off"}))
    for row in (shown["run"], *shown["pipelines"], *shown["steps"]):
        assert (row["cpu"], row["rss"], row["cost"]) == (None, None, None), row
    (read,) = [s for s in shown["steps"] if s["plugin"] == "csv.read"]
    assert read["bytes_read"] == len(NUMBERS), "bytes are what the step reported, not a measurement"
