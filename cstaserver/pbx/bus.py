"""The switch's event bus: fan-out of domain events to subscribers.

ECMA-269 clause 15 (monitoring) in protocol-neutral form: a subscription covers everything,
one device (events whose ``devices`` include it) or one call (events whose ``call_ids``
include it). Subscriptions are kept in dict indexes, so publishing an event costs one look-up
per device and call it names, never a scan of all subscribers.

Delivery is in order: an event published while another is being delivered (a subscriber that
calls back into the switch) is queued and delivered after it. A subscriber that raises is
logged and does not stop delivery to the others.

Interest: building an event costs (its parties' states, an attrs object), and most events of
a busy exchange concern devices nobody monitors. Each subscription says what it wants built:
a keyed one its device or call; a subscription to everything may pass an :class:`Interest`
(devices, calls, event classes) that its subscriber keeps up to date, and then promises to
do nothing with an event outside it. The switch asks :meth:`EventBus.wants` before it builds
a call event and builds none that nobody wants. An event that is built still goes to every
subscriber whose subscription covers it, in subscription order, as before. While an event is
being delivered every event is built (a subscriber may change its interest in between).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from itertools import count

from twisted.logger import Logger

Callback = Callable[[object], None]


def _counted(counts: dict, key: object, step: int) -> None:
    left = counts.get(key, 0) + step
    if left > 0:
        counts[key] = left
    else:
        counts.pop(key, None)


class Interest:
    """What one subscriber to everything wants built: the events naming one of ``devices``
    (an event's ``devices``), naming one of ``calls`` (its ``call_ids``), or of one of the
    event classes ``kinds`` (and their subclasses), or for a while every event
    (``everything``). The subscriber keeps it up to date with the ``want_*`` / ``drop_*``
    methods; the bus it is subscribed to is told at once."""

    def __init__(self) -> None:
        self.devices: set[str] = set()
        self.calls: set[str] = set()
        self.kinds: set[type] = set()
        self.everything = False
        self._bus: EventBus | None = None

    def want_device(self, device: str) -> None:
        self._change(self.devices, "devices", device, True)

    def drop_device(self, device: str) -> None:
        self._change(self.devices, "devices", device, False)

    def want_call(self, call_id: str) -> None:
        self._change(self.calls, "calls", call_id, True)

    def drop_call(self, call_id: str) -> None:
        self._change(self.calls, "calls", call_id, False)

    def want_kind(self, kind: type) -> None:
        self._change(self.kinds, "kinds", kind, True)

    def drop_kind(self, kind: type) -> None:
        self._change(self.kinds, "kinds", kind, False)

    def want_all(self) -> None:
        if not self.everything:
            self.everything = True
            if self._bus is not None:
                self._bus._count("all", None, 1)

    def drop_all(self) -> None:
        if self.everything:
            self.everything = False
            if self._bus is not None:
                self._bus._count("all", None, -1)

    def _change(self, members: set, what: str, key: object, wanted: bool) -> None:
        if (key in members) is wanted:
            return
        (members.add if wanted else members.discard)(key)
        if self._bus is not None:
            self._bus._count(what, key, 1 if wanted else -1)

    def _attach(self, bus: EventBus | None, step: int) -> None:
        """Count this interest in ``bus`` (step 1), or out of its bus (``None``, step -1)."""
        target = bus or self._bus
        if target is None:
            return
        for what, members in (
            ("devices", self.devices),
            ("calls", self.calls),
            ("kinds", self.kinds),
        ):
            for key in members:
                target._count(what, key, step)
        if self.everything:
            target._count("all", None, step)
        self._bus = bus


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
        # what is wanted built, counted over the subscriptions (see Interest)
        self._wanting_all = 0  # subscriptions without an Interest, Interests wanting all
        self._devices: dict[str, int] = {}
        self._calls: dict[str, int] = {}
        self._kinds: dict[type, int] = {}

    # -- subscriptions -----------------------------------------------------------------------
    def subscribe(self, callback: Callback, interest: Interest | None = None) -> Callable[[], None]:
        """``callback`` gets every event; with an ``interest`` (not given to another
        subscription), the events nobody else wants are not built for it."""
        token = next(self._tokens)
        self._all[token] = callback
        self._everything = None
        if interest is None:
            self._count("all", None, 1)
        else:
            if interest._bus is not None:
                raise ValueError("this Interest belongs to another subscription")
            interest._attach(self, 1)

        def unsubscribe() -> None:
            if self._all.pop(token, None) is not None:
                self._everything = None
                if interest is None:
                    self._count("all", None, -1)
                else:
                    interest._attach(None, -1)

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
        what = "devices" if index is self._by_device else "calls"
        self._count(what, key, 1)

        def unsubscribe() -> None:
            entries = index.get(key)
            if entries is None or entries.pop(token, None) is None:
                return
            self._count(what, key, -1)
            if not entries:
                del index[key]

        return unsubscribe

    def _count(self, what: str, key: object, step: int) -> None:
        """One more (``step`` 1) or one less (-1) subscription wanting ``key`` among
        ``what``: "devices", "calls", "kinds" (a class and its subclasses: :meth:`wants`
        looks up the exact class) or "all"."""
        if what == "all":
            self._wanting_all += step
        elif what == "kinds":
            pending = [key]
            while pending:
                cls = pending.pop()
                _counted(self._kinds, cls, step)
                pending.extend(cls.__subclasses__())  # type: ignore[attr-defined]
        else:
            _counted(self._devices if what == "devices" else self._calls, key, step)

    # -- interest ----------------------------------------------------------------------------
    def wants(self, kind: type, call_id: str, *device_groups: object) -> bool:
        """Does any subscription want an event of class ``kind`` about ``call_id`` that names
        the devices in ``device_groups`` (iterables, looked at only when a device is wanted)?
        Always True while an event is being delivered (see the module docstring)."""
        if self._wanting_all or self._delivering or kind in self._kinds or call_id in self._calls:
            return True
        devices = self._devices
        if devices:
            for group in device_groups:
                for device in group:  # type: ignore[attr-defined]
                    if device in devices:
                        return True
        return False

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
