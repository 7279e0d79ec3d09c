"""Without an address, the executor starts a LocalCluster of worker processes for the run and
closes it at the end."""

from __future__ import annotations

import json
import os

import psutil
from orchestrator.config.plan import load_plan
from orchestrator.engine import Engine

from dask_support import call, etl

STEPS = {
    "steps.py": """
        import os

        def rows():
            return [{"id": 1}, {"id": 2}]

        def with_pid(rows):
            return [{**row, "pid": os.getpid()} for row in rows]
        """,
}


def test_an_on_demand_local_cluster_runs_the_pipelines_and_is_closed_at_the_end(write_config, plugins, tmp_path) -> None:
    names = ("local_a", "local_b", "local_c")
    config = write_config(
        "executor: {name: dask, workers: 2, threads_per_worker: 1, processes: true}\npipelines:\n"
        + "".join(
            etl(name, call("rows", "steps:rows"), "{id: out, plugin: jsonl.write, args: {path: out/" + name + ".jsonl}}",
                transform=call("pid", "steps:with_pid"), depends_on=("local_a",) if name == "local_c" else ())
            for name in names
        ),
        **STEPS,
    )
    children_before = {p.pid for p in psutil.Process().children(recursive=True)}
    result = Engine(load_plan(config, plugins.registry), plugins).run_sync()
    assert result.ok, {n: p.error for n, p in result.pipelines.items()}

    pids = {row["pid"] for name in names for row in map(json.loads, (tmp_path / f"out/{name}.jsonl").read_text().splitlines())}
    assert os.getpid() not in pids
    # the workers were processes of this run, and none of them outlived it
    assert not pids & children_before
    assert not [pid for pid in pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
