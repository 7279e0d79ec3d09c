"""Executor figures: 1,000 trivial pipelines in a DAG on ``local`` and on ``dask``, beside raw
``client.submit`` of the same DAG on the same cluster (10), and CPU-bound pipelines on the
``process`` executor with 2 workers beside 1 (11).
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable

from bench.environment import DASK_PLUGIN_ENV
from bench.harness import US, Bench, engine_run, environment
from bench.measure import flatten, run_processes, time_calls
from bench.report import Row, Target
from orchestrator.config.plan import load_plan
from orchestrator.plugins.discovery import load_plugins


def _cpu_timed(cpu: dict[str, list[float]], name: str, function: Callable[[], object]) -> Callable[[], None]:
    """``function``, also keeping this process's CPU time of each call under ``name``."""

    def call() -> None:
        started = time.process_time()
        function()
        cpu.setdefault(name, []).append(time.process_time() - started)

    return call


def dag_pipelines(bench: Bench) -> list[Row]:
    """1,000 trivial pipelines in a DAG on ``local`` and on ``dask`` (a 2-worker LocalCluster
    started once, reached by address), against raw ``client.submit`` of the same DAG on the same
    cluster. In-process: the cluster's start-up is paid once, outside every timing."""
    from distributed import (  # installed with the contrib Dask plugin
        Client,
        LocalCluster,
    )

    from bench.baselines.dask_submit import binary_tree, submit_dag

    count = 1000
    parents = binary_tree(count)
    root = str(bench.workspace.root)
    if root not in sys.path:
        sys.path.insert(0, root)
    import dag_steps  # copied into the work dir by Workspace; workers import it through PYTHONPATH

    plugins = load_plugins(env=DASK_PLUGIN_ENV)
    local_plan = load_plan(bench.workspace.dag_config(parents), plugins.registry)
    reps = bench.reps(3, 1)
    with (
        environment(DASK_PLUGIN_ENV | {"PYTHONPATH": root}),
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0", silence_logs=40) as cluster,
        Client(cluster) as client,
    ):
        dask_plan = load_plan(bench.workspace.dag_config(parents, cluster.scheduler_address), plugins.registry)
        cpu: dict[str, list[float]] = {}
        samples = time_calls(
            {
                "local": engine_run(local_plan, plugins),
                "dask": _cpu_timed(cpu, "dask", engine_run(dask_plan, plugins)),
                "client.submit": _cpu_timed(cpu, "client.submit", lambda: submit_dag(client, parents, dag_steps.pipeline)),
            },
            reps,
        )
    per = {name: s.median_seconds / count * US for name, s in samples.items()}
    # this process's CPU (the client, and the LocalCluster's scheduler, which runs in it), warm-up left out
    per_cpu = {name: statistics.median(times[1:] or times) / count * US for name, times in cpu.items()}
    note = (
        "in-process: Engine(plan, plugins).run_sync() (discard event sink, so no events are relayed) of 1,000 "
        "pipelines in a binary-tree DAG (pI depends on p((I-1)//2), 10 levels), each python.call extract -> "
        "python.call load of the sync functions in bench/steps/dag_steps.py; / 1,000. 'dask' runs them on a "
        "LocalCluster of 2 single-threaded worker processes started once for the figure and given to the executor "
        "by address (start-up not timed); the executor hands Dask the whole DAG (parents' tasks as dependencies). "
        "Baseline: bench/baselines/dask_submit.py on the same cluster in the same "
        "run, client.submit of one task per pipeline calling the same extract and load, parents' futures passed as "
        "arguments, all submitted at once and gathered. Targets: wall time <= raw client.submit + 1 ms per pipeline; "
        "CPU of this process (client and scheduler) <= 1.5x raw client.submit's."
    )
    return [
        Row("10", "1000-pipeline DAG: dask, per pipeline", "us", per["dask"], per["client.submit"], "client.submit",
            Target(1000, "difference"), note, flatten(samples)),
        Row("10", "1000-pipeline DAG: dask, client CPU per pipeline", "us", per_cpu["dask"], per_cpu["client.submit"],
            "client.submit", Target(1.5, "ratio")),
        Row("10", "1000-pipeline DAG: local, per pipeline", "us", per["local"], per["client.submit"], "client.submit"),
    ]


def process_cpu(bench: Bench) -> list[Row]:
    """CPU-bound pure-Python pipelines on the ``process`` executor: 2 workers against 1, whole runs."""
    pipelines, loops = 8, 8_000_000
    configs = {workers: bench.workspace.cpu_config(pipelines, loops, workers) for workers in (1, 2)}
    samples = run_processes(
        {"workers: 2": bench.run(configs[2]), "workers: 1": bench.run(configs[1])}, bench.reps(3, 1), warmup=0
    )
    two, one = samples["workers: 2"], samples["workers: 1"]
    note = (
        f"`orchestrator run` of {pipelines} independent pipelines, each python.call extract -> python.call "
        f"bench/steps/cpu_steps.py:burn ({loops:,} iterations of pure-Python integer arithmetic, about 0.6 s of CPU) "
        "-> python.call load, on the process executor with workers: 2 (ours) and workers: 1 (baseline), whole "
        "processes including the workers' start-up. Target: time ratio <= 1/1.7, i.e. 2 workers reach >= 1.7x "
        f"the throughput of 1 (measured: {one.median_seconds / two.median_seconds:.2f}x)."
    )
    return [
        Row("11", "8 CPU-bound pipelines, process workers: 2 vs 1", "s", two.median_seconds, one.median_seconds,
            "workers: 1", Target(1 / 1.7, "ratio"), note, flatten(samples)),
    ]
