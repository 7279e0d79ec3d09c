"""Exception types the core raises and documents for plugin authors.

Anything derived from :class:`OrchestratorError` is an expected failure: the CLI prints its message
as one line, never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass


class OrchestratorError(Exception):
    """Base of every error the core expects and reports without a traceback."""


class PluginError(OrchestratorError):
    """A plugin could not be loaded or registered something invalid."""


class StepError(OrchestratorError):
    """Raised by a step for a failure the user can act on (missing file, bad SQL, HTTP 404).

    The engine reports it as one line naming the pipeline, the step and the plugin.
    """


class NotificationError(OrchestratorError):
    """Raised by a notification channel that could not send (server unreachable, refused, slow).

    ``orchestrator run`` prints its message as the reason in a warning naming the channel.
    """


def describe(exc: BaseException) -> str:
    """One line for an exception: our own errors by message, others with their type."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, OrchestratorError):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """One thing wrong with a config file, located as precisely as the file allows."""

    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ConfigError(OrchestratorError):
    """The config (or the command line) is wrong; carries every problem found, in file order."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.path))
        super().__init__("\n".join(str(p) for p in self.problems))


class CheckpointDamaged(OrchestratorError):
    """A checkpoint a resume would read back is not whole (a crash of the machine, a full disk):
    it was discarded, and the phase that wrote it runs again."""
