"""Helpers for tests: running the installed CLI as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent
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
