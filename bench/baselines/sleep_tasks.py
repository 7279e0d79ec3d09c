"""Concurrency baseline: N anyio tasks each sleeping S seconds, in one task group.

Usage: python sleep_tasks.py N SECONDS
"""

from __future__ import annotations

import sys

import anyio


async def main(tasks: int, seconds: float) -> None:
    async with anyio.create_task_group() as group:
        for _ in range(tasks):
            group.start_soon(anyio.sleep, seconds)


if __name__ == "__main__":
    anyio.run(main, int(sys.argv[1]), float(sys.argv[2]))
