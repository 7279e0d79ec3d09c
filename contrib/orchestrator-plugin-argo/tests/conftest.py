"""Fixtures: only the core's built-ins and this distribution load, whatever else is installed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.testing.adapters import write_config  # noqa: F401  (a fixture)

LOAD_PLUGINS = "builtin,argo"
BIN = Path(sys.executable).parent


@pytest.fixture(autouse=True)
def _only_these_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRATOR_LOAD_PLUGINS", LOAD_PLUGINS)


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The installed ``orchestrator`` command, as a real process."""
    return subprocess.run(
        [str(BIN / "orchestrator"), *args], capture_output=True, text=True, cwd=cwd, check=False,
        env={"ORCHESTRATOR_LOAD_PLUGINS": LOAD_PLUGINS, "PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(Path.home())},
    )

