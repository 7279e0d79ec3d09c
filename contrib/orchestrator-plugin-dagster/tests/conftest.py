"""Dagster runs for real here, in process (``execute_in_process`` and ``materialize`` on an
ephemeral instance). Each test gets its own copy of a pipeline folder, so runs and tables never
mix."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent


@pytest.fixture
def quickstart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of examples/quickstart; its warehouse goes where the file's default puts it."""
    monkeypatch.delenv("WAREHOUSE", raising=False)
    folder = tmp_path / "quickstart"
    shutil.copytree(REPO / "examples" / "quickstart", folder, ignore=shutil.ignore_patterns("out", ".orchestrator"))
    return folder


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the tests' own pipeline folder (files that fail, retry and count calls)."""
    folder = tmp_path / "project"
    shutil.copytree(HERE / "project", folder)
    return folder
