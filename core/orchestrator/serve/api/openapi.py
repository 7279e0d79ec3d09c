"""``GET /api/openapi.json``: the OpenAPI 3.1 document of every route, written out here (a test
checks that every route the app has is in it, and that docs/web-api.md shows each one).

Rows of the history are described with the columns they have today and
``additionalProperties: true``: a column a newer version adds appears in the answers unannounced.
"""

from __future__ import annotations

import re
from typing import Any

from orchestrator.version import __version__

__all__ = ["ROUTES", "document"]

_STRING, _INT, _NUMBER, _BOOL = {"type": "string"}, {"type": "integer"}, {"type": "number"}, {"type": "boolean"}
_NULLABLE_NUMBER = {"type": ["number", "null"]}


def _object(required: dict[str, Any], *, more: bool = False) -> dict[str, Any]:
    return {"type": "object", "properties": required, "required": list(required), "additionalProperties": more}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _list(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": item}


_ROW = {"type": "object", "additionalProperties": True}
SCHEMAS: dict[str, Any] = {
    "Error": _object({"error": {**_STRING, "description": "what happened and what to do about it"}}),
    "Health": _object({"status": _STRING, "holder": _STRING, "lease": _BOOL, "files": _INT, "running": _INT, "started_at": _STRING}),
    "Schedules": _list(_ROW),
    "Files": _object({"files": _list(_object({"id": _STRING, "name": _STRING, "pipelines": _list(_STRING),
                                               "schedules": _INT, "triggers": _INT}))}),
    "Pipelines": _object({"pipelines": _list(_object({
        "file": _STRING, "name": _STRING, "type": _STRING, "depends_on": _list(_STRING),
        "schedule": {"oneOf": [{"type": "null"}, _object({"text": _STRING, "timezone": _STRING, "paused": _BOOL,
                                                           "next": {"type": ["string", "null"]}})]},
        "triggers": _list(_STRING),
        "runs": _list(_object({"run_id": _STRING, "status": _STRING, "started": _NULLABLE_NUMBER, "elapsed": _NULLABLE_NUMBER})),
        "params": {**_list(_object({
            "name": _STRING, "default": {"description": "the declared default; *** when the name looks secret"},
            "type": {"type": ["string", "null"], "enum": ["boolean", "integer", "number", "list", "string", None],
                     "description": "from the default: what a given value is converted to"},
            "secret": {**_BOOL, "description": "the name looks secret (its default is hidden)"}})),
            "description": "the params: the pipeline's file declares, in order (every pipeline of a file shares them)"},
    }))}),
    "Plugins": _object({"plugins": _list(_ROW), "failed": _list(_object({"name": _STRING, "distribution": _STRING,
                                                                         "version": _STRING, "error": _STRING}))}),
    "Run": {**_object({"run_id": _STRING, "file": _STRING, "status": _STRING, "started": _NUMBER, "params": {}}, more=True),
            "description": "every column of the history's runs table but config_text, plus file (its id)"},
    "RunPage": _object({"runs": _list(_ref("Run")), "next": {"type": ["string", "null"], "description": "pass as ?before= for the next page"}}),
    "RunDetail": {**_object({
        "run": {**_ref("Run"), "description": "with live: true while this server runs it"},
        "pipelines": {**_list(_ROW), "description": "every column of pipeline_runs but run_id, plus step_count (steps started)"},
        "phases": {**_list(_ROW), "description": "left out with ?steps=0"},
        "steps": {**_list(_ROW), "description": "step attempts (started, finished, rows_in, rows, rejected, attempt, error); left out with ?steps=0"},
        "dag": _object({"nodes": _list(_object({"id": _STRING, "status": _STRING})),
                        "edges": _list(_object({"from": _STRING, "to": _STRING}))}),
    }), "required": ["run", "pipelines", "dag"]},
    "RunPipeline": _object({
        "pipeline": {"oneOf": [{"type": "null"}, _ROW], "description": "its pipeline_runs row but run_id, plus step_count; null before it starts"},
        "phases": {**_list(_ROW), "description": "without run_id and pipeline"},
        "steps": {**_list(_ROW), "description": "step attempts, without run_id and pipeline"},
    }),
    "LogPage": _object({"lines": _list(_object({"run_id": _STRING, "seq": _INT, "pipeline": {"type": ["string", "null"]},
                                                "step": {"type": ["string", "null"]}, "attempt": {"type": ["integer", "null"]},
                                                "time": _NUMBER, "level": _STRING, "message": _STRING}, more=True)),
                        "next": {**_INT, "description": "pass as ?after= for the lines that follow"}}),
    "DeadLetters": _object({"counts": _list(_object({"pipeline": _STRING, "phase": _STRING, "step": _STRING, "rows": _INT})),
                            "rows": _list(_ROW), "next": {"type": ["integer", "null"], "description": "pass as ?offset="}}),
    "Config": _object({"run_id": _STRING, "file": _STRING, "config_hash": _STRING, "text": {"type": ["string", "null"]}}),
    "Diff": _object({"a": _STRING, "b": _STRING, "same": _BOOL, "diff": _STRING}),
    "Accepted": _object({"run_id": _STRING}),
    "Cancelling": _object({"run_id": _STRING, "status": {"const": "cancelling"}}),
    "Paused": _object({"file": _STRING, "pipeline": _STRING, "paused": _BOOL}),
    "RunRequest": {**_object({"params": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}}}),
                   "required": []},
}

def _q(name: str, description: str, kind: str = "string") -> tuple[str, str, str]:
    return (name, kind, description)


#: (method, path, summary, query parameters, answer schema (None: an event stream), status)
ROUTES: list[tuple[str, str, str, list[tuple[str, str, str]], str | None, int]] = [
    ("get", "/api/health", "Whether the server runs, holds the scheduler lease, and how many runs it runs", [], "Health", 200),
    ("get", "/api/schedules", "Every schedule and trigger with its next fire times (as orchestrator schedules)", [], "Schedules", 200),
    ("get", "/api/files", "The pipeline files served, under their ids", [], "Files", 200),
    ("get", "/api/pipelines", "Every pipeline of every served file: schedule, next run, paused, last 25 runs, declared params",
     [_q("q", "keep pipelines whose name or file id contains this (any case)"), _q("failing", "1: pipelines whose latest run failed first")],
     "Pipelines", 200),
    ("get", "/api/plugins", "Installed plugins and those that failed to load, with why", [], "Plugins", 200),
    ("get", "/api/runs", "Runs of the served files, newest first, one page at a time",
     [_q("file", "a served file's id (GET /api/files)"), _q("pipeline", "runs that ran this pipeline"), _q("status", "running, succeeded, failed, interrupted or cancelled"),
      _q("limit", "runs per page, 1 to 500 (50)", "integer"), _q("before", "the next of the previous page")], "RunPage", 200),
    ("get", "/api/runs/{run_id}", "One run: pipelines, phases, step attempts (a timeline), and the DAG of its pipelines",
     [_q("steps", "0: without the phases and step attempts (read them per pipeline)")], "RunDetail", 200),
    ("get", "/api/runs/{run_id}/pipelines/{pipeline}", "One pipeline of a run: its row, phases and step attempts", [], "RunPipeline", 200),
    ("get", "/api/runs/{run_id}/logs", "A run's log lines in order, one page at a time",
     [_q("pipeline", "this pipeline's lines only"), _q("step", "this step's lines only"),
      _q("after", "lines after this seq (0)", "integer"), _q("limit", "lines per page, 1 to 5000 (1000)", "integer")], "LogPage", 200),
    ("get", "/api/runs/{run_id}/dead-letters", "The rows a run's steps rejected, with why, one page at a time",
     [_q("pipeline", "this pipeline's rows only"), _q("offset", "rows to skip (0)", "integer"), _q("limit", "rows per page, 1 to 1000 (100)", "integer")],
     "DeadLetters", 200),
    ("get", "/api/runs/{run_id}/config", "The pipeline file as the run ran it, redacted", [], "Config", 200),
    ("get", "/api/runs/{a}/diff/{b}", "The unified diff from run a's pipeline file to run b's", [], "Diff", 200),
    ("get", "/api/runs/{run_id}/events", "A run's events as server-sent events, until it ends", [], None, 200),
    ("get", "/api/events", "Every run's events as server-sent events", [], None, 200),
    ("get", "/api/openapi.json", "This document", [], None, 200),
    ("post", "/api/pipelines/{file}/{pipeline}/runs", "Run a pipeline (and what it depends on) now, with params", [], "Accepted", 202),
    ("post", "/api/runs/{run_id}/resume", "Resume a run that did not succeed (as --resume)", [], "Accepted", 202),
    ("post", "/api/runs/{run_id}/cancel", "Cancel a run this server started: recorded as cancelled, resumable", [], "Cancelling", 202),
    ("post", "/api/runs/{run_id}/replay-dead-letters", "A new run of a run's dead letters (as --replay-dead-letters)", [], "Accepted", 202),
    ("post", "/api/schedules/{file}/{pipeline}/pause", "Pause a pipeline's schedule (kept in the state store)", [], "Paused", 200),
    ("post", "/api/schedules/{file}/{pipeline}/unpause", "Unpause a pipeline's schedule", [], "Paused", 200),
]

_ERRORS = {"400": "the request is wrong", "401": "no access token, or a wrong one", "403": "refused: cross-site, or another Host",
           "404": "no such file, pipeline, run or route", "409": "not now, given the state of the run or schedule"}


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document."""
    paths: dict[str, Any] = {}
    for method, path, summary, query, schema, status in ROUTES:
        parameters = [{"name": name, "in": "path", "required": True, "schema": _STRING} for name in re.findall(r"\{(\w+)\}", path)]
        parameters += [{"name": name, "in": "query", "required": False, "description": text, "schema": {"type": kind}}
                       for name, kind, text in query]
        if schema is not None:
            content = {"application/json": {"schema": _ref(schema)}}
        elif path.endswith("openapi.json"):
            content = {"application/json": {"schema": {"type": "object"}}}
        else:
            content = {"text/event-stream": {"schema": {**_STRING, "description": "data: lines of JSON, each an event (Event.to_dict()); "
                                                                                  "the last one of a run is {\"kind\": \"end\", \"status\": ...}"}}}
        operation: dict[str, Any] = {
            "summary": summary, "operationId": f"{method} {path}", "parameters": parameters,
            "responses": {str(status): {"description": "OK" if status == 200 else "Accepted", "content": content},
                          **{code: {"description": text, "content": {"application/json": {"schema": _ref("Error")}}}
                             for code, text in _ERRORS.items()}},
        }
        if method == "post":
            operation["parameters"].append({"name": "X-Orchestrator-Request", "in": "header", "required": True, "schema": {"const": "1"}})
            if path.endswith("/runs"):
                operation["requestBody"] = {"required": False, "content": {"application/json": {"schema": _ref("RunRequest")}}}
        paths.setdefault(path, {})[method] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "orchestrator serve", "version": __version__,
                 "description": "The JSON API of orchestrator serve: see docs/web-api.md."},
        "paths": paths,
        "components": {"schemas": SCHEMAS, "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}}},
        "security": [{}, {"token": []}],
    }
