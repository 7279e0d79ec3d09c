"""A retry says the wait before the next attempt as it will be: never ``in 0.00s`` (a step with
``initial: 1ms`` printed that, which reads as a measurement gone wrong)."""

from __future__ import annotations

from helpers import cli

CONFIG = """
pipelines:
  flaky:
    type: ETL
    phases:
      extract:
        steps:
          - plugin: python.call
            args: {callable: "source:fetch"}
            retry: {attempts: 3, initial: 1ms, jitter: false}
      load: {steps: [{plugin: jsonl.write, args: {path: out.jsonl}}]}
"""

SOURCE = """
from pathlib import Path


def fetch():
    tries = Path(__file__).with_name("tries")
    count = int(tries.read_text()) + 1 if tries.exists() else 1
    tries.write_text(str(count))
    if count < 3:
        raise ConnectionError(f"try {count}")
    return [{"id": 1}]
"""


def test_a_retry_after_a_short_wait_says_the_wait_in_milliseconds(write_config) -> None:
    config = write_config(CONFIG, **{"source.py": SOURCE})
    result = cli("run", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    retries = [line for line in result.stdout.splitlines() if "retrying" in line]
    assert [line.split("; ")[-1] for line in retries] == ["retrying (attempt 2 of 3) in 1ms", "retrying (attempt 3 of 3) in 2ms"]
    assert "0.00s" not in result.stdout


def test_the_wait_is_said_as_it_will_be() -> None:
    from orchestrator.reporting.plain import _wait

    assert [_wait(s) for s in (0.0, 0.0004, 0.003, 0.01, 0.84, 12.5)] == ["at once", "at once", "in 3ms", "in 0.01s", "in 0.84s", "in 12.50s"]
