"""``csv.read`` and ``csv.write``: CSV files, streamed in batches of row dicts."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Iterator
from itertools import islice, repeat
from operator import itemgetter
from typing import Any

from orchestrator.builtin.batching import DEFAULT_BATCH_SIZE, rows_of
from orchestrator.context import StepContext
from orchestrator.errors import StepError
from orchestrator.files import atomic_output, open_input, without_bom

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
    since guessing which field is missing would load wrong data quietly. A UTF-8 file may start
    with a byte order mark (Excel's "CSV UTF-8" does): it is not part of the first column's name."""
    with open_input(ctx, path, encoding=without_bom(encoding), newline="") as handle:
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
        ctx.add_bytes(read=os.fstat(handle.fileno()).st_size)  # the whole file, read to its end


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
    columns: list[str] | None = None,
) -> int:
    """Write every batch to one CSV file. The header is ``columns`` when given (written even when
    no row arrives), else every key of the first batch, in the order first seen (no rows and no
    ``columns``: an empty file). A header cannot grow once written, so a later row with a key
    it lacks fails the step naming the key, rather than losing the values. The file appears only
    when everything was written, so a failed run leaves the previous file intact. A replay of dead
    letters adds its rows to the file, under the header it has."""
    rows = 0
    existing = _existing_header(ctx, path, delimiter, encoding) if ctx.replaying else None
    if existing is not None and columns is not None and columns != existing:
        raise StepError(f"{path} has the columns {existing}, not {columns} (args.columns); a replay adds rows under the header the file has")
    with atomic_output(ctx, path, appends=True, encoding=encoding, newline="") as handle:
        before = handle.tell()  # a replay appends to a copy of the file
        writer = csv.writer(handle, delimiter=delimiter, lineterminator="\n")
        fields: list[str] | None = None
        known: set[Any] = set()
        getter: Any = None
        if existing is not None:
            fields, known, getter = _header(None, existing)
        elif columns is not None:
            fields, known, getter = _header(writer, columns)
        for batch in batches:
            batch = rows_of(batch, "csv.write")
            if not batch:
                continue
            keys = set().union(*batch)
            if fields is None:
                first = list(batch[0])
                header = first if len(keys) == len(first) else list(dict.fromkeys(k for row in batch for k in row))
                fields, known, getter = _header(writer, header)
            elif not keys <= known:
                raise StepError(_unknown_columns(batch, known, rows, "the file" if existing else "args.columns" if columns is not None else "the first batch"))
            try:  # made whole before any is written: a KeyError half way would write rows twice
                values = list(map(getter, batch))
            except KeyError:  # a row without some column: an empty field
                values = [tuple(row.get(f) for f in fields) for row in batch]
            writer.writerows(values)
            rows += len(batch)
        ctx.add_bytes(written=handle.tell() - before)
    return rows


def _existing_header(ctx: StepContext, path: str, delimiter: str, encoding: str) -> list[str] | None:
    """The header of the file a replay adds to (None when there is no file, or an empty one)."""
    full = ctx.path(path)
    if not full.is_file():
        return None
    with open(full, encoding=without_bom(encoding), newline="") as handle:
        return next(csv.reader(handle, delimiter=delimiter), None)


def _header(writer: Any, fields: list[str]) -> tuple[list[str], set[str], Any]:
    """Write the header (unless ``writer`` is None: the file has it); returns the fields, their
    set and a getter of a row's values."""
    if writer is not None:
        writer.writerow(fields)
    if len(fields) == 1:
        return fields, set(fields), lambda row, field=fields[0]: (row[field],)
    return fields, set(fields), itemgetter(*fields)


def _unknown_columns(batch: list[dict[str, Any]], known: set[Any], before: int, source: str) -> str:
    """Which row brings which new key, and what to do about it."""
    index, row = next((i, row) for i, row in enumerate(batch) if not row.keys() <= known)
    names = ", ".join(repr(key) for key in row if key not in known)
    return (
        f"row {before + index + 1} has column {names}, which the CSV header (from {source}) lacks, "
        f"and a header cannot grow once written; list every column in args.columns, or drop {names} in a transform"
    )


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

