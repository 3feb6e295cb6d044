"""Expiry timers that let waiting input be read first.

After the process was paused (SIGSTOP, a debugger, a swapped-out VM) every timer that fell
due meanwhile runs as soon as it runs again - and Twisted's reactor runs due timers before it
reads the sockets. A client's keep-alive sent in time (ECMA-354 ResetApplicationSessionTimer,
a SIP re-INVITE, a first message) would then find its session already expired.

:class:`GraceTimer` therefore expires in two steps: at its time it only schedules the expiry
:data:`EXPIRY_GRACE` seconds later, counted from when it really ran; the reactor reads the
input that is waiting in between, and a keep-alive among it restarts (or cancels) the timer
so that the expiry never happens (docs/limits.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: Seconds between a timer falling due and the expiry: at least one reactor turn with I/O.
EXPIRY_GRACE = 1.0


class GraceTimer:
    """``expire()`` about ``delay`` seconds after :meth:`start` (see the module docstring)."""

    def __init__(self, clock: Any, expire: Callable[[], object]) -> None:
        self._clock = clock
        self._expire = expire
        self._call: Any = None
        self._in_grace = False

    def start(self, delay: float) -> None:
        """(Re)start: the expiry is ``delay`` seconds (and the grace) from now. A timer
        restarted before it fell due is moved (``IDelayedCall.reset``: a keep-alive per
        request costs no new call and leaves no cancelled one to the reactor)."""
        call = self._call
        if call is not None and not self._in_grace and call.active():
            call.reset(delay)
            return
        self.cancel()
        self._call = self._clock.callLater(delay, self._due)

    def _due(self) -> None:
        self._in_grace = True
        self._call = self._clock.callLater(EXPIRY_GRACE, self._fire)

    def _fire(self) -> None:
        self._call = None
        self._in_grace = False
        self._expire()

    def active(self) -> bool:
        return self._call is not None and self._call.active()

    def cancel(self) -> None:
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None
        self._in_grace = False
