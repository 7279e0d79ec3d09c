"""Files of frames: the on-disk format of checkpoints (:mod:`orchestrator.runstate.checkpoints`)
and of the rows one pipeline hands to another (``extract: {from: ...}``).

A file is a header frame (a marker and whether its content streamed), then one length-prefixed
frame per batch. A batch of plain data (rows of strings, numbers, ``None``) is written with
:mod:`marshal`, which is several times faster than pickle for it; anything else (dates, decimals,
Arrow tables) with pickle, protocol 5, so every value comes back with its type. A file is written
as a ``.partial`` and renamed only when complete, so a killed run never leaves one that looks
whole. Frames are read back only from the state folders a run itself wrote.
"""

from __future__ import annotations

import marshal
import os
import pickle
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

HEADER = "orchestrator-checkpoint-2"
LENGTH = struct.Struct("<Q")
_MARSHAL, _PICKLE = b"M", b"P"


class FrameWriter:
    """Appends batches to a ``.partial`` file; :meth:`commit` renames it to its final name."""

    def __init__(self, partial: Path, final: Path, streamed: bool) -> None:
        self.partial, self.final, self.streamed = partial, final, streamed
        self.file: IO[bytes] | None = None
        self.plain = True  # until a batch is not: then the others are not tried with marshal either

    def _open(self) -> IO[bytes]:
        if self.file is None:
            self.partial.parent.mkdir(parents=True, exist_ok=True)
            self.file = self.partial.open("wb")
            write_frame(self.file, encode((HEADER, self.streamed)))
        return self.file

    def add(self, batch: Any) -> None:
        frame = encode(batch, plain=self.plain)
        self.plain = frame[:1] == _MARSHAL
        write_frame(self._open(), frame)

    def commit(self) -> None:
        self._open().close()  # with no batch at all, still a complete (empty) output
        os.replace(self.partial, self.final)

    def close(self) -> None:
        """Stop writing without committing (the phase failed): the partial file stays."""
        if self.file is not None:
            self.file.close()


def encode(data: Any, *, plain: bool = True) -> bytes:
    """A frame's payload: marshal for plain data, else pickle (marshal refuses anything else,
    subclasses of plain types included, so nothing comes back as another type)."""
    if plain:
        try:
            return _MARSHAL + marshal.dumps(data)
        except ValueError:
            pass
    return _PICKLE + pickle.dumps(data, protocol=5)


def decode(frame: bytes | memoryview) -> Any:
    body = memoryview(frame)[1:]
    return marshal.loads(body) if frame[:1] == _MARSHAL else pickle.loads(body)


def write_frame(file: IO[bytes], frame: bytes) -> None:
    file.write(LENGTH.pack(len(frame)))
    file.write(frame)


def read_frame(file: IO[bytes]) -> bytes | None:
    """The next frame, or None at the end of the file."""
    prefix = file.read(LENGTH.size)
    if len(prefix) < LENGTH.size:
        return None
    (length,) = LENGTH.unpack(prefix)
    frame = file.read(length)
    if len(frame) < length:
        raise ValueError(f"{file.name} ends in the middle of a batch")
    return frame


def damage(path: Path) -> str | None:
    """What is wrong with a checkpoint file's frames (their lengths are checked, not their
    contents), or None when it is whole."""
    size = path.stat().st_size
    with path.open("rb") as file:
        try:
            header(file)
        except (ValueError, EOFError, TypeError) as exc:
            return str(exc).removeprefix(f"{file.name} ")
        while prefix := file.read(LENGTH.size):
            if len(prefix) < LENGTH.size:
                return "it ends in the middle of a batch's length"
            end = file.seek(LENGTH.unpack(prefix)[0], os.SEEK_CUR)
            if end > size:
                return "it ends in the middle of a batch"
    return None


def read_frames(path: Path) -> Iterator[Any]:
    """The batches of a complete file, in the order they were written."""
    with path.open("rb") as file:
        header(file)
        while (frame := read_frame(file)) is not None:
            yield decode(frame)


def header(file: IO[bytes]) -> bool:
    frame = read_frame(file)
    marker, streamed = (None, False) if frame is None else decode(frame)
    if marker != HEADER:
        raise ValueError(f"{file.name} is not a checkpoint of this version")
    return bool(streamed)
