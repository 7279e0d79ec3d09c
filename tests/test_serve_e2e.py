"""``orchestrator serve``, ``schedules`` and ``backfill`` end to end: the real command in a real
process, schedules every second writing to a real SQLite file, SIGTERM, restarts."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from serve_process import ORCHESTRATOR, ROWS, Served, due_once, ran_before_the_stop, rows, state, ticking, wait_for

BERLIN = ZoneInfo("Europe/Berlin")

FILES = """\
pipelines:
  load_drops:
    type: ETL
    triggers:
      - file: {path: "incoming/*.csv", settle: 0.3s}
    phases:
      extract:
        steps:
          - plugin: csv.read
            args: {path: "${trigger.path}"}
      load:
        steps:
          - plugin: sqlite.write
            args: {database: out/drops.db, table: drops}
"""


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "rows.py").write_text(ROWS)
    yield tmp_path


def test_serve_fires_each_tick_once_records_it_and_stops_on_sigterm_then_catches_up(folder: Path) -> None:
    (folder / "ticks.yaml").write_text(ticking(extra=", overlap: queue"))  # caught-up ticks wait for each other
    server = Served(folder, "ticks.yaml")
    table = folder / "out" / "ticks.db"
    wait_for(lambda: len(rows(table, "SELECT * FROM ticks")) >= 4, 60, server.text)
    health = server.get("/api/health")
    assert health["status"] == "ok" and health["lease"] is True and health["files"] == 1
    (listed,) = server.get("/api/schedules")
    assert listed["pipeline"] == "every_second" and listed["kind"] == "every" and len(listed["next"]) == 5
    assert server.stop() == 0, server.text()
    assert "stopped" in server.text()

    loaded = rows(table, "SELECT logical_time, interval_start, interval_end FROM ticks ORDER BY logical_time")
    times = [datetime.fromisoformat(t) for t, _s, _e in loaded]
    assert len(times) == len(set(times)), "a tick ran twice"
    assert all(b - a == timedelta(seconds=1) for a, b in pairwise(times)), "a tick was lost"
    assert all(datetime.fromisoformat(e) - datetime.fromisoformat(s) == timedelta(seconds=1) for _t, s, e in loaded)
    ledger = ran_before_the_stop(rows(state(folder), "SELECT logical_time, status, run_id FROM schedule_ticks ORDER BY logical_time"))
    assert [datetime.fromisoformat(t) for t, _s, _r in ledger] == times
    history = dict(rows(state(folder), "SELECT run_id, status FROM runs"))
    assert all(history.get(run_id) == "succeeded" for _t, _s, run_id in ledger), "the ledger's run ids are the history's"

    time.sleep(2.5)  # ticks missed while no server runs: catchup: all runs them, in order, once
    server = Served(folder, "ticks.yaml")
    before = len(times)
    wait_for(lambda: len(rows(table, "SELECT * FROM ticks")) >= before + 5, 60, server.text)
    assert server.stop() == 0
    times = [datetime.fromisoformat(t) for (t,) in rows(table, "SELECT logical_time FROM ticks ORDER BY logical_time")]
    assert len(times) == len(set(times))
    assert all(b - a == timedelta(seconds=1) for a, b in pairwise(times)), "a missed tick was not caught up"


def test_a_run_still_running_at_sigterm_is_left_resumable_and_the_next_start_resumes_it(folder: Path) -> None:
    (folder / "slow.yaml").write_text(ticking(sleep=3, schedule=due_once()))
    server = Served(folder, "slow.yaml", grace=0)
    wait_for(lambda: "started for" in server.text(), 30, server.text)
    assert server.stop() == 0, server.text()
    assert "left resumable" in server.text()
    ((status, run_id),) = rows(state(folder), "SELECT status, run_id FROM schedule_ticks")
    assert status == "started"
    assert rows(state(folder), f"SELECT status FROM runs WHERE run_id = '{run_id}'") == [("interrupted",)]

    server = Served(folder, "slow.yaml")
    wait_for(lambda: f"run {run_id} succeeded" in server.text(), 60, server.text)
    assert f"resuming run {run_id}" in server.text()
    assert server.stop() == 0
    assert rows(state(folder), "SELECT status, run_id FROM schedule_ticks") == [("succeeded", run_id)]
    assert len(rows(folder / "out" / "ticks.db", "SELECT * FROM ticks")) == 1


def test_a_dropped_file_is_loaded_once_and_not_again_after_a_restart(folder: Path) -> None:
    (folder / "incoming").mkdir()
    (folder / "files.yaml").write_text(FILES)
    server = Served(folder, "files.yaml")
    (folder / "incoming" / "a.csv").write_text("id,name\n1,x\n2,y\n")
    table = folder / "out" / "drops.db"
    wait_for(lambda: len(rows(table, "SELECT * FROM drops")) == 2, 30, server.text)
    time.sleep(1.5)  # more scans and filesystem events: still one run
    assert server.stop() == 0
    assert rows(state(folder), "SELECT status FROM schedule_files") == [("succeeded",)]

    server = Served(folder, "files.yaml")
    time.sleep(2)
    (folder / "incoming" / "b.csv").write_text("id,name\n3,z\n")
    wait_for(lambda: len(rows(table, "SELECT * FROM drops")) == 3, 30, server.text)
    time.sleep(1)
    assert server.stop() == 0
    assert sorted(rows(table, "SELECT id FROM drops")) == [("1",), ("2",), ("3",)]
    assert len(rows(state(folder), "SELECT * FROM schedule_files")) == 2


def test_after_trigger_runs_when_a_pipeline_of_another_file_succeeds(folder: Path) -> None:
    (folder / "ticks.yaml").write_text(ticking(schedule=due_once()))
    downstream = ticking(every="1h").replace("every_second", "downstream").replace("out/ticks.db", "out/after.db")
    downstream = downstream.replace("    schedule: {every: 1h, catchup: all}\n", "    triggers:\n      - after: {pipeline: ticks.yaml#every_second}\n")
    (folder / "after.yaml").write_text(downstream)
    server = Served(folder, str(folder))  # a directory: every *.yaml in it
    wait_for(lambda: len(rows(folder / "out" / "after.db", "SELECT * FROM ticks")) == 1, 60, server.text)
    assert server.stop() == 0
    assert len(rows(folder / "out" / "ticks.db", "SELECT * FROM ticks")) == 1


def test_a_broken_edit_is_reported_and_the_schedule_keeps_its_last_good_cadence(folder: Path) -> None:
    """The last good version keeps the schedule firing; each run reads the file as it is when it
    starts, so while the file is broken its runs fail with the file's problem (recorded like any
    failed run), and the run after the fix succeeds again."""
    config = folder / "ticks.yaml"
    config.write_text(ticking())
    server = Served(folder, "ticks.yaml")
    table = folder / "out" / "ticks.db"
    wait_for(lambda: len(rows(table, "SELECT * FROM ticks")) >= 1, 60, server.text)
    config.write_text(ticking().replace("every: 1s", "every: 1s, timezone: Mars/Olympus"))
    wait_for(lambda: "the last good version keeps running" in server.text(), 30, server.text)
    assert "unknown time zone 'Mars/Olympus'" in server.text()
    wait_for(lambda: len(rows(state(folder), "SELECT * FROM schedule_ticks WHERE status = 'failed'")) >= 2, 30, server.text)
    count = len(rows(table, "SELECT * FROM ticks"))
    config.write_text(ticking().replace("every: 1s", "every: 1s, timezone: Europe/Berlin"))
    wait_for(lambda: "ticks.yaml: reloaded" in server.text(), 30, server.text)
    wait_for(lambda: len(rows(table, "SELECT * FROM ticks")) >= count + 2, 30, server.text)
    assert server.stop() == 0
    newest = datetime.fromisoformat(rows(table, "SELECT logical_time FROM ticks ORDER BY logical_time DESC LIMIT 1")[0][0])
    assert newest.utcoffset() == newest.astimezone(BERLIN).utcoffset()  # Berlin's offset that day: +01:00 in winter, +02:00 in summer


def run_cli(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ORCHESTRATOR, *args], cwd=folder, capture_output=True, text=True, timeout=120, check=False)


def test_backfill_runs_each_tick_once_and_skips_succeeded_ones_unless_forced(folder: Path) -> None:
    (folder / "daily.yaml").write_text(ticking(every="1d").replace("every: 1d", "cron: '0 2 * * *', timezone: Europe/Berlin"))
    done = run_cli(folder, "backfill", "daily.yaml", "--pipeline", "every_second", "--from", "2026-03-27", "--to", "2026-03-30", "--parallel", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 succeeded, 0 failed, 0 skipped" in done.stdout
    table = folder / "out" / "ticks.db"
    loaded = sorted(rows(table, "SELECT logical_time, interval_start FROM ticks"))
    assert [t for t, _s in loaded] == [
        "2026-03-27T02:00:00+01:00", "2026-03-28T02:00:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-30T02:00:00+02:00",
    ]  # 02:00 on 29 March does not exist in Berlin: that tick is at 03:00
    assert loaded[2][1] == "2026-03-28T02:00:00+01:00"

    again = run_cli(folder, "backfill", "daily.yaml", "--pipeline", "every_second", "--from", "2026-03-27", "--to", "2026-03-30")
    assert "0 succeeded, 0 failed, 4 skipped" in again.stdout
    assert len(rows(table, "SELECT * FROM ticks")) == 4
    forced = run_cli(folder, "backfill", "daily.yaml", "--pipeline", "every_second", "--from", "2026-03-29", "--to", "2026-03-29", "--force")
    assert "1 succeeded, 0 failed, 0 skipped" in forced.stdout, forced.stdout + forced.stderr
    assert len(rows(table, "SELECT * FROM ticks")) == 5

    wrong = run_cli(folder, "backfill", "daily.yaml", "--pipeline", "nope", "--from", "2026-03-27", "--to", "2026-03-30")
    assert wrong.returncode == 2 and "no such pipeline" in wrong.stderr


def half_past_two(day: str) -> str:
    """When ``30 2 * * *`` fires in Berlin on ``day``: at 02:30, except on the night the clocks skip
    from 02:00 to 03:00 (the last Sunday of March), when it fires at the next valid instant, 03:00."""
    wall = datetime.fromisoformat(f"{day}T02:30").replace(tzinfo=BERLIN)
    exists = wall.astimezone(UTC).astimezone(BERLIN).replace(tzinfo=None) == wall.replace(tzinfo=None)
    return "02:30" if exists else "03:00"


def test_schedules_lists_next_fire_times_and_pause_stops_the_server_firing(folder: Path) -> None:
    (folder / "ticks.yaml").write_text(ticking())
    (folder / "daily.yaml").write_text(ticking().replace("every: 1s", "cron: '30 2 * * *', timezone: Europe/Berlin"))
    listed = run_cli(folder, "schedules", ".", "--json")
    assert listed.returncode == 0, listed.stderr
    by_pipeline = {Path(row["config"]).name: row for row in json.loads(listed.stdout)}
    daily = by_pipeline["daily.yaml"]
    assert daily["kind"] == "cron" and daily["timezone"] == "Europe/Berlin" and len(daily["next"]) == 5
    assert all(t.startswith(tuple(f"20{y}" for y in range(26, 40))) and t[11:16] == half_past_two(t[:10]) for t in daily["next"])
    assert daily["paused"] is False and daily["last_tick"] is None

    assert run_cli(folder, "schedules", "pause", "ticks.yaml#every_second").returncode == 0
    server = Served(folder, "ticks.yaml")
    time.sleep(3)
    assert rows(folder / "out" / "ticks.db", "SELECT * FROM ticks") == []
    assert run_cli(folder, "schedules", "resume", "ticks.yaml#every_second").returncode == 0
    wait_for(lambda: rows(folder / "out" / "ticks.db", "SELECT * FROM ticks"), 30, server.text)
    assert server.stop() == 0
    listed = json.loads(run_cli(folder, "schedules", "ticks.yaml", "--json").stdout)
    assert listed[0]["paused"] is False and listed[0]["last_tick"]["run_id"]  # its status depends on the machine's speed (overlap: skip)

    unknown = run_cli(folder, "schedules", "pause", "ticks.yaml#nope")
    assert unknown.returncode == 2 and "no schedule" in unknown.stderr


if sys.platform == "win32":  # pragma: no cover
    pytestmark = pytest.mark.skip("SIGTERM")


def test_killed_at_random_moments_the_server_runs_no_tick_twice_and_loses_none(folder: Path) -> None:
    """SIGKILL (no chance to tidy up) at random moments, while idle or while a run runs, then a
    restart: over the whole window every tick ran exactly once (catchup: all)."""
    import random

    (folder / "ticks.yaml").write_text(ticking(extra=", overlap: queue, max_queue: 100", sleep=0.3))
    table = folder / "out" / "ticks.db"
    chance = random.Random(11)
    for _round in range(4):
        server = Served(folder, "ticks.yaml")
        time.sleep(chance.uniform(1.5, 3.5))
        server.process.kill()
        server.process.wait(timeout=30)
        server.handle.close()
    server = Served(folder, "ticks.yaml")
    first = rows(state(folder), "SELECT MIN(logical_time) FROM schedule_ticks")[0][0]
    assert first is not None

    def settled() -> bool:
        open_ticks = rows(state(folder), "SELECT COUNT(*) FROM schedule_ticks WHERE status NOT IN ('succeeded')")[0][0]
        return open_ticks == 0 and len(rows(table, "SELECT * FROM ticks")) >= 8

    time.sleep(2)
    server.process.send_signal(signal.SIGTERM)  # stop firing; let what runs finish
    assert server.process.wait(timeout=60) == 0
    server.handle.close()
    server = Served(folder, "ticks.yaml")  # resume anything the kills left; it fires on
    unsettled = "SELECT logical_time, status, run_id, (SELECT status FROM runs WHERE runs.run_id = schedule_ticks.run_id) FROM schedule_ticks WHERE status != 'succeeded'"
    wait_for(settled, 60, lambda: f"{rows(state(folder), unsettled)}\n{server.text()[-3000:]}")
    assert server.stop() == 0
    ledger = rows(state(folder), "SELECT logical_time, status FROM schedule_ticks ORDER BY logical_time")
    times = [datetime.fromisoformat(t) for (t,) in rows(table, "SELECT logical_time FROM ticks ORDER BY logical_time")]
    assert len(times) == len(set(times)), "a tick ran twice"
    assert len(times) == len([1 for _t, status in ledger if status == "succeeded"])
    assert all(b - a == timedelta(seconds=1) for a, b in pairwise(times)), "a tick was lost"


def test_an_edit_of_an_included_file_reloads_the_config_that_includes_it(folder: Path) -> None:
    (folder / "common").mkdir()
    (folder / "common" / "ticks.yaml").write_text(ticking(every="1h", catchup="latest", extra=", start: 2026-01-01"))
    (folder / "main.yaml").write_text("include: [common/ticks.yaml]\n")
    server = Served(folder, "main.yaml")
    wait_for(lambda: "main.yaml: loaded (1 schedules" in server.text(), 30, server.text)
    time.sleep(0.05)  # a later modification time than the one loaded
    (folder / "common" / "ticks.yaml").write_text(ticking(every="2h", catchup="latest", extra=", start: 2026-01-01"))
    wait_for(lambda: "main.yaml: reloaded (1 schedules" in server.text(), 30, server.text)
    assert server.stop() == 0
