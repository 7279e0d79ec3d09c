"""SQL databases (PostgreSQL, SQLite and whatever else SQLAlchemy speaks) for pipeline-orchestrator.

Importing the package imports nothing heavy: SQLAlchemy and the database drivers are imported when a
pipeline first runs one of the ``sql.*`` steps.
"""

__version__ = "0.1.0"
