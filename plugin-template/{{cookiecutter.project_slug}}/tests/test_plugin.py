"""The plugin's own tests, built on pipeline-orchestrator's test kit (its fixtures load by
themselves once pipeline-orchestrator is installed)."""
{%- if cookiecutter.load %}

import json
{%- endif %}

from orchestrator.testing import conformance_suite
{%- if cookiecutter.load %}


def read_rows(args, base_dir):
    """The rows {{ cookiecutter.plugin_id }}.write left in its target, so the suite can check none lost a column."""
    return [json.loads(line) for line in (base_dir / args["path"]).read_text().splitlines()]


TestConformance = conformance_suite("{{ cookiecutter.plugin_id }}", read_back={"{{ cookiecutter.plugin_id }}.write": read_rows})
{%- else %}

TestConformance = conformance_suite("{{ cookiecutter.plugin_id }}")
{%- endif %}

PIPELINE = """
{%- if cookiecutter.executor %}
executor: {{ cookiecutter.plugin_id }}
{%- endif %}
pipelines:
  demo:
    type: {% if cookiecutter.transform_at_load %}ETLT{% else %}ETL{% endif %}
    phases:
      extract:
        steps:
{%- if cookiecutter.extract %}
          - {id: source, plugin: {{ cookiecutter.plugin_id }}.read, args: {count: 5, batch_size: 2}}
{%- else %}
          - {id: source, plugin: jsonl.read, args: {path: in.jsonl}}
{%- endif %}
{%- if cookiecutter.transform %}
      transform:
        steps:
          - {id: tag, plugin: {{ cookiecutter.plugin_id }}.tag, args: {field: source, value: test}}
{%- endif %}
      load:
        steps:
{%- if cookiecutter.load %}
          - {id: sink, plugin: {{ cookiecutter.plugin_id }}.write, args: {path: out/rows.jsonl}}
{%- else %}
          - {id: sink, plugin: jsonl.write, args: {path: out/rows.jsonl}}
{%- endif %}
{%- if cookiecutter.transform_at_load %}
      transform_at_load:
        steps:
          - {id: summary, plugin: {{ cookiecutter.plugin_id }}.summarise, args: {path: out/rows.jsonl, summary: out/summary.json}}
{%- endif %}
"""
INPUT = "".join('{"n": %d}\n' % n for n in range(5))


def test_the_plugin_is_discovered(orchestrator_plugins):
    loaded = {info.name: info for info in orchestrator_plugins.registry.plugins}
    assert "{{ cookiecutter.plugin_id }}" in loaded, orchestrator_plugins.registry.problems
    assert loaded["{{ cookiecutter.plugin_id }}"].distribution == "{{ cookiecutter.project_slug }}"


def test_a_pipeline_runs_through_the_plugin(run_pipeline):
    run = run_pipeline(PIPELINE, files={"in.jsonl": INPUT})
    assert run.ok, run.result.pipelines["demo"].error
    rows = run.step("sink").rows_received
    assert [row["n"] for row in rows] == [0, 1, 2, 3, 4]
{%- if cookiecutter.transform %}
    assert all(row["source"] == "test" for row in rows)
{%- endif %}
{%- if cookiecutter.transform_at_load %}
    assert (run.base_dir / "out" / "summary.json").read_text() == '{"rows": 5}'
{%- endif %}
