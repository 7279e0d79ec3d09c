"""Everything that can be wrong with a config, found at once and located by file, line and path.

Two passes: the JSON Schema (structure, types, unknown keys) and then the rules a schema cannot say
well — which phases a pipeline type has, which plugin exists in which phase, each plugin's own
args schema, step ids, and the ``depends_on`` graph. The second pass only looks at what the first
found well-formed, so one typo yields one message, not a cascade.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from orchestrator.errors import Problem
from orchestrator.graph import find_cycle
from orchestrator.phases import PHASES, PHASES_BY_TYPE, REQUIRED_PHASES
from orchestrator.registry import EXECUTOR, Registry
from orchestrator.schema import args_validator, config_validator
from orchestrator.yamlsource import PathPart, YamlSource, json_path

if TYPE_CHECKING:
    from jsonschema import ValidationError
    from jsonschema.protocols import Validator

Report = Callable[..., None]


class Checker:
    """Collects problems for one source file."""

    def __init__(self, source: YamlSource, registry: Registry) -> None:
        self.source = source
        self.registry = registry
        self.problems: list[Problem] = []
        self._args_validators: dict[tuple[str, str], Validator | None] = {}

    def report(self, path: Sequence[PathPart], message: str, *, key: bool = False) -> None:
        line = self.source.line_of(path, key=key)
        self.problems.append(Problem(self.source.name, line, json_path(path), message))

    # -- pass 1: the schema ------------------------------------------------------------------

    def check_schema(self, data: Any) -> None:
        for error in config_validator().iter_errors(data):
            self._schema_error(error)

    def _schema_error(self, error: ValidationError) -> None:
        path = list(error.absolute_path)
        kind = error.validator
        if kind == "additionalProperties" and isinstance(error.instance, dict):
            allowed = list(error.schema.get("properties", {}))
            for key in error.instance:
                if key not in allowed:
                    self.report([*path, key], unknown_key_message(key, allowed), key=True)
            return
        if kind == "required":
            missing = error.message.split("'")[1] if "'" in error.message else str(error.validator_value)
            self.report(path, f"missing required key {missing!r}")
            return
        if kind == "type":
            expected = error.validator_value
            names = " or ".join(expected) if isinstance(expected, list) else expected
            got = _type_name(error.instance)
            self.report(path, f"expected {_article(names)}, got {got} {_short(error.instance)}")
            return
        if kind == "enum":
            options = [str(o) for o in error.validator_value]
            close = difflib.get_close_matches(str(error.instance), options, n=1, cutoff=0.4)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            self.report(path, f"{_short(error.instance)} is not one of {', '.join(options)}{hint}")
            return
        if kind == "pattern" and "description" in error.schema:
            self.report(path, f"{_short(error.instance)} is not a valid name: {error.schema['description']}")
            return
        if kind == "minItems" and error.validator_value == 1:
            self.report(path, "must not be empty")
            return
        if kind == "minProperties" and error.validator_value == 1:
            self.report(path, "must define at least one entry")
            return
        if kind == "propertyNames":
            for sub in error.context:
                name = sub.instance
                self.report([*path, name], f"{name!r} is not a valid name: {sub.schema.get('description', sub.message)}", key=True)
            return
        self.report(path, error.message)

    # -- pass 2: the rules -------------------------------------------------------------------

    def check_rules(self, data: dict[str, Any]) -> None:
        pipelines = data.get("pipelines")
        if not isinstance(pipelines, dict):
            return
        self._check_executor(data.get("executor"), ["executor"])
        for name, pipeline in pipelines.items():
            if isinstance(pipeline, dict):
                self._check_pipeline(name, pipeline)
        self._check_depends_on(pipelines)

    def _check_executor(self, value: Any, path: list[PathPart]) -> None:
        name = value.get("name") if isinstance(value, dict) else value
        if not isinstance(name, str):
            return
        if self.registry.get(EXECUTOR, name) is None:
            self.report(path, self._unknown_message("executor", name, EXECUTOR))
            return
        if isinstance(value, dict):
            options = {k: v for k, v in value.items() if k != "name"}
            validator = self._args_validator(EXECUTOR, name, path)
            for error in validator.iter_errors(options) if validator else ():
                self._schema_error_in_args(error, path)

    def _check_pipeline(self, name: str, pipeline: dict[str, Any]) -> None:
        base: list[PathPart] = ["pipelines", name]
        self._check_executor(pipeline.get("executor"), [*base, "executor"])
        ptype = pipeline.get("type")
        phases = pipeline.get("phases")
        if not isinstance(phases, dict):
            return
        allowed = PHASES_BY_TYPE.get(ptype) if isinstance(ptype, str) else None
        if allowed is not None:
            for phase in REQUIRED_PHASES:
                if phase not in phases:
                    self.report([*base, "phases"], f"an {ptype} pipeline needs a {phase!r} phase")
            for phase in phases:
                if phase in PHASES and phase not in allowed:
                    better = [t for t, ps in PHASES_BY_TYPE.items() if phase in ps and set(phases) <= set(ps)]
                    fix = f"use type {better[0]} or remove it" if better else "remove it"
                    self.report(
                        [*base, "phases", phase],
                        f"phase {phase!r} is not part of an {ptype} pipeline "
                        f"({ptype} has {', '.join(allowed)}); {fix}",
                        key=True,
                    )
        first_seen: dict[str, list[PathPart]] = {}
        for phase, body in phases.items():
            steps = body.get("steps") if isinstance(body, dict) else None
            if phase not in PHASES or not isinstance(steps, list):
                continue
            for index, step in enumerate(steps):
                if isinstance(step, dict):
                    self._check_step([*base, "phases", phase, "steps", index], phase, step, first_seen)

    def _check_step(
        self, path: list[PathPart], phase: str, step: dict[str, Any], first_seen: dict[str, list[PathPart]]
    ) -> None:
        step_id = step.get("id")
        if isinstance(step_id, str):
            if step_id in first_seen:
                line = self.source.line_of([*first_seen[step_id], "id"])
                self.report([*path, "id"], f"duplicate step id {step_id!r} (first used on line {line}); step ids must be unique within a pipeline")
            else:
                first_seen[step_id] = path
        plugin = step.get("plugin")
        if not isinstance(plugin, str):
            return
        entry = self.registry.get(phase, plugin)
        if (phase, plugin) in self.registry.clashes:
            who = " and ".join(str(o) for o in self.registry.clashes[(phase, plugin)])
            self.report([*path, "plugin"], f"plugin {plugin!r} is registered by both {who}; uninstall one of them")
            return
        if entry is None:
            self.report([*path, "plugin"], self._unknown_message("plugin", plugin, phase))
            return
        args = step.get("args", {})
        if not isinstance(args, dict):
            return
        validator = self._args_validator(phase, plugin, [*path, "plugin"])
        if validator is None:
            return
        for error in validator.iter_errors(args):
            self._schema_error_in_args(error, [*path, "args"])

    def _schema_error_in_args(self, error: ValidationError, prefix: list[PathPart]) -> None:
        error.path.extendleft(reversed(prefix))
        self._schema_error(error)

    def _args_validator(self, phase: str, plugin: str, path: list[PathPart]) -> Validator | None:
        key = (phase, plugin)
        if key not in self._args_validators:
            entry = self.registry.get(phase, plugin)
            validator = None
            if entry is not None and entry.schema:
                from jsonschema.exceptions import SchemaError

                try:
                    validator = args_validator(entry.schema)
                    type(validator).check_schema(entry.schema)
                except SchemaError as exc:
                    self.report(path, f"plugin {plugin!r} declares an invalid args schema ({exc.message}); this is a bug in {entry.origin}")
                    validator = None
            self._args_validators[key] = validator
        return self._args_validators[key]

    def _unknown_message(self, what: str, name: str, kind: str) -> str:
        elsewhere = [k for k in self.registry.kinds_of(name) if k != kind]
        if elsewhere and what == "plugin":
            available = ", ".join(self.registry.names(kind)) or "none installed"
            return (
                f"plugin {name!r} is a {' / '.join(elsewhere)} step and cannot run in {kind}; "
                f"{kind} steps: {available}"
            )
        close = self.registry.suggest(name, kind)
        hint = f"; did you mean {close!r}?" if close else ""
        noun = f"{kind} plugin" if what == "plugin" else what
        return f"unknown {noun} {name!r}{hint} (run 'orchestrator plugins' to list what is installed)"

    def _check_depends_on(self, pipelines: dict[str, Any]) -> None:
        graph: dict[str, list[str]] = {}
        for name, pipeline in pipelines.items():
            deps = pipeline.get("depends_on", []) if isinstance(pipeline, dict) else []
            deps = [d for d in deps if isinstance(d, str)] if isinstance(deps, list) else []
            graph[name] = deps
            for index, dep in enumerate(deps):
                if dep not in pipelines:
                    close = difflib.get_close_matches(dep, list(pipelines), n=1)
                    hint = f"; did you mean {close[0]!r}?" if close else ""
                    self.report(["pipelines", name, "depends_on", index], f"depends on unknown pipeline {dep!r}{hint}")
        cycle = find_cycle(graph)
        if cycle:
            self.report(
                ["pipelines", cycle[0], "depends_on"],
                f"dependency cycle: {' -> '.join(cycle)} (each pipeline depends on the next); remove one of these depends_on entries",
            )


def unknown_key_message(key: Any, allowed: Sequence[str]) -> str:
    close = difflib.get_close_matches(str(key), list(allowed), n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown key {key!r}{hint} (allowed here: {', '.join(allowed)})"


def _type_name(value: Any) -> str:
    return {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def _article(names: str) -> str:
    return {"object": "a mapping", "array": "a list", "integer": "an integer", "null": "null"}.get(
        names, f"a {names}" if names[0] not in "aeiou" else f"an {names}"
    )


def _short(value: Any, limit: int = 40) -> str:
    if isinstance(value, (dict, list)):
        return ""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
