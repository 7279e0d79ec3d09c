"""Notifications: word of a pipeline that succeeded, failed or ran out of retries, sent to the
channels the config lists under ``notify:`` (a webhook, the log, e-mail, or a plugin's own).

The dispatcher watches the run's events, like the run history does, so it sends the same thing
whatever the executor (events from worker processes are relayed back to ``orchestrator run``).
Channels are plugins (``register_notifiers``). Sending happens in one background thread: the event
loop only puts notifications on a queue, so a slow or broken channel never holds up a run, and a
failed send is a warning that never changes the run's outcome or exit code. At the end of the run,
what is still queued gets a bounded time to go out.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from orchestrator.config.model import NotifySpec, Plan
from orchestrator.diagnostics import say
from orchestrator.errors import NotificationError
from orchestrator.events import FAILED, SUCCEEDED, Event, EventSink, Kind
from orchestrator.plugins.registry import NOTIFIER, Registry

SUCCESS, FAILURE, RETRY_EXHAUSTED = "success", "failure", "retry_exhausted"

#: How long the end of a run waits, at most, for notifications still being sent.
DRAIN_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Notification:
    """What a channel is given to send. Every text in it has the run's secrets redacted.

    ``event`` is ``success``, ``failure`` or ``retry_exhausted``; ``status`` the pipeline's (or the
    step's) status, ``succeeded`` or ``failed``; ``step`` is set when a step ran out of retries,
    ``attempts`` on ``retry_exhausted``; ``config`` is the pipeline file's absolute path and
    ``time`` the Unix time of the event."""

    event: str
    run_id: str
    pipeline: str
    status: str
    error: str | None
    elapsed: float | None
    config: str
    time: float
    step: str | None = None
    attempts: int | None = None

    @property
    def subject(self) -> str:
        """One line saying what happened, e.g. ``pipeline 'orders' failed``."""
        if self.event == RETRY_EXHAUSTED:
            who = f"step {self.step!r} of pipeline {self.pipeline!r}" if self.step else f"pipeline {self.pipeline!r}"
            return f"{who} failed after {self.attempts} attempts"
        return f"pipeline {self.pipeline!r} {self.status}"

    @property
    def text(self) -> str:
        """The subject with the elapsed time and the error, in one line."""
        elapsed = f" in {self.elapsed:.2f}s" if self.elapsed is not None else ""
        return f"{self.subject}{elapsed}" + (f": {self.error}" if self.error else "")

    def to_dict(self) -> dict[str, Any]:
        """Every field, plus ``text`` (what chat webhooks such as Slack's show)."""
        return {**asdict(self), "text": self.text}


#: (event kind, status) -> the notification event it is
_EVENTS: dict[tuple[Kind, str | None], str] = {
    (Kind.PIPELINE_FINISHED, SUCCEEDED): SUCCESS,
    (Kind.PIPELINE_FINISHED, FAILED): FAILURE,
    (Kind.RETRY_EXHAUSTED, FAILED): RETRY_EXHAUSTED,
}


class Dispatcher:
    """Sends a run's notifications to the channels of each pipeline's ``notify:``."""

    def __init__(
        self,
        plan: Plan,
        registry: Registry,
        redact: Callable[[str], str] = lambda text: text,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.plan = plan
        self.registry = registry
        self.redact = redact
        self.warn = warn or _to_stderr
        self.config = redact(str(plan.source.resolve()))
        self.queue: queue.SimpleQueue[tuple[NotifySpec, Notification] | None] = queue.SimpleQueue()
        self.thread: threading.Thread | None = None
        self.senders: dict[int, Callable[[Notification], Any]] = {}  # one per notify: entry

    def watching(self, forward: EventSink) -> EventSink:
        """An event sink that hands each event on, then queues the notifications it calls for."""

        def forward_then_notify(event: Event) -> None:
            forward(event)
            if (event.kind, event.status) in _EVENTS:
                self.observe(event)

        return forward_then_notify

    def observe(self, event: Event) -> None:
        what = _EVENTS.get((event.kind, event.status))
        pipeline = self.plan.pipelines.get(event.pipeline or "")
        if what is None or pipeline is None:
            return
        specs = [spec for spec in pipeline.notify if what in spec.on]
        if not specs:
            return
        text = self._text
        notification = Notification(
            what, event.run_id, self.redact(pipeline.name), str(event.status), text(event.error), event.elapsed,
            self.config, event.time, text(event.step), event.attempts,
        )
        if self.thread is None:
            self.thread = threading.Thread(target=self._send_all, name="orchestrator-notify", daemon=True)
            self.thread.start()
        for spec in specs:
            self.queue.put((spec, notification))

    def close(self, timeout: float = DRAIN_SECONDS) -> None:
        """Wait, at most ``timeout`` seconds, for the queued notifications to be sent."""
        if self.thread is None:
            return
        self.queue.put(None)
        self.thread.join(timeout)
        if self.thread.is_alive():
            self.warn(f"warning: notifications still being sent after {timeout:g}s were abandoned")

    def _send_all(self) -> None:
        while (item := self.queue.get()) is not None:
            spec, notification = item
            try:
                self._sender(spec)(notification)
            except Exception as exc:  # noqa: BLE001 - a channel can fail in any way; the run must not
                self.warn(
                    self.redact(f"warning: notification to channel {spec.channel!r} failed "
                                f"({notification.event}, pipeline {notification.pipeline!r}): {_describe(exc)}")
                )

    def _sender(self, spec: NotifySpec) -> Callable[[Notification], Any]:
        """The channel's sender for one ``notify:`` entry, created on first use, in this thread."""
        sender = self.senders.get(id(spec))
        if sender is None:
            entry = self.registry.get(NOTIFIER, spec.channel)
            if entry is None:  # validation reports this; reaching here means a plan built by hand
                raise LookupError(f"no notification channel {spec.channel!r} is installed")
            sender = self.senders[id(spec)] = entry.resolve()(**spec.options)
        return sender

    def _text(self, value: str | None) -> str | None:
        return None if value is None else self.redact(value)


def _describe(exc: BaseException) -> str:
    """One line: a :class:`NotificationError` by its message, anything else with its type."""
    text = " ".join(str(exc).split())
    if isinstance(exc, NotificationError) and text:
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _to_stderr(line: str) -> None:
    say(line, "warning")
