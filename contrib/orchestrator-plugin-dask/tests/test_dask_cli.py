"""The installed ``orchestrator`` command with the ``dask`` executor: the scheduler's address comes
from the config (through a variable) or from Dask's own ``DASK_SCHEDULER_ADDRESS``."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from dask_support import BIN, PLUGINS, Cluster, call, etl, sqlite_replace

STEPS = {
    "steps.py": """
        import os

        def rows():
            return [{"id": i, "pid": os.getpid()} for i in range(4)]
        """,
}


def orchestrator(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "orchestrator"), *args], capture_output=True, text=True, timeout=120,
        env={**os.environ, "ORCHESTRATOR_LOAD_PLUGINS": PLUGINS, **env}, cwd=cwd,
    )


def pipelines(tmp_path: Path) -> str:
    return (
        etl("cli_first", call("rows", "steps:rows"), "{id: out, plugin: jsonl.write, args: {path: out/first.jsonl}}")
        + etl("cli_second", call("rows", "steps:rows"), sqlite_replace("second"), depends_on=("cli_first",))
    )


def test_cli_runs_on_the_scheduler_named_in_the_config(cluster: Cluster, write_config, tmp_path) -> None:
    config = write_config("executor: {name: dask, address: '${DASK_ADDRESS}'}\npipelines:\n" + pipelines(tmp_path), **STEPS)
    result = orchestrator("run", str(config), "--json", env={"DASK_ADDRESS": cluster.address}, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    finished = [(e["pipeline"], e["step"]) for e in events if e["kind"] == "step_finished"]
    assert finished == [("cli_first", "rows"), ("cli_first", "out"), ("cli_second", "rows"), ("cli_second", "store")]
    assert events[-2]["kind"] == "run_finished" and events[-2]["status"] == "succeeded"
    pids = {row["pid"] for row in map(json.loads, (tmp_path / "out/first.jsonl").read_text().splitlines())}
    assert len(pids) == 1 and pids <= cluster.worker_pids


def test_cli_executor_option_uses_dasks_scheduler_address_variable(cluster: Cluster, write_config, tmp_path) -> None:
    config = write_config("pipelines:\n" + pipelines(tmp_path), **STEPS)
    result = orchestrator("run", str(config), "--executor", "dask", "--json", env={"DASK_SCHEDULER_ADDRESS": cluster.address}, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    pids = {row["pid"] for row in map(json.loads, (tmp_path / "out/first.jsonl").read_text().splitlines())}
    assert pids <= cluster.worker_pids


def test_cli_refuses_an_unshippable_plan_with_exit_2(cluster: Cluster, write_config, tmp_path) -> None:
    config = write_config(
        "executor: {name: dask, address: '${DASK_ADDRESS}'}\npipelines:\n"
        + etl("cli_lambda", call("rows", "steps:rows"), sqlite_replace("lam"), transform="{id: lam, plugin: hookfile.unpicklable}"),
        **STEPS,
    )
    result = orchestrator("run", str(config), env={"DASK_ADDRESS": cluster.address}, cwd=tmp_path)
    assert result.returncode == 2
    assert "step 'lam' (hookfile.unpicklable): the step's function cannot be pickled" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()


def test_cli_reports_a_misspelt_option_before_connecting(write_config, tmp_path) -> None:
    config = write_config("executor: {name: dask, adress: 'tcp://127.0.0.1:1'}\npipelines:\n" + pipelines(tmp_path), **STEPS)
    result = orchestrator("validate", str(config), env={}, cwd=tmp_path)
    assert result.returncode == 2
    assert "$.executor.adress: unknown key 'adress'; did you mean 'address'?" in result.stderr
