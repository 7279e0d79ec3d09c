"""A pipeline's ``retry:`` as the options of its Prefect task.

``attempts`` counts every attempt, Prefect's ``retries`` only the ones after the first. The waits
are the core's own bounds (:meth:`RetryPolicy.bound`: ``initial``, doubled per failure under
exponential backoff, capped at ``max``). The core's full jitter draws each wait between zero and
its bound; Prefect draws it around an average, up to ``1 + retry_jitter_factor`` times it, so half
the bound with a factor of 1 gives the same range and the same mean. ``on`` becomes a retry
condition judged by the core itself (:meth:`PipelineFailed.worth_retrying`): a failure is retried
when its step's error is one the core would retry, an error of a listed class or of a class
derived from one, and never a config error. A file or a run the core refuses (ConfigError,
LaunchError) is never retried: it would be refused again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orchestrator.adapters import PipelineFailed
from orchestrator.config.policies import RetryPolicy

if TYPE_CHECKING:
    from prefect import Task
    from prefect.client.schemas.objects import TaskRun
    from prefect.states import State


def task_retry_options(policy: RetryPolicy | None) -> dict[str, Any]:
    """``retries``, ``retry_delay_seconds``, ``retry_jitter_factor`` and ``retry_condition_fn``
    for a task whose pipeline has ``policy`` (no retries without one)."""
    if policy is None or policy.attempts <= 1:
        return {"retries": 0, "retry_condition_fn": worth_retrying(None)}
    bounds = [policy.bound(failures) for failures in range(1, policy.attempts)]
    options: dict[str, Any] = {
        "retries": policy.attempts - 1,
        "retry_delay_seconds": [bound / 2 for bound in bounds] if policy.jitter else bounds,
        "retry_condition_fn": worth_retrying(policy),
    }
    if policy.jitter:
        options["retry_jitter_factor"] = 1.0
    return options


def worth_retrying(policy: RetryPolicy | None) -> Any:
    """Prefect's retry condition: a failed pipeline is retried when the core would retry its
    step's error under ``policy``; anything else the task raised (the core refusing the file or
    the run) is not."""
    def condition(task: Task[Any, Any], task_run: TaskRun, state: State[Any]) -> bool:
        error = state.result(raise_on_failure=False)
        return isinstance(error, PipelineFailed) and policy is not None and error.worth_retrying(policy)

    return condition
