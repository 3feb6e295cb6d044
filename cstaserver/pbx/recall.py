"""Recall of a held call, and the on-hook during a consultation (transfer or recall).

ECMA-269 12.3.x event causes ``recall`` and ``transfer``; 17.2.x Delivered / Established /
Transferred. Our reading of MX-ONE (docs/call-features.md):

- **Hold recall** (``ExchangePlan.hold_recall_seconds``, 0: off): a call left on hold that
  long rings the holding device again. The held connection goes from hold to alerting
  (Delivered, cause recall; the held party as calling device, the recalled device as called
  device); answering it (AnswerCall or the handset) gives Established (cause recall); the
  alerting time-out clears it as any unanswered call. Retrieving the call first stops the
  timer.
- **On-hook during a consultation**: the user of a consultation call (ConsultationCall) goes
  on-hook in it - ClearConnection of its connection in the consultation, or the handset -
  while the call it consulted about is still on hold. With
  ``ExchangePlan.on_hook_consultation`` transfer (MX-ONE's "transfer on hang-up") and a
  consulted party connected, alerting or queued, the held party and the consulted party are
  joined exactly as TransferCall does (Transferred, cause transfer). Otherwise (recall, or
  nobody to transfer to) the consultation connection is released as usual and the held call
  recalls the user: after ``consultation_recall_seconds`` in recall mode, at once when there
  was nobody to transfer to (the consultation failed, e.g. busy, or was still dialling).
"""

from __future__ import annotations

from collections.abc import Callable

from twisted.logger import Logger

from cstaserver.pbx.calls import Call, Connection
from cstaserver.pbx.interfaces import ICallSteps
from cstaserver.pbx.plan import ExchangePlan, OnHookConsultation
from cstaserver.pbx.states import ConnectionState, EventCause

RECALL_TIMER = "recall"
# the consulting user's connection: talking or ringing out, dialling, or failed (busy ...)
_ON_HOOK_STATES = (ConnectionState.CONNECTED, ConnectionState.INITIATED, ConnectionState.FAIL)
_PARTNER_STATES = (ConnectionState.CONNECTED, ConnectionState.ALERTING, ConnectionState.QUEUED)


class Recall:
    """Hold recall and the on-hook during a consultation, over the core's ``ICallSteps``.

    ``settings()`` gives the exchange plan in force at each use (its
    ``hold_recall_seconds``, ``on_hook_consultation`` and ``consultation_recall_seconds``);
    ``calls`` the switch's call ID -> Call; ``transfer(held_id, active_id, device)`` the
    switch's TransferCall.
    """

    log = Logger()

    def __init__(
        self,
        steps: ICallSteps,
        settings: Callable[[], ExchangePlan],
        calls: dict[str, Call],
        transfer: Callable[[str, str, str], object],
    ) -> None:
        self.steps = steps
        self.settings = settings
        self.calls = calls
        self.transfer = transfer

    # -- hold recall -------------------------------------------------------------------------
    def on_hold(self, call: Call, conn: Connection) -> None:
        """``conn`` went on hold: the hold recall timer starts (if the exchange has one)."""
        delay = self.settings().hold_recall_seconds
        if delay > 0:
            self.steps.set_timer(call, conn, RECALL_TIMER, delay, self._due)

    @staticmethod
    def on_retrieve(call: Call, conn: Connection) -> None:
        """``conn`` left hold: no recall."""
        call.cancel_timer(RECALL_TIMER, conn.device)

    def _due(self, call: Call, conn: Connection) -> None:
        if conn.state is ConnectionState.HOLD:
            self.recall(call, conn)

    def recall(self, call: Call, conn: Connection) -> None:
        """The held connection ``conn`` alerts its device again (Delivered, cause recall)."""
        device = conn.device
        others = call.others(device)
        self.log.info(
            "call {call_id} on hold recalls {device}", call_id=call.call_id, device=device
        )
        call.calling_device = others[0] if others else call.calling_device
        call.called_device = device
        call.last_redirection_device = None
        call.delivery_cause = EventCause.RECALL
        self.steps.alert(call, device, cause=EventCause.RECALL)

    # -- on-hook during a consultation -------------------------------------------------------
    def on_hook(self, call: Call, device: str) -> bool:
        """``device`` goes on-hook in ``call``: True if that was a consultation it made while
        its held call waits (then transferred or released and recalled here), False for the
        ordinary release."""
        held = self.calls.get(call.consultation_of or "")
        if held is None or device != call.calling_device:
            return False
        hconn = held.connection(device)
        aconn = call.connection(device)
        if hconn is None or hconn.state is not ConnectionState.HOLD:
            return False
        if aconn is None or aconn.state not in _ON_HOOK_STATES:
            return False
        settings = self.settings()
        mode = settings.on_hook_consultation
        partners = [c for c in call if c.device != device and c.state in _PARTNER_STATES]
        connected = aconn.state is ConnectionState.CONNECTED
        if mode is OnHookConsultation.TRANSFER and connected and partners:
            self.transfer(held.call_id, call.call_id, device)
            return True
        self.steps.release(call, device, EventCause.NORMAL_CLEARING)
        delay = settings.consultation_recall_seconds if mode is OnHookConsultation.RECALL else 0.0
        if delay > 0:
            self.steps.set_timer(held, hconn, RECALL_TIMER, delay, self._due)
        else:
            self.recall(held, hconn)
        return True
