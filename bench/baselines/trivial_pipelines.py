"""Many-pipelines baseline: N concurrent extract -> load runs of the same trivial functions the
orchestrator's pipelines call, in one anyio task group.

Usage: python trivial_pipelines.py WORKDIR N
"""

from __future__ import annotations

import sys

import anyio


async def main(pipelines: int) -> None:
    import trivial_steps

    async def one() -> None:
        await trivial_steps.load(await trivial_steps.extract())

    async with anyio.create_task_group() as group:
        for _ in range(pipelines):
            group.start_soon(one)


if __name__ == "__main__":
    sys.path.insert(0, sys.argv[1])
    anyio.run(main, int(sys.argv[2]))
