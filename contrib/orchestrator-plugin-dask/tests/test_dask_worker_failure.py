"""A worker killed (SIGKILL) while it runs a pipeline: the scheduler re-runs that pipeline on the
other worker, the run completes, and the idempotent load leaves every row exactly once."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from orchestrator.config.plan import load_plan
from orchestrator.engine import Engine
from orchestrator.events import Event, RunResult

from dask_support import Cluster, call, etl, sqlite_replace, start_cluster

ROWS = 500
WAIT_SECONDS = 60.0

STEPS = {
    "steps.py": """
        import os
        import time
        from pathlib import Path

        def rows(n):
            return [{"id": i} for i in range(n)]

        def hold_first_attempt(rows, attempts):
            # every attempt leaves its process id; the first then waits to be killed
            log = Path(attempts)
            first = not log.exists()
            with log.open("a") as handle:
                handle.write(f"{os.getpid()}\\n")
            if first:
                time.sleep(60)
            return rows
        """,
}


@pytest.fixture
def fragile_cluster(tmp_path_factory: pytest.TempPathFactory, worker_env: dict[str, str]) -> Iterator[Cluster]:
    """A cluster of its own: this test kills one of its workers."""
    running = start_cluster(tmp_path_factory.mktemp("fragile-cluster"), worker_env)
    try:
        yield running
    finally:
        running.stop()


def wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def test_a_pipeline_whose_worker_is_killed_is_rerun_on_the_other_worker(fragile_cluster, write_config, plugins, tmp_path) -> None:
    attempts = tmp_path / "attempts.txt"
    others = ("steady_a", "steady_b", "steady_c")
    config = write_config(
        f"executor: {{name: dask, address: '{fragile_cluster.address}'}}\npipelines:\n"
        + etl("victim", call("rows", "steps:rows", n=ROWS), sqlite_replace("victim"),
              transform=call("hold", "steps:hold_first_attempt", attempts=str(attempts)))
        + "".join(etl(name, call("rows", "steps:rows", n=ROWS), sqlite_replace(name)) for name in others)
        + etl("after_victim", call("rows", "steps:rows", n=ROWS), sqlite_replace("after_victim"), depends_on=("victim",)),
        **STEPS,
    )
    events: list[Event] = []
    results: list[RunResult] = []
    plan = load_plan(config, plugins.registry)
    runner = threading.Thread(target=lambda: results.append(Engine(plan, plugins, events.append).run_sync()))
    runner.start()
    try:
        # kill only once this process has seen the victim's hold step start: its first attempt is
        # then certainly running, and blocked, on a worker
        wait_until(lambda: any(e.kind == "step_started" and e.step == "hold" for e in list(events)), "the hold step to start")
        wait_until(attempts.exists, "the first attempt's process id")
        victim_pid = int(attempts.read_text().split()[0])
        assert victim_pid in fragile_cluster.worker_pids and victim_pid != os.getpid()
        os.kill(victim_pid, signal.SIGKILL)
    finally:
        runner.join(timeout=120)
    assert not runner.is_alive(), "the run did not finish"

    result = results[0]
    assert result.ok, {n: p.error for n, p in result.pipelines.items()}
    first, second = (int(pid) for pid in attempts.read_text().split())
    assert first == victim_pid and second == next(iter(fragile_cluster.worker_pids - {victim_pid}))
    # the retry is visible in the events: the victim started twice and finished once
    kinds = [e.kind for e in events if e.pipeline == "victim"]
    assert kinds.count("pipeline_started") == 2 and kinds.count("pipeline_finished") == 1
    assert events[-1].kind == "run_finished"
    with sqlite3.connect(Path(config.parent) / "out/warehouse.db") as db:
        for table in ("victim", *others, "after_victim"):
            count, distinct = db.execute(f"SELECT COUNT(*), COUNT(DISTINCT id) FROM {table}").fetchone()
            assert (count, distinct) == (ROWS, ROWS), table
