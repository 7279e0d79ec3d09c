"""Fixtures: a real Airflow 3 metadata database (SQLite), migrated once for the session, and a
helper that runs ``dag.test()`` on a DAG file in a process of its own, as a dags folder of its own,
the way Airflow's own tests of a DAG file do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from orchestrator.testing.adapters import write_config  # noqa: F401  (a fixture)

HERE = Path(__file__).parent
RUNNER = HERE / "airflow_runner.py"
#: the plugins the tests load: the core's built-ins and this distribution
LOAD_PLUGINS = "builtin,airflow"


def airflow_env(home: Path, dags: Path) -> dict[str, str]:
    return {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "ORCHESTRATOR_LOAD_PLUGINS": LOAD_PLUGINS,
    }


@pytest.fixture(autouse=True)
def _only_these_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRATOR_LOAD_PLUGINS", LOAD_PLUGINS)


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An Airflow home whose metadata database is migrated (once: it takes seconds)."""
    home = tmp_path_factory.mktemp("airflow-home")
    done = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], env=airflow_env(home, home / "dags"),
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return home



@pytest.fixture
def dag_test(airflow_home: Path, tmp_path: Path) -> Callable[..., dict[str, Any]]:
    """``dag_test(dag_file_text, logical_date=None, conf=None)``: write the DAG file into a dags
    folder of its own, run ``dag.test()`` on it in a new process, and return the run's state and
    each task's state and try number."""

    def run(text: str, logical_date: str | None = None, conf: dict[str, Any] | None = None) -> dict[str, Any]:
        dags = tmp_path / "dags"
        dags.mkdir(exist_ok=True)
        dag_file = dags / "pipeline_dag.py"
        dag_file.write_text(text)
        argv = [sys.executable, str(RUNNER), str(dag_file), logical_date or "", json.dumps(conf or {})]
        done = subprocess.run(argv, env=airflow_env(airflow_home, dags), capture_output=True, text=True, timeout=600)
        lines = [line for line in done.stdout.splitlines() if line.startswith("{\"state\"")]
        assert done.returncode == 0 and lines, done.stdout[-5000:] + done.stderr[-5000:]
        return {**json.loads(lines[-1]), "log": done.stdout + done.stderr}

    return run
