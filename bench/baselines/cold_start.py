"""Cold-start baseline: what a hand-written script doing the same job has to do.

Import the libraries the orchestrator's ``run`` relies on (click, pluggy, PyYAML, jsonschema,
anyio), read the config with libyaml, validate it against the config's JSON Schema, import the
step module next to it and run extract -> load on an anyio event loop.

Usage: python cold_start.py CONFIG SCHEMA
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import anyio
import click  # noqa: F401  (imported for parity: the CLI needs it)
import jsonschema
import pluggy  # noqa: F401  (imported for parity: plugin hooks need it)
import yaml


def main(config_path: str, schema_path: str) -> None:
    config = Path(config_path)
    data = yaml.load(config.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    schema = json.loads(Path(schema_path).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(data)
    sys.path.insert(0, str(config.parent))
    (pipeline,) = data["pipelines"].values()
    extract = _function(pipeline["phases"]["extract"]["steps"][0]["args"]["callable"])
    load = _function(pipeline["phases"]["load"]["steps"][0]["args"]["callable"])

    async def run() -> None:
        await load(await extract())

    anyio.run(run)


def _function(reference: str):  # type: ignore[no-untyped-def]
    module, _, name = reference.partition(":")
    return getattr(importlib.import_module(module), name)


if __name__ == "__main__":
    main(*sys.argv[1:3])
