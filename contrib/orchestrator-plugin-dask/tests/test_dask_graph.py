"""The Dask executor takes the whole DAG: every pipeline is on the scheduler, with its parents'
tasks as dependencies, while the first pipeline is still running; a task whose parent did not
succeed returns its pipeline skipped, and so do that one's dependents."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from distributed import Client
from orchestrator.config.plan import load_plan
from orchestrator.engine import Engine
from orchestrator.events import Event, Kind, RunResult

from dask_support import call, etl, sqlite_replace

STEPS = {
    "steps.py": """
        import time
        from pathlib import Path

        def rows(n=3):
            return [{"id": i} for i in range(n)]

        def hold(rows, flag):
            deadline = time.monotonic() + 60
            while not Path(flag).exists() and time.monotonic() < deadline:
                time.sleep(0.02)
            return rows

        def explode(rows):
            raise RuntimeError("bad batch")
        """,
}


def scheduled(address: str) -> dict[str, tuple[str, list[str]]]:
    """The scheduler's pipeline tasks: state, and the tasks each depends on (by pipeline)."""

    def tasks(dask_scheduler) -> dict[str, tuple[str, list[str]]]:  # type: ignore[no-untyped-def]
        return {
            str(ts.key): (ts.state, sorted(str(dep.key) for dep in ts.dependencies))
            for ts in dask_scheduler.tasks.values()
            if str(ts.key).startswith("pipeline-")
        }

    with Client(address, timeout=30) as client:
        found = client.run_on_scheduler(tasks)
    return {key.split("-")[1]: (state, [dep.split("-")[1] for dep in deps]) for key, (state, deps) in found.items()}


def test_every_pipeline_reaches_the_scheduler_with_its_parents_as_dependencies(cluster, write_config, plugins, tmp_path: Path) -> None:
    flag = tmp_path / "go"
    config = write_config(
        f"executor: {{name: dask, address: '{cluster.address}'}}\npipelines:\n"
        + etl("first", call("rows", "steps:rows"), sqlite_replace("first"), transform=call("hold", "steps:hold", flag=str(flag)))
        + etl("second", call("rows", "steps:rows"), sqlite_replace("second"), depends_on=("first",))
        + etl("third", call("rows", "steps:rows"), sqlite_replace("third"), depends_on=("second",))
        + etl("broken", call("rows", "steps:rows"), sqlite_replace("broken"), transform=call("boom", "steps:explode"))
        + etl("after_broken", call("rows", "steps:rows"), sqlite_replace("after_broken"), depends_on=("broken",))
        + etl("after_after", call("rows", "steps:rows"), sqlite_replace("after_after"), depends_on=("after_broken",)),
        **STEPS,
    )
    events: list[Event] = []
    results: list[RunResult] = []
    plan = load_plan(config, plugins.registry)
    runner = threading.Thread(target=lambda: results.append(Engine(plan, plugins, events.append).run_sync()))
    runner.start()
    try:
        deadline = time.monotonic() + 60
        while not any(e.kind is Kind.STEP_STARTED and e.step == "hold" for e in list(events)):
            assert time.monotonic() < deadline, "the hold step never started"
            time.sleep(0.05)
        tasks = scheduled(cluster.address)
        # while 'first' still runs, its dependents are already on the scheduler, waiting on it
        assert tasks["first"][0] == "processing"
        assert tasks["second"] == ("waiting", ["first"]) and tasks["third"] == ("waiting", ["second"])
    finally:
        flag.touch()
        runner.join(timeout=120)
    assert not runner.is_alive(), "the run did not finish"
    result = results[0]
    statuses = {name: p.status for name, p in result.pipelines.items()}
    assert statuses == {
        "first": "succeeded", "second": "succeeded", "third": "succeeded",
        "broken": "failed", "after_broken": "skipped", "after_after": "skipped",
    }
    assert result.pipelines["after_broken"].error == "skipped: depends on 'broken', which did not succeed"
    assert result.pipelines["after_after"].error == "skipped: depends on 'after_broken', which did not succeed"
    skipped = [e.pipeline for e in events if e.kind is Kind.PIPELINE_SKIPPED]
    assert sorted(skipped) == ["after_after", "after_broken"]
    assert events[-1].kind is Kind.RUN_FINISHED
