"""Everything that can be wrong with a config, found at once and located by file, line and path.

Two passes: the JSON Schema (structure, types, unknown keys), here, and then the rules a schema
cannot say well (:mod:`.rules`) — which phases a pipeline type has, which plugin exists in which
phase, each plugin's own args schema, step ids, and the ``depends_on`` graph. The second pass only
looks at what the first found well-formed, so one typo yields one message, not a cascade. What
the messages say is :mod:`.messages`' business.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from orchestrator.config.interpolate import hide_passwords
from orchestrator.config.messages import (
    MESSAGES,
    TYPO_CUTOFF,
    fallback,
    key_text,
    missing_key,
    name_message,
    type_message,
    unknown_key_message,
)
from orchestrator.config.schema import (
    FastValidator,
    args_validator,
    config_fast_validator,
    config_validator,
    has_integral_float,
)
from orchestrator.config.yamlsource import PathPart, YamlSource, json_path
from orchestrator.errors import Problem
from orchestrator.plugins.registry import Registry

if TYPE_CHECKING:
    from jsonschema import ValidationError
    from jsonschema.protocols import Validator

    from orchestrator.config.origins import Origins

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
        self.float_free = False  # set by check_schema, which always runs first
        self._unknown_keys: dict[tuple[PathPart, ...], list[str]] = {}
        #: where the parts of an expanded config were written (None: all in ``source``)
        self.origins: Origins | None = None

    def locate(self, path: Sequence[PathPart]) -> tuple[YamlSource, list[PathPart], str]:
        """The file and path where ``path`` of the config was written, and a note naming what
        used it when that is another place (an include, a template's user)."""
        return self.origins.locate(path) if self.origins is not None else (self.source, list(path), "")

    def report(self, path: Sequence[PathPart], message: str, *, key: bool = False) -> None:
        source, where, note = self.locate(path)
        line = source.line_of(where, key=key)
        message += note
        for secret in sorted(self.secrets, key=len, reverse=True):
            message = message.replace(secret, "***")
        message = hide_passwords(message)
        self.problems.append(Problem(source.name, line, json_path(where), message))

    # -- pass 1: the schema ------------------------------------------------------------------

    def check_schema(self, data: Any) -> None:
        self.float_free = not has_integral_float(data)
        if not config_fast_validator().is_valid(data, float_free=self.float_free):
            self.report_errors(list(config_validator().iter_errors(data)))

    def report_errors(self, errors: list[ValidationError], extra_allowed: Sequence[str] = ()) -> None:
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
            if error.validator == "required" and self.typo_for(path, missing_key(error)):
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
            self.report([*path, str(error.instance)], name_message(error), key=True)
            return
        source, where, _ = self.locate(path)
        original = source.written_at(where)
        if original is not None and "${" not in original:
            original = None
        if original is not None and any(p.path == json_path(where) for p in self.problems):
            return  # its reference was already reported; what it was replaced by says nothing more
        if error.validator == "type":
            message = type_message(error, substituted=original is not None)
        else:
            message = MESSAGES.get(str(error.validator), fallback)(error)
        if original is not None:
            message += f" (from {original!r})"
        self.report(path, message)

    def fast_args(self, phase: str, plugin: str) -> FastValidator | None:
        """The fast validator of a plugin's args schema (None: the plugin declares none)."""
        key = (phase, plugin)
        if key not in self._fast_args_validators:
            entry = self.registry.get(phase, plugin)
            self._fast_args_validators[key] = FastValidator(entry.schema) if entry is not None and entry.schema else None
        return self._fast_args_validators[key]

    def args_validator(self, phase: str, plugin: str, path: list[PathPart]) -> Validator | None:
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
