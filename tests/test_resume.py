"""Resuming a run: real ``orchestrator run`` processes, killed with SIGKILL or failed, then run
again with ``--resume``; the targets must hold every row exactly once."""

from __future__ import annotations

import csv
import json
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from helpers import BIN, ONLY_BUILTIN, cli

ROWS = 4000


def _count(database: Path, table: str) -> tuple[int, int]:
    with sqlite3.connect(database) as db:
        return db.execute(f"SELECT COUNT(*), COUNT(DISTINCT id) FROM {table}").fetchone()


def _rows_in(database: Path, table: str) -> int:
    try:
        return _count(database, table)[0]
    except sqlite3.Error:  # not created yet
        return 0


def _start(config: Path) -> subprocess.Popen[str]:
    import os

    return subprocess.Popen(
        [str(BIN / "orchestrator"), "run", str(config)], env={**os.environ, **ONLY_BUILTIN},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )


def _kill_when(process: subprocess.Popen[str], ready, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        assert process.poll() is None, f"the run ended before it could be killed: {process.stderr.read() if process.stderr else ''}"
        assert time.monotonic() < deadline, "the run never reached the point where it is killed"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()


def _events(result: subprocess.CompletedProcess[str]) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


@pytest.fixture
def orders(write_config, tmp_path: Path) -> Path:
    with (tmp_path / "orders.csv").open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["id", "amount"])
        writer.writerows([i, i % 97] for i in range(ROWS))
    return write_config(
        """
        pipelines:
          orders:
            type: ETL
            phases:
              extract: {steps: [{plugin: csv.read, args: {path: orders.csv, batch_size: 50}}]}
              transform: {steps: [{plugin: python.call, args: {callable: "slow:each"}}]}
              load: {steps: [{plugin: sqlite.write, args: {database: out.db, table: orders}}]}
        """,
        **{"slow.py": "import time\ndef each(batch):\n    time.sleep(0.02)\n    return batch\n"},
    )


def test_a_run_killed_in_the_middle_of_a_load_resumes_and_loads_every_row_once(orders: Path) -> None:
    target = orders.parent / "out.db"
    process = _start(orders)
    _kill_when(process, lambda: 0 < _rows_in(target, "orders") < ROWS // 2)
    assert process.returncode == -signal.SIGKILL
    loaded_before = _rows_in(target, "orders")
    assert 0 < loaded_before < ROWS
    listed = cli("runs", "--config", str(orders))
    assert " running (process gone) " in listed.stdout, listed.stdout

    result = cli("run", str(orders), "--resume")
    assert result.returncode == 0, result.stdout + result.stderr
    assert _count(target, "orders") == (ROWS, ROWS)
    with sqlite3.connect(target) as db:  # one ledger row per batch of 50, each committed once
        assert db.execute("SELECT COUNT(*), SUM(rows) FROM _orchestrator_loads").fetchone() == (ROWS // 50, ROWS)

    (run,) = json.loads(cli("runs", "--config", str(orders), "--json").stdout)
    assert run["status"] == "succeeded"
    shown = json.loads(cli("runs", "show", run["run_id"], "--config", str(orders), "--json").stdout)
    # the killed attempt is recorded as interrupted once its start was flushed (within flush_seconds)
    attempts = [(s["attempt"], s["status"]) for s in shown["steps"] if s["step"] == "sqlite.write"]
    assert attempts[-1][1] == "succeeded" and all(status == "interrupted" for _, status in attempts[:-1])
    assert [number for number, _ in attempts] == list(range(1, len(attempts) + 1))
    assert not list((orders.parent / ".orchestrator" / "checkpoints").glob("*")), "checkpoints outlived the run"


def test_a_run_stopped_with_sigterm_is_recorded_as_interrupted_and_resumes_exactly_once(orders: Path) -> None:
    target = orders.parent / "out.db"
    process = _start(orders)
    deadline = time.monotonic() + 60
    while not 0 < _rows_in(target, "orders") < ROWS // 2:
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 130
    (run,) = json.loads(cli("runs", "--config", str(orders), "--json").stdout)
    assert run["status"] == "interrupted"
    assert _rows_in(target, "orders") < ROWS

    result = cli("run", str(orders), "--resume", run["run_id"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert _count(target, "orders") == (ROWS, ROWS)


RESUMABLE = """
pipelines:
  first:
    type: ETL
    phases:
      extract: {steps: [{id: src, plugin: python.call, args: {callable: "steps:extract", kwargs: {name: first}}}]}
      load: {steps: [{plugin: sqlite.write, args: {database: out.db, table: first}}]}
  second:
    type: ELT
    depends_on: [first]
    checkpoint: CHECKPOINT
    executor: EXECUTOR
    phases:
      extract: {steps: [{id: src, plugin: python.call, args: {callable: "steps:extract", kwargs: {name: second}}}]}
      load:
        steps:
          - {id: table, plugin: sqlite.write, args: {database: out.db, table: second}}
          - {id: fragile, plugin: python.call, args: {callable: "steps:fragile"}}
      transform_at_load:
        steps:
          - {id: summary, plugin: sqlite.execute, args: {database: out.db, sql: "CREATE TABLE IF NOT EXISTS summary AS SELECT COUNT(*) AS n FROM second"}}
"""

STEPS = """
from pathlib import Path

HERE = Path(__file__).parent


def extract(name):
    calls = HERE / f"{name}.calls"
    calls.write_text(str(int(calls.read_text()) + 1 if calls.exists() else 1))
    return [{"id": i, "name": name} for i in range(100)]


def fragile(batch):
    if not (HERE / "fixed").exists():
        raise ConnectionError("the target is down")
    (HERE / "fragile.rows").write_text(str(len(batch)))
"""


def _kept(config: Path, pipeline: str) -> set[str]:
    """The phases whose output the pipeline keeps, in the one run folder there is (if any)."""
    from orchestrator.runstate.checkpoints import Checkpoints

    folders = list((config.parent / ".orchestrator" / "checkpoints").glob("*"))
    assert len(folders) <= 1
    return {phase for folder in folders for phase in ("extract", "transform") if Checkpoints(folder, pipeline).complete(phase)}


def _calls(config: Path, name: str) -> int:
    return int((config.parent / f"{name}.calls").read_text())


@pytest.mark.parametrize("executor", ["local", "process"])
def test_a_failed_run_resumes_from_its_checkpoints_and_skips_what_completed(write_config, executor: str) -> None:
    config = write_config(RESUMABLE.replace("CHECKPOINT", "true").replace("EXECUTOR", executor), **{"steps.py": STEPS})
    failed = cli("run", str(config))
    assert failed.returncode == 1, failed.stderr
    assert "the target is down" in failed.stdout
    assert _kept(config, "second") == {"extract"}, "the failed pipeline's extract output is kept"
    (run,) = json.loads(cli("runs", "--config", str(config), "--json").stdout)
    shown = json.loads(cli("runs", "show", run["run_id"], "--config", str(config), "--json").stdout)
    assert {p["phase"]: p["status"] for p in shown["phases"] if p["pipeline"] == "second"} == {"extract": "succeeded", "load": "failed"}

    (config.parent / "fixed").touch()
    resumed = cli("run", str(config), "--resume", "--json")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    events = _events(resumed)
    assert {e["pipeline"] for e in events if e["kind"] == "pipeline_reused"} == {"first"}
    assert {(e["pipeline"], e["step"]) for e in events if e["kind"] == "step_reused"} == {("second", "src"), ("second", "table")}
    ran = {(e["pipeline"], e["step"]) for e in events if e["kind"] == "step_finished"}
    assert ran == {("second", "fragile"), ("second", "summary")}
    assert (_calls(config, "first"), _calls(config, "second")) == (1, 1), "nothing was extracted twice"
    assert (config.parent / "fragile.rows").read_text() == "100", "the load got the checkpointed data"
    database = config.parent / "out.db"
    assert _count(database, "first") == (100, 100) and _count(database, "second") == (100, 100)
    assert not (config.parent / ".orchestrator" / "checkpoints").exists() or not _kept(config, "second")
    assert not list((config.parent / ".orchestrator" / "checkpoints").glob("*")), "the run succeeded: its folder goes"


def test_without_checkpoints_a_resume_extracts_again_and_still_skips_completed_loads(write_config) -> None:
    config = write_config(RESUMABLE.replace("CHECKPOINT", "false").replace("EXECUTOR", "local"), **{"steps.py": STEPS})
    assert cli("run", str(config)).returncode == 1
    assert _kept(config, "second") == set(), "checkpoint: false keeps nothing"
    (config.parent / "fixed").touch()
    assert cli("run", str(config), "--resume").returncode == 0
    assert (_calls(config, "first"), _calls(config, "second")) == (1, 2)
    assert _count(config.parent / "out.db", "second") == (100, 100)


def test_a_changed_config_is_refused_unless_forced(write_config) -> None:
    config = write_config(RESUMABLE.replace("CHECKPOINT", "true").replace("EXECUTOR", "local"), **{"steps.py": STEPS})
    assert cli("run", str(config)).returncode == 1
    config.write_text(config.read_text() + "# edited\n")
    (config.parent / "fixed").touch()
    refused = cli("run", str(config), "--resume")
    assert refused.returncode == 2
    assert "changed since that run" in refused.stderr and "--force" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert cli("run", str(config), "--resume", "--force").returncode == 0
    assert _count(config.parent / "out.db", "second") == (100, 100)


def test_changed_parameters_are_refused_too(write_config) -> None:
    config = write_config(
        """
        params: {limit: 1}
        pipelines:
          p:
            type: ETL
            phases:
              extract: {steps: [{plugin: python.call, args: {callable: "steps:extract", kwargs: {name: p}}}]}
              load: {steps: [{plugin: python.call, args: {callable: "steps:fragile"}}]}
        """,
        **{"steps.py": STEPS},
    )
    assert cli("run", str(config), "--param", "limit=2").returncode == 1
    refused = cli("run", str(config), "--resume", "--param", "limit=3")
    assert refused.returncode == 2 and "parameters changed" in refused.stderr
    (config.parent / "fixed").touch()
    assert cli("run", str(config), "--resume", "--param", "limit=2").returncode == 0


@pytest.mark.parametrize(
    ("setup", "resume", "message"),
    [
        ("succeed", ["--resume"], "no failed or interrupted run of"),
        ("succeed", ["--resume", "LAST"], "that run succeeded, there is nothing to resume"),
        ("succeed", ["--resume", "20990101T000000-abcdef"], "no such run"),
        ("off", ["--resume"], "says 'state: off'"),
    ],
)
def test_what_cannot_be_resumed_is_refused_with_a_reason(write_config, setup: str, resume: list[str], message: str) -> None:
    config = write_config(
        f"""
        {"state: 'off'" if setup == "off" else ""}
        pipelines:
          p:
            type: ETL
            phases:
              extract: {{steps: [{{plugin: python.call, args: {{callable: "steps:extract", kwargs: {{name: p}}}}}}]}}
              load: {{steps: [{{plugin: jsonl.write, args: {{path: out.jsonl}}}}]}}
        """,
        **{"steps.py": STEPS},
    )
    assert cli("run", str(config)).returncode == 0
    if "LAST" in resume:
        resume[1] = json.loads(cli("runs", "--config", str(config), "--json").stdout)[0]["run_id"]
    refused = cli("run", str(config), *resume)
    assert refused.returncode == 2, refused.stdout
    assert message in refused.stderr and "Traceback" not in refused.stderr


def test_a_streamed_load_input_is_read_back_from_its_checkpoint_without_the_source(write_config) -> None:
    config = write_config(
        """
        pipelines:
          p:
            type: ETL
            phases:
              extract: {steps: [{id: src, plugin: csv.read, args: {path: in.csv, batch_size: 10}}]}
              transform: {steps: [{id: double, plugin: python.call, args: {callable: "loads:double"}}]}
              load:
                steps:
                  - {id: table, plugin: sqlite.write, args: {database: out.db, table: t}}
                  - {id: last, plugin: python.call, args: {callable: "loads:fails_on_the_last_batch"}}
        """,
        **{
            "in.csv": "id\n" + "".join(f"{i}\n" for i in range(100)),
            "loads.py": "import time\nfrom pathlib import Path\nHERE = Path(__file__).parent\n"
                        "def double(rows):\n    return [{'id': int(r['id']), 'twice': 2 * int(r['id'])} for r in rows]\n"
                        "def fails_on_the_last_batch(batch):\n"
                        "    if batch[-1]['id'] == 99 and not (HERE / 'fixed').exists():\n"
                        "        time.sleep(0.5)  # the stream has ended and its checkpoint is complete by then\n"
                        "        raise ConnectionError('gone')\n"
                        "    with (HERE / 'seen.txt').open('a') as f:\n        f.write(f\"{batch[0]['id']}\\n\")\n",
        },
    )
    assert cli("run", str(config)).returncode == 1
    assert _kept(config, "p") == {"transform"}
    (config.parent / "in.csv").unlink()  # the resume must not need the source
    (config.parent / "fixed").touch()
    (config.parent / "seen.txt").unlink()
    resumed = cli("run", str(config), "--resume", "--json")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert {e["step"] for e in _events(resumed) if e["kind"] == "step_reused"} == {"src", "double", "table"}
    assert (config.parent / "seen.txt").read_text().split() == [str(i) for i in range(0, 100, 10)]
    with sqlite3.connect(config.parent / "out.db") as db:
        assert db.execute("SELECT COUNT(*), SUM(twice) FROM t").fetchone() == (100, 2 * sum(range(100)))


def test_checkpoints_keep_small_outputs_as_records_and_large_ones_as_files(tmp_path: Path) -> None:
    from orchestrator.runstate.checkpoints import RECORDS, SMALL_ROWS, Checkpoints, recover

    small, large = [{"id": 1}], [{"id": i} for i in range(SMALL_ROWS + 1)]
    kept = Checkpoints(tmp_path, "p")
    kept.keep_whole("extract", small)
    kept.keep_whole("transform", large)
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([RECORDS, "p.transform.checkpoint"])
    again = Checkpoints(tmp_path, "p", resumed=True)
    assert (list(again.read("extract")), list(again.read("transform"))) == ([small], [large])
    assert not Checkpoints(tmp_path, "other").complete("extract")

    with (tmp_path / RECORDS).open("ab") as file:  # a record a crash cut short is not taken ...
        file.write(b"\xff\x00\x00\x00half")
    assert list(Checkpoints(tmp_path, "p", resumed=True).read("extract")) == [small]
    recover(tmp_path)  # ... and is cut off before a resumed run appends its own
    again.discard(again=True)
    fresh = Checkpoints(tmp_path, "p", resumed=True)
    assert not fresh.complete("extract") and not fresh.complete("transform")


def test_a_run_whose_process_still_runs_is_not_resumed_under_it(orders: Path) -> None:
    target = orders.parent / "out.db"
    process = _start(orders)
    try:
        deadline = time.monotonic() + 60
        while not _rows_in(target, "orders"):
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        refused = cli("run", str(orders), "--resume")
        assert refused.returncode == 2, refused.stdout
        assert f"may still be running (process {process.pid} on" in refused.stderr
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    result = cli("run", str(orders), "--resume")  # its process is gone now
    assert result.returncode == 0, result.stdout + result.stderr
    assert _count(target, "orders") == (ROWS, ROWS)


def test_a_later_success_retires_the_earlier_failed_run(write_config) -> None:
    """Once a fresh run of the file succeeded, the older failed run's checkpoints go, and
    resuming it (which would load its data over the newer run's) needs --force."""
    config = write_config(RESUMABLE.replace("CHECKPOINT", "true").replace("EXECUTOR", "local"), **{"steps.py": STEPS})
    assert cli("run", str(config)).returncode == 1
    (failed,) = json.loads(cli("runs", "--config", str(config), "--json").stdout)
    assert _kept(config, "second") == {"extract"}
    (config.parent / "fixed").touch()
    assert cli("run", str(config)).returncode == 0  # afresh, not resumed
    assert not list((config.parent / ".orchestrator" / "checkpoints").glob("*")), "the failed run's checkpoints went"
    refused = cli("run", str(config), "--resume", failed["run_id"])
    assert refused.returncode == 2 and "started after it, succeeded" in refused.stderr and "--force" in refused.stderr
    assert cli("run", str(config), "--resume", failed["run_id"], "--force").returncode == 0


@pytest.mark.parametrize("kind", ["def", "async def"])
def test_a_batch_that_cannot_be_kept_drops_the_checkpoint_and_the_stream_goes_on(write_config, kind: str) -> None:
    """The checkpoint of a stream is written with each transformed batch (in the transform's
    worker thread when the transform is sync, on its own otherwise); a batch that cannot be
    written ends the checkpoint with one warning, never the pipeline, and every batch still loads."""
    config = write_config(
        """
        pipelines:
          p:
            type: ETL
            phases:
              extract: {steps: [{id: src, plugin: csv.read, args: {path: in.csv, batch_size: 10}}]}
              transform: {steps: [{id: tag, plugin: python.call, args: {callable: "steps:tag"}}]}
              load: {steps: [{id: out, plugin: python.call, args: {callable: "steps:out"}}]}
        """,
        **{
            "in.csv": "id\n" + "".join(f"{i}\n" for i in range(100)),
            "steps.py": "from pathlib import Path\nHERE = Path(__file__).parent\n"
                        f"{kind} tag(rows):\n"
                        "    # a function does not pickle: the fourth batch cannot be kept\n"
                        "    return [{'id': int(r['id']), 'f': (lambda: 0) if r['id'] == '35' else None} for r in rows]\n"
                        "def out(batch):\n"
                        "    with (HERE / 'seen.txt').open('a') as f:\n"
                        "        f.write(''.join(f\"{r['id']}\\n\" for r in batch))\n",
        },
    )
    result = cli("run", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert (result.stdout + result.stderr).count("no checkpoint kept") == 1
    assert (config.parent / "seen.txt").read_text().split() == [str(i) for i in range(100)]
