"""docs/web-api.md is the API reference: every route of the OpenAPI document has a section there
(and no section names a route that does not exist), each with an example request, and each example
answer fits the route's schema in the document."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema_rs
import pytest

from orchestrator.serve.api.openapi import ROUTES, document

PAGE = Path(__file__).resolve().parent.parent / "docs" / "web-api.md"
HEADING = re.compile(r"^### (GET|POST) (/api/\S+)$", re.MULTILINE)


def sections() -> dict[tuple[str, str], str]:
    text = PAGE.read_text(encoding="utf-8")
    found = {}
    marks = list(HEADING.finditer(text))
    for mark, following in zip(marks, [*marks[1:], None]):
        end = following.start() if following else text.find("\n## ", mark.end())
        found[(mark.group(1).lower(), mark.group(2))] = text[mark.end():end]
    return found


def test_every_route_has_a_section_and_every_section_a_route() -> None:
    documented = set(sections())
    routes = {(method, path) for path, methods in document()["paths"].items() for method in methods}
    assert documented == routes, (sorted(routes - documented), sorted(documented - routes))


@pytest.mark.parametrize(("method", "path", "schema"), [(m, p, s) for m, p, _, _, s, _ in ROUTES], ids=[f"{m} {p}" for m, p, *_ in ROUTES])
def test_each_section_shows_a_request_and_an_answer_that_fits_the_schema(method: str, path: str, schema: str | None) -> None:
    body = sections()[(method, path)]
    request = re.search(r"```sh\n(curl [^`]+)```", body)
    assert request, f"{method.upper()} {path}: no curl example"
    shown_path = re.sub(r"\{\w+\}", "[^/?' ]+", path)
    assert re.search(shown_path, request.group(1)), request.group(1)
    assert ("-X POST" in request.group(1)) == (method == "post")
    if method == "post":
        assert "X-Orchestrator-Request: 1" in request.group(1)
    answer = re.search(r"```(json|text)\n(.+?)```", body, re.DOTALL)
    assert answer, f"{method.upper()} {path}: no example answer"
    if schema is None:
        if answer.group(1) == "text":  # an event stream: data: lines of JSON objects with a kind
            messages = [json.loads(line[6:]) for line in answer.group(2).splitlines() if line.startswith("data: ")]
            assert messages and all("kind" in m for m in messages) and messages[0]["kind"] == "hello"
        return
    validator = jsonschema_rs.validator_for({"$ref": f"#/components/schemas/{schema}", "components": document()["components"]})
    errors = [f"{e.instance_path}: {e.message}" for e in validator.iter_errors(json.loads(answer.group(2)))]
    assert not errors, errors
