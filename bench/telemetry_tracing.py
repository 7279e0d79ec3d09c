"""16: what tracing a run costs per step. The same 2,000-step run (one pipeline: a no-op extract,
2,000 no-op sync transforms, a no-op load, ``state: off``), put together as ``orchestrator run``
does (:mod:`orchestrator.launch`), with the OpenTelemetry plugin's consumer tracing it into a
batch span processor whose exporter discards (ours) and with no consumer (baseline), in process,
interleaved. Each step makes a step span and an attempt span; the difference per step is what
the consumer, the SDK's spans and the queueing cost. The export itself (protobuf encoding, the
HTTP request) happens on the processor's thread and is not counted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import anyio

from bench.environment import PLUGIN_ENV
from bench.harness import US
from bench.measure import flatten, time_calls
from bench.report import Row, Target
from orchestrator.config.plan import load_plan
from orchestrator.events import discard
from orchestrator.launch import Launch, Launched, launched
from orchestrator.plugins.discovery import Plugins, load_plugins

if TYPE_CHECKING:
    from pathlib import Path

    from bench.harness import Bench

STEPS = 2_000


async def _start(started: Launched) -> None:
    await started.start(discard)


def _launch(config: Path, plugins: Plugins) -> Callable[[], None]:
    plan = load_plan(config, plugins.registry)

    def run() -> None:
        with launched(plan, plugins, Launch(str(config))) as started:
            # started.result, not anyio.run's return value: on Python 3.11 asyncio's runner
            # formats the main coroutine's result when it restores signal handlers, which costs
            # as much as the whole run's bookkeeping (see Engine.run_sync)
            anyio.run(_start, started)
        if started.result is None or not started.result.ok:
            raise RuntimeError(f"the traced run failed: {started.result}")

    return run


def tracing_overhead(bench: Bench) -> list[Row]:
    try:
        from opentelemetry.sdk.trace import ReadableSpan
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
        from orchestrator_plugin_opentelemetry import tracing
    except ImportError:  # the contrib distribution is not installed here
        return []

    class Discard(SpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    config = bench.workspace.state_config(STEPS, "tracing", "off")
    counted = STEPS + 2
    plain = load_plugins(env=PLUGIN_ENV)
    traced = load_plugins(env=PLUGIN_ENV)
    tracing.trace_to(BatchSpanProcessor(Discard(), max_queue_size=4 * counted), traced)
    try:
        samples = time_calls({"no tracing": _launch(config, plain), "tracing": _launch(config, traced)}, bench.reps(9, 3))
    finally:
        tracing.reset()
    ours, baseline = (samples[name].median_seconds / counted * US for name in ("tracing", "no tracing"))
    note = (
        f"One run of one pipeline with a no-op extract, {STEPS:,} no-op sync transforms (bench.noop) and a no-op load, "
        "`state: off`, started as `orchestrator run` starts it (orchestrator.launch), in process: with the "
        "OpenTelemetry plugin's event consumer tracing it (a step span and an attempt span per step, into a "
        "BatchSpanProcessor whose exporter discards) against the same run with no consumer; each median / "
        f"{counted:,} steps: the difference is what tracing costs per step."
    )
    return [Row("16", "tracing per step (OpenTelemetry)", "us", ours, baseline, "no tracing",
                Target(30, "difference"), note, flatten(samples))]
