"""The switch's event bus: fan-out of domain events to subscribers.

ECMA-269 clause 15 (monitoring) in protocol-neutral form: a subscription covers everything,
one device (events whose ``devices`` include it) or one call (events whose ``call_ids``
include it). Subscriptions are kept in dict indexes, so publishing an event costs one look-up
per device and call it names, never a scan of all subscribers.

Delivery is in order: an event published while another is being delivered (a subscriber that
calls back into the switch) is queued and delivered after it. A subscriber that raises is
logged and does not stop delivery to the others.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from itertools import count

from twisted.logger import Logger

Callback = Callable[[object], None]


class EventBus:
    """Subscriptions by everything / device / call, and ordered, fault-isolated delivery."""

    log = Logger()

    def __init__(self) -> None:
        self._tokens = count(1)
        self._all: dict[int, Callback] = {}
        self._by_device: dict[str, dict[int, Callback]] = {}
        self._by_call: dict[str, dict[int, Callback]] = {}
        self._pending: deque[object] = deque()
        self._delivering = False
        self._everything: tuple[Callback, ...] | None = None  # _all's callbacks, until it changes

    # -- subscriptions -----------------------------------------------------------------------
    def subscribe(self, callback: Callback) -> Callable[[], None]:
        token = next(self._tokens)
        self._all[token] = callback
        self._everything = None

        def unsubscribe() -> None:
            if self._all.pop(token, None) is not None:
                self._everything = None

        return unsubscribe

    def subscribe_device(self, device: str, callback: Callback) -> Callable[[], None]:
        return self._subscribe_keyed(self._by_device, device, callback)

    def subscribe_call(self, call_id: str, callback: Callback) -> Callable[[], None]:
        return self._subscribe_keyed(self._by_call, call_id, callback)

    def _subscribe_keyed(
        self, index: dict[str, dict[int, Callback]], key: str, callback: Callback
    ) -> Callable[[], None]:
        token = next(self._tokens)
        index.setdefault(key, {})[token] = callback

        def unsubscribe() -> None:
            entries = index.get(key)
            if entries is None:
                return
            entries.pop(token, None)
            if not entries:
                del index[key]

        return unsubscribe

    def subscriber_count(self) -> int:
        """How many subscriptions are live (for diagnostics and tests)."""
        return (
            len(self._all)
            + sum(len(v) for v in self._by_device.values())
            + sum(len(v) for v in self._by_call.values())
        )

    # -- delivery ----------------------------------------------------------------------------
    def publish(self, event: object) -> None:
        """Deliver ``event`` to its subscribers (after any event being delivered now)."""
        self._pending.append(event)
        if self._delivering:
            return
        self._delivering = True
        try:
            while self._pending:
                self._deliver(self._pending.popleft())
        finally:
            self._delivering = False

    def _targets(self, event: object) -> tuple[Callback, ...] | list[Callback]:
        if not self._by_device and not self._by_call:
            # the usual case (the CSTA core subscribes to everything): no merge needed, and
            # the same tuple until a subscription changes (a copy: a callback may unsubscribe)
            everything = self._everything
            if everything is None:
                everything = self._everything = tuple(self._all.values())
            return everything
        targets: dict[int, Callback] = dict(self._all)
        for device in getattr(event, "devices", ()):
            entries = self._by_device.get(device)
            if entries:
                targets.update(entries)
        for call_id in getattr(event, "call_ids", ()):
            entries = self._by_call.get(call_id)
            if entries:
                targets.update(entries)
        return list(targets.values())

    def _deliver(self, event: object) -> None:
        for callback in self._targets(event):
            try:
                callback(event)
            except Exception:
                self.log.failure(
                    "subscriber {callback!r} failed on {event_type}",
                    callback=callback,
                    event_type=type(event).__name__,
                )
