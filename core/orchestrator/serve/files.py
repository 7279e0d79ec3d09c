"""File triggers: one run per file *version*, not per filesystem event.

A version is (path, size, ``mtime_ns``) and, when the trigger asks for it, a SHA-256 of the content
(for filesystems with coarse timestamps, or files replaced by copies that keep size and timestamp).
Filesystem events only wake the scan; what fires is decided by comparing the directory with the
ledger, so a burst of events for one write makes one run, and after a restart the versions that
already fired do not fire again. A version is picked up only once it has *settled*: unchanged over
``settle`` of observation, or last modified at least ``settle`` ago — so a file still being written
is never picked up half-written.

The pieces: :class:`FileVersion` and :func:`scan` (what is there), :class:`Settler` (pure logic:
which versions have settled), :class:`FileLedger` (which versions fired, in the state store, table
``schedule_files``; claimed before the run starts, like ticks) and :func:`watch_versions` (watchfiles,
polling as the fallback, yielding settled versions that have not fired).
"""

from __future__ import annotations

import glob
import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.serve.store import Clock, Store, stamp, utc_now
from orchestrator.serve.ticks import CLAIMED, STARTED, STATUSES, Lease, check_lease

__all__ = ["FileLedger", "FileVersion", "Settler", "scan", "watch_root", "watch_versions"]

TABLES = (
    """CREATE TABLE IF NOT EXISTS schedule_files (
        trigger_id TEXT NOT NULL,
        path TEXT NOT NULL,
        size BIGINT NOT NULL,
        mtime_ns BIGINT NOT NULL,
        digest TEXT NOT NULL,
        status TEXT NOT NULL,
        run_id TEXT,
        fired_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (trigger_id, path, size, mtime_ns, digest))""",
)
_WILDCARDS = set("*?[")


@dataclass(frozen=True, slots=True)
class FileVersion:
    """One version of one file; ``path`` is absolute, ``digest`` empty unless asked for."""

    path: str
    size: int
    mtime_ns: int
    digest: str = ""

    @classmethod
    def of(cls, path: str | Path, *, digest: bool = False) -> FileVersion | None:
        """The file's current version; None when it vanished or is not a regular file."""
        try:
            info = os.stat(path)
            if not os.path.isfile(path):
                return None
            content = _sha256(path) if digest else ""
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            return None
        return cls(str(Path(path).absolute()), info.st_size, info.st_mtime_ns, content)


def _sha256(path: str | Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def watch_root(pattern: str, base: Path) -> Path:
    """The deepest directory of ``pattern`` (relative to ``base``) without a wildcard: the one to
    watch. A pattern without wildcards names one file; its directory is watched."""
    full = Path(pattern) if Path(pattern).is_absolute() else base / pattern
    for index, part in enumerate(full.parts):
        if _WILDCARDS & set(part):
            return Path(*full.parts[:index])
    return full.parent


def scan(pattern: str, base: Path, *, digest: bool = False) -> list[FileVersion]:
    """The versions of the regular files matching ``pattern`` (``**`` crosses directories), sorted by path."""
    full = pattern if Path(pattern).is_absolute() else str(base / pattern)
    versions = (FileVersion.of(path, digest=digest) for path in glob.glob(full, recursive=True))
    return sorted((v for v in versions if v is not None), key=lambda v: v.path)


class Settler:
    """Which observed versions have settled. Feed it every scan; it returns each settled version
    once (again only when the file changes and settles anew). ``now`` is wall-clock seconds, the
    clock ``mtime_ns`` is on."""

    def __init__(self, settle: float) -> None:
        self.settle = settle
        self._first_seen: dict[str, tuple[FileVersion, float]] = {}
        self._emitted: dict[str, FileVersion] = {}

    def observe(self, versions: list[FileVersion], now: float) -> list[FileVersion]:
        present = {version.path for version in versions}
        for gone in set(self._first_seen) - present:
            del self._first_seen[gone]
        for gone in set(self._emitted) - present:
            del self._emitted[gone]
        settled: list[FileVersion] = []
        for version in versions:
            seen = self._first_seen.get(version.path)
            if seen is None or seen[0] != version:
                seen = self._first_seen[version.path] = (version, now)
            # quiet since it was first seen like this, or since its own timestamp if older (a
            # file that sat there before the server started need not wait another settle)
            quiet_since = min(seen[1], version.mtime_ns / 1e9)
            if now - quiet_since >= self.settle and self._emitted.get(version.path) != version:
                self._emitted[version.path] = version
                settled.append(version)
        return settled


class FileLedger:
    """Which file versions fired, per trigger: claimed (committed) before the run starts, so a
    version fires once across restarts and across servers."""

    def __init__(self, connection: Any, *, clock: Clock = utc_now) -> None:
        self.store = Store(connection)
        self.clock = clock
        self.store.create(TABLES)

    def claim(self, trigger_id: str, version: FileVersion, *, run_id: str | None = None, lease: Lease | None = None) -> bool:
        """Record ``version`` as fired; True when this call recorded it (start the run then),
        False when it had fired already. ``run_id`` is the id the run will have (see
        ``TickLedger.claim``). Raises LeaseLost when ``lease`` is no longer held."""
        now = stamp(self.clock())
        with self.store.transaction() as store:
            check_lease(store, lease, self.clock())
            inserted = store.execute(
                "INSERT INTO schedule_files (trigger_id, path, size, mtime_ns, digest, status, run_id, fired_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (trigger_id, path, size, mtime_ns, digest) DO NOTHING",
                (trigger_id, version.path, version.size, version.mtime_ns, version.digest, CLAIMED, run_id, now, now),
            ).rowcount
        return bool(inserted == 1)

    def mark(self, trigger_id: str, version: FileVersion, status: str, *, run_id: str | None = None, lease: Lease | None = None) -> None:
        """``started`` with the run's id, then how it ended (the statuses of ticks)."""
        if status not in STATUSES or status == CLAIMED:
            raise ValueError(f"a file version cannot be marked {status!r}")
        with self.store.transaction() as store:
            check_lease(store, lease, self.clock())
            changed = store.execute(
                "UPDATE schedule_files SET status = ?, run_id = COALESCE(?, run_id), updated_at = ? "
                "WHERE trigger_id = ? AND path = ? AND size = ? AND mtime_ns = ? AND digest = ?",
                (status, run_id, stamp(self.clock()), trigger_id, *_key(version)),
            ).rowcount
            if changed != 1:
                raise KeyError(f"{version.path} ({version.size} bytes) has not fired for {trigger_id!r}")

    def fired(self, trigger_id: str, version: FileVersion) -> bool:
        rows = self.store.rows(
            "SELECT 1 FROM schedule_files WHERE trigger_id = ? AND path = ? AND size = ? AND mtime_ns = ? AND digest = ?",
            (trigger_id, *_key(version)),
        )
        return bool(rows)

    def status(self, trigger_id: str, version: FileVersion) -> tuple[str, str | None] | None:
        """(status, run id) of a fired version, None if it has not fired."""
        rows = self.store.rows(
            "SELECT status, run_id FROM schedule_files WHERE trigger_id = ? AND path = ? AND size = ? AND mtime_ns = ? AND digest = ?",
            (trigger_id, *_key(version)),
        )
        return (str(rows[0][0]), rows[0][1]) if rows else None

    def unstarted(self, trigger_id: str) -> list[tuple[FileVersion, str | None]]:
        """Versions claimed whose run never started (the server died in between), with the run
        id recorded at the claim, oldest first."""
        rows = self.store.rows(
            "SELECT path, size, mtime_ns, digest, run_id FROM schedule_files WHERE trigger_id = ? AND status = ? ORDER BY fired_at, path",
            (trigger_id, CLAIMED),
        )
        return [(FileVersion(str(p), int(s), int(m), str(d)), run_id) for p, s, m, d, run_id in rows]

    def in_flight(self, trigger_id: str) -> list[tuple[FileVersion, str | None]]:
        """Versions whose run was started and has not been recorded as ended (see
        ``TickLedger.in_flight``), oldest first."""
        rows = self.store.rows(
            "SELECT path, size, mtime_ns, digest, run_id FROM schedule_files WHERE trigger_id = ? AND status = ? ORDER BY fired_at, path",
            (trigger_id, STARTED),
        )
        return [(FileVersion(str(p), int(s), int(m), str(d)), run_id) for p, s, m, d, run_id in rows]


def _key(version: FileVersion) -> tuple[str, int, int, str]:
    return (version.path, version.size, version.mtime_ns, version.digest)


def watch_versions(
    pattern: str,
    base: Path,
    *,
    settle: float,
    fired: Callable[[FileVersion], bool],
    stop: threading.Event,
    digest: bool = False,
    poll: bool = False,
    interval: float = 1.0,
    clock: Callable[[], float] = time.time,
) -> Iterator[FileVersion]:
    """Yield each settled version of a file matching ``pattern`` for which ``fired`` is False,
    until ``stop`` is set. It rescans the directory whenever watchfiles reports a change in it, and
    at least every ``interval`` (settling needs time to pass, not events). With ``poll``, or when
    watchfiles is missing or cannot watch (an inotify limit, a network filesystem), it only polls."""
    settler = Settler(settle)
    for _ in _wakeups(watch_root(pattern, base), stop=stop, poll=poll, interval=interval):
        for version in settler.observe(scan(pattern, base, digest=digest), clock()):
            if not fired(version):
                yield version
        if stop.is_set():
            return


def _wakeups(root: Path, *, stop: threading.Event, poll: bool, interval: float) -> Iterator[None]:
    """One wake-up at once, then one per batch of filesystem events or per ``interval``."""
    yield None
    if not poll:
        try:
            from watchfiles import watch

            timeout_ms = max(50, int(interval * 1000))
            for _changes in watch(
                root, watch_filter=None, debounce=min(timeout_ms, 200), rust_timeout=timeout_ms,
                yield_on_timeout=True, stop_event=stop, raise_interrupt=False,
            ):
                yield None
            return
        except (ImportError, OSError, RuntimeError):
            pass  # polling below: correct everywhere, only slower to notice
    while not stop.wait(interval):
        yield None
