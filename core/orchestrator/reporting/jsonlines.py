"""``--json``: one JSON object per event on stdout, then a ``summary`` object."""

from __future__ import annotations

import json
from dataclasses import asdict

from orchestrator.events import Event, Kind, RunResult
from orchestrator.reporting.base import Reporter


class JsonReporter(Reporter):
    def __call__(self, event: Event) -> None:
        data = event.to_dict()
        if event.kind is Kind.LOG:  # a log line names its pipeline and step, null when it has none
            data = {"pipeline": None, "step": None, **data}
        self._write(data)

    def summary(self, result: RunResult) -> None:
        self._write(
            {
                "kind": "summary",
                "run_id": result.run_id,
                "status": "interrupted" if result.interrupted else "succeeded" if result.ok else "failed",
                "elapsed": result.elapsed,
                "pipelines": [asdict(outcome) for outcome in result.pipelines.values()],
            }
        )

    def _write(self, payload: dict[str, object]) -> None:
        self.write(json.dumps(payload, default=str) + "\n")
