"""The plugin's entry point: the engine it adapts (``orchestrator plugins`` lists it) and the
``orchestrator export argo`` subcommand, both named by strings so loading the plugin imports
neither hera nor click."""

from orchestrator import hookimpl


@hookimpl
def register_engines(register) -> None:  # type: ignore[no-untyped-def]
    register(
        "argo", "orchestrator_plugin_argo.manifest:workflow",
        description="Argo Workflows: a Workflow (CronWorkflow with a schedule), one DAG task per pipeline",
    )


@hookimpl
def register_exporters(register) -> None:  # type: ignore[no-untyped-def]
    register("argo", "orchestrator_plugin_argo.export:command", description="Write an Argo Workflow (or CronWorkflow) for a pipeline file.")
