"""Helpers for the dask plugin's tests: real ``dask scheduler`` / ``dask worker`` processes on
127.0.0.1, and small pipeline configs written as YAML text."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
HOOKFILE = REPO / "tests" / "distributions" / "orchestrator-plugin-hookfile"
BIN = Path(sys.executable).parent
PLUGINS = "builtin,hookfile,dask"
#: How long a scheduler or worker may take to come up on a busy 2-core machine.
START_SECONDS = 60.0


@dataclass
class Cluster:
    """A scheduler and its workers, each a real process started by the tests."""

    address: str
    scheduler: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def worker_pids(self) -> set[int]:
        return {worker.pid for worker in self.workers}

    def stop(self) -> None:
        for process in [*self.workers, self.scheduler]:
            if process.poll() is None:
                process.terminate()
        for process in [*self.workers, self.scheduler]:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=20)


def start_cluster(directory: Path, env: Mapping[str, str], workers: int = 2) -> Cluster:
    """Start ``dask scheduler`` and ``workers`` single-threaded ``dask worker`` processes without
    a nanny (a killed worker stays dead, so a test knows which worker is left), wait until every
    worker has joined, and return them."""
    directory.mkdir(parents=True, exist_ok=True)
    scheduler_file = directory / "scheduler.json"
    log = open(directory / "scheduler.log", "wb")  # noqa: SIM115 - kept open for the process's life
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
         "--no-dashboard", "--dashboard-address", "127.0.0.1:0", "--scheduler-file", str(scheduler_file)],
        env=dict(env), stdout=log, stderr=subprocess.STDOUT, cwd=directory,
    )
    cluster = Cluster("", scheduler)
    try:
        _wait_for(scheduler_file.exists, "the scheduler file", scheduler)
        for number in range(workers):
            worker_log = open(directory / f"worker-{number}.log", "wb")  # noqa: SIM115
            cluster.workers.append(subprocess.Popen(
                [sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file", str(scheduler_file),
                 "--host", "127.0.0.1", "--nthreads", "1", "--nworkers", "1", "--no-nanny", "--no-dashboard",
                 "--local-directory", str(directory / f"worker-{number}"), "--name", f"worker-{number}"],
                env=dict(env), stdout=worker_log, stderr=subprocess.STDOUT, cwd=directory,
            ))
        from distributed import Client

        with Client(scheduler_file=str(scheduler_file), timeout=START_SECONDS) as client:
            client.wait_for_workers(workers, timeout=START_SECONDS)
            cluster.address = client.scheduler.address
            joined = set(client.run(os.getpid).values())
        assert joined == cluster.worker_pids, (joined, cluster.worker_pids)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _wait_for(ready: object, what: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_SECONDS
    while not ready():  # type: ignore[operator]
        if process.poll() is not None:
            raise RuntimeError(f"{what}: the process exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not appear within {START_SECONDS} s")
        time.sleep(0.05)


def etl(name: str, extract: str, load: str, *, transform: str = "", depends_on: tuple[str, ...] = ()) -> str:
    """One pipeline as YAML lines under ``pipelines:``; steps are inline YAML mappings."""
    lines = [f"  {name}:", "    type: ETL"]
    if depends_on:
        lines.append(f"    depends_on: [{', '.join(depends_on)}]")
    lines += ["    phases:", f"      extract: {{steps: [{extract}]}}"]
    if transform:
        lines.append(f"      transform: {{steps: [{transform}]}}")
    lines.append(f"      load: {{steps: [{load}]}}")
    return "\n".join(lines) + "\n"


def call(step_id: str, reference: str, **kwargs: object) -> str:
    """A python.call step as inline YAML."""
    args = f"callable: '{reference}'"
    if kwargs:
        args += ", kwargs: {" + ", ".join(f"{k}: {v!r}" for k, v in kwargs.items()) + "}"
    return f"{{id: {step_id}, plugin: python.call, args: {{{args}}}}}"


def sqlite_replace(table: str, database: str = "out/warehouse.db") -> str:
    """An idempotent load: the table is swapped in whole once every row was written."""
    return f"{{id: store, plugin: sqlite.write, args: {{database: {database}, table: {table}, mode: replace}}}}"
