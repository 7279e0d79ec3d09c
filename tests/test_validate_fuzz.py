"""Property tests: whatever bytes are handed to ``orchestrator validate``, it answers cleanly.

The only allowed outcomes are "valid" (exit 0) or a clean error (exit 2, a non-empty message on
stderr, no traceback), and no reported problem points past the end of the file. Inputs are YAML
dumped from generated data, raw text assembled from the fragments that break YAML most often
(tabs, colons, brackets, ``${``, NUL bytes, invalid UTF-8), and mutations of valid configs.

The number of examples is bounded and the generation derandomized, so CI runs the same inputs
every time and the file stays fast. Any crash found here is fixed in the core, and its minimal
input added to ``tests/bad_configs``.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.cli import main

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "examples" / "quickstart" / "pipeline.yaml"
CONFIG_NAME = "pipeline.yaml"

FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,  # the same inputs on every run: CI is reproducible
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

#: configs that validate, built on the built-in plugins only (the quickstart is read from disk)
BUILTIN_CONFIGS = (
    """\
    params:
      day: "2026-01-31"
      size: 500
      full: false
    concurrency: 4
    executor: {name: local, threads: 4}
    pipelines:
      customers:
        type: ETL
        description: customers into SQLite
        phases:
          extract:
            concurrency: 2
            steps:
              - id: raw
                plugin: csv.read
                args: {path: "data/${params.day}.csv", batch_size: "${params.size}", delimiter: ";", types: {id: int}}
              - plugin: jsonl.read
                args: {path: data/extra.jsonl}
          transform:
            steps:
              - plugin: python.call
                args: {callable: "transforms:clean", kwargs: {full: "${params.full}"}}
          load:
            steps:
              - plugin: sqlite.write
                args: {database: "${ORCHESTRATOR_FUZZ_DB:-out/warehouse.db}", table: customers, mode: replace}
              - plugin: csv.write
                args: {path: out/customers.csv}
    """,
    """\
    version: 1
    pipelines:
      staging:
        type: ELT
        executor: process
        phases:
          extract:
            steps:
              - plugin: sqlite.read
                args: {database: in.db, query: "SELECT * FROM t WHERE region = ?", parameters: [EU]}
          load:
            steps:
              - plugin: jsonl.write
                args: {path: out/t.jsonl}
          transform_at_load:
            steps:
              - plugin: sqlite.execute
                args: {database: out.db, sql: "CREATE TABLE IF NOT EXISTS x AS SELECT 1"}
      report:
        type: ETLT
        depends_on: [staging]
        phases:
          extract:
            steps:
              - {plugin: csv.read, args: {path: a.csv}}
          transform:
            steps:
              - {plugin: python.call, args: {callable: "m:f"}}
          load:
            steps:
              - {plugin: csv.write, args: {path: b.csv}}
          transform_at_load:
            steps:
              - {plugin: python.call, args: {callable: "m:g"}}
    """,
)

# -- what a clean answer looks like -----------------------------------------------------------

_LINE_BREAK = re.compile(r"\r\n|\r|\n|\x85|\u2028|\u2029")
_LOCATED = re.compile(rf"^{re.escape(CONFIG_NAME)}:(\d+): ")


def line_count(raw: bytes) -> int:
    """Lines as YAML counts them (a final line break does not start another line); at least 1."""
    text = raw.decode("utf-8", errors="replace").removeprefix("\ufeff")
    breaks = len(_LINE_BREAK.findall(text))
    ends_with_break = text.endswith(("\n", "\r", "\x85", "\u2028", "\u2029"))
    return max(1, breaks + (0 if ends_with_break else 1))


def validate(raw: bytes, directory: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int | None, str, str]:
    """Run ``orchestrator validate`` in-process on ``raw``; any exception but SystemExit escapes."""
    (directory / CONFIG_NAME).write_bytes(raw)
    capsys.readouterr()
    try:
        main(["validate", CONFIG_NAME])
        code: int | None = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else None
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_clean(raw: bytes, directory: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int | None, str]:
    """The property: exit 0 with an "ok" line, or exit 2 with a located, traceback-free message."""
    code, out, err = validate(raw, directory, capsys)
    assert "Traceback" not in out + err, err
    if code == 0:
        assert out.startswith(f"{CONFIG_NAME}: ok ("), out
        assert err == ""
        return code, err
    assert code == 2, f"exit {code!r}\nstdout: {out!r}\nstderr: {err!r}\ninput: {raw!r}"
    assert out == ""
    lines = err.splitlines()
    assert lines and all(line.strip() for line in lines), err
    assert re.fullmatch(r"\d+ problems? found\.", lines[-1]), err
    assert len(lines) - 1 == int(lines[-1].split()[0]), err
    for line in lines[:-1]:
        assert line.startswith((f"{CONFIG_NAME}:", "<command line>:")), line
    assert_lines_in_file(raw, err)
    return code, err


def assert_lines_in_file(raw: bytes, err: str) -> None:
    """No problem points at a line the file does not have."""
    last = line_count(raw)
    for line in err.splitlines():
        match = _LOCATED.match(line)
        if match:
            assert 1 <= int(match.group(1)) <= last, f"line {match.group(1)} of a {last}-line file: {line}\ninput: {raw!r}"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh directory to write the generated config into, as the current directory; the test
    variables the mutations inject are unset."""
    monkeypatch.chdir(tmp_path)
    for name in ("UNSET", "ORCHESTRATOR_FUZZ_UNSET", "ORCHESTRATOR_FUZZ_DB"):
        monkeypatch.delenv(name, raising=False)
    # the code the valid configs' python.call steps name: validate imports it
    (tmp_path / "transforms.py").write_text((QUICKSTART.parent / "transforms.py").read_text("utf-8") + "\n\ndef clean(rows, full=False):\n    return rows\n")
    (tmp_path / "m.py").write_text("def f(rows):\n    return rows\n\n\ndef g(rows):\n    return rows\n")
    return tmp_path


# -- (a) arbitrary YAML -----------------------------------------------------------------------

KEYS = (
    "pipelines", "params", "concurrency", "executor", "version", "description", "type", "phases",
    "depends_on", "extract", "transform", "load", "transform_at_load", "steps", "id", "plugin", "args",
    "path", "name", "threads", "customers", "orders", "<<",
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**20, max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["ETL", "ELT", "ETLT", "csv.read", "csv.write", "local", "${UNSET}", "${params.x}", "${", "$${x}", "}", "2026-01-31", "1e400"]),
    st.dates(),
)
keys = st.one_of(st.sampled_from(KEYS), st.text(max_size=12), st.integers(), st.booleans(), st.none())
documents = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=5)),
    max_leaves=25,
)

FRAGMENTS = (
    "pipelines:", "\n", "  ", "    ", "\t", ":", ": ", "- ", "[", "]", "{", "}", ",", "${", "}", "$${",
    "${UNSET}", "${params.x}", "#", "'", '"', "&a ", "*a", "<<: ", "? ", "---", "...", "!!python/object:os.system",
    "!tag ", "%YAML 1.1", "|", ">", "@", "`", "\x00", "\r\n", "\r", "\ufeff", "\u2028", "\x85", "é", "✓",
    "type: ETL", "phases:", "steps:", "plugin: csv.read", "args: {path: x}", "extract:", "load:", "1e400",
    "1" + "0" * 100, ".inf", ".nan", "~", "null", "true", "2026-01-31", "a: &a [*a]",
)
INVALID_UTF8 = (b"\xff", b"\xe9", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x80abc")

raw_texts = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8)), max_size=40).map("".join)


@st.composite
def raw_bytes(draw: st.DrawFn) -> bytes:
    """Text fragments as UTF-8, with invalid byte sequences spliced in now and then."""
    parts = draw(st.lists(st.one_of(raw_texts.map(lambda t: t.encode("utf-8", "surrogatepass")), st.sampled_from(INVALID_UTF8)), max_size=4))
    return b"".join(parts)


@st.composite
def dumped_documents(draw: st.DrawFn) -> bytes:
    """Generated data dumped as YAML, sometimes under ``pipelines:`` so the deeper checks run."""
    data = draw(documents)
    if draw(st.booleans()):
        data = {"pipelines": data}
    flow = draw(st.sampled_from([False, True, None]))
    try:
        text = yaml.safe_dump(data, default_flow_style=flow, allow_unicode=draw(st.booleans()), sort_keys=False)
    except yaml.YAMLError:
        text = repr(data)
    return text.encode("utf-8", "surrogatepass")


@FUZZ
@given(raw=st.one_of(dumped_documents(), raw_bytes(), st.binary(max_size=64)))
def test_arbitrary_yaml_is_valid_or_a_clean_error(raw: bytes, workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert_clean(raw, workdir, capsys)


# -- (b) mutations of valid configs ------------------------------------------------------------


def valid_configs() -> list[str]:
    import textwrap

    return [QUICKSTART.read_text("utf-8"), *(textwrap.dedent(text) for text in BUILTIN_CONFIGS)]


VALID = valid_configs()
PLUGIN_NAMES = ("csv.read", "csv.write", "jsonl.read", "jsonl.write", "sqlite.read", "sqlite.write", "sqlite.execute", "python.call", "csv.raed", "", "kafka.consume")
PHASE_NAMES = ("extract", "transform", "load", "transform_at_load", "extrct")
replacement_values = st.one_of(
    scalars,
    st.lists(scalars, max_size=3),
    st.dictionaries(st.sampled_from(KEYS), scalars, max_size=3),
    st.sampled_from(PLUGIN_NAMES),
)


def containers(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    """Every mapping and list in ``data`` with its path."""
    found: list[tuple[tuple[Any, ...], Any]] = []
    if isinstance(data, (dict, list)):
        found.append((path, data))
        items = data.items() if isinstance(data, dict) else enumerate(data)
        for key, value in items:
            found.extend(containers(value, (*path, key)))
    return found


@st.composite
def mutated_configs(draw: st.DrawFn) -> bytes:
    """A valid config with one to four random edits: delete, rename or retype a key, swap or rename
    phases, change a plugin name, or inject a reference to an unset variable."""
    data = yaml.safe_load(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        places = [(p, c) for p, c in containers(data) if c]
        if not places:
            break
        _, target = draw(st.sampled_from(places))
        key = draw(st.sampled_from(sorted(target, key=str) if isinstance(target, dict) else range(len(target))))
        operation = draw(st.sampled_from(["delete", "rename", "retype", "swap_phases", "plugin", "reference", "duplicate"]))
        if operation == "delete":
            del target[key]
        elif operation == "rename" and isinstance(target, dict):
            new_key = draw(st.one_of(keys, st.just(str(key)[:-1] or "x"), st.just(str(key).upper())))
            target[new_key] = target.pop(key)
        elif operation == "retype":
            target[key] = draw(replacement_values)
        elif operation == "swap_phases":
            phase_maps = [c for p, c in containers(data) if p[-1:] == ("phases",) and isinstance(c, dict)]
            if phase_maps:
                phases = draw(st.sampled_from(phase_maps))
                names = list(phases)
                renamed = {draw(st.sampled_from(PHASE_NAMES)) if draw(st.booleans()) else n: phases[n] for n in reversed(names)}
                phases.clear()
                phases.update(renamed)
        elif operation == "plugin":
            steps = [c for p, c in containers(data) if isinstance(c, dict) and "plugin" in c]
            if steps:
                draw(st.sampled_from(steps))["plugin"] = draw(st.one_of(st.sampled_from(PLUGIN_NAMES), st.text(max_size=10)))
        elif operation == "reference":
            reference = draw(st.sampled_from(["${UNSET}", "${ORCHESTRATOR_FUZZ_UNSET}", "${params.nope}", "${UNSET:-}", "${", "${params.}", "x/${UNSET}/y"]))
            target[key] = reference if not isinstance(target[key], str) or draw(st.booleans()) else target[key] + reference
        elif operation == "duplicate" and isinstance(target, list):
            target.append(copy.deepcopy(target[key]))
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=draw(st.sampled_from([False, None])))
    return text.encode("utf-8", "surrogatepass")


@pytest.mark.parametrize("index", range(len(VALID)))
def test_the_configs_mutated_below_are_valid(index: int, workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = assert_clean(VALID[index].encode("utf-8"), workdir, capsys)
    assert code == 0, err


@FUZZ
@given(raw=mutated_configs())
def test_mutated_configs_are_valid_or_a_clean_error(raw: bytes, workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert_clean(raw, workdir, capsys)


# -- (c) line numbers stay inside the file ------------------------------------------------------


@st.composite
def edited_texts(draw: st.DrawFn) -> bytes:
    """A valid config edited as text, line by line: lines deleted, duplicated, indented with a tab,
    cut short, or joined; line endings switched to CRLF; text cut off anywhere."""
    lines = draw(st.sampled_from(VALID)).splitlines()
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        if not lines:
            break
        at = draw(st.integers(min_value=0, max_value=len(lines) - 1))
        edit = draw(st.sampled_from(["delete", "duplicate", "tab", "cut", "join", "fragment", "dedent"]))
        if edit == "delete":
            del lines[at]
        elif edit == "duplicate":
            lines.insert(at, lines[at])
        elif edit == "tab":
            lines[at] = "\t" + lines[at].lstrip(" ")
        elif edit == "cut":
            lines[at] = lines[at][: draw(st.integers(min_value=0, max_value=max(0, len(lines[at]))))]
        elif edit == "join" and at + 1 < len(lines):
            lines[at : at + 2] = [lines[at] + lines[at + 1]]
        elif edit == "fragment":
            lines[at] += draw(st.sampled_from(FRAGMENTS))
        elif edit == "dedent":
            lines[at] = lines[at][2:]
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = ending.join(lines) + draw(st.sampled_from(["", ending, ending * 3]))
    if draw(st.booleans()):
        text = text[: draw(st.integers(min_value=0, max_value=len(text)))]
    return text.encode("utf-8")


@FUZZ
@given(raw=st.one_of(edited_texts(), raw_bytes()))
def test_no_problem_is_reported_past_the_last_line(raw: bytes, workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, err = assert_clean(raw, workdir, capsys)
    assert_lines_in_file(raw, err)  # also part of assert_clean; this test feeds it the inputs that stress it


def test_line_count_follows_yaml() -> None:
    """The yardstick of the property above: YAML's line breaks, and a final one opens no new line."""
    assert line_count(b"") == 1
    assert line_count(b"a: 1") == 1
    assert line_count(b"a: 1\n") == 1
    assert line_count(b"a: 1\nb: 2") == 2
    assert line_count(b"a: 1\r\nb: 2\r\n") == 2
    assert line_count(b"a: 1\rb: 2\r") == 2
    assert line_count("a\u2028b".encode()) == 2
    assert line_count(b"\n\n\n") == 3
