"""Run ids name folders (checkpoints, dead letters), so every id given from outside is checked
before it reaches a path: ``--resume``, ``--replay-dead-letters``, ``runs show`` and the Python
API's ``run_id=`` refuse an id such as ``../../elsewhere`` with a clear error (exit 2 on the
command line), and nothing outside the state directory is read or written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import orchestrator
from helpers import cli
from orchestrator.launch import LaunchError
from orchestrator.runstate.layout import RunIdError, check_run_id, run_folder

CONFIG = """
pipelines:
  orders:
    type: ETL
    phases:
      extract: {steps: [{plugin: csv.read, args: {path: orders.csv}}]}
      load: {steps: [{id: to_db, plugin: sqlite.write, args: {database: out.db, table: orders}, on_error: dead_letter}]}
"""

HOSTILE = ["../../../elsewhere", "..", ".", "a/b", "a\\b", "/etc", "", "-rf", ".hidden", "x" * 129, "a\nb"]


def _project(write_config) -> Path:
    return write_config(CONFIG, **{"project__orders.csv": "id\n1\n"}, name="project/pipeline.yaml")


@pytest.mark.parametrize("run_id", HOSTILE)
def test_an_id_that_is_not_a_run_id_names_no_folder(run_id: str, tmp_path: Path) -> None:
    with pytest.raises(RunIdError, match="is not a run id"):
        run_folder(tmp_path, run_id)


def test_ids_the_runs_are_given_are_valid() -> None:
    from orchestrator.engine import new_run_id

    assert check_run_id(new_run_id())
    assert check_run_id("nightly-1") == "nightly-1"


def test_replaying_dead_letters_of_a_path_outside_the_state_directory_is_refused(write_config, tmp_path: Path) -> None:
    config = _project(write_config)
    planted = tmp_path / "elsewhere" / "orders.jsonl"
    planted.parent.mkdir()
    planted.write_text(json.dumps({"phase": "load", "step": "to_db", "row": {"id": 666}}) + "\n")
    # <project>/.orchestrator/dead-letters/../../../elsewhere is the planted folder
    result = cli("run", str(config), "--replay-dead-letters", "../../../elsewhere")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "--replay-dead-letters: '../../../elsewhere' is not a run id (a run id is letters, digits" in result.stderr
    assert not (config.parent / "out.db").exists(), "nothing ran"


@pytest.mark.parametrize("args", [["run", "--resume", "../x"], ["runs", "show", "../x", "--config"]])
def test_resume_and_runs_show_refuse_an_id_that_is_not_one(write_config, args: list[str]) -> None:
    config = _project(write_config)
    assert cli("run", str(config)).returncode == 0
    if args[0] == "run":
        result = cli("run", str(config), *args[1:])
    else:
        result = cli(*args, str(config))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "'../x' is not a run id" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_python_api_refuses_a_run_id_that_is_not_one(write_config, tmp_path: Path) -> None:
    config = _project(write_config)
    with pytest.raises(LaunchError, match=r"run_id: '\.\./\.\./\.\./escaped' is not a run id"):
        orchestrator.run(config, run_id="../../../escaped")
    assert not (tmp_path / "escaped").exists()
    assert not (config.parent / "out.db").exists(), "nothing ran"
