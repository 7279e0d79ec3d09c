"""A pipeline's ``retry:`` as Dagster's: the asset's ``RetryPolicy``, and which failures it may retry.

``attempts`` counts every attempt, Dagster's ``max_retries`` only the ones after the first. The
core waits ``initial`` after the first failure, doubling per failure under exponential backoff,
each wait at most ``max``. Dagster's ``RetryPolicy`` has no cap, and grows a ``delay`` ``d`` in one
of three ways: not at all (d, d, d...), ``Backoff.LINEAR`` (d, 2d, 3d...) or
``Backoff.EXPONENTIAL`` (d, 3d, 7d...: ``(2**n - 1) * d``). So the policy starts from the core's
first wait (``d = min(initial, max)``) and takes, of those three, the one whose waits stay
closest to the core's bounds: the smallest largest factor between a Dagster wait and the core's
(ties go to the simpler growth). That is the core's exactly when its waits are constant
(``backoff: fixed``, ``max`` at most ``initial``, or one retry) or are ``d, 2d`` (two retries
that ``max`` does not cap); otherwise some waits differ, and one may be longer than ``max``.
``Jitter.FULL`` draws each wait from zero to its bound, as the core's full jitter does.

``on:`` is not Dagster's to judge: the asset raises a ``Failure`` that allows retries only when
the core itself would retry the step's error (:meth:`PipelineFailed.worth_retrying`).
"""

from __future__ import annotations

import math

import dagster as dg

from orchestrator.adapters import PipelineFailed
from orchestrator.config.policies import RetryPolicy

#: Dagster's growths of a delay, simplest first: the wait before retry ``n`` (from 1) over the delay
_GROWTHS: tuple[tuple[dg.Backoff | None, int], ...] = ((None, 0), (dg.Backoff.LINEAR, 1), (dg.Backoff.EXPONENTIAL, 2))


def retry_policy(policy: RetryPolicy | None) -> dg.RetryPolicy | None:
    """The Dagster policy whose waits are closest to ``policy``'s (None: no retries)."""
    if policy is None or policy.attempts <= 1:
        return None
    bounds = core_bounds(policy)
    backoff = min((growth for growth, _ in _GROWTHS), key=lambda growth: _worst_factor(growth, bounds))
    return dg.RetryPolicy(
        max_retries=policy.attempts - 1, delay=bounds[0], backoff=backoff,
        jitter=dg.Jitter.FULL if policy.jitter else None,
    )


def core_bounds(policy: RetryPolicy) -> list[float]:
    """The core's longest wait before each retry (:meth:`RetryPolicy.bound`)."""
    return [policy.bound(failures) for failures in range(1, policy.attempts)]


def dagster_bounds(retry: dg.RetryPolicy) -> list[float]:
    """Dagster's wait before each retry of ``retry`` (before jitter), as Dagster computes it."""
    plain = dg.RetryPolicy(max_retries=retry.max_retries, delay=retry.delay, backoff=retry.backoff)
    return [float(plain.calculate_delay(number)) for number in range(1, retry.max_retries + 1)]


def _worst_factor(backoff: dg.Backoff | None, bounds: list[float]) -> float:
    """How far Dagster's waits under ``backoff`` stray from the core's ``bounds``: the largest
    factor (either way) between two waits of the same retry."""
    if bounds[0] <= 0:  # no wait at all: every growth of nothing is nothing
        return 0.0
    waits = dagster_bounds(dg.RetryPolicy(max_retries=len(bounds), delay=bounds[0], backoff=backoff))
    return max(abs(math.log(wait / bound)) for wait, bound in zip(waits, bounds, strict=True))


def worth_retrying(policy: RetryPolicy | None, failed: PipelineFailed) -> bool:
    """Whether Dagster may retry this failure: when the core would retry the failed step's error
    under the pipeline's ``retry:`` (its ``on:`` classes or ones derived from them, never a
    config error)."""
    return policy is not None and failed.worth_retrying(policy)
