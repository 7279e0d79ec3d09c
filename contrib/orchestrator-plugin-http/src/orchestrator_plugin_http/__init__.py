"""HTTP/JSON extraction for pipeline-orchestrator: the ``http.get`` extract step.

Importing this package imports nothing heavy; httpx is imported only when a pipeline runs the step.
"""

__version__ = "0.1.0"
