"""The module a Prefect deployment imports its flow from."""

from pathlib import Path

from orchestrator_plugin_prefect import pipeline_flow, serve

flow = pipeline_flow(Path(__file__).with_name("scheduled.yaml"))

if __name__ == "__main__":
    serve(flow)
