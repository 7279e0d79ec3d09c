"""Dotted paths into parsed JSON (``data.items``, ``meta.next_cursor``, ``results.0.id``).

Kept apart from the HTTP code so that where records and cursors are found is one small, pure
function, and so the "not found" case carries enough detail for an error the user can act on.
"""

from __future__ import annotations

from typing import Any


class PathMissing(LookupError):
    """A dotted path did not lead anywhere; says how far it got and what was there instead."""

    def __init__(self, path: str, found: str, where: Any) -> None:
        self.path = path
        self.found = found
        super().__init__(f"{path!r} is not in the response ({_describe(found, where)})")


def lookup(document: Any, path: str) -> Any:
    """The value at ``path`` in ``document``; each part is a mapping key, or an index into a list.

    Raises :class:`PathMissing` when a part does not exist.
    """
    current = document
    walked: list[str] = []
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and _is_index(part, len(current)):
            current = current[int(part)]
        else:
            raise PathMissing(path, ".".join(walked), current)
        walked.append(part)
    return current


def find(document: Any, path: str) -> Any:
    """Like :func:`lookup`, but ``None`` when the path does not exist: for values whose absence
    is an answer (no next cursor means the last page)."""
    try:
        return lookup(document, path)
    except PathMissing:
        return None


def _is_index(part: str, length: int) -> bool:
    return part.isdigit() and int(part) < length


def _describe(found: str, where: Any) -> str:
    at = f"at {found!r}" if found else "the body"
    if isinstance(where, dict):
        keys = ", ".join(sorted(map(str, where))[:10]) or "no keys"
        return f"{at} is an object with keys: {keys}"
    if isinstance(where, list):
        return f"{at} is a list of {len(where)}"
    return f"{at} is {json_kind(where)}"


def json_kind(value: Any) -> str:
    """The JSON name of a parsed value's type (object, list, string, number, boolean, null)."""
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "list"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "null" if value is None else type(value).__name__
