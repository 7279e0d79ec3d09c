"""Opening the files steps read and write: paths relative to the pipeline file, errors the user can
act on, and outputs that appear whole or not at all."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from orchestrator.context import StepContext
from orchestrator.errors import StepError

_umask = os.umask(0)  # read once, at import: os.umask can only be read by setting it
os.umask(_umask)
_NEW_FILE_MODE = 0o666 & ~_umask


@contextmanager
def open_input(ctx: StepContext, path: str, **options: Any) -> Iterator[IO[str]]:
    """Open a text file for reading, relative to the pipeline file."""
    full = ctx.path(path)
    try:
        handle = open(full, encoding=options.pop("encoding", "utf-8"), **options)  # noqa: SIM115
    except FileNotFoundError:
        raise StepError(f"file not found: {full} (paths are relative to the pipeline file)") from None
    except IsADirectoryError:
        raise StepError(f"{full} is a directory, not a file") from None
    except PermissionError:
        raise StepError(f"permission denied reading {full}") from None
    with handle:
        try:
            yield handle
        except UnicodeDecodeError as exc:
            raise StepError(f"{full} is not valid {exc.encoding} text (byte {exc.start}); set 'encoding'") from None


@contextmanager
def atomic_output(ctx: StepContext, path: str, **options: Any) -> Iterator[IO[str]]:
    """Write to a temporary file beside the target and move it into place only on success."""
    full = ctx.path(path)
    try:
        full.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=f".{full.name}.", suffix=".tmp", dir=full.parent)
    except OSError as exc:
        raise StepError(f"cannot write {full}: {exc.strerror or exc}") from None
    try:
        with open(fd, "w", encoding=options.pop("encoding", "utf-8"), **options) as handle:
            yield handle
        os.chmod(temp, _NEW_FILE_MODE)  # mkstemp makes files private; outputs follow the umask
        os.replace(temp, full)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
