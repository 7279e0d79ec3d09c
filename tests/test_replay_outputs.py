"""A replay of dead letters adds to what the replayed run's loads wrote: the file loads append
(all or nothing), and a step that can only replace its file is refused, naming it. The config is
the one of docs/reliability.md ("Dead letters"), followed as written."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from helpers import cli

CONFIG = """
defaults:
  on_error: dead_letter
pipelines:
  prices:
    type: ETL
    phases:
      extract:
        steps:
          - plugin: csv.read
            args: {path: prices.csv}
      transform:
        steps:
          - id: parse
            plugin: python.call
            args: {callable: "prices:parse"}
      load:
        steps:
          - id: to_db
            plugin: sqlite.write
            args: {database: out/shop.db, table: prices}
          - plugin: jsonl.write
            args: {path: out/prices.jsonl}
            on_error: fail
          - plugin: csv.write
            args: {path: out/prices.csv}
            on_error: fail
"""

PRICES = "sku,price\nA-1,9.90\nA-2,n/a\nA-3,12.00\n"
PARSE = 'def parse(rows):\n    return [{"sku": row["sku"], "price": float(row["price"])} for row in rows]\n'
PARSE_FIXED = PARSE.replace('float(row["price"])', '0.0 if row["price"] == "n/a" else float(row["price"])')


def _run_id(result) -> str:
    return json.loads(result.stdout.splitlines()[0])["run_id"]


def _first_run(write_config, config: str = CONFIG) -> tuple[Path, str]:
    path = write_config(config, **{"prices.csv": PRICES, "prices.py": PARSE})
    first = cli("run", str(path), "--json")
    assert first.returncode == 0, first.stdout + first.stderr
    (path.parent / "prices.py").write_text(PARSE_FIXED)
    return path, _run_id(first)


def test_a_replay_appends_to_the_files_the_replayed_run_wrote(write_config) -> None:
    config, run_id = _first_run(write_config)
    out = config.parent / "out"
    assert [json.loads(line)["sku"] for line in (out / "prices.jsonl").read_text().splitlines()] == ["A-1", "A-3"]

    replayed = cli("run", str(config), "--replay-dead-letters", run_id)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    lines = [json.loads(line) for line in (out / "prices.jsonl").read_text().splitlines()]
    assert lines == [{"sku": "A-1", "price": 9.9}, {"sku": "A-3", "price": 12.0}, {"sku": "A-2", "price": 0.0}]
    assert (out / "prices.csv").read_text() == "sku,price\nA-1,9.9\nA-3,12.0\nA-2,0.0\n", "one header, the rows added"
    with sqlite3.connect(out / "shop.db") as db:
        assert [r[0] for r in db.execute("SELECT sku FROM prices ORDER BY rowid")] == ["A-1", "A-3", "A-2"]
    assert not list(out.glob(".*.tmp"))


def test_a_replayed_row_with_a_column_the_csv_header_lacks_fails_naming_it(write_config) -> None:
    config, run_id = _first_run(write_config)
    (config.parent / "prices.py").write_text(PARSE_FIXED.replace('"sku": row["sku"]', '"sku": row["sku"], "note": "replayed"'))
    before = (config.parent / "out" / "prices.csv").read_text()
    replayed = cli("run", str(config), "--replay-dead-letters", run_id)
    assert replayed.returncode == 1
    assert "has column 'note', which the CSV header (from the file) lacks" in replayed.stdout
    assert (config.parent / "out" / "prices.csv").read_text() == before, "a failed replay leaves the file as it was"


REPLACING_LOAD = '''
from orchestrator.files import atomic_output

def write(rows, context):
    with atomic_output(context, "out/report.txt") as handle:
        handle.write("".join(f"{row['sku']}\\n" for row in rows))
    return len(rows)
'''


def test_a_load_that_can_only_replace_its_file_is_refused_on_a_replay_naming_the_step(write_config) -> None:
    config = CONFIG.replace(
        "          - plugin: csv.write\n            args: {path: out/prices.csv}\n",
        "          - id: report\n            plugin: python.call\n            args: {callable: \"report:write\"}\n",
    )
    path = write_config(config, **{"prices.csv": PRICES, "prices.py": PARSE, "report.py": REPLACING_LOAD})
    first = cli("run", str(path), "--json")
    assert first.returncode == 0, first.stdout + first.stderr
    (path.parent / "prices.py").write_text(PARSE_FIXED)
    replayed = cli("run", str(path), "--replay-dead-letters", _run_id(first))
    assert replayed.returncode == 1
    assert "step 'report' (python.call) can only replace a file, which would lose the rows the replayed run wrote" in replayed.stdout
    assert (path.parent / "out" / "report.txt").read_text() == "A-1\nA-3\n"
