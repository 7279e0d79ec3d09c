"""Splitting an SQL script into statements, so each runs (and is reported) on its own.

Drivers differ on scripts: sqlite3's ``execute`` refuses a second statement, and PostgreSQL
reports only the last statement's row count. Splitting at the ``;`` that end statements, and not
at those inside quotes, comments or PostgreSQL dollar-quoted bodies, makes them all behave alike.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")


def split(sql: str, complete: Callable[[str], bool] | None = None) -> list[str]:
    """The statements of ``sql``, without their ``;`` and without comment-only pieces.

    ``complete`` (such as :func:`sqlite3.complete_statement`) says whether a piece ends a
    statement; pieces are joined until it does, which keeps an SQLite trigger's ``BEGIN ... END``
    body whole."""
    statements: list[str] = []
    pending = ""
    for piece in _pieces(sql):
        pending = f"{pending};{piece}" if pending else piece
        if complete is None or complete(pending + ";"):
            statements.append(pending)
            pending = ""
    if pending:
        statements.append(pending)
    return [s.strip() for s in statements if _has_code(s)]


def _pieces(sql: str) -> list[str]:
    """``sql`` cut at every ``;`` outside quotes, comments and dollar quotes."""
    pieces: list[str] = []
    start = index = 0
    length = len(sql)
    while index < length:
        char = sql[index]
        if char in "'\"`":
            index = _end_of_quote(sql, index, backslashes=char == "'" and _is_escape_string(sql, index))
        elif sql.startswith("--", index):
            newline = sql.find("\n", index)
            index = length if newline < 0 else newline + 1
        elif sql.startswith("/*", index):
            index = _end_of_block_comment(sql, index)
        elif char == "$" and (match := _DOLLAR_TAG.match(sql, index)) and not _in_identifier(sql, index):
            close = sql.find(match.group(0), match.end())
            index = length if close < 0 else close + len(match.group(0))
        elif char == ";":
            pieces.append(sql[start:index])
            start = index = index + 1
        else:
            index += 1
    pieces.append(sql[start:])
    return pieces


def _end_of_quote(sql: str, index: int, *, backslashes: bool) -> int:
    quote = sql[index]
    index += 1
    while index < len(sql):
        char = sql[index]
        if backslashes and char == "\\":
            index += 2
            continue
        if char == quote:
            if sql.startswith(quote * 2, index):  # a doubled quote is the quote itself
                index += 2
                continue
            return index + 1
        index += 1
    return index


def _end_of_block_comment(sql: str, index: int) -> int:
    depth = 0
    while index < len(sql):
        if sql.startswith("/*", index):
            depth += 1
            index += 2
        elif sql.startswith("*/", index):
            depth -= 1
            index += 2
            if depth == 0:
                return index
        else:
            index += 1
    return index


def _is_escape_string(sql: str, index: int) -> bool:
    """PostgreSQL's E'...' strings take backslash escapes."""
    return index > 0 and sql[index - 1] in "eE" and not _in_identifier(sql, index - 1)


def _in_identifier(sql: str, index: int) -> bool:
    return index > 0 and (sql[index - 1].isalnum() or sql[index - 1] in "_$")


def _has_code(piece: str) -> bool:
    stripped = re.sub(r"--[^\n]*|/\*.*?\*/", "", piece, flags=re.DOTALL)
    return bool(stripped.strip())
