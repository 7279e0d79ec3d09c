"""The built-in notification channels: ``webhook`` (a JSON POST), ``log`` (a line in the run's
output) and ``smtp`` (an e-mail). Standard library only; imported when a run first notifies."""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
import urllib.error
import urllib.parse
import urllib.request
from email.message import EmailMessage
from email.utils import formatdate
from typing import TYPE_CHECKING, Any

from orchestrator.errors import NotificationError
from orchestrator.version import __version__

if TYPE_CHECKING:
    from orchestrator.notify import Notification

SUBJECT_PREFIX = "[orchestrator]"
_LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


class Webhook:
    """POSTs the notification as a JSON object to ``url``; a response other than 2xx is a failure."""

    def __init__(self, url: str, headers: dict[str, str] | None = None, timeout: float = 10) -> None:
        self.url = url
        self.headers = {"Content-Type": "application/json", "User-Agent": f"pipeline-orchestrator/{__version__}", **(headers or {})}
        self.timeout = timeout

    def __call__(self, notification: Notification) -> None:
        body = json.dumps(notification.to_dict()).encode("utf-8")
        request = urllib.request.Request(self.url, data=body, headers=self.headers, method="POST")
        # errors name the server, never the whole URL: a webhook URL often is a credential itself
        server = urllib.parse.urlsplit(self.url).netloc.rpartition("@")[2]
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as exc:  # 4xx and 5xx
            raise NotificationError(f"{server} answered {exc.code} {exc.reason}") from None
        except urllib.error.URLError as exc:
            reason = exc.reason.strerror if isinstance(exc.reason, OSError) and exc.reason.strerror else exc.reason
            raise NotificationError(f"cannot reach {server}: {reason}") from None
        except TimeoutError:
            raise NotificationError(f"{server} did not answer within {self.timeout:g}s") from None


class Log:
    """One line per notification on the ``orchestrator.run.<pipeline>`` logger, which
    ``orchestrator run`` shows in its output (plain, live and ``--json`` alike)."""

    def __init__(self, level: str | None = None) -> None:
        self.level = level

    def __call__(self, notification: Notification) -> None:
        level = self.level or ("info" if notification.event == "success" else "warning")
        logger = logging.getLogger(f"orchestrator.run.{notification.pipeline}")
        where = {"run_id": notification.run_id, "pipeline": notification.pipeline, "step": notification.step}
        logger.log(_LEVELS[level], "notify: %s", notification.text, extra=where)


class Smtp:
    """Sends the notification as a plain-text e-mail through an SMTP server."""

    def __init__(
        self,
        host: str,
        to: list[str],
        port: int = 25,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 10,
        **sender: str,  # the option is ``from``, which is a Python keyword
    ) -> None:
        self.host, self.port, self.to, self.sender = host, port, to, sender["from"]
        self.username, self.password, self.starttls, self.timeout = username, password, starttls, timeout

    def __call__(self, notification: Notification) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as server:
            if self.starttls:
                server.starttls(context=ssl.create_default_context())
            if self.username is not None:
                server.login(self.username, self.password or "")
            server.send_message(self.message(notification))

    def message(self, notification: Notification) -> EmailMessage:
        message = EmailMessage()
        message["Subject"] = f"{SUBJECT_PREFIX} {notification.subject}"
        message["From"] = self.sender
        message["To"] = ", ".join(self.to)
        message["Date"] = formatdate(notification.time, localtime=True)
        message.set_content(_body(notification.to_dict()))
        return message


def _body(fields: dict[str, Any]) -> str:
    text = fields.pop("text")
    details = "\n".join(f"{name}: {value}" for name, value in fields.items() if value is not None)
    return f"{text}\n\n{details}\n"
