"""``include:``: other YAML files merged into a config, by name.

The rules, and why:

- An include is a path relative to the file that writes it, or a glob (``common/*.yaml``, files in
  name order). It must stay inside the main config file's folder (after symbolic links are
  followed): a project folder is what gets copied, reviewed and deployed, so a config that reads
  files outside it would run differently elsewhere. Absolute paths are refused for the same reason.
- An included file may hold ``include``, ``templates``, ``pipelines``, ``params`` and ``defaults``;
  everything else (``state``, ``executor``, ...) belongs to the main file, which decides how a run
  goes. ``pipelines``, ``templates`` and ``params`` are merged by name, ``defaults`` by key; the
  same name in two places is an error naming both, never a silent override.
- A file included twice (a diamond) is read once; a file that includes itself, directly or not,
  is a cycle, reported with the chain of files.
- Relative paths inside included steps start from the main file's folder, like every other
  relative path of a run (see "Relative paths" in the config reference).
- A config given as a mapping (``orchestrator.run({...}, base_dir=...)``) has no folder of its
  own: the file it is written to lives under ``.orchestrator/configs``. Its includes start from
  its ``base_dir``, where its other relative paths start, and must stay inside it; messages then
  say "base_dir" where they say "this file" of a file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.config.limits import MAX_VALUES, count_values
from orchestrator.config.origins import Origin, Origins, Where
from orchestrator.config.yamlsource import YamlSource, json_path
from orchestrator.errors import ConfigError, Problem

if TYPE_CHECKING:
    from orchestrator.config.validation import Checker

#: what an included file may hold
INCLUDABLE = ("include", "templates", "pipelines", "params", "defaults")
#: sections merged by name, and what one entry of each is called in messages
MERGED = {"templates": "template", "pipelines": "pipeline", "params": "parameter", "defaults": "default"}
_GLOB = frozenset("*?[")
#: how many files one config may include in all (a glob over a huge folder is a mistake)
MAX_FILES = 1000


@dataclass(frozen=True, slots=True)
class Start:
    """Where one file's include entries start from, and how messages name that place."""

    folder: Path
    #: "relative to ..." in messages
    relative_to: str
    #: the folder every included file must stay in, as messages name it
    root: str


@dataclass(frozen=True, slots=True)
class Part:
    """One file's share of the config: its data and the include entry that brought it in
    (None for the main file)."""

    source: YamlSource
    data: dict[str, Any]
    by: Where | None


def gather(main: YamlSource, data: dict[str, Any], checker: Checker, base_dir: Path | None = None) -> list[Part]:
    """The main file and every file it includes, each once, included files before their includer
    (depth first, in the order written); problems go to ``checker``. The main file's includes
    start from ``base_dir`` when it is given (a config given as a mapping), else from its folder."""
    first = Start(main.path.parent, "this file", "the main config file's folder") if base_dir is None else Start(base_dir, "base_dir", "base_dir")
    root = first.folder.resolve()
    parts: list[Part] = []
    read: set[Path] = set()
    size = count_values(data)

    def visit(source: YamlSource, content: dict[str, Any], by: Where | None, chain: list[tuple[Path, str]]) -> None:
        nonlocal size
        start = first if by is None else Start(source.path.parent, "this file", first.root)
        for index, entry in _entries(source, content, checker, start):
            where = Where(source, ("include", index))
            for file in _matches(entry, start, root, where, checker):
                resolved = file.resolve()
                looped = [name for seen, name in chain if seen == resolved]
                if looped:
                    names = [name for _, name in chain[[seen for seen, _ in chain].index(resolved):]]
                    _problem(checker, where, f"include cycle: {' -> '.join([*names, looped[0]])}; remove one of these includes")
                    continue
                if resolved in read:
                    continue
                if len(read) >= MAX_FILES:
                    _problem(checker, where, f"more than {MAX_FILES} files are included in all; include fewer, larger files")
                    return
                read.add(resolved)
                loaded = _read(file, where, checker)
                if loaded is not None and (size := size + count_values(loaded[1])) > MAX_VALUES:
                    _problem(checker, where, f"the included files hold more than {MAX_VALUES:,} values in all, far more than a config needs; include less")
                    return
                if loaded is not None:
                    visit(loaded[0], loaded[1], where, [*chain, (resolved, loaded[0].name)])
        parts.append(Part(source, content, by))

    read.add(main.path.resolve())
    visit(main, data, None, [(main.path.resolve(), main.name)])
    return parts


def merge(parts: list[Part], origins: Origins, checker: Checker) -> dict[str, Any]:
    """One config from the parts: the main file's keys in its order, with the named sections
    combined across files; where each included entry came from is registered in ``origins``."""
    main = parts[-1]
    merged = {key: value for key, value in main.data.items() if key != "include"}
    for section, noun in MERGED.items():
        contributing = [part for part in parts[:-1] if part.data.get(section) is not None]
        if not contributing:
            continue
        combined: dict[Any, Any] = {}
        first: dict[Any, Where] = {}
        for part in [*contributing, main]:
            entries = part.data.get(section)
            if entries is None:
                continue
            if not isinstance(entries, dict):
                _problem(checker, Where(part.source, (section,)), f"expected a mapping of {noun} names, got {type(entries).__name__}")
                continue
            for name, value in entries.items():
                here = Where(part.source, (section, name))
                if name in combined:
                    _problem(
                        checker, here,
                        f"{noun} {name!r} is defined twice: here and at {first[name]}; names must be unique across a "
                        "config and the files it includes, so rename or remove one",
                        key=True,
                    )
                    continue
                combined[name], first[name] = value, here
                if part.by is not None:
                    origins.add((section, name), Origin(here, part.by, "included by"))
        merged[section] = combined
    origins.files.extend(part.source for part in parts[:-1])
    return merged


def _entries(source: YamlSource, content: dict[str, Any], checker: Checker, start: Start) -> list[tuple[int, str]]:
    """The ``include:`` entries of one file that are usable paths; the others are reported."""
    value = content.get("include")
    if value is None:
        return []
    if isinstance(value, str):
        _problem(checker, Where(source, ("include",)), f"expected a list of files, got the string {value!r}; write [{value}]")
        return []
    if not isinstance(value, list):
        _problem(checker, Where(source, ("include",)), f"expected a list of files relative to {'this one' if start.relative_to == 'this file' else start.relative_to}, e.g. [common/connections.yaml]")
        return []
    found = []
    for index, entry in enumerate(value):
        if not isinstance(entry, str) or not entry.strip():
            _problem(checker, Where(source, ("include", index)), f"expected a file path (text), relative to {start.relative_to}")
        else:
            found.append((index, entry))
    return found


def _matches(entry: str, start: Start, root: Path, where: Where, checker: Checker) -> list[Path]:
    """The files an entry names (a glob: every file matching, in name order), all inside ``root``."""
    if Path(entry).is_absolute() or entry.startswith("~"):
        _problem(checker, where, f"{entry!r} is an absolute path; write it relative to {start.relative_to} (an included file must be inside {start.root})")
        return []
    if "\0" in entry:
        _problem(checker, where, f"{entry!r} contains a NUL character, which no file name can; remove it")
        return []
    try:
        return _found(entry, start, root, where, checker)
    except (ValueError, OSError) as exc:  # an invalid glob ('a**'), a name too long for the system
        _problem(checker, where, f"{entry!r} cannot be read as a file path or glob: {exc}")
        return []


def _found(entry: str, start: Start, root: Path, where: Where, checker: Checker) -> list[Path]:
    base = start.folder
    if _GLOB & set(entry):
        files = sorted(p for p in base.glob(entry) if p.is_file())
        if not files:
            folder = "this file's folder" if _shown(base) == "." else _shown(base)
            _problem(checker, where, f"no file matches {entry!r} in {folder}")
    else:
        files = [base / entry]
        if not files[0].exists():
            looked = f" (looked for {_shown(base / entry)})" if _shown(base / entry) != os.path.normpath(entry) else ""
            _problem(checker, where, f"included file {entry!r} does not exist{looked}; check the path, which is relative to {start.relative_to}")
            return []
    inside = [file for file in files if file.resolve().is_relative_to(root)]
    if len(inside) < len(files):
        _problem(
            checker, where,
            f"{entry!r} is outside {start.root}, where every included file must be: "
            + ("copy it in, or move the main file up" if start.root != "base_dir" else "copy it in, or give a base_dir above it"),
        )
    return [Path(_shown(file)) for file in inside]


def _shown(path: Path) -> str:
    """A path as messages show it: as the user wrote it, relative to where they are."""
    return os.path.normpath(path)


def _read(file: Path, where: Where, checker: Checker) -> tuple[YamlSource, dict[str, Any]] | None:
    note = f" (included by {where})"
    try:
        source = YamlSource.read(file)
        data = source.load()
    except ConfigError as exc:
        checker.problems.extend(Problem(p.file, p.line, p.path, p.message + note) for p in exc.problems)
        return None
    if data is None:
        return source, {}
    if not isinstance(data, dict):
        checker.problems.append(Problem(source.name, 1, "$", "an included file must be a mapping with pipelines:, templates:, params: or defaults:" + note))
        return None
    for key in data:
        if key not in INCLUDABLE:
            _problem(
                checker, Where(source, (str(key),)),
                f"{str(key)!r} can only be set in the main config file; an included file may hold {', '.join(INCLUDABLE)}{note}",
                key=True,
            )
    if "*" in source.text:  # aliases share containers; each part must be substituted once
        data = _unshared(data)
    return source, {k: v for k, v in data.items() if k in INCLUDABLE}


def _unshared(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _unshared(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unshared(v) for v in value]
    return value


def _problem(checker: Checker, where: Where, message: str, *, key: bool = False) -> None:
    """A problem at a place of a given file (include problems are not paths of the merged config)."""
    line = where.source.line_of(where.path, key=key)
    checker.problems.append(Problem(where.source.name, line, json_path(where.path), message))
