"""``orchestrator serve``: the long-running process that fires schedules and triggers.

This package is an optional extra (``pip install 'pipeline-orchestrator[serve]'``) and its
libraries (a cron library, time-zone data, a file watcher) are heavy to import, so nothing outside
``serve/`` imports it: ``orchestrator run`` never pays for them. Import the modules themselves —
:mod:`~orchestrator.config.schedule` (when ticks are due), :mod:`~orchestrator.serve.ticks` (the
exactly-once tick ledger and the scheduler lease) and :mod:`~orchestrator.serve.files` (which
file versions have fired) — this package file deliberately imports none of them.
"""
