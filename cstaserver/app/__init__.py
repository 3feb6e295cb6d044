"""The composition layer: what runs, built from the options and the exchange data.

Reading order for a newcomer: ``twisted/plugins/csta_plugin.py`` names this package; its
:class:`~.options.Options` are the command line; :mod:`.root` builds the service tree over a
:class:`~.runtime.Runtime` (switch, simulator, CSTA core, exchange data in force);
:mod:`.servers` has one service per CSTA server with its listeners (:mod:`.endpoints`), the
web site (:mod:`.web`) and the first-byte sniffer of the XML port (:mod:`.sniff`);
:mod:`.admin` the control channel and the admin shell. Transports (``xmlproto``, ``sip``,
``soap``, ``web``) export factories and resources and never import this package.

``makeService`` imports the rest on demand, so that ``twistd --help`` stays light.
"""

from __future__ import annotations

from typing import Any

from cstaserver.app.options import Options, RunSettings

__all__ = ["Options", "RunSettings", "makeService"]


def makeService(options: Options) -> Any:  # noqa: N802 (IServiceMaker)
    """``twistd -n csta``: the server's root service (:func:`.root.make_service`)."""
    from cstaserver.app.root import make_service

    return make_service(options)
