"""Retry, timeout and row-error policies: what the config says, as the engine uses it.

``retry`` and ``timeout`` may be set on a step, on a pipeline (for the pipeline as a whole) and, for
every step of the file, under ``defaults``. Durations are written ``500ms``, ``30s``, ``5m`` or
``1h`` (or a number of seconds). ``on_error`` (a transform or load step's, or under ``defaults``)
says what happens to a row the step rejects: see :mod:`orchestrator.runstate.deadletters`.
"""

from __future__ import annotations

import random
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

#: ``on_error``: a rejected row fails the step, is dropped, or goes to the run's dead letters
FAIL, SKIP, DEAD_LETTER = "fail", "skip", "dead_letter"

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def seconds(value: Any) -> float:
    """``"30s"`` → 30.0; numbers are seconds. The schema has already checked the shape."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    match = _DURATION.match(str(value))
    if match is None:
        raise ValueError(f"not a duration: {value!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def describe_seconds(value: float) -> str:
    """30.0 → ``30s``; 0.25 → ``250ms``: durations as the config writes them."""
    if value < 1:
        return f"{value * 1000:g}ms"
    return f"{value:g}s"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``attempts`` in all (the first one included); waits grow from ``initial`` (doubling when
    ``backoff`` is exponential) up to ``max``; with ``jitter`` each wait is drawn uniformly from
    zero to that bound ("full jitter", which spreads retries of many failing steps apart).
    ``on`` limits retries to exceptions of these class names (or subclasses of them); a name
    written in full (``module.Name``) matches by its last part."""

    attempts: int = 3
    backoff: str = "exponential"
    initial: float = 1.0
    max: float = 60.0
    jitter: bool = True
    on: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, value: dict[str, Any]) -> RetryPolicy:
        given: dict[str, Any] = {key: value[key] for key in ("attempts", "backoff", "jitter") if key in value}
        given.update({key: seconds(value[key]) for key in ("initial", "max") if key in value})
        return cls(**given, on=tuple(value.get("on", ())))

    def delay(self, failures: int) -> float:
        """The wait before the next attempt, after ``failures`` failed ones."""
        bound = self.bound(failures)
        return random.uniform(0, bound) if self.jitter else bound

    def bound(self, failures: int) -> float:
        """The longest wait before the next attempt, after ``failures`` failed ones (the wait
        itself without ``jitter``): what an engine's own retries are given to match."""
        return min(self.initial * (2 ** (failures - 1) if self.backoff == "exponential" else 1), self.max)

    def retries(self, error: BaseException) -> bool:
        """Whether this error is worth another attempt: never a config error, and only the
        listed exception types when ``on`` is given."""
        return self.retries_classes(error_classes(error))

    def retries_classes(self, classes: Collection[str]) -> bool:
        """:meth:`retries`, judged from the error's :func:`error_classes` alone: what an engine
        that runs a pipeline as one task has of the step's error once it left the core's run."""
        from orchestrator.errors import ConfigError

        if class_path(ConfigError) in classes:
            return False
        if not self.on:
            return True
        names = {path.rpartition(".")[2] for path in classes}  # a class's own name ends its path
        return bool(names & {name.rpartition(".")[2] for name in self.on})  # module.Name: by its name


def class_path(klass: type) -> str:
    """``module.QualifiedName`` of a class: ``builtins.ConnectionError``."""
    return f"{klass.__module__}.{klass.__qualname__}"


def error_classes(error: BaseException) -> tuple[str, ...]:
    """The :func:`class_path` of the error's class and of every class it derives from, most
    derived first: all a retry policy needs to judge the error, as plain text that crosses
    processes and engines."""
    return tuple(class_path(klass) for klass in type(error).__mro__)


@dataclass(frozen=True, slots=True)
class Policies:
    """The retry policy and timeout (seconds) of a step or a pipeline; None means none."""

    retry: RetryPolicy | None = None
    timeout: float | None = None

    @classmethod
    def from_config(cls, raw: dict[str, Any], defaults: Policies | None = None) -> Policies:
        defaults = defaults or NONE
        retry = RetryPolicy.from_config(raw["retry"]) if "retry" in raw else defaults.retry
        timeout = seconds(raw["timeout"]) if "timeout" in raw else defaults.timeout
        return cls(retry, timeout)


NONE = Policies()
