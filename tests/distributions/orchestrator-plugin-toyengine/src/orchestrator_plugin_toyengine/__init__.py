"""A made-up engine's adapter: ``orchestrator export toy FILE`` writes the file's pipelines as the
engine's JSON (each pipeline with the command line that runs it), and the engine ``toy`` is
declared for ``orchestrator plugins``. The command is named by a string, so importing this
module imports no click and no exporter code."""

from orchestrator import hookimpl


@hookimpl
def register_exporters(register):
    register("toy", "orchestrator_plugin_toyengine.export:command", description="Write a toy-engine job file.")


@hookimpl
def register_engines(register):
    register("toy", "orchestrator_plugin_toyengine.export:job", description="one toy job step per pipeline")
