"""Apache Arrow steps for pipeline-orchestrator: CSV and Parquet files streamed as record batches."""

__version__ = "0.1.0"
