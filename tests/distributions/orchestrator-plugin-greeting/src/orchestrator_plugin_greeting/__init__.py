"""A third-party plugin: an extract step that greets, and a transform that shouts."""

from orchestrator import hookimpl

GREET_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["names"],
    "properties": {"names": {"type": "array", "items": {"type": "string"}, "minItems": 1}},
}


def greet(ctx, names):
    return [{"greeting": f"hello {name}", "pipeline": ctx.pipeline} for name in names]


def shout(ctx, rows):
    return [{**row, "greeting": row["greeting"].upper()} for row in rows]


@hookimpl
def register_extractors(register):
    register("greeting.hello", greet, schema=GREET_SCHEMA, description="Greet each name.")


@hookimpl
def register_transformers(register):
    register("greeting.shout", "orchestrator_plugin_greeting:shout", description="Upper-case greetings.")
