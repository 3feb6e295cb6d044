"""The CSTA core as a Twisted service (ARCHITECTURE.md: one core under thin transports).

The builder makes the one :class:`~cstaserver.csta.core.CstaCore` of the server from the
exchange data - limits, the ECMA-354 authenticator over the ``csta_authentication``
criteria - and leaves it in ``context.components["csta"]`` for the transport builders.
Starting it tells registered clients ``normal``; stopping it ends every session
(ApplicationSessionTerminated) and tells registered clients ``disabled`` (ECMA-269 14.1).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from twisted.application.service import Service

from cstaserver.csta.auth import Authenticator
from cstaserver.csta.core import CstaCore


def make_core(exchange: Any, switch: Any, clock: Any) -> CstaCore:
    """The core for ``exchange`` (ExchangeData); criteria are read live, so changes made by
    ``csta_authentication`` apply to the next login."""
    core = CstaCore(switch, clock, limits=exchange.limits)
    core.exchange = exchange
    core.sessions.authenticator = Authenticator(
        lambda: core.exchange.authentication.applications, clock
    )
    return core


class CoreService(Service):
    name = "csta"

    def __init__(self, core: CstaCore) -> None:
        self.core = core

    def startService(self) -> None:
        super().startService()
        self.core.broadcast_system_status("normal")

    def stopService(self) -> None:
        self.core.broadcast_system_status("disabled")
        for session in list(self.core.sessions.sessions.values()):
            self.core.sessions.terminate(session, "resourceLimitation")
        return super().stopService()


def build_core(context: Any) -> Iterator[Service]:
    core = make_core(context.exchange, context.switch, context.reactor)
    context.components["csta"] = core
    yield CoreService(core)
