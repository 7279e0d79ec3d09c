"""``${ENV_VAR}``, ``${ENV_VAR:-default}`` and ``${params.name}`` in any string of a config.

References may stand alone or inline (``"s3://${BUCKET}/day=${params.day}"``); ``$${`` writes a
literal ``${``. A string that is exactly one ``${params.x}`` takes the parameter's own value and type,
so ``batch_size: ${params.size}`` stays an integer. Values that came from environment variables
whose names look secret are remembered so that output can redact them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

_REFERENCE = re.compile(r"\$(\$?)\{([^{}]*)\}")
_EXPRESSION = re.compile(
    r"^(?:(?P<params>params\.)(?P<param>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<env>[A-Za-z_][A-Za-z0-9_]*))(?::-(?P<default>.*))?$",
    re.DOTALL,
)
_SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|API_?KEY|PRIVATE|CREDENTIAL", re.IGNORECASE)

PathParts = list[str | int]
ProblemSink = Callable[[PathParts, str], None]


class Interpolator:
    """Substitutes references in place, reporting each bad one with its path instead of stopping."""

    def __init__(self, env: Mapping[str, str], params: Mapping[str, Any]) -> None:
        self.env = env
        self.params = params
        self.secrets: set[str] = set()

    def apply(self, data: Any, report: ProblemSink, path: PathParts | None = None) -> Any:
        """Return ``data`` with every string substituted; containers are updated in place."""
        path = [] if path is None else path
        if isinstance(data, str):
            return self._string(data, path, report) if "${" in data else data
        if isinstance(data, dict):
            for key, value in data.items():
                if isinstance(value, (str, dict, list)):
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

        return _REFERENCE.sub(replace, text)

    def _resolve(self, expression: str, path: PathParts, report: ProblemSink, *, keep_type: bool) -> Any:
        match = _EXPRESSION.match(expression.strip())
        if match is None:
            report(
                path,
                f"invalid reference '${{{expression}}}': expected ${{ENV_VAR}}, "
                "${ENV_VAR:-default} or ${params.name}",
            )
            return ""
        default = match.group("default")
        if match.group("params"):
            name = match.group("param")
            value = self.params.get(name)
            if value is None:
                if default is not None:
                    return default
                if name in self.params:
                    report(path, f"parameter {name!r} has no value; pass --param {name}=VALUE")
                else:
                    declared = ", ".join(sorted(self.params)) or "none"
                    report(
                        path,
                        f"unknown parameter {name!r} (declared: {declared}); "
                        f"declare it under 'params:' and pass --param {name}=VALUE",
                    )
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


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
