"""The engine adapters' virtual environments (``.ci/engine-venv``): a contrib project with a
constraints.txt of its own gets a venv built once from that file and cached by its digest; each
call installs this clone's core and the project into it, editable, without their dependencies; a
changed constraints file builds another; and ``make`` leaves such a project out of ``.venv`` and
runs its suite in its own venv. Real venvs, real pip (the build backend's few packages)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT = ROOT / "tests" / "distributions" / "orchestrator-plugin-venvcheck"
#: what an editable install without build isolation needs: the core's build backend
CONSTRAINTS = "# pinned\neditables==0.6\nhatchling==1.33.0\npackaging==26.4\npathspec==1.1.1\npluggy==1.7.0\ntrove-classifiers==2026.9.21.13\n"


def engine_venv(project: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(ROOT / ".ci" / "engine-venv"), str(project)], cwd=ROOT, capture_output=True, text=True, check=False, timeout=600,
        env={**os.environ, "ORCHESTRATOR_VENV_CACHE": str(cache)},
    )


def test_a_venv_is_built_once_per_constraints_file_and_gets_this_clones_code(tmp_path: Path) -> None:
    project = tmp_path / "contrib" / "orchestrator-plugin-venvcheck"
    shutil.copytree(PROJECT, project)
    (project / "constraints.txt").write_text(CONSTRAINTS)
    cache = tmp_path / "cache"

    first = engine_venv(project, cache)
    assert first.returncode == 0, first.stderr
    venv = Path(first.stdout.strip())
    assert venv.parent == cache and venv.name.startswith("orchestrator-plugin-venvcheck-")
    assert "building" in first.stderr
    built = (venv / ".complete").stat().st_mtime_ns
    listed = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True, check=True).stdout
    assert "hatchling==1.33.0" in listed and "orchestrator-plugin-venvcheck==0.1.0" in listed and "pipeline-orchestrator==" in listed
    found = subprocess.run([str(venv / "bin" / "python"), "-c", "import orchestrator; print(orchestrator.__file__)"],
                           capture_output=True, text=True, check=True).stdout
    assert found.strip() == str(ROOT / "core" / "orchestrator" / "__init__.py"), "the venv runs this clone's core"

    again = engine_venv(project, cache)
    assert again.returncode == 0 and Path(again.stdout.strip()) == venv
    assert "building" not in again.stderr and (venv / ".complete").stat().st_mtime_ns == built, "the cached venv is reused"

    (project / "constraints.txt").write_text(CONSTRAINTS.replace("# pinned", "# pinned again"))
    changed = engine_venv(project, cache)
    assert changed.returncode == 0, changed.stderr
    assert Path(changed.stdout.strip()) != venv and "building" in changed.stderr


def test_a_project_without_its_own_constraints_is_refused(tmp_path: Path) -> None:
    done = engine_venv(PROJECT, tmp_path)
    assert done.returncode == 2 and "constraints.txt is missing: this project runs in the shared .venv" in done.stderr


def test_make_keeps_engine_projects_out_of_the_shared_venv_and_tests_them_in_their_own() -> None:
    engines = sorted(path.parent.name for path in (ROOT / "contrib").glob("*/constraints.txt"))
    assert "orchestrator-plugin-airflow" in engines
    plan = subprocess.run(["make", "-n", "-B", "install", "test"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    shared = [line for line in plan.splitlines() if "pip install" in line and "contrib/" in line]
    engine_loop = [line for line in plan.splitlines() if ".ci/engine-venv" in line]
    for name in engines:
        assert not any(name in line for line in shared), f"{name} must not be installed into .venv"
        assert any(f"contrib/{name}/" in line for line in engine_loop), f"make test must run {name}'s suite in its own venv"
