"""What plugins registered: step, executor, notification channel, exporter and engine entries, who
registered them, and lookups by name.

The registry is filled through :class:`Register` callbacks (one per plugin and hook), so the core
always knows which distribution a name came from and can report clashes with both names in hand.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from orchestrator.errors import PluginError

EXECUTOR = "executor"
NOTIFIER = "notifier"
#: a consumer of every event of a run
CONSUMER = "event consumer"
#: an ``orchestrator export`` subcommand
EXPORTER = "exporter"
#: an orchestration engine an adapter runs pipeline files on
ENGINE = "engine"
#: the kinds that are not steps (messages name them alone, not as a phase's step)
NOT_STEPS = (EXECUTOR, NOTIFIER, CONSUMER, EXPORTER, ENGINE)


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a registration came from: the entry point's name and its distribution."""

    plugin: str
    distribution: str
    version: str

    def __str__(self) -> str:
        return f"{self.distribution} {self.version} (plugin {self.plugin!r})"


@dataclass(slots=True, eq=False)
class Registration:
    """One registered step, executor or notification channel. ``target`` may be a ``"module:attr"`` string, imported on
    first use so that plugin modules stay cheap to import."""

    name: str
    kind: str
    target: Callable[..., Any] | str
    schema: dict[str, Any] | None
    description: str
    origin: Origin

    def resolve(self) -> Callable[..., Any]:
        """The callable behind this registration, importing it the first time."""
        target = self.target
        if isinstance(target, str):
            target = self.target = import_object(target, what=f"{self.kind} {self.name!r}")
        return target


def import_object(reference: str, *, what: str) -> Any:
    """Import ``"package.module:attr.sub"`` and return the attribute."""
    module_name, _, attr_path = reference.partition(":")
    if not module_name or not attr_path:
        raise PluginError(f"{what}: {reference!r} is not of the form 'package.module:attribute'")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr_path.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise PluginError(f"{what}: cannot import {reference!r}: {exc}") from exc
    return obj


class Register:
    """The callback handed to a registration hook: ``register(name, target, schema=, description=)``."""

    __slots__ = ("_kind", "_origin", "_registry", "names")

    def __init__(self, registry: Registry, kind: str, origin: Origin) -> None:
        self._registry = registry
        self._kind = kind
        self._origin = origin
        self.names: list[str] = []  # what this callback registered, for listings

    def __call__(
        self,
        name: str,
        target: Callable[..., Any] | str,
        *,
        schema: dict[str, Any] | None = None,
        description: str = "",
    ) -> None:
        if not isinstance(name, str) or not name:
            raise PluginError(f"{self._origin}: registered a {self._kind} with name {name!r}")
        if not (callable(target) or isinstance(target, str)):
            raise PluginError(
                f"{self._origin}: {self._kind} {name!r} must be a callable or a 'module:attr' string"
            )
        self._registry.add(Registration(name, self._kind, target, schema, description, self._origin))
        self.names.append(name)


@dataclass(slots=True)
class PluginInfo:
    """One loaded plugin, as ``orchestrator plugins`` lists it."""

    name: str
    distribution: str
    version: str
    hooks: list[str]
    steps: dict[str, list[str]] = field(default_factory=dict)
    executors: list[str] = field(default_factory=list)
    notifiers: list[str] = field(default_factory=list)
    consumers: list[str] = field(default_factory=list)
    exporters: list[str] = field(default_factory=list)
    engines: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PluginProblem:
    """A plugin that failed to load or register, with the reason."""

    plugin: str
    distribution: str
    version: str
    error: str

    def __str__(self) -> str:
        return f"plugin {self.plugin!r} from {self.distribution} {self.version}: {self.error}"


class Registry:
    """Registered steps, one namespace per phase, executors and notification channels, plus load
    problems and clashes.

    A name is unique within its phase: ``python.call`` may exist in all four phases, while two
    plugins both registering the load step ``sqlite.write`` is a clash.
    """

    def __init__(self) -> None:
        self.tables: dict[str, dict[str, Registration]] = {}
        self.plugins: list[PluginInfo] = []
        self.problems: list[PluginProblem] = []
        self.clashes: dict[tuple[str, str], list[Origin]] = {}

    def add(self, entry: Registration) -> None:
        table = self.tables.setdefault(entry.kind, {})
        existing = table.get(entry.name)
        if existing is None:
            table[entry.name] = entry
            return
        self.clashes.setdefault((entry.kind, entry.name), [existing.origin]).append(entry.origin)
        raise PluginError(
            f"{entry.kind} step {entry.name!r} is registered by both {existing.origin} and "
            f"{entry.origin}; uninstall one of them or disable one with "
            f"ORCHESTRATOR_DISABLE_PLUGINS={entry.origin.plugin}"
            if entry.kind not in NOT_STEPS
            else f"{entry.kind} {entry.name!r} is registered by both {existing.origin} and {entry.origin}"
        )

    def get(self, kind: str, name: str) -> Registration | None:
        return self.tables.get(kind, {}).get(name)

    def kinds_of(self, name: str) -> list[str]:
        """Every phase (or ``"executor"``, ``"notifier"``, ``"exporter"``, ``"engine"``) that has a registration under this name."""
        return [kind for kind, table in self.tables.items() if name in table]

    def remove_origin(self, plugin: str) -> None:
        """Drop everything a plugin registered (used when its registration hook failed)."""
        for table in self.tables.values():
            for name in [n for n, e in table.items() if e.origin.plugin == plugin]:
                del table[name]

    def names(self, kind: str, plugin: str | None = None) -> list[str]:
        """Registered names of one phase (or another kind), sorted; only one plugin's if given."""
        return sorted(
            name
            for name, entry in self.tables.get(kind, {}).items()
            if plugin is None or entry.origin.plugin == plugin
        )

    def fingerprint(self) -> list[tuple[str, str, str, str, Any]]:
        """Everything validation depends on: each registration, where it came from, its schema."""
        return sorted(
            ((kind, name, e.origin.distribution, e.origin.version, e.schema) for kind, table in self.tables.items() for name, e in table.items()),
            key=lambda item: item[:2],
        )

    def suggest(self, name: str, kind: str) -> str | None:
        """The closest registered name of that kind, for "did you mean" messages."""
        matches = difflib.get_close_matches(name, self.names(kind), n=1, cutoff=0.5)
        return matches[0] if matches else None
