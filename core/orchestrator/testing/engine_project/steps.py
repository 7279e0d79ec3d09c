"""The steps of the engine adapters' test pipelines (``failing.yaml``, ``retried.yaml`` and
``retry_on.yaml`` beside this file). Each call is counted in a file beside this one, in the test's copy of the folder, so a
test can tell whether an engine's retry extracted again or went on from the checkpoint."""

from pathlib import Path
from typing import Any

HERE = Path(__file__).parent


def _count(name: str) -> int:
    """Count a call of ``name``; the number of calls so far, this one included."""
    counter = HERE / "calls" / name
    counter.parent.mkdir(exist_ok=True)
    calls = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(calls))
    return calls


def rows(name: str) -> list[dict[str, Any]]:
    _count(f"extract-{name}")
    return [{"id": 1, "name": "ada"}, {"id": 2, "name": "grace"}, {"id": 3, "name": "alan"}]


def boom(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    raise ConnectionError("the source went away")


def fail_first_time(name: str) -> None:
    """Fails on its first call only: what a task retry has to get past."""
    if _count(f"after-load-{name}") == 1:
        raise ConnectionError("the warehouse dropped the connection")


class Throttled(ConnectionError):
    """A source's own error, derived from the class ``retry_on.yaml``'s policy names: the core
    retries it, so every engine must."""


def throttled_twice(name: str) -> list[dict[str, Any]]:
    """Fails twice with :class:`Throttled`, then gives its rows: three attempts in all."""
    if _count(f"extract-{name}") <= 2:
        raise Throttled("the source is throttling")
    return [{"id": 1, "name": "ada"}]


def malformed(name: str) -> list[dict[str, Any]]:
    """Fails with an error no ``on: [ConnectionError]`` policy retries."""
    _count(f"extract-{name}")
    raise ValueError("the source sent a malformed page")


def interval(since: str, until: str, logical: str) -> list[dict[str, Any]]:
    """One row saying which data interval the run was about."""
    return [{"since": since, "until": until, "logical": logical}]
