"""Camp-on: a call that met a busy extension waits there and rings when it becomes free.

ECMA-269 17.2.x Camp On Call, event cause ``campOn`` (12.3.x: the call has been camped on
to a busy device). Our reading of MX-ONE (docs/call-pickup-park.md): the caller who hears
busy tone asks to wait; the busy user hears a camp-on tone; as soon as the user's line is
free again the waiting call rings there.

Event sequence of CamponCall(camponConnection = the caller's failed connection):

- ``Queued`` (cause campOn) at the busy extension: the call waits there; the caller's
  connection goes from fail back to connected (ring-back);
- when the extension is free (every call it has is cleared or on hold): ``Delivered``
  (cause campOn) there; answering it gives ``Established`` (cause campOn).

The caller hanging up ends the call as usual. Camp-ons at one extension ring in the order
they were made, one at a time.
"""

from __future__ import annotations

from twisted.logger import Logger

from cstaserver.pbx.calls import Call
from cstaserver.pbx.core import CallProcessing
from cstaserver.pbx.errors import Refusal, SwitchError
from cstaserver.pbx.events import Queued
from cstaserver.pbx.states import ConnectionState, EventCause


class CampOn:
    """Camped-on calls and their delivery when the extension is free (``dispatch``)."""

    log = Logger()

    def __init__(self, core: CallProcessing) -> None:
        self.core = core
        self.waiting: list[tuple[str, str]] = []  # (call ID, busy extension), oldest first

    def _live(self) -> list[tuple[str, str]]:
        """The camp-ons still waiting (the call goes on and is queued at the extension)."""
        live = []
        for call_id, device in self.waiting:
            call = self.core.calls.get(call_id)
            conn = call.connection(device) if call is not None else None
            if conn is not None and conn.state is ConnectionState.QUEUED:
                live.append((call_id, device))
        self.waiting = live
        return live

    def camp_on(self, call: Call, device: str) -> str:
        """``device`` (whose call failed at a busy extension) camps on there; the extension."""
        conn = call.connection(device)
        if conn is None or conn.state is not ConnectionState.FAIL:
            raise SwitchError(
                Refusal.CONNECTION_NOT_IN_STATE,
                f"call {call.call_id} has not failed at {device}: nothing to camp on",
            )
        target = call.called_device
        info = self.core.info(target or "")
        if info is None or not info.is_extension or not info.terminal or target in call.connections:
            raise SwitchError(
                Refusal.NOT_IN_STATE, f"call {call.call_id} did not fail at a busy extension"
            )
        if info.dnd:
            raise SwitchError(Refusal.NOT_IN_STATE, f"{info.number} does not want to be disturbed")
        conn.move(ConnectionState.CONNECTED)
        self.core.add_connection(call, info.number, ConnectionState.QUEUED)
        self.waiting.append((call.call_id, info.number))
        call.delivery_cause = EventCause.CAMP_ON
        self.log.info(
            "call {call_id} camps on at {target}", call_id=call.call_id, target=info.number
        )
        self.core.emit_call(
            call,
            Queued,
            EventCause.CAMP_ON,
            queue=info.number,
            calling_device=call.calling_device,
            called_device=call.called_device,
            number_queued=sum(1 for _, d in self._live() if d == info.number),
        )
        return info.number

    def dispatch(self) -> None:
        """Ring each extension that is free again with its oldest camped-on call."""
        rung: set[str] = set()
        for call_id, device in self._live():
            info = self.core.info(device)
            if device in rung or info is None or info.dnd or not info.is_free():
                continue
            rung.add(device)
            self.core.alert(self.core.calls[call_id], device, cause=EventCause.CAMP_ON)
