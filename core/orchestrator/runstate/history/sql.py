"""The run history in a SQL database: one store class, put together from its connection and
batching (:mod:`.store`), its recording of a run's events (:mod:`.recording`) and its reads
(:mod:`.reading`). SQLite and PostgreSQL subclass it to say how to connect.
"""

from __future__ import annotations

from orchestrator.errors import OrchestratorError
from orchestrator.runstate.history.reading import Reading
from orchestrator.runstate.history.recording import Recording


class StateError(OrchestratorError):
    """The state store cannot be opened: the message names it (its password masked) and says why."""


class SQLState(Recording, Reading):
    """Records a run's events into a SQL database and answers what earlier runs did."""
