"""Retries (429 with Retry-After, 5xx, refused connections) and the rate limit, against the real
server. Time is only checked as lower bounds between request arrivals the server recorded, never
as an upper bound on how fast the step is."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

from api_server import ITEMS, ApiServer, free_port
from conftest import RunPipeline
from orchestrator_plugin_http.limits import RetryPolicy, parse_retry_after, should_retry
from support import http_pipeline

FAST = "retry: {attempts: 3, backoff: 0.01, max_backoff: 0.05}"
PATIENT = "retry: {attempts: 3, backoff: 0.01, max_backoff: 5}"  # waits up to 5 s when the server says so


def gaps(api: ApiServer, path: str) -> list[float]:
    arrivals = [r.at for r in api.hits(path)]
    return [later - earlier for earlier, later in zip(arrivals, arrivals[1:], strict=False)]


def test_429_waits_for_retry_after_seconds_then_succeeds(run_pipeline: RunPipeline, api: ApiServer) -> None:
    ran = run_pipeline(http_pipeline('{url: "${API_BASE_URL}/v1/rate-limited", %s}' % PATIENT))

    assert ran.result.ok, ran.error
    assert ran.jsonl() == ITEMS[:2]
    assert len(api.hits("/v1/rate-limited")) == 2
    assert gaps(api, "/v1/rate-limited")[0] >= 0.9  # Retry-After: 1, not the 0.01 s backoff


def test_429_waits_for_a_retry_after_http_date(run_pipeline: RunPipeline, api: ApiServer) -> None:
    ran = run_pipeline(http_pipeline('{url: "${API_BASE_URL}/v1/rate-limited-date", %s}' % PATIENT))

    assert ran.result.ok, ran.error
    assert len(api.hits("/v1/rate-limited-date")) == 2
    # The date is 2 s ahead, at one-second resolution: at least about one second was waited.
    assert gaps(api, "/v1/rate-limited-date")[0] >= 0.9


def test_a_retry_after_longer_than_max_backoff_fails_at_once(run_pipeline: RunPipeline, api: ApiServer) -> None:
    ran = run_pipeline(http_pipeline('{url: "${API_BASE_URL}/v1/rate-limited-long", %s}' % PATIENT))

    assert not ran.result.ok
    assert "asked to wait 3600s (Retry-After), longer than retry.max_backoff (5s)" in ran.error
    assert "raise retry.max_backoff" in ran.error
    assert len(api.hits("/v1/rate-limited-long")) == 1


def test_503_twice_then_200_is_retried(run_pipeline: RunPipeline, api: ApiServer) -> None:
    ran = run_pipeline(http_pipeline('{url: "${API_BASE_URL}/v1/unavailable", %s}' % FAST))

    assert ran.result.ok, ran.error
    assert ran.jsonl() == ITEMS[:4]
    assert len(api.hits("/v1/unavailable")) == 3


def test_backoff_grows_between_tries(run_pipeline: RunPipeline, api: ApiServer) -> None:
    ran = run_pipeline(http_pipeline('{url: "${API_BASE_URL}/v1/unavailable", retry: {attempts: 3, backoff: 0.1, max_backoff: 5}}'))

    assert ran.result.ok, ran.error
    first, second = gaps(api, "/v1/unavailable")
    assert first >= 0.05 and second >= 0.1  # equal jitter: at least half of 0.1 s, then of 0.2 s


def test_503_every_time_fails_after_the_attempts(run_pipeline: RunPipeline, api: ApiServer) -> None:
    ran = run_pipeline(http_pipeline('{url: "${API_BASE_URL}/v1/down", %s}' % FAST))

    assert not ran.result.ok
    assert "HTTP 503 Service Unavailable after 3 tries" in ran.error
    assert len(api.hits("/v1/down")) == 3


def test_attempts_1_turns_retrying_off(run_pipeline: RunPipeline, api: ApiServer) -> None:
    ran = run_pipeline(http_pipeline('{url: "${API_BASE_URL}/v1/unavailable", retry: {attempts: 1}}'))

    assert not ran.result.ok
    assert "HTTP 503 Service Unavailable; " in ran.error
    assert len(api.hits("/v1/unavailable")) == 1


def test_404_is_not_retried(run_pipeline: RunPipeline, api: ApiServer) -> None:
    ran = run_pipeline(http_pipeline('{url: "${API_BASE_URL}/v1/nothing-here", %s}' % FAST))

    assert not ran.result.ok
    assert len(api.hits("/v1/nothing-here")) == 1


def test_a_refused_connection_is_retried_then_reported(run_pipeline: RunPipeline) -> None:
    ran = run_pipeline(http_pipeline('{url: "http://127.0.0.1:%d/v1/list", %s}' % (free_port(), FAST)))

    assert not ran.result.ok
    assert "cannot connect (connection refused) after 3 tries" in ran.error


def test_rate_limit_spaces_the_requests(run_pipeline: RunPipeline, api: ApiServer) -> None:
    ran = run_pipeline(http_pipeline('{url: "${API_BASE_URL}/v1/endless", rate_limit: 20, pagination: {style: page, max_pages: 5}}'))

    assert ran.result.ok, ran.error
    arrivals = [r.at for r in api.hits("/v1/endless")]
    assert len(arrivals) == 5
    assert arrivals[-1] - arrivals[0] >= 4 * 0.05 * 0.9  # four intervals of 1/20 s


def test_retries_count_against_the_rate_limit(run_pipeline: RunPipeline, api: ApiServer) -> None:
    ran = run_pipeline(http_pipeline('{url: "${API_BASE_URL}/v1/unavailable", rate_limit: 10, retry: {attempts: 3, backoff: 0}}'))

    assert ran.result.ok, ran.error
    arrivals = [r.at for r in api.hits("/v1/unavailable")]
    assert arrivals[-1] - arrivals[0] >= 2 * 0.1 * 0.9


# -- the arithmetic on its own ----------------------------------------------------------------


def test_backoff_is_exponential_jittered_and_capped() -> None:
    policy = RetryPolicy(attempts=10, backoff=1.0, max_backoff=8.0)
    rng = random.Random(7)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 8.0), (9, 8.0)]:
        delays = [policy.delay(attempt, rng) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1  # jittered


def test_retry_after_in_seconds_and_as_an_http_date() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after("0") == 0
    assert parse_retry_after(" 7 ") == 7
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30
    assert parse_retry_after(format_datetime(now - timedelta(seconds=30), usegmt=True), now) == 0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-5") is None


def test_which_statuses_are_retried() -> None:
    assert [s for s in (200, 400, 401, 404, 408, 429, 500, 502, 503, 504, 599) if should_retry(s)] == [429, 500, 502, 503, 504, 599]
