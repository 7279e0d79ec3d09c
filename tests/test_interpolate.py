"""The rules of ``${...}`` substitution, and of ``--param`` values, as a config author relies on them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator.config.plan import load_plan
from orchestrator.errors import ConfigError
from orchestrator.config.interpolate import Interpolator
from orchestrator.plugins.discovery import Plugins

Problems = list[tuple[list[Any], str]]


def substitute(
    value: Any, env: dict[str, str] | None = None, params: dict[str, Any] | None = None
) -> tuple[Any, Problems, Interpolator]:
    """Substitute one value and return it with every reported problem and the interpolator."""
    problems: Problems = []
    interpolator = Interpolator(env or {}, params or {})
    result = interpolator.apply(value, lambda path, message: problems.append((path, message)), ["value"])
    return result, problems, interpolator


# -- environment variables -------------------------------------------------------------------


def test_environment_variable_is_substituted() -> None:
    result, problems, _ = substitute("${BUCKET}", env={"BUCKET": "s3://sales"})
    assert (result, problems) == ("s3://sales", [])


def test_default_is_used_only_when_the_variable_is_unset() -> None:
    assert substitute("${REGION:-eu-west-1}")[0] == "eu-west-1"
    assert substitute("${REGION:-eu-west-1}", env={"REGION": "us-east-2"})[0] == "us-east-2"


def test_empty_default_is_allowed() -> None:
    result, problems, _ = substitute("prefix-${SUFFIX:-}")
    assert (result, problems) == ("prefix-", [])


def test_unset_variable_without_default_is_reported_with_its_path_and_the_fix() -> None:
    result, problems, _ = substitute({"path": "${DATA_DIR}/x.csv"})
    assert result == {"path": "/x.csv"}
    [(path, message)] = problems
    assert path == ["value", "path"]
    assert "'DATA_DIR' is not set" in message and "${DATA_DIR:-default}" in message


# -- inline references and escaping ------------------------------------------------------------


def test_several_references_inline_in_one_string() -> None:
    env = {"BUCKET": "sales", "ENVIRONMENT": "prod"}
    result, problems, _ = substitute(
        "s3://${BUCKET}/${ENVIRONMENT}/day=${params.day}/n=${params.n}", env=env, params={"day": "2026-01-31", "n": 3}
    )
    assert (result, problems) == ("s3://sales/prod/day=2026-01-31/n=3", [])


def test_double_dollar_writes_a_literal_reference() -> None:
    result, problems, _ = substitute("$${HOME} stays, ${USER} goes", env={"HOME": "/root", "USER": "ada"})
    assert (result, problems) == ("${HOME} stays, ada goes", [])


def test_escaped_reference_alone_is_not_substituted() -> None:
    result, problems, _ = substitute("$${params.day}", params={"day": "2026-01-31"})
    assert (result, problems) == ("${params.day}", [])


def test_strings_without_references_are_returned_unchanged() -> None:
    text = "a $ sign and { braces } and $HOME"
    assert substitute(text)[0] is text


def test_containers_are_substituted_in_place_at_any_depth() -> None:
    data = {"steps": [{"args": {"path": "${DIR}/a.csv", "n": 1}}], "flag": True}
    result, problems, _ = substitute(data, env={"DIR": "in"})
    assert result is data
    assert data == {"steps": [{"args": {"path": "in/a.csv", "n": 1}}], "flag": True}
    assert problems == []


def test_a_container_shared_through_a_yaml_alias_is_substituted_once() -> None:
    data = yaml.safe_load('base: &base {path: "$${HOME}/${DIR}"}\ncopy: *base\n')
    result, problems, _ = substitute(data, env={"HOME": "/root", "DIR": "in"})
    assert result["copy"] is result["base"]
    assert result["base"] == {"path": "${HOME}/in"}
    assert problems == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${DIR/x.csv", "unclosed reference"),
        ("${A}/${B", "unclosed reference"),
        ("${DIR:-${HOME}}/x", "cannot be nested"),
    ],
)
def test_unclosed_or_nested_references_are_reported_not_passed_through(text: str, expected: str) -> None:
    result, problems, _ = substitute(text, env={"A": "a", "B": "b", "DIR": "d", "HOME": "/h"})
    assert result == text
    assert len(problems) == 1 and expected in problems[0][1]


@pytest.mark.parametrize("text", ["${data dir}", "${1ABC}", "${params.}", "${params.a-b}", "${}"])
def test_invalid_expressions_are_reported(text: str) -> None:
    _, problems, _ = substitute(text)
    [(_, message)] = problems
    assert message.startswith("invalid reference") and "${ENV_VAR:-default}" in message


# -- parameters ----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [5000, 0.2, True, False, "text"])
def test_whole_string_parameter_keeps_its_type(value: Any) -> None:
    result, problems, _ = substitute("${params.x}", params={"x": value})
    assert problems == []
    assert result == value and type(result) is type(value)


def test_inline_parameter_becomes_text_with_yaml_spelling_for_booleans() -> None:
    result, _, _ = substitute("full=${params.full} n=${params.n}", params={"full": True, "n": 7})
    assert result == "full=true n=7"


def test_unknown_parameter_names_the_declared_ones_and_suggests_the_closest() -> None:
    _, problems, _ = substitute("${params.dya}", params={"day": "2026-01-31", "batch_size": 10})
    [(_, message)] = problems
    assert "unknown parameter 'dya'" in message
    assert "did you mean 'day'?" in message
    assert "declared: batch_size, day" in message


def test_parameter_declared_null_needs_a_value_unless_a_default_is_inline() -> None:
    _, problems, _ = substitute("${params.day}", params={"day": None})
    [(_, message)] = problems
    assert "parameter 'day' has no value" in message and "--param day=VALUE" in message
    assert substitute("${params.day:-today}", params={"day": None})[:2] == ("today", [])


# -- secrets -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["DB_PASSWORD", "API_KEY", "APIKEY", "GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "PRIVATE_PEM", "db_credentials"]
)
def test_values_of_secret_looking_variables_are_collected(name: str) -> None:
    _, _, interpolator = substitute(f"user:${{{name}}}@host", env={name: "s3cr3t-value"})
    assert interpolator.secrets == {"s3cr3t-value"}


@pytest.mark.parametrize("name", ["HOME", "BUCKET", "KEYBOARD_LAYOUT"])
def test_ordinary_variables_are_not_secrets(name: str) -> None:
    _, _, interpolator = substitute(f"${{{name}}}", env={name: "visible"})
    assert interpolator.secrets == set()


def test_empty_secret_is_not_collected() -> None:
    _, _, interpolator = substitute("${DB_PASSWORD}", env={"DB_PASSWORD": ""})
    assert interpolator.secrets == set()


# -- through load_plan: --param coercion and the whole chain ----------------------------------------

CONFIG = """\
params:
  batch_size: 500
  ratio: 0.5
  full_refresh: false
  day: "2026-01-31"
  required: null
pipelines:
  p:
    type: ETL
    phases:
      extract:
        steps:
          - plugin: csv.read
            args: {path: "data/${params.day}.csv", batch_size: "${params.batch_size}"}
      load:
        steps:
          - plugin: python.call
            args:
              callable: "sink:write"
              kwargs: {ratio: "${params.ratio}", full: "${params.full_refresh}", tag: "${params.required}"}
"""


@pytest.fixture
def config(write_config: Callable[..., Path]) -> Path:
    return write_config(CONFIG)


def plan_params(config: Path, plugins: Plugins, **given: str) -> dict[str, Any]:
    return dict(load_plan(config, plugins.registry, params={"required": "x", **given}, env={}).params)


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("batch_size", "1000", 1000),
        ("ratio", "0.75", 0.75),
        ("ratio", "2", 2.0),
        ("full_refresh", "true", True),
        ("full_refresh", "YES", True),
        ("full_refresh", "off", False),
        ("day", "2026-02-01", "2026-02-01"),
        ("required", "42", "42"),
    ],
)
def test_param_from_the_command_line_takes_the_type_of_its_default(
    config: Path, plugins: Plugins, name: str, raw: str, expected: Any
) -> None:
    value = plan_params(config, plugins, **{name: raw})[name]
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("batch_size", "lots", "expected an integer (the default is 500), got 'lots'"),
        ("batch_size", "1.5", "expected an integer (the default is 500), got '1.5'"),
        ("ratio", "half", "expected a number (the default is 0.5), got 'half'"),
        ("full_refresh", "maybe", "expected true or false (the default is false), got 'maybe'"),
        ("undeclared", "1", "unknown parameter 'undeclared'"),
    ],
)
def test_ill_typed_or_unknown_param_is_a_config_error(
    config: Path, plugins: Plugins, name: str, raw: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        plan_params(config, plugins, **{name: raw})
    [problem] = caught.value.problems
    assert problem.path == f"--param {name}"
    assert expected in problem.message


def test_substituted_values_reach_the_steps_with_their_types(config: Path, plugins: Plugins) -> None:
    plan = load_plan(config, plugins.registry, params={"required": "x", "batch_size": "250"}, env={})
    [extract] = plan.pipelines["p"].phases["extract"]
    [load] = plan.pipelines["p"].phases["load"]
    assert extract.args == {"path": "data/2026-01-31.csv", "batch_size": 250}
    assert load.args["kwargs"] == {"ratio": 0.5, "full": False, "tag": "x"}


def test_param_defaults_may_use_environment_variables(write_config: Callable[..., Path], plugins: Plugins) -> None:
    path = write_config(CONFIG.replace('day: "2026-01-31"', 'day: "${RUN_DAY:-2026-01-01}"'))
    assert plan_params(path, plugins)["day"] == "2026-01-01"
    plan = load_plan(path, plugins.registry, params={"required": "x"}, env={"RUN_DAY": "2026-03-03"})
    assert plan.params["day"] == "2026-03-03"


def test_secrets_from_the_config_are_carried_on_the_plan(write_config: Callable[..., Path], plugins: Plugins) -> None:
    path = write_config(CONFIG.replace('"data/${params.day}.csv"', '"${DB_PASSWORD}/${params.day}.csv"'))
    plan = load_plan(path, plugins.registry, params={"required": "x"}, env={"DB_PASSWORD": "pw-123"})
    assert plan.secrets == frozenset({"pw-123"})


def test_escaped_reference_in_an_aliased_mapping_stays_literal_through_load_plan(
    write_config: Callable[..., Path], plugins: Plugins
) -> None:
    text = CONFIG.replace("kwargs: {ratio:", 'kwargs: &kw {note: "$${NOT_A_VARIABLE}", ratio:')
    text += "  q:\n    type: ETL\n    phases:\n      extract: {steps: [{plugin: csv.read, args: {path: a.csv}}]}\n"
    text += '      load: {steps: [{plugin: python.call, args: {callable: "sink:write", kwargs: *kw}}]}\n'
    plan = load_plan(write_config(text), plugins.registry, params={"required": "x"}, env={"NOT_A_VARIABLE": "oops"})
    [load_p] = plan.pipelines["p"].phases["load"]
    [load_q] = plan.pipelines["q"].phases["load"]
    assert load_p.args["kwargs"]["note"] == load_q.args["kwargs"]["note"] == "${NOT_A_VARIABLE}"
