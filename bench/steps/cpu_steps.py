"""A CPU-bound pure-Python transform for the process-cpu figure: a fixed amount of arithmetic per
batch (fixed work, not fixed time), so throughput compares how many such pipelines finish per second."""

from __future__ import annotations

from typing import Any


def burn(rows: list[dict[str, Any]], loops: int) -> list[dict[str, Any]]:
    """Spin through ``loops`` iterations of integer arithmetic holding the GIL, then tag the rows."""
    total = 0
    for i in range(loops):
        total = (total + i * i) % 1_000_003
    return [{**row, "checksum": total} for row in rows]
