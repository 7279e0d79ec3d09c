"""``--json``: one JSON object per event on stdout, then a ``summary`` object."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict

from orchestrator.events import Event, RunResult
from orchestrator.reporting import Reporter


class JsonReporter(Reporter):
    def __call__(self, event: Event) -> None:
        self._write(event.to_dict())

    def log(self, record: logging.LogRecord) -> None:
        self._write(
            {
                "kind": "log",
                "run_id": getattr(record, "run_id", None),
                "pipeline": getattr(record, "pipeline", None),
                "step": getattr(record, "step", None),
                "level": record.levelname.lower(),
                "message": record.getMessage(),
                "time": record.created,
            }
        )

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
