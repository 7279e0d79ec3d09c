"""The plain reporter buffers its lines: a followed log is at most ``FLUSH_SECONDS`` behind, a run
of many events does not pay for one flush per line, and closing flushes what is left."""

from __future__ import annotations

import io
import os
import select
import time

from orchestrator.events import Event, Kind
from orchestrator.reporting.plain import FLUSH_SECONDS, PlainReporter


class CountingStream(io.StringIO):
    """A real text stream that counts its flushes."""

    flushes = 0

    def flush(self) -> None:
        self.flushes += 1
        super().flush()


def test_many_lines_cost_a_few_flushes_and_closing_flushes_the_rest() -> None:
    stream = CountingStream()
    reporter = PlainReporter(stream, lambda text: text)
    for number in range(1000):
        reporter(Event(Kind.STEP_STARTED, "r", f"p{number}", "extract", "src", "csv.read"))
    reporter.close()
    assert stream.getvalue().count("\n") == 1000
    assert stream.flushes <= 5  # one per FLUSH_SECONDS at most, and the last one


def test_a_followed_log_sees_a_line_within_the_flush_interval() -> None:
    read_end, write_end = os.pipe()
    with os.fdopen(write_end, "w") as stream, os.fdopen(read_end, "r") as reader:
        reporter = PlainReporter(stream, lambda text: text)
        started = time.monotonic()
        reporter(Event(Kind.RUN_STARTED, "20261121T110203-3fa9c1"))
        ready, _, _ = select.select([reader], [], [], 5)
        waited = time.monotonic() - started
        assert ready, "the line never reached the pipe"
        assert waited < FLUSH_SECONDS + 0.5
        assert "run 20261121T110203-3fa9c1 started" in os.read(reader.fileno(), 4096).decode()
        reporter.close()
