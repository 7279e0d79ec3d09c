"""The wheel a user installs: schemas inside, built-ins registered through the entry point, the
console script working in a fresh virtual environment with nothing of this checkout on its path."""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(REPO)],
        check=True,
    )
    (built,) = out.glob("pipeline_orchestrator-*.whl")
    return built


def test_wheel_ships_the_schemas_and_the_builtin_entry_point(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        schema = archive.read("orchestrator/schemas/pipeline.schema.json")
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        text = archive.read(entry_points).decode()
    assert schema == (REPO / "schemas" / "pipeline.schema.json").read_bytes()
    assert "orchestrator/plugin_template/cookiecutter.json" in names
    assert "orchestrator/plugin_template/{{cookiecutter.project_slug}}/tests/test_plugin.py" in names
    assert "orchestrator/testing/pytest_plugin.py" in names
    assert "[orchestrator.plugins]\nbuiltin = orchestrator.builtin.plugin" in text
    assert "orchestrator = orchestrator.cli:main" in text
    assert "[pytest11]\norchestrator = orchestrator.testing.pytest_plugin" in text


def test_installed_wheel_validates_and_runs_the_quickstart(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(wheel)], check=True)
    project = tmp_path / "project"
    shutil.copytree(REPO / "examples" / "quickstart", project, ignore=shutil.ignore_patterns("out", "__pycache__"))
    env = {"PATH": f"{env_dir / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path), "ORCHESTRATOR_NO_CACHE": "1"}
    validated = subprocess.run(
        [str(env_dir / "bin" / "orchestrator"), "validate", "pipeline.yaml"],
        cwd=project, env=env, capture_output=True, text=True,
    )
    assert validated.returncode == 0, validated.stderr
    ran = subprocess.run(
        [str(env_dir / "bin" / "orchestrator"), "run", "pipeline.yaml"],
        cwd=project, env=env, capture_output=True, text=True,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert (project / "out" / "warehouse.db").exists()
