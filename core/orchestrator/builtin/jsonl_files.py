"""``jsonl.read`` and ``jsonl.write``: JSON Lines files (one JSON value per line), in batches."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from orchestrator.builtin.batching import DEFAULT_BATCH_SIZE
from orchestrator.context import StepContext
from orchestrator.errors import StepError
from orchestrator.files import atomic_output, open_input, without_bom


def read(
    ctx: StepContext, path: str, batch_size: int = DEFAULT_BATCH_SIZE, encoding: str = "utf-8"
) -> Iterator[list[Any]]:
    """Yield the file's values, ``batch_size`` at a time; blank lines are skipped, and so is a
    UTF-8 byte order mark (some Windows tools write one)."""
    decode = json.loads
    with open_input(ctx, path, encoding=without_bom(encoding)) as handle:
        batch: list[Any] = []
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                batch.append(decode(line))
            except json.JSONDecodeError as exc:
                raise StepError(f"{path}:{number}: invalid JSON: {exc.msg} (column {exc.colno})") from None
            if len(batch) >= batch_size:
                yield batch
                batch = []
        if batch:
            yield batch


def write(ctx: StepContext, batches: Iterable[Any], path: str, encoding: str = "utf-8") -> int:
    """Write every item of every batch as one JSON line; the file appears only on success. A
    replay of dead letters adds its lines to the file."""
    encode = json.JSONEncoder(ensure_ascii=False, default=str).encode
    rows = 0
    with atomic_output(ctx, path, appends=True, encoding=encoding) as handle:
        for batch in batches:
            items = batch if isinstance(batch, list) else [batch]
            handle.write("".join(encode(item) + "\n" for item in items))
            rows += len(items)
    return rows
