"""Call waiting: a call to an extension that is in a call is offered to it instead of failing.

ECMA-269 6.1 (a device with several connections) and the event cause ``campOn`` of 12.3.x
("the call has been camped on to a busy device": the ECMA-269 name for a call waiting at a
busy device; ECMA-269 has no separate call-waiting cause). MX-ONE reading (docs/call-features.md):
call waiting is an extension setting (``Extension.call_waiting``); the user in a call hears
the call-waiting tone and answers the second call, the first going on hold.

- A call to an extension with call waiting on that has exactly one connected call (and
  otherwise only held calls) alerts there: Delivered, cause campOn.
- Only one call waits at a time: while a call alerts at the extension, the next one is busy.
  So is an extension made busy (``sim busy``), with do not disturb, dialling (initiated) or
  with a failed call.
- Answering a call (AnswerCall, or the handset) while another call of the device is connected
  first puts that call on hold (Held, cause normal), then Established: what Lync's "answer a
  second call" expects.
"""

from __future__ import annotations

from cstaserver.pbx.devices import DeviceInfo
from cstaserver.pbx.states import ConnectionState


def waits(info: DeviceInfo) -> bool:
    """True if a call to ``info``, which is not free, is offered as a waiting call."""
    if not info.call_waiting or info.busy or info.dnd:
        return False
    connected = 0
    for conn in info.connections.values():
        if conn.state is ConnectionState.CONNECTED:
            connected += 1
        elif conn.state is not ConnectionState.HOLD:
            return False
    return connected == 1


def to_hold(info: DeviceInfo, answering_call: str) -> list[str]:
    """The calls ``info`` must put on hold to answer ``answering_call``: its connected ones."""
    return [
        call_id
        for call_id, conn in info.connections.items()
        if call_id != answering_call and conn.state is ConnectionState.CONNECTED
    ]
