"""The core's conformance suite over the Arrow steps: schemas, signatures, pickling, empty and bad
input, and no column lost by the writers (given record batches, as a pipeline gives them after
arrow.from_rows)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from orchestrator.context import StepContext
from orchestrator.testing import conformance_suite


def _record_batch(rows: list[dict[str, Any]]) -> Any:
    """Rows as arrow.from_rows turns them into a record batch."""
    from orchestrator_plugin_arrow.row_steps import from_rows

    return from_rows(StepContext("conformance", "conformance", {}, Path("."), "transform", "rows", "arrow.from_rows"), rows)


def _csv_rows(args: dict[str, Any], base_dir: Path) -> list[dict[str, Any]]:
    import pyarrow.csv as pacsv

    return pacsv.read_csv(base_dir / args["path"]).to_pylist()


def _parquet_rows(args: dict[str, Any], base_dir: Path) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    return pq.read_table(base_dir / args["path"]).to_pylist()


TestArrowConformance = conformance_suite(
    "arrow",
    examples={
        "arrow.read_csv": {"path": "in.csv"},
        "arrow.read_parquet": {"path": "in.parquet"},
        "arrow.write_csv": {"path": "out.csv"},
        "arrow.write_parquet": {"path": "out.parquet"},
    },
    read_back={"arrow.write_csv": _csv_rows, "arrow.write_parquet": _parquet_rows},
    batch_form={"arrow.write_csv": _record_batch, "arrow.write_parquet": _record_batch},
)


def test_read_csv_skips_a_utf8_byte_order_mark(tmp_path: Path) -> None:
    """Excel's "CSV UTF-8" starts with a BOM; the first column is still ``id``."""
    from orchestrator_plugin_arrow.csv_steps import read_csv

    (tmp_path / "in.csv").write_bytes("\ufeffid,name\n1,Zoë\n".encode())
    ctx = StepContext("run", "p", {}, tmp_path, "extract", "src", "arrow.read_csv")
    assert [row for batch in read_csv(ctx, "in.csv") for row in batch.to_pylist()] == [{"id": 1, "name": "Zoë"}]
