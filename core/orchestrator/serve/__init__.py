"""What runs pipelines unattended: ``orchestrator serve``, ``schedules`` and ``backfill``.

This package is an optional extra (``pip install 'pipeline-orchestrator[serve]'``) and its
libraries (a cron library, time-zone data, a file watcher, an HTTP server) are heavy to import, so
only the CLI's scheduling commands import it, inside the command: ``orchestrator run`` never pays
for them. The schedule model itself is :mod:`orchestrator.config.schedule` (validation needs it);
here are the ledgers (:mod:`~orchestrator.serve.ticks`, :mod:`~orchestrator.serve.files`), the
overlap gate, the serve loop (:mod:`~orchestrator.serve.server`) and its HTTP side. This package
file deliberately imports none of them.
"""
