"""File triggers: one run per file version, settling, and no second fire after a restart — the
logic with a clock the test moves, the ledger on real SQLite and PostgreSQL, and the watcher on a
real directory (watchfiles, and the polling fallback)."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Self

import pytest
from orchestrator.serve.files import (
    FileLedger,
    FileVersion,
    Settler,
    scan,
    watch_root,
    watch_versions,
)
from serve_helpers import Database, FakeClock, database


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    return database(request.param, tmp_path, request)


def version(path: str = "/in/a.csv", size: int = 10, mtime: float = 1000.0, digest: str = "") -> FileVersion:
    return FileVersion(path, size, int(mtime * 1e9), digest)


# -- settling -------------------------------------------------------------------------------------------


def test_a_file_being_written_settles_only_after_it_stopped_changing() -> None:
    settler = Settler(settle=5)
    now = 1000.0
    for size in (10, 20, 30):  # written every second
        assert settler.observe([version(size=size, mtime=now)], now) == []
        now += 1
    assert settler.observe([version(size=30, mtime=now - 1)], now + 3) == []
    assert settler.observe([version(size=30, mtime=now - 1)], now + 4) == [version(size=30, mtime=now - 1)]
    assert settler.observe([version(size=30, mtime=now - 1)], now + 60) == []  # once per version


def test_a_changed_file_settles_again_and_an_old_one_at_once() -> None:
    settler = Settler(settle=5)
    old = version(mtime=100)  # untouched long before the scan: no need to wait
    assert settler.observe([old], 1000) == [old]
    changed = version(size=11, mtime=1001)
    assert settler.observe([changed], 1001) == []
    assert settler.observe([changed], 1006) == [changed]


def test_a_file_removed_and_put_back_is_a_new_observation() -> None:
    settler = Settler(settle=5)
    fresh = version(mtime=1000)
    assert settler.observe([fresh], 1000) == []
    assert settler.observe([], 1003) == []
    assert settler.observe([fresh], 1004) == []
    assert settler.observe([fresh], 1009) == [fresh]


def test_a_timestamp_in_the_future_waits_for_observation() -> None:
    settler = Settler(settle=5)
    skewed = version(mtime=2000)  # a network filesystem whose clock runs ahead
    assert settler.observe([skewed], 1000) == []
    assert settler.observe([skewed], 1005) == [skewed]


# -- what is on disk --------------------------------------------------------------------------------------


def test_scan_and_watch_root(tmp_path: Path) -> None:
    (tmp_path / "incoming" / "2026").mkdir(parents=True)
    (tmp_path / "incoming" / "a.csv").write_text("a\n")
    (tmp_path / "incoming" / "b.txt").write_text("b\n")
    (tmp_path / "incoming" / "2026" / "c.csv").write_text("c\n")
    (tmp_path / "incoming" / "d.csv").mkdir()  # a directory never fires
    found = scan("incoming/*.csv", tmp_path)
    assert [Path(v.path).name for v in found] == ["a.csv"]
    assert found[0].size == 2 and found[0].digest == "" and Path(found[0].path).is_absolute()
    assert [Path(v.path).name for v in scan("incoming/**/*.csv", tmp_path)] == ["c.csv", "a.csv"]
    [exact] = scan(str(tmp_path / "incoming" / "a.csv"), tmp_path, digest=True)
    assert exact.digest == hashlib.sha256(b"a\n").hexdigest()
    assert watch_root("incoming/*.csv", tmp_path) == tmp_path / "incoming"
    assert watch_root("incoming/2026/[a-c].csv", tmp_path) == tmp_path / "incoming" / "2026"
    assert watch_root("incoming/**/*.csv", tmp_path) == tmp_path / "incoming"
    assert watch_root("/data/x.csv", tmp_path) == Path("/data")


def test_a_digest_tells_apart_a_rewrite_that_keeps_size_and_timestamp(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("one\n")
    before = os.stat(path)
    first, plain = FileVersion.of(path, digest=True), FileVersion.of(path)
    path.write_text("two\n")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert FileVersion.of(path) == plain
    assert FileVersion.of(path, digest=True) != first
    assert FileVersion.of(tmp_path / "missing.csv") is None


# -- the ledger ---------------------------------------------------------------------------------------------


def test_a_version_fires_once_and_is_remembered_across_a_restart(db: Database) -> None:
    clock = FakeClock()
    ledger = FileLedger(db.connect(), clock=clock)
    v1, v2 = version(), version(size=11, mtime=1001)
    assert not ledger.fired("incoming", v1)
    assert ledger.claim("incoming", v1, run_id="r1")
    assert not ledger.claim("incoming", v1)
    assert ledger.claim("other-trigger", v1)
    assert ledger.unstarted("incoming") == [(v1, "r1")]
    ledger.mark("incoming", v1, "started")
    ledger.mark("incoming", v1, "succeeded")
    restarted = FileLedger(db.connect(), clock=clock)
    assert restarted.fired("incoming", v1) and restarted.status("incoming", v1) == ("succeeded", "r1")
    assert not restarted.claim("incoming", v1)
    assert restarted.claim("incoming", v2)  # a new version of the same file fires
    assert restarted.unstarted("incoming") == [(v2, None)]
    assert not restarted.fired("incoming", version(digest="ab"))  # the digest is part of the version
    with pytest.raises(KeyError):
        restarted.mark("incoming", version(size=99), "started")


# -- watching a real directory --------------------------------------------------------------------------------


class Watcher:
    """The serve loop's use of it: every settled new version is claimed, and counted as a run."""

    def __init__(self, db: Database, base: Path, *, poll: bool, settle: float = 0.8) -> None:
        self.db, self.base, self.poll, self.settle = db, base, poll, settle
        self.runs: list[FileVersion] = []
        self.stop = threading.Event()
        self.pool = ThreadPoolExecutor(1)
        self.done: Future[None] | None = None

    def _run(self) -> None:
        ledger = FileLedger(self.db.connect())
        for found in watch_versions(
            "incoming/*.csv", self.base, settle=self.settle, stop=self.stop, poll=self.poll, interval=0.1,
            fired=lambda v: ledger.fired("incoming", v),
        ):
            if ledger.claim("incoming", found):
                self.runs.append(found)

    def __enter__(self) -> Self:
        self.done = self.pool.submit(self._run)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        assert self.done is not None
        self.done.result(timeout=10)  # re-raises what went wrong in the watcher; times out if it never stopped
        self.pool.shutdown()

    def wait_for(self, count: int, within: float = 15) -> list[str]:
        deadline = time.monotonic() + within
        while len(self.runs) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return [f"{Path(v.path).name}:{v.size}" for v in self.runs]


@pytest.fixture
def incoming(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "incoming").mkdir()
    yield tmp_path


@pytest.mark.parametrize("poll", [False, True], ids=["watchfiles", "polling"])
def test_watching_fires_once_per_settled_version_and_not_again_after_a_restart(incoming: Path, poll: bool) -> None:
    db = Database("sqlite", str(incoming / "state.db"))
    target = incoming / "incoming" / "sales.csv"
    # written slowly, for longer than it takes to settle: nothing fires half-written. Writes 0.3 s
    # apart against a 3 s settle, so even a write late by seconds on a loaded machine is not a pause
    with Watcher(db, incoming, poll=poll, settle=3) as watcher:
        with target.open("w") as handle:
            for n in range(14):
                handle.write(f"row {n}\n")
                handle.flush()
                time.sleep(0.3)
        assert watcher.wait_for(1) == ["sales.csv:88"]
        for _ in range(20):  # a burst of events that changes nothing
            os.utime(target, ns=(os.stat(target).st_atime_ns, os.stat(target).st_mtime_ns))
        (incoming / "incoming" / "notes.txt").write_text("not matched\n")
        (incoming / "incoming" / "customers.csv").write_text("c\n")
        assert watcher.wait_for(2) == ["sales.csv:88", "customers.csv:2"]
        time.sleep(1.5)
        assert len(watcher.runs) == 2
    with Watcher(db, incoming, poll=poll, settle=3) as restarted:
        time.sleep(2)
        assert restarted.runs == [], "a file already processed fired again after a restart"
        with target.open("a") as handle:
            handle.write("row 14\n")
        assert restarted.wait_for(1) == ["sales.csv:95"]


def test_filesystem_events_wake_the_scan_long_before_the_polling_interval(incoming: Path) -> None:
    stop = threading.Event()
    found: list[FileVersion] = []

    def watch() -> None:  # list.extend appends each version as the generator yields it
        found.extend(watch_versions("incoming/*.csv", incoming, settle=0.5, stop=stop, interval=30, fired=lambda v: False))

    with ThreadPoolExecutor(1) as pool:
        done = pool.submit(watch)
        time.sleep(1)  # the watcher is up
        arrived = incoming / "incoming" / "old.csv"
        arrived.write_text("x\n")
        os.utime(arrived, (time.time() - 3600, time.time() - 3600))  # settled on sight
        started = time.monotonic()
        while not found and time.monotonic() - started < 10:
            time.sleep(0.05)
        stop.set()
        done.result(timeout=40)
    assert [Path(v.path).name for v in found] == ["old.csv"]
    assert time.monotonic() - started < 10, "only the 30 s poll saw the file"


def test_a_directory_that_does_not_exist_yet_is_polled_until_it_does(tmp_path: Path) -> None:
    stop = threading.Event()
    found: list[FileVersion] = []

    def watch() -> None:  # watchfiles cannot watch a missing directory: the fallback polls
        found.extend(watch_versions("later/*.csv", tmp_path, settle=0.3, stop=stop, interval=0.1, fired=lambda v: False))

    with ThreadPoolExecutor(1) as pool:
        done = pool.submit(watch)
        time.sleep(0.5)
        (tmp_path / "later").mkdir()
        (tmp_path / "later" / "a.csv").write_text("a\n")
        deadline = time.monotonic() + 10
        while not found and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        done.result(timeout=10)
    assert [Path(v.path).name for v in found] == ["a.csv"]
