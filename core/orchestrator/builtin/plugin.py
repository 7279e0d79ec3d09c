"""Registration of the built-in steps, executors and notification channels.

This module is what the ``builtin`` entry point names. It only registers names, schemas and
``"module:function"`` references, so it imports nothing heavy; each step's module is imported when
the step first runs (a channel's, when a run first notifies).
"""

from __future__ import annotations

from typing import Any

from orchestrator.plugins.hookspecs import hookimpl
from orchestrator.plugins.registry import Register

_HERE = "orchestrator.builtin"


def _object(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "required": required, "properties": properties}


def _prop(kind: str | list[str], description: str, example: Any, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "description": description, "examples": [example], **extra}


PATH = _prop("string", "File path, relative to the pipeline file.", "data/customers.csv", minLength=1)
BATCH_SIZE = _prop("integer", "Rows per batch while streaming.", 5000, minimum=1)
ENCODING = _prop("string", "Text encoding of the file.", "utf-8")
DELIMITER = _prop("string", "Field separator.", ",", minLength=1, maxLength=1)
DATABASE = _prop("string", "SQLite database file, relative to the pipeline file, or ':memory:'.", "out/warehouse.db", minLength=1)

CSV_READ = _object(
    {
        "path": PATH,
        "batch_size": BATCH_SIZE,
        "delimiter": DELIMITER,
        "encoding": ENCODING,
        "types": _prop(
            "object",
            "Column types to convert to; other columns stay strings.",
            {"amount": "float", "quantity": "int"},
            additionalProperties={"enum": ["str", "int", "float", "bool"]},
        ),
    },
    ["path"],
)
CSV_WRITE = _object(
    {
        "path": PATH,
        "delimiter": DELIMITER,
        "encoding": ENCODING,
        "columns": _prop(
            "array",
            "The header, in order; written even when no row arrives. Without it, every key of the first batch.",
            ["id", "name", "email"],
            items={"type": "string"},
            minItems=1,
            uniqueItems=True,
        ),
    },
    ["path"],
)
JSONL_READ = _object({"path": PATH, "batch_size": BATCH_SIZE, "encoding": ENCODING}, ["path"])
JSONL_WRITE = _object({"path": PATH, "encoding": ENCODING}, ["path"])
PIPELINE_ROWS = {
    **_object({"source": _prop("string", "The pipeline of this run whose rows to take.", "orders", minLength=1)}, ["source"]),
    "examples": [{"source": "orders"}],
}
PIPELINE_HANDOFF = {**_object({}, []), "examples": [{}]}
SQLITE_READ = _object(
    {
        "database": DATABASE,
        "query": _prop("string", "The SELECT to run.", "SELECT * FROM customers", minLength=1),
        "parameters": _prop(["array", "object"], "Values for the query's ? or :name placeholders.", ["EU"]),
        "batch_size": BATCH_SIZE,
    },
    ["database", "query"],
)
SQLITE_WRITE = _object(
    {
        "database": DATABASE,
        "table": _prop("string", "Target table.", "customers", minLength=1),
        "mode": {
            "description": "create: the table must not exist; append: add rows (creating the table when missing); replace: swap in a new table when every row was written.",
            "enum": ["create", "append", "replace"],
            "default": "append",
            "examples": ["replace"],
        },
    },
    ["database", "table"],
)
SQLITE_EXECUTE = _object(
    {"database": DATABASE, "sql": _prop("string", "SQL statements, run in one transaction.", "CREATE TABLE t AS SELECT 1", minLength=1)},
    ["database", "sql"],
)
PYTHON_CALL = _object(
    {
        "callable": _prop(
            "string",
            "The function to call, as 'module:function', importable from the pipeline file's directory.",
            "my_transforms:clean",
            pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$",
        ),
        "kwargs": _prop("object", "Keyword arguments passed to the function.", {"threshold": 10}),
    },
    ["callable"],
)
PROCESS_EXECUTOR = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"workers": _prop("integer", "Worker processes (default: the number of CPUs).", 2, minimum=1)},
}
LOCAL_EXECUTOR = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"threads": _prop("integer", "Worker threads for sync steps (anyio's default is 40).", 8, minimum=1)},
}
#: a number that is NaN, which passes every numeric bound: ``not`` it
NAN = {"type": "number", "maximum": -1, "minimum": 1}
TIMEOUT = _prop("number", "Seconds to wait for the server before the send counts as failed.", 10, exclusiveMinimum=0, **{"not": NAN})
#: http(s)://, optional user info, a host (an IPv6 address in brackets), optional port and path
URL_PATTERN = r"^https?://([^\s/?#@]*@)?(\[[0-9A-Fa-f:.]+\](:\d+)?|[^\s/?#@\[\]]+)([/?#]\S*)?$"
WEBHOOK = _object(
    {
        "url": _prop(
            "string",
            "The http:// or https:// URL the notification is POSTed to, as JSON.",
            "${ALERT_URL}",
            pattern=URL_PATTERN,
        ),
        "headers": _prop(
            "object", "Extra HTTP headers (an Authorization token, say).", {"Authorization": "Bearer ${ALERT_TOKEN}"},
            additionalProperties={"type": "string"},
        ),
        "timeout": TIMEOUT,
    },
    ["url"],
)
LOG = _object(
    {
        "level": {
            "description": "Log level of the line; by default info for success, warning for failure and retry_exhausted.",
            "enum": ["info", "warning", "error"],
            "examples": ["error"],
        }
    },
    [],
)
SMTP = _object(
    {
        "host": _prop("string", "The SMTP server.", "smtp.example.com", minLength=1),
        "port": _prop("integer", "The server's port (25 by default; 587 with starttls, usually).", 587, minimum=1, maximum=65535),
        "from": _prop("string", "The sender address.", "etl@example.com", minLength=1),
        "to": _prop("array", "Recipient addresses.", ["data-team@example.com"], items={"type": "string", "minLength": 1}, minItems=1),
        "username": _prop("string", "Log in with this user name (after STARTTLS, when starttls is set).", "etl"),
        "password": _prop("string", "The password for username; write it as ${SMTP_PASSWORD} so it stays out of the file and the output.", "${SMTP_PASSWORD}"),
        "starttls": _prop("boolean", "Switch the connection to TLS with STARTTLS before logging in.", True),
        "timeout": TIMEOUT,
    },
    ["host", "from", "to"],
)


@hookimpl
def register_extractors(register: Register) -> None:
    register("csv.read", f"{_HERE}.csv_files:read", schema=CSV_READ, description="Read a CSV file as row dicts, in batches.")
    register("jsonl.read", f"{_HERE}.jsonl_files:read", schema=JSONL_READ, description="Read a JSON Lines file, in batches.")
    register("sqlite.read", f"{_HERE}.sqlite_steps:read", schema=SQLITE_READ, description="Run a query against a SQLite database.")
    register("python.call", f"{_HERE}.python_call:extract", schema=PYTHON_CALL, description="Call a function of your project.")
    register(
        "pipeline.rows", f"{_HERE}.handoff:take", schema=PIPELINE_ROWS,
        description="The rows another pipeline hands over in the run (what extract: {from: ...} adds).",
    )


@hookimpl
def register_transformers(register: Register) -> None:
    register("python.call", f"{_HERE}.python_call:transform", schema=PYTHON_CALL, description="Call a function of your project on each batch.")


@hookimpl
def register_loaders(register: Register) -> None:
    register("csv.write", f"{_HERE}.csv_files:write", schema=CSV_WRITE, description="Write rows to a CSV file.")
    register("jsonl.write", f"{_HERE}.jsonl_files:write", schema=JSONL_WRITE, description="Write values to a JSON Lines file.")
    register("sqlite.write", f"{_HERE}.sqlite_steps:write", schema=SQLITE_WRITE, description="Insert rows into a SQLite table, batches committed together.")
    register("python.call", f"{_HERE}.python_call:load", schema=PYTHON_CALL, description="Call a function of your project with each batch.")
    register(
        "pipeline.handoff", f"{_HERE}.handoff:hand_off", schema=PIPELINE_HANDOFF,
        description="Hand the rows over to the pipelines that take them (added for extract: {from: ...}).",
    )


@hookimpl
def register_load_transformers(register: Register) -> None:
    register("sqlite.execute", f"{_HERE}.sqlite_steps:execute", schema=SQLITE_EXECUTE, description="Run SQL inside a SQLite database.")
    register("python.call", f"{_HERE}.python_call:transform_at_load", schema=PYTHON_CALL, description="Call a function of your project.")


@hookimpl
def register_executors(register: Register) -> None:
    register("process", "orchestrator.executors.process:ProcessExecutor", schema=PROCESS_EXECUTOR,
             description="A pool of worker processes on this machine, for CPU-bound pipelines.")
    register("local", "orchestrator.executors.local:LocalExecutor", schema=LOCAL_EXECUTOR, description="anyio in this process (the default).")


@hookimpl
def register_notifiers(register: Register) -> None:
    register("webhook", f"{_HERE}.notifiers:Webhook", schema=WEBHOOK, description="POST each notification as JSON to a URL.")
    register("log", f"{_HERE}.notifiers:Log", schema=LOG, description="A line in the run's output for each notification.")
    register("smtp", f"{_HERE}.notifiers:Smtp", schema=SMTP, description="E-mail each notification through an SMTP server.")
