"""The task of one pipeline: :class:`PipelineOperator` runs it through pipeline-orchestrator, as
``orchestrator run FILE --pipeline NAME --only --run-id ID --no-pipeline-retry`` would, in the
task's process.

What Airflow knows of the run is mapped onto the core's own words, never re-implemented:

- the run id is made of the DAG id, Airflow's run id and the pipeline
  (:func:`orchestrator.runstate.layout.run_id_from`): the same on every try of the task, so a
  retry continues the run from its checkpoints and skips the loads that completed;
- the DAG run's params that the file declares under ``params:`` are the run's parameters;
- the DAG run's data interval is the run's ``${schedule.*}``, in the schedule's time zone;
- the pipeline's own ``retry:`` became the task's retries, so the run makes one attempt.

A pipeline that fails fails the task, and Airflow retries it while it has retries left, when the
core would retry its error (:meth:`orchestrator.adapters.PipelineFailed.worth_retrying`: with
``retry.on``, only an error of one of those classes or of a class derived from one); a file that
no longer validates, or a run that cannot go on (its config changed since the try that failed),
fails it without a retry, since another try would meet the same problem.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException, AirflowFailException


class PipelineFailed(AirflowException):
    """The pipeline ran and did not succeed; the message is its error, with the run to look at."""


class PipelineOperator(BaseOperator):
    """Runs one pipeline of a pipeline file. ``defaults`` are the file's parameters as the DAG
    declares them: a DAG run's param of one of those names that differs from its default is
    passed on (the defaults themselves are the file's, worked out by the run); ``zone`` is the
    file's schedule's time zone, None for a DAG without a schedule; ``retry_on`` is the
    pipeline's ``retry.on``, the errors a retry is for (any, when empty)."""

    ui_color = "#e8f1fb"

    def __init__(
        self, *, config: str, pipeline: str, defaults: Mapping[str, Any] | None = None, zone: str | None = None,
        retry_on: Sequence[str] = (), **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.config = config
        self.pipeline = pipeline
        self.defaults = dict(defaults or {})
        self.zone = zone
        self.retry_on = tuple(retry_on)

    def execute(self, context: Any) -> dict[str, Any]:
        from orchestrator import adapters
        from orchestrator.config.policies import RetryPolicy
        from orchestrator.errors import ConfigError
        from orchestrator.launch import LaunchError
        from orchestrator.runstate.layout import run_id_from

        run_id = run_id_from(self.dag_id, context["run_id"], self.pipeline)
        given = context.get("params") or {}
        params = {
            name: given[name] for name, default in self.defaults.items()
            if name in given and given[name] is not None and given[name] != default
        }
        self.log.info("running pipeline %r of %s as run %s", self.pipeline, self.config, run_id)
        try:
            outcome = adapters.run_pipeline(
                self.config, self.pipeline, run_id, params, self._interval(context), on_event=self._log_event,
            )
        except ConfigError as exc:
            raise AirflowFailException("\n".join(str(problem) for problem in exc.problems)) from None
        except LaunchError as exc:
            raise AirflowFailException(str(exc)) from None
        except adapters.PipelineFailed as failed:
            said = f"pipeline {self.pipeline!r} {failed.status}: {failed.error} (orchestrator runs show {run_id} --config {self.config})"
            if not failed.worth_retrying(RetryPolicy(on=self.retry_on)):
                raise AirflowFailException(f"{said}; not retried: its retry.on does not name this error") from None
            raise PipelineFailed(said) from None
        return {"run_id": run_id, "status": outcome.status, "rows": outcome.rows, "elapsed": round(outcome.elapsed, 3)}

    def _interval(self, context: Any) -> tuple[datetime, datetime] | None:
        """The DAG run's data interval in the schedule's zone; None for a run that has none (a
        manual run of an unscheduled DAG), which gets the moment it started, as by hand."""
        start, end = context.get("data_interval_start"), context.get("data_interval_end")
        if start is None or end is None:
            return None
        if self.zone is not None:
            zone = ZoneInfo(self.zone)
            start, end = start.astimezone(zone), end.astimezone(zone)
        return start, end

    def _log_event(self, event: Any) -> None:
        """The run's steps and outcome in the task's log."""
        kind = event.kind
        if kind == "step_finished":
            self.log.info("%s/%s: %s rows", event.phase, event.step, event.rows)
        elif kind == "step_failed":
            self.log.error("%s/%s failed: %s", event.phase, event.step, event.error)
        elif kind == "step_reused":
            self.log.info("%s/%s: reused from the earlier try (%s rows)", event.phase, event.step, event.rows)
        elif kind in ("pipeline_finished", "pipeline_reused"):
            self.log.info("pipeline %s %s%s", event.pipeline, event.status, f": {event.error}" if event.error else "")
