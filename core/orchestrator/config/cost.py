"""The cost model (``cost:`` in the config) and the one formula that turns what a step, a pipeline
or a run used into an estimated cost.

It is an estimate, and says exactly what it counts (``docs/monitoring.md`` repeats it):

- a step attempt or a pipeline: ``cpu_hour * CPU seconds / 3600 + memory_gib_hour * peak RSS in GiB
  * wall seconds / 3600``, at the prices of the executor that ran it (``executors.<name>`` overrides
  each price it gives; the others come from the top level);
- a run: ``per_run`` plus the sum of its pipelines' costs.

CPU seconds and peak RSS are those the history records (see :mod:`orchestrator.engine.usage`):
memory is charged at the process's peak for the whole wall time, so pipelines running side by side
in one process are each charged the whole process's memory, an upper bound.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

GIB = float(2**30)
HOUR = 3600.0


@dataclass(frozen=True, slots=True)
class Rates:
    """The prices one executor's work is charged at."""

    cpu_hour: float = 0.0
    memory_gib_hour: float = 0.0

    def estimate(self, cpu: float | None, rss: int | None, elapsed: float | None) -> float | None:
        """The cost of ``cpu`` CPU seconds and a peak of ``rss`` bytes held for ``elapsed`` wall
        seconds; None when nothing was measured (resource accounting off)."""
        if cpu is None and rss is None:
            return None
        memory = (rss or 0) / GIB * (elapsed or 0.0)
        return (self.cpu_hour * (cpu or 0.0) + self.memory_gib_hour * memory) / HOUR


@dataclass(frozen=True, slots=True)
class CostModel:
    """``cost:``: prices per CPU-hour and per GiB-hour of memory, a fixed price per run, and the
    executors whose prices differ."""

    currency: str | None = None
    default: Rates = field(default_factory=Rates)
    per_run: float = 0.0
    executors: Mapping[str, Rates] = field(default_factory=dict)

    def rates(self, executor: str) -> Rates:
        """The prices of work done on ``executor`` (its name: ``local``, ``process``, ``dask``)."""
        return self.executors.get(executor, self.default)

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> CostModel:
        """The model a validated ``cost:`` mapping describes."""
        default = Rates(float(data.get("cpu_hour", 0.0)), float(data.get("memory_gib_hour", 0.0)))
        executors = {
            name: Rates(float(prices.get("cpu_hour", default.cpu_hour)), float(prices.get("memory_gib_hour", default.memory_gib_hour)))
            for name, prices in (data.get("executors") or {}).items()
        }
        return cls(data.get("currency"), default, float(data.get("per_run", 0.0)), executors)
