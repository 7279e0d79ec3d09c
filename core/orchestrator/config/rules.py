"""The second pass of validation: the rules a schema cannot say well.

Which phases a pipeline type has, which plugin exists in which phase (and is registered by one
distribution only), each plugin's, executor's and notification channel's own options schema, step
ids, parameter names and the ``depends_on`` graph. It only looks at what the schema pass found
well-formed, so one typo yields one message, not a cascade.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from orchestrator.config.graph import find_cycles
from orchestrator.config.language_rules import check_language, implied_dependencies
from orchestrator.config.messages import article, describe, key_text, missing_key, short
from orchestrator.config.phases import (
    PHASES,
    PHASES_BY_TYPE,
    REQUIRED_PHASES,
    ROW_PHASES,
)
from orchestrator.config.telemetry import TRACES_CONSUMER, TRACES_DISTRIBUTION
from orchestrator.config.yamlsource import PathPart, json_path
from orchestrator.plugins.registry import CONSUMER, EXECUTOR, NOTIFIER

if TYPE_CHECKING:
    from jsonschema import ValidationError
    from jsonschema.protocols import Validator

    from orchestrator.config.validation import Checker

#: what the registry kinds that are not phases are called in messages
_NOUNS = {EXECUTOR: "executor", NOTIFIER: "notification channel"}


def check_rules(checker: Checker, data: dict[str, Any]) -> None:
    params = data.get("params")
    if isinstance(params, dict):  # the schema's name pattern only judges names that are text
        for name in params:
            if not isinstance(name, str):
                checker.report(
                    ["params", key_text(name)],
                    f"{'null' if name is None else describe(name)} is used as a parameter name, but names must be text; "
                    "put quotes around it",
                    key=True,
                )
    pipelines = data.get("pipelines")
    if not isinstance(pipelines, dict):
        return
    _check_executor(checker, data.get("executor"), ["executor"])
    if isinstance(data.get("history"), dict) and data.get("state") == "off":
        checker.report(["history"], "keeps part of the run history, but 'state: off' records none; remove one of them")
    _check_notify(checker, data.get("notify"), ["notify"])
    cost = data.get("cost")
    for executor in cost.get("executors") or {} if isinstance(cost, dict) else {}:
        if isinstance(executor, str) and checker.registry.get(EXECUTOR, executor) is None:
            checker.report(["cost", "executors", executor], _unknown_message(checker, EXECUTOR, executor, EXECUTOR), key=True)
    _check_telemetry(checker, data.get("telemetry"))
    for name, pipeline in pipelines.items():
        if isinstance(pipeline, dict):
            _check_pipeline(checker, name, pipeline)
            _check_after_triggers(checker, name, pipeline, pipelines)
            check_language(checker, name, pipeline, pipelines, params)
    _check_depends_on(checker, pipelines)

def _check_executor(checker: Checker, value: Any, path: list[PathPart]) -> None:
    name = value.get("name") if isinstance(value, dict) else value
    if isinstance(name, str):
        _check_registered(checker, EXECUTOR, name, value if isinstance(value, dict) else None, path, path, ["name"])

def _check_telemetry(checker: Checker, value: Any) -> None:
    """``telemetry.traces`` needs the plugin that exports them: a file that asks for traces must
    not run without them unnoticed. Said only of a block found well-formed: a typo in it gets its
    own message alone."""
    traces = value.get("traces") if isinstance(value, dict) else None
    where = json_path(["telemetry"])
    if any(p.path == where or p.path.startswith((where + ".", where + "[")) for p in checker.problems):
        return
    if isinstance(traces, dict) and checker.registry.get(CONSUMER, TRACES_CONSUMER) is None:
        checker.report(
            ["telemetry", "traces"],
            f"traces are configured, but the {TRACES_DISTRIBUTION} distribution that exports them is not installed "
            f"(or not loaded); install it with 'pip install {TRACES_DISTRIBUTION}', or remove 'traces:'",
            key=True,
        )

def _check_notify(checker: Checker, value: Any, path: list[PathPart]) -> None:
    """Each ``notify:`` entry names a registered channel, and its options fit that channel's schema."""
    for index, entry in enumerate(value if isinstance(value, list) else []):
        name = entry.get("channel") if isinstance(entry, dict) else None
        if isinstance(name, str) and name:
            where: list[PathPart] = [*path, index]
            _check_registered(checker, NOTIFIER, name, entry, where, [*where, "channel"], ["channel", "on"])

def _check_registered(
    checker: Checker, kind: str, name: str, value: dict[str, Any] | None, path: list[PathPart], name_path: list[PathPart], own: list[str]
) -> None:
    """An executor or notification channel: the name is registered, and the mapping's options
    (every key but ``own``, the config's own keys) fit the schema it registered."""
    if checker.registry.get(kind, name) is None:
        checker.report(name_path, _unknown_message(checker, kind, name, kind))
        return
    if value is not None:
        options = {k: v for k, v in value.items() if k not in own}
        validator = checker.args_validator(kind, name, name_path)
        if validator is not None:
            checker.report_errors(under(path, validator.iter_errors(options)), extra_allowed=own)

def _check_pipeline(checker: Checker, name: str, pipeline: dict[str, Any]) -> None:
    base: list[PathPart] = ["pipelines", key_text(name)]
    _check_executor(checker, pipeline.get("executor"), [*base, "executor"])
    if isinstance(pipeline.get("schedule"), dict):
        _check_schedule(checker, [*base, "schedule"], pipeline["schedule"])
    _check_notify(checker, pipeline.get("notify"), [*base, "notify"])
    ptype = pipeline.get("type")
    phases = pipeline.get("phases")
    if not isinstance(phases, dict):
        return
    allowed = PHASES_BY_TYPE.get(ptype) if isinstance(ptype, str) else None
    if allowed is not None:
        for phase in REQUIRED_PHASES:
            if phase not in phases and not checker.typo_for([*base, "phases"], phase) and not (phase == "extract" and "extract" in pipeline):
                checker.report(
                    [*base, "phases"],
                    f"an {ptype} pipeline needs {article(phase)} {phase!r} phase ({ptype} has {', '.join(allowed)}; "
                    f"only {' and '.join(o for o in allowed if o not in REQUIRED_PHASES)} may be left out)",
                )
        for phase in phases:
            if phase in PHASES and phase not in allowed:
                better = [t for t, ps in PHASES_BY_TYPE.items() if phase in ps and set(phases) <= set(ps)]
                fix = f"use type {better[0]} or remove it" if better else "remove it"
                checker.report(
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
                _check_step(checker, [*base, "phases", phase, "steps", index], phase, step, first_seen)

def _check_schedule(checker: Checker, path: list[PathPart], spec: dict[str, Any]) -> None:
    """What the schema cannot tell about a ``schedule:``: a cron field out of range, a time zone
    that does not exist, an impossible date, an end before the start. The schedule model is asked,
    so validation and the scheduler agree; it is imported only here, so a config without a
    schedule never loads the cron library or the time-zone data."""
    where = json_path(path)
    if any(p.path == where or p.path.startswith((where + ".", where + "[")) for p in checker.problems):
        return  # the schema pass already said what is wrong with it
    from orchestrator.config.schedule import Schedule, ScheduleError

    try:
        Schedule.from_config(spec)
    except ScheduleError as exc:
        key, _, message = str(exc).partition(": ")
        if key in spec and message:
            checker.report([*path, key], message)
        else:
            checker.report(path, str(exc))

def _check_after_triggers(checker: Checker, name: str, pipeline: dict[str, Any], pipelines: dict[str, Any]) -> None:
    """An ``after`` trigger names a pipeline of this file, or a file (beside this one) that exists."""
    triggers = pipeline.get("triggers")
    for index, trigger in enumerate(triggers if isinstance(triggers, list) else []):
        after = trigger.get("after") if isinstance(trigger, dict) else None
        ref = after.get("pipeline") if isinstance(after, dict) else None
        if not isinstance(ref, str):
            continue
        path: list[PathPart] = ["pipelines", key_text(name), "triggers", index, "after", "pipeline"]
        file, _, upstream = ref.rpartition("#")
        if not file and upstream not in pipelines:
            names = [key_text(p) for p in pipelines if p != name]
            close = difflib.get_close_matches(upstream, names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            checker.report(path, f"unknown pipeline {upstream!r}{hint} (pipelines in this file: {', '.join(names) or 'none'}); "
                                 "name one of another file as FILE#PIPELINE")
        elif file and not (checker.source.path.parent / file).is_file():
            checker.report(path, f"{file!r} is not a file beside this one; FILE in FILE#PIPELINE is relative to this file")

def _check_step(
    checker: Checker, path: list[PathPart], phase: str, step: dict[str, Any], first_seen: dict[str, list[PathPart]]
) -> None:
    step_id = step.get("id")
    if isinstance(step_id, str):
        if step_id in first_seen:
            source, first, _ = checker.locate([*first_seen[step_id], "id"])
            line = source.line_of(first)
            checker.report([*path, "id"], f"duplicate step id {step_id!r} (first used on line {line}); step ids must be unique within a pipeline")
        else:
            first_seen[step_id] = path
    if "on_error" in step and phase not in ROW_PHASES:
        checker.report(
            [*path, "on_error"],
            f"on_error is for transform and load steps, which handle rows one by one; "
            f"{article(phase)} {phase} step cannot reject a row, remove it",
            key=True,
        )
    plugin = step.get("plugin")
    if not isinstance(plugin, str) or not plugin:
        return
    entry = checker.registry.get(phase, plugin)
    if (phase, plugin) in checker.registry.clashes:
        who = " and ".join(str(o) for o in checker.registry.clashes[(phase, plugin)])
        checker.report([*path, "plugin"], f"plugin {plugin!r} is registered by both {who}; uninstall one of them")
        return
    if entry is None:
        checker.report([*path, "plugin"], _unknown_message(checker, "plugin", plugin, phase))
        return
    fast = checker.fast_args(phase, plugin)
    if fast is None:
        return
    args = step.get("args")
    if fast.is_valid(args if "args" in step else {}, float_free=checker.float_free):  # no args: does {} do?
        return
    validator = checker.args_validator(phase, plugin, [*path, "plugin"])
    if validator is None:
        return
    if isinstance(args, dict):
        errors = list(validator.iter_errors(args))
        if errors:
            checker.report_errors(under([*path, "args"], errors))
    elif "args" not in step and not checker.typo_for(path, "args"):
        _missing_args(checker, path, plugin, validator)

def _missing_args(checker: Checker, path: list[PathPart], plugin: str, validator: Validator) -> None:
    """A step without ``args`` whose plugin requires some: one message naming what to add."""
    required = [missing_key(e) for e in validator.iter_errors({}) if e.validator == "required"]
    if required:
        keys = ", ".join(f"{k}: ..." for k in required)
        checker.report(
            path,
            f"plugin {plugin!r} needs args with {' and '.join(repr(k) for k in required)}; add 'args: {{{keys}}}'",
        )

def _unknown_message(checker: Checker, what: str, name: str, kind: str) -> str:
    elsewhere = [k for k in checker.registry.kinds_of(name) if k != kind]
    if elsewhere and what == "plugin":
        available = ", ".join(checker.registry.names(kind)) or "none installed"
        return (
            f"plugin {name!r} is a {' / '.join(elsewhere)} step and cannot run in {kind}; "
            f"{kind} steps: {available}"
        )
    close = checker.registry.suggest(name, kind)
    hint = f"; did you mean {close!r}?" if close else ""
    if what in _NOUNS:
        installed = ", ".join(checker.registry.names(kind)) or "none"
        return f"unknown {_NOUNS[what]} {short(name, 60)}{hint} (installed: {installed}; 'orchestrator plugins' shows which plugin provides each)"
    return f"unknown {kind} plugin {short(name, 60)}{hint} (run 'orchestrator plugins' to list the installed steps)"

def _check_depends_on(checker: Checker, pipelines: dict[str, Any]) -> None:
    graph: dict[str, list[str]] = {}
    for name, pipeline in pipelines.items():
        deps = pipeline.get("depends_on", []) if isinstance(pipeline, dict) else []
        deps = [d for d in deps if isinstance(d, str)] if isinstance(deps, list) else []
        graph[name] = [*deps, *implied_dependencies(pipeline)]
        for index, dep in enumerate(deps):
            if dep not in pipelines:
                names = [key_text(p) for p in pipelines]  # a broken config may have non-text names
                close = difflib.get_close_matches(dep, names, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                known = ", ".join(n for n in names if n != key_text(name)) or "none"
                checker.report(
                    ["pipelines", key_text(name), "depends_on", index],
                    f"depends on unknown pipeline {dep!r}{hint} (pipelines in this file: {known})",
                )
    for cycle in find_cycles(graph):
        if len(cycle) == 2:
            checker.report(
                ["pipelines", cycle[0], "depends_on"],
                f"pipeline {cycle[0]!r} depends on itself; remove {cycle[0]!r} from its depends_on",
            )
        else:
            checker.report(
                ["pipelines", cycle[0], "depends_on"],
                f"dependency cycle: {' -> '.join(cycle)} (each pipeline depends on the next, so none can start); "
                "remove one of these depends_on entries",
            )


def under(prefix: list[PathPart], errors: Iterable[ValidationError]) -> list[ValidationError]:
    """Errors from a plugin's args schema, re-rooted at the args' place in the config."""
    found = list(errors)
    for error in found:
        error.path.extendleft(reversed(prefix))
    return found
