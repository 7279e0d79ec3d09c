"""How big a config may be: limits that keep a hostile or broken file from exhausting the machine.

A pipeline config is a few kilobytes to a few megabytes of text. Three things could still make
reading one take minutes or gigabytes, and each is refused with a message instead:

- a file that is not a regular file (``/dev/zero``, a FIFO that never ends or never starts);
- a file larger than :data:`MAX_BYTES`;
- a document whose aliases expand it past :data:`MAX_VALUES` values (the "billion laughs": nine
  lines of ``&a [*b, *b, ...]`` name 387 million values). The loader shares an aliased collection
  instead of copying it, but everything after it (schema checks, the start-up cache's digest)
  walks the expanded tree, so the size that matters is the expanded one.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

#: the largest config file read (the largest real configs seen are a few megabytes)
MAX_BYTES = 16 * 1024 * 1024
#: the most values (mappings, lists and scalars, counted as the document expands) a config may hold
MAX_VALUES = 1_000_000


class TooLarge(Exception):
    """The file or document is past a limit, or is no file at all; the message says which and
    what to do."""


def read_config_bytes(path: Path) -> bytes:
    """The file's bytes, refusing what is not a regular file or is larger than :data:`MAX_BYTES`.
    Raises :class:`TooLarge`, or the ``OSError`` opening the file raised."""
    _refuse_special(os.stat(path).st_mode)  # before opening: opening a FIFO waits for a writer
    with path.open("rb") as handle:
        _refuse_special(os.fstat(handle.fileno()).st_mode)  # it may have been swapped meanwhile
        raw = handle.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise TooLarge(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MiB, far more than a pipeline config; pass the pipeline's .yaml file")
    return raw


def _refuse_special(mode: int) -> None:
    if stat.S_ISDIR(mode):
        raise IsADirectoryError
    if not stat.S_ISREG(mode):
        kind = "a pipe (FIFO)" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file"
        raise TooLarge(f"this is {kind}, not a file; pass the pipeline's .yaml file")


def check_expansion(data: Any) -> None:
    """Raise :class:`TooLarge` when ``data``, with every shared (aliased) collection counted each
    time it appears, holds more than :data:`MAX_VALUES` values. Linear in the distinct values."""
    sizes: dict[int, int] = {}
    entered: set[int] = set()  # a collection inside itself counts once (the loader refuses those anyway)
    pending: list[tuple[Any, bool]] = [(data, False)]
    while pending:
        value, children_done = pending.pop()
        if not isinstance(value, (dict, list)):
            continue
        items = list(value.values()) if isinstance(value, dict) else value
        if not children_done:
            if id(value) in entered:
                continue
            entered.add(id(value))
            pending.append((value, True))
            pending.extend((item, False) for item in items if isinstance(item, (dict, list)) and id(item) not in entered)
            continue
        total = 1 + sum(sizes.get(id(item), 0) if isinstance(item, (dict, list)) else 1 for item in items)
        if total > MAX_VALUES:
            raise TooLarge(
                f"the document expands to more than {MAX_VALUES:,} values through its aliases ('*name'); "
                "a pipeline config never needs that many: remove the aliases that repeat other aliases"
            )
        sizes[id(value)] = total


def count_values(data: Any) -> int:
    """How many values ``data`` holds, a shared collection counted each time it appears: what
    ``include:`` and ``templates:`` add up, which multiply a config past what its text shows."""
    total = 0
    pending = [data]
    while pending:
        value = pending.pop()
        total += 1
        if isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return total
