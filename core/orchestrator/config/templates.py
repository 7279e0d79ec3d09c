"""``templates:``: reusable pipeline bodies with typed inputs, instantiated by ``uses:`` + ``with:``.

A template is a pipeline body (``type``, ``phases`` and any other pipeline key) plus ``inputs:``,
each typed (string, integer, number, boolean, list, object), optional with a default, required
without one. ``${inputs.NAME}`` in the body's strings takes the input's value: standing alone it
keeps the value's type (a list stays a list), inside text it becomes text. A pipeline with
``uses: TEMPLATE`` gets a copy of the body with its inputs substituted; every key it sets itself
besides ``uses`` and ``with`` (``depends_on``, ``schedule``, ``retry``, ...) replaces the
template's, except ``type`` and ``phases``, which are the template's own: what differs between
uses of a template is an input, so a template's users stay alike.

Inputs are substituted before ``${ENV}`` and ``${params.x}`` references, so a ``with:`` value may
be such a reference; it is then checked where it lands, after substitution, by the schema.
Instantiated pipelines are plain pipelines to everything after this module.
"""

from __future__ import annotations

import copy
import difflib
import marshal
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from orchestrator.config.limits import MAX_VALUES, count_values
from orchestrator.config.messages import describe, key_text, unknown_key_message
from orchestrator.config.origins import Origin, Origins, Where
from orchestrator.config.schema import config_schema
from orchestrator.config.template_inputs import Input, declared_inputs, given_values
from orchestrator.config.yamlsource import PathPart, YamlSource

if TYPE_CHECKING:
    from orchestrator.config.validation import Checker

#: what only the template decides
TEMPLATE_ONLY = ("type", "phases")
_REFERENCE = re.compile(r"(?<!\$)\$\{\s*inputs\.([^{}]*?)\s*\}")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass
class Template:
    name: str
    body: dict[str, Any]
    inputs: dict[str, Input] = field(default_factory=dict)
    #: how many values the body holds (what each use adds to the config)
    size: int = 0
    #: every string of the body with an ``${inputs.X}``: its path (real keys) and its text
    references: list[tuple[tuple[Any, ...], str]] = field(default_factory=list)
    #: the body marshalled, copied for each use at C speed (None: it holds values marshal cannot
    #: write, such as dates, and is deep-copied instead)
    blob: bytes | None = None

    def copy(self) -> dict[str, Any]:
        copied: dict[str, Any] = marshal.loads(self.blob) if self.blob is not None else copy.deepcopy(self.body)
        return copied


def declared(templates: Any, checker: Checker) -> dict[str, Template]:
    """The well-formed templates; every problem in a declaration is reported, the body's
    references to undeclared inputs included (a template nobody uses is checked this far)."""
    if templates is None:
        return {}
    if not isinstance(templates, dict):
        checker.report(["templates"], "expected a mapping of template names to pipeline bodies (type:, phases:, inputs:)")
        return {}
    found: dict[str, Template] = {}
    # every pipeline key but uses/with: whatever a pipeline may set, a template may hold
    allowed = ["inputs", *(key for key in config_schema()["$defs"]["pipeline"]["properties"] if key not in ("uses", "with"))]
    for name, raw in templates.items():
        path: list[PathPart] = ["templates", str(name)]
        if not isinstance(name, str) or not re.match(r"^[A-Za-z_][A-Za-z0-9_.-]*$", name):
            checker.report(path, f"{name!r} is not a valid name: use letters, digits, '_', '-' and '.', starting with a letter or '_'", key=True)
            continue
        if not isinstance(raw, dict):
            checker.report(path, f"expected a mapping (a pipeline body with type:, phases: and inputs:), got {describe(raw)}")
            continue
        ok = True
        for key in raw:
            if key in ("uses", "with"):
                checker.report([*path, key], "a template cannot use another template; copy what it needs into this one", key=True)
                ok = False
            elif key not in allowed:
                checker.report([*path, key_text(key)], unknown_key_message(key, allowed), key=True)
                ok = False
        inputs = declared_inputs(raw.get("inputs"), [*path, "inputs"], checker)
        body = {k: v for k, v in raw.items() if k != "inputs"}
        places = _places(body)
        ok = _references(places, inputs, name, path, checker) and ok
        if ok and inputs is not None:
            found[name] = Template(name, body, inputs, count_values(body), places, _marshalled(body))
    return found


def _references(
    places: list[tuple[tuple[Any, ...], str]], inputs: dict[str, Input] | None, template: str, path: list[PathPart], checker: Checker
) -> bool:
    """Report every ``${inputs.X}`` in the body whose X is not a declared input."""
    ok = True
    for where, text in places:
        for match in _REFERENCE.finditer(text):
            name = match.group(1)
            if inputs is not None and name not in inputs:
                checker.report([*path, *(p if isinstance(p, int) else str(p) for p in where)], _unknown_input(name, inputs, template))
                ok = False
    return ok


def _places(body: dict[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    """Where the body's strings with ``${inputs.X}`` are, found once per template."""
    found: list[tuple[tuple[Any, ...], str]] = []
    stack: list[tuple[Any, tuple[Any, ...]]] = [(body, ())]
    while stack:
        value, where = stack.pop()
        if isinstance(value, dict):
            stack.extend((v, (*where, k)) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, (*where, i)) for i, v in enumerate(value))
        elif isinstance(value, str) and _REFERENCE.search(value):
            found.append((where, value))
    return found


def _marshalled(body: dict[str, Any]) -> bytes | None:
    try:
        return marshal.dumps(body)
    except ValueError:  # a date, say: deep-copied instead
        return None


def _unknown_input(name: str, inputs: dict[str, Input], template: str) -> str:
    if not _NAME.match(name):
        return f"'${{inputs.{name}}}' names no input: write ${{inputs.NAME}}, with NAME declared under the template's inputs:"
    if not inputs:
        return f"unknown input {name!r}: template {template!r} declares no inputs; add it under 'inputs:' with its type"
    close = difflib.get_close_matches(name, list(inputs), n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown input {name!r}{hint} (inputs of template {template!r}: {', '.join(inputs)}); declare it under 'inputs:'"


class _Exceeded(Exception):
    """The instances together hold more values than a config may (:data:`MAX_VALUES`)."""


class _Budget:
    """How many more values the instances may add: a template used a thousand times multiplies
    its body, and a list input is copied wherever it is referenced."""

    def __init__(self, left: int) -> None:
        self.left = left

    def charge(self, values: int) -> None:
        self.left -= values
        if self.left < 0:
            raise _Exceeded


def instantiate(
    pipelines: dict[Any, Any], templates: dict[str, Template], names: list[str], origins: Origins, checker: Checker, used: int
) -> dict[Any, Any]:
    """``pipelines`` with every ``uses:`` pipeline replaced by its template's body, inputs
    substituted and the pipeline's own keys on top. ``names``: every template declared, well-formed
    or not (a use of a broken one is not reported again); ``used``: the values the config holds
    before its templates are instantiated."""
    expanded: dict[Any, Any] = {}
    budget = _Budget(MAX_VALUES - used)
    for name, pipeline in pipelines.items():
        if not isinstance(pipeline, dict) or ("uses" not in pipeline and "with" not in pipeline):
            expanded[name] = pipeline
            continue
        try:
            instance = _instance(str(name), pipeline, templates, names, origins, checker, budget)
        except _Exceeded:
            checker.report(["pipelines", str(name), "uses"], (
                f"the templates expand this config past {MAX_VALUES:,} values, far more than a config needs; "
                "use fewer or smaller templates"
            ))
            return expanded
        expanded[name] = pipeline if instance is None else instance
    return expanded


def _instance(
    name: str, pipeline: dict[str, Any], templates: dict[str, Template], names: list[str], origins: Origins, checker: Checker,
    budget: _Budget,
) -> dict[str, Any] | None:
    path: list[PathPart] = ["pipelines", name]
    own = origins.get(path)  # the pipeline's own place: an included file's, or None for the main file
    at = own.at if own is not None else Where(origins.main, tuple(path))
    for key in pipeline:  # the pipeline's own keys stay located where it was written
        origins.add([*path, key], Origin(Where(at.source, (*at.path, key)), own.by if own else None, own.how if own else "used by"))
    used = pipeline.get("uses")
    if "uses" not in pipeline:
        checker.report([*path, "with"], "'with:' gives a template's inputs, but this pipeline has no 'uses:'; add 'uses: TEMPLATE' or remove 'with:'", key=True)
        return None
    if not isinstance(used, str):
        checker.report([*path, "uses"], f"expected the name of a template, got {describe(used)}")
        return None
    template = templates.get(used)
    if template is None:
        if used not in names:
            checker.report([*path, "uses"], _unknown_template(used, names))
        return None
    ok = True
    for key in TEMPLATE_ONLY:
        if key in pipeline:
            checker.report(
                [*path, key],
                f"{key!r} comes from template {used!r} and cannot be set here; change the template, or give it an input for what differs",
                key=True,
            )
            ok = False
    values = given_values(pipeline.get("with"), template.name, template.inputs, path, checker)
    if values is None or not ok:
        return None
    origins.add(path, Origin(Where(_template_source(origins, used), _template_path(origins, used)), Where(at.source, (*at.path, "uses"))))
    budget.charge(template.size)
    body = template.copy()
    for where, text in template.references:
        parent: Any = body
        for part in where[:-1]:
            parent = parent[part]
        try:
            parent[where[-1]] = _substituted(text, values, budget)
        except _InsideText as exc:
            checker.report([*path, *(p if isinstance(p, int) else str(p) for p in where)], str(exc))
            return None
    for key, value in pipeline.items():
        if key not in ("uses", "with"):
            body[key] = value
    return body


def _template_source(origins: Origins, name: str) -> YamlSource:
    origin = origins.get(["templates", name])
    return origin.at.source if origin is not None else origins.main


def _template_path(origins: Origins, name: str) -> tuple[PathPart, ...]:
    origin = origins.get(["templates", name])
    return origin.at.path if origin is not None else ("templates", name)


def _unknown_template(name: str, names: list[str]) -> str:
    if not names:
        return f"unknown template {name!r}: this config defines no templates; define it under 'templates:' (or include the file that does)"
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown template {name!r}{hint} (templates: {', '.join(names)})"


class _InsideText(Exception):
    """A list or mapping input referenced inside text."""

    def __init__(self, name: str, given: Any) -> None:
        super().__init__(
            f"input {name!r} is {describe(given)} and cannot be put inside text; use ${{inputs.{name}}} as the whole value"
        )


def _substituted(text: str, values: dict[str, Any], budget: _Budget) -> Any:
    """``text`` with its ``${inputs.X}`` replaced: standing alone, by the value itself (a copy)."""
    whole = _REFERENCE.fullmatch(text)
    if whole:
        given = values[whole.group(1)]
        if isinstance(given, (dict, list)):
            budget.charge(count_values(given))
            return copy.deepcopy(given)
        return given

    def replace(match: re.Match[str]) -> str:
        given = values[match.group(1)]
        if isinstance(given, (dict, list)):
            raise _InsideText(match.group(1), given)
        if isinstance(given, bool):
            return "true" if given else "false"
        return str(given)

    return _REFERENCE.sub(replace, text)
