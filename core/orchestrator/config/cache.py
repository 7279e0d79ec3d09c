"""A small on-disk cache that keeps the CLI's start-up fast.

Three things are remembered between runs, each keyed by everything it depends on, so a stale entry
is never read: the entry points of installed distributions (keyed by the interpreter and the
modification times of every ``sys.path`` directory, which change whenever a distribution is
installed or removed); parsed YAML documents (keyed by their exact text); and the fingerprints of
configs that passed validation (keyed by the substituted config and every installed step's
schema). A warm start so skips importing ``importlib.metadata`` and ``jsonschema`` and, for large
configs, most of the time spent parsing YAML.

The cache lives in ``$ORCHESTRATOR_CACHE_DIR``, else ``$XDG_CACHE_HOME/pipeline-orchestrator``,
else ``~/.cache/pipeline-orchestrator``; ``ORCHESTRATOR_NO_CACHE=1`` turns it off. Any error
reading or writing it is ignored: the cache can only make things faster, never break them.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

MAX_VALID_CONFIGS = 500
MAX_DOCUMENTS = 64

#: What :func:`read_document` returns when nothing is cached (``None`` is a valid document).
MISSING = object()


def enabled() -> bool:
    return os.environ.get("ORCHESTRATOR_NO_CACHE", "").strip().lower() not in {"1", "true", "yes", "on"}


def directory() -> Path:
    explicit = os.environ.get("ORCHESTRATOR_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "pipeline-orchestrator"


def digest(*parts: Any) -> str | None:
    """A stable hash of JSON-able parts (other values are hashed by their ``str``), or None when
    the parts cannot be serialised stably (a mapping mixing int and str keys, say)."""
    try:
        text = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError):
        return None
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def path_fingerprint() -> str:
    """Changes whenever a distribution is installed into or removed from ``sys.path``."""
    stamps: list[tuple[str, int | None]] = []
    for entry in sys.path:
        try:
            stamps.append((entry, os.stat(entry or ".").st_mtime_ns))
        except OSError:
            stamps.append((entry, None))
    return digest(sys.executable, sys.version, stamps) or ""


def read_json(name: str) -> Any:
    if not enabled():
        return None
    try:
        return json.loads((directory() / name).read_text("utf-8"))
    except (OSError, ValueError):
        return None


def write_json(name: str, value: Any) -> None:
    if enabled():
        _write(directory() / name, json.dumps(value))


def is_known_valid(key: str) -> bool:
    if not enabled():
        return False
    try:
        return key in (directory() / "valid-configs").read_text("ascii").split()
    except OSError:
        return False


def remember_valid(key: str) -> None:
    if not enabled():
        return
    target = directory() / "valid-configs"
    try:
        keys = target.read_text("ascii").split()
    except OSError:
        keys = []
    keys = [*[k for k in keys if k != key][-(MAX_VALID_CONFIGS - 1):], key]
    _write(target, "\n".join(keys) + "\n")


def read_document(key: str) -> Any:
    """A parsed document stored by :func:`remember_document`, or :data:`MISSING`."""
    if not enabled():
        return MISSING
    try:
        return marshal.loads((directory() / "documents" / key).read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return MISSING


def remember_document(key: str, data: Any) -> None:
    """Store a parsed document (plain data only: one holding dates, say, is not stored), keeping
    the most recently used :data:`MAX_DOCUMENTS`."""
    if not enabled():
        return
    try:
        payload = marshal.dumps(data)
    except ValueError:
        return
    folder = directory() / "documents"
    _write(folder / key, payload)
    try:
        entries = sorted(folder.iterdir(), key=lambda p: p.stat().st_mtime)
        for stale in entries[:-MAX_DOCUMENTS]:
            stale.unlink(missing_ok=True)
    except OSError:
        return


def _write(target: Path, content: str | bytes) -> None:
    """Write atomically (temp file, then rename), so concurrent runs never read half a file."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(content.encode("utf-8") if isinstance(content, str) else content)
            os.replace(temp, target)
        except OSError:
            Path(temp).unlink(missing_ok=True)
            raise
    except OSError:
        return
