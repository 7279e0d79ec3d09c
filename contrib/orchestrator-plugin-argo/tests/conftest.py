"""Fixtures: only the core's built-ins and this distribution load, whatever else is installed."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

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


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """Write a (dedented) pipeline file, and side files, into a fresh project folder."""

    def write(text: str, name: str = "pipeline.yaml", **files: str) -> Path:
        project = tmp_path / "project"
        project.mkdir(exist_ok=True)
        for file_name, content in files.items():
            (project / file_name).write_text(textwrap.dedent(content))
        path = project / name
        path.write_text(textwrap.dedent(text))
        return path

    return write
