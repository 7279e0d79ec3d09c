"""``retry.on`` checked before a run: every exception name must be one that exists, so a typo
(``ConectionError``) or a name no step can raise is an error with the closest name, not a retry
policy that silently never retries.

A name is known when it is a built-in exception, or an exception class defined anywhere in the
process once the steps the policy applies to are loaded (their plugin modules and, for
``python.call``, the user's module). A step that raises an exception of a library it
imports only when it runs names it in full, ``module.Name`` (``sqlalchemy.exc.OperationalError``):
that module is imported to check it. ``orchestrator validate`` and ``run`` call this after the
plan is built, with the plugins loaded; commands that only read a plan do not.
"""

from __future__ import annotations

import builtins
import difflib
import importlib
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

from orchestrator.builtin.callable_check import PYTHON_CALL
from orchestrator.config.model import Plan, StepSpec
from orchestrator.errors import ConfigError, Problem
from orchestrator.plugins.registry import Registry


def check_retry_names(plan: Plan, registry: Registry) -> None:
    """:class:`ConfigError` naming each ``retry.on`` entry that no exception class answers to,
    at the line it is written on."""
    unknown: dict[str, list[StepSpec]] = {}
    for step, names in _policies(plan):
        for name in names:
            if name not in _BUILTIN and not _qualified_exception(name):
                unknown.setdefault(name, []).append(step)
    if not unknown:
        return
    modules = {"orchestrator.errors"}
    for step in {id(s): s for steps in unknown.values() for s in steps}.values():
        modules |= _load(registry, step, plan.base_dir)  # the exceptions its code defines now exist
    missing = sorted(set(unknown) - _exception_names())
    if missing:
        raise ConfigError(_located(plan, missing, _BUILTIN | _defined_in(modules)))


def _policies(plan: Plan) -> Iterator[tuple[StepSpec, tuple[str, ...]]]:
    """Each step with the names its retry policies (its own, and its pipeline's, which reruns
    every step) list."""
    for spec in plan.pipelines.values():
        pipeline = spec.policies.retry.on if spec.policies.retry else ()
        for steps in spec.phases.values():
            for step in steps:
                own = step.policies.retry.on if step.policies.retry else ()
                if own or pipeline:
                    yield step, (*own, *pipeline)


_BUILTIN = frozenset(
    name for name, value in vars(builtins).items() if isinstance(value, type) and issubclass(value, BaseException)
)


def _qualified_exception(name: str) -> bool:
    """Whether ``module.Name`` names an exception class (its module is imported to see)."""
    module, dot, attribute = name.rpartition(".")
    if not dot or not module:
        return False
    try:
        found = getattr(importlib.import_module(module), attribute, None)
    except Exception:  # noqa: BLE001 - any failure to import means: not a name that exists
        return False
    return isinstance(found, type) and issubclass(found, BaseException)


def _load(registry: Registry, step: StepSpec, base_dir: Path) -> set[str]:
    """Import the step's code; the names of its modules (the plugin's, and a python.call's own)."""
    from orchestrator.builtin.python_call import resolve

    entry = registry.get(step.phase, step.plugin)
    reference = step.args.get("callable") if step.plugin == PYTHON_CALL else None
    try:
        functions = [] if entry is None else [entry.resolve()]
        if isinstance(reference, str):
            functions.append(resolve(reference, base_dir)[0])
    except Exception:  # noqa: BLE001 - a step that cannot load fails the run, which says why
        return set()
    return {getattr(function, "__module__", None) or "" for function in functions}


def _defined_in(modules: set[str]) -> set[str]:
    """The exception classes the given (imported) modules define or import: what a suggestion
    is chosen from, so it is one the step could raise."""
    import sys

    names = set()
    for name in modules:
        for value in vars(sys.modules.get(name) or builtins).values():
            if isinstance(value, type) and issubclass(value, BaseException):
                names.add(value.__name__)
    return names


def _exception_names() -> set[str]:
    """The names of every exception class defined in the process."""
    names: set[str] = set()
    pending: list[type[BaseException]] = [BaseException]
    while pending:
        klass = pending.pop()
        if klass.__name__ not in names:
            names.add(klass.__name__)
        try:
            pending.extend(klass.__subclasses__())
        except TypeError:  # type.__subclasses__ needs an instance for metaclass-made classes
            continue
    return names


def _located(plan: Plan, missing: list[str], known: Collection[str]) -> list[Problem]:
    from orchestrator.config.yamlsource import YamlSource, json_path

    source = YamlSource.read(plan.source)
    data = source.load()
    problems = []
    for path, name in _written(data):
        if name in missing:
            problems.append(Problem(source.name, source.line_of(path), json_path(path), _message(name, known)))
    return problems or [Problem(source.name, 1, "", _message(name, known)) for name in missing]


def _written(data: Any) -> Iterator[tuple[list[str | int], str]]:
    """(path, name) of every entry of every ``retry: {on: [...]}`` in the file, in file order."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "retry" and isinstance(value, dict) and isinstance(value.get("on"), list):
                for index, name in enumerate(value["on"]):
                    yield [key, "on", index], name
            else:
                for path, name in _written(value):
                    yield [key, *path], name
    elif isinstance(data, list):
        for index, value in enumerate(data):
            for path, name in _written(value):
                yield [index, *path], name


def _message(name: str, known: Collection[str]) -> str:
    if "." in name:
        module = name.rpartition(".")[0]
        return (
            f"no exception is named {name!r}, so this policy would never retry on it: module {module!r} cannot be "
            "imported or has no exception class of that name"
        )
    close = difflib.get_close_matches(name, sorted(known), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return (
        f"no exception is named {name!r}, so this policy would never retry on it; {hint}(names are "
        "the built-in exceptions and those the steps' code defines; one a library raises that the step "
        "imports only when it runs is written in full, as module.Name)"
    )
