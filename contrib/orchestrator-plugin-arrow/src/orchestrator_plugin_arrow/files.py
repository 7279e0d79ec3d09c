"""Where the Arrow steps read and write: paths relative to the pipeline file, missing inputs as
one-line errors, and outputs that appear whole or not at all."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from orchestrator.context import StepContext
from orchestrator.errors import StepError


def input_path(ctx: StepContext, path: str) -> Path:
    """The input file, checked before pyarrow opens it: pyarrow's own messages for a missing file
    carry errno details and, for Parquet, are raised as a different type per cause."""
    full = ctx.path(path)
    if not full.exists():
        raise StepError(
            f"file not found: {full} (paths are relative to the pipeline file)"
        )
    if full.is_dir():
        raise StepError(f"{full} is a directory, not a file")
    if not os.access(full, os.R_OK):
        raise StepError(f"permission denied reading {full}")
    return full


@contextmanager
def atomic_target(ctx: StepContext, path: str) -> Iterator[Path]:
    """Yield a temporary path beside the target; move it onto the target only when the block ends
    without an error. A failed or interrupted run therefore keeps the previous file, and readers
    never see a half-written one (the rename is atomic within a directory)."""
    full = ctx.path(path)
    try:
        full.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(
            prefix=f".{full.name}.", suffix=".tmp", dir=full.parent
        )
        os.close(fd)
        os.chmod(name, _mode_for(full))
    except OSError as exc:
        raise StepError(f"cannot write {full}: {exc.strerror or exc}") from None
    temp = Path(name)
    try:
        yield temp
        os.replace(temp, full)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _mode_for(target: Path) -> int:
    """The permissions the output should have: the replaced file's, else what a plain ``open``
    would give under the process umask (mkstemp's private 0600 would surprise other readers)."""
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        pass
    umask = os.umask(0o022)  # reading the umask means setting it; restored at once
    os.umask(umask)
    return 0o666 & ~umask
