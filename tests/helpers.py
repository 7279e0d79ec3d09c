"""Helpers for tests: running the installed CLI as a real subprocess, and what a command imports."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BIN = Path(sys.executable).parent
DISTRIBUTIONS = Path(__file__).parent / "distributions"
ONLY_BUILTIN = {"ORCHESTRATOR_LOAD_PLUGINS": "builtin"}


def cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the installed ``orchestrator`` console script as a real subprocess."""
    full_env = {**os.environ, **ONLY_BUILTIN, **(env or {})}
    return subprocess.run(
        [str(BIN / "orchestrator"), *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=timeout,
    )


@contextmanager
def installed(*names: str) -> Iterator[None]:
    """pip-install the test distributions ``tests/distributions/<name>`` into this environment,
    uninstalling them afterwards: plugins then load through real entry points."""
    pip = [sys.executable, "-m", "pip", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "install", "--no-deps", *(str(DISTRIBUTIONS / name) for name in names)], check=True)
    try:
        yield
    finally:
        subprocess.run([*pip, "uninstall", "--yes", *names], check=True)


def loaded_by(command: str, config: Path, prefixes: tuple[str, ...]) -> list[str]:
    """The modules named by ``prefixes`` that ``orchestrator COMMAND CONFIG`` imports: the CLI run
    in a fresh interpreter (in-process there, so its ``sys.modules`` can be read afterwards)."""
    code = (
        "import sys\nfrom orchestrator.cli import main\n"
        f"try:\n    main([{command!r}, {str(config)!r}])\nexcept SystemExit as exit:\n    assert not exit.code, exit.code\n"
        f"print(sorted(m for m in sys.modules if m.startswith({prefixes!r})))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=config.parent, check=False)
    assert done.returncode == 0, done.stderr
    return list(ast.literal_eval(done.stdout.strip().splitlines()[-1]))
