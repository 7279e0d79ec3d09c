"""What every API answer shares: JSON that is only ever data, every string redacted, and errors as
``{"error": "<what happened and what to do>"}`` with the status that says whose fault it is.

JSON is written with ``<``, ``>`` and ``&`` escaped (``\\u003c``...), so no answer can be read as
HTML whatever a client sniffs; names, params and error texts reach a page as data only.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

__all__ = ["ApiError", "dumps", "query_int", "redacted", "reply"]

_NOT_HTML = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


class ApiError(Exception):
    """A request that cannot be answered as asked: ``status`` (400, 403, 404, 409) and a message a
    person can act on."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def redacted(data: Any, redact: Callable[[str], str]) -> Any:
    """``data`` with every string in it (keys too) passed through ``redact``."""
    if isinstance(data, str):
        return redact(data)
    if isinstance(data, Mapping):
        return {redact(str(key)): redacted(value, redact) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [redacted(value, redact) for value in data]
    return data


def dumps(data: Any) -> str:
    """Compact JSON that cannot be mistaken for HTML (what values JSON has no type for become text)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str).translate(_NOT_HTML)


def reply(data: Any, redact: Callable[[str], str], status: int = 200) -> Response:
    from starlette.responses import Response

    return Response(dumps(redacted(data, redact)), status_code=status, media_type="application/json")


def query_int(request: Request, name: str, default: int, *, low: int = 0, high: int | None = None) -> int:
    """An integer query parameter, or a 400 that says what is expected."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if value < low or (high is not None and value > high):
        upper = f" and {high}" if high is not None else " or more"
        between = f"between {low}{upper}" if high is not None else f"{low}{upper}"
        raise ApiError(400, f"?{name}={raw!r}: expected a whole number {between}")
    return value
