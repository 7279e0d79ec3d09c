"""The config a run actually gets, as YAML: what ``orchestrator validate --show-expanded`` prints.

It is the config after includes were merged, templates instantiated and references substituted,
so a user sees each pipeline as the engine will. Secrets are shown as ``***`` (the values of
secret-named environment variables, and URL passwords), and keys come in a stable order: the top
level and each pipeline in the order the schema lists their keys, everything else as written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml

from orchestrator.config.interpolate import redactor
from orchestrator.config.schema import config_schema


class _Dumper(yaml.SafeDumper):
    """Plain YAML: a list or mapping that appears twice is written twice, never as an anchor."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def render(data: dict[str, Any], secrets: frozenset[str]) -> str:
    """``data`` (a validated, expanded config) as YAML text."""
    schema = config_schema()
    top = list(schema["properties"])
    pipeline_keys = list(schema["$defs"]["pipeline"]["properties"])
    redact = redactor(secrets)
    shown = _ordered(data, top)
    pipelines = shown.get("pipelines")
    if isinstance(pipelines, dict):
        shown["pipelines"] = {
            name: _ordered(body, pipeline_keys) if isinstance(body, dict) else body for name, body in pipelines.items()
        }
    text: str = yaml.dump(_redacted(shown, redact), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)
    return text


def _ordered(mapping: dict[str, Any], order: list[str]) -> dict[str, Any]:
    rank = {key: index for index, key in enumerate(order)}
    return dict(sorted(mapping.items(), key=lambda item: rank.get(item[0], len(rank))))


def _redacted(value: Any, redact: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _redacted(item, redact) for key, item in value.items()}
    if isinstance(value, list):
        return [_redacted(item, redact) for item in value]
    return value
