"""The exchange process's side of the bus (docs/cluster.md, "Requests" and "Events"): it
serves the CSTA requests its front ends forward, against the real switching model, and
publishes the switch's events.

- **Requests** (ECMA-269 clause 9: one answer per request): a forwarded request is decoded
  (``csta.codec``) and run by the same handler a single process runs, with a stand-in
  association that presents devices as the client's own association does (its E.164 flag
  and echo strings, docs/protocol-notes.md D2). The answer is the encoded response or the
  ECMA-269 error value the single process would have written, and the device strings the
  handler remembered, for the client's association on the front end.
- **Order** (ECMA-323: a response before the events its request caused): the events the
  switch emits while a request's handler runs are not published at once but returned with
  the answer (``bus.Reply(body, then=...)``); the bus publishes them after it, on the same
  connection. Events outside a request (timers, the simulator, the admin shell) are
  published at once.
- **Events** go out on their devices' and calls' channels (``cluster.wire``), numbered, and
  only on the channels some front end listens to. The switch builds only the events that
  go out somewhere: this server subscribes to it with an interest (``pbx.bus.Interest``) in
  the devices and calls of those channels, the union over its front ends, narrowed again
  when a front end stops listening or is forgotten. Events of devices and calls nobody
  monitors are not built here (unless another subscriber of this process wants them).
- **Routeing** (ECMA-269 clause 20) runs here, next to the switch's queues: each front-end
  client that makes routeing requests has a stand-in association that lasts until the front
  end says it is gone; what the routeing service sends it (Route Request, Route Used, Route
  End) goes to that front end's channel - after the event that caused it, as one process
  sends a monitor's Queued event before the Route Request.
"""

from __future__ import annotations

import inspect
import uuid
from typing import Any

from twisted.internet import defer
from twisted.logger import Logger
from zope.interface import implementer

from cstaserver.bus.interfaces import Reply
from cstaserver.cluster import wire
from cstaserver.csta import codec
from cstaserver.csta.association import Association, IMessageTransport, Profile
from cstaserver.csta.core import CstaCore, ServiceRequest
from cstaserver.csta.errors import UNSUPPORTED_SERVICE, CstaError, ErrorValue, error_for_decode
from cstaserver.csta.xmlsafe import XmlRejected
from cstaserver.pbx.bus import Interest
from cstaserver.pbx.errors import SwitchError

log = Logger()


@implementer(IMessageTransport)
class _ForwardedClient:
    """The transport of a stand-in association: the client is on a front end, so nothing is
    ever written here (handlers that send unsolicited messages run on the front end)."""

    def __init__(self, peer: str) -> None:
        self.peer = peer

    def write_message(self, data: bytes, correlation: object) -> None:
        log.warn("a message for forwarded client {peer} was dropped", peer=self.peer)

    def send_request(self, data: bytes) -> defer.Deferred:
        return defer.fail(RuntimeError("a forwarded client takes no server requests"))

    def close(self, reason: str) -> None:
        pass


@implementer(IMessageTransport)
class _RouteingClient:
    """The transport of a front-end client's routeing stand-in: its messages go to the
    front end's channel (ordered by the server, see :meth:`ExchangeServer._unsolicited`)."""

    def __init__(self, server: ExchangeServer, channel: str, association: int, peer: str) -> None:
        self.server, self.channel, self.association, self.peer = server, channel, association, peer

    def write_message(self, data: bytes, correlation: object) -> None:
        if data:
            self.server._unsolicited(self.channel, wire.unsolicited_message(self.association, data))

    def send_request(self, data: bytes) -> defer.Deferred:
        return defer.fail(RuntimeError("a forwarded client takes no server requests"))

    def close(self, reason: str) -> None:
        pass


class ExchangeServer:
    """Exchange side: serves the front ends' forwarded CSTA requests and publishes events."""

    def __init__(self, bus: Any, core: CstaCore, *, exchange: str = "default", clock: Any) -> None:
        """``core``: a CstaCore over the real switch (its service table runs the requests)."""
        self.bus = bus
        self.core = core
        self.exchange = exchange
        self.clock = clock
        self.epoch = uuid.uuid4().hex[:12]  # this run's events count from 1
        self.sequence = 0
        self.requests = 0
        self._held: list[tuple[str, str]] | None = None
        self._unsubscribe: Any = None
        self._stop_serving: Any = None
        #: routeing stand-ins of front-end clients: (front channel, association) -> Association
        self.clients: dict[tuple[str, int], Association] = {}
        self._unsent: list[tuple[str, str]] = []  # routeing messages waiting for their event
        #: event channel -> the front ends listening to it (only those channels get events)
        self.wanted: dict[str, set[str]] = {}
        #: what the switch builds events for: the devices and calls of ``wanted``'s channels
        self.interest = Interest()
        self._flush_call: Any = None

    # -- start / stop ------------------------------------------------------------------------
    def start(self) -> defer.Deferred:
        """Publish the switch's events and serve requests; fires once both are in place."""
        if self._unsubscribe is None:
            self._unsubscribe = self.core.switch.subscribe(self._switch_event, self.interest)
        serving = defer.maybeDeferred(
            self.bus.serve, wire.service_name(self.exchange), self._handle
        )

        def served(stop: Any) -> None:
            self._stop_serving = stop
            log.info("exchange {exchange} serves its front ends", exchange=self.exchange)

        return serving.addCallback(served)

    def stop(self) -> defer.Deferred:
        if self._flush_call is not None and self._flush_call.active():
            self._flush_call.cancel()
        self._flush_call = None
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        stop, self._stop_serving = self._stop_serving, None
        return defer.maybeDeferred(stop) if stop is not None else defer.succeed(None)

    # -- events ------------------------------------------------------------------------------
    def _switch_event(self, event: object) -> None:
        wanted = self.wanted
        channels = [c for c in wire.event_channels(self.exchange, event) if c in wanted]
        if channels:
            self.sequence += 1
            payload = wire.event_message(self.epoch, self.sequence, event)
            for channel in channels:
                self._emit(channel, payload)
        self._flush()  # the routeing messages this event caused come after it

    def _emit(self, channel: str, payload: str) -> None:
        if self._held is not None:  # inside a request: after its answer
            self._held.append((channel, payload))
        else:
            self.bus.publish(channel, payload)

    def _unsolicited(self, channel: str, payload: str) -> None:
        """A routeing message for a front-end client. The routeing service hears a switch
        event before this server does (it subscribed first): the message waits until the
        event is out (or the request ends, or the next reactor turn)."""
        self._unsent.append((channel, payload))
        if self._held is None and self._flush_call is None:
            self._flush_call = self.clock.callLater(0, self._flush)

    def _flush(self) -> None:
        if self._flush_call is not None:
            if self._flush_call.active():
                self._flush_call.cancel()
            self._flush_call = None
        unsent, self._unsent = self._unsent, []
        for channel, payload in unsent:
            self._emit(channel, payload)

    # -- requests ----------------------------------------------------------------------------
    def _handle(self, text: str) -> Any:
        """One request from a front end: a Reply (or a Deferred of one)."""
        self.requests += 1
        asked = wire.read_request(text)  # CodecError: the bus answers RemoteFailure
        held: list[tuple[str, str]] = []
        self._held = held
        try:
            if isinstance(asked, wire.Lookup):
                answer: Any = self._lookup(asked)
            elif isinstance(asked, wire.ClientGone):
                answer = self._gone(asked)
            elif isinstance(asked, wire.Interest):
                answer = self._interest(asked)
            else:
                answer = self._csta(asked)
            self._flush()
        finally:
            self._held = None
        if isinstance(answer, defer.Deferred):  # events after its synchronous part: at once
            return answer.addCallback(lambda body: Reply(body, then=tuple(held)))
        return Reply(answer, then=tuple(held))

    def _lookup(self, lookup: wire.Lookup) -> str:
        try:
            rows = getattr(self.core.switch, lookup.op)(lookup.key)
        except SwitchError as error:
            return wire.lookup_answer(refusal=error.reason, message=error.message)
        return wire.lookup_answer(rows)

    def _interest(self, interest: wire.Interest) -> str:
        for channel in interest.channels:
            if interest.on:
                nodes = self.wanted.get(channel)
                if nodes is None:
                    nodes = self.wanted[channel] = set()
                    self._channel_wanted(channel, True)
                nodes.add(interest.node)
            else:
                self.forget(interest.node, channel)
        return "{}"

    def _channel_wanted(self, channel: str, wanted: bool) -> None:
        """The first front end listens to ``channel`` (``wanted``), or the last one stopped:
        the switch builds that device's or call's events, or no longer does for us."""
        subject = wire.channel_subject(self.exchange, channel)
        if subject is None:
            return
        kind, key = subject
        if kind == "device":
            (self.interest.want_device if wanted else self.interest.drop_device)(key)
        else:
            (self.interest.want_call if wanted else self.interest.drop_call)(key)

    def forget(self, node: str, channel: str | None = None) -> None:
        """Front end ``node`` no longer listens to ``channel`` (None: it is gone, so it
        listens to nothing, and its clients' routeing registrations end)."""
        for name in [channel] if channel is not None else list(self.wanted):
            nodes = self.wanted.get(name)
            if nodes is not None:
                nodes.discard(node)
                if not nodes:
                    del self.wanted[name]
                    self._channel_wanted(name, False)
        if channel is None:
            front = wire.front_channel(self.exchange, node)
            for client, number in [key for key in self.clients if key[0] == front]:
                self._gone(wire.ClientGone(client, number))

    def _gone(self, gone: wire.ClientGone) -> str:
        association = self.clients.pop((gone.client, gone.association), None)
        if association is not None:
            association.closed = True
            self.core.routeing.association_lost(association)
        return "{}"

    def _stand_in(self, forwarded: wire.ForwardedRequest) -> Association:
        """The association a forwarded request runs with: the client's lasting stand-in
        for routeing requests, else one for this request only."""
        profile = Profile(name=forwarded.profile, e164_presentation=forwarded.e164)
        if not forwarded.client:
            return Association(
                core=self.core,
                transport=_ForwardedClient(forwarded.peer),
                profile=profile,
                namespace=forwarded.namespace,
                device_strings=dict(forwarded.echo),
            )
        key = (forwarded.client, forwarded.association)
        association = self.clients.get(key)
        if association is None:
            transport = _RouteingClient(
                self, forwarded.client, forwarded.association, forwarded.peer
            )
            association = Association(core=self.core, transport=transport, profile=profile)
            self.clients[key] = association
        association.profile = profile
        association.namespace = forwarded.namespace
        association.device_strings = dict(forwarded.echo)
        return association

    def _csta(self, forwarded: wire.ForwardedRequest) -> str | defer.Deferred:
        namespace = forwarded.namespace
        try:
            decoded = codec.decode(forwarded.body.encode("utf-8"))
        except (XmlRejected, codec.DecodeError) as error:
            return wire.ForwardedAnswer(
                error=error_for_decode(error).name, message=str(error)
            ).encode()
        handler = self.core.services.lookup(type(decoded.message))
        if decoded.message is None or handler is None:
            return wire.ForwardedAnswer(error=UNSUPPORTED_SERVICE.name).encode()
        association = self._stand_in(forwarded)
        request = ServiceRequest(self.core, association, decoded.message, namespace)
        echo = dict(forwarded.echo)
        try:
            result = handler(request)
            if inspect.iscoroutine(result):
                result = defer.Deferred.fromCoroutine(result)
        except Exception as error:
            return self._refused(error, request, echo)
        if isinstance(result, defer.Deferred):
            return result.addCallbacks(
                lambda response: self._answered(response, request, echo),
                lambda failure: self._refused(failure.value, request, echo),
            )
        return self._answered(result, request, echo)

    @staticmethod
    def _learned(request: ServiceRequest, echo: dict[str, str]) -> tuple[tuple[str, str], ...]:
        strings = request.association.device_strings
        return tuple((n, t) for n, t in strings.items() if echo.get(n) != t)

    def _answered(self, response: Any, request: ServiceRequest, echo: dict[str, str]) -> str:
        data = (
            response if isinstance(response, bytes) else codec.encode(response, request.namespace)
        )
        learned = self._learned(request, echo)
        return wire.ForwardedAnswer(body=data.decode("utf-8"), learned=learned).encode()

    def _refused(self, error: BaseException, request: ServiceRequest, echo: dict[str, str]) -> str:
        value: ErrorValue = self.core.error_value(error, request)
        message = error.message if isinstance(error, (CstaError, SwitchError)) else ""
        learned = self._learned(request, echo)
        return wire.ForwardedAnswer(error=value.name, message=message, learned=learned).encode()
