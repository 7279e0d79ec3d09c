"""What steps print, as log lines of the step that printed them.

``orchestrator run --json`` writes one JSON object per line to stdout, and a worker process of the
``process`` executor shares its parent's stdout: a ``print()`` in step code would land in the middle
of either. While :func:`prints_as_logs` is in force, ``sys.stdout`` is a stream that gives each
line a step prints to that step's logger (``context.logger``), which the run turns into a ``log``
event like any other; what is printed outside a step goes to the real stdout as before. The step
is known from :data:`CURRENT_STEP`, set around each call of a step (context variables follow a
call into its worker thread).
"""

from __future__ import annotations

import contextvars
import io
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from orchestrator.context import StepContext

#: the step whose code runs here (None outside of a step's call)
CURRENT_STEP: contextvars.ContextVar[StepContext | None] = contextvars.ContextVar("orchestrator_step", default=None)


class StepPrints(io.TextIOBase):
    """A text stream that sends each complete line a step prints to the step's logger, at
    ``info``; anything written outside a step goes to ``fallback``."""

    def __init__(self, fallback: IO[str]) -> None:
        super().__init__()
        self.fallback = fallback
        #: a line not ended yet, per thread and step
        self._partial: dict[tuple[int, int], tuple[StepContext, str]] = {}
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        step = CURRENT_STEP.get()
        if step is None:
            return self.fallback.write(text)
        key = (threading.get_ident(), id(step))
        with self._lock:
            *lines, rest = (self._partial.pop(key, (step, ""))[1] + text).split("\n")
            if rest:
                self._partial[key] = (step, rest)
        for line in lines:
            step.logger.info("%s", line)
        return len(text)

    def close_lines(self) -> None:
        """Log what steps printed without ending the line."""
        with self._lock:
            partial, self._partial = self._partial, {}
        for step, line in partial.values():
            step.logger.info("%s", line)

    def flush(self) -> None:
        self.fallback.flush()

    def isatty(self) -> bool:
        return False


_installed: list[StepPrints] = []  # the stream in sys.stdout, while any run wants it
_users = 0
_install_lock = threading.Lock()


@contextmanager
def prints_as_logs() -> Iterator[None]:
    """While in force, what steps print becomes their log lines (see the module's text). Runs at
    the same time in one process (a Dask worker's threads) share one stream, installed by the
    first and removed by the last."""
    global _users
    with _install_lock:
        if _users == 0:
            _installed.append(StepPrints(sys.stdout))
            sys.stdout = _installed[0]
        _users += 1
    try:
        yield
    finally:
        with _install_lock:
            _users -= 1
            if _users == 0:
                prints = _installed.pop()
                sys.stdout = prints.fallback
                prints.close_lines()
