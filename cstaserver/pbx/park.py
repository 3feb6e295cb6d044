"""Call park: put a call aside at an extension, where anyone may retrieve it.

ECMA-269 17.2.x Park Call, event cause ``park`` (12.3.x). Our reading of MX-ONE
(docs/call-pickup-park.md): the parked party waits (it hears music) at the parked-to
extension, which stays free for other calls; someone retrieves it by picking it up there
(DirectedPickupCall on the parked-to device, ``pickup.py``); a call nobody retrieves for
``ExchangePlan.park_recall_seconds`` rings the extension that parked it again.

Event sequence of ParkCall(parking = the parking device's connection, parkTo):

- ``Queued`` (cause park) at the parked-to device: the call waits there (its connection is
  queued; ``numberQueued`` counts the calls parked there);
- ``ConnectionCleared`` (cause park) of the parking device.

Park recall: ``Diverted`` (cause recall) from the parked-to device to the parker, then
``Delivered`` (cause recall) at the parker, who answers it as any call. The parked party
hanging up ends the call as usual (the queued connection is cleared with it).
"""

from __future__ import annotations

from collections.abc import Callable

from twisted.logger import Logger

from cstaserver.pbx.calls import Call, Connection
from cstaserver.pbx.core import CallProcessing
from cstaserver.pbx.errors import Refusal, SwitchError
from cstaserver.pbx.events import ConnectionCleared, Queued
from cstaserver.pbx.plan import ExchangePlan
from cstaserver.pbx.states import ConnectionState, EventCause

PARK_TIMER = "park"


class Parking:
    """ParkCall and the park recall over the call-processing core; ``settings()`` gives the
    exchange plan in force (its ``park_recall_seconds``)."""

    log = Logger()

    def __init__(self, core: CallProcessing, settings: Callable[[], ExchangePlan]) -> None:
        self.core = core
        self.settings = settings

    def parked_at(self, device: str) -> list[str]:
        """The calls parked at ``device`` (call IDs, oldest first)."""
        info = self.core.info(device)
        if info is None:
            return []
        calls = self.core.calls
        return [
            call_id
            for call_id, conn in info.connections.items()
            if conn.state is ConnectionState.QUEUED and calls[call_id].parked_by is not None
        ]

    def park(self, call: Call, parking: str, park_to: str) -> None:
        """``parking`` (connected in ``call``) parks it at the extension ``park_to``."""
        conn = call.connection(parking)
        if conn is None or conn.state is not ConnectionState.CONNECTED:
            raise SwitchError(
                Refusal.CONNECTION_NOT_IN_STATE,
                f"{parking} is not connected in call {call.call_id}",
            )
        if not call.others(parking):
            raise SwitchError(Refusal.NOT_IN_STATE, "nobody to park")
        info = self.core.info(park_to)
        if info is None or not info.is_extension:
            raise SwitchError(Refusal.BAD_DESTINATION, f"{park_to!r} is not an extension")
        if park_to != parking and park_to in call.connections:
            raise SwitchError(Refusal.BAD_DESTINATION, f"{park_to} is already in the call")
        if park_to == parking:  # parked at the parker's own extension
            self.core.remove_connection(call, parking)
        queued = self.core.add_connection(call, park_to, ConnectionState.QUEUED)
        call.parked_by = parking
        self.log.info(
            "call {call_id} parked at {park_to} by {parking}",
            call_id=call.call_id,
            park_to=park_to,
            parking=parking,
        )
        call.last_redirection_device = parking
        self.core.emit_call(
            call,
            Queued,
            EventCause.PARK,
            gone=(parking,),
            queue=park_to,
            calling_device=call.calling_device,
            called_device=call.called_device,
            number_queued=len(self.parked_at(park_to)),
            last_redirection_device=parking,
        )
        if park_to != parking:
            self.core.remove_connection(call, parking)
            self.core.emit_call(
                call, ConnectionCleared, EventCause.PARK, gone=(parking,), releasing_device=parking
            )
        delay = self.settings().park_recall_seconds
        if delay > 0:
            self.core.set_timer(call, queued, PARK_TIMER, delay, self._recall)

    def _recall(self, call: Call, conn: Connection) -> None:
        if conn.state is not ConnectionState.QUEUED:
            return
        parked_to = conn.device
        parker, call.parked_by = call.parked_by, None
        if parker is None or (parker != parked_to and parker in call.connections):
            return
        self.log.info(
            "call {call_id} parked at {device} recalls {parker}",
            call_id=call.call_id,
            device=parked_to,
            parker=parker,
        )
        self.core.remove_connection(call, parked_to)
        call.called_device = parker
        call.last_redirection_device = parked_to
        call.delivery_cause = EventCause.RECALL
        self.core.emit_diverted(
            call, EventCause.RECALL, parked_to, parker, gone=(parked_to, parker)
        )
        self.core.alert(call, parker, cause=EventCause.RECALL)
