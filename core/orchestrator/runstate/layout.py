"""Where everything a run leaves on disk lives: the only module that decides a path.

The *state directory* of a pipeline file holds its runs' files::

    <state directory>/state.db                              the run history (the default SQLite store)
    <state directory>/checkpoints/<run id>/                 what ``--resume`` continues from
    <state directory>/dead-letters/<run id>/<pipeline>.jsonl  the rows steps dead-lettered

and, beside the pipeline file, ``.orchestrator/handoff/<run id>/<pipeline>.rows``: the rows a
pipeline hands to a ``foreach: {from: ...}`` or an ``extract: {from: ...}`` (:func:`handoff_file`).

and a config given to :func:`orchestrator.run` as a mapping is written, as YAML, to
``.orchestrator/configs/<digest>.yaml`` under its ``base_dir`` (the history records a run's config
by its file).

It is the folder of the SQLite history file (``.orchestrator`` beside the pipeline file unless
``state:`` names another file), else ``.orchestrator`` beside the pipeline file: for a server-side
history (PostgreSQL), whose runs' files still live on the machine that ran them, and, for dead
letters only, with ``state: off`` (checkpoints are not kept without a history to resume from).
How files are named inside a run's folder is the business of the module that writes them
(:mod:`~orchestrator.runstate.checkpoints`, :mod:`~orchestrator.runstate.deadletters`).

A run id names a folder (``checkpoints/<run id>``, ``dead-letters/<run id>``), so an id is checked
here, once, before it is joined into a path: :func:`run_folder` is the only way a run's folder is
made, and :func:`check_run_id` is what ``--resume``, ``--replay-dead-letters``, ``orchestrator runs
show``, ``--run-id`` and the Python API's ``run_id=`` call on what they are given
(``../../elsewhere`` would otherwise read or write outside the state directory);
:func:`run_id_from` makes a valid one out of an engine's names, for adapters.

Plain path arithmetic on purpose: the plan model reads :data:`DEFAULT_STATE` from here, so this
module imports nothing of the project.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from pathlib import Path

#: the folder beside a pipeline file that holds its runs' files unless ``state:`` says otherwise
STATE_DIR = ".orchestrator"
SQLITE = "sqlite:///"
POSTGRES = ("postgresql://", "postgres://")
OFF = "off"
#: ``state:`` when the config does not say: a SQLite file in :data:`STATE_DIR`
DEFAULT_STATE = f"{SQLITE}{STATE_DIR}/state.db"
CHECKPOINTS = "checkpoints"
#: configs given to :func:`orchestrator.run` as mappings, each written to a file of its own
MAPPING_CONFIGS = "configs"
DEAD_LETTERS = "dead-letters"
#: the rows pipelines hand to ``foreach: {from: ...}`` and ``extract: {from: ...}``, by run
HANDOFF = "handoff"

#: a valid run id: letters, digits, ``-``, ``_`` and ``.``, starting with a letter or digit, at
#: most 128 characters; no separator, nothing a shell or a file system treats specially
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_MAX_RUN_ID = 128
_NOT_IN_RUN_ID = re.compile(r"[^A-Za-z0-9._-]")
RUN_ID_RULE = "letters, digits, '-', '_' and '.', starting with a letter or digit, at most 128 characters"


class RunIdError(ValueError):
    """A run id that cannot name a run's folder; the message quotes it and says what an id is."""


def valid_run_id(run_id: str) -> bool:
    """Whether ``run_id`` is a valid run id (one read back from a history may predate the rule)."""
    return isinstance(run_id, str) and _RUN_ID.fullmatch(run_id) is not None


def check_run_id(run_id: str) -> str:
    """``run_id`` when it is a valid run id, else :class:`RunIdError`."""
    if not valid_run_id(run_id):
        raise RunIdError(f"{run_id!r} is not a run id (a run id is {RUN_ID_RULE})")
    return run_id


def run_id_from(*parts: str) -> str:
    """A valid run id made of an engine's own names (a DAG id, the engine's run id, a pipeline),
    the same for the same parts every time, so an engine's retry of a task finds the run it
    continues. Parts are joined with ``.``; a part with characters a run id cannot hold (the
    ``:`` and ``+`` of a timestamp) has each replaced with ``-``, and the id then ends with a
    digest of the parts as given, so two different inputs never meet in one id. Too long an id is
    cut to fit, before its digest."""
    if not parts or not all(parts):
        raise RunIdError(f"a run id needs non-empty parts, got {parts!r}")
    joined = ".".join(parts)
    if valid_run_id(joined):
        return joined
    digest = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:10]
    cleaned = _NOT_IN_RUN_ID.sub("-", joined).lstrip("-._") or "run"
    return f"{cleaned[: _MAX_RUN_ID - len(digest) - 1]}-{digest}"


@lru_cache(maxsize=256)
def run_folder(folder: Path, run_id: str) -> Path:
    """The folder of run ``run_id`` in a checkpoint or dead-letter ``folder``; the id is checked
    (:class:`RunIdError`), so the folder is always directly inside ``folder``. Kept for the run's
    ids: each pipeline of a run asks for the same folder, and checking the id and joining the path
    cost as much as the rest of keeping a small pipeline's checkpoint."""
    return folder / check_run_id(run_id)


def sqlite_file(state: str, base_dir: Path) -> Path | None:
    """The database file a ``sqlite:///PATH`` URL names (relative paths start at ``base_dir``, the
    pipeline file's folder); None for any other ``state:``."""
    if not state.startswith(SQLITE):
        return None
    return base_dir / state.removeprefix(SQLITE)


def state_directory(state: str, base_dir: Path) -> Path | None:
    """The state directory of the runs of a pipeline file in ``base_dir`` whose ``state:`` is
    ``state``; None when the history is off."""
    if state == OFF:
        return None
    database = sqlite_file(state, base_dir)
    return database.parent if database is not None else base_dir / STATE_DIR


def checkpoint_folder(state: str, base_dir: Path) -> Path | None:
    """Where the runs keep checkpoints; None when the history is off (nothing could resume them)."""
    directory = state_directory(state, base_dir)
    return None if directory is None else directory / CHECKPOINTS


def dead_letter_folder(state: str, base_dir: Path) -> Path:
    """Where the runs' dead letters go; with the history off, under ``.orchestrator`` beside the
    pipeline file (a rejected row is never dropped for want of a history)."""
    return (state_directory(state, base_dir) or base_dir / STATE_DIR) / DEAD_LETTERS


def recorded_state_directory(database: Path | None, config: str) -> Path:
    """The state directory of a run read back from a history: the folder of the SQLite file it was
    recorded in (``database``), else ``.orchestrator`` beside the run's pipeline file ``config``."""
    return database.parent if database is not None else Path(config).parent / STATE_DIR


def recorded_dead_letter_folder(database: Path | None, config: str) -> Path:
    """Where the dead letters of a run read back from a history are (see
    :func:`recorded_state_directory`)."""
    return recorded_state_directory(database, config) / DEAD_LETTERS


def handoff_file(base_dir: Path, run_id: str, pipeline: str) -> Path:
    """Where a pipeline keeps the rows it hands to a ``foreach: {from: ...}`` or an ``extract:
    {from: ...}`` in run ``run_id``: ``.orchestrator/handoff/<run id>/<pipeline>.rows`` beside the
    pipeline file (whatever ``state:`` says, as a worker or a later ``--only`` run of a taker finds
    it there), kept until the run succeeded, so a resume takes the same rows."""
    return handoff_run_folder(base_dir, run_id) / f"{pipeline}.rows"


def handoff_run_folder(base_dir: Path, run_id: str) -> Path:
    return run_folder(base_dir / STATE_DIR / HANDOFF, run_id)


def mapping_config_file(base_dir: Path, digest: str) -> Path:
    """The file a config given as a mapping is written to, named by (a digest of) its content, so
    the same mapping is the same config file, and ``--resume`` finds its runs."""
    return base_dir / STATE_DIR / MAPPING_CONFIGS / f"{digest[:16]}.yaml"
