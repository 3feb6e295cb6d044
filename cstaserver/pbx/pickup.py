"""Call pick-up: answer at your own phone a call that rings at another extension.

ECMA-269 17.2.x Directed Pickup Call and Group Pickup Call, event cause ``callPickup``
(12.3.x). Our reading of MX-ONE (docs/call-pickup-park.md): *individual call pick-up* takes a
call ringing at any named extension; *group call pick-up* takes the call that has rung
longest at a member of the requester's pick-up group (``Extension.pickup_group``). A parked
call (``park.py``) is retrieved the same way, by picking it up at the extension it is parked
at.

Event sequence (every monitor of the call sees both):

- ``Diverted`` (cause callPickup): the call leaves the extension it rang (or was parked) at,
  ``newDestination`` the requesting device (whose monitor sees it too);
- ``Established`` (cause callPickup): the requesting device answers it,
  ``lastRedirectionDevice`` the extension it was taken from.

The requesting device must be an extension with a terminal and free. Through CSTA the
exchange takes its terminal off-hook, so - as for AnswerCall - it must be hands-free
(``by_hand`` True: the person lifts the handset, any terminal).
"""

from __future__ import annotations

from twisted.logger import Logger

from cstaserver.pbx.calls import Call
from cstaserver.pbx.core import CallProcessing
from cstaserver.pbx.devices import DeviceInfo
from cstaserver.pbx.errors import Refusal, SwitchError
from cstaserver.pbx.interfaces import ICallDistribution
from cstaserver.pbx.states import ConnectionState, EventCause, TerminalMode

#: the connection states a call can be picked up from: ringing, or parked (queued)
PICKABLE = (ConnectionState.ALERTING, ConnectionState.QUEUED)


class Pickup:
    """Directed and group call pick-up over the call-processing core."""

    log = Logger()

    def __init__(self, core: CallProcessing, distribution: ICallDistribution) -> None:
        self.core = core
        self.distribution = distribution

    def check_requester(self, info: DeviceInfo, *, by_hand: bool) -> None:
        """The requesting device can take a call now (free; hands-free unless ``by_hand``)."""
        if not info.is_free():
            raise SwitchError(Refusal.DEVICE_BUSY, f"{info.number} is busy")
        if not by_hand and info.mode is not TerminalMode.HANDSFREE:
            raise SwitchError(
                Refusal.WRONG_DEVICE_KIND,
                f"the terminal of {info.number} cannot be taken off-hook remotely: "
                "the person picks the call up at the phone",
            )

    def pickable(self, call: Call, device: str) -> bool:
        """``call`` rings (or is parked) at the extension ``device`` and may be picked up
        there: not a MakeCall prompt of the device itself, not a call the device makes."""
        conn = call.connection(device)
        info = self.core.info(device)
        if conn is None or info is None or not info.is_extension:
            return False
        if conn.state not in PICKABLE or call.prompting is not None:
            return False
        return device != call.calling_device or conn.state is ConnectionState.QUEUED

    def pick_up(self, call: Call, device: str, requesting: str) -> None:
        """``requesting`` takes ``call`` from ``device`` (checked by the caller)."""
        conn = self.core.remove_connection(call, device)
        call.parked_by = None  # a parked call is retrieved
        self.log.info(
            "call {call_id} picked up from {device} by {requesting}",
            call_id=call.call_id,
            device=device,
            requesting=requesting,
        )
        call.last_redirection_device = device
        call.delivery_cause = EventCause.CALL_PICKUP
        call.redirections += 1
        if call.called_device is None:
            call.called_device = device
        self.core.emit_diverted(
            call, EventCause.CALL_PICKUP, device, requesting, gone=(device, requesting)
        )
        self.distribution.on_released(call, device, conn)
        self.core.add_connection(call, requesting, ConnectionState.ALERTING)
        self.core.answer(call, requesting)

    def group_call(
        self, calls: dict[str, Call], members: list[str], requesting: str
    ) -> tuple[Call, str] | None:
        """The call that has rung longest (the oldest call) at one of ``members``, with the
        member it rings at; None if none rings there. Not a call ``requesting`` is in."""
        for call in calls.values():  # call IDs are allocated in order: oldest first
            if requesting in call.connections:
                continue
            for device in members:
                conn = call.connection(device)
                if conn is not None and conn.state is ConnectionState.ALERTING:
                    if self.pickable(call, device):
                        return call, device
        return None
