"""Run pipeline-orchestrator pipelines on a Dask cluster: an existing scheduler by address, or a
LocalCluster started for the run. Each pipeline is one Dask task; see ``executor.py``."""
