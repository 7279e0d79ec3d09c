"""The plugin's entry point: the engine it adapts (``orchestrator plugins`` lists it) and the
``orchestrator export airflow`` subcommand. Both are named by strings, so loading the plugin
imports neither Airflow nor click: every other command starts as fast as without it."""

from orchestrator import hookimpl


@hookimpl
def register_engines(register) -> None:  # type: ignore[no-untyped-def]
    register(
        "airflow", "orchestrator_plugin_airflow:pipeline_dag",
        description="Apache Airflow 3: a DAG, one task per pipeline (pipeline_dag)",
    )


@hookimpl
def register_exporters(register) -> None:  # type: ignore[no-untyped-def]
    register("airflow", "orchestrator_plugin_airflow.export:command", description="Write an Airflow DAG file for a pipeline file.")
