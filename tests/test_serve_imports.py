"""The scheduler's libraries stay out of ``orchestrator run``: nothing outside ``serve/`` imports
``serve/``, and importing the CLI and the engine loads no cron library, time-zone data or watcher."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parent.parent / "core" / "orchestrator"
HEAVY = ("cronsim", "croniter", "watchfiles", "zoneinfo", "orchestrator.serve")


def test_nothing_outside_serve_imports_serve() -> None:
    pattern = re.compile(r"^\s*(from\s+orchestrator\.serve\b|import\s+orchestrator\.serve\b|from\s+orchestrator\s+import\s+.*\bserve\b)", re.MULTILINE)
    offenders = [
        str(path.relative_to(CORE))
        for path in CORE.rglob("*.py")
        if "serve" not in path.relative_to(CORE).parts[:1] and pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert not offenders, f"import orchestrator.serve: {offenders}"


def test_the_run_path_loads_none_of_the_scheduler_libraries() -> None:
    code = (
        "import sys, orchestrator.cli, orchestrator.engine, orchestrator.config\n"
        f"print(sorted(m for m in sys.modules if m.startswith({HEAVY!r})))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]", done.stdout


def test_the_serve_package_itself_is_light() -> None:
    code = f"import sys, orchestrator.serve\nprint(sorted(m for m in sys.modules if m.startswith({HEAVY[:4]!r})))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]", done.stdout
