"""A front end's side of the bus (docs/cluster.md, "Requests" and "Events"): the switch its
CSTA core sees (:class:`RemoteSwitch`) and the service table it runs (:func:`front_services`).

A front end carries the protocols, the ECMA-354 application sessions and the monitors
(ECMA-269 clause 15) of its own clients; the switching model runs in the exchange process.

- **Forwarded requests**: every service that needs the live switch (call control, snapshot,
  logical and physical device features, ECMA-269 clauses 16-19 and 21) is forwarded whole to
  the exchange, which runs the same handler and sends back the encoded response or the error
  value; the client gets exactly what one process answers. The ECMA-354 session services,
  the system services (clause 14), the capability exchange (clause 13, from the exchange
  data) and the monitoring services stay on the front end. When the exchange does not answer
  within the time-out the client gets ``systemResourceAvailability generic`` (ECMA-269
  12.2.x: the system cannot provide the service now), within that time-out.
- **Routeing** (clause 20) runs in the exchange process, next to the switch's queues: the
  routeing requests are forwarded naming the client, and what the exchange's routeing
  service sends the client (Route Request, Route Used, Route End) comes back on this front
  end's own channel. When the client goes, the exchange is told, and its registrations end
  (:class:`RemoteRouteing`, the front end's core's routeing service).
- **Events**: the monitor registry tells :class:`RemoteSwitch` which devices and calls are
  watched (``csta.monitors.IMonitorInterest``); it subscribes to those channels only and
  hands each event (once, by its sequence number) to its subscribers in the order the
  exchange emitted them.
- **Plan look-ups** (``plan``, ``public_numbering``, ``device``, ``devices``,
  ``is_external``) are answered from the *shadow*: a switch built from the same exchange
  data, never driven. The live look-ups a front end's own services make (a call-type monitor
  needs the device's current calls at Monitor Start; a call monitor needs to know the call
  exists) are fetched from the exchange just before, never invented.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from twisted.internet import defer
from twisted.logger import Logger
from zope.interface import implementer

from cstaserver.bus.interfaces import BusError, BusTimeout, RemoteFailure
from cstaserver.cluster import wire
from cstaserver.cluster.codec import CodecError, from_json_value
from cstaserver.csta import codec
from cstaserver.csta.errors import CstaError, ErrorValue
from cstaserver.csta.messages.monitoring import MonitorStart
from cstaserver.csta.monitors import IMonitorInterest
from cstaserver.csta.routeing import IRouteingHost
from cstaserver.csta.services import capabilities, monitoring, routeing, sessions, system
from cstaserver.csta.services.common import internal_device
from cstaserver.csta.services.registry import SERVICES, Handler, ServiceTable
from cstaserver.csta.types import MonitorType
from cstaserver.pbx.bus import EventBus, Interest
from cstaserver.pbx.errors import Refusal, SwitchError
from cstaserver.pbx.switch import Switch

log = Logger()

#: What a client is told when the exchange does not answer (ECMA-269 12.2.x).
EXCHANGE_UNAVAILABLE = ErrorValue.SYSTEM_RESOURCE_GENERIC
#: What a client is told when the exchange failed on its request (as one process would).
EXCHANGE_FAILED = ErrorValue.GENERIC


class NotFetched(CstaError):
    """A live look-up of the switch that a front end has not fetched from the exchange: the
    request that needs it is refused like one the exchange cannot answer now."""

    def __init__(self, message: str) -> None:
        super().__init__(EXCHANGE_UNAVAILABLE, message)


def bus_error(error: BaseException, what: str) -> CstaError:
    """The CSTA error a request is answered with when the bus could not carry it."""
    if isinstance(error, RemoteFailure):
        log.warn("the exchange failed on {what}: {error}", what=what, error=str(error))
        return CstaError(EXCHANGE_FAILED, f"the exchange failed on {what}")
    if isinstance(error, CodecError):
        log.warn(
            "the exchange's answer to {what} was not understood: {error}",
            what=what,
            error=str(error),
        )
        return CstaError(EXCHANGE_FAILED, f"the exchange's answer to {what} was not understood")
    if isinstance(error, BusTimeout):
        return CstaError(EXCHANGE_UNAVAILABLE, f"the exchange did not answer {what} in time")
    return CstaError(EXCHANGE_UNAVAILABLE, f"the exchange cannot be reached: {error}")


class RemoteRouteing:
    """A front end's routeing service (ECMA-269 clause 20): the registrations and dialogues
    are the exchange's; this one tells the exchange when a client that has some goes."""

    def __init__(self, remote: RemoteSwitch) -> None:
        self.remote = remote

    def association_lost(self, association: Any) -> None:
        self.remote.client_gone(association)


@implementer(IMonitorInterest, IRouteingHost)
class RemoteSwitch:
    """What a front end's CstaCore gets as its switch (see the module docstring)."""

    def __init__(
        self,
        bus: Any,
        shadow: Any,
        *,
        exchange: str = "default",
        clock: Any,
        timeout: float = 5.0,
    ) -> None:
        """``shadow``: a pbx Switch built from the same exchange data, used only for plan
        look-ups; ``timeout``: seconds a forwarded request waits for the exchange."""
        self.bus = bus
        self.shadow = shadow
        self.exchange = exchange
        self.clock = clock
        self.timeout = timeout
        self.events = EventBus()
        self.events_received = 0
        self._epoch: str | None = None
        self._last = 0
        self._watched: dict[str, int] = {}  # channel -> how many watch it
        self._stops: dict[str, Callable[[], Any]] = {}
        self._subscribing: dict[str, defer.Deferred] = {}
        self._fetched: dict[tuple[str, str], Any] = {}
        #: the clients that made routeing requests, by association number
        self.clients: dict[int, Any] = {}
        self.front_channel = wire.front_channel(exchange, bus.node_id)

    # -- plan look-ups (the shadow) -----------------------------------------------------------
    @property
    def plan(self) -> Any:
        return self.shadow.plan

    @property
    def public_numbering(self) -> Any:
        return self.shadow.public_numbering

    @property
    def numbering(self) -> Any:
        return self.shadow.numbering

    def device(self, number: str) -> Any:
        return self.shadow.device(number)

    def devices(self) -> list:
        return self.shadow.devices()

    def is_external(self, number: str) -> bool:
        return self.shadow.is_external(number)

    def plan_refusal(self, plan: Any) -> None:
        """A new plan is never refused here: the exchange process accepted it already."""
        return None

    def update_plan(self, plan: Any) -> None:
        """The exchange data changed (the seam ``csta -i`` uses): plan look-ups from a new
        shadow of ``plan`` from now on."""
        self.shadow = Switch(plan, self.clock)

    # -- live look-ups (fetched from the exchange just before) --------------------------------
    def snapshot_device(self, device: str) -> list:
        return self._fetched_rows("snapshot_device", device)

    def snapshot_call(self, call_id: str) -> list:
        return self._fetched_rows("snapshot_call", call_id)

    def _fetched_rows(self, op: str, key: str) -> Any:
        if (op, key) not in self._fetched:
            raise NotFetched(f"{op}({key!r}) is not known on a front end before it is fetched")
        rows = self._fetched[(op, key)]
        if isinstance(rows, SwitchError):
            raise rows
        return rows

    async def fetch(self, op: str, key: str) -> Any:
        """``snapshot_device`` / ``snapshot_call`` of the live switch: its rows, or the
        switch's refusal (SwitchError); a CstaError when the exchange cannot answer."""
        what = f"{op} {key}"
        try:
            text = await self.bus.request(
                wire.service_name(self.exchange), wire.Lookup(op, key).encode(), self.timeout
            )
            rows, refusal, message = wire.read_lookup_answer(text)
            if refusal is not None:
                return SwitchError(Refusal[refusal], message)
        except (BusError, CodecError, KeyError) as error:
            raise bus_error(error, what) from None
        return rows

    @contextlib.contextmanager
    def watching(self, op: str, key: str) -> Iterator[None]:
        """Listen to the channel of the device or call ``op(key)`` looks up, in the block."""
        device = op == "snapshot_device"
        (self.watch_device if device else self.watch_call)(key)
        try:
            yield
        finally:
            (self.unwatch_device if device else self.unwatch_call)(key)

    async def with_live(self, op: str, key: str, start: Callable[[], Any]) -> Any:
        """``start()`` (a monitor starting) with ``op(key)`` of the live switch fetched from
        the exchange, the device's or call's events listened to first (events from now on,
        then the state now)."""
        with self.watching(op, key):
            await self.settled()
            rows = await self.fetch(op, key)
            with self.fetched(op, key, rows):
                return start()

    async def with_live_calls(self, device: str, start: Callable[[], Any]) -> Any:
        """``start()`` (a call-type monitor starting on ``device``) with the device's calls
        of now (a session taken over restores its monitors so)."""
        return await self.with_live("snapshot_device", device, start)

    @contextlib.contextmanager
    def fetched(self, op: str, key: str, rows: Any) -> Iterator[None]:
        """Answer ``op(key)`` with ``rows`` (or raise it, a SwitchError) inside the block."""
        self._fetched[(op, key)] = rows
        try:
            yield
        finally:
            self._fetched.pop((op, key), None)

    # -- forwarded CSTA requests -------------------------------------------------------------
    async def forward(self, request: Any, *, routeing: bool = False) -> bytes:
        """Have the exchange run ``request`` (a ServiceRequest); the encoded response.
        ``routeing``: a routeing request, naming the client (its messages come back on this
        front end's channel)."""
        association = request.association
        client = ""
        if routeing:
            if not self._watched.get(self.front_channel):
                self._watch(self.front_channel)
            self.clients[association.id] = association
            await self.settled()
            client = self.front_channel
        forwarded = wire.ForwardedRequest(
            body=forwarded_body(request),
            namespace=request.namespace,
            e164=association.profile.e164_presentation,
            echo=tuple(association.device_strings.items()),
            peer=association.peer,
            profile=association.profile.name,
            client=client,
            association=association.id if routeing else 0,
        )
        what = type(request.message).__name__
        try:
            text = await self.bus.request(
                wire.service_name(self.exchange), forwarded.encode(), self.timeout
            )
            answer = wire.ForwardedAnswer.decode(text)
            value = ErrorValue[answer.error] if answer.error is not None else None
        except (BusError, CodecError, KeyError) as error:
            raise bus_error(error, what) from None
        for number, text in answer.learned:
            association.remember_device_string(number, text)
        if value is not None:
            raise CstaError(value, answer.message)
        return (answer.body or "").encode("utf-8")

    # -- routeing ----------------------------------------------------------------------------
    def routeing_service(self, clock: Any, presenter: Callable[[Any], Any]) -> RemoteRouteing:
        return RemoteRouteing(self)

    def client_gone(self, association: Any) -> None:
        """A client that made routeing requests went: the exchange ends its registrations."""
        if self.clients.pop(association.id, None) is None:
            return
        gone = wire.ClientGone(self.front_channel, association.id).encode()
        asked = defer.maybeDeferred(
            self.bus.request, wire.service_name(self.exchange), gone, self.timeout
        )
        asked.addErrback(
            lambda failure: log.warn(
                "the exchange was not told that client {peer} went: {error}",
                peer=association.peer,
                error=failure.getErrorMessage(),
            )
        )

    def _client_message(self, channel: str, text: str) -> None:
        try:
            number, data = wire.read_unsolicited(text)
        except CodecError as error:
            log.warn(
                "a message on {channel} was not understood: {error}",
                channel=channel,
                error=str(error),
            )
            return
        association = self.clients.get(number)
        if association is not None and not association.closed:
            association.send_unsolicited(data)

    # -- events ------------------------------------------------------------------------------
    def subscribe(
        self, callback: Callable[[object], None], interest: Interest | None = None
    ) -> Callable[[], None]:
        """Every event of the watched devices and calls (the events come built from the
        exchange: ``interest`` changes nothing here)."""
        return self.events.subscribe(callback, interest)

    def subscribe_device(
        self, device: str, callback: Callable[[object], None]
    ) -> Callable[[], None]:
        number = self.shadow.numbering.internal(device) or device
        self.watch_device(number)
        stop = self.events.subscribe_device(number, callback)
        return lambda: (stop(), self.unwatch_device(number))[0]

    def subscribe_call(
        self, call_id: str, callback: Callable[[object], None]
    ) -> Callable[[], None]:
        self.watch_call(call_id)
        stop = self.events.subscribe_call(call_id, callback)
        return lambda: (stop(), self.unwatch_call(call_id))[0]

    def watch_device(self, number: str) -> None:
        self._watch(wire.device_channel(self.exchange, number))

    def unwatch_device(self, number: str) -> None:
        self._unwatch(wire.device_channel(self.exchange, number))

    def watch_call(self, call_id: str) -> None:
        self._watch(wire.call_channel(self.exchange, call_id))

    def unwatch_call(self, call_id: str) -> None:
        self._unwatch(wire.call_channel(self.exchange, call_id))

    @property
    def channels(self) -> list[str]:
        """The event channels this front end listens to now."""
        return sorted(self._watched)

    def _watch(self, channel: str) -> None:
        count = self._watched.get(channel, 0)
        self._watched[channel] = count + 1
        if count or channel in self._stops or channel in self._subscribing:
            return
        events = channel != self.front_channel
        receiver = self._receive if events else self._client_message
        subscribing = defer.maybeDeferred(self.bus.subscribe, channel, receiver)
        self._subscribing[channel] = subscribing

        def subscribed(stop: Callable[[], Any]) -> Any:
            if not self._watched.get(channel):  # unwatched while subscribing
                self._subscribing.pop(channel, None)
                stop()
                return None
            self._stops[channel] = stop
            if not events:
                self._subscribing.pop(channel, None)
                return None
            # listening now: the exchange may publish on the channel from here on
            told = self._tell_interest((channel,), on=True)
            return told.addBoth(done)

        def done(_: object) -> None:
            self._subscribing.pop(channel, None)

        def failed(failure: Any) -> None:
            self._subscribing.pop(channel, None)
            log.warn(
                "cannot subscribe to {channel}: {error}",
                channel=channel,
                error=failure.getErrorMessage(),
            )

        subscribing.addCallbacks(subscribed, failed)

    def _unwatch(self, channel: str) -> None:
        count = self._watched.get(channel, 0) - 1
        if count > 0:
            self._watched[channel] = count
            return
        self._watched.pop(channel, None)
        stop = self._stops.pop(channel, None)
        if stop is not None:
            stop()
            if channel != self.front_channel:
                self._tell_interest((channel,), on=False)

    def _tell_interest(self, channels: tuple[str, ...], *, on: bool) -> defer.Deferred:
        """Tell the exchange which event channels this front end listens to (it publishes
        on no other); a failure is logged (the next :meth:`announce` repairs it)."""
        interest = wire.Interest(self.bus.node_id, channels, on).encode()
        told = defer.maybeDeferred(
            self.bus.request, wire.service_name(self.exchange), interest, self.timeout
        )
        told.addErrback(
            lambda failure: log.warn(
                "the exchange was not told of {count} channels: {error}",
                count=len(channels),
                error=failure.getErrorMessage(),
            )
        )
        return told

    def announce(self) -> defer.Deferred:
        """Tell the exchange every event channel this front end listens to (after the
        exchange restarted, or came back after a gap)."""
        channels = tuple(c for c in self._stops if c != self.front_channel)
        return self._tell_interest(channels, on=True) if channels else defer.succeed(None)

    def settled(self) -> defer.Deferred:
        """Fires once the subscriptions asked for so far are in place."""
        waiting = list(self._subscribing.values())
        if not waiting:
            return defer.succeed(None)
        return defer.DeferredList(waiting, consumeErrors=True).addCallback(lambda _: None)

    def _receive(self, channel: str, text: str) -> None:
        try:
            epoch, sequence, data = wire.read_event_header(text)
            if epoch != self._epoch:  # the exchange started (again): count anew
                self._epoch, self._last = epoch, 0
            if sequence <= self._last:  # already delivered from another channel
                return
            self._last = sequence
            event = from_json_value(data)
        except CodecError as error:
            log.warn(
                "an event on {channel} was not understood: {error}",
                channel=channel,
                error=str(error),
            )
            return
        self.events_received += 1
        self.events.publish(event)

    def close(self) -> None:
        """Stop listening to every channel."""
        for stop in self._stops.values():
            stop()
        self._stops.clear()
        self._watched.clear()


#: The service modules whose handlers run on a front end itself.
LOCAL_MODULES = frozenset(m.__name__ for m in (sessions, system, capabilities, monitoring))
#: The service modules whose requests name the client (routeing: see the module docstring).
CLIENT_MODULES = frozenset(m.__name__ for m in (routeing,))


def forwarded_body(request: Any) -> str:
    """The request as the exchange gets it: the client's own XML when it is UTF-8 (the
    exchange parses it with the same safe parser), else re-encoded from the decoded message."""
    if request.body:
        try:
            return request.body.decode("utf-8")
        except UnicodeDecodeError:
            pass
    return codec.encode(request.message, request.namespace).decode("utf-8")


def _forwarder(remote: RemoteSwitch, *, routeing: bool = False) -> Handler:
    def forwarded(request: Any) -> Any:
        return remote.forward(request, routeing=routeing)

    return forwarded


def _monitor_start(remote: RemoteSwitch, start: Handler) -> Handler:
    """Monitor Start on a front end: what the local handler asks the switch live (the
    device's calls for a call-type monitor, whether a call exists) is fetched first; the
    response is written once the monitor's subscriptions are in place."""

    async def monitor_start(request: Any) -> Any:
        target = request.message.monitor_object
        key: tuple[str, str] | None = None
        if target.device_object is not None and request.message.monitor_type is MonitorType.CALL:
            try:
                number = internal_device(
                    request, target.device_object, ErrorValue.INVALID_MONITOR_OBJECT
                )
            except (CstaError, SwitchError):
                number = None  # the local handler refuses it the same way
            if number is not None:
                key = ("snapshot_device", number)
        elif target.call_object is not None and (target.call_object.call_id or "").strip():
            key = ("snapshot_call", target.call_object.call_id.strip())
        if key is None:
            response = start(request)
        else:
            response = await remote.with_live(*key, lambda: start(request))
        await remote.settled()
        return response

    return monitor_start


def front_services(remote: RemoteSwitch, base: ServiceTable = SERVICES) -> ServiceTable:
    """The service table a front end's CstaCore uses: requests that need the live switch are
    forwarded to the exchange (routeing ones naming the client); sessions, system services,
    capability exchange and monitor registration stay local (see the module docstring)."""
    table = ServiceTable()
    forwarded, forwarded_routeing = _forwarder(remote), _forwarder(remote, routeing=True)
    for request_class in base:
        handler = base.lookup(request_class)
        assert handler is not None
        module = getattr(handler, "__module__", "")
        if module in CLIENT_MODULES:
            handler = forwarded_routeing
        elif request_class is MonitorStart:
            handler = _monitor_start(remote, handler)
        elif module not in LOCAL_MODULES:
            handler = forwarded
        table.register(request_class)(handler)
    return table
