"""Importing plugin entry points without letting one that hangs hang every command.

A plugin module that blocks at import (a network call, a lock, an endless loop) would otherwise
stop ``validate``, ``run`` and ``plugins`` alike with no word of why. Imports therefore run on one
worker thread while the command waits: after :data:`NOTICE_AFTER` seconds the plugin being imported
is named on stderr, and after ``ORCHESTRATOR_PLUGIN_IMPORT_TIMEOUT`` seconds (default
:data:`DEFAULT_TIMEOUT`) it is given up and reported like any other broken plugin. A thread cannot be
stopped, so a stuck worker is left behind as a daemon (it does not keep the process alive) and the
next import gets a fresh worker. A healthy import costs one hand-over between threads.
"""

from __future__ import annotations

import importlib
import math
import queue
import threading
from collections.abc import Callable, Mapping
from typing import Any

from orchestrator.diagnostics import say

#: seconds after which the plugin still importing is named on stderr
NOTICE_AFTER = 1.0
#: seconds after which an import is given up, unless ORCHESTRATOR_PLUGIN_IMPORT_TIMEOUT says otherwise
DEFAULT_TIMEOUT = 30.0
TIMEOUT_VARIABLE = "ORCHESTRATOR_PLUGIN_IMPORT_TIMEOUT"


class ImportTimedOut(Exception):
    """An entry point's import did not finish in time; it goes on in an abandoned thread."""


class _Job:
    __slots__ = ("done", "error", "reference", "value")

    def __init__(self, reference: str) -> None:
        self.reference = reference
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None


class BoundedImporter:
    """Imports entry-point references one at a time on a worker thread, each within a time limit."""

    def __init__(self, env: Mapping[str, str], say: Callable[[str], None] | None = None) -> None:
        self.timeout = timeout_from(env)
        self.say = say or _to_stderr
        self._jobs: queue.SimpleQueue[_Job] | None = None

    def load(self, reference: str, who: str) -> Any:
        """The object ``reference`` names; ``who`` describes the plugin in the notice on stderr.
        Raises what the import raised, or :class:`ImportTimedOut`."""
        job = _Job(reference)
        self._worker().put(job)
        if not job.done.wait(min(NOTICE_AFTER, self.timeout)):
            if self.timeout > NOTICE_AFTER:
                self.say(f"still importing plugin {who} ({reference}); it is given up after {self.timeout:g} s")
            if not job.done.wait(max(self.timeout - NOTICE_AFTER, 0.0)):
                self._jobs = None  # the worker is stuck in this import: the next one gets a new worker
                raise ImportTimedOut(
                    f"importing {reference!r} did not finish within {self.timeout:g} s (something in the "
                    f"module blocks at import); fix or uninstall the plugin, or raise {TIMEOUT_VARIABLE}"
                )
        if job.error is not None:
            raise job.error
        return job.value

    def _worker(self) -> queue.SimpleQueue[_Job]:
        if self._jobs is None:
            self._jobs = queue.SimpleQueue()
            threading.Thread(target=_serve, args=(self._jobs,), name="plugin-import", daemon=True).start()
        return self._jobs


def _serve(jobs: queue.SimpleQueue[_Job]) -> None:
    while True:
        job = jobs.get()
        try:
            job.value = load_reference(job.reference)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread, which re-raises it
            job.error = exc
        finally:
            job.done.set()


def load_reference(reference: str) -> Any:
    """Import an entry point's object (``module`` or ``module:attr.path``; extras are ignored)."""
    module_name, _, attr_path = reference.split("[")[0].strip().partition(":")
    obj: Any = importlib.import_module(module_name.strip())
    for part in filter(None, attr_path.strip().split(".")):
        obj = getattr(obj, part)
    return obj


def timeout_from(env: Mapping[str, str]) -> float:
    """The import time limit in seconds; an unreadable or non-positive value keeps the default."""
    try:
        seconds = float(env.get(TIMEOUT_VARIABLE, "") or DEFAULT_TIMEOUT)
    except ValueError:
        return DEFAULT_TIMEOUT
    return seconds if math.isfinite(seconds) and seconds > 0 else DEFAULT_TIMEOUT


def _to_stderr(text: str) -> None:
    say(f"orchestrator: {text}", "warning")
