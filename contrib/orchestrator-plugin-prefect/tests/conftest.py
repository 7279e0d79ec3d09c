"""Prefect runs for real here, in its ephemeral local mode: the first flow run of the session
starts a temporary Prefect server on 127.0.0.1 (its database under a PREFECT_HOME of the session,
never the user's), and every flow and task run goes through it. Each test gets its own copy of a
pipeline folder, so runs and tables never mix."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

# before Prefect is first imported: its settings are read once
_HOME = tempfile.mkdtemp(prefix="prefect-home-")
os.environ["PREFECT_HOME"] = _HOME
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
# a loaded machine starts the temporary server slowly; Prefect's default wait is 20 seconds
os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "180"

import pytest

from orchestrator.testing.adapters import copy_project, quickstart  # noqa: F401  (fixtures)

HERE = Path(__file__).resolve().parent


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_HOME, ignore_errors=True)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the shared engine test project (files that fail, retry and count calls), with
    this suite's own pipelines."""
    return copy_project(tmp_path / "project", HERE / "project")
