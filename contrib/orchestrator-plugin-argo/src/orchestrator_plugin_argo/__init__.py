"""Pipeline files on Argo Workflows: :func:`~orchestrator_plugin_argo.manifest.workflow` builds
the Workflow (or CronWorkflow) of a pipeline file with hera's models, and ``orchestrator export
argo`` writes it as YAML."""
