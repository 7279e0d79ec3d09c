"""From a YAML file to a plan: the file read with a line map (:mod:`.yamlsource`), references
substituted (:mod:`.interpolate`), every problem found at once (:mod:`.validation`, :mod:`.rules`,
:mod:`.messages`, against :mod:`.schema`), and the frozen :class:`~orchestrator.config.model.Plan`
built (:mod:`.plan`).

Deliberately empty: the CLI's cold start imports parts of this package (the plan model, the phase
names), and must not pay for YAML or JSON Schema when ``--version`` is all it was asked.
"""
