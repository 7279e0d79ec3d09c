"""From a YAML file to a :class:`~orchestrator.config.model.Plan`: read, substitute, validate, build.

Every problem found on the way is collected and raised together as one
:class:`~orchestrator.errors.ConfigError`, so a user fixes a file in one go.
"""

from __future__ import annotations

import difflib
import hashlib
import os
from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from orchestrator.config import cache, foreach
from orchestrator.config.cost import CostModel
from orchestrator.config.interpolate import Interpolator, manual_schedule, redactable
from orchestrator.config.language_rules import implied_dependencies
from orchestrator.config.model import (
    ALL_SUCCEEDED,
    DEFAULT_NOTIFY_ON,
    ExecutorSpec,
    NotifySpec,
    PipelineSpec,
    Plan,
    Retention,
    StepSpec,
)
from orchestrator.config.phases import PHASES_BY_TYPE, ROW_PHASES
from orchestrator.config.policies import FAIL, Policies
from orchestrator.config.rules import check_rules
from orchestrator.config.telemetry import Telemetry, header_values
from orchestrator.config.validation import Checker
from orchestrator.config.yamlsource import YamlSource
from orchestrator.config.yamlsyntax import NESTED_TOO_DEEPLY
from orchestrator.errors import ConfigError, Problem
from orchestrator.plugins.registry import Registry
from orchestrator.runstate.layout import DEFAULT_STATE, mapping_config_file
from orchestrator.version import __version__

DEFAULT_CONCURRENCY = 32
COMMAND_LINE = "<command line>"


def load_plan(
    path: str | os.PathLike[str],
    registry: Registry,
    *,
    params: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    base_dir: Path | None = None,
    variables: Mapping[str, Mapping[str, str]] | None = None,
) -> Plan:
    """Load, substitute and validate a config file; raise ConfigError listing every problem.
    Relative paths in it (its ``include:`` entries too) start from ``base_dir``, by default the
    file's folder. ``variables`` are
    the run's namespaces (``schedule``, ``trigger``) for the scheduler to pass; a run without a
    ``schedule`` namespace gets the moment it was loaded (:func:`manual_schedule`)."""
    return load_expanded(path, registry, params=params, env=env, base_dir=base_dir, variables=variables)[0]


def load_expanded(
    path: str | os.PathLike[str],
    registry: Registry,
    *,
    params: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    base_dir: Path | None = None,
    variables: Mapping[str, Mapping[str, str]] | None = None,
) -> tuple[Plan, dict[str, Any]]:
    """:func:`load_plan`, and the config it was built from: includes merged, templates
    instantiated, references substituted (what ``validate --show-expanded`` prints)."""
    file = Path(path)
    source = YamlSource.read(file)
    data = source.load()
    if data is None:
        raise ConfigError([Problem(source.name, 1, "", EMPTY_FILE)])
    if not isinstance(data, dict):
        raise ConfigError([Problem(source.name, 1, "$", _not_a_mapping(data))])
    checker = Checker(source, registry)
    try:
        if "include" in data or "templates" in data or "uses:" in source.text or "with:" in source.text:
            from orchestrator.config.expansion import expand

            data = expand(data, checker, base_dir)
        given = {"schedule": manual_schedule(), **(variables or {})}
        plan = _check_and_build(file, data, registry, params or {}, os.environ if env is None else env, checker, base_dir, given)
        if checker.origins is not None:
            plan = replace(plan, includes=tuple(included.path for included in checker.origins.files[1:]))
        return plan, data
    except RecursionError:
        raise ConfigError([Problem(source.name, 0, "", NESTED_TOO_DEEPLY)]) from None


def load_mapping(
    config: Mapping[str, Any],
    base_dir: Path,
    registry: Registry,
    *,
    params: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    variables: Mapping[str, Mapping[str, str]] | None = None,
) -> Plan:
    """A config given as a mapping (``orchestrator.run({...})``), relative paths starting from
    ``base_dir``. It is written as YAML to a file of its own first (named by its content, see
    :func:`~orchestrator.runstate.layout.mapping_config_file`): the history fingerprints a run's
    config file and ``--resume`` checks it, and messages point at its lines, as for any config."""
    try:
        text = yaml.safe_dump(dict(config), sort_keys=False, allow_unicode=True)
    except yaml.YAMLError as exc:
        raise ConfigError([Problem(MAPPING, 0, "", f"the config cannot be written as YAML: {' '.join(str(exc).split())}")]) from None
    file = mapping_config_file(base_dir, hashlib.sha256(text.encode()).hexdigest())
    if not file.is_file() or file.read_text(encoding="utf-8") != text:
        file.parent.mkdir(parents=True, exist_ok=True)
        partial = file.with_name(f".{file.name}.{os.getpid()}.tmp")
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, file)
    return load_plan(file, registry, params=params, env=env, base_dir=base_dir, variables=variables)


#: how messages name a config given as a mapping before it has a file
MAPPING = "<mapping>"


EMPTY_FILE = "the file is empty (or only comments); a config needs a 'pipelines:' mapping with at least one pipeline"


def _not_a_mapping(data: Any) -> str:
    kinds: dict[type, str] = {list: "a list", str: "a string"}
    kind = kinds.get(type(data), f"a {type(data).__name__}")
    return f"the top level must be a mapping with a 'pipelines:' key, got {kind}; start the file with 'pipelines:'"


def _check_and_build(
    file: Path,
    data: dict[str, Any],
    registry: Registry,
    params: Mapping[str, str],
    env: Mapping[str, str],
    checker: Checker,
    base_dir: Path | None = None,
    variables: Mapping[str, Mapping[str, str]] | None = None,
) -> Plan:
    """Substitute references, check the schema and the rules, and build the plan if nothing is wrong."""
    values = _parameters(data.get("params"), params, checker)
    foreach.protect(data)
    interpolator = Interpolator(env, values, aliases="*" in checker.source.text, variables=variables)
    checker.secrets = interpolator.secrets
    if isinstance(data.get("params"), dict):
        # defaults may use ${ENV}; command-line values were taken as given
        for name, value in interpolator.apply(dict(data["params"]), checker.report, ["params"]).items():
            if name not in params:
                values[name] = value
    for section in list(data):
        if section != "params":
            data[section] = interpolator.apply(data[section], checker.report, [section])
    # the header values of telemetry: are secrets however written (also in messages about the config)
    interpolator.secrets |= {value for value in header_values(data.get("telemetry")) if redactable(value)}
    _schedule_dates_as_text(data)
    # A config that validated before, against the very same plugins and schemas, is not checked
    # again: that keeps jsonschema out of a warm start entirely.
    key = cache.digest(__version__, registry.fingerprint(), sorted(registry.clashes), data) if cache.enabled() and not checker.problems else None
    if key is None or not cache.is_known_valid(key):
        checker.check_schema(data)
        check_rules(checker, data)
        if checker.problems:
            raise ConfigError(checker.problems)
        if key is not None:
            cache.remember_valid(key)
    plan = _build(file, data, values, frozenset(interpolator.secrets), base_dir)
    return replace(plan, variables={k: dict(v) for k, v in variables.items()}) if variables else plan


def _schedule_dates_as_text(data: dict[str, Any]) -> None:
    """YAML reads an unquoted ``start: 2026-11-01`` as a date (and a time as a datetime); the schema
    describes these keys as ISO 8601 text, which is what they mean, so they are handed on as such."""
    pipelines = data.get("pipelines")
    for pipeline in pipelines.values() if isinstance(pipelines, dict) else ():
        schedule = pipeline.get("schedule") if isinstance(pipeline, dict) else None
        if isinstance(schedule, dict):
            for key in ("start", "end"):
                if isinstance(schedule.get(key), (date, datetime)):
                    schedule[key] = schedule[key].isoformat()


def _parameters(declared: Any, given: Mapping[str, str], checker: Checker) -> dict[str, Any]:
    values: dict[str, Any] = dict(declared) if isinstance(declared, dict) else {}
    for name, raw in given.items():
        if name not in values:
            known = ", ".join(sorted(map(str, values))) or "none"  # a broken config may have non-text names
            close = difflib.get_close_matches(name, [str(v) for v in values], n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            message = f"unknown parameter {name!r}{hint} (declared: {known}); parameters must be declared under 'params:' in the config"
            checker.problems.append(Problem(COMMAND_LINE, 0, f"--param {name}", message))
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
    if isinstance(default, list):  # a list parameter: --param regions=eu,us
        return [item.strip() for item in raw.split(",") if item.strip()]
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


def _notify(entries: list[dict[str, Any]]) -> tuple[NotifySpec, ...]:
    return tuple(
        NotifySpec(
            entry["channel"],
            tuple(entry.get("on", DEFAULT_NOTIFY_ON)),
            {k: v for k, v in entry.items() if k not in ("channel", "on")},
        )
        for entry in entries
    )


def _build(
    file: Path, data: dict[str, Any], params: dict[str, Any], secrets: frozenset[str], base_dir: Path | None
) -> Plan:
    default_concurrency = data.get("concurrency", DEFAULT_CONCURRENCY)
    notify = _notify(data.get("notify", []))
    executor = _executor(data.get("executor"), ExecutorSpec())
    step_defaults = Policies.from_config(data.get("defaults", {}))
    on_error = data.get("defaults", {}).get("on_error", FAIL)
    pipelines: dict[str, PipelineSpec] = {}
    for name, raw in data["pipelines"].items():
        ptype = raw["type"]
        used_ids = {
            step["id"] for body in raw["phases"].values() for step in body["steps"] if "id" in step
        }
        counters: dict[str, int] = {}
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
                step_id = step.get("id") or _default_id(step["plugin"], used_ids, counters)
                policies = Policies.from_config(step, step_defaults)
                rejects = step.get("on_error", on_error) if phase in ROW_PHASES else FAIL
                steps.append(StepSpec(step_id, step["plugin"], phase, step.get("args") or {}, policies, rejects, step.get("when")))
            phases[phase] = tuple(steps)
        pipelines[name] = PipelineSpec(
            name=name,
            type=ptype,
            depends_on=(*raw.get("depends_on", ()), *implied_dependencies(raw, written=raw.get("depends_on", ()))),
            phases=phases,
            concurrency=raw.get("concurrency", default_concurrency),
            executor=_executor(raw.get("executor"), executor),
            phase_concurrency=phase_concurrency,
            policies=Policies.from_config(raw),
            notify=_notify(raw["notify"]) if "notify" in raw else notify,
            checkpoint=raw.get("checkpoint", True),
            schedule=raw.get("schedule"),
            triggers=tuple(raw.get("triggers", ())),
            when=raw.get("when"),
            run_if=raw.get("run_if", ALL_SUCCEEDED),
            extract_from=raw["extract"]["from"] if "extract" in raw else None,
        )
    groups: dict[str, tuple[str, ...]] = {}
    if any("foreach" in raw for raw in data["pipelines"].values()):
        try:
            pipelines, groups = foreach.fan_out(pipelines, data["pipelines"])
        except foreach.ForeachError as exc:  # found by validation first; a plan built by hand
            raise ConfigError([Problem(str(file), 0, "", str(exc))]) from None
    base_dir = base_dir.resolve() if base_dir is not None else file.resolve().parent
    allowed = tuple((base_dir / Path(p).expanduser()).resolve() for p in data.get("allowed_paths", ()))
    state = data.get("state", DEFAULT_STATE)
    history = Retention(**data["history"]) if "history" in data else None
    cost = CostModel.of(data["cost"]) if "cost" in data else None
    telemetry = Telemetry.of(data["telemetry"]) if "telemetry" in data else None
    return Plan(file, base_dir, pipelines, params, executor, secrets, allowed, state, history, cost, telemetry=telemetry, groups=groups)


def _default_id(plugin: str, used: set[str], counters: dict[str, int]) -> str:
    """A step without an id is named after its plugin (``csv.read``, ``csv.read-2``, ...);
    ``counters`` remembers the last suffix per plugin, so naming n steps stays linear."""
    n = counters.get(plugin, 1)
    candidate = plugin if n == 1 else f"{plugin}-{n}"
    while candidate in used:
        n += 1
        candidate = f"{plugin}-{n}"
    counters[plugin] = n
    used.add(candidate)
    return candidate
