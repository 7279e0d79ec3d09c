"""The config's JSON Schema: loading it offline, and composing it with every plugin's args schema.

The schema files ship inside the wheel (``orchestrator/schemas``) and are read with
``importlib.resources``; ``$ref`` resolution uses a pre-loaded ``referencing.Registry``, so nothing is
ever fetched from the network. A pipeline's ``schedule:`` and ``triggers:`` are described by a
fragment of their own (``schedule.schema.json``), which the pipeline schema refers to by its ``$id``;
both validators get it pre-loaded, and ``orchestrator schema`` prints it embedded, so an editor
needs no second file.

Validation has two engines. ``jsonschema-rs`` answers "is this valid?" first, at a hundredth of the
cost, which is all a valid config needs; ``jsonschema`` (the reference implementation) is asked only
when something is wrong, because its error objects carry what the messages are built from.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from orchestrator.config.phases import PHASES

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

    from orchestrator.plugins.registry import Registry

SCHEMA_FILE = "pipeline.schema.json"
SCHEDULE_FILE = "schedule.schema.json"
#: where the composed schema embeds the schedule fragment (with its own ``$id``, so the pipeline
#: schema's references to it resolve inside the one document)
EMBEDDED_SCHEDULE = "schedule_fragment"


def _shipped(name: str) -> dict[str, Any]:
    text = resources.files("orchestrator").joinpath("schemas", name).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def config_schema() -> dict[str, Any]:
    """The config schema as shipped (cached; callers must not change it)."""
    return _shipped(SCHEMA_FILE)


@cache
def schedule_schema() -> dict[str, Any]:
    """The fragment for ``schedule:`` and ``triggers:`` (cached; callers must not change it)."""
    return _shipped(SCHEDULE_FILE)


@cache
def config_validator() -> Validator:
    """A draft 2020-12 validator for the config schema, resolving ``$ref`` offline."""
    from jsonschema import Draft202012Validator
    from referencing import Registry as RefRegistry
    from referencing.jsonschema import DRAFT202012

    schema, fragment = config_schema(), schedule_schema()
    refs = RefRegistry().with_resources(
        (document["$id"], DRAFT202012.create_resource(document)) for document in (schema, fragment)
    )
    return strict_integers(Draft202012Validator)(schema, registry=refs)


def args_validator(schema: dict[str, Any]) -> Validator:
    """A validator for one plugin's args schema (draft 2020-12 unless it says otherwise)."""
    from jsonschema import Draft202012Validator
    from jsonschema.validators import validator_for

    return strict_integers(validator_for(schema, default=Draft202012Validator))(schema)


@cache
def strict_integers(base: type[Validator]) -> type[Validator]:
    """``base`` with "integer" meaning a Python int: JSON Schema also accepts ``4.0``, which would
    reach steps and executors as a float where a count is expected."""
    from jsonschema.validators import extend

    checker = base.TYPE_CHECKER.redefine(
        "integer", lambda _checker, value: isinstance(value, int) and not isinstance(value, bool)
    )
    extended: type[Validator] = extend(base, type_checker=checker)
    return extended


class FastValidator:
    """A jsonschema-rs validator for one schema. It only ever says "valid" when the reference
    validator would too: values it cannot judge (dates, integral floats where integers are due,
    types it does not support) send the caller to the reference validator instead."""

    def __init__(self, schema: dict[str, Any], resources: tuple[dict[str, Any], ...] = ()) -> None:
        """``resources``: further schemas ``schema`` refers to by their ``$id``."""
        try:
            import jsonschema_rs

            registry = jsonschema_rs.Registry([(r["$id"], r) for r in resources]) if resources else None
            self._validator: Any = jsonschema_rs.validator_for(schema, registry=registry)
        except Exception:  # noqa: BLE001 - an invalid or unsupported schema: the reference validator explains
            self._validator = None

    def is_valid(self, instance: Any, *, float_free: bool = False) -> bool:
        """``float_free`` tells that ``instance`` is known to hold no integral float, which saves
        looking again inside parts of a config that was checked as a whole."""
        if self._validator is None or (not float_free and has_integral_float(instance)):
            return False
        try:
            return bool(self._validator.is_valid(instance))
        except (ValueError, TypeError, OverflowError):
            return False


@cache
def config_fast_validator() -> FastValidator:
    return FastValidator(config_schema(), (schedule_schema(),))


def has_integral_float(value: Any) -> bool:
    """True when a float with no fraction (``4.0``) sits anywhere in ``value``; JSON Schema calls
    it an integer, while :func:`strict_integers` does not."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(v for v in item.values() if not isinstance(v, str))
        elif isinstance(item, list):
            stack.extend(v for v in item if not isinstance(v, str))
        elif isinstance(item, float) and item.is_integer():
            return True
    return False


def composed_schema(registry: Registry) -> dict[str, Any]:
    """The config schema with each step's ``args`` constrained by its plugin's own schema.

    Composition uses ``if plugin == X then args: <schema>`` per phase, which editors understand; the
    core itself validates args by looking the plugin up, which stays fast for large configs.
    """
    schema = copy.deepcopy(config_schema())
    defs = schema["$defs"]
    defs[EMBEDDED_SCHEDULE] = {key: value for key, value in copy.deepcopy(schedule_schema()).items() if key != "$schema"}
    phase_props = defs["pipeline"]["properties"]["phases"]["properties"]
    for phase in PHASES:
        names = registry.names(phase)
        step = copy.deepcopy(defs["step"])
        step["properties"]["plugin"] = {
            **step["properties"]["plugin"],
            "enum": names,
            "examples": names[:3] or step["properties"]["plugin"]["examples"],
        }
        step["allOf"] = [
            {
                "if": {"properties": {"plugin": {"const": name}}, "required": ["plugin"]},
                "then": {"properties": {"args": entry.schema}},
            }
            for name in names
            if (entry := registry.get(phase, name)) is not None and entry.schema
        ]
        defs[f"{phase}_step"] = step
        phase_def = copy.deepcopy(defs["phase"])
        phase_def["properties"]["steps"]["items"] = {"$ref": f"#/$defs/{phase}_step"}
        defs[f"{phase}_phase"] = phase_def
        phase_props[phase] = {"$ref": f"#/$defs/{phase}_phase"}
    # a pipeline made from a template has its type and phases there (validate checks it expanded)
    pipeline = defs["pipeline"]
    pipeline["anyOf"] = [{"required": ["uses"]}, {"required": pipeline.pop("required")}]
    referenced: dict[str, Any] = allow_references(schema)
    return referenced


#: a value an editor sees before substitution: ``${params.size}``, ``${API_BASE_URL}/v1/items``
REFERENCE = {
    "type": "string",
    "pattern": r"\$\{[^{}]+\}",
    "description": "A ${ENV_VAR} or ${params.name} reference, substituted before the config is validated.",
}

#: keywords that judge a single value; a schema with one of them (and no object or array type)
#: is where a reference may stand instead
_VALUE_KEYWORDS = frozenset({"type", "enum", "const", "pattern", "format", "minimum", "maximum",
                             "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "multipleOf"})
_CONTAINER_TYPES = frozenset({"object", "array"})
#: where subschemas sit: maps of them, lists of them, single ones. ``if`` (which chooses a plugin's
#: args) and ``propertyNames`` (which judges keys) are left alone: a reference cannot stand there.
_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"})
_SCHEMA_LISTS = frozenset({"anyOf", "allOf", "oneOf", "prefixItems"})
_SCHEMA_VALUES = frozenset({"items", "additionalProperties", "not", "then", "else", "contains",
                            "unevaluatedProperties", "unevaluatedItems"})


def allow_references(node: Any) -> Any:
    """``node`` with every single-value schema also accepting a ``${...}`` string.

    ``orchestrator validate`` checks a config after substitution, so ``batch_size: ${params.size}``
    and ``url: ${API_BASE_URL}/v1/items`` are valid there; an editor checks the text as written, and
    must agree with validate rather than underline valid configs."""
    if not isinstance(node, dict):
        return node
    walked = dict(node)
    for key, value in node.items():
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            walked[key] = {name: allow_references(sub) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            walked[key] = [allow_references(sub) for sub in value]
        elif key in _SCHEMA_VALUES:
            walked[key] = allow_references(value)
    types = node.get("type")
    kinds = set(types) if isinstance(types, list) else {types} if isinstance(types, str) else set()
    judged = _VALUE_KEYWORDS & node.keys()
    if kinds == {"string"}:
        judged = judged - {"type"}  # any string, a reference included, already passes
    if judged and not kinds & _CONTAINER_TYPES:
        notes = {key: walked.pop(key) for key in ("description", "examples", "default", "title") if key in walked}
        return {**notes, "anyOf": [walked, REFERENCE]}
    return walked
