"""``extract: {from: ...}`` on Dask: the rows go from the source's task to the taker's as Dask
data. The proof: a pipeline between the two removes the handoff file the source also kept (the
way a taker on another machine would not see it), and the taker still gets every row, with its
types."""

from __future__ import annotations

import json
from pathlib import Path

from orchestrator.config.plan import load_plan
from orchestrator.engine import Engine

from dask_support import call, etl

STEPS = {
    "steps.py": """
        import datetime
        import decimal
        import json
        import pathlib

        def orders():
            return [{"id": i, "day": datetime.date(2026, 12, i), "amount": decimal.Decimal(i) / 4} for i in range(1, 4)]

        def wipe(folder):
            kept = list(pathlib.Path(folder).glob(".orchestrator/handoff/*/orders.rows"))
            for path in kept:
                path.unlink()
            pathlib.Path(folder, "wiped.txt").write_text(str(len(kept)))
            return [{"wiped": len(kept)}]

        def record(batch, path):
            with open(path, "a") as handle:
                for row in batch:
                    handle.write(json.dumps({key: type(value).__name__ for key, value in row.items()}) + "\\n")

        def discard(batch):
            pass
        """,
}


def test_a_taker_on_dask_gets_its_sources_rows_through_the_cluster_not_the_file(cluster, write_config, plugins, tmp_path: Path) -> None:
    seen = tmp_path / "seen.jsonl"
    taker = (
        "  taker:\n    type: ETL\n    depends_on: [wipe]\n    extract: {from: orders}\n    phases:\n"
        f"      load: {{steps: [{call('record', 'steps:record', path=str(seen))}]}}\n"
    )
    config = write_config(
        f"executor: {{name: dask, address: '{cluster.address}'}}\npipelines:\n"
        + etl("orders", call("rows", "steps:orders"), call("drop", "steps:discard"))
        + etl("wipe", call("wipe", "steps:wipe", folder=str(tmp_path)), call("drop", "steps:discard"), depends_on=("orders",))
        + taker,
        **STEPS,
    )
    result = Engine(load_plan(config, plugins.registry), plugins).run_sync()
    assert {name: p.status for name, p in result.pipelines.items()} == {"orders": "succeeded", "wipe": "succeeded", "taker": "succeeded"}
    assert (tmp_path / "wiped.txt").read_text() == "1"  # the kept file was there, and gone before the taker ran
    types = [json.loads(line) for line in seen.read_text().splitlines()]
    assert types == [{"id": "int", "day": "date", "amount": "Decimal"}] * 3
