"""Dagster runs for real here, in process (``execute_in_process`` and ``materialize`` on an
ephemeral instance). Each test gets its own copy of a pipeline folder, so runs and tables never
mix."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.testing.adapters import copy_project, quickstart  # noqa: F401  (fixtures)

HERE = Path(__file__).resolve().parent


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the shared engine test project (files that fail, retry and count calls), with
    this suite's own pipelines."""
    return copy_project(tmp_path / "project", HERE / "project")
