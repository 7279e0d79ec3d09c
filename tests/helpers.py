"""Helpers for tests: running the installed CLI as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BIN = Path(sys.executable).parent
DISTRIBUTIONS = Path(__file__).parent / "distributions"
ONLY_BUILTIN = {"ORCHESTRATOR_LOAD_PLUGINS": "builtin"}


def cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the installed ``orchestrator`` console script as a real subprocess."""
    full_env = {**os.environ, **ONLY_BUILTIN, **(env or {})}
    return subprocess.run(
        [str(BIN / "orchestrator"), *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=timeout,
    )


@contextmanager
def installed(*names: str) -> Iterator[None]:
    """pip-install the test distributions ``tests/distributions/<name>`` into this environment,
    uninstalling them afterwards: plugins then load through real entry points."""
    pip = [sys.executable, "-m", "pip", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "install", "--no-deps", *(str(DISTRIBUTIONS / name) for name in names)], check=True)
    try:
        yield
    finally:
        subprocess.run([*pip, "uninstall", "--yes", *names], check=True)
