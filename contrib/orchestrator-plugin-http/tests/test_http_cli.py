"""End to end through the installed ``orchestrator`` command: the token sent in a header never
reaches stdout or stderr, in plain or JSON output, whether the run succeeds, retries or fails."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from api_server import TOKEN, ApiServer
from support import cli

CLIENT_REF = "client-ref-not-a-secret-name-31337"  # a variable the core would not redact by name

CONFIG = """
pipelines:
  orders:
    type: ETL
    phases:
      extract:
        steps:
          - id: orders_api
            plugin: http.get
            args:
              url: ${API_BASE_URL}/v1/secure
              headers: {Authorization: "Bearer ${API_TOKEN}", X-Client: "${CLIENT_REF}"}
              records: data
      load:
        steps:
          - plugin: jsonl.write
            args: {path: out/orders.jsonl}
  flaky:
    type: ETL
    phases:
      extract:
        steps:
          - id: flaky_api
            plugin: http.get
            args:
              url: ${API_BASE_URL}/v1/unavailable
              headers: {Authorization: "Bearer ${API_TOKEN}", X-Client: "${CLIENT_REF}"}
              retry: {attempts: 3, backoff: 0.01}
      load:
        steps:
          - plugin: jsonl.write
            args: {path: out/flaky.jsonl}
  rejected:
    type: ETL
    phases:
      extract:
        steps:
          - id: rejected_api
            plugin: http.get
            args:
              url: ${API_BASE_URL}/v1/bad-request
              params: {token: "${API_TOKEN}"}
              headers: {X-Api-Key: "${CLIENT_REF}"}
      load:
        steps:
          - plugin: jsonl.write
            args: {path: out/rejected.jsonl}
"""


@pytest.mark.e2e
@pytest.mark.parametrize("as_json", [False, True], ids=["plain", "json"])
def test_header_secrets_never_reach_the_output(api: ApiServer, tmp_path: Path, as_json: bool) -> None:
    (tmp_path / "pipeline.yaml").write_text(CONFIG)
    env = {"API_BASE_URL": api.url, "API_TOKEN": TOKEN, "CLIENT_REF": CLIENT_REF}

    done = cli("run", "pipeline.yaml", *(["--json"] if as_json else []), env=env, cwd=tmp_path)

    output = done.stdout + done.stderr
    assert done.returncode == 1, output  # 'rejected' fails, the others succeed
    assert TOKEN not in output
    assert CLIENT_REF not in output
    assert "Traceback" not in output
    # The requests really carried the secrets, and the run really did retry and fail.
    assert api.hits("/v1/secure")[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert len(api.hits("/v1/unavailable")) == 3
    assert api.hits("/v1/bad-request")[0].query["token"] == TOKEN
    assert len((tmp_path / "out/orders.jsonl").read_text().splitlines()) == 2
    assert len((tmp_path / "out/flaky.jsonl").read_text().splitlines()) == 4
    failure = f"GET {api.url}/v1/bad-request?...: HTTP 400 Bad Request"
    assert failure in output
    assert "retrying in" in output
    if as_json:
        events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
        failed = [e for e in events if e.get("kind") == "step_failed" and e.get("phase") == "extract"]
        assert [e["step"] for e in failed] == ["rejected_api"]
        assert failure in failed[0]["error"]
