"""15: what running pipelines as the tasks of another engine costs. On Airflow, ``dag.test()`` of the
DAG ``orchestrator_plugin_airflow.pipeline_dag`` builds (a task per pipeline), against the same
pipelines run by the core alone (``orchestrator.run(..., only=True)``, one call per pipeline, as the
tasks do), beside Airflow's own no-op task measured in the same run.

The Airflow adapter runs in a venv of its own (its dependency tree is Airflow's), built once by
``.ci/engine-venv`` and cached as ``make test`` caches it (untimed); the measured rounds run in that
venv, in one process (:mod:`bench.engines.airflow_dag_test`), interleaved round by round.
"""

from __future__ import annotations

import json
import statistics
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from bench.environment import BENCH_DIR, REPO, SetupError
from bench.report import Row, Target

if TYPE_CHECKING:
    from bench.harness import Bench

#: independent trivial pipelines in the DAG (10 rows each: python.call -> jsonl.write)
PIPELINES = 8
AIRFLOW_PROJECT = "contrib/orchestrator-plugin-airflow"


def airflow_tasks(bench: Bench) -> list[Row]:
    venv = _engine_venv(AIRFLOW_PROJECT)
    work = bench.workspace.root / "airflow-tasks"
    done = subprocess.run(
        [str(venv / "bin" / "python"), str(BENCH_DIR / "engines" / "airflow_dag_test.py"), str(work), str(PIPELINES), str(bench.reps(7, 3))],
        capture_output=True, text=True, check=False, env={**bench.env, "ORCHESTRATOR_LOAD_PLUGINS": "builtin,airflow"},
    )
    if done.returncode != 0:
        raise SetupError(f"the Airflow rounds failed: {done.stderr[-2000:]}")
    seconds = json.loads(done.stdout.strip().splitlines()[-1])
    ours, noop, core = (statistics.median(seconds[name]) / PIPELINES for name in ("ours", "noop", "core"))
    note = (
        f"`dag.test()` of the DAG pipeline_dag builds from a file of {PIPELINES} independent pipelines (python.call -> "
        "jsonl.write of 10 rows, history on), per task; the same pipelines run by the core alone with "
        "`orchestrator.run(path, pipelines=[p], only=True)`, one call each as the tasks make them; Airflow's own no-op "
        f"task (a PythonOperator returning None) in a DAG of {PIPELINES}, per task. The overhead row is (task - core): "
        "what running a pipeline as an Airflow task adds, against what Airflow charges for any task. Both dag.test() "
        "rows include Airflow's per-run cost shared by their tasks. Airflow 3 in the adapter's own venv; medians of "
        "interleaved rounds, the first discarded."
    )
    samples = {name: {"seconds": values} for name, values in seconds.items()}
    return [
        Row("15", "airflow dag.test(): time per pipeline task", "s", ours, core, "orchestrator.run of the pipeline",
            None, note, samples),
        Row("15", "airflow dag.test(): overhead per pipeline task", "s", ours - core, noop, "Airflow's no-op task",
            Target(1.1, "ratio"), note),
    ]


def _engine_venv(project: str) -> Path:
    """The engine's venv, as ``make test`` builds and caches it."""
    done = subprocess.run(["bash", str(REPO / ".ci" / "engine-venv"), project], capture_output=True, text=True, check=False, cwd=REPO)
    if done.returncode != 0:
        raise SetupError(f".ci/engine-venv {project} failed: {done.stderr[-2000:]}")
    return Path(done.stdout.strip())
