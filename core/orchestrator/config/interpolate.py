"""``${ENV_VAR}``, ``${ENV_VAR:-default}``, ``${params.name}`` and the run's own variables
(``${schedule.logical_time}``, ``${trigger.path}``, ...) in any string of a config.

The run's variables come in namespaces that whoever loads the plan passes in: the scheduler gives
a scheduled run its tick's times and a file-triggered run its file. A manual run gets ``schedule.*``
from the loader (:func:`manual_schedule`); a reference to a namespace nobody passed takes its
default, or stays as written (``${trigger.path}`` in a file nobody dropped).

References may stand alone or inline (``"s3://${BUCKET}/day=${params.day}"``); ``$${`` writes a
literal ``${``. A string that is exactly one ``${params.x}`` takes the parameter's own value and type,
so ``batch_size: ${params.size}`` stays an integer. Values that came from environment variables
whose names look secret are remembered so that output can redact them.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

_REFERENCE = re.compile(r"\$(\$?)\{([^{}]*)\}")
_EXPRESSION = re.compile(
    r"^(?:(?P<params>params\.)(?P<param>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<space>schedule|trigger)\.(?P<variable>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<env>[A-Za-z_][A-Za-z0-9_]*))(?::-(?P<default>.*))?$",
    re.DOTALL,
)
#: the run's variables, by namespace
NAMESPACES = {
    "schedule": ("logical_time", "interval_start", "interval_end"),
    "trigger": ("path",),
}
_DANGLING = re.compile(r"(?<!\$)\$\{")
_SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|API_?KEY|PRIVATE|CREDENTIAL", re.IGNORECASE)

#: keys whose value names code to import and run (``python.call``'s ``callable: module:function``):
#: a reference there is an error, so a ``--param`` or an environment variable can never choose
#: what code runs (``--param fn=os:system`` would run a shell); the config file itself is code
CODE_KEYS = frozenset({"callable"})

PathParts = list[str | int]
ProblemSink = Callable[[PathParts, str], None]


class Interpolator:
    """Substitutes references in place, reporting each bad one with its path instead of stopping."""

    def __init__(
        self, env: Mapping[str, str], params: Mapping[str, Any], *, aliases: bool = True,
        variables: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        """``aliases=False`` promises that no container appears twice in the data (a YAML document
        without ``*alias``), which saves remembering every container visited. ``variables`` holds
        the run's namespaces (``{"schedule": {"logical_time": ...}, "trigger": {"path": ...}}``)."""
        self.env = env
        self.params = params
        self.variables = variables or {}
        #: values to redact: every secret-named variable of the environment, referenced or not
        #: (step code reads some itself, as boto3 reads AWS_SECRET_ACCESS_KEY, and an error can
        #: quote them), plus the values of secret-named references
        self.secrets: set[str] = secret_environment(env)
        # a container shared through a YAML alias must be substituted once: a second pass would
        # turn an escaped "$${X}" (already "${X}") into X's value
        self._visited: set[int] | None = set() if aliases else None

    def apply(self, data: Any, report: ProblemSink, path: PathParts | None = None) -> Any:
        """Return ``data`` with every string substituted; containers are updated in place."""
        path = [] if path is None else path
        if isinstance(data, str):
            return self._string(data, path, report) if "${" in data else data
        if self._visited is not None and isinstance(data, (dict, list)):
            if id(data) in self._visited:
                return data
            self._visited.add(id(data))
        if isinstance(data, dict):
            for key, value in data.items():
                if key in CODE_KEYS and isinstance(value, str) and _REFERENCE.search(value.replace("$${", "")):
                    report([*path, key], _code_reference_message(key, value))
                elif isinstance(value, (str, dict, list)):
                    data[key] = self.apply(value, report, [*path, key])
        elif isinstance(data, list):
            for index, value in enumerate(data):
                if isinstance(value, (str, dict, list)):
                    data[index] = self.apply(value, report, [*path, index])
        return data

    def _string(self, text: str, path: PathParts, report: ProblemSink) -> Any:
        whole = _REFERENCE.fullmatch(text)
        if whole and not whole.group(1):
            return self._resolve(whole.group(2), path, report, keep_type=True)

        def replace(match: re.Match[str]) -> str:
            if match.group(1):  # "$${...}" is an escaped literal
                return match.group(0)[1:]
            return str(self._resolve(match.group(2), path, report, keep_type=False))

        complete = _REFERENCE.findall(text)
        if len(complete) != text.count("${") and _DANGLING.search(_REFERENCE.sub("", text)):
            report(path, _dangling_message(text))  # a "${" that no complete reference accounts for
            return text  # and nothing else about this string: its references are not what was meant
        return _REFERENCE.sub(replace, text)

    def _resolve(self, expression: str, path: PathParts, report: ProblemSink, *, keep_type: bool) -> Any:
        match = _EXPRESSION.match(expression.strip())
        if expression.strip() == "params":
            report(path, "'${params}' names no parameter; write ${params.NAME}, with NAME declared under 'params:'")
            return ""
        if match is None:
            report(path, _invalid_message(expression))
            return ""
        default = match.group("default")
        if match.group("space"):
            return self._variable(match.group("space"), match.group("variable"), default, path, report)
        if match.group("params"):
            name = match.group("param")
            if path[:1] == ["params"]:  # defaults are not resolved in any order, so one cannot use another
                report(path, _parameter_in_default(name, path))
                return ""
            value = self.params.get(name)
            if value is None:
                if default is not None:
                    return default
                if name in self.params:
                    report(path, f"parameter {name!r} has no value; pass --param {name}=VALUE")
                else:
                    report(path, self._unknown_parameter(name))
                return ""
            return value if keep_type else _text(value)
        name = match.group("env")
        value = self.env.get(name)
        if value is None:
            if default is not None:
                return default
            report(
                path,
                f"environment variable {name!r} is not set; set it or give a default "
                f"with ${{{name}:-default}}",
            )
            return ""
        if _SECRET_NAME.search(name) and value:
            self.secrets.add(value)
        return value

    def _variable(self, space: str, name: str, default: str | None, path: PathParts, report: ProblemSink) -> str:
        """``${schedule.x}`` or ``${trigger.x}``: a value the run was started with."""
        known = NAMESPACES[space]
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
            hint = f"; did you mean {'${' + space + '.' + close[0] + '}'!r}?" if close else ""
            report(path, f"unknown variable {space}.{name}{hint} ({space} has {', '.join(known)})")
            return ""
        value = self.variables.get(space, {}).get(name)
        if value is not None:
            return value
        # a run nobody started for a file: the default if there is one, else the reference as
        # written, so the file validates and a step given it says which file it could not open
        return default if default is not None else f"${{{space}.{name}}}"

    def _unknown_parameter(self, name: str) -> str:
        names = sorted("null" if p is None else str(p) for p in self.params)  # a broken config may have non-text names
        declared = ", ".join(names) or "none"
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return (
            f"unknown parameter {name!r}{hint} (declared: {declared}); "
            f"declare it under 'params:' and pass --param {name}=VALUE"
        )


def _parameter_in_default(name: str, path: PathParts) -> str:
    own = path[1] if len(path) > 1 else None
    which = "itself" if name == own else f"parameter {name!r}"
    return (
        f"the default of parameter {own!r} refers to {which} (${{params.{name}}}); a default is a value or "
        "${ENV_VAR} / ${ENV_VAR:-default}, since parameters are not resolved from one another: write the "
        f"value, or refer to ${{params.{name}}} where {own!r} is used"
    )


def _code_reference_message(key: str, value: str) -> str:
    return (
        f"{key!r} names the code to run and cannot be substituted ({_clip(value)!r}): a parameter or an "
        "environment variable must not choose what code a pipeline runs; write the module:function itself, "
        "and pass the choice to it as data under 'kwargs:'"
    )


def _invalid_message(expression: str) -> str:
    """What is wrong with a reference, with the likely intended one when it is a near miss."""
    message = (
        f"invalid reference {_clip('${' + expression + '}')!r}: expected ${{ENV_VAR}}, ${{ENV_VAR:-default}}, "
        "${params.name}, ${schedule.logical_time} or ${trigger.path}"
    )
    stripped = expression.strip()
    if stripped.startswith("param."):
        guess = "params." + stripped.removeprefix("param.")
    elif ":=" in stripped:
        guess = stripped.replace(":=", ":-", 1)
    elif stripped.startswith("inputs."):
        return message + "; ${inputs.NAME} belongs in the body of a template (templates:), given by a pipeline's with:"
    else:
        return message
    return message + f"; did you mean {_clip('${' + guess + '}')!r}?"


def manual_schedule(now: datetime | None = None) -> dict[str, str]:
    """``${schedule.*}`` of a run nobody scheduled (``orchestrator run``): the logical time is the
    moment the run was asked for, and the data interval is that instant (empty), in UTC."""
    moment = (now or datetime.now(UTC)).astimezone(UTC).isoformat()
    return {"logical_time": moment, "interval_start": moment, "interval_end": moment}


def interval_schedule(start: datetime, end: datetime) -> dict[str, str]:
    """``${schedule.*}`` of a run about the data interval ``[start, end)`` that another scheduler
    (Airflow, say) gave it: the logical time is the interval's end, as for a tick of our own
    schedules, and each time keeps the offset it was given in. Raises :class:`ValueError` for a
    time without a time zone, or an end before the start."""
    for name, value in (("start", start), ("end", end)):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"data interval {name} {value.isoformat()} has no time zone; give an aware datetime")
    if end < start:
        raise ValueError(f"data interval ends ({end.isoformat()}) before it starts ({start.isoformat()})")
    return {"logical_time": end.isoformat(), "interval_start": start.isoformat(), "interval_end": end.isoformat()}


def _dangling_message(text: str) -> str:
    """Say whether a stray ``${`` is nested in another reference or simply never closed."""
    start = _DANGLING.search(text)
    rest = text[start.end():] if start else text
    if "${" in rest.split("}", 1)[0]:
        return (
            f"references cannot be nested in {_clip(text)!r}; use one reference per value, "
            "e.g. ${ENV_VAR:-a plain default}"
        )
    return f"unclosed reference in {_clip(text)!r}: add the closing '}}', or write '$${{' for a literal '${{'"


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


#: the password of a URL (``scheme://user:PASSWORD@host``), or its ``password=`` query parameter
_URL_PASSWORD = re.compile(r"(?P<keep>[A-Za-z][A-Za-z0-9+.-]*://[^\s:/?#@]*:)[^\s@]*@|(?P<query>[?&]password=)[^&\s]*")


def hide_passwords(text: str) -> str:
    """``text`` with the password of every URL in it shown as ``***``: a connection URL written in
    a config (``state: postgresql://user:PASSWORD@host/db``) is not a secret by its name, but its
    password must not reach a message either."""
    if "://" not in text and "password=" not in text:
        return text
    return _URL_PASSWORD.sub(lambda m: f"{m['keep']}***@" if m["keep"] else f"{m['query']}***", text)


def looks_secret(name: str) -> bool:
    """Whether a name (of a variable, a parameter) says its value is a secret (``DB_PASSWORD``,
    ``api_key``): such values are hidden wherever they would be shown."""
    return bool(_SECRET_NAME.search(name))


def secret_environment(env: Mapping[str, str]) -> set[str]:
    """The values of the environment variables whose names look secret. Values too short or too
    plain to be a secret (``1``, ``true``) are left out: redacting them would garble every text."""
    return {value for name, value in env.items() if _SECRET_NAME.search(name) and redactable(value)}


def redactable(value: str) -> bool:
    """Whether a secret's value can be redacted: not too short or too plain (``1``, ``true``),
    which would garble every text it was replaced in."""
    return len(value) >= _SHORTEST_SECRET and value.lower() not in _PLAIN_VALUES


_SHORTEST_SECRET = 4
_PLAIN_VALUES = frozenset({"true", "false", "none", "null", "unset"})


def redactor(secrets: frozenset[str]) -> Callable[[str], str]:
    """Replace every secret value (longest first) and the password of every URL with ``***``: what
    every text a run writes (output, errors, the history, dead letters, notifications) goes
    through. URL passwords are hidden whatever variable they came from (``PG_URL`` is not a
    secret by its name, its password is)."""
    ordered = sorted(secrets, key=len, reverse=True)

    def redact(text: str) -> str:
        for secret in ordered:
            text = text.replace(secret, "***")
        return hide_passwords(text)

    return redact
