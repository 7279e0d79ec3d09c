"""The registry of figures: :data:`FIGURES` lists every figure by the name ``--only`` takes, in the
order the table shows them.

Each figure is a function from the shared :class:`~bench.harness.Bench` to table rows, defined in
the module of what it measures (start-up, steps, config, executors, run state, peers, ...).
Whole-process figures run the ``orchestrator`` console script as a user would, with stdout to
/dev/null (so the plain-line reporter is used, as when piped to a log); in-process figures time the
core's Python API.
"""

from __future__ import annotations

from collections.abc import Callable

from bench.arrow_figures import arrow_parquet
from bench.config_figures import config_load
from bench.engine_figures import airflow_tasks
from bench.engine_figures_prefdag import engine_overhead_dagster, engine_overhead_prefect
from bench.executor_figures import dag_pipelines, process_cpu
from bench.handoff_figures import handoff_rows
from bench.harness import Bench
from bench.history_growth import history_100k
from bench.language_figures import foreach_instances
from bench.peer_figures import cold_start, csv_rows, csv_to_sqlite, many_pipelines, sleeps
from bench.report import Row
from bench.serve_figures import serve_api
from bench.startup_figures import many_plugins, version
from bench.state_figures import resume_time, state_overhead
from bench.step_figures import step_overhead
from bench.telemetry_figures import telemetry
from bench.telemetry_tracing import tracing_overhead
from bench.template_figures import config_templates
from bench.ui_figures import ui_dag

#: Every figure by the name ``--only`` takes, in the order the table shows them.
FIGURES: dict[str, Callable[[Bench], list[Row]]] = {
    "cold-start": cold_start,
    "version": version,
    "step-overhead": step_overhead,
    "config-load": config_load,
    "config-templates": config_templates,
    "sleep-5000": sleeps,
    "pipelines-1000": many_pipelines,
    "csv-1m": csv_rows,
    "csv-sqlite": csv_to_sqlite,
    "arrow-10m": arrow_parquet,
    "plugins-53": many_plugins,
    "dag-1000": dag_pipelines,
    "process-cpu": process_cpu,
    "state-overhead": state_overhead,
    "resume-10k": resume_time,
    "history-100k": history_100k,
    "telemetry": telemetry,
    "foreach-10k": foreach_instances,
    "handoff-1m": handoff_rows,
    "serve-api": serve_api,
    "tracing": tracing_overhead,
    "ui-dag-1000": ui_dag,
    "airflow-tasks": airflow_tasks,
    "engine-prefect": engine_overhead_prefect,
    "engine-dagster": engine_overhead_dagster,
}
