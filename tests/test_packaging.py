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
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "orchestrator/plugin_template/{{cookiecutter.project_slug}}/.gitignore" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_wheel_ships_the_web_ui_and_its_vendored_libraries(wheel: Path) -> None:
    """The UI must work offline from an installed wheel: every static file is inside it."""
    static = REPO / "core" / "orchestrator" / "serve" / "ui" / "static"
    wanted = {f"orchestrator/serve/ui/static/{p.relative_to(static)}" for p in static.rglob("*") if p.is_file()}
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert "orchestrator/serve/ui/static/vendor/preact/LICENSE" in wanted
    assert wanted <= names, f"missing from the wheel: {sorted(wanted - names)}"


def test_sdist_holds_the_license_and_only_the_top_readme(tmp_path: Path) -> None:
    """Built with hatchling, as ``python -m build --sdist`` would, in an environment of its own."""
    import tarfile

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = str(env_dir / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "hatchling>=1.27"], check=True)
    out = tmp_path / "dist"
    code = f"from hatchling.build import build_sdist; print(build_sdist({str(out)!r}))"
    name = subprocess.run([python, "-c", code], cwd=REPO, check=True, capture_output=True, text=True).stdout.split()[-1]
    with tarfile.open(out / name) as archive:
        members = [m.split("/", 1)[1] for m in archive.getnames() if "/" in m]
    assert "LICENSE" in members and "README.md" in members
    assert [m for m in members if m.endswith("README.md") and not m.startswith("core/orchestrator/plugin_template/")] == ["README.md"]
    assert not [m for m in members if "__pycache__" in m or m.endswith(".pyc")]


@pytest.mark.parametrize("project", sorted(p.name for p in (REPO / "contrib").iterdir() if (p / "pyproject.toml").exists()))
def test_contrib_distributions_carry_the_license_and_build_without_warnings(project: str, tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--wheel-dir", str(tmp_path), str(REPO / "contrib" / project)],
        check=True, capture_output=True, text=True,
    )
    assert "deprecated" not in built.stdout + built.stderr, "the build warns about deprecated metadata"
    (wheel,) = tmp_path.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert any(n.endswith(".dist-info/licenses/LICENSE") for n in archive.namelist())


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
