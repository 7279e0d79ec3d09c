"""The benchmark suite: ``python -m bench`` (or ``make bench``) prints each figure of the
orchestrator next to a plain-Python baseline measured in the same run, with its target.

Not part of the test suite: timings depend on the machine, so nothing here passes or fails a build.
Modules: ``measure`` (timing and peak RSS), ``workspace`` (generated inputs), ``figures`` (what is
measured), ``report`` (table and JSON), ``environment`` (interpreter, plugin allow-list, step plugin);
``baselines/`` holds the plain scripts and ``steps/`` the functions both sides call.
"""
