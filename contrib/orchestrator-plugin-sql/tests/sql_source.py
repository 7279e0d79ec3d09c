"""The extract side of the write tests, written beside each test's pipeline as ``source.py`` and
called through the built-in ``python.call``: it yields the batches of a JSON file, and can then
wait until the load has committed some rows and fail, like a source that breaks mid-stream."""

SOURCE = '''
import json
import sqlite3
import time
from pathlib import Path


def batches(file, fail_when=None):
    for batch in json.loads((Path(__file__).parent / file).read_text()):
        yield batch
    if fail_when:
        _wait_for_rows(**fail_when)
        raise RuntimeError("the source broke")


def _wait_for_rows(url, table, rows):
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            if _count(url, table) >= rows:
                return
        except Exception:  # the table is not there yet
            pass
        time.sleep(0.02)


def _count(url, table):
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url[len("sqlite:///"):]) as connection:
            return connection.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
    import psycopg

    with psycopg.connect(url) as connection:
        return connection.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
'''
