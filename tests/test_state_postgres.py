"""The run state in PostgreSQL: recorded by real ``orchestrator run`` processes into a real server
started on 127.0.0.1 for the session (the test kit's ``postgresql_server``), shown by
``orchestrator runs --state postgresql://...``; and the store contract, checked once and run on
SQLite and on PostgreSQL alike."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from itertools import count
from pathlib import Path
from typing import Any

import pytest

from helpers import BIN, ONLY_BUILTIN, cli
from orchestrator.config.plan import load_plan
from orchestrator.engine import Engine
from orchestrator.events import Event, Kind, discard
from orchestrator.plugins.discovery import Plugins
from orchestrator.runstate.progress import Progress
from orchestrator.runstate.history import SQLState, StateError, open_state
from orchestrator.testing.postgresql import PostgresServer, free_port

_schemas = count(1)

FLAKY = {
    "flaky.py": "def rows(context):\n    c = context.path('n')\n    n = int(c.read_text()) + 1 if c.exists() else 1\n"
                "    c.write_text(str(n))\n    if n < 3:\n        raise ConnectionError(f'try {n} failed')\n    return [{'a': 1}]\n",
}
RETRIED = """
state: "${STATE_URL}"
pipelines:
  p:
    type: ETL
    phases:
      extract:
        steps:
          - {id: src, plugin: python.call, args: {callable: "flaky:rows"}, retry: {attempts: 3, initial: 10ms}}
      load: {steps: [{plugin: jsonl.write, args: {path: out.jsonl}}]}
"""
#: one pipeline that succeeds, one whose transform fails after its extract succeeded, and one
#: skipped because it depends on the failed one
HALF_DONE = """
state: "${STATE_URL}"
pipelines:
  good:
    type: ETL
    phases:
      extract: {steps: [{id: src, plugin: python.call, args: {callable: "rows:two"}}]}
      load: {steps: [{id: out, plugin: jsonl.write, args: {path: good.jsonl}}]}
  bad:
    type: ETL
    phases:
      extract: {steps: [{id: src, plugin: python.call, args: {callable: "rows:three"}}]}
      transform: {steps: [{id: boom, plugin: python.call, args: {callable: "rows:boom"}}]}
      load: {steps: [{id: out, plugin: jsonl.write, args: {path: bad.jsonl}}]}
  after:
    type: ETL
    depends_on: [bad]
    phases:
      extract: {steps: [{id: src, plugin: python.call, args: {callable: "rows:two"}}]}
      load: {steps: [{id: out, plugin: jsonl.write, args: {path: after.jsonl}}]}
"""
ROWS = {
    "rows.py": "def two():\n    return [{'a': 1}, {'a': 2}]\n\ndef three():\n    return [{'a': 1}, {'a': 2}, {'a': 3}]\n\n"
               "def boom(rows):\n    raise ValueError('no')\n\ndef keep(rows):\n    return rows\n",
}


@pytest.fixture
def pg_url(postgresql_server: PostgresServer) -> str:
    """A state URL of a fresh, empty schema of this test's own."""
    return postgresql_server.url(postgresql_server.create_schema(f"state_{next(_schemas)}"))


@pytest.fixture(params=["sqlite", "postgresql"])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test that takes it runs once on each backend, with a store of its own."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'history' / 'state.db'}"
    return request.getfixturevalue("pg_url")


def history(url: str, *args: str) -> Any:
    result = cli("runs", *args, "--state", url, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# -- orchestrator run and orchestrator runs, as a user runs them ---------------------------------------


def test_a_run_is_recorded_in_postgresql_and_shown_by_runs(write_config, pg_url: str, tmp_path: Path) -> None:
    config = write_config(HALF_DONE, **ROWS)
    done = cli("run", str(config), env={"STATE_URL": pg_url})
    assert done.returncode == 1, done.stderr
    assert not (tmp_path / ".orchestrator" / "state.db").exists()  # the server holds the history
    (listed,) = history(pg_url)
    assert (listed["status"], listed["pipelines"], listed["not_succeeded"]) == ("failed", 3, 2)
    assert listed["config"] == str(config.resolve())
    shown = history(pg_url, "show", listed["run_id"])
    assert {p["pipeline"]: p["status"] for p in shown["pipelines"]} == {"good": "succeeded", "bad": "failed", "after": "skipped"}
    steps = {(s["pipeline"], s["step"]): (s["status"], s["rows"]) for s in shown["steps"]}
    assert steps == {
        ("good", "src"): ("succeeded", 2), ("good", "out"): ("succeeded", 2),
        ("bad", "src"): ("succeeded", 3), ("bad", "boom"): ("failed", None),
    }
    (bad,) = [p for p in shown["pipelines"] if p["pipeline"] == "bad"]
    assert bad["error"] == "step 'boom' (python.call) failed: ValueError: no"
    # the config's own state: setting finds the same history
    by_config = cli("runs", "--config", str(config), "--json", env={"STATE_URL": pg_url})
    assert by_config.returncode == 0, by_config.stderr
    assert [r["run_id"] for r in json.loads(by_config.stdout)] == [listed["run_id"]]
    table = cli("runs", "show", listed["run_id"], "--state", pg_url)
    assert table.returncode == 0 and "step 'boom' (python.call) failed: ValueError: no" in table.stdout


def test_every_attempt_of_a_retried_step_is_recorded(write_config, state_url: str) -> None:
    """On either backend: one row per attempt, with the error of each failed one."""
    config = write_config(RETRIED, **FLAKY)
    assert cli("run", str(config), env={"STATE_URL": state_url}).returncode == 0
    (listed,) = history(state_url)
    steps = [s for s in history(state_url, "show", listed["run_id"])["steps"] if s["step"] == "src"]
    assert [(s["attempt"], s["status"], s["error"]) for s in steps] == [
        (1, "failed", "ConnectionError: try 1 failed"),
        (2, "failed", "ConnectionError: try 2 failed"),
        (3, "succeeded", None),
    ]


def test_what_runs_used_and_cost_is_recorded_and_summed_by_runs_stats(write_config, state_url: str) -> None:
    """On either backend: the usage columns, the cost, and the statistics over them."""
    config = write_config("cost: {currency: EUR, cpu_hour: 3600}\n" + HALF_DONE, **ROWS)
    for _ in range(2):
        assert cli("run", str(config), env={"STATE_URL": state_url}).returncode == 1
    latest = history(state_url)[0]
    shown = history(state_url, "show", latest["run_id"])
    (good,) = [p for p in shown["pipelines"] if p["pipeline"] == "good"]
    assert good["rows"] == 2 and good["cpu"] > 0 and good["rss"] > 0 and good["cost"] > 0
    assert shown["run"]["currency"] == "EUR" and shown["run"]["cost"] == pytest.approx(
        sum(p["cost"] or 0 for p in shown["pipelines"])
    )
    stats = {entry["pipeline"]: entry for entry in history(state_url, "stats")}
    assert {name: (e["runs"], e["succeeded"], e["rows"]) for name, e in stats.items()} == {
        "after": (2, 0, None), "bad": (2, 0, None), "good": (2, 2, 4),
    }
    assert stats["good"]["cost"] > 0 and stats["good"]["p50"] > 0 and stats["bad"]["p50"] is None
    table = cli("runs", "stats", "--state", state_url).stdout
    assert table.splitlines()[0].split()[:3] == ["pipeline", "runs", "success"] and " EUR " in table


def test_concurrent_runs_record_into_one_postgresql_database(write_config, pg_url: str) -> None:
    """Processes that start at once into an empty schema all create its tables, and all record."""
    config = write_config(HALF_DONE.replace("rows:boom", "rows:keep"), **ROWS)
    env = {**os.environ, **ONLY_BUILTIN, "STATE_URL": pg_url}
    processes = [
        subprocess.Popen([str(BIN / "orchestrator"), "run", str(config), "--pipeline", name],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True)
        for name in ("good", "bad", "good", "bad")
    ]
    outcomes = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in processes]
    assert [code for code, _ in outcomes] == [0, 0, 0, 0], outcomes
    listed = history(pg_url)
    assert len(listed) == 4 and {r["status"] for r in listed} == {"succeeded"}, outcomes
    assert sorted(r["pipelines"] for r in listed) == [1, 1, 1, 1]


def test_stores_opened_at_once_create_the_tables_without_a_race(pg_url: str) -> None:
    """PostgreSQL's CREATE TABLE IF NOT EXISTS fails (unique violation in pg_type) when two
    sessions create the same table at the same moment; the stores take a lock around it."""
    opened: list[SQLState] = []
    failures: list[BaseException] = []
    start = threading.Barrier(8)

    def open_one() -> None:
        start.wait()
        try:
            opened.append(open_state(pg_url, Path.cwd()))
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for store in opened:
        store.close()
    assert failures == [] and len(opened) == 8


# -- errors: clean, one line, exit 2, the password masked ----------------------------------------------


def test_a_server_that_cannot_be_reached_is_a_clean_error(write_config, postgresql_server: PostgresServer) -> None:
    port = free_port()  # nothing listens there
    url = postgresql_server.url(port=port)
    config = write_config(RETRIED, **FLAKY)
    for result in (cli("run", str(config), env={"STATE_URL": url}), cli("runs", "--state", url)):
        assert result.returncode == 2, result.stderr
        assert result.stdout == "" and "Traceback" not in result.stderr
        assert postgresql_server.password not in result.stderr
        shown = f"postgresql://orchestrator:***@127.0.0.1:{port}/postgres"
        assert result.stderr.startswith(f"error: cannot open the state store {shown}: ")
        assert "Connection refused" in result.stderr and result.stderr.count("\n") == 1
    assert not (config.parent / "out.jsonl").exists()  # nothing ran


def test_a_wrong_password_is_a_clean_error_that_does_not_show_it(write_config, postgresql_server: PostgresServer) -> None:
    wrong = "not-the-password-8812"
    url = postgresql_server.url(password=wrong)
    config = write_config(RETRIED.replace('"${STATE_URL}"', url), **FLAKY)  # written in the file: no secret by name
    result = cli("run", str(config))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert wrong not in result.stdout + result.stderr
    assert "postgresql://orchestrator:***@127.0.0.1:" in result.stderr
    assert 'password authentication failed for user "orchestrator"' in result.stderr


def test_the_password_in_the_state_url_is_never_printed(write_config, postgresql_server: PostgresServer) -> None:
    """A URL written into the config is not a secret by an environment variable's name; its
    password still reaches no output: not the run's, not the history's, not a validation error's."""
    url = postgresql_server.url(postgresql_server.create_schema(f"state_{next(_schemas)}"))
    secret = postgresql_server.password
    config = write_config(HALF_DONE.replace('"${STATE_URL}"', url), **ROWS)
    outputs = [cli("run", str(config)), cli("run", str(config), "--json")]
    (listed, _) = history(url)
    outputs += [
        cli("runs", "--state", url), cli("runs", "--config", str(config)), cli("runs", "show", listed["run_id"], "--state", url),
        cli("runs", "show", listed["run_id"], "--config", str(config), "--json"),
    ]
    config.write_text(config.read_text().replace("postgresql://", "postgresq://"))  # a typo in the scheme
    outputs += [cli("validate", str(config)), cli("run", str(config))]
    assert [o.returncode for o in outputs] == [1, 1, 0, 0, 0, 0, 2, 2]
    for output in outputs:
        assert secret not in output.stdout + output.stderr
    assert "'postgresq://orchestrator:***@127.0" in outputs[-1].stderr


def test_without_psycopg_the_error_says_what_to_install(write_config, pg_url: str, tmp_path: Path) -> None:
    shadow = tmp_path / "no-psycopg" / "psycopg"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError(\"No module named 'psycopg'\")\n")
    config = write_config(RETRIED, **FLAKY)
    env = {"STATE_URL": pg_url, "PYTHONPATH": str(shadow.parent)}
    for result in (cli("run", str(config), env=env), cli("runs", "--state", pg_url, env=env)):
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert result.stderr == (
            "error: a postgresql:// state store needs psycopg, which is not installed: "
            "pip install 'pipeline-orchestrator[postgres]'\n"
        )


def test_an_unknown_store_in_runs_state_lists_the_accepted_ones() -> None:
    result = cli("runs", "--state", "mysql://admin:hunter2@db/x")
    assert result.returncode == 2 and "hunter2" not in result.stderr
    assert result.stderr == (
        "error: unknown state store 'mysql://admin:***@db/x': use sqlite:///PATH, "
        "postgresql://USER:PASSWORD@HOST:PORT/DATABASE (or postgres://), or off\n"
    )


# -- the store contract: the same answers from every backend ---------------------------------------------


@pytest.fixture
def recorded_run(tmp_path_factory: pytest.TempPathFactory, plugins: Plugins) -> tuple[Path, list[Event]]:
    """One real run of HALF_DONE, in-process, and every event it emitted: replayed into each
    store, it is the same recorded run on every backend."""
    base = tmp_path_factory.mktemp("recorded")
    for name, text in ROWS.items():
        (base / name).write_text(text)
    config = base / "pipeline.yaml"
    config.write_text(HALF_DONE.replace('"${STATE_URL}"', '"off"'))
    events: list[Event] = []
    result = Engine(load_plan(config, plugins.registry), plugins, events.append).run_sync()
    assert not result.ok and result.pipelines["good"].status == "succeeded"
    return config, events


def replay(url: str, recorded: tuple[Path, list[Event]], plugins: Plugins) -> SQLState:
    config, events = recorded
    plan = load_plan(config, plugins.registry)
    store = open_state(url, config.parent)
    sink = store.recording(events[0].run_id, plan, discard)
    for event in events:
        sink(event)
    store.flush()
    return store


@pytest.fixture
def store(state_url: str, recorded_run: tuple[Path, list[Event]], plugins: Plugins) -> Any:
    opened = replay(state_url, recorded_run, plugins)
    yield opened
    opened.close()


def test_store_progress_is_what_the_run_completed(store: SQLState, recorded_run: tuple[Path, list[Event]]) -> None:
    run_id = recorded_run[1][0].run_id
    assert store.progress(run_id) == Progress(frozenset({"good"}), {"bad": {"src": 3}})
    assert store.progress("no-such-run") == Progress()


def test_store_latest_unfinished_is_the_failed_run_of_that_config(store: SQLState, recorded_run: tuple[Path, list[Event]]) -> None:
    config, events = recorded_run
    found = store.latest_unfinished(str(config.resolve()))
    assert found is not None
    assert (found["run_id"], found["status"], found["config"]) == (events[0].run_id, "failed", str(config.resolve()))
    assert store.latest_unfinished("/elsewhere/pipeline.yaml") is None


def test_store_lists_and_shows_the_run(store: SQLState, recorded_run: tuple[Path, list[Event]]) -> None:
    run_id = recorded_run[1][0].run_id
    (listed,) = store.runs(10)
    assert (listed["run_id"], listed["status"], listed["pipelines"], listed["not_succeeded"]) == (run_id, "failed", 3, 2)
    pipelines = {p["pipeline"]: (p["status"], p["attempts"], p["error"]) for p in store.pipelines(run_id)}
    assert pipelines == {
        "good": ("succeeded", 1, None),
        "bad": ("failed", 1, "step 'boom' (python.call) failed: ValueError: no"),
        "after": ("skipped", 1, "skipped: depends on 'bad', which did not succeed"),
    }
    assert list(pipelines)[-1] == "after"  # never started: listed last
    assert {(s["pipeline"], s["step"], s["status"], s["rows"]) for s in store.steps(run_id)} == {
        ("good", "src", "succeeded", 2), ("good", "out", "succeeded", 2),
        ("bad", "src", "succeeded", 3), ("bad", "boom", "failed", None),
    }


def test_sqlite_and_postgresql_answer_alike(
    tmp_path: Path, pg_url: str, recorded_run: tuple[Path, list[Event]], plugins: Plugins
) -> None:
    """Value for value and type for type, for the same recorded run (only ``runs.started``, the
    moment each store was told about the run, differs)."""
    config, events = recorded_run
    run_id = events[0].run_id
    answers: list[tuple[Any, ...]] = []
    for url in (f"sqlite:///{tmp_path / 'state.db'}", pg_url):
        store = replay(url, recorded_run, plugins)
        try:
            unfinished = store.latest_unfinished(str(config.resolve()))
            assert unfinished is not None
            answers.append((
                store.progress(run_id),
                _typed({k: v for k, v in unfinished.items() if k != "started"}),
                _typed([{k: v for k, v in r.items() if k != "started"} for r in store.runs(5)]),
                _typed(store.pipelines(run_id)),
                _typed(store.steps(run_id)),
            ))
        finally:
            store.close()
    assert answers[0] == answers[1]


def _typed(value: Any) -> Any:
    """Values with their types, so that 2 and 2.0 (or '2') do not compare equal."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return (type(value).__name__, value)


def test_a_state_error_masks_the_password(postgresql_server: PostgresServer) -> None:
    with pytest.raises(StateError) as raised:
        open_state(postgresql_server.url(database="no_such_database"), Path.cwd())
    message = str(raised.value)
    assert postgresql_server.password not in message and "\n" not in message
    assert message.startswith("cannot open the state store postgresql://orchestrator:***@127.0.0.1:")
    assert 'database "no_such_database" does not exist' in message


def test_a_server_lost_during_the_run_stops_the_recording_not_the_run(tmp_path: Path) -> None:
    """The run's own server, stopped while a step runs: the pipelines finish, and the history
    says in one warning that the rest of the run is not recorded."""
    import shutil
    import time

    from orchestrator.testing.postgresql import start_server

    server = start_server()
    try:
        url = server.url(server.create_schema("lost"))
        (tmp_path / "slow.py").write_text(
            "import time\nfrom pathlib import Path\n\n"
            "def rows():\n    Path(__file__).with_name('started').touch()\n"
            "    deadline = time.monotonic() + 60\n"
            "    while not Path(__file__).with_name('stopped').exists() and time.monotonic() < deadline:\n"
            "        time.sleep(0.02)  # the run goes on once the test has stopped the server\n"
            "    return [{'a': 1}]\n"
        )
        (tmp_path / "pipeline.yaml").write_text(
            'state: "${STATE_URL}"\npipelines:\n  p:\n    type: ETL\n    phases:\n'
            '      extract: {steps: [{plugin: python.call, args: {callable: "slow:rows"}}]}\n'
            '      load: {steps: [{plugin: jsonl.write, args: {path: out.jsonl}}]}\n'
        )
        run = subprocess.Popen(
            [str(BIN / "orchestrator"), "run", str(tmp_path / "pipeline.yaml")], text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **ONLY_BUILTIN, "STATE_URL": url},
        )
        deadline = time.monotonic() + 60
        while not (tmp_path / "started").exists():
            assert run.poll() is None and time.monotonic() < deadline, run.communicate()
            time.sleep(0.02)
        server.stop()
        (tmp_path / "stopped").touch()
        stdout, stderr = run.communicate(timeout=120)
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)
    assert run.returncode == 0, stdout + stderr
    assert (tmp_path / "out.jsonl").read_text() == '{"a": 1}\n'
    assert "Traceback" not in stderr
    (warning,) = [line for line in stderr.splitlines() if line.startswith("warning: the run history in postgresql://")]
    assert "could not be written" in warning and "cannot be resumed" in warning and server.password not in warning


def test_store_pages_runs_and_keeps_log_lines_and_the_config_text(
    state_url: str, recorded_run: tuple[Path, list[Event]], plugins: Plugins
) -> None:
    config, events = recorded_run
    run_id = events[0].run_id
    lines = [Event(Kind.LOG, run_id, "bad", step="boom", level="warning", message=f"line {n}") for n in range(3)]
    store = replay(state_url, (config, [*events[:-1], *lines, events[-1]]), plugins)
    try:
        (page,) = store.run_page([str(config.resolve())], 10)
        assert (page["run_id"], page["pipelines"], page["not_succeeded"]) == (run_id, 3, 2)
        assert isinstance(page["not_succeeded"], int) and "config_text" not in page
        assert store.run_page([str(config.resolve())], 10, before=(page["started"], page["run_id"])) == []
        assert store.run_page([str(config.resolve())], 10, status="succeeded") == []
        assert [r["run_id"] for r in store.run_page([str(config.resolve())], 10, pipeline="after")] == [run_id]
        assert store.run_page(["/elsewhere.yaml"], 10) == []
        assert store.run(run_id)["config_text"] == config.read_text()  # type: ignore[index]
        assert [(r["run_id"], r["status"]) for r in store.pipeline_latest(str(config.resolve()), "bad", 25)] == [(run_id, "failed")]
        logged = store.logs(run_id, pipeline="bad", step="boom")
        assert [(line["seq"], line["attempt"], line["level"], line["message"]) for line in logged] == [
            (1, 1, "warning", "line 0"), (2, 1, "warning", "line 1"), (3, 1, "warning", "line 2")]
        assert [line["message"] for line in store.logs(run_id, after=2)] == ["line 2"]
        assert [line["seq"] for line in store.last_logs(run_id, 2)] == [2, 3]
    finally:
        store.close()
