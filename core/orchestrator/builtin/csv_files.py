"""``csv.read`` and ``csv.write``: CSV files, streamed in batches of row dicts."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from itertools import islice, repeat
from operator import itemgetter
from typing import Any

from orchestrator.builtin.batching import DEFAULT_BATCH_SIZE, rows_of
from orchestrator.context import StepContext
from orchestrator.errors import StepError
from orchestrator.files import atomic_output, open_input

_CASTS = {"str": str, "int": int, "float": float, "bool": lambda v: v.strip().lower() in {"1", "true", "yes", "y"}}


def read(
    ctx: StepContext,
    path: str,
    batch_size: int = DEFAULT_BATCH_SIZE,
    delimiter: str = ",",
    encoding: str = "utf-8",
    types: dict[str, str] | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """Yield the file's rows as dicts keyed by the header, ``batch_size`` rows at a time. Blank
    lines are skipped; a row with more or fewer fields than the header is an error naming its line,
    since guessing which field is missing would load wrong data quietly."""
    with open_input(ctx, path, encoding=encoding, newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        header = next(reader, None)
        if header is None:
            return
        width = len(header)
        casts = _casts(header, types or {}, path)
        # Per-row work stays in C (map over builtins, no Python-level loop): at a million rows the
        # Python loop of a comprehension was a sixth of the whole step.
        while rows := list(islice(reader, batch_size)):
            if set(map(len, rows)) != {width}:
                rows = _even_rows(rows, width, reader.line_num, path)
            batch = list(map(dict, map(zip, repeat(header), rows)))  # lengths checked above
            yield batch if not casts else [_cast(row, casts, path) for row in batch]


def _even_rows(rows: list[list[str]], width: int, last_line: int, path: str) -> list[list[str]]:
    """Drop blank lines; refuse a ragged row, naming its line (counted back from the reader's
    position, exact unless quoted fields span lines)."""
    for index, row in enumerate(rows):
        if row and len(row) != width:
            line = last_line - (len(rows) - 1 - index)
            raise StepError(f"{path}:{line}: {len(row)} fields, but the header has {width}; fix the row or the delimiter")
    return [row for row in rows if row]


def write(
    ctx: StepContext,
    batches: Iterable[Any],
    path: str,
    delimiter: str = ",",
    encoding: str = "utf-8",
) -> int:
    """Write every batch to one CSV file (header from the first row's keys). The file appears
    only when everything was written, so a failed run leaves the previous file intact."""
    rows = 0
    with atomic_output(ctx, path, encoding=encoding, newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter, lineterminator="\n")
        fields: list[str] | None = None
        getter = None
        for batch in batches:
            batch = rows_of(batch, "csv.write")
            if not batch:
                continue
            if fields is None:
                fields = list(batch[0])
                writer.writerow(fields)
                getter = itemgetter(*fields) if len(fields) > 1 else (lambda r, f=fields[0]: (r[f],))
            try:
                writer.writerows(map(getter, batch))  # type: ignore[arg-type]
            except KeyError:
                writer.writerows([row.get(f) for f in fields] for row in batch)
            rows += len(batch)
    return rows


def _casts(header: list[str], types: dict[str, str], path: str) -> dict[str, Any]:
    unknown = sorted(set(types) - set(header))
    if unknown:
        raise StepError(f"{path}: 'types' names columns not in the header: {', '.join(unknown)}")
    return {column: _CASTS[kind] for column, kind in types.items()}


def _cast(row: dict[str, Any], casts: dict[str, Any], path: str) -> dict[str, Any]:
    for column, cast in casts.items():
        value = row[column]
        try:
            row[column] = None if value == "" else cast(value)
        except ValueError:
            raise StepError(f"{path}: column {column!r}: cannot read {value!r} as {cast.__name__}") from None
    return row

