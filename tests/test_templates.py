"""Templates and includes: a templated pipeline from an included file is a plain pipeline to the
engine (it runs, resumes and validates like one); ``validate --show-expanded`` prints it; and a
config without either never loads the code that expands them."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import yaml

from helpers import cli
from orchestrator.config.plan import load_plan
from orchestrator.engine import Engine
from orchestrator.plugins.discovery import Plugins
from orchestrator.runstate.progress import config_hash

TEMPLATE = """\
templates:
  csv_to_sqlite:
    description: Copy a CSV file into a SQLite table
    inputs:
      source: {type: string}
      table: {type: string}
      columns: {type: object, default: {}}
      batch_size: {type: integer, default: 500}
    type: ETL
    phases:
      extract:
        steps:
          - plugin: csv.read
            args: {path: "data/${inputs.source}.csv", batch_size: "${inputs.batch_size}", types: "${inputs.columns}"}
      load:
        steps:
          - plugin: sqlite.write
            args: {database: out/warehouse.db, table: "${inputs.table}", mode: replace}
"""

MAIN = """\
include: [common/*.yaml]
params:
  size: 2
pipelines:
  orders:
    uses: csv_to_sqlite
    with: {source: orders, table: orders, columns: {amount: float}, batch_size: "${params.size}"}
    depends_on: [customers]
  customers:
    uses: csv_to_sqlite
    with: {source: customers, table: customers}
    description: Customers first
"""


def project(root: Path) -> Path:
    (root / "common").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "common" / "templates.yaml").write_text(TEMPLATE, encoding="utf-8")
    (root / "data" / "orders.csv").write_text("id,amount\n1,2.5\n2,4\n3,1.25\n", encoding="utf-8")
    (root / "data" / "customers.csv").write_text("id,name\n1,Ada\n2,Grace\n", encoding="utf-8")
    main = root / "pipeline.yaml"
    main.write_text(MAIN, encoding="utf-8")
    return main


def test_templated_pipelines_from_an_included_file_run_as_plain_pipelines(tmp_path: Path, plugins: Plugins) -> None:
    plan = load_plan(project(tmp_path), plugins.registry)
    orders, customers = plan.pipelines["orders"], plan.pipelines["customers"]
    assert orders.depends_on == ("customers",) and customers.depends_on == ()
    extract = orders.phases["extract"][0]
    assert extract.args == {"path": "data/orders.csv", "batch_size": 2, "types": {"amount": "float"}}
    assert customers.phases["extract"][0].args["batch_size"] == 500  # the default
    result = Engine(plan, plugins).run_sync()
    assert result.ok, {n: o.error for n, o in result.pipelines.items()}
    with sqlite3.connect(tmp_path / "out" / "warehouse.db") as db:
        assert db.execute("SELECT SUM(amount) FROM orders").fetchone() == (7.75,)
        assert db.execute("SELECT COUNT(*) FROM customers").fetchone() == (2,)


def test_the_template_is_copied_for_each_use(tmp_path: Path, plugins: Plugins) -> None:
    plan = load_plan(project(tmp_path), plugins.registry)
    assert plan.pipelines["orders"].phases["load"][0].args["table"] == "orders"
    assert plan.pipelines["customers"].phases["load"][0].args["table"] == "customers"
    assert plan.pipelines["customers"].phases["extract"][0].args["types"] == {}


def test_show_expanded_prints_the_config_as_a_run_gets_it_with_secrets_hidden(tmp_path: Path) -> None:
    main = project(tmp_path)
    main.write_text(MAIN.replace("table: customers}", "table: '${CUSTOMERS_TOKEN}'}"), encoding="utf-8")
    env = {"CUSTOMERS_TOKEN": "s3cr3t-customers"}
    first = cli("validate", "--show-expanded", str(main), env=env)
    assert first.returncode == 0, first.stderr
    assert "s3cr3t" not in first.stdout
    shown = yaml.safe_load(first.stdout)
    assert list(shown) == ["params", "pipelines"]  # include: and templates: are gone
    assert list(shown["pipelines"]["orders"]) == ["type", "description", "depends_on", "phases"]
    assert shown["pipelines"]["customers"]["phases"]["load"]["steps"][0]["args"]["table"] == "***"
    assert shown["pipelines"]["customers"]["description"] == "Customers first"
    assert cli("validate", "--show-expanded", str(main), env=env).stdout == first.stdout
    with_param = yaml.safe_load(cli("validate", "--show-expanded", str(main), "--param", "size=3", env=env).stdout)
    assert with_param["params"] == {"size": 3}
    assert with_param["pipelines"]["orders"]["phases"]["extract"]["steps"][0]["args"]["batch_size"] == 3


def test_show_expanded_of_a_broken_config_prints_only_the_problems(tmp_path: Path) -> None:
    main = project(tmp_path)
    main.write_text(MAIN.replace("uses: csv_to_sqlite\n    with: {source: customers", "uses: csv_to_sqlit\n    with: {source: customers"), encoding="utf-8")
    result = cli("validate", "--show-expanded", str(main), cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert "pipeline.yaml:10: $.pipelines.customers.uses: unknown template 'csv_to_sqlit'" in result.stderr


def test_a_file_included_twice_is_read_once_and_globs_go_in_name_order(tmp_path: Path, plugins: Plugins) -> None:
    (tmp_path / "common").mkdir()
    step = "{type: ETL, phases: {extract: {steps: [{plugin: csv.read, args: {path: a.csv}}]}, load: {steps: [{plugin: csv.write, args: {path: b.csv}}]}}}"
    (tmp_path / "common" / "b.yaml").write_text(f"include: [a.yaml]\npipelines:\n  second: {step}\n", encoding="utf-8")
    (tmp_path / "common" / "a.yaml").write_text(f"pipelines:\n  first: {step}\n", encoding="utf-8")
    main = tmp_path / "pipeline.yaml"
    main.write_text("include: [common/*.yaml, common/a.yaml]\npipelines: {}\n", encoding="utf-8")
    plan = load_plan(main, plugins.registry)
    assert list(plan.pipelines) == ["first", "second"]
    assert plan.includes == (tmp_path / "common" / "a.yaml", tmp_path / "common" / "b.yaml")


def test_a_changed_included_file_changes_the_runs_fingerprint(tmp_path: Path, plugins: Plugins) -> None:
    main = project(tmp_path)
    before = config_hash(load_plan(main, plugins.registry))
    included = tmp_path / "common" / "templates.yaml"
    included.write_text(TEMPLATE.replace("default: 500", "default: 50"), encoding="utf-8")
    assert config_hash(load_plan(main, plugins.registry)) != before


def test_a_config_without_includes_or_templates_never_loads_the_expansion(tmp_path: Path) -> None:
    main = tmp_path / "pipeline.yaml"
    main.write_text(textwrap.dedent("""\
        pipelines:
          copy:
            type: ETL
            phases:
              extract: {steps: [{plugin: csv.read, args: {path: a.csv}}]}
              load: {steps: [{plugin: csv.write, args: {path: b.csv}}]}
        """), encoding="utf-8")
    code = (
        "import sys; from orchestrator.config.plan import load_plan; from orchestrator.plugins.discovery import load_plugins; "
        f"load_plan({str(main)!r}, load_plugins().registry); "
        "print(sorted(m for m in sys.modules if m.split('.')[-1] in ('expansion', 'includes', 'templates', 'origins')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={"ORCHESTRATOR_LOAD_PLUGINS": "builtin", "ORCHESTRATOR_NO_CACHE": "1", "PATH": ""})
    assert done.stdout.strip() == "[]"


def test_defaults_and_params_of_included_files_are_merged_by_key(tmp_path: Path, plugins: Plugins) -> None:
    (tmp_path / "common").mkdir()
    (tmp_path / "common" / "policy.yaml").write_text("defaults:\n  retry: {attempts: 4}\nparams:\n  day: '2026-01-01'\n", encoding="utf-8")
    main = tmp_path / "pipeline.yaml"
    main.write_text(textwrap.dedent("""\
        include: [common/policy.yaml]
        defaults: {timeout: 5m}
        pipelines:
          copy:
            type: ETL
            phases:
              extract: {steps: [{plugin: csv.read, args: {path: "${params.day}.csv"}}]}
              load: {steps: [{plugin: csv.write, args: {path: b.csv}}]}
        """), encoding="utf-8")
    plan = load_plan(main, plugins.registry)
    step = plan.pipelines["copy"].phases["extract"][0]
    assert step.args == {"path": "2026-01-01.csv"}
    assert step.policies.retry.attempts == 4 and step.policies.timeout == 300


def test_graph_draws_templated_pipelines_under_their_own_names(tmp_path: Path) -> None:
    main = project(tmp_path)
    drawn = cli("graph", str(main), "--format", "mermaid")
    assert drawn.returncode == 0, drawn.stderr
    assert "p_customers --> p_orders" in drawn.stdout and "p_orders[\"orders (ETL)\"]" in drawn.stdout


def test_a_template_holding_dates_is_copied_for_each_use(tmp_path: Path, plugins: Plugins) -> None:
    main = tmp_path / "pipeline.yaml"
    main.write_text(textwrap.dedent("""\
        templates:
          daily:
            inputs: {name: {type: string}}
            type: ETL
            schedule: {every: 1d, start: 2026-01-01}
            phases:
              extract: {steps: [{plugin: csv.read, args: {path: "${inputs.name}.csv"}}]}
              load: {steps: [{plugin: csv.write, args: {path: "out/${inputs.name}.csv"}}]}
        pipelines:
          a: {uses: daily, with: {name: a}}
          b: {uses: daily, with: {name: b}}
        """), encoding="utf-8")
    plan = load_plan(main, plugins.registry)
    assert plan.pipelines["a"].schedule == {"every": "1d", "start": "2026-01-01"}
    assert plan.pipelines["b"].phases["load"][0].args == {"path": "out/b.csv"}


def test_the_template_schema_lists_every_pipeline_key_for_editors() -> None:
    """A template may hold every pipeline key but uses and with (validation allows them from the
    pipeline's schema); the schema editors read must say so too."""
    defs = json.loads((Path(__file__).parents[1] / "schemas" / "pipeline.schema.json").read_text(encoding="utf-8"))["$defs"]
    pipeline_keys = set(defs["pipeline"]["properties"]) - {"uses", "with"}
    template = defs["template"]["properties"]
    assert set(template) == {"inputs"} | pipeline_keys
    assert all(template[key] == {"$ref": f"#/$defs/pipeline/properties/{key}"} for key in pipeline_keys)
