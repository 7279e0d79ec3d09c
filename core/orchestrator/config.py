"""From a YAML file to a :class:`~orchestrator.model.Plan`: read, substitute, validate, build.

Every problem found on the way is collected and raised together as one
:class:`~orchestrator.errors.ConfigError`, so a user fixes a file in one go.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from orchestrator.errors import ConfigError, Problem
from orchestrator.interpolate import Interpolator
from orchestrator.model import ExecutorSpec, PipelineSpec, Plan, StepSpec
from orchestrator.phases import PHASES_BY_TYPE
from orchestrator.registry import Registry
from orchestrator.validation import Checker
from orchestrator.yamlsource import YamlSource

DEFAULT_CONCURRENCY = 32
COMMAND_LINE = "<command line>"


def load_plan(
    path: str | os.PathLike[str],
    registry: Registry,
    *,
    params: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
) -> Plan:
    """Load, substitute and validate a config file; raise ConfigError listing every problem."""
    file = Path(path)
    source = YamlSource.read(file)
    data = source.load()
    if data is None:
        raise ConfigError([Problem(source.name, 1, "", "the file is empty; a config needs a 'pipelines:' mapping")])
    if not isinstance(data, dict):
        raise ConfigError(
            [Problem(source.name, 1, "$", "the top level must be a mapping with a 'pipelines:' key, not a " + type(data).__name__)]
        )
    checker = Checker(source, registry)
    values = _parameters(data.get("params"), params or {}, checker)
    interpolator = Interpolator(os.environ if env is None else env, values)
    if isinstance(data.get("params"), dict):
        # defaults may use ${ENV}; command-line values were taken as given
        for name, value in interpolator.apply(dict(data["params"]), checker.report, ["params"]).items():
            if name not in (params or {}):
                values[name] = value
    for key in list(data):
        if key != "params":
            data[key] = interpolator.apply(data[key], checker.report, [key])
    checker.check_schema(data)
    checker.check_rules(data)
    if checker.problems:
        raise ConfigError(checker.problems)
    return _build(file, data, values, frozenset(interpolator.secrets))


def _parameters(declared: Any, given: Mapping[str, str], checker: Checker) -> dict[str, Any]:
    values: dict[str, Any] = dict(declared) if isinstance(declared, dict) else {}
    for name, raw in given.items():
        if name not in values:
            known = ", ".join(sorted(values)) or "none"
            checker.problems.append(
                Problem(COMMAND_LINE, 0, f"--param {name}", f"unknown parameter {name!r} (declared: {known}); declare it under 'params:' in the config")
            )
            continue
        try:
            values[name] = _coerce(raw, values[name])
        except ValueError as exc:
            checker.problems.append(Problem(COMMAND_LINE, 0, f"--param {name}", str(exc)))
    return values


def _coerce(raw: str, default: Any) -> Any:
    """A command-line string in the type of the parameter's declared default."""
    if isinstance(default, bool):
        lowered = raw.strip().lower()
        if lowered in {"true", "yes", "1", "on"}:
            return True
        if lowered in {"false", "no", "0", "off"}:
            return False
        raise ValueError(f"expected true or false (the default is {str(default).lower()}), got {raw!r}")
    for kind, noun in ((int, "an integer"), (float, "a number")):
        if isinstance(default, kind):
            try:
                return kind(raw)
            except ValueError:
                raise ValueError(f"expected {noun} (the default is {default}), got {raw!r}") from None
    return raw


def _executor(value: Any, fallback: ExecutorSpec) -> ExecutorSpec:
    if value is None:
        return fallback
    if isinstance(value, str):
        return ExecutorSpec(value)
    options = {k: v for k, v in value.items() if k != "name"}
    return ExecutorSpec(value["name"], options)


def _build(file: Path, data: dict[str, Any], params: dict[str, Any], secrets: frozenset[str]) -> Plan:
    default_concurrency = data.get("concurrency", DEFAULT_CONCURRENCY)
    executor = _executor(data.get("executor"), ExecutorSpec())
    pipelines: dict[str, PipelineSpec] = {}
    for name, raw in data["pipelines"].items():
        ptype = raw["type"]
        used_ids = {
            step["id"] for body in raw["phases"].values() for step in body["steps"] if "id" in step
        }
        phases: dict[str, tuple[StepSpec, ...]] = {}
        phase_concurrency: dict[str, int] = {}
        for phase in PHASES_BY_TYPE[ptype]:
            body = raw["phases"].get(phase)
            if body is None:
                continue
            if "concurrency" in body:
                phase_concurrency[phase] = body["concurrency"]
            steps = []
            for step in body["steps"]:
                step_id = step.get("id") or _default_id(step["plugin"], used_ids)
                steps.append(StepSpec(step_id, step["plugin"], phase, step.get("args") or {}))
            phases[phase] = tuple(steps)
        pipelines[name] = PipelineSpec(
            name=name,
            type=ptype,
            depends_on=tuple(raw.get("depends_on", ())),
            phases=phases,
            concurrency=raw.get("concurrency", default_concurrency),
            executor=_executor(raw.get("executor"), executor),
            phase_concurrency=phase_concurrency,
        )
    return Plan(file, file.resolve().parent, pipelines, params, executor, secrets)


def _default_id(plugin: str, used: set[str]) -> str:
    """A step without an id is named after its plugin (``csv.read``, ``csv.read-2``, ...)."""
    candidate, n = plugin, 1
    while candidate in used:
        n += 1
        candidate = f"{plugin}-{n}"
    used.add(candidate)
    return candidate
