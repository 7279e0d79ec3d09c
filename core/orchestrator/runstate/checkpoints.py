"""Checkpoints: a phase's output, kept on disk until its pipeline succeeds.

A resumed run (``orchestrator run --resume``) starts a pipeline from its last completed phase
instead of extracting again, and a load that is run again gets exactly the batches it got before,
which is what lets an idempotent loader recognise the ones it already committed.

A checkpoint is a file of length-prefixed frames under ``<state directory>/checkpoints/<run id>/``,
named ``<pipeline>.<phase>.checkpoint`` (one folder per run, not per pipeline: creating and
removing thousands of folders costs more than the files in them): a header saying whether the phase
streamed, then one frame per batch (:mod:`orchestrator.runstate.frames`). A file is written as
``<pipeline>.<phase>.partial`` and renamed only when the phase finished, so a killed run never
leaves a checkpoint that looks complete. Frames are read back only from this directory, which the
run itself wrote.

Small outputs (most pipelines' in number, if not in bytes) are not worth a file each: creating a
file costs far more than writing a few rows into one. They are appended, in one ``write`` each, as
length-prefixed records to the run's ``small.records``; a record cut short by a crash is ignored.
A pipeline whose data must not be kept on disk sets ``checkpoint: false``.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.config.phases import EXTRACT, TRANSFORM
from orchestrator.errors import CheckpointDamaged
from orchestrator.runstate.frames import LENGTH, FrameWriter, damage, decode, encode, header, read_frame
from orchestrator.runstate.layout import run_folder

_SUFFIXES = (".checkpoint", ".partial")
#: a whole output of at most this many rows is tried as a record of the run's shared file ...
SMALL_ROWS = 10_000
#: ... and kept there when it encodes to at most this many bytes
SMALL_BYTES = 1 << 20
RECORDS = "small.records"


@dataclass(frozen=True, slots=True)
class CheckpointFolder:
    """The checkpoint store of a state directory (``<state directory>/checkpoints``), one folder
    per run: what the engine's :class:`~orchestrator.engine.ports.CheckpointStore` port is given.
    Plain data, so it ships to executors in other processes."""

    folder: Path

    def holding(self, run_id: str) -> AbstractContextManager[None]:
        return held(run_folder(self.folder, run_id))

    def recover(self, run_id: str) -> None:
        recover(run_folder(self.folder, run_id))

    def remove(self, run_id: str) -> None:
        remove_run(run_folder(self.folder, run_id))

    def pipeline(self, run_id: str, pipeline: str, *, resumed: bool) -> Checkpoints:
        return Checkpoints(run_folder(self.folder, run_id), pipeline, resumed=resumed)


class Checkpoints:
    """The checkpoints of one pipeline of one run, in the run's folder."""

    def __init__(self, directory: Path, pipeline: str, *, resumed: bool = False) -> None:
        self.directory = directory
        self.pipeline = pipeline
        # the files this pipeline may have: written by this attempt, or by an earlier one
        self.files: set[Path] = {self._path(p, s) for p in (EXTRACT, TRANSFORM) for s in _SUFFIXES} if resumed else set()
        self.recorded: set[str] = {EXTRACT, TRANSFORM} if resumed else set()
        self._found: dict[str, Any] | None = None
        self.descriptor: int | None = None

    def _path(self, phase: str, suffix: str = ".checkpoint") -> Path:
        return self.directory / f"{self.pipeline}.{phase}{suffix}"

    def complete(self, phase: str) -> bool:
        """Whether the phase's output is kept whole. A file that is not (cut short by a crash of
        the machine or a full disk) is removed, and :class:`CheckpointDamaged` says so: the
        phase then runs again, as if it had never been kept."""
        path = self._path(phase)
        if path.is_file():
            damaged = damage(path)
            if damaged is not None:
                path.unlink(missing_ok=True)
                raise CheckpointDamaged(f"the checkpoint {path} was damaged ({damaged}) and is discarded; its phase runs again")
            return True
        return phase in self._records()

    def streamed(self, phase: str) -> bool:
        """Whether the phase's output was a stream of batches (else one piece of data)."""
        if not self._path(phase).is_file():
            return False
        with self._path(phase).open("rb") as file:
            return header(file)

    def keep_whole(self, phase: str, data: Any) -> None:
        """Write a phase's whole (not streamed) output: a record when it is small, else a file."""
        if isinstance(data, (list, tuple, dict)) and len(data) <= SMALL_ROWS:
            record = encode((self.pipeline, phase, False, data))
            if len(record) <= SMALL_BYTES:
                self._append(record)
                self.recorded.add(phase)
                return
        writer = self.writer(phase, streamed=False)
        writer.add(data)
        writer.commit()

    def read(self, phase: str) -> Iterator[Any]:
        """The phase's batches, in the order they were written."""
        if not self._path(phase).is_file():
            yield self._records()[phase]
            return
        with self._path(phase).open("rb") as file:
            header(file)
            while (frame := read_frame(file)) is not None:
                yield decode(frame)

    def writer(self, phase: str, *, streamed: bool) -> FrameWriter:
        partial, final = self._path(phase, ".partial"), self._path(phase)
        self.files.update((partial, final))
        return FrameWriter(partial, final, streamed)

    def discard(self, *, again: bool = False) -> None:
        """Remove this pipeline's checkpoint files: it succeeded (its records go with the run's
        folder), or, ``again``, it starts again from its extract (its records are then marked
        forgotten, so a later resume does not take them for the new attempt's)."""
        for path in self.files:
            path.unlink(missing_ok=True)
        self.files.clear()
        if again:
            for phase in self.recorded:
                self._append(encode((self.pipeline, phase, True, None)))
            self.recorded.clear()
            self._found = None

    def _append(self, record: bytes) -> None:
        """One ``write`` on the run's append-only descriptor: records of pipelines running at the
        same time (in threads or in worker processes) never interleave."""
        if self.descriptor is None:
            self.descriptor = _acquire(self.directory)
        os.write(self.descriptor, LENGTH.pack(len(record)) + record)

    def release(self) -> None:
        """The pipeline is done writing (it ended, or goes on without checkpoints)."""
        if self.descriptor is not None:
            _release(self.directory)
            self.descriptor = None

    def _records(self) -> dict[str, Any]:
        """This pipeline's recorded outputs by phase, the last record of each winning."""
        if self._found is None:
            self._found = {}
            for pipeline, phase, forgotten, data in _read_records(self.directory / RECORDS)[0]:
                if pipeline == self.pipeline:
                    if forgotten:
                        self._found.pop(phase, None)
                    else:
                        self._found[phase] = data
        return self._found


#: the records files this process appends to: one descriptor per run, shared by its pipelines
#: (opening the file once per record cost as much as the rest of a trivial pipeline), and how
#: many pipelines use it; the last one to finish closes it
_descriptors: dict[Path, list[int]] = {}
_descriptors_lock = threading.Lock()


def _acquire(directory: Path, *, open_now: bool = True) -> int:
    """A user more of the run's descriptor, opened (with the folder) when first written to."""
    with _descriptors_lock:
        entry = _descriptors.setdefault(directory, [-1, 0])
        if open_now and entry[0] < 0:
            directory.mkdir(parents=True, exist_ok=True)
            entry[0] = os.open(directory / RECORDS, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        entry[1] += 1
        return entry[0]


@contextmanager
def held(directory: Path) -> Iterator[None]:
    """Keep the run's records file open, once a pipeline opened it, while the run goes on:
    pipelines that finish one after another then share one descriptor instead of opening the
    file each. A run that writes no record creates nothing."""
    _acquire(directory, open_now=False)
    try:
        yield
    finally:
        _release(directory)


def _release(directory: Path) -> None:
    with _descriptors_lock:
        entry = _descriptors[directory]
        entry[1] -= 1
        if entry[1] == 0:
            del _descriptors[directory]
            if entry[0] >= 0:
                os.close(entry[0])


def _read_records(path: Path) -> tuple[list[tuple[str, str, bool, Any]], int]:
    """Every complete record of a run's file, and where the complete ones end."""
    content = path.read_bytes() if path.is_file() else b""
    records, offset = [], 0
    while offset + LENGTH.size <= len(content):
        (length,) = LENGTH.unpack_from(content, offset)
        end = offset + LENGTH.size + length
        if end > len(content):  # cut short by a crash
            break
        records.append(decode(memoryview(content)[offset + LENGTH.size : end]))
        offset = end
    return records, offset


def recover(directory: Path) -> None:
    """Before a resumed run appends to its records: cut off a record the crash left half written,
    so the new ones follow the last complete record."""
    path = directory / RECORDS
    if path.is_file():
        end = _read_records(path)[1]
        if end < path.stat().st_size:
            os.truncate(path, end)


def remove_run(directory: Path) -> None:
    """Remove a run's checkpoint folder: every pipeline of the run succeeded."""
    shutil.rmtree(directory, ignore_errors=True)
