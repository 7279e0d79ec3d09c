"""Plain-Python baselines: each script does a figure's work without the orchestrator.

They are run as scripts (``python bench/baselines/NAME.py ...``) in their own processes, the same
way the orchestrator's side of each figure is, and import nothing from the harness.
"""
