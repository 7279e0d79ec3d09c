"""Files that would make reading a config take minutes or gigabytes are refused with a message.

The alias bomb is in the bad-input corpus (``bad_configs/alias_bomb.yaml``); here are the inputs a
corpus file cannot be: pipes, devices, very large files, and the cost of locating many problems.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from helpers import cli
from orchestrator.config import yamlsource
from orchestrator.config.limits import MAX_BYTES


def test_a_fifo_is_refused_not_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "pipeline.yaml"
    os.mkfifo(fifo)  # no writer: opening it to read would wait forever
    result = cli("validate", str(fifo), timeout=60)
    assert result.returncode == 2, result.stderr
    assert "this is a pipe (FIFO), not a file" in result.stderr


def test_a_device_is_refused_not_read() -> None:
    result = cli("validate", "/dev/zero", timeout=60)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("/dev/zero: this is a device, not a file; pass the pipeline's .yaml file")


def test_a_file_larger_than_any_config_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "pipeline.yaml"
    with big.open("wb") as handle:
        handle.write(b"# padding\n" * (MAX_BYTES // 10 + 1))
    result = cli("validate", str(big), timeout=60)
    assert result.returncode == 2, result.stderr
    assert "the file is larger than 16 MiB" in result.stderr


def test_locating_many_problems_indexes_each_mapping_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """60,000 unknown keys once took minutes: each problem's line was found by scanning the
    mapping again. Now each mapping's keys are indexed once, however many problems it has."""
    keys = "\n".join(f"    unknown_{i}: {i}" for i in range(5_000))
    text = (
        "pipelines:\n  p:\n    type: ETL\n    phases:\n"
        "      extract: {steps: [{plugin: csv.read, args: {path: a.csv}}]}\n"
        "      load: {steps: [{plugin: csv.write, args: {path: b.csv}}]}\n" + keys + "\n"
    )
    indexed: list[int] = []
    real = yamlsource._keys
    monkeypatch.setattr(yamlsource, "_keys", lambda node: indexed.append(1) or real(node))
    source = yamlsource.YamlSource(tmp_path / "pipeline.yaml", text)
    lines = [source.line_of(["pipelines", "p", f"unknown_{i}"], key=True) for i in range(5_000)]
    assert lines == list(range(7, 5_007))
    assert len(indexed) == 3  # the top mapping, pipelines:, and pipeline p
