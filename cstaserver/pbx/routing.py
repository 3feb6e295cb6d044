"""Routing a call to its destination: extension features, groups, the network.

ECMA-269 clause 19.1.x (forwarding, do not disturb) as the exchange applies them when a call
is offered to an extension (ECMA TR/82 "Call Forwarding" scenarios), in this order:

1. forward immediate (``forwardImmediate``, or the ``...Int``/``...Ext`` variant matching the
   caller) -> Diverted (callForwardImmediate), then the call is offered to the destination
   with ``last_redirection_device`` set;
2. do not disturb -> forward on busy if set (Diverted callForwardBusy), else Failed
   (doNotDisturb) with the caller's connection in fail;
3. busy (a connection of any kind, or ``sim busy on``; an EDN or ADN none of whose phones
   can ring: ``devices.Appearances``) -> with call waiting on and one call in progress, the
   call waits (Delivered, cause campOn: ``waiting.py``); else forward on busy if set, else
   Failed (busy);
4. otherwise the extension alerts (Delivered); with forward on no answer set, after
   ``ring_count`` x ``plan.no_answer_ring_seconds`` (ring count 3 if not given) the call is
   Diverted (callForwardNoAnswer).

A call is redirected at most :data:`MAX_REDIRECTIONS` times (forwarding loops); after that
forwarding is not applied. Groups are handled by ``groups.py``, external numbers by
``network.py``: the router gets their entry points (``offer_group``, ``call_out``) as
callables, and drives the calls through the core's ``ICallSteps``.
"""

from __future__ import annotations

from collections.abc import Callable

from cstaserver.pbx.calls import Call, Connection
from cstaserver.pbx.devices import DeviceInfo, Numbering
from cstaserver.pbx.interfaces import ICallSteps
from cstaserver.pbx.plan import DeviceKind
from cstaserver.pbx.states import ConnectionState, EventCause, ForwardingType
from cstaserver.pbx.waiting import waits

MAX_REDIRECTIONS = 8
DEFAULT_RING_COUNT = 3

_IMMEDIATE = {
    False: (ForwardingType.IMMEDIATE, ForwardingType.IMMEDIATE_INTERNAL),
    True: (ForwardingType.IMMEDIATE, ForwardingType.IMMEDIATE_EXTERNAL),
}
_BUSY = {
    False: (ForwardingType.BUSY, ForwardingType.BUSY_INTERNAL),
    True: (ForwardingType.BUSY, ForwardingType.BUSY_EXTERNAL),
}
_NO_ANSWER = {
    False: (ForwardingType.NO_ANSWER, ForwardingType.NO_ANSWER_INTERNAL),
    True: (ForwardingType.NO_ANSWER, ForwardingType.NO_ANSWER_EXTERNAL),
}


class Router:
    """Offers calls to destinations (see the module docstring for the order of features)."""

    def __init__(
        self,
        steps: ICallSteps,
        numbering: Numbering,
        no_answer_ring_seconds: float,
        *,
        offer_group: Callable[[Call, DeviceInfo], None],
        call_out: Callable[[Call, str], None],
    ) -> None:
        self.steps = steps
        self.numbering = numbering
        self.no_answer_ring_seconds = no_answer_ring_seconds
        self.offer_group = offer_group
        self.call_out = call_out

    def offer(self, call: Call, target: str) -> None:
        """Route ``call`` to ``target`` (an internal number or an external number)."""
        info = self.steps.info(target)
        if target in call.connections:  # already a party of this very call
            self.steps.fail(call, target, EventCause.BUSY)
        elif info is None:
            self.call_out(call, target)
        elif info.kind.is_group:
            self.offer_group(call, info)
        elif info.kind is DeviceKind.TRUNK:
            self.steps.fail(call, target, EventCause.INVALID_NUMBER_FORMAT)
        else:
            self._offer_extension(call, info)

    def divert(self, call: Call, from_device: str, to: str, cause: EventCause) -> None:
        """The call leaves ``from_device`` for ``to`` (Diverted) and is offered there."""
        if from_device in call.connections:
            self.steps.remove_connection(call, from_device)
        call.redirections += 1
        call.last_redirection_device = from_device
        call.delivery_cause = cause
        self.steps.emit_diverted(call, cause, from_device, to, gone=(from_device,))
        self.offer(call, to)

    def _offer_extension(self, call: Call, info: DeviceInfo) -> None:
        external = self.numbering.is_external(call.calling_device or "")
        may_forward = call.redirections < MAX_REDIRECTIONS
        number = info.number
        if may_forward:
            entry = info.active_forwarding(_IMMEDIATE[external])
            if entry is not None and entry.forward_to:
                self.divert(call, number, entry.forward_to, EventCause.CALL_FORWARD_IMMEDIATE)
                return
        unreachable = bool(info.terminals) and not self.steps.appearances.ringing_phones(info)
        free = info.is_free()
        if not free and not unreachable and waits(info):  # a phone can take it
            self.steps.alert(call, number, cause=EventCause.CAMP_ON)
            self._forward_on_no_answer(call, info, external, may_forward)
            return
        if info.dnd or not free or unreachable:
            entry = info.active_forwarding(_BUSY[external]) if may_forward else None
            if entry is not None and entry.forward_to:
                self.divert(call, number, entry.forward_to, EventCause.CALL_FORWARD_BUSY)
                return
            cause = EventCause.DO_NOT_DISTURB if info.dnd else EventCause.BUSY
            self.steps.fail(call, number, cause)
            return
        self.steps.alert(call, number)
        self._forward_on_no_answer(call, info, external, may_forward)

    def _forward_on_no_answer(
        self, call: Call, info: DeviceInfo, external: bool, may_forward: bool
    ) -> None:
        entry = info.active_forwarding(_NO_ANSWER[external]) if may_forward else None
        if entry is not None and entry.forward_to:
            rings = entry.ring_count or DEFAULT_RING_COUNT
            delay = rings * self.no_answer_ring_seconds
            conn = call.connections[info.number]
            self.steps.set_timer(call, conn, "no_answer", delay, self._no_answer, entry.forward_to)

    def _no_answer(self, call: Call, conn: Connection, forward_to: str) -> None:
        if conn.state is ConnectionState.ALERTING:
            self.divert(call, conn.device, forward_to, EventCause.CALL_FORWARD_NO_ANSWER)
