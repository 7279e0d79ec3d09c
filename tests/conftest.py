"""Shared fixtures. In-process tests load only the core's own ``builtin`` plugin (through its real
entry point), so whatever else is installed in the environment cannot change their outcome."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from helpers import ONLY_BUILTIN
from orchestrator.plugins.discovery import Plugins, load_plugins


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The start-up cache of the whole test session, kept away from the user's own."""
    return tmp_path_factory.mktemp("orchestrator-cache")


@pytest.fixture(autouse=True)
def _only_builtin_plugins(monkeypatch: pytest.MonkeyPatch, cache_dir: Path) -> None:
    monkeypatch.setenv("ORCHESTRATOR_LOAD_PLUGINS", "builtin")
    monkeypatch.setenv("ORCHESTRATOR_CACHE_DIR", str(cache_dir))
    monkeypatch.delenv("ORCHESTRATOR_NO_CACHE", raising=False)
    for name in ("ORCHESTRATOR_DISABLE_PLUGINS", "ORCHESTRATOR_STRICT_PLUGINS", "ORCHESTRATOR_TRACE_PLUGINS"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def plugins() -> Plugins:
    return load_plugins(ONLY_BUILTIN)


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """Write a (dedented) YAML config, and optionally side files, into a fresh directory."""

    def write(text: str, name: str = "pipeline.yaml", **files: str) -> Path:
        for file_name, content in files.items():
            target = tmp_path / file_name.replace("__", "/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(textwrap.dedent(content))
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return write
