"""Retention: ``history:`` and ``orchestrator runs prune`` remove old runs with their checkpoints
and dead letters, never a run that may still be running nor the one ``--resume`` would continue;
and a history an older version created is migrated when a store opens it. The store tests run on
SQLite and on a real PostgreSQL server alike."""

from __future__ import annotations

import json
import os
import shlex
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from itertools import count
from pathlib import Path
from typing import Any

import pytest

from helpers import BIN, ONLY_BUILTIN, cli
from orchestrator.config.model import Retention
from orchestrator.runstate.resume import forget_earlier_checkpoints
from orchestrator.runstate.retention import DAY, expired, prune
from orchestrator.runstate.history import open_state
from orchestrator.runstate.history.sql import SQLState
from orchestrator.testing.postgresql import PostgresServer

FIXTURES = Path(__file__).parent / "state_fixtures"
_schemas = count(1)


@pytest.fixture(params=["sqlite", "postgresql"])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test that takes it runs once on each backend, with an empty store of its own."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'history' / 'state.db'}"
    server: PostgresServer = request.getfixturevalue("postgresql_server")
    return server.url(server.create_schema(f"retention_{next(_schemas)}"))


def execute(url: str, script: str, rows: list[tuple[Any, ...]] = ()) -> None:  # type: ignore[assignment]
    """Run SQL straight on the store's database (a script, or one statement for each row), as
    another process (or an older version) would."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(path) as db:
            if rows:
                db.executemany(script, rows)
            else:
                db.executescript(script)
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as db:
        if rows:
            db.cursor().executemany(script.replace("?", "%s"), rows)
        else:
            db.execute(script)


def add_runs(url: str, *runs: tuple[str, str, str, float, int | None]) -> None:
    """Runs (id, config, status, started, pid) recorded on this host, each with a pipeline, a phase
    and a step attempt."""
    host = socket.gethostname()
    execute(url, "INSERT INTO runs (run_id, config, config_hash, params, status, started, host, pid) "
                 "VALUES (?, ?, 'h', '{}', ?, ?, ?, ?)", [(r, c, s, t, host, p) for r, c, s, t, p in runs])
    execute(url, "INSERT INTO pipeline_runs (run_id, pipeline, status) VALUES (?, 'p', ?)", [(r[0], r[2]) for r in runs])
    execute(url, "INSERT INTO phase_runs (run_id, pipeline, phase, status, started) VALUES (?, 'p', 'extract', ?, ?)",
            [(r[0], r[2], r[3]) for r in runs])
    execute(url, "INSERT INTO step_attempts (run_id, pipeline, phase, step, plugin, attempt, status, started) "
                 "VALUES (?, 'p', 'extract', 'src', 'python.call', 1, ?, ?)", [(r[0], r[2], r[3]) for r in runs])


@pytest.fixture
def store(state_url: str, tmp_path: Path) -> Iterator[SQLState]:
    opened = open_state(state_url, tmp_path)
    yield opened
    opened.close()


@pytest.fixture
def live_pid() -> Iterator[int]:
    """A process of this host that is running for the whole test."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield process.pid
    process.kill()
    process.wait()


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def ids(store: SQLState, config: str) -> list[str]:
    return sorted(r["run_id"] for r in store.runs(1000) if r["config"] == config)


def state_dir(store: SQLState, config: str) -> Path:
    """Where the runs of ``config`` recorded in ``store`` keep their files."""
    from orchestrator.runstate.history.sqlite import SQLiteState
    from orchestrator.runstate.layout import recorded_state_directory

    return recorded_state_directory(store.path if isinstance(store, SQLiteState) else None, config)


def files(store: SQLState, config: str, *run_ids: str) -> dict[str, Path]:
    """A checkpoint folder, a dead-letter file and handed-over rows for each run, as a run leaves them."""
    made = {}
    for run_id in run_ids:
        for kind in ("checkpoints", "dead-letters"):
            folder = state_dir(store, config) / kind / run_id
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "p.jsonl").write_text("{}\n")
            made[f"{kind}/{run_id}"] = folder
        handoff = Path(config).parent / ".orchestrator" / "handoff" / run_id  # beside the pipeline file
        handoff.mkdir(parents=True, exist_ok=True)
        (handoff / "p.rows").write_bytes(b"")
        made[f"handoff/{run_id}"] = handoff
    return made


def test_keep_runs_removes_the_older_runs_of_the_file_with_their_rows_and_files(
    store: SQLState, state_url: str, tmp_path: Path
) -> None:
    config, other = str(tmp_path / "nightly.yaml"), str(tmp_path / "other.yaml")
    now = time.time()
    add_runs(state_url, *[(f"n{i}", config, "succeeded", now - 100 + i, None) for i in range(5)],
             ("failed-early", config, "failed", now - 200, None), ("o1", other, "succeeded", now - 300, None))
    made = files(store, config, "n0", "failed-early", "n4")
    removed = prune(store, config, Retention(keep_runs=2))
    assert [r["run_id"] for r in removed] == ["failed-early", "n0", "n1", "n2"]  # oldest first
    assert ids(store, config) == ["n3", "n4"] and ids(store, other) == ["o1"]  # another file's runs stay
    for run_id in ("n0", "failed-early"):
        assert store.run(run_id) is None
        assert store.pipelines(run_id) == [] and store.phases(run_id) == [] and store.steps(run_id) == []
    assert {name for name, folder in made.items() if folder.exists()} == {"checkpoints/n4", "dead-letters/n4", "handoff/n4"}
    assert store.pipelines("n4") and store.steps("n4")
    assert prune(store, config, Retention(keep_runs=2)) == []  # nothing more to do


def test_keep_days_and_what_stays_whatever_the_limits(store: SQLState, state_url: str, tmp_path: Path, live_pid: int) -> None:
    """A running run whose process lives stays whatever the limits. A run --resume can still
    continue (failed, or killed while running, with no later success) stays under a count limit,
    not past the age limit."""
    config = str(tmp_path / "nightly.yaml")
    now = time.time()
    add_runs(
        state_url,
        ("old-success", config, "succeeded", now - 40 * DAY, None),
        ("old-running", config, "running", now - 39 * DAY, live_pid),
        ("old-killed", config, "running", now - 38 * DAY, dead_pid()),
        ("resumable", config, "failed", now - 5 * DAY, None),
        ("newest", config, "running", now - 60, live_pid),
    )
    assert [r["run_id"] for r in expired(store, config, Retention(keep_runs=1))] == ["old-success"]
    assert [r["run_id"] for r in prune(store, config, Retention(keep_days=30))] == ["old-success", "old-killed"]
    assert ids(store, config) == ["newest", "old-running", "resumable"]
    assert [r["run_id"] for r in prune(store, config, Retention(keep_days=3))] == ["resumable"]  # older than 3 days
    assert ids(store, config) == ["newest", "old-running"]


def test_a_run_resumed_while_the_prune_decided_is_kept(store: SQLState, state_url: str, tmp_path: Path, live_pid: int) -> None:
    """The delete re-checks each run's status and process in its transaction."""
    config = str(tmp_path / "nightly.yaml")
    add_runs(state_url, ("a", config, "failed", 1000.0, None), ("b", config, "failed", 2000.0, None),
             ("c", config, "succeeded", 3000.0, None))
    chosen = expired(store, config, Retention(keep_runs=1))
    assert [r["run_id"] for r in chosen] == ["a", "b"]
    execute(state_url, "UPDATE runs SET status = 'running', pid = ? WHERE run_id = ?", [(live_pid, "a")])  # resumed elsewhere
    assert store.delete_runs(chosen) == ["b"]
    assert ids(store, config) == ["a", "c"] and store.steps("a")


# -- a history created before retention -------------------------------------------------------------------


def indexes(url: str, store: SQLState) -> set[str]:
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'runs'")}
    import psycopg

    with psycopg.connect(url) as db:
        return {row[0] for row in db.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'runs' AND schemaname = current_schema()")}


def test_a_history_from_before_retention_is_migrated_when_opened(state_url: str, tmp_path: Path) -> None:
    config = str(tmp_path / "nightly.yaml")
    execute(state_url, (FIXTURES / "history-before-retention.sql").read_text().replace("'CONFIG'", f"'{config}'"))
    store = open_state(state_url, tmp_path)
    try:
        assert {"runs_by_started", "runs_by_config", "runs_unfinished", "runs_unretired"} <= indexes(state_url, store)
        old = store.run("old-failed")
        assert old is not None and old["status"] == "failed" and old["retired"] is None
        assert [s["step"] for s in store.steps("old-failed")] == ["src"]
        assert store.latest_unfinished(config)["run_id"] == "new-failed"  # type: ignore[index]
        folder = state_dir(store, config) / "checkpoints"
        for run_id in ("old-failed", "new-failed"):
            (folder / run_id).mkdir(parents=True)
        # a new success retires the failed runs recorded by the old version, once
        add_runs(state_url, ("fresh", config, "succeeded", 4000.0, None))
        forget_earlier_checkpoints(store, config, "fresh", folder)
        assert not list(folder.iterdir())
        assert all(store.run(r)["retired"] is not None for r in ("old-failed", "new-failed"))  # type: ignore[index]
        assert store.unretired_before(config, "fresh") == []
        assert [r["run_id"] for r in prune(store, config, Retention(keep_runs=1))] == ["old-failed", "new-failed", "succeeded"]
        assert store.steps("old-failed") == [] and ids(store, "OTHER") == ["other"]
    finally:
        store.close()
    reopened = open_state(state_url, tmp_path)  # opening a migrated history again changes nothing
    try:
        assert ids(reopened, config) == ["fresh"]
    finally:
        reopened.close()


# -- history: and orchestrator runs prune, as a user runs them -------------------------------------------------

HELD = {
    "steps.py": "import os, time\nfrom pathlib import Path\n\n"
                "def rows(context):\n"
                "    if os.environ.get('HOLD'):\n"
                "        Path(os.environ['HOLD'], 'started').touch()\n"
                "        while not Path(os.environ['HOLD'], 'go').exists():\n"
                "            time.sleep(0.02)\n"
                "    return [{'a': 1}]\n",
}
KEEP_ONE = """
state: "${STATE_URL}"
history: {keep_runs: 1}
pipelines:
  p:
    type: ETL
    phases:
      extract: {steps: [{id: src, plugin: python.call, args: {callable: "steps:rows"}}]}
      load: {steps: [{id: out, plugin: jsonl.write, args: {path: out.jsonl}}]}
"""


def listed(config: Path, env: dict[str, str]) -> list[dict[str, Any]]:
    result = cli("runs", "--config", str(config), "--json", env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_runs_in_progress_are_kept_by_the_end_of_a_run_and_by_runs_prune(write_config, state_url: str, tmp_path: Path) -> None:
    """A run held in its extract (a real process) while another run of the file ends with
    ``history: {keep_runs: 1}`` and while ``runs prune`` runs: it stays, and finishes recorded in
    full; once it ended, the next prune removes it."""
    config = write_config(KEEP_ONE, **HELD)
    env = {"STATE_URL": state_url}
    hold = tmp_path / "hold"
    hold.mkdir()
    held = subprocess.Popen([str(BIN / "orchestrator"), "run", str(config)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, **ONLY_BUILTIN, **env, "HOLD": str(hold)})
    try:
        deadline = time.monotonic() + 60
        while not (hold / "started").exists():
            assert held.poll() is None and time.monotonic() < deadline, held.communicate()
            time.sleep(0.02)
        assert cli("run", str(config), env=env).returncode == 0  # ends by pruning to the newest run
        assert cli("run", str(config), env=env).returncode == 0
        runs = listed(config, env)
        assert [r["status"] for r in runs] == ["succeeded", "running"]  # the held run stays
        pruned = cli("runs", "prune", "--config", str(config), env=env)
        assert (pruned.returncode, pruned.stdout) == (0, "nothing to remove\n"), pruned.stderr
    finally:
        (hold / "go").touch()
        stdout, stderr = held.communicate(timeout=60)
    assert held.returncode == 0, stdout + stderr
    held_id = runs[1]["run_id"]
    shown = json.loads(cli("runs", "show", held_id, "--config", str(config), "--json", env=env).stdout)
    assert shown["run"]["status"] == "succeeded"  # it ended, and was not pruned by its own end
    assert {(s["step"], s["status"]) for s in shown["steps"]} == {("src", "succeeded"), ("out", "succeeded")}
    dry = cli("runs", "prune", "--config", str(config), "--dry-run", env=env)
    assert dry.returncode == 0 and dry.stdout.startswith(f"would remove 1 run of {config.resolve()}:\n  {held_id}  succeeded  ")
    assert len(listed(config, env)) == 2
    done = cli("runs", "prune", "--config", str(config), env=env)
    assert done.stdout == f"removed 1 run of {config.resolve()}, with its checkpoints and dead letters\n"
    assert [r["run_id"] for r in listed(config, env)] == [runs[0]["run_id"]]


def test_runs_prune_options_override_the_setting_and_apply_to_every_file(write_config, tmp_path: Path) -> None:
    config = write_config(KEEP_ONE.replace('state: "${STATE_URL}"\n', ""), **HELD)
    second = config.with_name("second.yaml")
    second.write_text(config.read_text().replace("history: {keep_runs: 1}\n", ""))
    for path in (config, second, second, second):
        assert cli("run", str(path)).returncode == 0
    state = str(tmp_path / ".orchestrator" / "state.db")
    as_json = cli("runs", "prune", "--state", state, "--keep-runs", "2", "--dry-run", "--json")
    found = json.loads(as_json.stdout)
    assert found["dry_run"] is True and [r["config"] for r in found["runs"]] == [str(second.resolve())]
    assert cli("runs", "prune", "--state", state, "--keep-runs", "2").returncode == 0
    counts = [r["config"] for r in json.loads(cli("runs", "--state", state, "--json").stdout)]
    assert sorted(counts) == sorted([str(config.resolve()), str(second.resolve()), str(second.resolve())])


@pytest.mark.parametrize(("args", "message"), [
    (("runs", "prune"), "error: say how much to keep: --keep-days N, --keep-runs N, or --config FILE with a history: setting\n"),
    (("runs", "--keep-runs", "3"), "error: --keep-days, --keep-runs and --dry-run go with 'orchestrator runs prune'\n"),
])
def test_runs_prune_says_what_it_needs(args: tuple[str, ...], message: str, tmp_path: Path) -> None:
    result = cli(*args, cwd=tmp_path)
    assert (result.returncode, result.stderr) == (2, message)


@pytest.mark.parametrize(("history", "problem"), [
    ("{keep_days: 0}", "history.keep_days"),
    ("{keep_runs: many}", "history.keep_runs"),
    ("{}", "history"),
    ("{keep_weeks: 2}", "history.keep_weeks"),
    ("{keep_runs: 5}\nstate: 'off'", "history: keeps part of the run history, but 'state: off' records none"),
])
def test_a_wrong_history_setting_is_refused(write_config, history: str, problem: str) -> None:
    config = write_config(KEEP_ONE.replace('state: "${STATE_URL}"\n', "").replace("{keep_runs: 1}", history), **HELD)
    result = cli("validate", str(config))
    assert result.returncode == 2 and problem in result.stdout + result.stderr, result.stdout + result.stderr


def test_the_documented_retention_example_runs(tmp_path: Path) -> None:
    """docs/reliability.md's ``kept.yaml`` recorded three times, then its ``prune.sh`` commands,
    one by one, as a user types them."""
    from test_docs import DOCS, blocks, write_page_files

    page = DOCS / "reliability.md"
    write_page_files(page, tmp_path)
    for _ in range(3):
        assert cli("run", "kept.yaml", cwd=tmp_path).returncode == 0
    (script,) = [block for block in blocks(page) if block.title == "prune.sh"]
    outputs = []
    for line in script.body.splitlines():
        command = shlex.split(line.split("#", 1)[0])
        assert command[:3] == ["orchestrator", "runs", "prune"], line
        done = cli(*command[1:], cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    kept = str((tmp_path / "kept.yaml").resolve())
    assert outputs[0] == "nothing to remove\n"  # three runs today: within 30 days and 1,000 runs
    assert outputs[1] == f"removed 2 runs of {kept}, with their checkpoints and dead letters\n"
    assert json.loads(outputs[2]) == {"dry_run": False, "runs": []}
    assert len(json.loads(cli("runs", "--config", "kept.yaml", "--json", cwd=tmp_path).stdout)) == 1
