"""The plugin template, baked for real: every combination of phases, its refusals, the
``orchestrator new plugin`` command, and one baked project installed into a fresh virtual
environment where its own generated tests run."""

from __future__ import annotations

import ast
import itertools
import json
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter

from helpers import cli
from orchestrator.cli.new import template_dir

REPO = Path(__file__).resolve().parents[1]
CHOICES = ["extract", "transform", "load", "transform_at_load", "executor"]
COMBINATIONS = [
    combo for size in range(1, len(CHOICES) + 1) for combo in itertools.combinations(CHOICES, size)
]
HOOKS = {
    "extract": "register_extractors",
    "transform": "register_transformers",
    "load": "register_loaders",
    "transform_at_load": "register_load_transformers",
    "executor": "register_executors",
}


def bake(output: Path, chosen: tuple[str, ...], name: str = "acme") -> Path:
    context = {"plugin_name": name, **{choice: choice in chosen for choice in CHOICES}}
    return Path(cookiecutter(str(template_dir()), no_input=True, extra_context=context, output_dir=str(output)))


def expected_paths(chosen: tuple[str, ...]) -> set[str]:
    package = "src/orchestrator_plugin_acme"
    paths = {
        ".github/workflows/ci.yml",
        ".gitignore",
        "LICENSE",
        "README.md",
        "pyproject.toml",
        "tests/test_plugin.py",
        f"{package}/__init__.py",
        f"{package}/plugin.py",
    }
    if set(chosen) - {"executor"}:
        paths.add(f"{package}/steps.py")
    if "executor" in chosen:
        paths.add(f"{package}/executor.py")
    return paths


@pytest.mark.parametrize("chosen", COMBINATIONS, ids=["+".join(c) for c in COMBINATIONS])
def test_every_combination_bakes_exactly_its_files(tmp_path: Path, chosen: tuple[str, ...]) -> None:
    project = bake(tmp_path, chosen)
    assert project.name == "orchestrator-plugin-acme"
    files = {str(p.relative_to(project)) for p in project.rglob("*") if p.is_file()}
    assert files == expected_paths(chosen)
    plugin = project / "src/orchestrator_plugin_acme/plugin.py"
    hooks = {node.name for node in ast.walk(ast.parse(plugin.read_text())) if isinstance(node, ast.FunctionDef)}
    assert hooks == {HOOKS[choice] for choice in chosen}
    for source in project.rglob("*.py"):
        compile(source.read_text(), str(source), "exec")  # every file is valid Python
    pyproject = (project / "pyproject.toml").read_text()
    assert '[project.entry-points."orchestrator.plugins"]\nacme = "orchestrator_plugin_acme.plugin"' in pyproject


def test_bytecode_left_in_the_template_does_not_reach_the_project(tmp_path: Path) -> None:
    import shutil

    template = tmp_path / "template"
    shutil.copytree(template_dir(), template)
    package = template / "{{cookiecutter.project_slug}}" / "src" / "{{cookiecutter.module_name}}"
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "steps.cpython-311.pyc").write_bytes(b"stale")
    (template / "{{cookiecutter.project_slug}}" / "tests" / "stale.pyc").write_bytes(b"stale")
    context = {"plugin_name": "acme", **{choice: True for choice in CHOICES}}
    project = Path(cookiecutter(str(template), no_input=True, extra_context=context, output_dir=str(tmp_path / "out")))
    files = {str(p.relative_to(project)) for p in project.rglob("*") if p.is_file()}
    assert files == expected_paths(tuple(CHOICES))
    assert "__pycache__/" in (project / ".gitignore").read_text().splitlines()


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("9lives", "is not a valid Python identifier"),
        ("orchestrator-plugin-acme", "it is already prefixed"),
        ("class", "is not a valid Python identifier"),
    ],
)
def test_bad_names_are_refused_with_a_reason(tmp_path: Path, name: str, reason: str) -> None:
    result = cli("new", "plugin", "--no-input", "--option", f"plugin_name={name}", "--output-dir", str(tmp_path))
    assert result.returncode == 2
    assert reason in result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_no_phase_at_all_is_refused(tmp_path: Path) -> None:
    options = [arg for choice in CHOICES for arg in ("--option", f"{choice}=no")]
    result = cli("new", "plugin", "--no-input", *options, "--output-dir", str(tmp_path))
    assert result.returncode == 2
    assert "choose at least one of extract, transform, load, transform_at_load or executor" in result.stderr


def test_new_plugin_command_creates_the_project(tmp_path: Path) -> None:
    result = cli("new", "plugin", "--no-input", "--option", "plugin_name=Shop-Sync", "--option", "executor=yes",
                 "--output-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    project = tmp_path / "orchestrator-plugin-shop-sync"
    assert (project / "src/orchestrator_plugin_shop_sync/executor.py").exists()
    assert f"created {project}" in result.stdout
    unknown = cli("new", "plugin", "--no-input", "--option", "colour=red", "--output-dir", str(tmp_path))
    assert unknown.returncode == 2 and "unknown template option(s) colour" in unknown.stderr


def test_new_plugin_with_stdin_closed_is_bad_input_that_names_the_way_out(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "orchestrator"), "new", "plugin", "--output-dir", str(tmp_path)],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Aborted!" not in result.stderr
    assert "questions need answers on stdin, which is closed; pass --no-input" in result.stderr
    assert list(tmp_path.iterdir()) == [], "nothing was created"


def test_a_baked_project_installs_and_passes_its_own_tests(tmp_path: Path) -> None:
    project = bake(tmp_path / "src", tuple(CHOICES))
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = str(env_dir / "bin" / "python")
    pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, str(REPO)], check=True)
    subprocess.run([*pip, "-e", f"{project}[test]"], check=True)
    env = {"PATH": f"{env_dir / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path), "ORCHESTRATOR_NO_CACHE": "1"}
    tests = subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=project, env=env,
                           capture_output=True, text=True)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert " passed" in tests.stdout and "skipped" not in tests.stdout
    listing = subprocess.run([str(env_dir / "bin" / "orchestrator"), "plugins", "--json"], env=env,
                             capture_output=True, text=True, check=True)
    plugins = {p["name"]: p for p in json.loads(listing.stdout)["plugins"]}
    assert plugins["acme"]["distribution"] == "orchestrator-plugin-acme"
    assert plugins["acme"]["steps"] == {
        "extract": ["acme.read"],
        "transform": ["acme.tag"],
        "load": ["acme.write"],
        "transform_at_load": ["acme.summarise"],
    }
    assert plugins["acme"]["executors"] == ["acme"]


def test_the_template_ships_inside_the_package() -> None:
    assert (template_dir() / "cookiecutter.json").is_file()
    assert sys.modules["orchestrator.cli.new"].template_dir().resolve() == (REPO / "plugin-template").resolve()
