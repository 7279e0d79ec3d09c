"""Plugins: the hook specifications (:mod:`.hookspecs`), finding and loading installed plugins
(:mod:`.discovery`), the registry of what they provide (:mod:`.registry`), and the listing
``orchestrator plugins`` prints (:mod:`.listing`).

Deliberately empty: ``import orchestrator`` (which a plugin does for ``hookimpl``) imports
:mod:`.hookspecs` through this package, so it must not load entry points or the registry.
"""
