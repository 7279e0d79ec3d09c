"""python.call's callables are checked before anything runs: ``validate`` reports a typo, a
missing module or a module that raises at import at the ``callable:`` line (with the closest
name), ``run`` refuses the config before its first pipeline loads, and a warm ``validate`` of
unchanged modules imports nothing (the start-up cache, keyed on the module file)."""

from __future__ import annotations

from pathlib import Path

import pytest

import orchestrator
from helpers import cli
from orchestrator.errors import ConfigError

CONFIG = """
pipelines:
  first:
    type: ETL
    phases:
      extract: {steps: [{plugin: csv.read, args: {path: orders.csv}}]}
      load: {steps: [{plugin: jsonl.write, args: {path: out/first.jsonl}}]}
  second:
    type: ETL
    depends_on: [first]
    phases:
      extract: {steps: [{plugin: csv.read, args: {path: orders.csv}}]}
      transform: {steps: [{plugin: python.call, args: {callable: "transforms:CALLABLE"}}]}
      load: {steps: [{plugin: jsonl.write, args: {path: out/second.jsonl}}]}
"""

TRANSFORMS = """
from pathlib import Path

Path(__file__).with_name("imported").write_text("yes")


def clean(rows):
    return rows
"""


def _project(write_config, callable_name: str) -> Path:
    return write_config(
        CONFIG.replace("CALLABLE", callable_name), **{"orders.csv": "id\n1\n", "transforms.py": TRANSFORMS}
    )


def test_a_misspelt_callable_fails_validate_and_run_before_anything_loads(write_config) -> None:
    config = _project(write_config, "clen")
    checked = cli("validate", str(config))
    assert checked.returncode == 2, checked.stdout
    assert checked.stderr.splitlines()[0] == (
        f"{config}:13: $.pipelines.second.phases.transform.steps[0].args.callable: "
        "module 'transforms' has no attribute 'clen'; did you mean 'transforms:clean'?"
    )
    ran = cli("run", str(config))
    assert ran.returncode == 2, ran.stdout + ran.stderr
    assert "did you mean 'transforms:clean'?" in ran.stderr
    assert not (config.parent / "out").exists(), "the first pipeline did not load either"
    with pytest.raises(ConfigError, match="did you mean 'transforms:clean'"):
        orchestrator.run(config)


def test_a_module_that_raises_at_import_is_reported_with_where(write_config) -> None:
    config = _project(write_config, "clean")
    (config.parent / "transforms.py").write_text("import json\n\nSETTINGS = json.loads('{')\n")
    checked = cli("validate", str(config))
    assert checked.returncode == 2
    assert "importing 'transforms' raised JSONDecodeError: Expecting property name enclosed in double quotes" in checked.stderr
    assert ":13: $.pipelines.second.phases.transform.steps[0].args.callable:" in checked.stderr
    assert checked.stderr.splitlines()[0].endswith("line 1 column 2 (char 1) (at transforms.py:3)"), "the project's line"


def test_a_warm_validate_of_unchanged_modules_imports_nothing(write_config, tmp_path: Path) -> None:
    config = _project(write_config, "clean")
    env = {"ORCHESTRATOR_CACHE_DIR": str(tmp_path / "cache"), "ORCHESTRATOR_NO_CACHE": ""}
    marker = config.parent / "imported"
    assert cli("validate", str(config), env=env).returncode == 0
    assert marker.exists(), "the first validate imported the module"
    marker.unlink()
    assert cli("validate", str(config), env=env).returncode == 0
    assert not marker.exists(), "an unchanged module is not imported again"
    (config.parent / "transforms.py").write_text(TRANSFORMS + "\n# changed\n")
    assert cli("validate", str(config), env=env).returncode == 0
    assert marker.exists(), "a changed module is imported (and checked) again"
    ran = cli("run", str(config), env=env)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert (config.parent / "out" / "second.jsonl").read_text() == '{"id": "1"}\n'
