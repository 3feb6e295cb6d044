"""What one run of the server is made of, as one typed object.

:class:`Runtime` holds the pieces every part of the composition shares: the reactor, the
run's options, the data directory, the exchange data in force (the one copy: the admin
commands replace it, everything else reads it through the runtime), the switch, the
simulator of terminals and callers, and the CSTA core. It is built once by
:func:`cstaserver.app.root.build_service` and handed to the services that need it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from cstaserver.app.options import RunSettings
from cstaserver.config import ApplicationCriteria, DataDirectory, ExchangeData, WebAccount
from cstaserver.csta.core import CstaCore
from cstaserver.pbx.simulator import Simulator


@attrs.define
class Runtime:
    """The shared pieces of one run (see the module docstring)."""

    reactor: Any  # IReactorTime, IReactorTCP, IReactorUDP, IReactorUNIX
    settings: RunSettings
    data_directory: DataDirectory
    exchange: ExchangeData
    switch: Any  # ISwitch
    simulator: Simulator
    core: CstaCore

    # Read through the runtime, so that a change made by the admin commands applies to the
    # next login without rebuilding anything.
    def applications(self) -> Sequence[ApplicationCriteria]:
        return self.exchange.authentication.applications

    def web_accounts(self) -> Sequence[WebAccount]:
        return self.exchange.web_accounts

    def admin_accounts(self) -> Sequence[Any]:
        return self.exchange.admin_accounts
