"""Turning Arrow's CSV errors into one line a user can act on: the file, the line, what is wrong
and what to change.

Arrow's streaming reader does not know line numbers (it parses blocks in parallel), so after a
failure the file is scanned once more with the ``csv`` module to find the offending line. That
costs a second read only on the error path, never while data flows.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

_CONVERSION = re.compile(
    r"In CSV column #(\d+): (?:Row #\d+: )?CSV conversion error to (.+?): invalid value '(.*)'$",
    re.DOTALL,
)


class BadRows:
    """Arrow's ``invalid_row_handler``: remembers the first row with the wrong number of fields
    (expected count, actual count, text) and lets Arrow raise as usual."""

    def __init__(self) -> None:
        self.first: tuple[int, int, str] | None = None

    def __call__(self, row: Any) -> str:
        if self.first is None:
            self.first = (row.expected_columns, row.actual_columns, row.text)
        return "error"


def explain(
    exc: BaseException,
    full: Path,
    path: str,
    done: int,
    bad_rows: BadRows,
    delimiter: str,
    encoding: str,
) -> str:
    """The one-line message for an Arrow error raised while reading ``full``, after ``done`` rows
    had been yielded."""
    message = str(exc).strip()
    scan = _Scanner(full, delimiter, encoding, done)
    if isinstance(exc, UnicodeDecodeError) or "invalid UTF8" in message:
        return f"{full} is not valid {encoding} text; set 'encoding'"
    if message.startswith("Empty CSV file"):
        return f"{path}: the file is empty (a CSV file needs a header line)"
    if bad_rows.first is not None:
        expected, actual, text = bad_rows.first
        line = scan.find(lambda row: bool(row) and len(row) != expected)
        return f"{_where(path, line)}: {actual} fields, but the header has {expected}; fix the row or the delimiter: {text[:80]}"
    if match := _CONVERSION.match(message):
        index, kind, value = int(match.group(1)), match.group(2), match.group(3)
        name = scan.column_name(index)
        line = scan.find(lambda row: len(row) > index and row[index] == value)
        return (
            f"{_where(path, line)}: column {name!r}: cannot read {value[:80]!r} as {kind}; "
            f"fix the value or set 'column_types' (types are guessed from the first block)"
        )
    if "straddl" in message or "out of sync" in message:
        return f"{path}: a quoted value spans several lines; set 'newlines_in_values: true' (and a larger 'block_size' if it persists)"
    first = message.splitlines()[0] if message else type(exc).__name__
    return f"{path}: {first}"


def _where(path: str, line: int | None) -> str:
    return f"{path}:{line}" if line else path


class _Scanner:
    """Reads the file again with the csv module to find the line of a failure."""

    def __init__(self, full: Path, delimiter: str, encoding: str, done: int) -> None:
        self.full, self.delimiter, self.encoding, self.done = (
            full,
            delimiter,
            encoding,
            done,
        )

    def column_name(self, index: int) -> str:
        try:
            with open(self.full, encoding=self.encoding, newline="") as handle:
                header = next(csv.reader(handle, delimiter=self.delimiter), [])
        except (OSError, UnicodeDecodeError, csv.Error):
            header = []
        return header[index] if index < len(header) else f"#{index}"

    def find(self, wrong: Callable[[list[str]], bool]) -> int | None:
        """The line of the first data row, past the rows already yielded, for which ``wrong``
        holds; ``None`` when it cannot be found (the file changed, or quoting confuses lines)."""
        try:
            with open(self.full, encoding=self.encoding, newline="") as handle:
                reader = csv.reader(handle, delimiter=self.delimiter)
                next(reader, None)
                data_rows = 0
                for row in reader:
                    if not row:
                        continue
                    data_rows += 1
                    if data_rows > self.done and wrong(row):
                        return reader.line_num
        except (OSError, UnicodeDecodeError, csv.Error):
            return None
        return None
