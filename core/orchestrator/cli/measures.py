"""How ``orchestrator runs`` writes the history's figures: durations, CPU time, memory, bytes, rows
per second, costs and trends. Each gives ``-`` for what was not recorded (a run of an older
version, resource accounting off, a step that reported no bytes, a config without ``cost:``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}s"


def cpu(value: float | None) -> str:
    """CPU seconds, to the millisecond (a step's is often a few)."""
    return "-" if value is None else f"{value:.3f}s"


def count(rows: int | None) -> str:
    return "-" if rows is None else str(rows)


def size(value: int | None) -> str:
    """Bytes in binary units: ``337 B``, ``1.2 KiB``, ``36.0 MiB``."""
    if value is None:
        return "-"
    amount, unit = float(value), 0
    while amount >= 1024 and unit < len(_UNITS) - 1:
        amount, unit = amount / 1024, unit + 1
    return f"{value} B" if unit == 0 else f"{amount:.1f} {_UNITS[unit]}"


def rate(rows: int | None, elapsed: float | None) -> str:
    """Rows per second over the wall time."""
    if rows is None or not elapsed:
        return "-"
    return f"{rows / elapsed:,.0f}/s"


def cost(value: float | None, currency: str | None) -> str:
    """An estimated cost: to the cent from 1 up, else to four significant digits (a step's is
    often a small fraction of a cent)."""
    if value is None:
        return "-"
    return (f"{value:.2f}" if value >= 1 else f"{value:.4g}") + (f" {currency}" if currency else "")


def percent(value: float | None) -> str:
    """A share (``0.95`` as ``95%``)."""
    return "-" if value is None else f"{value:.0%}"


def trend(value: float | None) -> str:
    """A change as ``+12%`` (slower) or ``-3%`` (faster)."""
    return "-" if value is None else f"{value:+.0%}"


def usage(row: dict[str, Any], rows: int | None, currency: str | None, *, costed: bool) -> tuple[str, ...]:
    """The usage cells of a history row: CPU, peak RSS, rows/s, bytes read and written, and (when
    the run is ``costed``) the cost."""
    cells = (cpu(row.get("cpu")), size(row.get("rss")), rate(rows, row.get("elapsed")),
             size(row.get("bytes_read")), size(row.get("bytes_written")))
    return (*cells, cost(row.get("cost"), currency)) if costed else cells


def render(rows: Sequence[Sequence[str]]) -> str:
    """A table: columns padded to their widest cell, the last one left ragged."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return "".join("  ".join([c.ljust(w) for c, w in zip(row, widths)] + [row[-1]]).rstrip() + "\n" for row in rows)
