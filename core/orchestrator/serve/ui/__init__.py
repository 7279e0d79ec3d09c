"""The web UI of ``orchestrator serve``: HTML shells and ES-module scripts that render every page
from the JSON API under ``/api/`` (the UI has no other way in, so whatever it shows or does,
another system can too).

There is no build step: the scripts in ``static/js`` are served as they are, and the libraries
they import (Preact, htm, dagre) are vendored into ``static/vendor`` from the npm registry at the
versions ``ui/package-lock.json`` pins (``make ui-assets``), so the UI works offline. The routes
are in :mod:`~orchestrator.serve.ui.pages`; this package file imports nothing (Starlette is heavy).
"""
