"""``retry.on`` names exceptions that exist: a built-in one, one the steps' code defines (a
python.call module's own class), or one written in full (``module.Name``); any other name is a
validation error with the closest name, where before it made a policy that never retried."""

from __future__ import annotations

from helpers import cli

CONFIG = """
pipelines:
  orders:
    type: ETL
    phases:
      extract:
        steps:
          - plugin: python.call
            args: {callable: "source:fetch"}
            retry: {attempts: 3, initial: 1ms, jitter: false, on: [NAMES]}
      load: {steps: [{plugin: jsonl.write, args: {path: out.jsonl}}]}
"""

SOURCE = """
from pathlib import Path


class RateLimited(Exception):
    pass


def fetch():
    tries = Path(__file__).with_name("tries")
    count = int(tries.read_text()) + 1 if tries.exists() else 1
    tries.write_text(str(count))
    if count < 3:
        raise RateLimited(f"try {count}")
    return [{"id": 1}]
"""


def test_a_name_no_exception_has_is_an_error_with_the_closest_one(write_config) -> None:
    config = write_config(CONFIG.replace("NAMES", "RateLimitted"), **{"source.py": SOURCE})
    for command in ("validate", "run"):
        result = cli(command, str(config))
        assert result.returncode == 2, result.stdout + result.stderr
        assert result.stderr.startswith(
            f"{config}:10: $.pipelines.orders.phases.extract.steps[0].retry.on[0]: no exception is named "
            "'RateLimitted', so this policy would never retry on it; did you mean 'RateLimited'?"
        )
    assert not (config.parent / "tries").exists(), "nothing ran"


def test_names_the_step_code_defines_and_full_names_are_accepted_and_retried(write_config) -> None:
    config = write_config(CONFIG.replace("NAMES", "RateLimited, sqlite3.OperationalError"), **{"source.py": SOURCE})
    assert cli("validate", str(config)).returncode == 0
    result = cli("run", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert (config.parent / "tries").read_text() == "3"


def test_a_full_name_matches_the_exception_by_its_class(write_config) -> None:
    config = write_config(CONFIG.replace("NAMES", "source.RateLimited"), **{"source.py": SOURCE})
    result = cli("run", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert (config.parent / "tries").read_text() == "3"
