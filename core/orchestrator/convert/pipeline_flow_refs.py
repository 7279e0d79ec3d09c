"""pipeline-flow's ``${{ variables.X }}``, ``${{ env.X }}`` and ``${{ secrets.X }}`` as references
of this format.

- A variable whose value a parameter can hold (text, a number, a boolean) becomes a parameter
  with that default, referenced as ``${params.X}``; a list or mapping (which a parameter cannot
  hold) is written where it is used, as pipeline-flow itself substitutes it.
- ``${{ env.X }}`` is ``${X}``.
- A secret was fetched by a secret-manager plugin at load time; here secrets come from the
  environment, so ``${{ secrets.ID }}`` (or ``.KEY``) becomes an environment variable named after
  it and ending in ``_SECRET``: a name that looks secret, so its value is redacted from everything
  a run writes. ``.resource_id`` is the secret's name, which is no secret: it is written out.
- Any other ``${`` in the text is escaped (``$${``): pipeline-flow never substituted it.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from orchestrator.config.yamlsource import PathPart

_REFERENCE = re.compile(r"\$\{\{\s*(env|variables|secrets)\.([^}]+?)\s*\}\}")
_PARAM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SCALARS = (str, int, float, bool)

Problem = tuple[int, tuple[PathPart, ...], str]


class References:
    """Converts references in the config document; remembers the parameters and environment
    variables the converted file needs, and what it could not carry over (``notes``)."""

    def __init__(self, variables: dict[str, Any], secrets: dict[str, Any], document: int, secrets_document: int) -> None:
        self.variables = variables
        self.secrets = secrets
        self.document = document
        self.secrets_document = secrets_document
        self.params: dict[str, Any] = {}
        self.notes: list[Problem] = []
        self._told: set[str] = set()

    def convert(self, value: Any, path: tuple[PathPart, ...]) -> Any:
        """A copy of ``value`` with every string's references converted."""
        if isinstance(value, dict):
            return {key: self.convert(item, (*path, str(key))) for key, item in value.items()}
        if isinstance(value, list):
            return [self.convert(item, (*path, index)) for index, item in enumerate(value)]
        if isinstance(value, str) and "${" in value:
            return self._string(value, path)
        return value

    def _string(self, text: str, path: tuple[PathPart, ...]) -> Any:
        whole = _REFERENCE.fullmatch(text)
        if whole and whole.group(1) == "variables":
            name = whole.group(2)
            if name in self.variables and not self._parameter(name):
                self._note(path, f"variable {name!r} is {_kind(self.variables[name])}, which a parameter cannot hold: its value is written here")
                return copy.deepcopy(self.variables[name])
        pieces: list[str] = []
        position = 0
        for match in _REFERENCE.finditer(text):
            pieces.append(text[position:match.start()].replace("${", "$${"))
            pieces.append(self._reference(match.group(1), match.group(2), path))
            position = match.end()
        pieces.append(text[position:].replace("${", "$${"))
        return "".join(pieces)

    def _reference(self, kind: str, name: str, path: tuple[PathPart, ...]) -> str:
        if kind == "env":
            if _PARAM_NAME.match(name):
                return "${" + name + "}"
            self._note(path, f"environment variable {name!r} cannot be written as a reference here (names are letters, digits and '_'); set it under a plain name")
            return f"$${{{{ env.{name} }}}}"
        if kind == "variables":
            return self._variable(name, path)
        return self._secret(name, path)

    def _parameter(self, name: str) -> bool:
        """Whether variable ``name`` can be (and now is) a parameter of the converted file."""
        value = self.variables.get(name)
        if not _PARAM_NAME.match(name) or not (value is None or isinstance(value, _SCALARS)):
            return False
        self.params[name] = value
        return True

    def _variable(self, name: str, path: tuple[PathPart, ...]) -> str:
        if name not in self.variables:
            if _PARAM_NAME.match(name):
                self.params.setdefault(name, None)
                self._note(path, f"variable {name!r} is not defined in the file: it became parameter {name!r} without a default; pass --param {name}=VALUE")
                return "${params." + name + "}"
            self._note(path, f"variable {name!r} is not defined in the file and cannot be a parameter name; the reference was left as text")
            return f"$${{{{ variables.{name} }}}}"
        if self._parameter(name):
            return "${params." + name + "}"
        value = self.variables[name]
        self._note(path, f"variable {name!r} is {_kind(value)}, which a parameter cannot hold: its value is written here as text")
        return str(value).replace("${", "$${")

    def _secret(self, reference: str, path: tuple[PathPart, ...]) -> str:
        secret_id, _, key = reference.partition(".")
        declared = self.secrets.get(secret_id)
        args = declared.get("args") if isinstance(declared, dict) else None
        if key.lower() == "resource_id":
            if isinstance(args, dict) and isinstance(args.get("secret_name"), str):
                return str(args["secret_name"]).replace("${", "$${")
            self._note(path, f"the resource id of secret {secret_id!r} is not written in the file; write it here")
            return ""
        variable = environment_name(secret_id, key)
        if declared is None:
            self._note(path, f"secret {secret_id!r} is not declared under secrets:; set the environment variable {variable} before the run")
        elif variable not in self._told:
            self._told.add(variable)
            plugin = declared.get("plugin") if isinstance(declared, dict) else None
            where = ", ".join(f"{k} {v}" for k, v in (args or {}).items() if isinstance(v, (str, int)))
            source = f" (pipeline-flow fetched it with {plugin}{', ' + where if where else ''})" if plugin else ""
            self.notes.append((
                self.secrets_document, ("secrets", secret_id),
                (f"secret {secret_id!r}{' key ' + repr(key) if key else ''} has no secret-manager plugin here{source}: it is read from the "
                 f"environment variable {variable}, which must be set before the run (its value is never shown)"),
            ))
        return "${" + variable + "}"

    def _note(self, path: tuple[PathPart, ...], message: str) -> None:
        self.notes.append((self.document, path, message))


def environment_name(secret_id: str, key: str = "") -> str:
    """``db``, ``password`` → ``DB_PASSWORD_SECRET``: upper case, other characters as ``_``,
    ending in ``_SECRET`` unless the name says SECRET already."""
    name = re.sub(r"[^A-Za-z0-9]+", "_", f"{secret_id}_{key}" if key else secret_id).strip("_").upper() or "SECRET"
    if name[0].isdigit():
        name = "_" + name
    return name if "SECRET" in name else f"{name}_SECRET"


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"
