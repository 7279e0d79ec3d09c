"""What {{ cookiecutter.project_slug }} registers: step names, their args schemas, where the code is.

pipeline-orchestrator imports this module at every start, so it imports nothing heavy: each step is
named by a "module:function" string and imported the first time a pipeline uses it.
"""

from orchestrator import hookimpl

STEPS = "{{ cookiecutter.module_name }}.steps"
{%- if cookiecutter.extract %}

READ_ARGS = {
    "type": "object",
    "additionalProperties": False,
    "required": ["count"],
    "properties": {
        "count": {"type": "integer", "minimum": 0, "description": "How many rows to produce.", "examples": [10]},
        "batch_size": {"type": "integer", "minimum": 1, "description": "Rows per batch.", "examples": [1000]},
    },
    "examples": [{"count": 3}],
}


@hookimpl
def register_extractors(register):
    register("{{ cookiecutter.plugin_id }}.read", f"{STEPS}:read", schema=READ_ARGS, description="Produce numbered rows, in batches.")
{%- endif %}
{%- if cookiecutter.transform %}

TAG_ARGS = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "field": {"type": "string", "minLength": 1, "description": "Column to set.", "examples": ["source"]},
        "value": {"type": "string", "description": "Value to set it to.", "examples": ["{{ cookiecutter.plugin_id }}"]},
    },
    "examples": [{"field": "source", "value": "{{ cookiecutter.plugin_id }}"}],
}


@hookimpl
def register_transformers(register):
    register("{{ cookiecutter.plugin_id }}.tag", f"{STEPS}:tag", schema=TAG_ARGS, description="Set one column on every row.")
{%- endif %}
{%- if cookiecutter.load %}

WRITE_ARGS = {
    "type": "object",
    "additionalProperties": False,
    "required": ["path"],
    "properties": {
        "path": {"type": "string", "minLength": 1, "description": "JSON Lines file, relative to the pipeline file.", "examples": ["out/rows.jsonl"]},
    },
    "examples": [{"path": "out/rows.jsonl"}],
}


@hookimpl
def register_loaders(register):
    register("{{ cookiecutter.plugin_id }}.write", f"{STEPS}:write", schema=WRITE_ARGS, description="Write rows to a JSON Lines file.")
{%- endif %}
{%- if cookiecutter.transform_at_load %}

SUMMARISE_ARGS = {
    "type": "object",
    "additionalProperties": False,
    "required": ["path", "summary"],
    "properties": {
        "path": {"type": "string", "minLength": 1, "description": "The JSON Lines file a load wrote.", "examples": ["out/rows.jsonl"]},
        "summary": {"type": "string", "minLength": 1, "description": "Where to write the summary (JSON).", "examples": ["out/summary.json"]},
    },
    "examples": [{"path": "out/rows.jsonl", "summary": "out/summary.json"}],
}


@hookimpl
def register_load_transformers(register):
    register("{{ cookiecutter.plugin_id }}.summarise", f"{STEPS}:summarise", schema=SUMMARISE_ARGS, description="Count the rows a load wrote.")
{%- endif %}
{%- if cookiecutter.executor %}

EXECUTOR_OPTIONS = {"type": "object", "additionalProperties": False, "properties": {}}


@hookimpl
def register_executors(register):
    register("{{ cookiecutter.plugin_id }}", "{{ cookiecutter.module_name }}.executor:SerialExecutor", schema=EXECUTOR_OPTIONS, description="Run pipelines one at a time.")
{%- endif %}
