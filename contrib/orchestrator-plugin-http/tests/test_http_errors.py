"""Failures surface as one line naming the URL (never its query) and what to do; header values
and query values never appear, even when the server echoes them back."""

from __future__ import annotations

import logging

import pytest
from api_server import TOKEN, ApiServer, free_port
from conftest import RunPipeline
from support import http_pipeline

FAST = "retry: {attempts: 2, backoff: 0.01, max_backoff: 0.05}"


def failure(ran_error: str) -> str:
    """The error, checked to be one line in the engine's step-failure form."""
    assert "\n" not in ran_error and "Traceback" not in ran_error
    assert ran_error.startswith("step 'api' (http.get) failed: GET http://127.0.0.1:")
    return ran_error


def test_404_names_the_url_and_what_to_check(run_pipeline: RunPipeline, api: ApiServer) -> None:
    ran = run_pipeline(http_pipeline('{url: "${API_BASE_URL}/v1/nothing-here", params: {api_key: "k-123456789"}}'))

    message = failure(ran.error)
    assert message.endswith(f"GET {api.url}/v1/nothing-here?...: HTTP 404 Not Found; check url (and the pagination parameters)")
    assert "k-123456789" not in message and "api_key" not in message


def test_401_masks_the_headers_even_when_the_server_echoes_them(run_pipeline: RunPipeline, api: ApiServer) -> None:
    ran = run_pipeline(
        http_pipeline('{url: "${API_BASE_URL}/v1/secure", records: data, headers: {Authorization: "Bearer ${CLIENT_SECRET_VALUE}"}}'),
        env={"CLIENT_SECRET_VALUE": "wrong-token-0123456789"},
    )

    message = failure(ran.error)
    assert "HTTP 401 Unauthorized: the credentials were refused (headers sent: Authorization=***); check the token" in message
    assert "wrong-token-0123456789" not in message
    assert api.hits("/v1/secure")[0].headers["authorization"] == "Bearer wrong-token-0123456789"


def test_the_authorization_header_arrives(run_pipeline: RunPipeline, api: ApiServer) -> None:
    ran = run_pipeline(
        http_pipeline('{url: "${API_BASE_URL}/v1/secure", records: data, headers: {Authorization: "Bearer ${API_TOKEN}", X-Trace: abc, accept: application/vnd.api+json}}'),
        env={"API_TOKEN": TOKEN},
    )

    assert ran.result.ok, ran.error
    assert len(ran.jsonl()) == 2
    sent = api.hits("/v1/secure")[0].headers
    assert sent["authorization"] == f"Bearer {TOKEN}"
    assert sent["x-trace"] == "abc"
    assert sent["user-agent"].startswith("orchestrator-plugin-http/")
    assert sent["accept"] == "application/vnd.api+json"  # a header given in any case replaces the default


def test_a_4xx_body_is_shown_with_header_values_masked(run_pipeline: RunPipeline, api: ApiServer) -> None:
    ran = run_pipeline(
        http_pipeline('{url: "${API_BASE_URL}/v1/bad-request", headers: {X-Api-Key: "${PARTNER_KEY}"}}'),
        env={"PARTNER_KEY": "partner-key-987654321"},
    )

    message = failure(ran.error)
    assert "HTTP 400 Bad Request" in message and "unknown filter" in message
    assert '"echo": "***"' in message
    assert "partner-key-987654321" not in message


def test_connection_refused(run_pipeline: RunPipeline) -> None:
    port = free_port()
    ran = run_pipeline(http_pipeline('{url: "http://127.0.0.1:%d/v1/list?token=abcdefgh123", %s}' % (port, FAST)))

    message = failure(ran.error)
    assert message.endswith(
        f"GET http://127.0.0.1:{port}/v1/list?...: cannot connect (connection refused) after 2 tries; "
        "check the host and port in url, and that the server is up"
    )
    assert "abcdefgh123" not in message


def test_invalid_json(run_pipeline: RunPipeline, api: ApiServer) -> None:
    ran = run_pipeline(http_pipeline('{url: "${API_BASE_URL}/v1/html"}'))

    message = failure(ran.error)
    assert "the response is not valid JSON (text/html: '<html><body>Welcome to the portal</bo...'); check that url is the API's JSON endpoint" in message


def test_a_missing_records_path_says_what_is_there(run_pipeline: RunPipeline, api: ApiServer) -> None:
    ran = run_pipeline(http_pipeline('{url: "${API_BASE_URL}/v1/object", records: data.items}'))

    message = failure(ran.error)
    assert message.endswith(
        f"GET {api.url}/v1/object: records: 'data.items' is not in the response (at 'data' is an object with keys: things); "
        "set records to the dotted path of the list"
    )


def test_an_object_body_without_records_suggests_the_path(run_pipeline: RunPipeline, api: ApiServer) -> None:
    ran = run_pipeline(http_pipeline('{url: "${API_BASE_URL}/v1/secure", headers: {Authorization: "Bearer ${API_TOKEN}"}}'), env={"API_TOKEN": TOKEN})

    message = failure(ran.error)
    assert "the response is a JSON object, not a list (keys: data); set records to the path of the list, e.g. records: data" in message


def test_records_that_are_not_a_list(run_pipeline: RunPipeline, api: ApiServer) -> None:
    ran = run_pipeline(http_pipeline('{url: "${API_BASE_URL}/v1/object", records: data}'))

    assert "records: 'data' is a JSON object, not a list" in failure(ran.error)


def test_a_header_value_that_cannot_be_sent_is_named_not_shown(run_pipeline: RunPipeline) -> None:
    ran = run_pipeline(
        http_pipeline('{url: "http://127.0.0.1:9/x", headers: {X-Key: "${ODD_VALUE}"}}'),
        env={"ODD_VALUE": "sécret-with-accent"},
    )

    assert "headers: the value of 'X-Key' is not valid in a header" in ran.error
    assert "sécret" not in ran.error


def test_logs_name_the_url_and_status_only(run_pipeline: RunPipeline, api: ApiServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="orchestrator.run")
    ran = run_pipeline(
        http_pipeline('{url: "${API_BASE_URL}/v1/unavailable", params: {key: "query-secret-42"}, headers: {X-Client: "${CLIENT_ID}"}, retry: {attempts: 3, backoff: 0.01}}'),
        env={"CLIENT_ID": "client-id-value-5555"},
    )

    assert ran.result.ok, ran.error
    lines = [record.getMessage() for record in caplog.records if record.name.startswith("orchestrator.run.p.api")]
    assert f"GET {api.url}/v1/unavailable?... -> HTTP 503 Service Unavailable; retrying in" in lines[1]
    assert lines[-1] == f"GET {api.url}/v1/unavailable?...: 4 records from 1 pages"
    text = "\n".join(lines)
    assert "client-id-value-5555" not in text and "query-secret-42" not in text
