"""The run the tests trace, written as real files into a directory: an ETL pipeline whose extract
fails once and is retried; one whose transform fails on every attempt (its error quoting a
secret from the environment); and one run twice by its own ``retry:`` because its load failed
the first time."""

from __future__ import annotations

import textwrap
from pathlib import Path

#: a secret-looking variable's value, which the failing step quotes in its error
SECRET = "tok-4f9a1c77e2"

CONFIG = """\
executor: {name: local}
pipelines:
  orders:
    type: ETL
    phases:
      extract:
        steps:
          - id: fetch
            plugin: python.call
            args: {callable: "steps:flaky_fetch"}
            retry: {attempts: 3, initial: 10ms}
      transform:
        steps:
          - {id: double, plugin: python.call, args: {callable: "steps:double"}}
      load:
        steps:
          - {id: store, plugin: sqlite.write, args: {database: out/orders.db, table: orders, mode: replace}}
  broken:
    type: ETL
    phases:
      extract:
        steps:
          - {id: read, plugin: python.call, args: {callable: "steps:fetch"}}
      transform:
        steps:
          - id: explode
            plugin: python.call
            args: {callable: "steps:explode"}
            retry: {attempts: 2, initial: 10ms}
      load:
        steps:
          - {id: store, plugin: sqlite.write, args: {database: out/broken.db, table: rows, mode: replace}}
  nightly:
    type: ETL
    retry: {attempts: 2, initial: 10ms}
    phases:
      extract:
        steps:
          - {id: pull, plugin: python.call, args: {callable: "steps:fetch"}}
      load:
        steps:
          - {id: keep, plugin: python.call, args: {callable: "steps:keep_on_second_call"}}
"""

STEPS = '''\
import os
from pathlib import Path

CALLS = Path(__file__).with_name("fetch.calls")


def flaky_fetch():
    """Fails on its first call, as a remote service might, then answers."""
    calls = int(CALLS.read_text()) + 1 if CALLS.exists() else 1
    CALLS.write_text(str(calls))
    if calls == 1:
        raise ConnectionError("connection reset")
    return [{"id": 1, "amount": 5}, {"id": 2, "amount": 7}, {"id": 3, "amount": 9}]


def fetch():
    return [{"id": 1}]


def double(data):
    return [{**row, "amount": row["amount"] * 2} for row in data]


def keep_on_second_call(batches):
    """A load whose first call fails: the pipeline's own retry runs the pipeline again."""
    marker = Path(__file__).with_name("keep.calls")
    if not marker.exists():
        marker.write_text("1")
        raise OSError("disk full")
    return sum(len(batch) for batch in batches)


def explode(data):
    raise ValueError("upstream refused token " + os.environ["SHOP_API_TOKEN"])
'''


#: a pipeline whose step's own code creates a span (as an instrumented HTTP client would), with a
#: tracer provider of its own, and writes down the span's trace id, parent and process
CALLING_CONFIG = """\
executor: {name: process, workers: 1}
pipelines:
  calling:
    type: ETL
    phases:
      extract:
        steps:
          - {id: call_out, plugin: python.call, args: {callable: "calling:call_out"}}
      load:
        steps:
          - {id: keep, plugin: jsonl.write, args: {path: out/kept.jsonl}}
"""

CALLING_STEP = '''\
import json
import os
from pathlib import Path

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


def call_out():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("http-client").start_as_current_span("GET /orders"):
        pass
    [span] = exporter.get_finished_spans()
    Path(__file__).with_name("span.json").write_text(json.dumps({
        "trace_id": span.context.trace_id, "parent": span.parent.span_id if span.parent else None, "pid": os.getpid(),
    }))
    return [{"id": 1}]
'''


def write_calling_run(directory: Path, executor: str = "process, workers: 1") -> Path:
    """Write the config whose step makes a span of its own on a worker of ``executor``."""
    (directory / "calling.py").write_text(CALLING_STEP)
    config = directory / "pipeline.yaml"
    config.write_text(CALLING_CONFIG.replace("process, workers: 1", executor))
    return config


def write_run(directory: Path, executor: str = "local") -> Path:
    """Write the config (on ``executor``) and its step module; the config's path."""
    (directory / "steps.py").write_text(textwrap.dedent(STEPS))
    config = directory / "pipeline.yaml"
    config.write_text(CONFIG.replace("{name: local}", f"{{name: {executor}}}"))
    return config
