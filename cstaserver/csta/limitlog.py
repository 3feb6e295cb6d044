"""Reached limits logged once per episode, not once per refusal (docs/limits.md): a piece
shared by the monitor registry and the SIP/TR/87 transport's limits, as ``partial`` and
``grace`` are.

A client that keeps asking beyond a lock-out limit (monitors per device or per address,
TR/87 dialogs per address, unacknowledged UDP response bytes per address) is refused each
time, but a log line per refusal would let it grow the log, and spend the server's CPU on it,
as fast as it sends. :class:`LimitLog` remembers which limits have been logged: the first
refusal of a key is logged, the next ones are not, until the owner of the limit says the key
is below it again (a monitor or dialog ended, bytes acknowledged) or the limits change.
"""

from __future__ import annotations

from collections.abc import Hashable


class LimitLog:
    """The keys whose reached limit has been logged since they were last below it."""

    __slots__ = ("_logged",)

    def __init__(self) -> None:
        self._logged: set[Hashable] = set()

    def first(self, key: Hashable) -> bool:
        """Whether this refusal of ``key`` is the first since its limit was reached (to log);
        from now on ``key`` counts as logged."""
        if key in self._logged:
            return False
        self._logged.add(key)
        return True

    def below(self, *keys: Hashable) -> None:
        """``keys`` are below their limits again: their next refusal is logged."""
        if self._logged:
            for key in keys:
                self._logged.discard(key)

    def clear(self) -> None:
        """New limits: every key's next refusal is logged."""
        self._logged.clear()
