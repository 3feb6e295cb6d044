"""What the JSON API works on, as one object the composition layer builds (docs/api.md).

The API reads and drives the running server only through :class:`ApiSources`: the switching
model and its simulated terminals, the CSTA core, the skippable clock they run on, the
exchange data in force and the CSTA servers as they run (read through callables, so an admin
command that changes them is seen at the next request), and the two ``twisted.cred``
checkers: the web accounts (reads) and the admin accounts (actions). It knows nothing of the
composition layer, the admin commands or the other transports.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs
from twisted.cred.checkers import ICredentialsChecker


@attrs.define
class TrafficLog:
    """The traffic runs started through the API: the last one, for ``GET /traffic``."""

    last: Any = None  # pbx.traffic.TrafficRun


@attrs.frozen
class ApiSources:
    """See the module docstring.

    - ``core``: the CSTA core (associations, sessions, monitors);
    - ``switch``: the :class:`~cstaserver.pbx.switch.Switch`; ``simulator``: its
      :class:`~cstaserver.pbx.simulator.Simulator`;
    - ``clock``: the :class:`~cstaserver.pbx.clock.ISkippableClock` the switch, simulator and
      core run on;
    - ``reactor``: the real reactor, for the HTTP side's own timers (the login throttle);
    - ``exchange()``: the exchange data in force (LIMs, CSTA servers);
    - ``server_runs()``: the CSTA servers as they run, each with ``settings``, ``ports``
      (``(field, port)`` pairs) and ``tls``;
    - ``read_checker``: the web accounts (None: the site's own, given with its login gate);
      ``admin_checker``: the admin accounts, required for any action.
    """

    core: Any
    switch: Any
    simulator: Any
    clock: Any
    reactor: Any
    exchange: Callable[[], Any]
    server_runs: Callable[[], Sequence[Any]] = attrs.field(default=lambda: ())
    read_checker: ICredentialsChecker | None = None
    admin_checker: ICredentialsChecker | None = None
    traffic: TrafficLog = attrs.Factory(TrafficLog)
