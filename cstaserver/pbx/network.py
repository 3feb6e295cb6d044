"""Trunks and the simulated outside network.

ECMA-269 17.2.x Network Reached, ECMA TR/82 "Outgoing call to the network", "Incoming call
from the network" and 17.2.12 Make Predictive Call. The network is deterministic
(``plan.ExternalNetwork``): a call to ``0`` + digits leaves on the trunk (NetworkReached),
then

- fewer than ``min_digits`` digits: Failed (invalidNumberFormat: the network's answer to a
  number it has not allocated);
- digits ending in ``busy_suffix``: Failed (busy);
- otherwise the outside party alerts (Delivered, the external number as alerting device) and
  answers after ``answer_delay`` seconds (Established), unless the digits end in
  ``no_answer_suffix``: then it rings until the alerting time-out.

Call data (ECMA-269 12.3.x, :class:`~cstaserver.pbx.events.CallData`): a call to an outside
number has the trunk as ``associated_called_device`` from NetworkReached on; a call from an
outside caller has the trunk as ``associated_calling_device``, the caller's number as the
network gives it as ``network_calling_device`` and the number the caller dialled (the public
number) as ``network_called_device``. A caller who withholds its number (CLIR) is a
``restricted`` party of the call: the CSTA layer presents it as ECMA-269 ``restricted`` and
its connection by the trunk it came in on (:meth:`Network.hidden_party` maps the trunk back).

All trunks busy (``trunk_count`` outside parties in calls): Failed (trunksBusy) for an
outgoing call, SwitchError ALL_TRUNKS_BUSY for an outside caller. A failed outside party is
released by the network at once.

Predictive call (ECMA-269 17.2.12): the outside party is called first (the calling device or
group sees the call's events as a watcher, with no connection); when it answers, the call is
offered to the calling device or ACD group (Delivered there, or distributed to a free agent,
or Queued at the group). Calling and called stay as the application asked in every event:
``calling_device`` the calling device or group, ``called_device`` the number dialled. If the
outside party is busy, the number is not allocated or all trunks are busy, the call fails
(Failed with the network's cause); if it has not answered within the request's alert time
(default: the exchange's alerting time-out), its connection fails with cause callNotAnswered
and the call ends. In none of these cases does anything reach the agent or group.
"""

from __future__ import annotations

from twisted.logger import Logger

from cstaserver.pbx.calls import Call, Connection
from cstaserver.pbx.devices import Numbering
from cstaserver.pbx.errors import Refusal, SwitchError
from cstaserver.pbx.events import NO_CALL_DATA, CallData, NetworkReached
from cstaserver.pbx.interfaces import ITrunkSteps
from cstaserver.pbx.plan import ExternalNetwork
from cstaserver.pbx.states import ConnectionState, EventCause

log = Logger()


class Network:
    """The trunk side of the exchange: ``rules`` (the plan's ExternalNetwork), the numbering
    plan's digit analysis, and the core's ``ITrunkSteps`` to drive the calls."""

    def __init__(self, rules: ExternalNetwork, numbering: Numbering, steps: ITrunkSteps) -> None:
        self.rules = rules
        self.numbering = numbering
        self.steps = steps

    def call_out(self, call: Call, number: str) -> None:
        """Offer ``call`` to an external ``number`` over a trunk."""
        if self.steps.trunks_in_use() >= self.rules.trunk_count:
            self.steps.fail(call, number, EventCause.TRUNKS_BUSY)
            return
        numbering = self.numbering
        if not numbering.external_valid(number):
            self.steps.fail(call, number, EventCause.INVALID_NUMBER_FORMAT)
            return
        if call.called_device == number:  # the called device itself is beyond the trunk
            call.add_data(associated_called_device=self.rules.trunk_device)
        self.steps.emit_call(
            call,
            NetworkReached,
            EventCause.NORMAL,
            trunk=self.rules.trunk_device,
            called_device=number,
            calling_device=call.calling_device,
        )
        digits = numbering.external_digits(number)
        if self.rules.busy_suffix and digits.endswith(self.rules.busy_suffix):
            self.steps.fail(call, number, EventCause.BUSY)
            return
        self.steps.alert(call, number)
        conn = call.connections[number]
        if call.predictive_target is not None and call.alert_time is not None:
            # replaces the ordinary alerting time-out (same purpose) for this connection
            self.steps.set_timer(call, conn, "alert", call.alert_time, self._not_answered)
        if not (self.rules.no_answer_suffix and digits.endswith(self.rules.no_answer_suffix)):
            self.steps.set_timer(
                call, conn, "answer", self.rules.answer_delay, self._outside_answers
            )

    def _outside_answers(self, call: Call, conn: Connection) -> None:
        if conn.state is ConnectionState.ALERTING:
            self.steps.answer(call, conn.device)

    def _not_answered(self, call: Call, conn: Connection) -> None:
        """A predictive call's called party rang for the alert time: Failed (callNotAnswered)."""
        if conn.state is ConnectionState.ALERTING and call.predictive_target is not None:
            log.info(
                "predictive call {call_id}: {device} did not answer",
                call_id=call.call_id,
                device=conn.device,
            )
            self.steps.fail_unanswered(call, conn.device, EventCause.CALL_NOT_ANSWERED)

    def call_in(
        self, caller: str, target: str, dialled: str | None = None, *, withheld: bool = False
    ) -> Call:
        """An outside ``caller`` calls ``target`` (validated by the caller of this method),
        having dialled ``dialled`` (default: the public number of ``target``). ``withheld``:
        the caller restricted the presentation of its number (it is a restricted party of
        the call; the network still gives the exchange the number)."""
        if self.steps.trunks_in_use() >= self.rules.trunk_count:
            raise SwitchError(Refusal.ALL_TRUNKS_BUSY, "all trunks are busy")
        data = CallData(
            network_called_device=self._public(dialled or target),
            associated_calling_device=self.rules.trunk_device,
            network_calling_device=caller,
            restricted=((caller, self.rules.trunk_device),) if withheld else (),
        )
        call = self.steps.new_call(calling_device=caller, called_device=target, data=data)
        self.steps.add_connection(call, caller, ConnectionState.CONNECTED)
        log.debug(
            "call {call_id} in from {caller} to {target}",
            call_id=call.call_id,
            caller=caller,
            target=target,
        )
        self.steps.offer(call, target)
        return call

    def hidden_party(self, call: Call, number: str) -> str:
        """``number`` as a party of ``call``: the trunk stands for the call's restricted outside
        party (a client sees only the trunk of a withheld caller's connection)."""
        if number != self.rules.trunk_device or number in call.connections:
            return number
        for party, trunk in call.data.restricted:
            if trunk == number and party in call.connections:
                return party
        return number

    def _public(self, number: str) -> str:
        """``number`` as an outside caller dials it: the public number of an internal one."""
        if self.numbering.internal(number) is None:
            return number
        return self.numbering.plan.public_numbering.to_public(number) or number

    def predictive(
        self, calling: str, called: str, alert_time: float, data: CallData = NO_CALL_DATA
    ) -> Call:
        """Make Predictive Call: ``called`` first (ringing at most ``alert_time`` seconds),
        ``calling`` once it answers."""
        call = self.steps.new_call(
            calling_device=calling,
            called_device=called,
            origin_cause=EventCause.MAKE_PREDICTIVE_CALL,
            delivery_cause=EventCause.MAKE_PREDICTIVE_CALL,
            predictive_target=calling,
            alert_time=alert_time,
            data=data,
        )
        call.watchers.append(calling)
        self.steps.offer(call, called)
        return call

    def predictive_answered(self, call: Call, answering: str) -> None:
        """The called party of a predictive call answered: now reach the calling side. The
        calling and called devices stay as requested (ECMA-269 17.2.12)."""
        target = call.predictive_target
        assert target is not None
        call.predictive_target = None
        call.watchers.remove(target)
        call.last_redirection_device = None
        call.delivery_cause = EventCause.NEW_CALL
        self.steps.offer(call, target)
