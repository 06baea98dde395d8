"""fama's adapters: the outside world around the pure core, each a pluggy plugin.

Contracts live in :mod:`fama_adapters.hookspecs`; plugins load through
:class:`fama_adapters.plugins.PluginHost`; the ``fama`` command is
:mod:`fama_adapters.cli`.
"""

__all__: list[str] = []
