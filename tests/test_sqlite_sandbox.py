"""SQL cannot reach files outside the pipeline's directories: ``ATTACH`` and ``VACUUM INTO`` in
``sqlite.read`` and ``sqlite.execute`` are refused there (and allowed inside, or under
``allowed_paths``), and ``sqlite.read`` runs only statements that read."""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path

import pytest

from orchestrator.builtin import sqlite_steps
from orchestrator.context import StepContext
from orchestrator.errors import StepError


@pytest.fixture
def base(tmp_path: Path) -> Path:
    base = tmp_path / "project"
    base.mkdir()
    with sqlite3.connect(base / "in.db") as db:
        db.execute("CREATE TABLE t (x)")
        db.execute("INSERT INTO t VALUES (1)")
    db.close()
    return base


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    return outside


def _ctx(base: Path, plugin: str, allowed: tuple[Path, ...] = ()) -> StepContext:
    """A step context of its own per call: ``sqlite.execute`` runs once per step of a run."""
    return StepContext(f"run-{next(_runs)}", "p", {}, base, "extract", "step", plugin, allowed)


_runs = itertools.count()


def _read(base: Path, query: str, allowed: tuple[Path, ...] = ()) -> list[dict]:
    return [row for batch in sqlite_steps.read(_ctx(base, "sqlite.read", allowed), "in.db", query) for row in batch]


def _outside_message(step: str, target: Path, base: Path) -> str:
    return (
        f"{step} refused ATTACH or VACUUM INTO of {target}: it is outside the pipeline's directory {base}; "
        "use a file inside it, or list its directory under 'allowed_paths' in the config"
    )


@pytest.mark.parametrize(
    "sql",
    [
        "COMMIT; ATTACH DATABASE '{target}' AS x; CREATE TABLE x.stolen AS SELECT * FROM main.t; BEGIN",
        "COMMIT; VACUUM INTO '{target}'; BEGIN",
        "COMMIT; ATTACH DATABASE 'file:{target}?mode=rwc' AS x; BEGIN",
        "COMMIT; ATTACH DATABASE 'file://localhost{target}' AS x; BEGIN",
    ],
    ids=["attach", "vacuum into", "file uri", "file uri with host"],
)
def test_sqlite_execute_refuses_files_outside_the_pipeline_directory(base: Path, elsewhere: Path, sql: str) -> None:
    target = elsewhere / "x.db"
    with pytest.raises(StepError) as caught:
        sqlite_steps.execute(_ctx(base, "sqlite.execute"), "in.db", sql.format(target=target))
    assert str(caught.value) == _outside_message("sqlite.execute", target, base)
    assert not target.exists()


def test_sqlite_execute_refuses_a_relative_attach_that_leaves_the_directory(base: Path, elsewhere: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(base)  # SQLite opens a relative name from the current directory
    with pytest.raises(StepError) as caught:
        sqlite_steps.execute(_ctx(base, "sqlite.execute"), "in.db", "COMMIT; ATTACH '../elsewhere/x.db' AS x; BEGIN")
    assert str(caught.value) == _outside_message("sqlite.execute", elsewhere / "x.db", base)


def test_sqlite_execute_attaches_and_vacuums_into_files_inside_or_allowed(base: Path, elsewhere: Path) -> None:
    inside, allowed = base / "other.db", elsewhere / "copy.db"
    sqlite_steps.execute(
        _ctx(base, "sqlite.execute", (elsewhere,)), "in.db",
        f"COMMIT; ATTACH '{inside}' AS o; CREATE TABLE o.t AS SELECT * FROM main.t; DETACH o; BEGIN",
    )
    sqlite_steps.execute(_ctx(base, "sqlite.execute", (elsewhere,)), "in.db", f"COMMIT; VACUUM INTO '{allowed}'; BEGIN")
    for copy in (inside, allowed):
        with sqlite3.connect(copy) as db:
            assert db.execute("SELECT x FROM t").fetchall() == [(1,)]
        db.close()
    sqlite_steps.execute(_ctx(base, "sqlite.execute", (elsewhere,)), "in.db", "COMMIT; ATTACH ':memory:' AS m; ATTACH 'file:mem?mode=memory' AS n; VACUUM; BEGIN")


def test_sqlite_execute_refuses_moving_temporary_files_elsewhere(base: Path) -> None:
    with pytest.raises(StepError, match=r"^sqlite.execute refused PRAGMA temp_store_directory: it moves SQLite's files"):
        sqlite_steps.execute(_ctx(base, "sqlite.execute"), "in.db", "PRAGMA temp_store_directory = '/tmp'")


@pytest.mark.parametrize(
    ("query", "what"),
    [
        ("ATTACH DATABASE '{target}' AS x", "ATTACH or VACUUM"),
        ("VACUUM INTO '{target}'", "ATTACH or VACUUM"),
        ("VACUUM", "ATTACH or VACUUM"),
        ("INSERT INTO t VALUES (2)", "INSERT"),
        ("DELETE FROM t", "DELETE"),
        ("UPDATE t SET x = 3", "UPDATE"),
        ("DROP TABLE t", "DROP TABLE"),
        ("CREATE TABLE u (y)", "CREATE TABLE"),
        ("PRAGMA query_only = OFF", "PRAGMA query_only"),
    ],
)
def test_sqlite_read_runs_only_statements_that_read(base: Path, elsewhere: Path, query: str, what: str) -> None:
    target = elsewhere / "x.db"
    with pytest.raises(StepError) as caught:
        _read(base, query.format(target=target))
    assert str(caught.value) == (
        f"sqlite.read runs read-only statements and refused {what}; change the database in a "
        "transform_at_load step (sqlite.execute, sql.execute)"
    )
    assert not target.exists()
    assert _read(base, "SELECT x FROM t") == [{"x": 1}]


def test_sqlite_read_still_reads_pragmas_and_views(base: Path) -> None:
    assert [row["name"] for row in _read(base, "PRAGMA table_info(t)")] == ["x"]
    assert _read(base, "WITH v AS (SELECT x * 2 AS y FROM t) SELECT y FROM v") == [{"y": 2}]


def test_a_refused_statement_fails_the_pipeline_with_one_line(plugins, write_config, tmp_path: Path) -> None:
    from orchestrator.config.plan import load_plan
    from orchestrator.engine import Engine

    with sqlite3.connect(tmp_path / "in.db") as db:
        db.execute("CREATE TABLE t (x)")
    db.close()
    outside = tmp_path.parent / f"{tmp_path.name}-outside.db"
    config = write_config(
        f"""
        pipelines:
          p:
            type: ETL
            phases:
              extract: {{steps: [{{id: src, plugin: sqlite.read, args: {{database: in.db, query: "ATTACH '{outside}' AS x"}}}}]}}
              load: {{steps: [{{plugin: jsonl.write, args: {{path: out.jsonl}}}}]}}
        """
    )
    outcome = Engine(load_plan(config, plugins.registry), plugins).run_sync().pipelines["p"]
    assert outcome.error == (
        "step 'src' (sqlite.read) failed: sqlite.read runs read-only statements and refused ATTACH or VACUUM; "
        "change the database in a transform_at_load step (sqlite.execute, sql.execute)"
    )
    assert not outside.exists()
