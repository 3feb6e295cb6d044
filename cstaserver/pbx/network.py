"""Trunks and the simulated outside network.

ECMA-269 17.2.x Network Reached, ECMA TR/82 "Outgoing call to the network", "Incoming call
from the network" and 17.2.12 Make Predictive Call. The network is deterministic
(``plan.ExternalNetwork``): a call to ``0`` + digits leaves on the trunk (NetworkReached),
then

- fewer than ``min_digits`` digits: Failed (invalidNumberFormat);
- digits ending in ``busy_suffix``: Failed (busy);
- otherwise the outside party alerts (Delivered, the external number as alerting device) and
  answers after ``answer_delay`` seconds (Established), unless the digits end in
  ``no_answer_suffix``: then it rings until the alerting time-out.

All trunks busy (``trunk_count`` outside parties in calls): Failed (trunksBusy) for an
outgoing call, SwitchError ALL_TRUNKS_BUSY for an outside caller. A failed outside party is
released by the network at once.

Predictive call: the outside party is called first (the calling device or group sees the
call's events as a watcher); when it answers, the call is offered to the calling device or
ACD group with the outside party as ``calling_device`` and the calling device or group as
``called_device`` (what the agent's screen needs). If the outside party is busy or does not
answer, the call fails or times out and nothing reaches the agent.
"""

from __future__ import annotations

from twisted.logger import Logger

from cstaserver.pbx.calls import Call, Connection
from cstaserver.pbx.devices import Numbering
from cstaserver.pbx.errors import Refusal, SwitchError
from cstaserver.pbx.events import NetworkReached
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
        self.steps.emit(
            call.event(
                NetworkReached,
                EventCause.NORMAL,
                trunk=self.rules.trunk_device,
                called_device=number,
                calling_device=call.calling_device,
            )
        )
        digits = numbering.external_digits(number)
        if self.rules.busy_suffix and digits.endswith(self.rules.busy_suffix):
            self.steps.fail(call, number, EventCause.BUSY)
            return
        self.steps.alert(call, number)
        if not (self.rules.no_answer_suffix and digits.endswith(self.rules.no_answer_suffix)):
            conn = call.connections[number]
            self.steps.set_timer(
                call, conn, "answer", self.rules.answer_delay, self._outside_answers
            )

    def _outside_answers(self, call: Call, conn: Connection) -> None:
        if conn.state is ConnectionState.ALERTING:
            self.steps.answer(call, conn.device)

    def call_in(self, caller: str, target: str) -> Call:
        """An outside ``caller`` calls ``target`` (validated by the caller of this method)."""
        if self.steps.trunks_in_use() >= self.rules.trunk_count:
            raise SwitchError(Refusal.ALL_TRUNKS_BUSY, "all trunks are busy")
        call = self.steps.new_call(calling_device=caller, called_device=target)
        self.steps.add_connection(call, caller, ConnectionState.CONNECTED)
        log.debug(
            "call {call_id} in from {caller} to {target}",
            call_id=call.call_id,
            caller=caller,
            target=target,
        )
        self.steps.offer(call, target)
        return call

    def predictive(self, calling: str, called: str) -> Call:
        """Make Predictive Call: ``called`` first, ``calling`` once it answers."""
        call = self.steps.new_call(
            calling_device=calling,
            called_device=called,
            origin_cause=EventCause.MAKE_PREDICTIVE_CALL,
            delivery_cause=EventCause.MAKE_PREDICTIVE_CALL,
            predictive_target=calling,
        )
        call.watchers.append(calling)
        self.steps.offer(call, called)
        return call

    def predictive_answered(self, call: Call, answering: str) -> None:
        """The called party of a predictive call answered: now reach the calling side."""
        target = call.predictive_target
        assert target is not None
        call.predictive_target = None
        call.watchers.remove(target)
        call.calling_device = answering
        call.called_device = target
        call.last_redirection_device = None
        call.delivery_cause = EventCause.NEW_CALL
        self.steps.offer(call, target)
