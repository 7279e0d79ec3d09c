"""Run inside the Airflow adapter's own venv (``.ci/engine-venv``) by :mod:`bench.engine_figures`:
``python airflow_dag_test.py WORKDIR PIPELINES ROUNDS`` prints, as one JSON object, the seconds of
each round of three things, interleaved round by round:

- ``ours``: ``dag.test()`` of the DAG ``pipeline_dag`` builds from a file of PIPELINES independent
  trivial pipelines (a task per pipeline, each running it through the core);
- ``noop``: ``dag.test()`` of a DAG of PIPELINES of Airflow's own no-op tasks (a ``PythonOperator``
  whose callable returns None), the cost of a task to Airflow itself;
- ``core``: the same PIPELINES pipelines run one at a time with ``orchestrator.run(...,
  only=True)``, as each task runs its pipeline, without Airflow.

Setting up the Airflow home (``airflow db migrate``) and a discarded first round are not timed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

CONFIG = """
pipelines:
{pipelines}
"""
PIPELINE = """  p{index}:
    type: ETL
    phases:
      extract: {{steps: [{{plugin: python.call, args: {{callable: "rows:rows"}}}}]}}
      load: {{steps: [{{plugin: jsonl.write, args: {{path: out/p{index}.jsonl}}}}]}}
"""
OURS_DAG = "from orchestrator_plugin_airflow import pipeline_dag\n\ndag = pipeline_dag({config!r}, dag_id='bench_ours')\n"
NOOP_DAG = """from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG

with DAG("bench_noop", schedule=None) as dag:
    for index in range({count}):
        PythonOperator(task_id=f"noop{{index}}", python_callable=lambda: None)
"""


def main() -> None:
    work, count, rounds = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    home, dags, project = work / "airflow-home", work / "dags", work / "project"
    for folder in (home, dags, project):
        folder.mkdir(parents=True, exist_ok=True)
    config = project / "pipeline.yaml"
    config.write_text(CONFIG.format(pipelines="".join(PIPELINE.format(index=i) for i in range(count))))
    (project / "rows.py").write_text("def rows():\n    return [{'n': n} for n in range(10)]\n")
    (dags / "bench_ours.py").write_text(OURS_DAG.format(config=str(config)))
    (dags / "bench_noop.py").write_text(NOOP_DAG.format(count=count))
    os.environ.update({
        "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(dags), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
    })
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True)

    import runpy

    import orchestrator

    ours = runpy.run_path(str(dags / "bench_ours.py"))["dag"]
    noop = runpy.run_path(str(dags / "bench_noop.py"))["dag"]
    names = [f"p{i}" for i in range(count)]

    def core() -> None:
        for name in names:
            if not orchestrator.run(config, pipelines=[name], only=True).ok:
                raise SystemExit(f"pipeline {name} failed")

    def dag_test(dag) -> None:  # type: ignore[no-untyped-def]
        run = dag.test()
        if str(run.state) != "success":
            raise SystemExit(f"{dag.dag_id}: {run.state}")

    calls = {"ours": lambda: dag_test(ours), "noop": lambda: dag_test(noop), "core": core}
    seconds: dict[str, list[float]] = {name: [] for name in calls}
    for round_number in range(rounds + 1):
        for name, call in calls.items():
            started = time.perf_counter()
            call()
            if round_number:  # the first round warms imports and caches
                seconds[name].append(time.perf_counter() - started)
    print(json.dumps(seconds))


main()
