"""The JSON Schema fragment for a pipeline's ``schedule:`` and ``triggers:``
(schemas/schedule.schema.json): well-formed, every property described with examples, good and bad
configs judged as intended, in agreement with the schedule model — and the configs on
docs/scheduling.md are valid (or shown as invalid) against it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import jsonschema_rs
import pytest
import yaml
from orchestrator.config.schedule import Schedule, ScheduleError

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_FILE = ROOT / "schemas" / "schedule.schema.json"
PAGE = ROOT / "docs" / "scheduling.md"
SCHEMA: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def problems(instance: Any) -> list[str]:
    """``$.path: message`` for every error, as the config validator reports them."""
    return sorted(f"{error.json_path}: {error.message}" for error in VALIDATOR.iter_errors(instance))


def properties(node: Any, where: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        for name, sub in node.get("properties", {}).items():
            yield f"{where}/properties/{name}", sub
        for key, sub in node.items():
            if key != "examples":
                yield from properties(sub, f"{where}/{key}")
    elif isinstance(node, list):
        for index, sub in enumerate(node):
            yield from properties(sub, f"{where}/{index}")


def test_the_fragment_is_a_valid_draft_2020_12_schema_both_validators_compile() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert jsonschema_rs.validator_for(SCHEMA).is_valid({"schedule": {"every": "1h"}})


def test_every_property_and_definition_has_a_description_and_examples() -> None:
    missing = []
    for where, sub in properties(SCHEMA):
        target = sub
        if set(sub) == {"$ref"}:  # described where it is defined
            target = SCHEMA["$defs"][sub["$ref"].rsplit("/", 1)[-1]]
        if not target.get("description") or not target.get("examples"):
            missing.append(where)
    for name, definition in SCHEMA["$defs"].items():
        if not definition.get("description") or not definition.get("examples"):
            missing.append(f"#/$defs/{name}")
    assert not missing, f"without description or examples: {missing}"


def test_every_example_in_the_fragment_is_valid_where_it_stands() -> None:
    checked = 0
    for where, sub in [("#", SCHEMA), *properties(SCHEMA), *((f"#/$defs/{n}", d) for n, d in SCHEMA["$defs"].items())]:
        resolved = {**sub, "$defs": SCHEMA["$defs"]}
        for example in sub.get("examples", []):
            errors = list(jsonschema.Draft202012Validator(resolved).iter_errors(example))
            assert not errors, f"{where}: example {example!r}: {errors[0].message}"
            checked += 1
    assert checked > 30


GOOD = [
    {"schedule": {"cron": "0 2 * * *"}},
    {"schedule": {"cron": "*/10 * * * * *", "timezone": "America/New_York"}},
    {"schedule": {"cron": "@daily", "catchup": "all", "max_catchup": 5, "overlap": "queue", "max_queue": 2}},
    {"schedule": {"every": "15m", "start": "2026-11-01", "end": "2026-11-30T23:00:00+01:00"}},
    {"schedule": {"every": 90, "start": "2026-11-01 06:00"}},
    {"triggers": [{"file": {"path": "in/*.csv"}}, {"file": {"path": "x", "settle": 2.5, "digest": True, "poll": False}}]},
    {"triggers": [{"after": {"pipeline": "customers"}}, {"after": {"pipeline": "a/b.yaml#c_d.v2", "status": "finished"}}]},
    {"schedule": {"every": "1d"}, "triggers": [], "type": "ETL"},  # the rest of the pipeline is not its business
]


@pytest.mark.parametrize("instance", GOOD, ids=lambda i: json.dumps(i)[:60])
def test_good_configs_are_valid_and_the_model_accepts_them(instance: dict[str, Any]) -> None:
    assert problems(instance) == []
    if "schedule" in instance:
        Schedule.from_config(instance["schedule"])


BAD = [
    ({"schedule": {}}, "$.schedule: {} is not valid under any of the given schemas"),
    ({"schedule": {"cron": "0 2 * * *", "every": "1h"}}, "$.schedule: {'cron': '0 2 * * *', 'every': '1h'} is valid under each of"),
    ({"schedule": {"cron": "0 2 * *"}}, "$.schedule.cron: '0 2 * *' does not match"),
    ({"schedule": {"every": "15 minutes"}}, "$.schedule.every: '15 minutes' does not match"),
    ({"schedule": {"every": 0}}, "$.schedule.every: 0 is less than the minimum of 1"),
    ({"schedule": {"every": "1h", "catchup": "some"}}, "$.schedule.catchup: 'some' is not one of ['none', 'latest', 'all']"),
    ({"schedule": {"every": "1h", "overlap": "kill"}}, "$.schedule.overlap: 'kill' is not one of"),
    ({"schedule": {"every": "1h", "max_catchup": 0}}, "$.schedule.max_catchup: 0 is less than the minimum of 1"),
    ({"schedule": {"every": "1h", "start": "tomorrow"}}, "$.schedule.start: 'tomorrow' does not match"),
    ({"schedule": {"every": "1h", "timezone": "Europe Berlin"}}, "$.schedule.timezone: 'Europe Berlin' does not match"),
    ({"schedule": {"every": "1h", "jitter": "5s"}}, "$.schedule: Additional properties are not allowed ('jitter' was unexpected)"),
    ({"triggers": {"file": {"path": "x"}}}, "$.triggers: {'file': {'path': 'x'}} is not of type 'array'"),
    ({"triggers": [{}]}, "$.triggers[0]: {} should be non-empty"),
    ({"triggers": [{"file": {"path": "x"}, "after": {"pipeline": "y"}}]}, "$.triggers[0]: {'file': {'path': 'x'}, 'after': {'pipeline': 'y'}} has too many properties"),
    ({"triggers": [{"file": {"settle": "5s"}}]}, "$.triggers[0].file: 'path' is a required property"),
    ({"triggers": [{"file": {"path": "x", "settle": "soon"}}]}, "$.triggers[0].file.settle: 'soon' does not match"),
    ({"triggers": [{"after": {"pipeline": "x.yaml#"}}]}, "$.triggers[0].after.pipeline: 'x.yaml#' does not match"),
    ({"triggers": [{"after": {"pipeline": "x", "status": "done"}}]}, "$.triggers[0].after.status: 'done' is not one of"),
    ({"triggers": [{"cron": "0 2 * * *"}]}, "$.triggers[0]: Additional properties are not allowed ('cron' was unexpected)"),
]


@pytest.mark.parametrize(("instance", "message"), BAD, ids=[m[:50] for _, m in BAD])
def test_bad_configs_are_reported_at_their_path(instance: dict[str, Any], message: str) -> None:
    found = problems(instance)
    assert any(problem.startswith(message) for problem in found), found
    assert not jsonschema_rs.validator_for(SCHEMA).is_valid(instance)


def test_what_only_the_model_can_tell_is_refused_by_it() -> None:
    """The schema checks shapes; the model checks meaning: a minute of 61, an unknown zone, an
    impossible date, an end before the start. The validator runs both."""
    for spec in ({"cron": "61 * * * *"}, {"every": "1h", "timezone": "Mars/Olympus"},
                 {"every": "1h", "start": "2026-02-30"}, {"every": "1h", "start": "2026-11-05", "end": "2026-11-01"}):
        assert problems({"schedule": spec}) == []
        with pytest.raises(ScheduleError):
            Schedule.from_config(spec)


# -- the page's configs ----------------------------------------------------------------------------------


def page_blocks() -> list[tuple[int, str, bool]]:
    """(line, YAML text, shown as invalid) of every YAML block on docs/scheduling.md."""
    found, lines, pending = [], PAGE.read_text(encoding="utf-8").splitlines(), False
    index = 0
    while index < len(lines):
        line = lines[index]
        if re.match(r"^<!--\s*test:\s*invalid\s*-->$", line.strip()):
            pending = True
        elif line.startswith("```"):
            lang, start, body = (line[3:].split() or [""])[0], index + 1, []
            index += 1
            while not lines[index].startswith("```"):
                body.append(lines[index])
                index += 1
            if lang in ("yaml", "yml"):
                found.append((start, "\n".join(body), pending))
            pending = False
        elif line.strip():
            pending = False
        index += 1
    return found


def scheduling_keys(text: str) -> list[dict[str, Any]]:
    """The ``schedule:``/``triggers:`` of each pipeline of a complete config on the page, with
    unquoted dates as ISO text (as the config loader hands them on)."""
    found = []
    for pipeline in yaml.safe_load(text)["pipelines"].values():
        keys = {key: pipeline[key] for key in ("schedule", "triggers") if key in pipeline}
        for key in ("start", "end"):
            if isinstance(keys.get("schedule", {}).get(key), (date, datetime)):
                keys["schedule"][key] = keys["schedule"][key].isoformat()
        found.append(keys)
    return found


def test_the_page_shows_schedules_and_triggers_in_complete_configs() -> None:
    blocks = page_blocks()
    assert all("pipelines" in yaml.safe_load(text) for _, text, _ in blocks), "a YAML block on the page is not a complete config"
    keys = {key for _, text, _ in blocks for found in scheduling_keys(text) for key in found}
    assert keys == {"schedule", "triggers"} and len(blocks) >= 4


@pytest.mark.parametrize(("line", "text", "invalid"), page_blocks(), ids=lambda v: str(v) if isinstance(v, int) else "")
def test_the_configs_on_the_page_are_valid_or_shown_as_invalid(line: int, text: str, invalid: bool) -> None:
    found = [problem for keys in scheduling_keys(text) for problem in problems(keys)]
    if invalid:
        assert found, f"docs/scheduling.md:{line}: shown as invalid but the schema accepts it"
        return
    assert not found, f"docs/scheduling.md:{line}: {found}"
    for keys in scheduling_keys(text):
        if "schedule" in keys:
            Schedule.from_config(keys["schedule"])
