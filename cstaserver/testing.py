"""Test doubles of the server's two seams, for cstaserver's own tests and for users' tests.

- :class:`FakeSwitch` provides :class:`~cstaserver.pbx.interfaces.ISwitch` in memory: it
  records every operation it is asked for, answers what the test configures (or refuses with
  a :class:`~cstaserver.pbx.errors.SwitchError` and the switch's ``Refusal``, which the CSTA
  layer answers with its ECMA-269 12.2 error value), and emits the domain events
  (:mod:`cstaserver.pbx.events`) the test gives it to its subscribers. It simulates no call
  model: no state changes unless the test says so.
- :class:`FakeTransport` provides :class:`~cstaserver.csta.association.IMessageTransport`:
  one client connection as the CSTA core sees it. It records what the core writes (answers
  and events), the server-originated requests it sends (each with a Deferred the test fires
  with the client's answer) and the reasons it is closed for; :meth:`FakeTransport.associate`
  and :meth:`FakeTransport.request` drive a real :class:`~cstaserver.csta.core.CstaCore`
  with CSTA request bodies (ECMA-323 XML) without a socket.

Typical use, a CSTA application's request checked against what reached the switch::

    switch = FakeSwitch()
    switch.answer("make_call", ("42", "1000"))
    core = CstaCore(switch, Clock())
    client = FakeTransport()
    client.associate(core)
    response = client.request(make_call_body)          # the MakeCallResponse bytes
    assert switch.requests == [("make_call", ("1000", "1001", True, None, None))]
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

import attrs
from twisted.internet.defer import Deferred
from zope.interface import implementer

from cstaserver.csta.association import Association, IMessageTransport, Profile
from cstaserver.csta.core import CstaCore
from cstaserver.pbx.bus import EventBus, Interest
from cstaserver.pbx.demo import demo_plan
from cstaserver.pbx.devices import DeviceInfo, Numbering, build_devices
from cstaserver.pbx.errors import Refusal, SwitchError
from cstaserver.pbx.interfaces import ISwitch
from cstaserver.pbx.plan import ExchangePlan, PublicNumbering

Callback = Callable[[object], None]

__all__ = ["FakeSwitch", "FakeTransport", "SentRequest", "SwitchRequest", "Written"]


class SwitchRequest(NamedTuple):
    """One operation a :class:`FakeSwitch` was asked for; ``args`` holds every parameter of
    the operation in :class:`ISwitch` order, defaults included (it compares equal to a plain
    ``(operation, args)`` tuple)."""

    operation: str
    args: tuple[Any, ...]


#: The ISwitch operations a FakeSwitch records in ``requests``: call control (ECMA-269 17),
#: GenerateDigits (18), snapshots (16), logical device features (19) and the message waiting
#: indicator (21).
OPERATIONS = frozenset(
    {
        "snapshot_device",
        "snapshot_call",
        "make_call",
        "make_predictive_call",
        "answer_call",
        "clear_connection",
        "clear_call",
        "hold_call",
        "retrieve_call",
        "consultation_call",
        "transfer_call",
        "single_step_transfer",
        "conference_call",
        "single_step_conference",
        "alternate_call",
        "reconnect_call",
        "deflect_call",
        "generate_digits",
        "route_select",
        "route_timed_out",
        "queued_calls",
        "set_forwarding",
        "get_forwarding",
        "set_do_not_disturb",
        "get_do_not_disturb",
        "set_agent_state",
        "get_agent_state",
        "set_message_waiting",
        "get_message_waiting",
    }
)


@attrs.define(eq=False)
class _Answer:
    result: Any
    events: tuple[object, ...]


@implementer(ISwitch)
class FakeSwitch:
    """An in-memory :class:`ISwitch` that records, answers as told and emits on demand.

    ``plan`` (the demo exchange by default) gives the devices, the public numbering and what
    counts as an external number, exactly as the real switch reads them; ``clock`` is kept for
    code that builds a switch from ``(plan, clock)``.

    Every operation is appended to :attr:`requests` as a :class:`SwitchRequest` (the plan
    look-ups ``device``, ``devices`` and ``is_external`` go to :attr:`lookups` instead, so
    assertions about requests do not depend on how a caller validates numbers). Then, in
    this order: a refusal set with :meth:`refuse` raises its ``SwitchError``; an answer set
    with :meth:`answer` emits its events and returns its result; otherwise a neutral default
    is returned (a new call ID for operations that create a call, ``None``, ``[]`` or
    ``False``; ``snapshot_call`` refuses with ``NO_SUCH_CALL``, as for a call that does not
    exist).
    """

    def __init__(self, plan: ExchangePlan | None = None, clock: Any = None) -> None:
        self.plan: ExchangePlan = plan if plan is not None else demo_plan()
        self.clock = clock
        self.requests: list[SwitchRequest] = []
        self.lookups: list[SwitchRequest] = []
        self.emitted: list[object] = []
        self._devices: dict[str, DeviceInfo] = build_devices(self.plan)
        self._numbering = Numbering(self.plan, self._devices)
        self._bus = EventBus()
        self._answers: dict[str, _Answer] = {}
        self._refusals: dict[str, SwitchError] = {}
        self._call_ids = itertools.count(1)

    @property
    def public_numbering(self) -> PublicNumbering:
        return self.plan.public_numbering

    # -- configuring (the test's side) ----------------------------------------------------
    def answer(self, operation: str, result: Any, *, events: Iterable[object] = ()) -> None:
        """From now on ``operation`` emits ``events`` (in order, to the subscribers that see
        them) and returns ``result`` - or ``result(*args)`` when ``result`` is callable."""
        self._refusals.pop(_checked(operation), None)
        self._answers[operation] = _Answer(result, tuple(events))

    def refuse(self, operation: str, reason: Refusal, message: str = "") -> None:
        """From now on ``operation`` raises ``SwitchError(reason, message)`` and emits
        nothing; the CSTA layer answers the client with the ECMA-269 12.2 error value of
        ``reason``."""
        self._refusals[_checked(operation)] = SwitchError(reason, message)

    def allow(self, operation: str) -> None:
        """Undo :meth:`refuse` for ``operation``."""
        self._refusals.pop(_checked(operation), None)

    def emit(self, event: object) -> None:
        """Deliver a domain event, as the switch does after a change of state: to every
        subscriber, to the device subscribers of ``event.devices`` and to the call
        subscribers of ``event.call_ids``; each subscriber once, in order."""
        self.emitted.append(event)
        self._bus.publish(event)

    def subscriber_count(self) -> int:
        """How many subscriptions are live (to check that a caller unsubscribed)."""
        return self._bus.subscriber_count()

    def operations(self, operation: str) -> list[tuple[Any, ...]]:
        """The argument tuples of every recorded ``operation``, in order."""
        return [request.args for request in self.requests if request.operation == operation]

    def _request(self, operation: str, args: tuple[Any, ...], default: Callable[[], Any]) -> Any:
        self.requests.append(SwitchRequest(operation, args))
        refusal = self._refusals.get(operation)
        if refusal is not None:
            raise refusal
        answer = self._answers.get(operation)
        if answer is None:
            return default()
        for event in answer.events:
            self.emit(event)
        return answer.result(*args) if callable(answer.result) else answer.result

    def _new_call_id(self) -> str:
        return str(next(self._call_ids))

    # -- subscriptions --------------------------------------------------------------------
    def subscribe(self, callback: Callback, interest: Interest | None = None) -> Callable[[], None]:
        return self._bus.subscribe(callback, interest)

    def subscribe_device(self, device: str, callback: Callback) -> Callable[[], None]:
        return self._bus.subscribe_device(device, callback)

    def subscribe_call(self, call_id: str, callback: Callback) -> Callable[[], None]:
        return self._bus.subscribe_call(call_id, callback)

    # -- look-ups -------------------------------------------------------------------------
    def device(self, number: str) -> DeviceInfo:
        self.lookups.append(SwitchRequest("device", (number,)))
        internal = self._numbering.internal(number)
        if internal is None:
            raise SwitchError(Refusal.NO_SUCH_DEVICE, f"no device {number}")
        return self._devices[internal]

    def devices(self) -> list[DeviceInfo]:
        self.lookups.append(SwitchRequest("devices", ()))
        return list(self._devices.values())

    def is_external(self, number: str) -> bool:
        self.lookups.append(SwitchRequest("is_external", (number,)))
        return self._numbering.is_external(number)

    def snapshot_device(self, device: str) -> list:
        return self._request("snapshot_device", (device,), list)

    def snapshot_call(self, call_id: str) -> list:
        def unknown() -> list:
            raise SwitchError(Refusal.NO_SUCH_CALL, f"no call {call_id}")

        return self._request("snapshot_call", (call_id,), unknown)

    # -- call control (ECMA-269 17, 18) ---------------------------------------------------
    def make_call(
        self,
        calling: str,
        called: str,
        *,
        auto_originate: bool = True,
        correlator_data: str | None = None,
        user_data: object | None = None,
    ) -> tuple:
        args = (calling, called, auto_originate, correlator_data, user_data)
        return self._request("make_call", args, lambda: (self._new_call_id(), calling))

    def make_predictive_call(
        self,
        calling: str,
        called: str,
        *,
        alert_time: float | None = None,
        correlator_data: str | None = None,
        user_data: object | None = None,
    ) -> tuple:
        args = (calling, called, alert_time, correlator_data, user_data)
        return self._request("make_predictive_call", args, lambda: (self._new_call_id(), calling))

    def answer_call(self, call_id: str, device: str) -> None:
        return self._request("answer_call", (call_id, device), _none)

    def clear_connection(self, call_id: str, device: str) -> None:
        return self._request("clear_connection", (call_id, device), _none)

    def clear_call(self, call_id: str) -> None:
        return self._request("clear_call", (call_id,), _none)

    def hold_call(self, call_id: str, device: str) -> None:
        return self._request("hold_call", (call_id, device), _none)

    def retrieve_call(self, call_id: str, device: str) -> None:
        return self._request("retrieve_call", (call_id, device), _none)

    def consultation_call(self, held_call_id: str, device: str, consulted: str) -> tuple:
        args = (held_call_id, device, consulted)
        return self._request("consultation_call", args, lambda: (self._new_call_id(), device))

    def transfer_call(self, held_call_id: str, active_call_id: str, device: str) -> str:
        args = (held_call_id, active_call_id, device)
        return self._request("transfer_call", args, self._new_call_id)

    def single_step_transfer(self, call_id: str, device: str, transferred_to: str) -> tuple:
        args = (call_id, device, transferred_to)
        return self._request(
            "single_step_transfer", args, lambda: (self._new_call_id(), transferred_to)
        )

    def conference_call(self, held_call_id: str, active_call_id: str, device: str) -> str:
        args = (held_call_id, active_call_id, device)
        return self._request("conference_call", args, self._new_call_id)

    def single_step_conference(
        self,
        call_id: str,
        device_to_join: str,
        *,
        requesting: str | None = None,
        silent: bool = False,
    ) -> tuple:
        args = (call_id, device_to_join)
        return self._request("single_step_conference", args, lambda: (call_id, device_to_join))

    def alternate_call(self, held_call_id: str, active_call_id: str, device: str) -> None:
        args = (held_call_id, active_call_id, device)
        return self._request("alternate_call", args, _none)

    def reconnect_call(self, held_call_id: str, active_call_id: str, device: str) -> None:
        args = (held_call_id, active_call_id, device)
        return self._request("reconnect_call", args, _none)

    def deflect_call(self, call_id: str, device: str, new_destination: str) -> None:
        return self._request("deflect_call", (call_id, device, new_destination), _none)

    def generate_digits(self, call_id: str, device: str, digits: str) -> None:
        return self._request("generate_digits", (call_id, device, digits), _none)

    # -- routeing (ECMA-269 20.2) ---------------------------------------------------------
    def route_select(self, call_id: str, group: str, destination: str) -> tuple:
        args = (call_id, group, destination)
        return self._request("route_select", args, lambda: (call_id, destination))

    def route_timed_out(self, call_id: str, group: str) -> None:
        return self._request("route_timed_out", (call_id, group), _none)

    def queued_calls(self, group: str) -> list:
        return self._request("queued_calls", (group,), list)

    # -- logical device features (ECMA-269 19) --------------------------------------------
    def set_forwarding(
        self,
        device: str,
        forwarding_type: object,
        forward_to: str | None,
        activate: bool,
        ring_count: int | None = None,
    ) -> None:
        args = (device, forwarding_type, forward_to, activate, ring_count)
        return self._request("set_forwarding", args, _none)

    def get_forwarding(self, device: str) -> list:
        return self._request("get_forwarding", (device,), list)

    def set_do_not_disturb(self, device: str, on: bool) -> None:
        return self._request("set_do_not_disturb", (device, on), _none)

    def get_do_not_disturb(self, device: str) -> bool:
        return self._request("get_do_not_disturb", (device,), lambda: False)

    def set_agent_state(
        self,
        device: str,
        requested: object,
        agent_id: str | None = None,
        password: str | None = None,
        group: str | None = None,
    ) -> None:
        args = (device, requested, agent_id, password, group)
        return self._request("set_agent_state", args, _none)

    def get_agent_state(self, device: str) -> list:
        return self._request("get_agent_state", (device,), list)

    # -- call features ----------------------------------------------------------------------
    def set_message_waiting(self, device: str, on: bool) -> None:
        return self._request("set_message_waiting", (device, on), _none)

    def get_message_waiting(self, device: str) -> bool:
        return self._request("get_message_waiting", (device,), lambda: False)

    def pickup_call(self, call_id: str, device: str, requesting: str) -> tuple:
        args = (call_id, device, requesting)
        return self._request("pickup_call", args, lambda: (call_id, requesting))

    def group_pickup_call(self, requesting: str, group: int | None = None) -> tuple:
        args = (requesting, group)
        return self._request("group_pickup_call", args, lambda: (self._new_call_id(), requesting))

    def park_call(self, call_id: str, device: str, park_to: str) -> tuple:
        args = (call_id, device, park_to)
        return self._request("park_call", args, lambda: (call_id, park_to))

    def camp_on_call(self, call_id: str, device: str) -> str:
        return self._request("camp_on_call", (call_id, device), lambda: device)

    def call_back(self, call_id: str, device: str) -> str:
        return self._request("call_back", (call_id, device), lambda: device)

    def call_back_non_call(self, originating: str, target: str) -> None:
        return self._request("call_back_non_call", (originating, target), _none)

    def cancel_call_back(self, originating: str, target: str) -> None:
        return self._request("cancel_call_back", (originating, target), _none)

    def intrude_call(self, call_id: str, device: str, *, silent: bool = False) -> tuple:
        return self._request("intrude_call", (call_id, device), lambda: (call_id, device))

    def restricted_parties(self, call_id: str) -> tuple:
        """A look-up (in ``lookups``): no party of a fake call is restricted."""
        self.lookups.append(SwitchRequest("restricted_parties", (call_id,)))
        return ()


def _none() -> None:
    return None


def _checked(operation: str) -> str:
    if operation not in OPERATIONS:
        raise ValueError(f"{operation!r} is not an ISwitch operation a FakeSwitch answers")
    return operation


class Written(NamedTuple):
    """One message the core wrote: ``correlation`` names the request it answers, ``None``
    for an unsolicited message (an event)."""

    data: bytes
    correlation: object


class SentRequest(NamedTuple):
    """A server-originated request (ECMA-269 SystemStatus); fire ``deferred`` with the
    client's answer (or fail it, as a time-out would)."""

    data: bytes
    deferred: Deferred


@implementer(IMessageTransport)
@attrs.define(eq=False)
class FakeTransport:
    """An in-memory :class:`IMessageTransport`: one client connection of the CSTA core.

    The core's writes land in :attr:`written`, its server-originated requests in
    :attr:`sent_requests`, each :meth:`close` reason in :attr:`close_reasons`. After
    :meth:`associate`, :meth:`receive` hands a request body to the association as a
    transport does on reading one (ECMA-323 XML; the correlation stands for the raw port's
    invoke ID) and :meth:`request` also returns the answer. Closing behaves like a real
    connection going away afterwards: the association is told the connection is lost.
    """

    peer: str = "192.0.2.10:50123"
    written: list[Written] = attrs.Factory(list)
    sent_requests: list[SentRequest] = attrs.Factory(list)
    close_reasons: list[str] = attrs.Factory(list)
    association: Association | None = None
    _correlations: Iterator[int] = attrs.field(factory=lambda: itertools.count(1), repr=False)

    # -- IMessageTransport ----------------------------------------------------------------
    def write_message(self, data: bytes, correlation: object) -> None:
        self.written.append(Written(data, correlation))

    def send_request(self, data: bytes) -> Deferred:
        deferred: Deferred = Deferred()
        self.sent_requests.append(SentRequest(data, deferred))
        return deferred

    def close(self, reason: str) -> None:
        self.close_reasons.append(reason)
        if self.association is not None:
            self.association.connection_lost(reason)

    # -- driving a core (the test's side) -------------------------------------------------
    def associate(self, core: CstaCore, profile: Profile | None = None) -> Association:
        """Become a client connection of ``core`` (as a transport does on connect)."""
        self.association = core.associate(self, profile)
        return self.association

    def receive(self, body: bytes | str, correlation: object = None) -> object:
        """Hand one request body to the association; returns its correlation (a new
        four-digit one, like an ECMA-323 invoke ID, unless given)."""
        if self.association is None:
            raise RuntimeError("associate() the transport with a core first")
        if correlation is None:
            correlation = f"{next(self._correlations) % 10000:04d}"
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.association.receive(data, correlation)
        return correlation

    def request(self, body: bytes | str) -> bytes | None:
        """:meth:`receive` ``body`` and return the answer written for it, or ``None`` when
        the core has not answered yet (an answer that waits on a clock)."""
        return self.answer_to(self.receive(body))

    def answer_to(self, correlation: object) -> bytes | None:
        """The message written in answer to ``correlation``, if any."""
        for written in self.written:
            if written.correlation is not None and written.correlation == correlation:
                return written.data
        return None

    @property
    def events(self) -> list[bytes]:
        """The unsolicited messages written (events), in order."""
        return [written.data for written in self.written if written.correlation is None]

    @property
    def closed(self) -> bool:
        return bool(self.close_reasons)

    def disconnect(self, reason: str = "connection lost") -> None:
        """The client goes away: the association hears the connection is lost."""
        if self.association is not None:
            self.association.connection_lost(reason)
