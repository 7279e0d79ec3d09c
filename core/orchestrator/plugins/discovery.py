"""Plugin discovery: entry points of installed distributions, loaded one at a time.

Each entry point in the ``orchestrator.plugins`` group is imported and registered on its own, so a
broken plugin is reported (name, distribution, version, error) and skipped while every other plugin
keeps working. The core's own built-ins arrive through the same group.

Environment:
  ``ORCHESTRATOR_LOAD_PLUGINS=a,b``     load only these (entry point or distribution names)
  ``ORCHESTRATOR_DISABLE_PLUGINS=x,y``  never load these
  ``ORCHESTRATOR_STRICT_PLUGINS=1``     any plugin problem is fatal
  ``ORCHESTRATOR_TRACE_PLUGINS=1``      print every lifecycle hook call to stderr
"""

from __future__ import annotations

import difflib
import os
import sys
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any

import pluggy

from orchestrator.config import cache
from orchestrator.config.phases import CONSUMER_HOOK, ENGINE_HOOK, EXECUTOR_HOOK, EXPORTER_HOOK, NOTIFIER_HOOK, REGISTRATION_HOOKS
from orchestrator.diagnostics import say
from orchestrator.errors import PluginError
from orchestrator.plugins import hookspecs
from orchestrator.plugins.imports import TIMEOUT_VARIABLE, BoundedImporter, ImportTimedOut
from orchestrator.plugins.registry import (
    CONSUMER,
    ENGINE,
    EXECUTOR,
    EXPORTER,
    NOTIFIER,
    Origin,
    PluginInfo,
    PluginProblem,
    Register,
    Registry,
)

ENTRY_POINT_GROUP = "orchestrator.plugins"
CORE_DISTRIBUTION = "pipeline-orchestrator"

_KIND_BY_HOOK = {hook: phase for phase, hook in REGISTRATION_HOOKS.items()} | {
    EXECUTOR_HOOK: EXECUTOR,
    NOTIFIER_HOOK: NOTIFIER,
    CONSUMER_HOOK: CONSUMER,
    EXPORTER_HOOK: EXPORTER,
    ENGINE_HOOK: ENGINE,
}
#: where a plugin's listing keeps the names of each kind that is not a phase's steps
_LISTED = {EXECUTOR: "executors", NOTIFIER: "notifiers", CONSUMER: "consumers", EXPORTER: "exporters", ENGINE: "engines"}
_KNOWN_HOOKS = [name for name in dir(hookspecs) if hasattr(getattr(hookspecs, name), "orchestrator_spec")]


class Plugins:
    """The loaded plugin manager (for lifecycle hooks) together with the registry it filled."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self.env = os.environ if env is None else env
        self.manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.manager.add_hookspecs(hookspecs)
        self.registry = Registry()
        self.from_entry_points: set[str] = set()  # plugins a worker process can load too
        self.hook = self.manager.hook
        self.tracing = _flag(self.env, "ORCHESTRATOR_TRACE_PLUGINS")
        if self.tracing:
            self.manager.add_hookcall_monitoring(_trace_before, _trace_after)

    @property
    def strict(self) -> bool:
        return _flag(self.env, "ORCHESTRATOR_STRICT_PLUGINS")

    def load_entry_points(self) -> Plugins:
        """Discover and register every allowed entry point of the group."""
        allow = _names(self.env.get("ORCHESTRATOR_LOAD_PLUGINS"))
        deny = _names(self.env.get("ORCHESTRATOR_DISABLE_PLUGINS")) or set()
        importer = BoundedImporter(self.env)
        for origin, reference in installed_entry_points():
            names = {origin.plugin, origin.distribution}
            if (allow is not None and not names & allow) or names & deny:
                continue
            try:
                module = importer.load(reference, f"{origin.plugin!r} of {origin.distribution} {origin.version}")
            except ImportTimedOut as exc:
                self._problem(origin, str(exc))
                continue
            except Exception as exc:  # noqa: BLE001 - a plugin's import can raise anything
                self._problem(origin, f"failed to import {reference!r}: {_describe(exc)}")
                continue
            if self.add(module, origin):
                self.from_entry_points.add(origin.plugin)
        return self

    def add(self, plugin: ModuleType | object, origin: Origin) -> bool:
        """Register one plugin object and run its registration hooks. Returns False (after
        recording the problem) when the plugin is broken; nothing it registered is kept then."""
        if self.manager.has_plugin(origin.plugin):
            self._problem(origin, f"a plugin named {origin.plugin!r} is already loaded")
            return False
        try:
            self.manager.register(plugin, name=origin.plugin)
            callers = self.manager.get_hookcallers(plugin) or []
            _check_known_hooks(callers)
            hooks = sorted(caller.name for caller in callers)
            info = PluginInfo(origin.plugin, origin.distribution, origin.version, hooks)
            for hook_name in hooks:
                kind = _KIND_BY_HOOK.get(hook_name)
                if kind is None:
                    continue
                register = Register(self.registry, kind, origin)
                self._call_registration(hook_name, plugin, register)
                if kind in _LISTED:
                    setattr(info, _LISTED[kind], sorted(register.names))
                else:
                    info.steps[kind] = sorted(register.names)
        except (PluginError, pluggy.PluginValidationError) as exc:
            self.registry.remove_origin(origin.plugin)
            if self.manager.is_registered(plugin):
                self.manager.unregister(plugin)
            self._problem(origin, _describe(exc))
            return False
        self.registry.plugins.append(info)
        return True

    def _call_registration(self, hook_name: str, plugin: object, register: Register) -> None:
        for impl in getattr(self.hook, hook_name).get_hookimpls():
            if impl.plugin is plugin:
                try:
                    impl.function(register=register)
                except PluginError:
                    raise
                except Exception as exc:
                    raise PluginError(f"{hook_name} raised {_describe(exc)}") from exc

    def _problem(self, origin: Origin, error: str) -> None:
        problem = PluginProblem(origin.plugin, origin.distribution, origin.version, error)
        if self.strict:
            raise PluginError(f"{problem} (ORCHESTRATOR_STRICT_PLUGINS is set)")
        self.registry.problems.append(problem)


def _check_known_hooks(callers: list[Any]) -> None:
    """pluggy accepts hookimpls without a spec until ``check_pending``; a typo in a hook name
    would then be silently ignored, so reject them here, per plugin."""
    for caller in callers:
        if caller.spec is None:
            close = difflib.get_close_matches(caller.name, _KNOWN_HOOKS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise PluginError(f"implements unknown hook {caller.name!r}{hint}")


def load_plugins(env: Mapping[str, str] | None = None) -> Plugins:
    """Discover installed plugins: the one entry the CLI and the engine use."""
    return Plugins(env).load_entry_points()


#: The environment variables that decide which plugins load, and how; a worker is shipped them so it
#: loads the same plugins, and :func:`shared_plugins` loads again when one of them changes.
PLUGIN_VARIABLES = (
    "ORCHESTRATOR_LOAD_PLUGINS",
    "ORCHESTRATOR_DISABLE_PLUGINS",
    "ORCHESTRATOR_STRICT_PLUGINS",
    "ORCHESTRATOR_TRACE_PLUGINS",
    TIMEOUT_VARIABLE,
)

#: the plugins :func:`shared_plugins` loaded, by plugin selection: the fingerprint of the
#: installation they were loaded from, and the plugins (a new fingerprint replaces the entry)
_shared: dict[tuple[tuple[str, str], ...], tuple[str, Plugins]] = {}


def shared_plugins(env: Mapping[str, str] | None = None) -> Plugins:
    """The plugins of this process for the plugin selection of ``env`` (of ``os.environ`` by
    default: the :data:`PLUGIN_VARIABLES` set there), loaded on the first call and shared by the
    runs the process starts after it. An engine's worker runs a pipeline per task call, through
    ``orchestrator.run``; loading the plugins again for each would cost every task as much as a
    small pipeline.

    Sharing is safe because a load depends only on what the key holds, and nothing changes the
    plugins once loaded: the key is the plugin variables and the fingerprint of ``sys.path`` (a
    distribution installed or removed changes it, and the next call loads afresh, as the cached
    scan of entry points does); a plugin module is imported once per process in any case, so a new
    load would only register the same modules again; and a run reads the registry and calls hooks,
    never registers (only :class:`Plugins` itself does, while loading). What reloads plugins on
    purpose keeps its own :func:`load_plugins`: ``orchestrator serve`` loads them once when it
    starts, and the test kit's fixtures, which add plugins to theirs, load fresh ones per test."""
    source = os.environ if env is None else env
    selection = {name: source[name] for name in PLUGIN_VARIABLES if name in source}
    key = tuple(sorted(selection.items()))
    fingerprint = cache.path_fingerprint()
    found = _shared.get(key)
    if found is None or found[0] != fingerprint:
        found = _shared[key] = (fingerprint, load_plugins(selection))
    return found[1]


def installed_entry_points() -> list[tuple[Origin, str]]:
    """Every ``orchestrator.plugins`` entry point as (origin, ``module[:attr]``), the core's own
    first and the rest in a deterministic order, so a name clash always rejects the same plugin.

    The scan is cached (see :mod:`orchestrator.config.cache`) until a ``sys.path`` directory changes."""
    name = f"entry-points-{(cache.digest(sys.executable, sys.path) or '')[:16]}.json"
    key = cache.path_fingerprint()
    cached = cache.read_json(name)
    if isinstance(cached, dict) and cached.get("key") == key:
        return [(Origin(*origin), reference) for origin, reference in cached["entries"]]
    from importlib.metadata import entry_points

    found = []
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        dist = entry_point.dist
        origin = Origin(entry_point.name, dist.name, dist.version) if dist else Origin(entry_point.name, "<unknown>", "?")
        found.append((origin, entry_point.value))
    found.sort(key=lambda item: (item[0].distribution != CORE_DISTRIBUTION, item[0].distribution, item[0].plugin))
    cache.write_json(name, {"key": key, "entries": [[[o.plugin, o.distribution, o.version], ref] for o, ref in found]})
    return found


def _names(value: str | None) -> set[str] | None:
    """The names in a comma-separated variable; None when it is unset or empty."""
    names = {part.strip() for part in (value or "").split(",") if part.strip()}
    return names or None


def _flag(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _trace_before(hook_name: str, hook_impls: Sequence[pluggy.HookImpl], kwargs: Mapping[str, Any]) -> None:
    names = ", ".join(impl.plugin_name for impl in hook_impls) or "no implementations"
    say(f"[hook] {hook_name}({', '.join(sorted(kwargs))}) -> {names}", "debug")


def _trace_after(outcome: pluggy.Result[Any], hook_name: str, hook_impls: Sequence[pluggy.HookImpl], kwargs: Mapping[str, Any]) -> None:
    if outcome.exception is not None:
        say(f"[hook] {hook_name} raised {_describe(outcome.exception)}", "debug")
