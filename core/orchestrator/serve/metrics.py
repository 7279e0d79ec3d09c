"""The Prometheus metrics ``orchestrator serve`` exposes at ``/metrics``.

The runs' own metrics come from their event streams (:class:`orchestrator.prometheus.RunMetrics`:
each run the server starts gets a consumer); this module adds what only the server's loop knows:
runs by how they ended (a run that could not start, or was cancelled by its overlap policy,
never reaches a ``run_finished``), the lag of each tick (when the server fired it against when
it was due), and, read at each scrape, the runs in progress and the ticks queued behind them;
plus the process's own CPU, memory and open files (``process_*``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from orchestrator.prometheus import RunMetrics

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from orchestrator.serve.overlap import OverlapGate

__all__ = ["ServeMetrics"]

class Loop(Protocol):
    """What the metrics read of the server at each scrape (the server itself, seen from here)."""

    @property
    def running(self) -> Mapping[str, Any]:
        """The runs started and not ended, by run id."""

    @property
    def gates(self) -> Mapping[str, OverlapGate]:
        """Each schedule's overlap gate, holding the ticks queued behind its running run."""


#: the lag of a tick: a healthy server fires within a second of the due time
LAG_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0, 300.0)


class ServeMetrics(RunMetrics):
    """Everything ``orchestrator serve`` exposes at ``/metrics``: the runs' metrics, how its runs
    ended, the lag of its ticks, and (read from ``server`` at each scrape) what runs and what
    waits; plus the process's own CPU, memory and open files (``process_*``)."""

    def __init__(self, server: Loop) -> None:
        from prometheus_client import ProcessCollector

        registry = CollectorRegistry()
        super().__init__(registry)
        ProcessCollector(registry=registry)
        registry.register(_Load(server))
        self.runs = Counter(
            "orchestrator_runs", "Runs the server started that ended, by how: succeeded, failed, cancelled "
            "(overlap: cancel) or interrupted (left resumable at shutdown).", ["status"], registry=registry,
        )
        self.lag = Histogram(
            "orchestrator_scheduler_lag_seconds", "How long after its due time each schedule tick was fired "
            "(claimed); missed ticks caught up after a downtime count their whole wait.", buckets=LAG_BUCKETS,
            registry=registry,
        )

    def run_ended(self, status: str) -> None:
        self.runs.labels(status).inc()

    def tick_fired(self, due: datetime, fired: datetime) -> None:
        self.lag.observe(max(0.0, (fired - due).total_seconds()))

    async def endpoint(self, request: Request) -> Response:
        """``GET /metrics`` of the server's HTTP side: the classic text exposition format (0.0.4),
        which every Prometheus version and agent reads."""
        from prometheus_client import generate_latest
        from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
        from starlette.concurrency import run_in_threadpool
        from starlette.responses import Response

        body = await run_in_threadpool(generate_latest, self.registry)
        return Response(body, media_type=CONTENT_TYPE_PLAIN_0_0_4)


class _Load(Collector):
    """Runs in progress and ticks queued, read from the server at each scrape (a dict's and the
    overlap gates' lengths: no lock, a scrape sees a moment's state)."""

    def __init__(self, server: Loop) -> None:
        self.server = server

    def collect(self) -> Iterator[Any]:
        yield GaugeMetricFamily("orchestrator_runs_in_progress", "Runs started and not ended.",
                                value=len(self.server.running))
        yield GaugeMetricFamily("orchestrator_queued_runs", "Ticks waiting for their schedule's running run to end "
                                "(overlap: queue or cancel).", value=sum(len(gate.queued) for gate in list(self.server.gates.values())))
