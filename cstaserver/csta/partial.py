"""A bound on half-sent messages, shared by the stream transports (docs/protocol-notes.md
X9, slow and stuck clients): a connection that holds part of a message and sends nothing more
for ``seconds`` is closed, so a stuck client cannot hold a connection forever.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class PartialMessageGuard:
    """Call :meth:`watch` after each read with whether a message is half-received; when one
    stays half-received for ``seconds`` (None: never), ``on_timeout`` is called once."""

    def __init__(self, clock: Any, seconds: float | None, on_timeout: Callable[[], None]) -> None:
        self.clock = clock
        self.seconds = seconds
        self.on_timeout = on_timeout
        self._timer: Any = None

    def watch(self, partial: bool) -> None:
        self.cancel()
        if partial and self.seconds is not None:
            self._timer = self.clock.callLater(self.seconds, self._fire)

    def cancel(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None and timer.active():
            timer.cancel()

    def _fire(self) -> None:
        self._timer = None
        self.on_timeout()
