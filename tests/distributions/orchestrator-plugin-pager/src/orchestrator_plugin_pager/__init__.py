"""A third-party notification channel: ``pager`` appends each notification as one JSON line to a
file (standing in for a paging service), with a severity taken from its options."""

import json

from orchestrator import hookimpl

PAGER_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["path"],
    "properties": {
        "path": {"type": "string", "minLength": 1, "description": "The file the pages are appended to."},
        "severity": {"enum": ["low", "high"], "description": "The pages' severity."},
    },
}


class Pager:
    def __init__(self, path, severity="high"):
        self.path = path
        self.severity = severity

    def __call__(self, notification):
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"severity": self.severity, **notification.to_dict()}) + "\n")


@hookimpl
def register_notifiers(register):
    register("pager", Pager, schema=PAGER_SCHEMA, description="Page someone.")
