"""The run history in a SQL database: one store class, put together from its connection and
batching (:mod:`.store`), its recording of a run's events (:mod:`.recording`), its reads
(:mod:`.reading`) and its per-pipeline statistics (:mod:`.stats`). SQLite and PostgreSQL subclass
it to say how to connect.
"""

from __future__ import annotations

from orchestrator.errors import OrchestratorError
from orchestrator.runstate.history.reading import Reading
from orchestrator.runstate.history.recording import Recording
from orchestrator.runstate.history.stats import Stats


class StateError(OrchestratorError):
    """The state store cannot be opened: the message names it (its password masked) and says why."""


class SQLState(Recording, Reading, Stats):
    """Records a run's events into a SQL database and answers what earlier runs did."""
