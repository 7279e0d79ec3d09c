"""Every broken config in ``tests/bad_configs`` must fail with exit 2 and exactly its snapshot on stderr.

The corpus is the contract for what a user sees when the input is wrong: which file, which line,
which key, what was expected and what to do. Snapshots make any change to that text a deliberate,
reviewed diff. ``UPDATE_SNAPSHOTS=1`` rewrites them; review every changed line before committing.

Most cases run in-process through ``orchestrator.cli.main`` (the console script's own entry point)
to keep the suite fast; a subset also runs the installed ``orchestrator`` script as a subprocess,
against the same snapshots, so the two paths cannot drift apart.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers import cli
from orchestrator.cli import main

CORPUS = Path(__file__).parent / "bad_configs"
MINIMUM_CASES = 130
EXIT_BAD_INPUT = 2
#: Environment variables with this prefix are removed before each case, so the corpus can rely on
#: them being unset; a case sets what it needs in its ``NAME.env`` file.
TEST_ENV_PREFIX = "ORCHESTRATOR_TEST_"
#: Cases also run through the installed console script.
SUBPROCESS_CASES = (
    "binary_nul_bytes",
    "cli_directory",
    "cli_executor_unknown",
    "cli_missing_file",
    "cli_no_config_argument",
    "cli_param_malformed",
    "cli_param_not_an_integer",
    "cli_pipeline_unknown",
    "cli_runs_state_unknown_scheme",
    "cli_schema_output_missing_directory",
    "control_character",
    "crlf_line_endings_error",
    "many_problems_at_once",
    "not_utf8",
    "plugin_unknown_with_suggestion",
    "secret_not_echoed",
    "state_url_password_not_shown",
    "utf16_file",
    "yaml_invalid_date",
    "yaml_tab_indentation",
)


@dataclass(frozen=True)
class Case:
    """One corpus entry: the command-line arguments, extra environment, and the expected stderr."""

    name: str
    argv: tuple[str, ...]
    env: dict[str, str]

    @property
    def snapshot(self) -> Path:
        return CORPUS / f"{self.name}.expected"


def case_names() -> list[str]:
    """A case is named by its ``NAME.yaml`` or ``NAME.args`` file."""
    return sorted({p.stem for p in CORPUS.iterdir() if p.suffix in {".yaml", ".args"}})


def load_case(name: str) -> Case:
    """Read a case's arguments (default ``validate NAME.yaml``) and environment."""
    args_file = CORPUS / f"{name}.args"
    if args_file.exists():
        argv = tuple(line for line in args_file.read_text("utf-8").splitlines() if line)
    else:
        argv = ("validate", f"{name}.yaml")
    env_file = CORPUS / f"{name}.env"
    env: dict[str, str] = {}
    if env_file.exists():
        for line in env_file.read_text("utf-8").splitlines():
            if line:
                key, _, value = line.partition("=")
                env[key] = value
    return Case(name, argv, env)


def check_output(case: Case, code: int | None, stdout: str, stderr: str) -> None:
    """The shared assertions: exit 2, nothing on stdout, no traceback, stderr equal to the snapshot."""
    assert "Traceback" not in stdout + stderr, stderr
    assert code == EXIT_BAD_INPUT, f"exit {code}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    assert stdout == ""
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        case.snapshot.write_text(stderr, encoding="utf-8")
    assert case.snapshot.exists(), f"no snapshot {case.snapshot.name}; run with UPDATE_SNAPSHOTS=1 and review it"
    assert stderr == case.snapshot.read_text(encoding="utf-8")


@pytest.fixture
def case_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Run in the corpus directory, with the corpus's test variables unset."""
    monkeypatch.chdir(CORPUS)
    for key in [k for k in os.environ if k.startswith(TEST_ENV_PREFIX)]:
        monkeypatch.delenv(key)
    return monkeypatch


@pytest.mark.parametrize("name", case_names())
def test_bad_config_in_process(name: str, case_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    case = load_case(name)
    for key, value in case.env.items():
        case_env.setenv(key, value)
    try:
        main(list(case.argv))
        code: int | None = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    check_output(case, code, captured.out, captured.err)


@pytest.mark.e2e
@pytest.mark.parametrize("name", SUBPROCESS_CASES)
def test_bad_config_installed_cli(name: str, case_env: pytest.MonkeyPatch) -> None:
    case = load_case(name)
    result = cli(*case.argv, env=case.env, cwd=CORPUS)
    check_output(case, result.returncode, result.stdout, result.stderr)


def test_corpus_is_large_enough_and_complete() -> None:
    names = case_names()
    assert len(names) >= MINIMUM_CASES, f"the corpus shrank to {len(names)} cases"
    missing = [n for n in names if not (CORPUS / f"{n}.expected").exists()]
    assert not missing, f"cases without a snapshot: {missing}"
    orphans = sorted({p.stem for p in CORPUS.glob("*.expected")} - set(names))
    assert not orphans, f"snapshots without a case: {orphans}"


def test_subprocess_subset_names_real_cases() -> None:
    assert set(SUBPROCESS_CASES) <= set(case_names())
