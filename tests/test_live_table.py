"""The live table's row of a pipeline that failed shows the phase and step where it failed: an
extract that raised while its loads already ran beside it was shown as phase ``load``."""

from __future__ import annotations

import io
import json

from helpers import cli
from orchestrator.events import Event, Kind
from orchestrator.reporting.live import LiveReporter

CONFIG = """
pipelines:
  orders:
    type: ETL
    phases:
      extract: {steps: [{id: fetch, plugin: python.call, args: {callable: "source:fetch"}}]}
      load: {steps: [{id: save, plugin: jsonl.write, args: {path: out.jsonl}}]}
"""

SOURCE = """
def fetch():
    yield [{"id": 1}]
    raise ConnectionError("the source went away")
"""


def _events(stdout: str) -> list[Event]:
    """The run's events as ``--json`` printed them, rebuilt as the reporter receives them."""
    events = []
    for line in stdout.splitlines():
        data = json.loads(line)
        if data["kind"] not in Kind._value2member_map_:  # the summary: not an event of the stream
            continue
        fields = {key: data.get(key) for key in ("pipeline", "phase", "step", "status", "rows", "elapsed", "error")}
        events.append(Event(Kind(data["kind"]), data["run_id"], **fields))
    return events


def test_a_failed_pipeline_shows_the_phase_and_step_where_it_failed(write_config) -> None:
    config = write_config(CONFIG, **{"source.py": SOURCE})
    result = cli("run", str(config), "--json")
    assert result.returncode == 1, result.stdout + result.stderr
    events = _events(result.stdout)
    assert [e.phase for e in events if e.kind is Kind.STEP_STARTED][-1] == "load", "the load started after the extract"

    reporter = LiveReporter(io.StringIO(), lambda text: text)
    try:
        for event in events:
            reporter(event)
        row = reporter.rows["orders"]
    finally:
        reporter.live.stop()
    assert (row.status, row.phase, row.step) == ("failed", "extract", "fetch")
