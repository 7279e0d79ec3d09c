"""Pacing requests: a per-step rate limiter, retry waits (exponential backoff with jitter), and
``Retry-After`` parsing. No HTTP library here, so the arithmetic is tested on its own."""

from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import anyio

_SECONDS = re.compile(r"\d+(\.\d+)?")


def should_retry(status: int) -> bool:
    """429 (too many requests) and every 5xx are worth another try; other statuses will not change."""
    return status == 429 or 500 <= status <= 599


class RateLimiter:
    """At most ``per_second`` request starts per second: each start waits for the previous one's
    slot plus ``1 / per_second``. Without a rate (``None``) it never waits.

    Spacing the starts evenly (rather than allowing bursts) is the behaviour APIs that publish a
    "requests per second" limit reward, and it needs no token bookkeeping."""

    def __init__(self, per_second: float | None) -> None:
        self.interval = 1.0 / per_second if per_second else 0.0
        self._next = 0.0
        self._lock = anyio.Lock()

    async def wait(self) -> None:
        """Return when the next request may start."""
        if not self.interval:
            return
        async with self._lock:
            now = time.monotonic()
            if self._next > now:
                await anyio.sleep(self._next - now)
                now = time.monotonic()
            self._next = max(now, self._next) + self.interval


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often one request is tried and how long to wait in between."""

    attempts: int = 3
    backoff: float = 1.0
    max_backoff: float = 60.0

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed try number ``attempt`` (1-based): ``backoff * 2**(attempt-1)``
        capped at ``max_backoff``, then "equal jitter" (between half and all of it), so clients
        that failed together do not all come back at the same instant."""
        ceiling = min(self.max_backoff, self.backoff * 2.0 ** (attempt - 1))
        jitter: float = (rng.uniform if rng else random.uniform)(0, ceiling / 2)
        return ceiling / 2 + jitter


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks for: a number of seconds or an HTTP date.

    ``None`` when absent or unreadable (the regular backoff applies then); a date in the past
    means 0.
    """
    if value is None:
        return None
    text = value.strip()
    if _SECONDS.fullmatch(text):
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())
