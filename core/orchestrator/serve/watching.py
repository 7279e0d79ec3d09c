"""The file watchers of a server: one thread per file trigger, each following its glob with
:func:`~orchestrator.serve.files.watch_versions` and putting every settled version on the server's
queue as a :class:`FileSeen`. Whether a version fires is the server's decision (the ledger's claim),
made on its own thread."""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.serve.catalog import FileTrigger
from orchestrator.serve.files import FileVersion, watch_versions

__all__ = ["FileSeen", "Watchers"]


@dataclass
class FileSeen:
    """A settled version of a file a trigger watches."""

    trigger_id: str
    version: FileVersion


class Watchers:
    """The running watchers, by trigger id."""

    def __init__(self, events: queue.Queue[Any]) -> None:
        self.events = events
        self._stops: dict[str, threading.Event] = {}

    def start(self, base: Path, trigger: FileTrigger) -> None:
        """Watch ``trigger``'s glob (relative to ``base``), replacing a watcher of the same id."""
        self.stop([trigger.id])
        stop = self._stops[trigger.id] = threading.Event()

        def follow() -> None:
            for version in watch_versions(trigger.pattern, base, settle=trigger.settle, fired=lambda _v: False,
                                          stop=stop, digest=trigger.digest, poll=trigger.poll):
                self.events.put(FileSeen(trigger.id, version))

        threading.Thread(target=follow, name=f"watch {trigger.pattern}", daemon=True).start()

    def stop(self, trigger_ids: list[str] | None = None) -> None:
        """Stop the watchers of ``trigger_ids`` (None: all of them)."""
        for trigger_id in list(self._stops) if trigger_ids is None else trigger_ids:
            stop = self._stops.pop(trigger_id, None)
            if stop is not None:
                stop.set()
