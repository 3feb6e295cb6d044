"""Why the switch refuses a request, in its own words.

Every operation of the switching model that refuses a request raises :class:`SwitchError`
with one :class:`Refusal` (and a message a user can read), and changes nothing. The switch
knows nothing of protocols: the CSTA layer translates each refusal into an ECMA-269 error
value (clause 12.2) with one table, ``cstaserver.csta.errors.SWITCH_REFUSALS``.
"""

from __future__ import annotations

import enum


class Refusal(enum.Enum):
    """A reason the switch gives for refusing a request; the value is a default message."""

    # the request names something the switch does not have
    NO_SUCH_DEVICE = "no such device"
    NO_SUCH_CALL = "no such call"
    NOT_IN_CALL = "the device has no connection in that call"
    SAME_CALL_TWICE = "the held and the active call are the same call"
    # the request does not fit the device it names
    WRONG_DEVICE_KIND = "the request does not apply to this kind of device"
    # a number given cannot be used in its role
    BAD_CALLING_DEVICE = "that device cannot originate the call"
    BAD_CALLED_NUMBER = "the called number cannot be reached"
    BAD_DESTINATION = "the destination cannot be reached"
    BAD_FORWARD_DESTINATION = "calls cannot be forwarded there"
    # a parameter the switch does not accept
    BAD_ARGUMENT = "a parameter has a value the switch does not accept"
    OUT_OF_RANGE = "a number is out of its range"
    # the state of a device, agent, call or connection does not allow the request
    NOT_IN_STATE = "the device, agent or call is not in a state that allows it"
    CONNECTION_NOT_IN_STATE = "the connection is not in a state that allows it"
    NO_CALL_TO_ANSWER = "nothing alerts there"
    NOTHING_TO_CLEAR = "there is no connection to clear"
    NO_ACTIVE_CALL = "there is no active call"
    NO_HELD_CALL = "there is no held call"
    DEVICE_BUSY = "the device is busy"
    # capacity
    CONFERENCE_FULL = "the conference has all the parties it can have"
    ALL_TRUNKS_BUSY = "all trunks are busy"
    # who may do it
    WRONG_PASSWORD = "the password does not match"
    NOT_ALLOWED = "the extension's category does not allow it"


class SwitchError(Exception):
    """A request the switching model refuses; ``reason`` says why, ``message`` in detail."""

    def __init__(self, reason: Refusal, message: str = "") -> None:
        super().__init__(message or reason.value)
        self.reason = reason
        self.message = message or reason.value

    def __repr__(self) -> str:
        return f"SwitchError({self.reason.name}, {self.message!r})"
