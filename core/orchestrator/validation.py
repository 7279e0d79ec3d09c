"""Everything that can be wrong with a config, found at once and located by file, line and path.

Two passes: the JSON Schema (structure, types, unknown keys) and then the rules a schema cannot say
well — which phases a pipeline type has, which plugin exists in which phase, each plugin's own
args schema, step ids, and the ``depends_on`` graph. The second pass only looks at what the first
found well-formed, so one typo yields one message, not a cascade.
"""

from __future__ import annotations

import datetime
import difflib
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import yaml

from orchestrator.errors import Problem
from orchestrator.graph import find_cycle
from orchestrator.interpolate import hide_passwords
from orchestrator.phases import PHASES, PHASES_BY_TYPE, REQUIRED_PHASES, ROW_PHASES
from orchestrator.registry import EXECUTOR, NOTIFIER, Registry
from orchestrator.schema import (
    FastValidator,
    args_validator,
    config_fast_validator,
    config_schema,
    config_validator,
    has_integral_float,
)
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
        #: values to hide in messages (from environment variables whose names look secret)
        self.secrets: set[str] = set()
        self._args_validators: dict[tuple[str, str], Validator | None] = {}
        self._fast_args_validators: dict[tuple[str, str], FastValidator | None] = {}
        self._float_free = False  # set by check_schema, which always runs first
        self._unknown_keys: dict[tuple[PathPart, ...], list[str]] = {}

    def report(self, path: Sequence[PathPart], message: str, *, key: bool = False) -> None:
        line = self.source.line_of(path, key=key)
        for secret in sorted(self.secrets, key=len, reverse=True):
            message = message.replace(secret, "***")
        message = hide_passwords(message)
        self.problems.append(Problem(self.source.name, line, json_path(path), message))

    # -- pass 1: the schema ------------------------------------------------------------------

    def check_schema(self, data: Any) -> None:
        self._float_free = not has_integral_float(data)
        if not config_fast_validator().is_valid(data, float_free=self._float_free):
            self._report_errors(list(config_validator().iter_errors(data)))

    def _report_errors(self, errors: list[ValidationError], extra_allowed: Sequence[str] = ()) -> None:
        """Report a batch of schema errors, keeping only the ones that help.

        A misspelt key yields one message (the unknown key, with "did you mean"), not a second one
        for the key it was meant to be; a value of the wrong type yields only the type message.
        """
        typed = {tuple(e.absolute_path) for e in errors if e.validator == "type"}
        for error in errors:
            if error.validator == "additionalProperties" and isinstance(error.instance, dict):
                self._unknown_key_errors(error, extra_allowed)
        for error in errors:
            path = tuple(error.absolute_path)
            if error.validator == "additionalProperties" or (path in typed and error.validator != "type"):
                continue
            if error.validator == "required" and self.typo_for(path, _missing_key(error)):
                continue
            self._schema_error(error)

    def _unknown_key_errors(self, error: ValidationError, extra_allowed: Sequence[str]) -> None:
        path = list(error.absolute_path)
        allowed = [*extra_allowed, *error.schema.get("properties", {})]
        unknown = [key for key in error.instance if key not in allowed]
        self._unknown_keys.setdefault(tuple(path), []).extend(key_text(k) for k in unknown)
        for key in unknown:
            self.report([*path, key_text(key)], unknown_key_message(key, allowed), key=True)

    def typo_for(self, path: Sequence[PathPart], missing: str) -> str | None:
        """An unknown key found in the mapping at ``path`` that looks like a misspelling of ``missing``."""
        close = difflib.get_close_matches(missing, self._unknown_keys.get(tuple(path), []), n=1, cutoff=TYPO_CUTOFF)
        return close[0] if close else None

    def _schema_error(self, error: ValidationError) -> None:
        path = list(error.absolute_path)
        if "propertyNames" in error.relative_schema_path:
            self.report([*path, str(error.instance)], _name_message(error), key=True)
            return
        original = self.source.written_at(path)
        if original is not None and "${" not in original:
            original = None
        if original is not None and any(p.path == json_path(path) for p in self.problems):
            return  # its reference was already reported; what it was replaced by says nothing more
        if error.validator == "type":
            message = _type(error, substituted=original is not None)
        else:
            message = _MESSAGES.get(str(error.validator), _fallback)(error)
        if original is not None:
            message += f" (from {original!r})"
        self.report(path, message)

    # -- pass 2: the rules -------------------------------------------------------------------

    def check_rules(self, data: dict[str, Any]) -> None:
        params = data.get("params")
        if isinstance(params, dict):  # the schema's name pattern only judges names that are text
            for name in params:
                if not isinstance(name, str):
                    self.report(
                        ["params", key_text(name)],
                        f"{'null' if name is None else _describe(name)} is used as a parameter name, but names must be text; "
                        "put quotes around it",
                        key=True,
                    )
        pipelines = data.get("pipelines")
        if not isinstance(pipelines, dict):
            return
        self._check_executor(data.get("executor"), ["executor"])
        self._check_notify(data.get("notify"), ["notify"])
        for name, pipeline in pipelines.items():
            if isinstance(pipeline, dict):
                self._check_pipeline(name, pipeline)
        self._check_depends_on(pipelines)

    def _check_executor(self, value: Any, path: list[PathPart]) -> None:
        name = value.get("name") if isinstance(value, dict) else value
        if isinstance(name, str):
            self._check_registered(EXECUTOR, name, value if isinstance(value, dict) else None, path, path, ["name"])

    def _check_notify(self, value: Any, path: list[PathPart]) -> None:
        """Each ``notify:`` entry names a registered channel, and its options fit that channel's schema."""
        for index, entry in enumerate(value if isinstance(value, list) else []):
            name = entry.get("channel") if isinstance(entry, dict) else None
            if isinstance(name, str) and name:
                where: list[PathPart] = [*path, index]
                self._check_registered(NOTIFIER, name, entry, where, [*where, "channel"], ["channel", "on"])

    def _check_registered(
        self, kind: str, name: str, value: dict[str, Any] | None, path: list[PathPart], name_path: list[PathPart], own: list[str]
    ) -> None:
        """An executor or notification channel: the name is registered, and the mapping's options
        (every key but ``own``, the config's own keys) fit the schema it registered."""
        if self.registry.get(kind, name) is None:
            self.report(name_path, self._unknown_message(kind, name, kind))
            return
        if value is not None:
            options = {k: v for k, v in value.items() if k not in own}
            validator = self._args_validator(kind, name, name_path)
            if validator is not None:
                self._report_errors(_under(path, validator.iter_errors(options)), extra_allowed=own)

    def _check_pipeline(self, name: str, pipeline: dict[str, Any]) -> None:
        base: list[PathPart] = ["pipelines", key_text(name)]
        self._check_executor(pipeline.get("executor"), [*base, "executor"])
        self._check_notify(pipeline.get("notify"), [*base, "notify"])
        ptype = pipeline.get("type")
        phases = pipeline.get("phases")
        if not isinstance(phases, dict):
            return
        allowed = PHASES_BY_TYPE.get(ptype) if isinstance(ptype, str) else None
        if allowed is not None:
            for phase in REQUIRED_PHASES:
                if phase not in phases and not self.typo_for([*base, "phases"], phase):
                    self.report(
                        [*base, "phases"],
                        f"an {ptype} pipeline needs {_a(phase)} {phase!r} phase ({ptype} has {', '.join(allowed)}; "
                        f"only {' and '.join(o for o in allowed if o not in REQUIRED_PHASES)} may be left out)",
                    )
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
        if "on_error" in step and phase not in ROW_PHASES:
            self.report(
                [*path, "on_error"],
                f"on_error is for transform and load steps, which handle rows one by one; "
                f"{_a(phase)} {phase} step cannot reject a row, remove it",
                key=True,
            )
        plugin = step.get("plugin")
        if not isinstance(plugin, str) or not plugin:
            return
        entry = self.registry.get(phase, plugin)
        if (phase, plugin) in self.registry.clashes:
            who = " and ".join(str(o) for o in self.registry.clashes[(phase, plugin)])
            self.report([*path, "plugin"], f"plugin {plugin!r} is registered by both {who}; uninstall one of them")
            return
        if entry is None:
            self.report([*path, "plugin"], self._unknown_message("plugin", plugin, phase))
            return
        fast = self._fast_args(phase, plugin)
        if fast is None:
            return
        args = step.get("args")
        if fast.is_valid(args if "args" in step else {}, float_free=self._float_free):  # no args: does {} do?
            return
        validator = self._args_validator(phase, plugin, [*path, "plugin"])
        if validator is None:
            return
        if isinstance(args, dict):
            errors = list(validator.iter_errors(args))
            if errors:
                self._report_errors(_under([*path, "args"], errors))
        elif "args" not in step and not self.typo_for(path, "args"):
            self._missing_args(path, plugin, validator)

    def _missing_args(self, path: list[PathPart], plugin: str, validator: Validator) -> None:
        """A step without ``args`` whose plugin requires some: one message naming what to add."""
        required = [_missing_key(e) for e in validator.iter_errors({}) if e.validator == "required"]
        if required:
            keys = ", ".join(f"{k}: ..." for k in required)
            self.report(
                path,
                f"plugin {plugin!r} needs args with {' and '.join(repr(k) for k in required)}; add 'args: {{{keys}}}'",
            )

    def _fast_args(self, phase: str, plugin: str) -> FastValidator | None:
        """The fast validator of a plugin's args schema (None: the plugin declares none)."""
        key = (phase, plugin)
        if key not in self._fast_args_validators:
            entry = self.registry.get(phase, plugin)
            self._fast_args_validators[key] = FastValidator(entry.schema) if entry is not None and entry.schema else None
        return self._fast_args_validators[key]

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
        if what in _NOUNS:
            installed = ", ".join(self.registry.names(kind)) or "none"
            return f"unknown {_NOUNS[what]} {_short(name, 60)}{hint} (installed: {installed}; 'orchestrator plugins' shows which plugin provides each)"
        return f"unknown {kind} plugin {_short(name, 60)}{hint} (run 'orchestrator plugins' to list the installed steps)"

    def _check_depends_on(self, pipelines: dict[str, Any]) -> None:
        graph: dict[str, list[str]] = {}
        for name, pipeline in pipelines.items():
            deps = pipeline.get("depends_on", []) if isinstance(pipeline, dict) else []
            deps = [d for d in deps if isinstance(d, str)] if isinstance(deps, list) else []
            graph[name] = deps
            for index, dep in enumerate(deps):
                if dep not in pipelines:
                    names = [key_text(p) for p in pipelines]  # a broken config may have non-text names
                    close = difflib.get_close_matches(dep, names, n=1)
                    hint = f"; did you mean {close[0]!r}?" if close else ""
                    known = ", ".join(n for n in names if n != key_text(name)) or "none"
                    self.report(
                        ["pipelines", key_text(name), "depends_on", index],
                        f"depends on unknown pipeline {dep!r}{hint} (pipelines in this file: {known})",
                    )
        cycle = find_cycle(graph)
        if cycle and len(cycle) == 2:
            self.report(
                ["pipelines", cycle[0], "depends_on"],
                f"pipeline {cycle[0]!r} depends on itself; remove {cycle[0]!r} from its depends_on",
            )
        elif cycle:
            self.report(
                ["pipelines", cycle[0], "depends_on"],
                f"dependency cycle: {' -> '.join(cycle)} (each pipeline depends on the next, so none can start); "
                "remove one of these depends_on entries",
            )


TYPO_CUTOFF = 0.6

#: what the registry kinds that are not phases are called in messages
_NOUNS = {EXECUTOR: "executor", NOTIFIER: "notification channel"}


def unknown_key_message(key: Any, allowed: Sequence[str]) -> str:
    """"unknown key", the closest allowed key when it looks like a typo, and every allowed key."""
    close = difflib.get_close_matches(str(key), list(allowed), n=1, cutoff=TYPO_CUTOFF)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    shown = key_text(key) if key is None or isinstance(key, bool) else repr(key)
    return f"unknown key {shown}{hint} (allowed here: {', '.join(allowed)})"


def key_text(key: Any) -> str:
    """A mapping key as YAML writes it: ``null``, ``true``, ``1``, ``name``."""
    if key is None:
        return "null"
    if isinstance(key, bool):
        return str(key).lower()
    return str(key)


def _under(prefix: list[PathPart], errors: Iterable[ValidationError]) -> list[ValidationError]:
    """Errors from a plugin's args schema, re-rooted at the args' place in the config."""
    found = list(errors)
    for error in found:
        error.path.extendleft(reversed(prefix))
    return found


def _missing_key(error: ValidationError) -> str:
    """The key a ``required`` error is about (jsonschema reports one error per missing key)."""
    for key in error.validator_value:
        if error.message.startswith(repr(key)):
            return str(key)
    return str(error.validator_value[0])


# -- one message per JSON Schema keyword: what was expected, what was found, what to do --------


def _required(error: ValidationError) -> str:
    key = _missing_key(error)
    spec = error.schema.get("properties", {}).get(key, {})
    if not isinstance(spec, dict):  # a boolean subschema (``true``) says nothing more
        spec = {}
    if "enum" in spec:
        about = f" (one of {', '.join(str(o) for o in spec['enum'])})"
    elif spec.get("description"):
        about = f": {_sentence_part(spec['description'])}"
    else:
        about = ""
    return f"missing required key {key!r}{about}"


def _sentence_part(description: str) -> str:
    """A schema description continued after a colon: no capital (unless an acronym), no full stop."""
    text = description.rstrip(".")
    first = text.split(" ", 1)[0]
    if first[1:] == first[1:].lower():
        text = text[:1].lower() + text[1:]
    return text


def _a(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "null": "null",
}


def _type(error: ValidationError, substituted: bool = False) -> str:
    expected = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
    value = error.instance
    message = f"expected {_join_or([_TYPE_NAMES.get(t, t) for t in expected])}, got {_describe(value)}"
    if "array" in expected and isinstance(value, str):
        return message + f"; write [{value}] for a list of one"
    if "array" in expected and isinstance(value, dict):
        return message + "; start each list item with '- '"
    if "object" in expected and isinstance(value, list):
        return message + "; write 'key: value' lines, not '- ' items"
    if "object" in expected and isinstance(value, str) and _last_key(error) == "steps":
        return message + f"; a step is a mapping, e.g. '- plugin: {value}'"
    if value is None and ("object" in expected or "array" in expected):
        what = "'key: value' lines" if "object" in expected else "'- ' items"
        return message + f"; add {what} below it, indented"
    if isinstance(value, str) and not substituted and _parses_as(value, expected):
        return message + "; remove the quotes"
    if expected == ["string"] and isinstance(value, (int, float, datetime.date)):
        return message + "; put quotes around it to make it text"
    return message


def _parses_as(text: str, expected: list[str]) -> bool:
    """Whether a quoted string would have been the expected scalar without its quotes."""
    try:
        plain = yaml.safe_load(text)
    except yaml.YAMLError:
        return False
    kinds = {bool: "boolean", int: "integer", float: "number"}
    kind = kinds.get(type(plain))
    return kind in expected or (kind == "integer" and "number" in expected)


def _enum(error: ValidationError) -> str:
    options = [str(o) for o in error.validator_value]
    return f"expected one of {', '.join(options)}, got {_describe(error.instance)}{_did_you_mean(str(error.instance), options)}"


def _did_you_mean(word: str, options: list[str]) -> str:
    by_case = {o.lower(): o for o in options}
    close = [by_case[word.lower()]] if word.lower() in by_case else difflib.get_close_matches(word, options, n=1, cutoff=0.4)
    return f"; did you mean {close[0]!r}?" if close else ""


def _const(error: ValidationError) -> str:
    return f"expected {error.validator_value!r}, got {_describe(error.instance)}"


def _pattern(error: ValidationError) -> str:
    description = error.schema.get("description")
    value = _short(error.instance)
    if error.schema == config_schema()["$defs"]["name"]:
        return f"{value} is not a valid name: {_NAME_RULE}"
    if description:
        return f"{value} does not have the expected form: {_sentence_part(description)}"
    return f"{value} does not match the pattern {error.validator_value}"


def _name_message(error: ValidationError) -> str:
    """A mapping key that is not an allowed name (``propertyNames``)."""
    if not isinstance(error.instance, str):
        return f"{_describe(error.instance)} is used as a key, but names must be text; put quotes around it"
    rule = _sentence_part(error.schema.get("description", "")) or f"names must match {error.schema.get('pattern')}"
    if error.schema == config_schema()["$defs"]["name"]:
        rule = _NAME_RULE
    return f"{error.instance!r} is not a valid name: {rule}"


_NAME_RULE = "use letters, digits, '_', '-' and '.', starting with a letter or '_'"


def _bound(word: str) -> Callable[[ValidationError], str]:
    def message(error: ValidationError) -> str:
        return f"must be {word} {error.validator_value}, got {_describe(error.instance)}"

    return message


def _min_length(error: ValidationError) -> str:
    if error.validator_value == 1:
        return "must not be empty"
    return f"must be at least {error.validator_value} characters long, got {_describe(error.instance)}"


def _max_length(error: ValidationError) -> str:
    n = error.validator_value
    return f"must be at most {n} character{'s' if n != 1 else ''} long, got {_describe(error.instance)} ({len(error.instance)} characters)"


def _min_items(error: ValidationError) -> str:
    noun = _ITEM_NOUNS.get(_last_key(error), "item")
    if error.validator_value == 1:
        return f"must not be empty; add at least one {noun}"
    return f"must have at least {error.validator_value} {noun}s, got {len(error.instance)}"


def _min_properties(error: ValidationError) -> str:
    noun = _ITEM_NOUNS.get(_last_key(error), "entry")
    if error.validator_value == 1:
        return f"must not be empty; define at least one {noun}"
    return f"must have at least {error.validator_value} entries, got {len(error.instance)}"


_ITEM_NOUNS = {"steps": "step", "pipelines": "pipeline", "depends_on": "pipeline name"}


def _last_key(error: ValidationError) -> str:
    return next((str(p) for p in reversed(error.absolute_path) if isinstance(p, str)), "")


def _unique_items(error: ValidationError) -> str:
    seen: list[Any] = []
    for item in error.instance:
        if item in seen:
            return f"lists {item!r} more than once; remove the repeat"
        seen.append(item)
    return "must not list the same item twice"


def _not(error: ValidationError) -> str:
    """The schemas say "not NaN" with ``not`` (a NaN passes every numeric bound)."""
    if isinstance(error.instance, float) and error.instance != error.instance:
        return "must be a number, got .nan (not a number)"
    return error.message


def _fallback(error: ValidationError) -> str:
    return error.message


_MESSAGES: dict[str, Callable[[ValidationError], str]] = {
    "required": _required,
    "type": _type,
    "enum": _enum,
    "const": _const,
    "pattern": _pattern,
    "minimum": _bound("at least"),
    "maximum": _bound("at most"),
    "exclusiveMinimum": _bound("greater than"),
    "exclusiveMaximum": _bound("less than"),
    "minLength": _min_length,
    "maxLength": _max_length,
    "minItems": _min_items,
    "minProperties": _min_properties,
    "uniqueItems": _unique_items,
    "not": _not,
}


def _join_or(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def _describe(value: Any) -> str:
    """A value as a message shows it: its kind, and the value itself when it is short enough."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, datetime.date):
        return f"the {'date and time' if isinstance(value, datetime.datetime) else 'date'} {value.isoformat()}"
    if isinstance(value, bytes):
        return "binary data"
    kind = {str: "the string", int: "the integer", float: "the number"}.get(type(value), type(value).__name__)
    return f"{kind} {_short(value)}"


def _short(value: Any, limit: int = 40) -> str:
    text = repr(hide_passwords(value) if isinstance(value, str) else value)  # before cutting: a cut URL hides nothing
    return text if len(text) <= limit else text[: limit - 3] + "..."
