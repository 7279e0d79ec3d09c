"""Files for steps, the core's and any plugin's: paths relative to the pipeline file (and inside
the directories the config allows), missing inputs as one-line errors, and outputs that appear
whole or not at all."""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from orchestrator.context import StepContext
from orchestrator.errors import StepError

_umask = os.umask(0)  # read once, at import: os.umask can only be read by setting it
os.umask(_umask)


def input_path(ctx: StepContext, path: str) -> Path:
    """An input file, checked before a library opens it (their messages for a missing file vary
    and carry errno details)."""
    full = ctx.path(path)
    if not full.exists():
        raise StepError(f"file not found: {full} (paths are relative to the pipeline file)")
    if full.is_dir():
        raise StepError(f"{full} is a directory, not a file")
    if not os.access(full, os.R_OK):
        raise StepError(f"permission denied reading {full}")
    return full


def without_bom(encoding: str) -> str:
    """The codec that reads ``encoding`` and drops a leading UTF-8 byte order mark: ``utf-8-sig``
    for any spelling of UTF-8, else ``encoding`` itself. An unknown encoding is a StepError."""
    import codecs

    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise StepError(f"unknown encoding {encoding!r}; use a Python codec name such as utf-8, latin-1 or cp1252") from None
    return "utf-8-sig" if name == "utf-8" else encoding


@contextmanager
def open_input(ctx: StepContext, path: str, **options: Any) -> Iterator[IO[str]]:
    """Open a text file for reading, relative to the pipeline file."""
    full = input_path(ctx, path)
    with open(full, encoding=options.pop("encoding", "utf-8"), **options) as handle:
        try:
            yield handle
        except UnicodeDecodeError as exc:
            raise StepError(f"{full} is not valid {exc.encoding} text (byte {exc.start}); set 'encoding'") from None


@contextmanager
def atomic_path(ctx: StepContext, path: str, *, appends: bool = False) -> Iterator[Path]:
    """A temporary path beside the target, moved onto the target only when the block ends without
    an error: a failed or interrupted run keeps the previous file, and readers never see a
    half-written one (the rename is atomic within a directory). The output keeps the replaced
    file's permissions, else gets what a plain ``open`` would under the umask.

    A run that replays dead letters (``ctx.replaying``) must not replace what the run it replays
    wrote: a step that can add to its file says ``appends=True`` and finds the temporary file
    holding a copy of the target (so adding is still all or nothing); any other step is refused,
    naming it, when the target exists."""
    full = ctx.path(path)
    keep = ctx.replaying and full.is_file()
    if keep and not appends:
        raise StepError(
            f"{full} exists and step {ctx.step_id!r} ({ctx.plugin}) can only replace a file, which would lose "
            "the rows the replayed run wrote there; replay into a load that appends (jsonl.write, csv.write, "
            "sqlite.write), or move the file away first"
        )
    try:
        full.parent.mkdir(parents=True, exist_ok=True)
        _remove_orphans(full)
        fd, name = tempfile.mkstemp(prefix=f"{_temp_prefix(full)}{os.getpid()}-", suffix=".tmp", dir=full.parent)
        os.close(fd)
    except OSError as exc:
        raise StepError(f"cannot write {full}: {exc.strerror or exc}") from None
    temp = Path(name)
    try:
        if keep:
            shutil.copyfile(full, temp)
        os.chmod(temp, _mode_for(full))
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise StepError(f"cannot write {full}: {exc.strerror or exc}") from None
    try:
        yield temp
        os.replace(temp, full)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _temp_prefix(target: Path) -> str:
    """Temporary files of ``target`` are named ``.<name>.<host>.<pid>-<random>.tmp``: the host and
    the process that writes one say whether its writer is gone."""
    return f".{target.name}.{os.uname().nodename}."


def _remove_orphans(target: Path) -> None:
    """Remove the temporary files of ``target`` that a killed writer left (a kill skips the
    clean-up; some were 15 MB). Only this host's, and only those whose process no longer exists:
    another run writing the same file at this moment keeps its own."""
    prefix = _temp_prefix(target)
    for orphan in target.parent.glob(f"{glob.escape(prefix)}*.tmp"):
        pid = orphan.name[len(prefix):].partition("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            orphan.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's
        return True
    return True


@contextmanager
def atomic_output(ctx: StepContext, path: str, *, appends: bool = False, **options: Any) -> Iterator[IO[str]]:
    """A text file written through :func:`atomic_path`; with ``appends``, on a replay of dead
    letters, opened at the end of a copy of the target."""
    mode = "a" if appends and ctx.replaying else "w"
    with atomic_path(ctx, path, appends=appends) as temp, open(temp, mode, encoding=options.pop("encoding", "utf-8"), **options) as handle:
        yield handle


def _mode_for(target: Path) -> int:
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        return 0o666 & ~_umask
