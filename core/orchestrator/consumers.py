"""The event consumers plugins register (``register_event_consumers``), put on a run's stream.

:func:`consuming` is called once per run by whoever assembles it (:mod:`orchestrator.launch`), in
the process that started the run: that process sees every event of the run, those of pipelines
that ran in workers included (executors relay them), so a consumer there sees the whole run
once. The engine knows nothing of consumers; it emits into the sink this module returns.

A consumer that raises is dropped for the rest of the run, with one warning naming it: what
watches a run must never change how it ends.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from orchestrator.errors import describe
from orchestrator.events import Event, EventSink

if TYPE_CHECKING:
    from orchestrator.config.model import Plan
    from orchestrator.plugins.registry import Registry


@dataclass(frozen=True, slots=True)
class RunStart:
    """What a consumer's factory is told about the run it is asked to watch. ``trace_context``
    holds the run's W3C trace context (``traceparent``: the run's trace id and the span id of
    the run itself), the one every pipeline's context carries into its workers (see
    :mod:`orchestrator.tracecontext`)."""

    run_id: str
    config: str
    plan: Plan
    trace_context: Mapping[str, str]


def consuming(registry: Registry, run: RunStart, sink: EventSink, warn: Callable[[str], None] | None = None) -> EventSink:
    """``sink`` followed by every registered consumer that wants this run (its factory did not
    return None). With none, ``sink`` itself: a run nobody consumes pays nothing per event."""
    from orchestrator.plugins.registry import CONSUMER

    tell = warn or _to_stderr
    consumers: list[tuple[str, EventSink]] = []
    for name in registry.names(CONSUMER):
        entry = registry.get(CONSUMER, name)
        assert entry is not None
        try:
            consumer = entry.resolve()(run)
        except Exception as exc:  # noqa: BLE001 - a consumer's factory never stops the run
            tell(f"warning: event consumer {name!r} ({entry.origin}) could not start: {describe(exc)}")
            continue
        if consumer is not None:
            consumers.append((name, consumer))
    return sink if not consumers else _Fanout(sink, consumers, tell)


class _Fanout:
    """The run's sink, then each consumer in turn; one that raises is dropped."""

    __slots__ = ("consumers", "sink", "warn")

    def __init__(self, sink: EventSink, consumers: list[tuple[str, EventSink]], warn: Callable[[str], None]) -> None:
        self.sink = sink
        self.consumers = consumers
        self.warn = warn

    def __call__(self, event: Event) -> None:
        self.sink(event)
        for name, consumer in self.consumers:
            try:
                consumer(event)
            except Exception as exc:  # noqa: BLE001 - the rule above: dropped, never failing the run
                self.consumers = [pair for pair in self.consumers if pair[0] != name]
                self.warn(f"warning: event consumer {name!r} failed on a {event.kind.value} event and was "
                          f"dropped for the rest of run {event.run_id}: {describe(exc)}")


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
