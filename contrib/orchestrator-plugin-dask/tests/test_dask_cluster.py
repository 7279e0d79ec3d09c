"""The ``dask`` executor against a real scheduler and two real worker processes: pipelines run on
the workers, lifecycle hooks fire there, events come back to the run's sink, the DAG is kept, a
failure skips only its dependents, and what cannot be shipped is refused before anything runs."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from distributed import Client
from orchestrator import hookimpl
from orchestrator.config.plan import load_plan
from orchestrator.engine import Engine
from orchestrator.errors import ConfigError
from orchestrator.events import Event, Kind
from orchestrator.executors.remote import RemoteJob
from orchestrator.plugins.registry import Origin

from dask_support import Cluster, call, etl, sqlite_replace
from orchestrator_plugin_dask.task import run_pipeline

STEPS = {
    "steps.py": """
        import os

        def rows(n=3, tag=""):
            return [{"id": i, "tag": tag} for i in range(n)]

        def with_pid(rows):
            return [{**row, "pid": os.getpid()} for row in rows]

        def explode(rows):
            raise RuntimeError("bad batch")
        """,
}


def header(cluster: Cluster) -> str:
    return f"executor: {{name: dask, address: '{cluster.address}'}}\npipelines:\n"


def run(config: Path, plugins, events: list[Event] | None = None):
    sink = events.append if events is not None else None
    plan = load_plan(config, plugins.registry)
    return Engine(plan, plugins, sink).run_sync() if sink else Engine(plan, plugins).run_sync()


def trace_lines(trace: Path, pipelines: set[str]) -> set[tuple[int, str, str]]:
    lines = (line.split() for line in trace.read_text().splitlines()) if trace.exists() else iter(())
    return {(int(pid), pipeline, step) for pid, pipeline, step in lines if pipeline in pipelines}


def test_pipelines_run_on_the_workers_with_their_hooks_and_events(cluster, write_config, plugins, hook_trace, tmp_path) -> None:
    names = {"on_w_left", "on_w_right"}
    config = write_config(
        header(cluster)
        + "".join(
            etl(name, call("rows", "steps:rows"), "{id: out, plugin: jsonl.write, args: {path: out/" + name + ".jsonl}}",
                transform="{id: burn, plugin: hookfile.burn, args: {seconds: 0.5}}")
            for name in sorted(names)
        ),
        **STEPS,
    )
    events: list[Event] = []
    result = run(config, plugins, events)
    assert result.ok, {n: p.error for n, p in result.pipelines.items()}

    pids = {name: {row["pid"] for row in map(json.loads, (tmp_path / f"out/{name}.jsonl").read_text().splitlines())} for name in names}
    ran_on = set().union(*pids.values())
    assert ran_on <= cluster.worker_pids and os.getpid() not in ran_on
    # lifecycle hooks fired in the worker that ran each step, never in this process
    traced = trace_lines(hook_trace, names)
    assert {(pipeline, step) for _, pipeline, step in traced} == {(n, s) for n in names for s in ("rows", "burn", "out")}
    for pid, pipeline, _ in traced:
        assert pids[pipeline] == {pid}
    # worker-side events reached this process's sink, in order, each pipeline's ending with pipeline_finished
    for name in names:
        kinds = [e.kind for e in events if e.pipeline == name]
        assert kinds[0] == "pipeline_started" and kinds[-1] == "pipeline_finished"
        assert [e.step for e in events if e.pipeline == name and e.kind == "step_finished"] == ["rows", "burn", "out"]
    assert events[0].kind == "run_started" and events[-1].kind == "run_finished"
    # the same typed events as a local run, with the step's attempt
    assert all(isinstance(e.kind, Kind) for e in events)
    assert {e.attempt for e in events if e.kind is Kind.STEP_FINISHED} == {1}
    # what the steps used is measured in the worker that ran them, and travels back on their events
    for name in names:
        (burn,) = [e for e in events if e.pipeline == name and e.kind is Kind.STEP_FINISHED and e.step == "burn"]
        (ended,) = [e for e in events if e.pipeline == name and e.kind is Kind.PIPELINE_FINISHED]
        assert burn.cpu is not None and burn.cpu >= 0.25
        assert ended.cpu is not None and ended.cpu >= burn.cpu and ended.rss is not None and ended.rss > 10 * 2**20


def test_a_failing_pipeline_skips_its_dependents_only(cluster, write_config, plugins) -> None:
    config = write_config(
        header(cluster)
        + etl("fails", call("rows", "steps:rows"), sqlite_replace("fails"), transform=call("boom", "steps:explode"))
        + etl("after_fails", call("rows", "steps:rows"), sqlite_replace("after_fails"), depends_on=("fails",))
        + etl("fine", call("rows", "steps:rows"), sqlite_replace("fine"))
        + etl("after_fine", call("rows", "steps:rows"), sqlite_replace("after_fine"), depends_on=("fine",)),
        **STEPS,
    )
    result = run(config, plugins)
    statuses = {name: p.status for name, p in result.pipelines.items()}
    assert statuses == {"fails": "failed", "after_fails": "skipped", "fine": "succeeded", "after_fine": "succeeded"}
    assert result.pipelines["fails"].error == "step 'boom' (python.call) failed: RuntimeError: bad batch"
    with sqlite3.connect(config.parent / "out/warehouse.db") as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"fine", "after_fine"}


def test_a_dag_of_50_pipelines_completes_in_dependency_order(cluster, write_config, plugins) -> None:
    # a binary tree (each pipeline waits for its parent) with some joins on two parents
    deps = {f"d{i}": (f"d{(i - 1) // 2}",) if i else () for i in range(50)}
    for i in range(10, 50, 7):
        deps[f"d{i}"] += (f"d{i - 3}",)
    text = header(cluster) + "".join(
        etl(name, call("rows", "steps:rows", n=2, tag=name), "{id: out, plugin: jsonl.write, args: {path: out/" + name + ".jsonl}}",
            depends_on=parents)
        for name, parents in deps.items()
    )
    events: list[Event] = []
    result = run(write_config(text, **STEPS), plugins, events)
    assert result.ok and len(result.pipelines) == 50
    position = {(e.kind, e.pipeline): index for index, e in enumerate(events) if e.kind in ("pipeline_started", "pipeline_finished")}
    for name, parents in deps.items():
        for parent in parents:
            assert position[("pipeline_finished", parent)] < position[("pipeline_started", name)], (parent, name)


def test_steps_that_cannot_be_shipped_are_refused_before_anything_runs(cluster, write_config, plugins, tmp_path) -> None:
    config = write_config(
        header(cluster)
        + etl("unshippable", call("rows", "steps:rows"), "{id: out, plugin: jsonl.write, args: {path: out/p.jsonl}}",
              transform="{id: lam, plugin: hookfile.unpicklable}, {id: here, plugin: local.only}"),
        **STEPS,
    )

    class LocalOnly:
        @hookimpl
        def register_transformers(self, register) -> None:
            register("local.only", "json:loads")

    plugins.add(LocalOnly(), Origin("local-only", "tests", "0"))
    with pytest.raises(ConfigError) as refused:
        run(config, plugins)
    assert [p.message for p in refused.value.problems] == [
        "pipeline 'unshippable', step 'lam' (hookfile.unpicklable): the step's function cannot be pickled "
        "(a lambda or a local function?); use the local executor for it",
        "pipeline 'unshippable', step 'here' (local.only): its plugin 'local-only' was registered in this process only; "
        "workers load plugins from installed entry points; use the local executor for it",
    ]
    assert not (tmp_path / "out").exists()


def test_a_worker_without_a_steps_plugin_fails_the_pipeline_naming_the_worker(cluster, write_config, plugins) -> None:
    # the worker loads plugins with the shipped selection; this one leaves hookfile out
    config = write_config(
        header(cluster) + etl("lacking", call("rows", "steps:rows"), sqlite_replace("lacking"),
                              transform="{id: burn, plugin: hookfile.burn, args: {seconds: 0.01}}"),
        **STEPS,
    )
    plan = load_plan(config, plugins.registry)
    job = RemoteJob(plan, "lacking", "run-1", {"ORCHESTRATOR_LOAD_PLUGINS": "builtin"})
    with Client(cluster.address, timeout=60) as client:
        result = client.submit(run_pipeline, job, None, pure=False).result(timeout=60)
        workers = set(client.scheduler_info()["workers"])
    assert result.outcome.status == "failed"
    prefix = "step 'burn' (hookfile.burn) is not registered on Dask worker "
    assert result.outcome.error.startswith(prefix)
    assert result.outcome.error.removeprefix(prefix).split(";")[0] in workers
    assert result.outcome.error.endswith("; every worker needs the same plugins installed")
    assert not (config.parent / "out").exists()
