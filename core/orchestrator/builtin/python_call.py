"""``python.call``: run a ``module:function`` from the user's project in any phase.

The module is imported from the pipeline file's directory. Its function may be sync (it then runs
in a worker thread) or async, and receives ``context=`` when it declares a ``context`` parameter.

- extract: ``fn(**kwargs)`` returns data, or an iterator / async iterator of batches
- transform: ``fn(data, **kwargs)`` returns the new data (called once per batch)
- load: ``fn(batch, **kwargs)`` for every batch; returns rows written, or None to count the batch
- transform_at_load: ``fn(**kwargs)``
"""

from __future__ import annotations

import importlib
import inspect
import sys
import threading
from collections.abc import AsyncIterable, Callable
from functools import partial
from pathlib import Path
from typing import Any

from orchestrator.context import StepContext
from orchestrator.daemon_threads import on_daemon_thread
from orchestrator.engine.usage import ACCOUNTING, metered_call
from orchestrator.errors import StepError

_import_lock = threading.Lock()


async def extract(ctx: StepContext, callable: str, kwargs: dict[str, Any] | None = None) -> Any:
    return await _invoke(ctx, callable, (), kwargs)


async def transform(ctx: StepContext, data: Any, callable: str, kwargs: dict[str, Any] | None = None) -> Any:
    return await _invoke(ctx, callable, (data,), kwargs)


async def load(
    ctx: StepContext, batches: AsyncIterable[Any], callable: str, kwargs: dict[str, Any] | None = None
) -> int:
    rows = 0
    async for batch in batches:
        written = await _invoke(ctx, callable, (batch,), kwargs)
        if isinstance(written, int) and not isinstance(written, bool):
            rows += written
        else:
            rows += len(batch) if hasattr(batch, "__len__") else 1
    return rows


async def transform_at_load(ctx: StepContext, callable: str, kwargs: dict[str, Any] | None = None) -> Any:
    return await _invoke(ctx, callable, (), kwargs)


async def _invoke(ctx: StepContext, reference: str, args: tuple[Any, ...], kwargs: dict[str, Any] | None) -> Any:
    function, wants_context, kind = resolve(reference, ctx.base_dir)
    call_kwargs = {**(kwargs or {}), "context": ctx} if wants_context else (kwargs or {})
    if kind is _COROUTINE:
        return await function(*args, **call_kwargs)
    if kind is _ASYNC_GENERATOR:
        return function(*args, **call_kwargs)
    # abandoned when cancelled (a timeout, a failed sibling): the user's code finishes on its own,
    # on a daemon thread, which the process does not wait for when it exits; its CPU time is the step's
    call: Callable[[], Any] = partial(function, *args, **call_kwargs)
    return await on_daemon_thread(metered_call(call, ctx) if ACCOUNTING.on else call)


#: how a resolved function is called, decided once (inspecting it on every call of a step that
#: runs per batch, or in each of a thousand pipelines, cost more than the call)
_COROUTINE, _ASYNC_GENERATOR, _SYNC = "coroutine", "async generator", "sync"

_resolved: dict[tuple[Path, str], tuple[Callable[..., Any], bool, str]] = {}


def resolve(reference: str, base_dir: Path) -> tuple[Callable[..., Any], bool, str]:
    """The function behind ``module:function`` (imported from ``base_dir``), whether it takes
    ``context``, and its kind (coroutine function, async generator function, or sync). Cached per
    pipeline directory, so two projects' same-named modules never mix."""
    key = (base_dir, reference)
    found = _resolved.get(key)
    if found is None:
        with _import_lock:
            function = _import(reference, base_dir)
            try:
                parameters = inspect.signature(function).parameters
            except (TypeError, ValueError):
                parameters = {}  # type: ignore[assignment]
            kind = (
                _COROUTINE if inspect.iscoroutinefunction(function)
                else _ASYNC_GENERATOR if inspect.isasyncgenfunction(function)
                else _SYNC
            )
            found = _resolved[key] = (function, "context" in parameters, kind)
    return found


def _import(reference: str, base_dir: Path) -> Callable[..., Any]:
    module_name, _, attr_path = reference.partition(":")
    top = module_name.split(".")[0]
    local = (base_dir / f"{top}.py").exists() or (base_dir / top / "__init__.py").exists()
    if local and top in sys.stdlib_module_names:
        raise StepError(
            f"{base_dir / top} has the name of a standard library module ({top!r}), which it would hide "
            "from everything else in the run; rename it"
        )
    if local:
        _forget_other_copies(top, base_dir)
        if sys.path[:1] != [str(base_dir)]:
            if str(base_dir) in sys.path:
                sys.path.remove(str(base_dir))
            sys.path.insert(0, str(base_dir))
    try:
        obj: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise StepError(
            f"cannot import module {module_name!r} ({exc.msg}); it is looked up next to the pipeline file, in {base_dir}"
        ) from None
    for part in attr_path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise StepError(f"module {module_name!r} has no attribute {attr_path!r}") from None
    if not callable(obj):
        raise StepError(f"{reference!r} is not callable")
    function: Callable[..., Any] = obj
    return function


def _forget_other_copies(top: str, base_dir: Path) -> None:
    """Drop an already-imported module of the same name that lives in another directory."""
    loaded = sys.modules.get(top)
    location = getattr(loaded, "__file__", None)
    if loaded is not None and location and not Path(location).resolve().is_relative_to(base_dir.resolve()):
        for name in [n for n in sys.modules if n == top or n.startswith(top + ".")]:
            del sys.modules[name]

