"""Fixtures: the built-in steps and this distribution's entry point (nothing else that may be
installed), the plugin's tracing reset around every test, and a real OTLP/HTTP receiver."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from orchestrator_plugin_opentelemetry import tracing
from otlp_receiver import OtlpReceiver

from orchestrator.plugins.discovery import Plugins, load_plugins

PLUGINS = "builtin,opentelemetry"
OTEL_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_SERVICE_NAME", "OTEL_TRACES_SAMPLER")


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The orchestrator's start-up cache for this session, away from the user's own."""
    return tmp_path_factory.mktemp("orchestrator-cache")


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch, cache_dir: Path) -> Iterator[None]:
    monkeypatch.setenv("ORCHESTRATOR_LOAD_PLUGINS", PLUGINS)
    monkeypatch.setenv("ORCHESTRATOR_CACHE_DIR", str(cache_dir))
    for name in ("ORCHESTRATOR_DISABLE_PLUGINS", "ORCHESTRATOR_STRICT_PLUGINS", "ORCHESTRATOR_TRACE_PLUGINS", *OTEL_VARIABLES):
        monkeypatch.delenv(name, raising=False)
    tracing.reset()
    yield
    tracing.reset()


@pytest.fixture
def plugins() -> Plugins:
    loaded = load_plugins({"ORCHESTRATOR_LOAD_PLUGINS": PLUGINS})
    assert not loaded.registry.problems, loaded.registry.problems
    return loaded


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    running = OtlpReceiver().start()
    try:
        yield running
    finally:
        running.stop()
