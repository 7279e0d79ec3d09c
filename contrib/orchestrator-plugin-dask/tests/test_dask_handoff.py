"""Rows between pipelines on Dask. ``extract: {from: ...}``: the rows go from the source's task to
the taker's as Dask data. ``foreach: {from: ...}``: the client, which makes the instances, fetches
the items from the source's task. The proof, for both: a pipeline between the source and its taker
removes the handoff file the source also kept (the way the client or a taker on another machine
would not see it), and the taker still gets every row, with its types."""

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

        def one(day, amount):
            return [{"day": day, "amount": amount}]

        class WorkerOnly:  # of a module the workers import and the client does not
            pass

        def opaque():
            return [{"id": 1, "value": WorkerOnly()}]

        def discard(batch):
            pass
        """,
}


def _wiped_between(cluster, write_config, plugins, tmp_path: Path, taker: str) -> dict[str, str]:
    """Run ``orders``, then ``wipe`` (which deletes the rows ``orders`` kept in the run's handoff
    folder, as a taker on another machine would not see them), then ``taker`` (YAML lines of a
    pipeline that depends on ``wipe`` and takes the rows of ``orders``); the pipelines' statuses."""
    config = write_config(
        f"executor: {{name: dask, address: '{cluster.address}'}}\npipelines:\n"
        + etl("orders", call("rows", "steps:orders"), call("drop", "steps:discard"))
        + etl("wipe", call("wipe", "steps:wipe", folder=str(tmp_path)), call("drop", "steps:discard"), depends_on=("orders",))
        + taker,
        **STEPS,
    )
    result = Engine(load_plan(config, plugins.registry), plugins).run_sync()
    assert (tmp_path / "wiped.txt").read_text() == "1"  # the kept file was there, and gone before the taker started
    return {name: p.status for name, p in result.pipelines.items()}


def test_a_taker_on_dask_gets_its_sources_rows_through_the_cluster_not_the_file(cluster, write_config, plugins, tmp_path: Path) -> None:
    seen = tmp_path / "seen.jsonl"
    taker = (
        "  taker:\n    type: ETL\n    depends_on: [wipe]\n    extract: {from: orders}\n    phases:\n"
        f"      load: {{steps: [{call('record', 'steps:record', path=str(seen))}]}}\n"
    )
    statuses = _wiped_between(cluster, write_config, plugins, tmp_path, taker)
    assert statuses == {"orders": "succeeded", "wipe": "succeeded", "taker": "succeeded"}
    types = [json.loads(line) for line in seen.read_text().splitlines()]
    assert types == [{"id": "int", "day": "date", "amount": "Decimal"}] * 3


def test_a_foreach_on_dask_takes_its_items_from_the_sources_task_not_the_file(cluster, write_config, plugins, tmp_path: Path) -> None:
    seen = tmp_path / "seen.jsonl"
    each = (
        "  each:\n    type: ETL\n    depends_on: [wipe]\n    foreach: {from: orders, key: id}\n    phases:\n"
        f"      extract: {{steps: [{call('one', 'steps:one', day='${item.day}', amount='${item.amount}')}]}}\n"
        f"      load: {{steps: [{call('record', 'steps:record', path=str(seen))}]}}\n"
    )
    statuses = _wiped_between(cluster, write_config, plugins, tmp_path, each)
    assert statuses == {
        "orders": "succeeded", "wipe": "succeeded", "each[1]": "succeeded", "each[2]": "succeeded", "each[3]": "succeeded",
    }
    types = [json.loads(line) for line in seen.read_text().splitlines()]
    assert types == [{"day": "date", "amount": "Decimal"}] * 3


def test_a_foreach_whose_items_the_client_cannot_load_fails_alone(cluster, write_config, plugins, tmp_path: Path) -> None:
    each = (
        "  each:\n    type: ETL\n    foreach: {from: opaque, key: id}\n    phases:\n"
        f"      extract: {{steps: [{call('rows', 'steps:orders')}]}}\n"
        f"      load: {{steps: [{call('drop', 'steps:discard')}]}}\n"
    )
    config = write_config(
        f"executor: {{name: dask, address: '{cluster.address}'}}\npipelines:\n"
        + etl("opaque", call("rows", "steps:opaque"), call("drop", "steps:discard"))
        + etl("other", call("rows", "steps:orders"), call("drop", "steps:discard"))
        + each,
        **STEPS,
    )
    result = Engine(load_plan(config, plugins.registry), plugins).run_sync()
    assert {name: p.status for name, p in result.pipelines.items()} == {"opaque": "succeeded", "other": "succeeded", "each": "failed"}
    error = result.pipelines["each"].error
    assert error.startswith("foreach: the rows of 'opaque' cannot be fetched from executor 'dask': "), error
    assert "No module named 'steps'" in error, error
