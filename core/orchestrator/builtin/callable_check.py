"""``python.call``'s ``callable:`` checked before anything runs: the module imports, the function
exists and can be called, with the closest name when it does not.

``orchestrator validate`` and ``orchestrator run`` (and :func:`orchestrator.run`) import each
module the way the step will (:func:`orchestrator.builtin.python_call.resolve`, from the pipeline
file's folder), so a typo (``transforms:clen``), a missing module or a module that raises at
import is a validation error located at the ``callable:`` key, not a failure of the second
pipeline after the first one loaded. The import happens once, in this process, and the step
reuses it (python.call keeps what it resolved); a callable found good is remembered in the
start-up cache under the module file's modification time and size (for an installed module, the
``sys.path`` folders' times), so a warm ``validate`` of a config whose modules did not change
imports nothing. See docs/design/decisions.md ("Start-up").
"""

from __future__ import annotations

import difflib
import traceback
from collections.abc import Iterator
from pathlib import Path

from orchestrator.config import cache
from orchestrator.config.model import Plan, StepSpec
from orchestrator.errors import ConfigError, Problem
from orchestrator.version import __version__

PYTHON_CALL = "python.call"


def check_callables(plan: Plan) -> None:
    """Import every ``python.call`` step's callable; :class:`ConfigError` lists each that cannot
    be, at its ``callable:`` line."""
    found: list[tuple[list[str | int], str]] = []
    for path, reference in _references(plan):
        key = _cache_key(plan.base_dir, reference)
        if key is not None and cache.is_known_valid(key):
            continue
        problem = _problem(reference, plan.base_dir)
        if problem is None:
            if key is not None:
                cache.remember_valid(key)
        else:
            found.append((path, problem))
    if found:
        from orchestrator.config.yamlsource import YamlSource, json_path

        source = YamlSource.read(plan.source)
        raise ConfigError([Problem(source.name, source.line_of(path), json_path(path), message) for path, message in found])


def _references(plan: Plan) -> Iterator[tuple[list[str | int], str]]:
    """(path of the ``callable:`` key, its value) of every python.call step, once per distinct
    callable (the first place it is written)."""
    seen: set[str] = set()
    for name, spec in plan.pipelines.items():
        for phase, steps in spec.phases.items():
            for index, step in enumerate(steps):
                reference = _reference(step)
                if reference is not None and reference not in seen:
                    seen.add(reference)
                    yield ["pipelines", name, "phases", phase, "steps", index, "args", "callable"], reference


def _reference(step: StepSpec) -> str | None:
    value = step.args.get("callable") if step.plugin == PYTHON_CALL else None
    return value if isinstance(value, str) else None


def _problem(reference: str, base_dir: Path) -> str | None:
    """What is wrong with ``reference``, or None when it resolves to a callable."""
    from orchestrator.builtin.python_call import resolve
    from orchestrator.errors import StepError

    module_name, colon, attribute = reference.partition(":")
    if not colon or not module_name or not attribute:
        return f"{reference!r} is not module:function (for example transforms:clean)"
    try:
        resolve(reference, base_dir)
    except StepError as exc:
        return _with_suggestion(str(exc), module_name, attribute, base_dir)
    except Exception as exc:  # noqa: BLE001 - the module itself raised while importing: say where
        return f"importing {module_name!r} raised {type(exc).__name__}: {exc}{_where(exc, base_dir)}"
    return None


def _with_suggestion(message: str, module_name: str, attribute: str, base_dir: Path) -> str:
    """The step's own message, with the closest name that exists."""
    import sys

    if message.startswith("cannot import module"):
        # where it was looked for, said without the absolute folder (the config's own is meant)
        message = message.replace(f", in {base_dir}", " and among the installed packages")
        names = [p.stem for p in base_dir.glob("*.py")] + [p.parent.name for p in base_dir.glob("*/__init__.py")]
        if module_name.split(".")[0] in names:  # the module is there: what it imports is missing
            return message
        close = difflib.get_close_matches(module_name, names, n=1)
        return f"{message}; did you mean {close[0]!r}?" if close else message
    if message.startswith(f"module {module_name!r} has no attribute"):
        module = sys.modules.get(module_name)
        owner_path, _, last = attribute.rpartition(".")
        owner = module
        for part in owner_path.split(".") if owner_path else ():
            owner = getattr(owner, part, None)
        names = [n for n in dir(owner) if not n.startswith("_") and callable(getattr(owner, n, None))]
        close = difflib.get_close_matches(last, names, n=1)
        if close:
            return f"{message}; did you mean '{module_name}:{owner_path + '.' if owner_path else ''}{close[0]}'?"
    return message


def _where(exc: BaseException, base_dir: Path) -> str:
    """`` (at FILE:LINE)``: the innermost line of the project's own code that the import went
    through (a file relative to the pipeline's folder), else the innermost line at all."""
    root = base_dir.resolve()
    if isinstance(exc, SyntaxError) and exc.filename:
        places = [(exc.filename, exc.lineno)]
    else:
        places = [(frame.filename, frame.lineno) for frame in traceback.extract_tb(exc.__traceback__)]
    own = [(Path(file).relative_to(root), line) for file, line in places if Path(file).is_relative_to(root)]
    file, line = (own or places or [(None, None)])[-1]
    return "" if file is None else f" (at {file}:{line})"


def _cache_key(base_dir: Path, reference: str) -> str | None:
    """What a good callable is remembered under: the module's own file (its time and size) when
    it is the project's, else the ``sys.path`` folders (an installed package changed)."""
    if not cache.enabled():
        return None
    module_name = reference.partition(":")[0]
    parts = module_name.split(".")
    for candidate in (base_dir.joinpath(*parts).with_suffix(".py"), base_dir.joinpath(*parts, "__init__.py")):
        try:
            stat = candidate.stat()
        except (OSError, ValueError):
            continue
        return cache.digest("callable", __version__, str(base_dir), reference, str(candidate), stat.st_mtime_ns, stat.st_size)
    return cache.digest("callable", __version__, str(base_dir), reference, cache.path_fingerprint())
