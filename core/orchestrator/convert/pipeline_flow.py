"""A pipeline-flow 1.0.8 config turned into this orchestrator's format.

pipeline-flow reads a YAML stream: documents holding ``variables:`` or ``secrets:`` come first,
and the first document without them is the config (``concurrency``, ``plugins``, ``pipelines``).
Each pipeline has a ``type``, ``phases`` (extract, transform, load, transform_at_load, each with
``steps`` and, for extract and load, ``pre``/``post`` hooks and an extract ``merge``), an optional
``description`` and ``needs``. What maps: the pipelines, their types, phases and steps (ids made
valid names), ``needs`` as ``depends_on``, references (:mod:`.pipeline_flow_refs`) and
pipeline-flow's own plugins (:mod:`.pipeline_flow_plugins`). Everything else is reported as a
:class:`~orchestrator.convert.notes.Note`, never dropped in silence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from orchestrator.config.phases import PHASES
from orchestrator.config.yamlloader import DuplicateKey, StrictLoader
from orchestrator.config.yamlsource import PathPart, YamlSource
from orchestrator.convert.notes import Located, Note
from orchestrator.convert.pipeline_flow_plugins import convert_plugin
from orchestrator.convert.pipeline_flow_refs import References
from orchestrator.errors import ConfigError, Problem

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_PIPELINE_KEYS = ("type", "description", "needs", "phases")
_STEP_KEYS = ("id", "plugin_id", "plugin", "args")
_HOOKS = {
    "pre": "runs before the phase's steps",
    "post": "runs after the phase's steps",
    "merge": "combines the extract steps' outputs into one",
}


@dataclass
class Conversion:
    """The converted config, and what did not carry over (rendered ``FILE:LINE: $.path: message``)."""

    config: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    def yaml(self, source: str) -> str:
        header = f"# Converted from the pipeline-flow config {source} by 'orchestrator convert pipeline-flow'.\n"
        return header + yaml.safe_dump(self.config, sort_keys=False, allow_unicode=True, width=120)


def convert_file(path: Path) -> Conversion:
    """Read ``path`` and convert it; an unreadable file, or one that is no pipeline-flow config,
    raises ConfigError."""
    source = YamlSource.read(path)
    return convert_text(source.name, source.text)


def convert_text(name: str, text: str) -> Conversion:
    documents = _documents(name, text)
    located = Located(name, text)
    variables: dict[str, Any] = {}
    secrets: dict[str, Any] = {}
    secrets_document = 0
    config_index = None
    for index, document in enumerate(documents):
        if isinstance(document, dict) and ("variables" in document or "secrets" in document):
            if isinstance(document.get("variables"), dict):
                variables.update(document["variables"])
            if isinstance(document.get("secrets"), dict):
                secrets.update(document["secrets"])
                secrets_document = index
            continue
        config_index = index
        break
    if config_index is None or not isinstance(documents[config_index], dict) or not isinstance(documents[config_index].get("pipelines"), dict):
        raise ConfigError([Problem(name, 1, "", (
            "this is not a pipeline-flow config: expected a document with a 'pipelines:' mapping "
            "(after any documents holding variables: or secrets:)"
        ))])
    converter = _Converter(config_index, References(variables, secrets, config_index, secrets_document))
    config = converter.config(documents[config_index])
    notes = [*converter.notes, *(Note(*found) for found in converter.references.notes)]
    notes += [
        Note(index, (), "pipeline-flow reads only the first document without variables: or secrets:, so this one was not converted")
        for index in range(config_index + 1, len(documents)) if documents[index] is not None
    ]
    notes.sort(key=lambda note: (note.document, located.line_of(note.document, note.path)))
    return Conversion(config, [located.render(note) for note in notes])


def _documents(name: str, text: str) -> list[Any]:
    try:
        return list(yaml.load_all(text, Loader=StrictLoader))  # safe: StrictLoader is a SafeLoader
    except DuplicateKey as dup:
        first = dup.first.start_mark.line + 1
        message = f"duplicate key {dup.key!r} (first on line {first}); pipeline-flow kept only the last one, so remove the one it ignored"
        raise ConfigError([Problem(name, dup.again.start_mark.line + 1, "", message)]) from None
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark is not None else 0
        raise ConfigError([Problem(name, line, "", f"YAML syntax error: {exc.problem}")]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([Problem(name, 0, "", f"YAML error: {' '.join(str(exc).split())}")]) from None


class _Converter:
    def __init__(self, document: int, references: References) -> None:
        self.document = document
        self.references = references
        self.notes: list[Note] = []
        self.names: dict[str, str] = {}

    def tell(self, path: tuple[PathPart, ...], message: str) -> None:
        self.notes.append(Note(self.document, path, message))

    def config(self, document: dict[str, Any]) -> dict[str, Any]:
        for key, value in document.items():
            if key == "concurrency":
                self.tell((key,), (
                    f"concurrency: {value} limited how many pipelines ran at once; here pipelines start as soon as their "
                    "depends_on succeeded, and 'concurrency' means steps of a phase at once: left out"
                ))
            elif key == "plugins":
                self.tell((key,), (
                    "custom and community plugins were imported from files and folders; here plugins are installed "
                    "packages ('orchestrator new plugin' starts one) or functions called with python.call: left out"
                ))
            elif key != "pipelines":
                self.tell((str(key),), f"pipeline-flow has no top-level key {str(key)!r}; left out")
        raw = self.references.convert(document["pipelines"], ("pipelines",))
        for name in raw:
            self.names[str(name)] = _valid_name(str(name))
        pipelines = {}
        for name, pipeline in raw.items():
            converted = self._pipeline(str(name), pipeline)
            if converted is not None:
                pipelines[self.names[str(name)]] = converted
        out: dict[str, Any] = {}
        if self.references.params:
            out["params"] = self.references.params
        out["pipelines"] = pipelines
        return out

    def _pipeline(self, name: str, raw: Any) -> dict[str, Any] | None:
        path: tuple[PathPart, ...] = ("pipelines", name)
        if not isinstance(raw, dict):
            self.tell(path, "a pipeline is a mapping with type: and phases:; this one was left out")
            return None
        if self.names[name] != name:
            self.tell(path, f"pipeline names here are letters, digits, '_', '-' and '.': {name!r} became {self.names[name]!r}")
        pipeline: dict[str, Any] = {"type": raw.get("type")}
        if "description" in raw:
            pipeline["description"] = raw["description"]
        needs = raw.get("needs")
        if needs:
            listed = [needs] if isinstance(needs, str) else needs if isinstance(needs, list) else []
            pipeline["depends_on"] = [self.names.get(str(n), str(n)) for n in listed]
        for key in raw:
            if key not in _PIPELINE_KEYS:
                self.tell((*path, str(key)), f"pipeline-flow pipelines have no key {str(key)!r}; left out")
        phases = raw.get("phases")
        pipeline["phases"] = self._phases(phases, (*path, "phases")) if isinstance(phases, dict) else {}
        return pipeline

    def _phases(self, raw: dict[str, Any], path: tuple[PathPart, ...]) -> dict[str, Any]:
        phases: dict[str, Any] = {}
        for phase in raw:
            if phase not in PHASES:
                self.tell((*path, str(phase)), f"{str(phase)!r} is not a phase (phases: {', '.join(PHASES)}); left out")
        for phase in PHASES:
            if phase not in raw:
                continue
            body, where = raw[phase], (*path, phase)
            if isinstance(body, dict) and "steps" not in body and "plugin" in body:
                self.tell(where, "a phase lists its steps under steps:; this one names a plugin directly, converted as its one step")
                body = {"steps": [body]}
            if not isinstance(body, dict) or not isinstance(body.get("steps"), list):
                self.tell(where, f"phase {phase!r} has no steps: list (the documentation's '...' placeholder?); left out")
                continue
            for hook, does in _HOOKS.items():
                if body.get(hook) is not None:
                    self.tell((*where, hook), (
                        f"{hook}: {does}; phases here have no {hook} hooks: left out (make it a step of this phase, "
                        "or of a pipeline that depends on this one)"
                    ))
            for key in body:
                if key != "steps" and key not in _HOOKS:
                    self.tell((*where, str(key)), f"phases have no key {str(key)!r}; left out")
            phases[phase] = {"steps": [self._step(step, (*where, "steps", index)) for index, step in enumerate(body["steps"])]}
        return phases

    def _step(self, raw: Any, path: tuple[PathPart, ...]) -> dict[str, Any]:
        if not isinstance(raw, dict):
            self.tell(path, "a step is a mapping with plugin: and args:; kept as written")
            return {"plugin": str(raw)}
        step: dict[str, Any] = {}
        given_id = raw.get("id", raw.get("plugin_id"))
        if given_id is not None:
            step["id"] = _valid_name(str(given_id))
            if step["id"] != given_id:
                self.tell((*path, "id" if "id" in raw else "plugin_id"), f"step ids here are letters, digits, '_', '-' and '.': {given_id!r} became {step['id']!r}")
        given = raw.get("args")
        args: dict[str, Any] = given if isinstance(given, dict) else {}
        if not isinstance(raw.get("plugin"), str):
            self.tell(path, "this step names no plugin (the documentation's placeholder?); write the plugin to use")
            return {**step, "plugin": None}
        plugin, converted = convert_plugin(raw["plugin"], args, lambda where, message: self.tell((*path, *where), message))
        step["plugin"] = plugin
        if converted:
            step["args"] = converted
        for key in raw:
            if key not in _STEP_KEYS:
                self.tell((*path, str(key)), f"steps have no key {str(key)!r}; left out")
        return step


def _valid_name(name: str) -> str:
    """``load data to database`` → ``load_data_to_database``: a name this format accepts."""
    if _NAME.match(name):
        return name
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "step"
    return cleaned if re.match(r"^[A-Za-z_]", cleaned) else f"_{cleaned}"
