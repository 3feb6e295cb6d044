"""The CSTA core as a Twisted service: one core under every transport.

:func:`make_core` builds the :class:`~cstaserver.csta.core.CstaCore` of a server from its
limits and an ECMA-354 authenticator that reads the application criteria through a callable,
so criteria changed while the server runs apply to the next login.
:class:`CoreService` tells registered clients ``normal`` when it starts; when it stops it ends
every application session (ApplicationSessionTerminated, ECMA-354) and tells registered
clients ``disabled`` (SystemStatus, ECMA-269 14.1).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from twisted.application.service import Service

from cstaserver.csta.auth import Authenticator
from cstaserver.csta.core import CstaCore
from cstaserver.csta.logins import FailureThrottle, Verify, verify_inline


def make_core(
    switch: Any,
    clock: Any,
    *,
    limits: Any,
    applications: Callable[[], Sequence[Any]],
    tracer: Any = None,
    throttle: FailureThrottle | None = None,
    verify: Verify = verify_inline,
    services: Any = None,
) -> CstaCore:
    """The core over ``switch``; ``applications()`` gives the current ApplicationCriteria;
    ``tracer`` (an ``IWireTracer``) records every client's CSTA messages; ``throttle`` (the
    server's shared login throttle, else one of the core's own on ``clock``) and ``verify``
    (the password checks) are what ECMA-354 logins go through. ``services``: the service
    table (a front end of a cluster forwards some services to the exchange; None: all here)."""
    authenticator = Authenticator(applications, clock, throttle=throttle, verify=verify)
    return CstaCore(
        switch,
        clock,
        limits=limits,
        authenticator=authenticator,
        tracer=tracer,
        services=services,
    )


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
