"""``foreach:``: a pipeline written once and run once per item, each run its own pipeline.

An item comes from a list written in the file, from a list parameter (``foreach:
${params.regions}``), or from the rows another pipeline loaded (``foreach: {from: list_files}``,
expanded by the engine when that pipeline finished). Each item makes an *instance*, an ordinary
pipeline named ``GROUP[KEY]`` (``ingest[eu]``): the graph, the history, ``runs show`` and
``--resume`` see instances as they see any pipeline, so one that failed is resumed alone.

The key of an instance is the value of the item's ``key:`` field when the ``foreach`` declares one,
else the item itself when it is a short scalar made of letters, digits, ``_``, ``.`` and ``-``
(``eu``, ``2026-01-31``, ``42``), else the item's position (``0``, ``1``, ...). Keys keep to those
characters so an instance name is safe in a file name (checkpoints and dead letters are named after
pipelines). ``${item}`` (or the ``as:`` name) is the item in the pipeline's strings, ``${item.f}``
a field of a mapping item; a string that is exactly one such reference takes the value's own type.

Why references are escaped before the config's ``${...}`` substitution (:func:`protect`) and
substituted after validation: the items of a ``from:`` are only known at run time, and ten thousand
instances must not be validated ten thousand times; the body is validated once, as written.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import fields, replace
from functools import partial
from typing import Any

from orchestrator.config.model import FanOut, PipelineSpec, StepSpec

ITEM = "item"
#: what a key may be made of: safe in a file name, in a history and on a command line
_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
KEY_RULE = "letters, digits, '_', '.' and '-', starting with a letter, digit or '_', at most 64 characters"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class ForeachError(ValueError):
    """Items that cannot make instances (two with the same key, a key field missing)."""


def instance_name(group: str, key: str) -> str:
    return f"{group}[{key}]"


def settings(value: Any) -> tuple[Any, str | None, str, str | None]:
    """``(items, from, as, key)`` of a ``foreach:`` as written: a list, or a mapping with ``items``
    or ``from``."""
    if isinstance(value, dict):
        return value.get("items"), value.get("from"), value.get("as", ITEM), value.get("key")
    return value, None, ITEM, None


def item_name(pipeline: Any) -> str | None:
    """The name a ``foreach`` pipeline's item is written with, None when it has no ``foreach``."""
    if not isinstance(pipeline, dict) or "foreach" not in pipeline:
        return None
    name = settings(pipeline["foreach"])[2]
    return name if isinstance(name, str) and _NAME.fullmatch(name) else ITEM


def protect(data: dict[str, Any]) -> None:
    """Escape every ``${item...}`` of a ``foreach`` pipeline (``$${item}``), so the config's own
    substitution leaves it as written for :func:`expand` to fill in."""
    pipelines = data.get("pipelines")
    for pipeline in pipelines.values() if isinstance(pipelines, dict) else ():
        name = item_name(pipeline)
        if name is not None:
            escape = partial(re.compile(r"(?<!\$)\$\{(" + name + r")(?=[}.])").sub, r"$${\1")
            for key, value in pipeline.items():
                if key != "foreach":
                    pipeline[key] = _strings(value, escape)


def _strings(value: Any, change: Callable[[str], Any]) -> Any:
    if isinstance(value, str):
        return change(value) if "${" in value else value
    if isinstance(value, dict):
        return {k: _strings(v, change) for k, v in value.items()}
    if isinstance(value, list):
        return [_strings(v, change) for v in value]
    return value


def references(pipeline: dict[str, Any], name: str) -> Iterator[tuple[list[str | int], str, list[str]]]:
    """Every ``${name...}`` in a pipeline's phases: its path under the pipeline, the reference, and
    the fields it reads."""
    pattern = _pattern(name)

    def walk(value: Any, path: list[str | int]) -> Iterator[tuple[list[str | int], str, list[str]]]:
        if isinstance(value, str):
            for match in pattern.finditer(value):
                yield path, match.group(0), _fields(match)
        elif isinstance(value, dict):
            for k, v in value.items():
                yield from walk(v, [*path, k])
        elif isinstance(value, list):
            for i, v in enumerate(value):
                yield from walk(v, [*path, i])

    yield from walk(pipeline.get("phases"), ["phases"])


def _pattern(name: str) -> re.Pattern[str]:
    # after the config's substitution an escaped reference reads "${item}"; "$${" stays a literal
    return re.compile(r"(?<!\$)\$\{" + re.escape(name) + r"((?:\.[A-Za-z_][A-Za-z0-9_]*)*)\}")


def _fields(match: re.Match[str]) -> list[str]:
    return [f for f in match.group(1).split(".") if f]


def field_of(item: Any, fields: list[str]) -> Any:
    """``item.a.b``; KeyError naming the missing field."""
    for field in fields:
        if not isinstance(item, dict) or field not in item:
            raise KeyError(field)
        item = item[field]
    return item


def keys(items: list[Any], key_field: str | None) -> list[str]:
    """The key of each item (see the module's rule); :class:`ForeachError` when one cannot name an
    instance or two name the same one."""
    found: list[str] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        if key_field is not None:
            if not isinstance(item, dict) or key_field not in item:
                raise ForeachError(f"item {index} has no field {key_field!r} (key: {key_field}); give every item that field")
            key = _text(item[key_field])
            if not _KEY.fullmatch(key):
                raise ForeachError(f"item {index}: its {key_field!r} is {key[:40]!r}, which cannot name an instance (a key is {KEY_RULE})")
        elif isinstance(item, (str, int, float, bool)) and _KEY.fullmatch(_text(item)):
            key = _text(item)
        else:
            key = str(index)
        if key in seen:
            raise ForeachError(f"items {seen[key]} and {index} both make instance [{key}]; every item needs a key of its own")
        seen[key] = index
        found.append(key)
    return found


def _text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def expand(template: PipelineSpec, items: list[Any]) -> list[PipelineSpec]:
    """One pipeline per item: named ``GROUP[KEY]``, with the item substituted in its steps' args
    (:class:`ForeachError` when the items cannot make instances). Steps that do not mention the item
    are shared between instances, so a large fan-out costs one spec per instance and little more."""
    fanout = template.fanout
    assert fanout is not None
    group = fanout.group
    pattern = _pattern(fanout.name)
    makers = {
        phase: [_compiled(step.args, pattern) if _mentions(step.args, pattern) else None for step in steps]
        for phase, steps in template.phases.items()
    }
    # dataclasses.replace costs more than the rest of an instance: the fields are copied once
    spec_fields = {f.name: getattr(template, f.name) for f in fields(template)}
    step_fields = {id(step): {f.name: getattr(step, f.name) for f in fields(step)} for steps in template.phases.values() for step in steps}
    instances = []
    for key, item in zip(keys(items, fanout.key_field), items, strict=True):
        phases = {
            phase: tuple(
                step if make is None else StepSpec(**{**step_fields[id(step)], "args": make(item)})
                for step, make in zip(steps, makers[phase], strict=True)
            )
            if any(makers[phase]) else steps
            for phase, steps in template.phases.items()
        }
        own = FanOut(group, key, item, fanout.name, fanout.key_field, fanout.max_parallel)
        instances.append(PipelineSpec(**{**spec_fields, "name": instance_name(group, key), "phases": phases, "fanout": own}))
    return instances


def _mentions(value: Any, pattern: re.Pattern[str]) -> bool:
    if isinstance(value, str):
        return pattern.search(value) is not None
    if isinstance(value, dict):
        return any(_mentions(v, pattern) for v in value.values())
    if isinstance(value, list):
        return any(_mentions(v, pattern) for v in value)
    return False


def _compiled(value: Any, pattern: re.Pattern[str]) -> Callable[[Any], Any]:
    """A function from an item to ``value`` with the item substituted: the references are found
    once per template, not once per instance."""
    if isinstance(value, str):
        whole = pattern.fullmatch(value)
        if whole:
            path = _fields(whole)
            return lambda item: _value(item, path)
        pieces: list[str | list[str]] = []
        last = 0
        for match in pattern.finditer(value):
            pieces += [value[last:match.start()], _fields(match)]
            last = match.end()
        if not pieces:
            return lambda item: value
        pieces.append(value[last:])
        return lambda item: "".join(p if isinstance(p, str) else _text(_value(item, p)) for p in pieces)
    if isinstance(value, dict):
        parts = {k: _compiled(v, pattern) for k, v in value.items()}
        return lambda item: {k: part(item) for k, part in parts.items()}
    if isinstance(value, list):
        members = [_compiled(v, pattern) for v in value]
        return lambda item: [member(item) for member in members]
    return lambda item: value


def _value(item: Any, fields: list[str]) -> Any:
    try:
        return field_of(item, fields)
    except KeyError as exc:
        raise ForeachError(f"the item has no field {exc.args[0]!r} (item: {str(item)[:60]})") from None


def fan_out(
    pipelines: dict[str, PipelineSpec], raw: dict[str, Any]
) -> tuple[dict[str, PipelineSpec], dict[str, tuple[str, ...]]]:
    """The plan's pipelines with each ``foreach`` pipeline of a list replaced by its instances (in
    its place, in order), one of a ``from:`` kept whole for the engine to expand, and every
    ``depends_on`` naming a group naming its instances; and the groups with their instances."""
    groups: dict[str, tuple[str, ...]] = {}
    expanded: dict[str, PipelineSpec] = {}
    for name, spec in pipelines.items():
        written = raw[name]
        if "foreach" not in written:
            expanded[name] = spec
            continue
        items, source, as_name, key_field = settings(written["foreach"])
        fanout = FanOut(name, name=as_name, key_field=key_field, max_parallel=written.get("max_parallel"), source=source)
        spec = replace(spec, fanout=fanout)
        if source is not None:  # expanded at run time, when its source finished
            expanded[name] = spec if source in spec.depends_on else replace(spec, depends_on=(*spec.depends_on, source))
            continue
        instances = expand(spec, items)
        groups[name] = tuple(instance.name for instance in instances)
        expanded.update((instance.name, instance) for instance in instances)
    if groups:
        for name, spec in expanded.items():
            if any(dep in groups for dep in spec.depends_on):
                deps = tuple(d for dep in spec.depends_on for d in groups.get(dep, (dep,)))
                expanded[name] = replace(spec, depends_on=deps)
    return expanded, groups
