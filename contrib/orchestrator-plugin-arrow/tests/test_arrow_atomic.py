"""A failed run leaves the previous output file as it was, and no temporary file behind."""

from __future__ import annotations

import os
import stat

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

GOOD = "".join(f"{i},name{i}\n" for i in range(3000))


@pytest.mark.parametrize(
    ("plugin", "target"),
    [("arrow.write_parquet", "out/data.parquet"), ("arrow.write_csv", "out/data.csv")],
)
def test_a_failure_mid_stream_keeps_the_previous_file(
    tmp_path, write, run, config, plugin, target
):
    write("in.csv", "id,name\n" + GOOD)
    steps = (
        "{plugin: arrow.read_csv, args: {path: in.csv, block_size: 8192}}",
        f"{{plugin: {plugin}, args: {{path: {target}}}}}",
    )
    assert run(config(*steps)).ok
    before = (tmp_path / target).read_bytes()

    # the same rows, then a broken row several blocks in: some batches reach the writer first
    write("in.csv", "id,name\n" + GOOD + GOOD + "6000\n" + GOOD)
    result = run(config(*steps))

    assert not result.ok
    assert "fields, but the header has 2" in result.pipelines["p"].error
    assert (tmp_path / target).read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        target.split("/")[1]
    ]


def test_a_failing_batch_after_good_ones_keeps_no_partial_parquet(
    tmp_path, write, run, config
):
    write(
        "rows.py",
        """
        def batches():
            yield [{"id": i} for i in range(1000)]
            yield [{"id": "not a number"}]
        """,
    )
    result = run(
        config(
            "{plugin: python.call, args: {callable: 'rows:batches'}}",
            "{plugin: arrow.write_parquet, args: {path: out/new.parquet}}",
            "{plugin: arrow.from_rows}",
        )
    )

    assert not result.ok
    assert list((tmp_path / "out").iterdir()) == []


def test_the_written_file_gets_ordinary_permissions(tmp_path, write, run, config):
    write("in.csv", "a\n1\n")
    assert run(
        config(
            "{plugin: arrow.read_csv, args: {path: in.csv}}",
            "{plugin: arrow.write_parquet, args: {path: new.parquet}}",
        )
    ).ok

    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE((tmp_path / "new.parquet").stat().st_mode) == 0o666 & ~umask
    assert pq.read_table(tmp_path / "new.parquet").equals(
        pacsv.read_csv(tmp_path / "in.csv")
    )
    assert pq.read_table(tmp_path / "new.parquet").schema == pa.schema(
        [("a", pa.int64())]
    )
