"""pipeline-flow peer: run a pipeline-flow YAML file as its documented entry point does,
``asyncio.run(start_orchestration(stream))``.

pipeline-flow configures logging from a ``logging/`` folder in the working directory, which a fresh
install does not have (it fails without one), so this script sets logging up itself, at WARNING:
its per-step INFO lines are then filtered out, the cheapest setting for the peer.
The steps come from bench/baselines/pipeline_flow_plugins.py, named in the YAML as custom plugins.

Usage: python pipeline_flow_run.py CONFIG
"""

from __future__ import annotations

import asyncio
import logging
import sys

from pipeline_flow.entrypoint import start_orchestration  # type: ignore[import-not-found, unused-ignore]

if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    with open(sys.argv[1], encoding="utf-8") as stream:
        asyncio.run(start_orchestration(stream))
