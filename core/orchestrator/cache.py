"""A small on-disk cache that keeps the CLI's start-up fast.

Two things are remembered between runs, both keyed by everything they depend on, so a stale entry
is never read: the entry points of installed distributions (keyed by the interpreter and the
modification times of every ``sys.path`` directory, which change whenever a distribution is
installed or removed) and the fingerprints of configs that passed validation (keyed by the
substituted config and every installed step's schema). Skipping them saves importing
``importlib.metadata`` and ``jsonschema`` on a warm start.

The cache lives in ``$ORCHESTRATOR_CACHE_DIR``, else ``$XDG_CACHE_HOME/pipeline-orchestrator``,
else ``~/.cache/pipeline-orchestrator``; ``ORCHESTRATOR_NO_CACHE=1`` turns it off. Any error
reading or writing it is ignored: the cache can only make things faster, never break them.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

MAX_VALID_CONFIGS = 500


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
    stamps = []
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
    keys = [k for k in keys if k != key][-(MAX_VALID_CONFIGS - 1) :] + [key]
    _write(target, "\n".join(keys) + "\n")


def _write(target: Path, text: str) -> None:
    """Write atomically (temp file, then rename), so concurrent runs never read half a file."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temp, target)
    except OSError:
        return
