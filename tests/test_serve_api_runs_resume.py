"""Runs accepted through the API are carried to an end across restarts: the ledger on a real SQLite
file and a real PostgreSQL server (with a clock the test moves), and real ``orchestrator serve``
processes: a run started through the API, interrupted by SIGTERM and resumed by the next start;
a run cancelled through the API that stays cancelled; a run accepted but never started, started by
the next server."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from orchestrator.serve.accepted import AcceptedRuns
from orchestrator.serve.runs import Job, new_run_id
from serve_helpers import Database, FakeClock, database
from serve_process import Served, rows, state, wait_for

if sys.platform == "win32":  # pragma: no cover
    pytestmark = pytest.mark.skip("SIGTERM")

TTL = timedelta(seconds=15)

STEPS = '''
import pathlib
import time

def gated(gate):
    """Waits until the file ``gate`` exists: a run the test lets go of."""
    while not pathlib.Path(gate).exists():
        time.sleep(0.05)
    return [{"id": 1, "gate": gate}]
'''

GATED = """\
params: {gate: ""}
pipelines:
  gated:
    type: ETL
    phases:
      extract: {steps: [{id: wait, plugin: python.call, args: {callable: "steps:gated", kwargs: {gate: "${params.gate}"}}}]}
      load: {steps: [{id: out, plugin: sqlite.write, args: {database: out/api.db, table: loaded}}]}
"""


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "steps.py").write_text(STEPS)
    yield tmp_path


def query(store: Database, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    connection = store.connect()
    try:
        sql = sql if store.kind == "sqlite" else sql.replace("?", "%s")
        return [tuple(row) for row in connection.execute(sql, params).fetchall()]
    finally:
        connection.close()


def project(folder: Path, kind: str, request: pytest.FixtureRequest) -> Database:
    """The gated pipeline, its history and ledgers in a SQLite file or a PostgreSQL schema."""
    if kind == "sqlite":
        (folder / "api.yaml").write_text(GATED)
        return Database("sqlite", str(state(folder)))
    store = database(kind, folder, request)
    (folder / "api.yaml").write_text(f"state: {store.target!r}\n{GATED}")
    return store


def loaded(folder: Path) -> int:
    return len(rows(folder / "out" / "api.db", "SELECT * FROM loaded"))


def run_status(store: Database, run_id: str) -> str | None:
    """How the history records the run (None: not yet, or no history yet)."""
    missing: tuple[type[Exception], ...] = (sqlite3.OperationalError,)
    if store.kind != "sqlite":
        import psycopg

        missing = (psycopg.errors.UndefinedTable,)
    try:
        found = query(store, "SELECT status FROM runs WHERE run_id = ?", (run_id,))
    except missing:
        return None
    return str(found[0][0]) if found else None


def ledger(store: Database, run_id: str) -> tuple[Any, ...]:
    (row,) = query(store, "SELECT status, holder FROM schedule_api_runs WHERE run_id = ?", (run_id,))
    return row


def start_gated_run(server: Served, store: Database, gate: Path) -> str:
    status, answer = server.post("/api/pipelines/api.yaml/gated/runs", {"params": {"gate": str(gate)}})
    assert status == 202, answer
    run_id = str(answer["run_id"])
    wait_for(lambda: run_status(store, run_id) == "running", 60, server.text)
    return run_id


# -- real servers -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_run_started_through_the_api_and_interrupted_by_sigterm_is_resumed_by_the_next_start(
    folder: Path, kind: str, request: pytest.FixtureRequest
) -> None:
    store = project(folder, kind, request)
    gate = folder / "gate"
    server = Served(folder, "api.yaml", grace=0)
    run_id = start_gated_run(server, store, gate)
    assert ledger(store, run_id)[0] == "started"
    assert server.stop() == 0, server.text()
    assert f"run {run_id} interrupted: left resumable, the next start resumes it" in server.text()
    assert run_status(store, run_id) == "interrupted"
    assert ledger(store, run_id) == ("started", None)  # released: the next server takes it at once

    server = Served(folder, "api.yaml")
    assert f"resuming run {run_id} started through the API" in server.text()  # before it serves: at start
    gate.touch()
    wait_for(lambda: f"run {run_id} succeeded" in server.text(), 60, server.text)
    assert server.stop() == 0, server.text()
    assert run_status(store, run_id) == "succeeded"
    assert ledger(store, run_id)[0] == "succeeded"
    assert loaded(folder) == 1

    server = Served(folder, "api.yaml")  # ended: not started again
    assert server.stop() == 0, server.text()
    assert "through the API" not in server.text()
    assert loaded(folder) == 1


def test_a_run_cancelled_through_the_api_stays_cancelled_across_a_restart(folder: Path, request: pytest.FixtureRequest) -> None:
    store = project(folder, "sqlite", request)
    gate = folder / "gate"
    server = Served(folder, "api.yaml", grace=0)
    run_id = start_gated_run(server, store, gate)
    assert server.post(f"/api/runs/{run_id}/cancel") == (202, {"run_id": run_id, "status": "cancelling"})
    wait_for(lambda: f"run {run_id} cancelled" in server.text(), 60, server.text)
    assert server.stop() == 0, server.text()
    assert run_status(store, run_id) == "cancelled"
    assert ledger(store, run_id)[0] == "cancelled"

    gate.touch()
    server = Served(folder, "api.yaml")
    assert f"run {run_id}" not in server.text()  # the user asked it to stop: not resumed
    assert run_status(store, run_id) == "cancelled" and loaded(folder) == 0
    status, answer = server.post(f"/api/runs/{run_id}/resume")  # the user may still resume it
    assert (status, answer) == (202, {"run_id": run_id})
    wait_for(lambda: f"run {run_id} succeeded" in server.text(), 60, server.text)
    assert server.stop() == 0, server.text()
    assert ledger(store, run_id)[0] == "succeeded" and loaded(folder) == 1


def test_a_run_accepted_but_never_started_is_started_by_the_next_server(folder: Path, request: pytest.FixtureRequest) -> None:
    """The server that accepted it stopped (or died) before its loop started the run: the next one
    starts it under the run id the API answered with."""
    store = project(folder, "sqlite", request)
    gate = folder / "gate"
    gate.touch()
    run_id = new_run_id()
    job = Job("manual", f"{folder / 'api.yaml'}#gated run", folder / "api.yaml", "gated", run_id, params={"gate": str(gate)})
    state(folder).parent.mkdir(parents=True)
    connection = store.connect()
    assert AcceptedRuns(connection).accept(job, by="gone:1:abc", ttl=timedelta(0))  # its holder's hold is over
    connection.close()

    server = Served(folder, "api.yaml")
    assert f"starting run {run_id} accepted through the API before the server stopped" in server.text()
    wait_for(lambda: f"run {run_id} succeeded" in server.text(), 60, server.text)
    assert server.stop() == 0, server.text()
    assert run_status(store, run_id) == "succeeded" and ledger(store, run_id)[0] == "succeeded"
    assert loaded(folder) == 1


# -- the ledger -------------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    return database(request.param, tmp_path, request)


def job(run_id: str = "run-1", params: dict[str, Any] | None = None) -> Job:
    return Job("manual", "etl.yaml#daily run", Path("/p/etl.yaml"), "daily", run_id, params=params or {"day": "2026-12-07"})


def test_a_run_is_held_by_one_server_and_taken_over_by_one_other_only_once_free(db: Database) -> None:
    clock = FakeClock()
    first, second = AcceptedRuns(db.connect(), clock=clock), AcceptedRuns(db.connect(), clock=clock)
    assert first.accept(job(), by="a", ttl=TTL)
    assert not second.accept(job(), by="b", ttl=TTL)  # accepted and not ended: one server carries it
    assert first.mark("run-1", "started", by="a")
    assert second.orphans() == []  # held by a live server
    clock.advance(seconds=10)
    first.renew("a", TTL)
    clock.advance(seconds=10)
    assert second.orphans() == []  # renewed: still held
    assert not second.take("run-1", by="b", ttl=TTL)

    first.release("a")  # a stops
    (orphan,) = second.orphans()
    assert (orphan.status, orphan.holder, orphan.job.params, orphan.job.pipeline, orphan.job.accepted) == (
        "started", None, {"day": "2026-12-07"}, "daily", True)
    assert second.take("run-1", by="b", ttl=TTL)
    assert not first.take("run-1", by="a", ttl=TTL)  # taken once
    assert not first.mark("run-1", "succeeded", by="a")  # a no longer holds it
    assert second.mark("run-1", "succeeded", by="b")
    assert second.orphans() == []
    assert first.accept(job(), by="a", ttl=TTL)  # ended: a resume of it may be accepted
    with pytest.raises(ValueError, match="cannot be marked 'accepted'"):
        first.mark("run-1", "accepted", by="a")


def test_a_killed_servers_runs_are_orphans_once_its_hold_expires(db: Database) -> None:
    clock = FakeClock()
    ledger = AcceptedRuns(db.connect(), clock=clock)
    assert ledger.accept(job("run-1"), by="killed", ttl=TTL)
    assert ledger.accept(job("run-2"), by="killed", ttl=TTL)
    ledger.mark("run-2", "cancelled", by="killed")
    clock.advance(seconds=14)
    assert ledger.orphans() == []
    clock.advance(seconds=1)
    assert [orphan.job.run_id for orphan in ledger.orphans()] == ["run-1"]  # a cancelled run is no orphan


def test_a_secret_param_is_not_recorded(db: Database) -> None:
    ledger = AcceptedRuns(db.connect(), clock=FakeClock())
    hide = lambda text: text.replace("s3cret-value", "***")
    assert ledger.accept(job(params={"token": "s3cret-value"}), by="a", ttl=TTL, redact=hide)
    record = ledger.get("run-1")
    assert record is not None and record.secret and record.job.params == {"token": "***"}
    assert "s3cret-value" not in repr(query(db, "SELECT * FROM schedule_api_runs"))


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_run_of_a_killed_server_is_resumed_once_by_the_lease_holder_and_never_while_its_server_lives(
    folder: Path, kind: str, request: pytest.FixtureRequest
) -> None:
    """Two servers on one store: the one without the scheduler lease accepts and runs the run; the
    holder leaves it alone while the other renews its hold, and resumes it once the other is
    SIGKILLed and its hold has expired."""
    store = project(folder, kind, request)
    gate = folder / "gate"
    options = ("--lease-ttl", "3")
    holder = Served(folder, "api.yaml", options=options)
    wait_for(lambda: "holding the scheduler lease" in holder.text(), 30, holder.text)
    other = Served(folder, "api.yaml", options=options)
    wait_for(lambda: "another server holds the scheduler lease" in other.text(), 30, other.text)
    run_id = start_gated_run(other, store, gate)
    carrier = other.get("/api/health")["holder"]
    assert ledger(store, run_id) == ("started", carrier)
    renewed = query(store, "SELECT expires_at FROM schedule_api_runs WHERE run_id = ?", (run_id,))[0][0]
    wait_for(lambda: query(store, "SELECT expires_at FROM schedule_api_runs WHERE run_id = ?", (run_id,))[0][0] > renewed, 30, other.text)
    assert ledger(store, run_id) == ("started", carrier) and "through the API" not in holder.text()

    other.process.kill()  # SIGKILL: nothing released, the hold has to expire
    other.process.wait(timeout=30)
    other.handle.close()
    wait_for(lambda: f"resuming run {run_id} started through the API" in holder.text(), 60, holder.text)
    gate.touch()
    wait_for(lambda: f"run {run_id} succeeded" in holder.text(), 60, holder.text)
    assert holder.stop() == 0, holder.text()
    assert holder.text().count(f"resuming run {run_id}") == 1
    assert ledger(store, run_id)[0] == "succeeded" and run_status(store, run_id) == "succeeded"
    assert loaded(folder) == 1
