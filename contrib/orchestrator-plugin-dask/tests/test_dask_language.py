"""The pipeline language on the Dask executor, which takes the whole DAG: foreach instances are
pipelines of the graph like any other, and a pipeline with a ``run_if`` or a ``when`` is judged by
the engine (the cluster knows only the default rule), so an alerting pipeline runs after a failure
and a false condition skips its pipeline."""

from __future__ import annotations

from pathlib import Path

from orchestrator.config.plan import load_plan
from orchestrator.engine import Engine

from dask_support import call, etl, sqlite_replace

STEPS = {
    "steps.py": """
        def rows(n=3):
            return [{"id": i} for i in range(n)]

        def explode(rows):
            raise RuntimeError("bad batch")
        """,
}


def test_foreach_run_if_and_when_on_dask(cluster, write_config, plugins, tmp_path: Path) -> None:
    ingest = etl("ingest", call("rows", "steps:rows"), sqlite_replace("'t_${item}'")).replace(
        "    type: ETL\n", "    type: ETL\n    foreach: [eu, us]\n", 1
    )
    alert = etl("alert", call("rows", "steps:rows"), sqlite_replace("alert"), depends_on=("broken",)).replace(
        "    type: ETL\n", "    type: ETL\n    run_if: any_failed\n", 1
    )
    quiet = etl("quiet", call("rows", "steps:rows"), sqlite_replace("quiet"), depends_on=("ingest",)).replace(
        "    type: ETL\n", "    type: ETL\n    when: upstream.ingest.status == 'failed'\n", 1
    )
    config = write_config(
        f"executor: {{name: dask, address: '{cluster.address}'}}\npipelines:\n"
        + ingest
        + etl("broken", call("rows", "steps:rows"), sqlite_replace("broken"), transform=call("boom", "steps:explode"))
        + alert
        + quiet,
        **STEPS,
    )
    result = Engine(load_plan(config, plugins.registry), plugins).run_sync()
    statuses = {name: p.status for name, p in result.pipelines.items()}
    assert statuses == {
        "ingest[eu]": "succeeded", "ingest[us]": "succeeded", "broken": "failed", "alert": "succeeded", "quiet": "skipped",
    }
    assert result.pipelines["quiet"].error == "skipped: when: upstream.ingest.status == 'failed' is false"
