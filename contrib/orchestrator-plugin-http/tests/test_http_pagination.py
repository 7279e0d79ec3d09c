"""Every pagination style against the real test server, run through the engine into real loads."""

from __future__ import annotations

import sqlite3

from api_server import ITEMS, ApiServer
from conftest import RunPipeline
from support import http_pipeline

IDS = [item["id"] for item in ITEMS]


def test_a_list_body_is_one_batch_without_pagination(run_pipeline: RunPipeline, api: ApiServer) -> None:
    ran = run_pipeline(http_pipeline('{url: "${API_BASE_URL}/v1/list"}'))

    assert ran.result.ok, ran.error
    assert ran.jsonl() == ITEMS[:3]
    assert len(api.hits("/v1/list")) == 1


def test_page_numbers_until_an_empty_page_into_sqlite(run_pipeline: RunPipeline, api: ApiServer) -> None:
    args = """
              url: ${API_BASE_URL}/v1/pages
              params: {sort: id}
              records: data.items
              pagination: {style: page, page_param: page, start: 1, size_param: per_page, size: 3}"""
    ran = run_pipeline(http_pipeline(args, "{plugin: sqlite.write, args: {database: out/api.db, table: items}}"))

    assert ran.result.ok, ran.error
    with sqlite3.connect(ran.directory / "out/api.db") as db:
        assert db.execute("SELECT id, name FROM items ORDER BY id").fetchall() == [(i["id"], i["name"]) for i in ITEMS]
    sent = [(r.query["page"], r.query["per_page"], r.query["sort"]) for r in api.hits("/v1/pages")]
    assert sent == [("1", "3", "id"), ("2", "3", "id"), ("3", "3", "id"), ("4", "3", "id")]  # the 4th page is empty
    assert [s.rows for s in ran.result.pipelines["p"].steps if s.step == "api"] == [7]


def test_offsets_advance_by_the_records_received(run_pipeline: RunPipeline, api: ApiServer) -> None:
    # The server caps pages at 3 records although 5 are asked for: offsets must not skip any.
    ran = run_pipeline(http_pipeline('{url: "${API_BASE_URL}/v1/offset", records: results, pagination: {style: offset, limit: 5}}'))

    assert ran.result.ok, ran.error
    assert [row["id"] for row in ran.jsonl()] == IDS
    assert [(r.query["offset"], r.query["limit"]) for r in api.hits("/v1/offset")] == [("0", "5"), ("3", "5"), ("6", "5"), ("7", "5")]


def test_cursor_from_the_response_until_it_is_missing(run_pipeline: RunPipeline, api: ApiServer) -> None:
    args = '{url: "${API_BASE_URL}/v1/cursor", params: {kind: all}, records: data, pagination: {style: cursor, cursor_param: cursor, cursor_path: meta.next_cursor}}'
    ran = run_pipeline(http_pipeline(args))

    assert ran.result.ok, ran.error
    assert [row["id"] for row in ran.jsonl()] == IDS
    assert [r.query.get("cursor") for r in api.hits("/v1/cursor")] == [None, "c3", "c6"]
    assert {r.query["kind"] for r in api.hits("/v1/cursor")} == {"all"}


def test_a_cursor_that_never_changes_fails_instead_of_looping(run_pipeline: RunPipeline, api: ApiServer) -> None:
    ran = run_pipeline(http_pipeline('{url: "${API_BASE_URL}/v1/stuck-cursor", records: data, pagination: {style: cursor, cursor_path: meta.next_cursor}}'))

    assert not ran.result.ok
    assert "returned the cursor it was sent" in ran.error
    assert len(api.hits("/v1/stuck-cursor")) == 2


def test_next_link_from_a_relative_url_in_the_body(run_pipeline: RunPipeline, api: ApiServer) -> None:
    ran = run_pipeline(http_pipeline('{url: "${API_BASE_URL}/v1/next-body", records: items, pagination: {style: next_link, next_path: links.next}}'))

    assert ran.result.ok, ran.error
    assert [row["id"] for row in ran.jsonl()] == IDS
    assert [r.query.get("p") for r in api.hits("/v1/next-body")] == [None, "2", "3"]


def test_next_link_from_the_link_header(run_pipeline: RunPipeline, api: ApiServer) -> None:
    ran = run_pipeline(http_pipeline('{url: "${API_BASE_URL}/v1/next-header", params: {p: 1}, pagination: {style: next_link}}'))

    assert ran.result.ok, ran.error
    assert [row["id"] for row in ran.jsonl()] == IDS
    assert [r.query.get("p") for r in api.hits("/v1/next-header")] == ["1", "2", "3"]


def test_max_pages_stops_an_endless_api(run_pipeline: RunPipeline, api: ApiServer) -> None:
    ran = run_pipeline(http_pipeline('{url: "${API_BASE_URL}/v1/endless", pagination: {style: page, max_pages: 4}}'))

    assert ran.result.ok, ran.error
    assert ran.jsonl() == [{"id": 1}, {"id": 2}, {"id": 3}, {"id": 4}]
    assert len(api.hits("/v1/endless")) == 4


def test_each_page_is_its_own_batch(run_pipeline: RunPipeline, api: ApiServer, tmp_path) -> None:
    (tmp_path / "sizes.py").write_text("SEEN = []\n\ndef record(batch):\n    SEEN.append(len(batch))\n    return batch\n\ndef sizes(batch):\n    return [{'size': len(batch)}]\n")
    text = http_pipeline('{url: "${API_BASE_URL}/v1/pages", records: data.items, pagination: {style: page}}').replace(
        "      load:",
        "      transform:\n        steps:\n          - {plugin: python.call, args: {callable: 'sizes:sizes'}}\n      load:",
    )
    ran = run_pipeline(text)

    assert ran.result.ok, ran.error
    assert ran.jsonl() == [{"size": 3}, {"size": 3}, {"size": 1}]
