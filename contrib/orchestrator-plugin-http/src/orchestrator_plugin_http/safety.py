"""What may be shown of a request: the URL without its query or credentials, never header values.

Header values often come from ``${API_TOKEN}``-style variables, and query strings often carry
``api_key=...``. The orchestrator redacts the values of variables whose *names* look secret, but a
header filled from ``${CLIENT_ID}`` or a key pasted into the URL would slip through; so this step
never puts either into a log line or an error in the first place.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit, urlunsplit

MASK = "***"


def public_url(url: str, has_params: bool = False) -> str:
    """``scheme://host[:port]/path``, dropping ``user:password@``, the query and the fragment; a
    ``?...`` tells that a query was sent (in the URL, or as ``params`` when ``has_params``)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:  # a malformed port or host: show nothing that could be a secret
        return "<invalid url>"
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    shown = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    return f"{shown}?..." if parts.query or has_params else shown


def masked_headers(headers: Mapping[str, str]) -> str:
    """``Authorization=***, Accept=***``: which headers were sent, without any value."""
    return ", ".join(f"{name}={MASK}" for name in headers) or "none"


class Scrubber:
    """Replaces known secret values (header values, query values) in text meant for the user.

    A last line of defence for text that comes from elsewhere: a server's error body that echoes a
    header back, or an exception message from the HTTP library.
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        # Very short values ("1", "json") would mangle messages and are not credentials.
        self._secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    @classmethod
    def for_request(cls, headers: Mapping[str, str], params: Mapping[str, object]) -> Scrubber:
        """Every header value, the credential part of ``Bearer <token>``-style values, and every
        query parameter value given as text."""
        secrets: list[str] = []
        for value in headers.values():
            secrets.append(value)
            secrets.extend(part for part in value.split() if len(part) >= 8)
        secrets.extend(value for value in params.values() if isinstance(value, str))
        return cls(secrets)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return text


def one_line(text: str, limit: int = 160) -> str:
    """Collapse whitespace (a message must stay on one line) and cut to ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
