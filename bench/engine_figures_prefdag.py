"""15, on Prefect and Dagster: what a pipeline costs as the engine's task, in process. A chain of
:data:`CHAIN` small pipelines runs as the engine's tasks (a Prefect flow, a Dagster job of assets),
against the same pipelines run by the core alone (``orchestrator.run(..., only=True)``, one call
each, as the tasks make them), beside as many of the engine's own no-op tasks chained the same
way. All three are timed round-robin in one process of the engine's own virtual environment, so
the rows compare like with like; the overhead row is the task's time less the core's.

Each engine lives in a virtual environment of its own (``bash .ci/engine-venv``), which the
harness's does not hold, so the figure function runs this module there as a script
(``python -m bench.engine_figures_prefdag ENGINE FOLDER REPS``) and reads back its samples as JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bench.environment import REPO
from bench.measure import Samples, time_calls
from bench.report import Row, Target

if TYPE_CHECKING:
    from bench.harness import Bench

#: the pipelines of the file, each depending on the one before
CHAIN = 10
ENGINES = {"prefect": "contrib/orchestrator-plugin-prefect", "dagster": "contrib/orchestrator-plugin-dagster"}

STEPS = '''\
def rows():
    return [{"id": n, "value": n * n} for n in range(100)]
'''


def chain_config(folder: Path) -> Path:
    """``chain.yaml``: :data:`CHAIN` pipelines (a python.call extract of 100 rows, a JSON Lines
    load), each depending on the one before, with the module they call."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "chain_steps.py").write_text(STEPS, encoding="utf-8")
    lines = ["pipelines:"]
    for index in range(CHAIN):
        lines += [
            f"  p{index}:",
            "    type: ETL",
            *([f"    depends_on: [p{index - 1}]"] if index else []),
            "    phases:",
            "      extract: {steps: [{plugin: python.call, args: {callable: 'chain_steps:rows'}}]}",
            f"      load: {{steps: [{{plugin: jsonl.write, args: {{path: out/p{index}.jsonl}}}}]}}",
        ]
    path = folder / "chain.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# -- in the engine's virtual environment ----------------------------------------------------------


def _core_runs(config: Path) -> Callable[[], None]:
    """Each pipeline of the chain run by the core alone, one ``orchestrator.run`` call each, in
    order, as the adapter's tasks call it (a new run each time)."""
    import orchestrator

    def run() -> None:
        for index in range(CHAIN):
            result = orchestrator.run(config, pipelines=[f"p{index}"], only=True, pipeline_retry=False)
            if not result.ok:
                raise RuntimeError(f"orchestrator.run failed: {[p.error for p in result.pipelines.values() if p.error]}")

    return run


def _prefect_calls(config: Path) -> dict[str, Callable[[], None]]:
    from orchestrator_plugin_prefect import pipeline_flow
    from prefect import flow, task

    pipelines = pipeline_flow(config)

    @task
    def nothing() -> None:
        return None

    @flow
    def no_ops() -> None:
        previous = None
        for _ in range(CHAIN):
            previous = nothing.submit(wait_for=[previous] if previous is not None else [])
        assert previous is not None
        previous.wait()

    def adapter() -> None:
        state = pipelines(return_state=True)
        if not state.is_completed():
            raise RuntimeError(f"the flow did not complete: {state.message}")

    return {"adapter": adapter, "no-op": lambda: no_ops(), "core": _core_runs(config)}


def _dagster_calls(config: Path) -> dict[str, Callable[[], None]]:
    import dagster as dg
    from orchestrator_plugin_dagster import definitions_from

    job = definitions_from(config).resolve_job_def(config.stem)
    keys = [dg.AssetKey(f"noop_{index}") for index in range(CHAIN)]

    def no_op(index: int) -> dg.AssetsDefinition:
        @dg.asset(key=keys[index], deps=[keys[index - 1]] if index else [])
        def _nothing() -> None:
            return None

        return _nothing

    no_ops = dg.Definitions(assets=[no_op(i) for i in range(CHAIN)], jobs=[dg.define_asset_job("no_ops")]).resolve_job_def("no_ops")

    def succeeded(job_def: dg.JobDefinition) -> Callable[[], None]:
        def run() -> None:
            if not job_def.execute_in_process().success:
                raise RuntimeError(f"{job_def.name} failed")

        return run

    return {"adapter": succeeded(job), "no-op": succeeded(no_ops), "core": _core_runs(config)}


def measure(engine: str, folder: Path, repetitions: int) -> dict[str, list[float]]:
    """Seconds per whole chain, for each of the three, in this process."""
    config = chain_config(folder)
    os.chdir(folder)
    calls = _prefect_calls(config) if engine == "prefect" else _dagster_calls(config)
    return {name: samples.seconds for name, samples in time_calls(calls, repetitions).items()}


# -- in the harness ---------------------------------------------------------------------------------


def _engine_rows(engine: str, figure: str, folder: Path, repetitions: int) -> list[Row]:
    venv = subprocess.run(
        ["bash", ".ci/engine-venv", ENGINES[engine]], cwd=REPO, check=True, capture_output=True, text=True,
    ).stdout.strip()
    with tempfile.TemporaryDirectory(prefix=f"bench-{engine}-home-") as home:
        env = {
            **os.environ, "PYTHONPATH": str(REPO), "PREFECT_HOME": home, "DAGSTER_HOME": home,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_LOGGING_LEVEL": "ERROR",
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
        }
        done = subprocess.run(
            [f"{venv}/bin/python", "-m", "bench.engine_figures_prefdag", engine, str(folder), str(repetitions)],
            cwd=REPO, env=env, check=True, capture_output=True, text=True,
        )
    seconds = json.loads(done.stdout.strip().splitlines()[-1])
    samples = {name: Samples(values) for name, values in seconds.items()}
    per = {name: s.median_seconds / CHAIN for name, s in samples.items()}
    unit_of_work = "task" if engine == "prefect" else "asset"
    note = (
        f"A chain of {CHAIN} ETL pipelines (a python.call extract of 100 rows, a JSON Lines load), each depending on "
        f"the one before, in process in the engine's own venv; median of the whole chain / {CHAIN}, the three "
        f"interleaved round by round. Ours: each pipeline a {engine} {unit_of_work} of the adapter. Core: the same "
        f"pipelines run by orchestrator.run(..., only=True), one call each, as the {unit_of_work}s make them. "
        f"Overhead: ours less core, beside {CHAIN} {engine} {unit_of_work}s that do nothing, chained the same way."
    )
    flat = {name: {"seconds": s.seconds} for name, s in samples.items()}
    return [
        Row(figure, f"{engine}: time per pipeline {unit_of_work}", "s", per["adapter"], per["core"],
            "orchestrator.run of the pipeline", None, note, flat),
        Row(figure, f"{engine}: overhead per pipeline {unit_of_work}", "s", per["adapter"] - per["core"], per["no-op"],
            f"{engine}'s no-op {unit_of_work}", Target(1.1, "ratio"), note),
    ]


def engine_overhead_prefect(bench: Bench) -> list[Row]:
    """Prefect flow of the chain beside Prefect no-op tasks and ``orchestrator.run``."""
    return _engine_rows("prefect", "15", bench.workspace.root / "engine-prefect", bench.reps(5, 2))


def engine_overhead_dagster(bench: Bench) -> list[Row]:
    """Dagster job of the chain beside Dagster no-op assets and ``orchestrator.run``."""
    return _engine_rows("dagster", "15", bench.workspace.root / "engine-dagster", bench.reps(5, 2))


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]))))
