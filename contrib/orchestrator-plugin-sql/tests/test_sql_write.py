"""``sql.write``: every mode, on SQLite and on PostgreSQL, and what a failure leaves behind."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from orchestrator.plugins.discovery import Plugins
from sql_helpers import Backend, error_of, run
from sql_source import SOURCE

PIPELINE = """
pipelines:
  p:
    type: ETL
    phases:
      extract:
        steps:
          - plugin: python.call
            args: {{callable: "source:batches", kwargs: {kwargs}}}
      load:
        steps:
          - plugin: sql.write
            args: {{url: "${{DB_URL}}", table: people, {args}}}
"""

Rows = list[dict[str, Any]]


@pytest.fixture
def load(plugins: Plugins, write_files: Callable[..., Path]) -> Callable[..., Any]:
    """Run a pipeline that loads ``batches`` (lists of row dicts) with ``sql.write`` ``args``."""

    def load(backend: Backend, args: str, *batches: Rows, fail_when: dict[str, Any] | None = None) -> Any:
        kwargs = json.dumps({"file": "batches.json", **({"fail_when": fail_when} if fail_when else {})})
        path = write_files(PIPELINE.format(kwargs=kwargs, args=args), **{"source.py": SOURCE, "batches.json": json.dumps(batches)})
        return run(path, plugins, backend.env)

    return load


def people(*ids: int, name: str = "person") -> Rows:
    return [{"id": i, "name": f"{name} {i}", "score": i / 2} for i in ids]


def test_sql_write_append_creates_the_table_from_the_first_batch_and_adds_on_later_runs(backend: Backend, load: Any) -> None:
    first = load(backend, "mode: append", people(1, 2), people(3))
    assert first.ok, first.pipelines["p"].error
    assert [s.rows for s in first.pipelines["p"].steps if s.phase == "load"] == [3]
    again = load(backend, "mode: append", people(4))
    assert again.ok, again.pipelines["p"].error
    assert backend.fetch("SELECT id, name, score FROM people ORDER BY id") == [(i, f"person {i}", i / 2) for i in (1, 2, 3, 4)]


def test_sql_write_types_the_columns_it_creates_from_the_values(backend: Backend, load: Any) -> None:
    rows = [{"id": 1, "name": "Ada", "score": 1.5, "active": True, "note": None, "mixed": 1}, {"id": 2, "name": "Bo", "score": 2, "active": False, "note": None, "mixed": 2.5}]
    result = load(backend, "mode: create", rows)
    assert result.ok, result.pipelines["p"].error
    if backend.name == "postgresql":
        types = dict(backend.fetch("SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'people'"))
        assert types == {"id": "bigint", "name": "text", "score": "double precision", "active": "boolean", "note": "text", "mixed": "double precision"}
    else:
        types = {row[1]: row[2] for row in backend.fetch("PRAGMA table_info(people)")}
        assert types == {"id": "BIGINT", "name": "TEXT", "score": "DOUBLE", "active": "BOOLEAN", "note": "TEXT", "mixed": "DOUBLE"}
    assert backend.fetch("SELECT id, active, mixed FROM people ORDER BY id") == [(1, True, 1.0), (2, False, 2.5)]


def test_sql_write_create_refuses_an_existing_table_and_leaves_it_alone(backend: Backend, load: Any) -> None:
    backend.run_sql("CREATE TABLE people (id INTEGER, name TEXT, score REAL); INSERT INTO people VALUES (9, 'old', 0)")
    error = error_of(load(backend, "mode: create", people(1)))
    assert error == "step 'sql.write' failed: table 'people' already exists (mode: create); use mode append, replace or upsert"
    assert backend.fetch("SELECT id FROM people") == [(9,)]


def test_sql_write_replace_swaps_in_a_table_of_the_new_rows_and_columns(backend: Backend, load: Any) -> None:
    backend.run_sql("CREATE TABLE people (id INTEGER, legacy TEXT); INSERT INTO people VALUES (9, 'old')")
    result = load(backend, "mode: replace", people(1, 2), people(3))
    assert result.ok, result.pipelines["p"].error
    assert backend.fetch("SELECT id, name FROM people ORDER BY id") == [(1, "person 1"), (2, "person 2"), (3, "person 3")]
    assert backend.tables() == {"people"}


def test_sql_write_replace_with_no_rows_empties_the_table(backend: Backend, load: Any) -> None:
    backend.run_sql("CREATE TABLE people (id INTEGER); INSERT INTO people VALUES (9)")
    result = load(backend, "mode: replace", [])
    assert result.ok, result.pipelines["p"].error
    assert backend.fetch("SELECT COUNT(*) FROM people") == [(0,)]


def test_sql_write_replace_with_a_key_can_run_again_and_again(backend: Backend, load: Any) -> None:
    # the primary key constraint of the swapped-in table must not block the next replace
    for name in ("first", "second", "third"):
        result = load(backend, "mode: replace, key: [id]", people(1, 2, name=name))
        assert result.ok, result.pipelines["p"].error
    assert backend.fetch("SELECT name FROM people ORDER BY id") == [("third 1",), ("third 2",)]
    assert backend.tables() == {"people"}
    duplicate = load(backend, "mode: append", people(1))
    assert "UNIQUE constraint failed" in error_of(duplicate) or "duplicate key" in error_of(duplicate)


def test_sql_write_upsert_updates_rows_with_the_key_and_inserts_the_others(backend: Backend, load: Any) -> None:
    created = load(backend, "mode: upsert, key: [id]", people(1, 2, 3, name="old"))
    assert created.ok, created.pipelines["p"].error
    # id 2 twice in one batch: the last row wins, as if the rows were upserted one by one
    changes = [*people(2, 4, name="new"), {"id": 2, "name": "newest 2", "score": 0.0}]
    result = load(backend, "mode: upsert, key: [id]", changes, people(5, name="new"))
    assert result.ok, result.pipelines["p"].error
    assert backend.fetch("SELECT id, name FROM people ORDER BY id") == [
        (1, "old 1"), (2, "newest 2"), (3, "old 3"), (4, "new 4"), (5, "new 5"),
    ]


def test_sql_write_upsert_on_a_composite_key_into_an_existing_table(backend: Backend, load: Any) -> None:
    backend.run_sql("CREATE TABLE people (id INTEGER, name TEXT, score REAL, PRIMARY KEY (id, name)); INSERT INTO people VALUES (1, 'person 1', 0)")
    result = load(backend, "mode: upsert, key: [id, name]", people(1, 2))
    assert result.ok, result.pipelines["p"].error
    assert backend.fetch("SELECT id, name, score FROM people ORDER BY id") == [(1, "person 1", 0.5), (2, "person 2", 1.0)]


def test_sql_write_upsert_needs_a_unique_index_on_the_key(backend: Backend, load: Any) -> None:
    backend.run_sql("CREATE TABLE people (id INTEGER, name TEXT, score REAL)")
    error = error_of(load(backend, "mode: upsert, key: [id]", people(1)))
    assert error.startswith("step 'sql.write' failed: writing table 'people' failed on ")
    assert error.endswith("; the table needs a unique index or primary key on exactly the key columns")


def test_sql_write_commits_each_batch_so_a_failing_load_keeps_the_committed_ones(backend: Backend, load: Any) -> None:
    # the third batch repeats a key: it is refused whole, the first two stay
    result = load(backend, "mode: append, key: [id]", people(1, 2), people(3, 4), [*people(5), *people(1)], people(6))
    error = error_of(result)
    assert "writing table 'people' failed on " in error
    assert backend.fetch("SELECT id FROM people ORDER BY id") == [(1,), (2,), (3,), (4,)]


def test_sql_write_batch_size_splits_batches_into_transactions(backend: Backend, load: Any) -> None:
    rows = [*people(1, 2, 3, 4, 5, 6, 7, 8), *people(9, 1)]  # one batch; its third chunk repeats id 1
    error_of(load(backend, "mode: append, key: [id], batch_size: 4", rows))
    assert backend.fetch("SELECT COUNT(*) FROM people") == [(8,)]


def test_sql_write_keeps_the_committed_batches_when_the_stream_fails(backend: Backend, load: Any) -> None:
    stop = {"url": backend.url, "table": "people", "rows": 4}
    error = error_of(load(backend, "mode: append", people(1, 2), people(3, 4), fail_when=stop))
    assert error == "step 'python.call' failed: RuntimeError: the source broke"
    assert backend.fetch("SELECT id FROM people ORDER BY id") == [(1,), (2,), (3,), (4,)]


def test_sql_write_failed_replace_keeps_the_old_table_when_the_stream_fails(backend: Backend, load: Any) -> None:
    backend.run_sql("CREATE TABLE people (id INTEGER, name TEXT); INSERT INTO people VALUES (9, 'old')")
    stop = {"url": backend.url, "table": "_orchestrator_new_people", "rows": 4}
    error = error_of(load(backend, "mode: replace", people(1, 2), people(3, 4), fail_when=stop))
    assert error == "step 'python.call' failed: RuntimeError: the source broke"
    assert backend.fetch("SELECT id, name FROM people") == [(9, "old")]
    assert backend.tables() == {"people"}


def test_sql_write_failed_replace_keeps_the_old_table_when_the_database_refuses_a_batch(backend: Backend, load: Any) -> None:
    backend.run_sql("CREATE TABLE people (id INTEGER, name TEXT); INSERT INTO people VALUES (9, 'old')")
    error = error_of(load(backend, "mode: replace, key: [id]", people(1, 2), people(2, 3)))
    assert error.startswith("step 'sql.write' failed: writing table 'people' failed on ")
    assert error.endswith("; a key is repeated, in the rows or between the rows and the table; mode upsert updates existing rows")
    assert backend.fetch("SELECT id, name FROM people") == [(9, "old")]
    assert backend.tables() == {"people"}


def test_sql_write_names_columns_the_table_lacks(backend: Backend, load: Any) -> None:
    backend.run_sql("CREATE TABLE people (id INTEGER, name TEXT)")
    error = error_of(load(backend, "mode: append", [{"id": 1, "name": "a", "email": "a@example.org", "age": 3}]))
    assert error == (
        "step 'sql.write' failed: the rows have columns that table 'people' lacks: email, age; "
        "add them to the table, drop them in a transform, or use mode replace"
    )


@pytest.mark.parametrize("mode", ["create", "append", "replace", "upsert"])
def test_sql_write_keeps_a_column_of_the_first_batch_and_names_one_a_later_batch_brings(backend: Backend, load: Any, mode: str) -> None:
    args = f"mode: {mode}, key: [id]" if mode == "upsert" else f"mode: {mode}"
    kept = load(backend, args, [{"id": 1}, {"id": 2, "b": "x"}])  # one batch: the table has both columns
    assert kept.ok, kept.pipelines["p"].error
    assert backend.fetch("SELECT id, b FROM people ORDER BY id") == [(1, None), (2, "x")]
    backend.run_sql("DROP TABLE people")
    error = error_of(load(backend, args, [{"id": 3}], [{"id": 4, "b": "y"}]))
    fix = (
        "the new table took its columns from the first batch: give every row the same columns"
        if mode == "replace"
        else "add them to the table, drop them in a transform, or use mode replace"
    )
    assert error == f"step 'sql.write' failed: the rows have columns that table 'people' lacks: b; {fix}"


def test_sql_write_refuses_batches_that_are_not_rows(backend: Backend, load: Any) -> None:
    error = error_of(load(backend, "mode: append", [1, 2]))
    assert error == "step 'sql.write' failed: sql.write expects rows as mappings (dicts), got int; turn them into dicts in a transform"


def test_sql_write_into_a_postgresql_schema_with_every_kind_of_value(pg: Backend, load: Any) -> None:
    staging = pg.fetch("SELECT current_schema()")[0][0] + "_staging"
    pg.run_sql(f"CREATE SCHEMA {staging}")
    row = {
        "id": 1, "at": "2026-01-02T03:04:05", "tags": ["a", "b"], "meta": {"k": 1}, "flag": True,
    }
    result = load(pg, f"schema: {staging}, mode: replace, key: [id]", [row])
    assert result.ok, result.pipelines["p"].error
    again = load(pg, f"schema: {staging}, mode: upsert, key: [id]", [{**row, "flag": False, "meta": {"k": 2}}])
    assert again.ok, again.pipelines["p"].error
    assert pg.fetch(f"SELECT id, at, tags, meta, flag FROM {staging}.people") == [(1, "2026-01-02T03:04:05", ["a", "b"], {"k": 2}, False)]
    types = dict(pg.fetch(
        f"SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = '{staging}' AND table_name = 'people'"
    ))
    assert types == {"id": "bigint", "at": "text", "tags": "jsonb", "meta": "jsonb", "flag": "boolean"}
    assert pg.tables() == set()  # everything went to the schema named in the args, the load ledger too
    assert pg.fetch(f"SELECT COUNT(*) FROM {staging}._orchestrator_loads") == [(1,)]


def _cut_after(batches: list[Rows], count: int) -> Any:
    for number, batch in enumerate(batches):
        if number == count:
            raise ConnectionError("the input stopped")
        yield batch


@pytest.mark.parametrize("mode", ["create", "append", "upsert"])
def test_sql_write_run_again_under_one_load_id_commits_every_chunk_once(backend: Backend, tmp_path: Path, mode: str) -> None:
    """A retried or resumed load (same ``ctx.load_id``) skips what it committed; another load adds."""
    from orchestrator.context import StepContext
    from orchestrator_plugin_sql.write import write

    def ctx(run_id: str) -> StepContext:
        return StepContext(run_id, "p", {}, tmp_path, "load", "out", "sql.write")

    batches = [people(*range(b * 10, b * 10 + 10)) for b in range(3)]
    key = {"key": ["id"]} if mode == "upsert" else {}
    with pytest.raises(ConnectionError):
        write(ctx("run-1"), _cut_after(batches, 2), backend.url, "people", mode=mode, batch_size=5, **key)
    assert backend.fetch("SELECT COUNT(*) FROM people") == [(20,)]
    assert write(ctx("run-1"), iter(batches), backend.url, "people", mode=mode, batch_size=5, **key) == 30
    assert write(ctx("run-1"), iter(batches), backend.url, "people", mode=mode, batch_size=5, **key) == 30
    assert backend.fetch("SELECT COUNT(*), COUNT(DISTINCT id) FROM people") == [(30, 30)]
    assert backend.fetch("SELECT COUNT(*), SUM(rows) FROM _orchestrator_loads") == [(6, 30)]
    if mode == "append":  # a new run is a new load: its rows are appended again
        write(ctx("run-2"), iter(batches), backend.url, "people", mode=mode, batch_size=5)
        assert backend.fetch("SELECT COUNT(*) FROM people") == [(60,)]


@pytest.mark.parametrize("on_error", ["skip", "dead_letter"])
def test_sql_write_rejects_the_rows_the_database_refuses_and_keeps_the_others(backend: Backend, tmp_path: Path, on_error: str) -> None:
    """With on_error skip or dead_letter, a chunk refused for some of its rows is written row by
    row: the good rows commit with the chunk's ledger row, the refused ones go to ctx.reject."""
    from orchestrator.context import StepContext
    from orchestrator.runstate.deadletters import DeadLetterFile
    from orchestrator_plugin_sql.write import write

    backend.run_sql("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL CHECK (score >= 0))")
    letters = DeadLetterFile(tmp_path / "letters.jsonl")

    def ctx() -> StepContext:
        return StepContext("run-1", "p", {}, tmp_path, "load", "out", "sql.write", on_error=on_error, dead_letters=letters)

    rows = people(*range(10))
    rows[3]["score"] = -1.0  # breaks the CHECK
    rows[7]["name"] = None  # breaks NOT NULL
    first = ctx()
    assert write(first, iter([rows[:5], rows[5:]]), backend.url, "people", batch_size=5) == 8
    assert first.rejected == 2
    assert backend.fetch("SELECT id FROM people ORDER BY id") == [(i,) for i in (0, 1, 2, 4, 5, 6, 8, 9)]
    assert backend.fetch("SELECT SUM(rows) FROM _orchestrator_loads") == [(8,)]
    again = ctx()  # a retry or resume: both chunks are in the ledger, nothing is written or rejected again
    assert write(again, iter([rows[:5], rows[5:]]), backend.url, "people", batch_size=5) == 8
    assert again.rejected == 0 and backend.fetch("SELECT COUNT(*) FROM people") == [(8,)]
    letters.close()
    kept = [json.loads(line) for line in (tmp_path / "letters.jsonl").read_text().splitlines()] if on_error == "dead_letter" else []
    if on_error == "dead_letter":
        assert [(k["position"], k["row"]["id"]) for k in kept] == [(3, 3), (7, 7)]
        assert all("Violation" in k["error"] or "IntegrityError" in k["error"] for k in kept), kept
        assert not any("INSERT" in k["error"] for k in kept), kept
    else:
        assert not (tmp_path / "letters.jsonl").exists()


def test_sql_write_refuses_the_mapping_of_several_extract_steps(lite: Backend, plugins: Plugins, write_files: Callable[..., Path]) -> None:
    config = """
    pipelines:
      p:
        type: ETL
        phases:
          extract:
            steps:
              - {id: customers, plugin: jsonl.read, args: {path: customers.jsonl}}
              - {id: orders, plugin: jsonl.read, args: {path: orders.jsonl}}
          load:
            steps: [{plugin: sql.write, args: {url: "${DB_URL}", table: t}}]
    """
    path = write_files(config, **{"customers.jsonl": '{"id": 1}\n', "orders.jsonl": '{"order": 7}\n'})
    assert error_of(run(path, plugins, lite.env)) == (
        "step 'sql.write' failed: sql.write received one mapping of row lists (customers, orders), which is what "
        "several extract steps hand on when the pipeline has no transform; add a transform that combines them into "
        "rows (python.call), or give each source a pipeline of its own"
    )
    assert "t" not in lite.tables()
