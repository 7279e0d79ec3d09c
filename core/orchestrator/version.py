"""The release of the core, in a module of its own so that every layer can read it without
importing the package's public face (``orchestrator/__init__.py``), which sits on top of them all."""

__version__ = "0.1.0"
