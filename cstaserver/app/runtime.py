"""What one run of the server is made of, as one typed object.

:class:`Runtime` holds the pieces every part of the composition shares: the reactor, the
run's options, the data directory, the exchange data in force (the one copy: the admin
commands replace it, everything else reads it through the runtime), the switch, the
simulator of terminals and callers, the CSTA core, the clock of simulated time they run on
(``clock``: a :class:`~cstaserver.pbx.clock.SkippableClock` over the reactor, the reactor
itself when none is given), what the JSON API works on (``api``), and the login throttle and
password checks every login goes through (``logins``, ``password_checks``). It is built once by
:func:`cstaserver.app.root.build_service` and handed to the services that need it.

Listeners and the transports' own timers use ``reactor``; the switch, the simulator and the
core use ``clock``, so the JSON API can skip simulated time without touching them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from cstaserver.api.sources import ApiSources
from cstaserver.app.options import RunSettings
from cstaserver.config import ApplicationCriteria, DataDirectory, ExchangeData, WebAccount
from cstaserver.csta.core import CstaCore
from cstaserver.csta.logins import (
    FailureThrottle,
    LoginThrottle,
    PasswordChecks,
    Verify,
    verify_inline,
)
from cstaserver.pbx.simulator import Simulator


@attrs.define
class Runtime:
    """The shared pieces of one run (see the module docstring)."""

    reactor: Any  # IReactorTime, IReactorTCP, IReactorUDP, IReactorUNIX
    settings: RunSettings
    data_directory: DataDirectory
    exchange: ExchangeData
    switch: Any  # ISwitch
    simulator: Simulator | None  # None in a cluster's front end (no switch of its own)
    core: CstaCore
    clock: Any = attrs.field(  # ISkippableClock: the switch's, the simulator's, the core's
        default=attrs.Factory(lambda self: self.reactor, takes_self=True)
    )
    api: ApiSources | None = None
    #: The login throttle every transport shares (``csta.logins.LoginThrottle``) and the
    #: password checks off the reactor (``csta.logins.PasswordChecks``, a service of the root).
    logins: LoginThrottle | None = None
    password_checks: PasswordChecks | None = None

    def login_throttle(self, kind: str, *, delay: float = 1.0) -> FailureThrottle | None:
        """The shared throttle as transport ``kind`` uses it (None: each gate its own)."""
        return self.logins.view(kind, delay=delay) if self.logins is not None else None

    def verify(self) -> Verify:
        """How a password is checked: in the pool when the run has one."""
        checks = self.password_checks
        return checks.verify if checks is not None else verify_inline

    # Read through the runtime, so that a change made by the admin commands applies to the
    # next login without rebuilding anything.
    def applications(self) -> Sequence[ApplicationCriteria]:
        return self.exchange.authentication.applications

    def web_accounts(self) -> Sequence[WebAccount]:
        return self.exchange.web_accounts

    def admin_accounts(self) -> Sequence[Any]:
        return self.exchange.admin_accounts
