"""Prometheus metrics of runs, fed by their event streams: what ``orchestrator serve`` exposes at
``/metrics`` (:mod:`orchestrator.serve.metrics` adds what only its loop knows) and what
``orchestrator run --push-metrics URL`` pushes to a Pushgateway when the run ends (:class:`Pushed`).

:class:`RunMetrics` turns a run's events into counters and histograms of pipelines and steps.
Label cardinality is bounded: labels are pipeline and step names (what the config declares), a
final status, and ``on_error``'s outcome; never a run id, a path or an error text. Past
:data:`MAX_SERIES` distinct (pipeline, step) pairs, further pairs are counted under
``pipeline="_other", step="_other"``, so a server serving generated configs of thousands of steps
keeps its scrape small.

``prometheus_client`` is imported only here (and by :mod:`orchestrator.serve.metrics`), and this
module only by ``serve`` and by ``orchestrator run`` when a push is asked for.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics

from orchestrator.config.policies import DEAD_LETTER, SKIP
from orchestrator.errors import describe
from orchestrator.events import Event, Kind

if TYPE_CHECKING:
    from orchestrator.config.model import Plan

__all__ = ["DURATION_BUCKETS", "MAX_SERIES", "OTHER", "Pushed", "RunMetrics"]

#: the most distinct (pipeline, step) label pairs kept; more are counted under :data:`OTHER`
MAX_SERIES = 1000
OTHER = "_other"
#: step and pipeline durations: from a no-op step (milliseconds) to a long load (an hour)
DURATION_BUCKETS = (0.005, 0.025, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)


class RunMetrics:
    """The metrics fed by runs' event streams, in one registry. :meth:`consumer` gives the sink
    of one run; sinks of concurrent runs (``serve``'s threads) share the metrics, which
    ``prometheus_client`` keeps thread-safe."""

    def __init__(self, registry: CollectorRegistry) -> None:
        # no ``*_created`` series beside each counter and histogram: they would double what a
        # scrape holds, and Prometheus tells counter resets by itself
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = registry
        self._pairs: set[tuple[str, str]] = set()
        self._pairs_lock = threading.Lock()
        self.pipelines = Counter(
            "orchestrator_pipelines", "Pipelines that ended, by how: succeeded, failed, interrupted, skipped "
            "(a dependency did not succeed) or reused (by --resume).", ["pipeline", "status"], registry=registry,
        )
        self.pipeline_seconds = Histogram(
            "orchestrator_pipeline_duration_seconds", "Wall time of each pipeline that ran, however it ended.",
            ["pipeline"], buckets=DURATION_BUCKETS, registry=registry,
        )
        self.step_seconds = Histogram(
            "orchestrator_step_duration_seconds", "Wall time of each step that ran (all its attempts), however it ended.",
            ["pipeline", "step"], buckets=DURATION_BUCKETS, registry=registry,
        )
        self.steps = Counter(
            "orchestrator_steps", "Steps that ended, by how: succeeded, failed or interrupted.",
            ["pipeline", "step", "status"], registry=registry,
        )
        self.rows = Counter(
            "orchestrator_step_rows", "Rows steps produced (extract, transform) or wrote (load), when they said.",
            ["pipeline", "step"], registry=registry,
        )
        self.rows_in = Counter(
            "orchestrator_step_rows_in", "Rows transform and load steps were given.", ["pipeline", "step"], registry=registry,
        )
        self.retries = Counter(
            "orchestrator_retries", "Attempts that failed and were tried again, by step; step is empty for a "
            "pipeline's own retry.", ["pipeline", "step"], registry=registry,
        )
        self.rejected = Counter(
            "orchestrator_rejected_rows", "Rows steps rejected, by on_error: dead_letter (written to the dead "
            "letters) or skip.", ["pipeline", "step", "on_error"], registry=registry,
        )

    def labels(self, pipeline: str | None, step: str | None) -> tuple[str, str]:
        """The (pipeline, step) labels, bounded to :data:`MAX_SERIES` pairs."""
        pair = (pipeline or "", step or "")
        if pair in self._pairs:
            return pair
        with self._pairs_lock:
            if len(self._pairs) >= MAX_SERIES:
                return OTHER, OTHER if pair[1] else ""
            self._pairs.add(pair)
        return pair

    def consumer(self, plan: Plan | None = None) -> Callable[[Event], None]:
        """The sink of one run of ``plan`` (which says each step's ``on_error``)."""
        on_error: dict[tuple[str, str], str] = {}
        if plan is not None:
            for name, spec in plan.pipelines.items():
                for steps in spec.phases.values():
                    for step in steps:
                        on_error[name, step.id] = step.on_error

        def consume(event: Event) -> None:
            kind = event.kind
            if kind is Kind.STEP_FINISHED or kind is Kind.STEP_FAILED:
                pipeline, step = self.labels(event.pipeline, event.step)
                self.step_seconds.labels(pipeline, step).observe(event.elapsed or 0.0)
                self.steps.labels(pipeline, step, event.status or "failed").inc()
                if event.rows:
                    self.rows.labels(pipeline, step).inc(event.rows)
                if event.rows_in:
                    self.rows_in.labels(pipeline, step).inc(event.rows_in)
                if event.rejected:
                    policy = on_error.get((event.pipeline or "", event.step or ""), DEAD_LETTER)
                    self.rejected.labels(pipeline, step, SKIP if policy == SKIP else DEAD_LETTER).inc(event.rejected)
            elif kind is Kind.STEP_RETRY or kind is Kind.PIPELINE_RETRY:
                self.retries.labels(*self.labels(event.pipeline, event.step)).inc()
            elif kind in _PIPELINE_ENDS:
                pipeline = self.labels(event.pipeline, None)[0]
                self.pipelines.labels(pipeline, event.status or "failed").inc()
                if kind is Kind.PIPELINE_FINISHED:
                    self.pipeline_seconds.labels(pipeline).observe(event.elapsed or 0.0)

        return consume


_PIPELINE_ENDS = frozenset({Kind.PIPELINE_FINISHED, Kind.PIPELINE_SKIPPED, Kind.PIPELINE_REUSED})


class Pushed:
    """The metrics of one ``orchestrator run``, pushed once to a Pushgateway when it ends: the run's
    metrics plus ``orchestrator_runs_total`` by the run's status, in a registry of their own,
    grouped under ``job="orchestrator"`` and the pipeline file's name (``config``), so each file's
    last run replaces its previous push."""

    def __init__(self, url: str, plan: Plan, config: str) -> None:
        self.url = url
        self.config = config
        self.metrics = RunMetrics(CollectorRegistry())
        runs = Counter("orchestrator_runs", "Runs that ended, by how: succeeded, failed or interrupted.",
                       ["status"], registry=self.metrics.registry)
        consume = self.metrics.consumer(plan)

        def both(event: Event) -> None:
            consume(event)
            if event.kind is Kind.RUN_FINISHED:
                runs.labels(event.status or "failed").inc()

        self.consume = both

    def watching(self, sink: Callable[[Event], None]) -> Callable[[Event], None]:
        """``sink``, then the metrics."""

        def both(event: Event) -> None:
            sink(event)
            self.consume(event)

        return both

    def push(self) -> str | None:
        """Push the metrics; the warning to print when that failed (a push never fails the run)."""
        from prometheus_client import push_to_gateway

        try:
            push_to_gateway(self.url, job="orchestrator", registry=self.metrics.registry,
                            grouping_key={"config": self.config}, timeout=PUSH_SECONDS)
        except Exception as exc:  # noqa: BLE001 - whatever the request raised: reported, never fatal
            return f"warning: the run's metrics could not be pushed to {_without_password(self.url)}: {describe(exc)}"
        return None


#: how long a push may take before it is given up (seconds)
PUSH_SECONDS = 10.0


def _without_password(url: str) -> str:
    """``url`` as it may be shown: without the password its user part may hold."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))
