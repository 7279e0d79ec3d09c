"""The core's built-in steps and the ``local`` executor, registered through the core distribution's
own ``orchestrator.plugins`` entry point (``builtin``), exactly as a third-party plugin would be."""
