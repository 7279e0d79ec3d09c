"""Run-state figures: what recording a run into the state store costs per step, beside the same run
with ``state: off`` (12), and how long ``orchestrator run --resume`` takes to continue a failed
10,000-step run, beside running it from the start (13).
"""

from __future__ import annotations

import sys
from typing import Any

from bench.harness import US, Bench
from bench.measure import Command, flatten, run_processes
from bench.report import Row, Target


def state_overhead(bench: Bench) -> list[Row]:
    """What recording the run into the state store adds per step: the same 10,000-step run with
    ``state: off`` and with the default SQLite store (and a PostgreSQL server, when one can be
    started on this machine), whole processes, interleaved."""
    steps = 10_000
    counted = steps + 2  # the transforms, the extract and the load
    database = bench.workspace.root / "state" / "state.db"
    for stale in database.parent.glob("state.db*"):
        stale.unlink()
    commands = {
        "state: off": bench.run(bench.workspace.state_config(steps, "off", "off")),
        "state: sqlite": bench.run(bench.workspace.state_config(steps, "sqlite", f"sqlite:///{database}")),
    }
    server = _postgresql_server()
    if server is not None:
        url = server.url(server.create_schema("bench"))
        commands["state: postgresql"] = bench.run(bench.workspace.state_config(steps, "postgresql", url))
    try:
        samples = run_processes(commands, bench.reps(7, 3))
    finally:
        if server is not None:
            _stop(server)
    off = samples["state: off"].median_seconds / counted * US
    note = (
        f"`orchestrator run` of one pipeline with a no-op extract, {steps:,} no-op sync transforms (bench.noop) and a "
        f"no-op load, recording into the default SQLite store (ours) against the same run with `state: off` "
        f"(baseline), whole processes, each median / {counted:,} steps: the difference is what recording costs per step."
    )
    rows = [Row("12", "state recording per step: SQLite", "us", samples["state: sqlite"].median_seconds / counted * US,
                off, "state: off", Target(100, "difference"), note, flatten(samples))]
    if server is not None:
        rows.append(Row("12", "state recording per step: PostgreSQL", "us",
                        samples["state: postgresql"].median_seconds / counted * US, off, "state: off", None,
                        "As above, recording into a PostgreSQL server on 127.0.0.1 (started for the figure, fsync off)."))
    return rows


def resume_time(bench: Bench) -> list[Row]:
    """13: how long ``orchestrator run --resume`` takes to continue a failed 10,000-step run whose
    last pipeline failed in its load, against running the same 10,000 steps from the start."""
    import shutil
    import subprocess

    pipelines = 1000
    failed = bench.workspace.resume_config(pipelines, "resume_failed")
    fresh = bench.workspace.resume_config(pipelines, "resume_fresh")
    folder, state, kept = failed.parent, failed.parent / ".orchestrator", failed.parent / "failed-run-state"
    for stale in (state, kept, fresh.parent / ".orchestrator"):
        shutil.rmtree(stale, ignore_errors=True)
    (folder / "broken").touch()
    first = subprocess.run((bench.orchestrator, "run", str(failed)), env=bench.env, cwd=folder, capture_output=True, check=False)
    assert first.returncode == 1, f"the run to resume should fail in its last pipeline: {first.stderr.decode()[-500:]}"
    (folder / "broken").unlink()
    shutil.copytree(state, kept)

    def failed_again() -> None:  # every sample resumes the same failed run
        shutil.rmtree(state, ignore_errors=True)
        shutil.copytree(kept, state)

    resume = Command((bench.orchestrator, "run", str(failed), "--resume"), env=bench.env, cwd=folder, prepare=failed_again)
    samples = run_processes({"--resume": resume, "from the start": bench.run(fresh)}, bench.reps(5, 3))
    note = (
        f"`orchestrator run --resume` of a run of {pipelines:,} independent pipelines of 10 no-op steps each (10,000 "
        "steps), whose last pipeline failed in its load: 999 pipelines are reused from the history, the last one "
        "goes on from its transform checkpoint and runs its load. Baseline: `orchestrator run` of the same config "
        "from the start, with the default SQLite history and checkpoints. Whole processes; the state directory is "
        "put back before each resume (untimed)."
    )
    return [Row("13", "resume a failed 10,000-step run", "s", samples["--resume"].median_seconds,
                samples["from the start"].median_seconds, "the same run from the start", None, note, flatten(samples))]


def _postgresql_server() -> Any:
    """A throw-away PostgreSQL server (the test kit's), or None when this machine cannot start one."""
    from orchestrator.testing.postgresql import start_server

    try:
        import psycopg  # noqa: F401 - the store needs it
        return start_server()
    except (ImportError, LookupError, RuntimeError) as exc:
        print(f"  no PostgreSQL row: {exc}".splitlines()[0], file=sys.stderr)
        return None


def _stop(server: Any) -> None:
    import shutil

    server.stop()
    shutil.rmtree(server.root, ignore_errors=True)
