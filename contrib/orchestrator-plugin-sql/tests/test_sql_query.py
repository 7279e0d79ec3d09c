"""``sql.query``: rows streamed in batches, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from orchestrator.plugins.discovery import Plugins
from sql_helpers import Backend, run

QUERY_TO_JSONL = """
pipelines:
  p:
    type: ETL
    phases:
      extract:
        steps:
          - plugin: sql.query
            args:
              url: ${{DB_URL}}
              query: "{query}"
              batch_size: {batch_size}
              {parameters}
      transform:
        steps:
          - plugin: python.call
            args: {{callable: "probe:record", kwargs: {{log: batches.log}}}}
      load:
        steps:
          - plugin: jsonl.write
            args: {{path: out/rows.jsonl}}
"""

PROBE = """
from pathlib import Path


def record(batch, log):
    with open(Path(__file__).parent / log, "a") as handle:
        handle.write(f"{len(batch)}\\n")
    return batch


def sequence(batch, log, url):
    # how far the server had evaluated the query when the first batch arrived: read from a second session
    import psycopg

    path = Path(__file__).parent / log
    if not path.exists():
        with psycopg.connect(url) as connection:
            (value,) = connection.execute("SELECT last_value FROM seq").fetchone()
        path.write_text(f"{value}\\n")
    with open(path, "a") as handle:
        handle.write(f"{len(batch)}\\n")
    return batch
"""


def _people(backend: Backend, rows: int) -> None:
    backend.run_sql("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, country TEXT)")
    values = ", ".join(f"({i}, 'person {i}', '{'GB' if i % 3 else 'FR'}')" for i in range(1, rows + 1))
    backend.run_sql(f"INSERT INTO people VALUES {values}")


def test_sql_query_streams_rows_in_batches_of_batch_size(
    backend: Backend, plugins: Plugins, write_files: Callable[..., Path], tmp_path: Path
) -> None:
    _people(backend, 25)
    config = QUERY_TO_JSONL.format(query="SELECT id, name FROM people ORDER BY id", batch_size=10, parameters="")
    result = run(write_files(config, **{"probe.py": PROBE}), plugins, backend.env)

    assert result.ok, result.pipelines["p"].error
    assert (tmp_path / "batches.log").read_text().split() == ["10", "10", "5"]
    rows = [json.loads(line) for line in (tmp_path / "out" / "rows.jsonl").read_text().splitlines()]
    assert rows == [{"id": i, "name": f"person {i}"} for i in range(1, 26)]
    assert result.pipelines["p"].steps[0].rows == 25


def test_sql_query_binds_named_parameters(
    backend: Backend, plugins: Plugins, write_files: Callable[..., Path], tmp_path: Path
) -> None:
    _people(backend, 9)
    config = QUERY_TO_JSONL.format(
        query="SELECT id FROM people WHERE country = :country AND id > :after ORDER BY id",
        batch_size=100,
        parameters="parameters: {country: FR, after: 3}",
    )
    result = run(write_files(config, **{"probe.py": PROBE}), plugins, backend.env)

    assert result.ok, result.pipelines["p"].error
    assert [json.loads(line)["id"] for line in (tmp_path / "out" / "rows.jsonl").read_text().splitlines()] == [6, 9]


def test_sql_query_without_parameters_sends_colons_and_percents_as_written(
    backend: Backend, plugins: Plugins, write_files: Callable[..., Path], tmp_path: Path
) -> None:
    config = QUERY_TO_JSONL.format(query="SELECT '10:30 :x 100%' AS text", batch_size=5, parameters="")
    result = run(write_files(config, **{"probe.py": PROBE}), plugins, backend.env)

    assert result.ok, result.pipelines["p"].error
    assert json.loads((tmp_path / "out" / "rows.jsonl").read_text()) == {"text": "10:30 :x 100%"}


def test_sql_query_on_postgresql_reads_through_a_server_side_cursor(
    pg: Backend, plugins: Plugins, write_files: Callable[..., Path], tmp_path: Path
) -> None:
    # Every row the server produces advances a sequence. When the first batch arrives, a
    # client-side cursor would already have made the server produce all 20000 rows; a
    # server-side cursor has produced about one batch.
    pg.run_sql("CREATE SEQUENCE seq")
    config = QUERY_TO_JSONL.format(
        query="SELECT n, nextval('seq') AS s FROM generate_series(1, 20000) AS n", batch_size=100, parameters=""
    ).replace('"probe:record", kwargs: {log: batches.log}', f'"probe:sequence", kwargs: {{log: batches.log, url: "{pg.url}"}}')
    result = run(write_files(config, **{"probe.py": PROBE}), plugins, pg.env)

    assert result.ok, result.pipelines["p"].error
    produced_by_then, *sizes = map(int, (tmp_path / "batches.log").read_text().split())
    assert sizes == [100] * 200
    assert produced_by_then <= 1000, f"the server had produced {produced_by_then} rows when the first batch arrived"
    assert pg.fetch("SELECT last_value FROM seq") == [(20000,)]
