"""Structures shared by several ECMA-269 services (ECMA-323 ed3 clause 9 common types).

- ``MonitorFilter`` (ECMA-269 12.3.x): event-group flag sets; a flag ``true`` means *do not
  send* that event; no filter means all events (docs/protocol-notes.md C2);
- ``ConnectionListItem`` (connection lists in Transfered/Conferenced events and responses);
- ``CallState`` (``localCallState`` in snapshots: compound list or simple state).

The flag-name tuples list the ed3 element names of each group; they feed the XSD and tests,
and unknown flags received are kept (decoding is tolerant).
"""

from __future__ import annotations

import attrs

from cstaserver.csta.schema import Flags, Node, x
from cstaserver.csta.types import ConnectionID, DeviceID, LocalConnectionState

__all__ = [
    "MonitorFilter",
    "ConnectionListItem",
    "Endpoint",
    "CallState",
    "CALL_CONTROL_EVENTS",
    "CALL_ASSOCIATED_EVENTS",
    "MEDIA_ATTACHMENT_EVENTS",
    "PHYSICAL_DEVICE_FEATURE_EVENTS",
    "LOGICAL_DEVICE_FEATURE_EVENTS",
    "MAINTENANCE_EVENTS",
    "VOICE_EVENTS",
    "FILTER_GROUPS",
]

CALL_CONTROL_EVENTS = (
    "bridged",
    "callCleared",
    "conferenced",
    "connectionCleared",
    "delivered",
    "digitsDialed",
    "diverted",
    "established",
    "failed",
    "held",
    "networkCapabilitiesChanged",
    "networkReached",
    "offered",
    "originated",
    "queued",
    "retrieved",
    "serviceInitiated",
    "transferred",
)
CALL_ASSOCIATED_EVENTS = (
    "callInformation",
    "charging",
    "digitsGenerated",
    "telephonyTonesGenerated",
    "serviceCompletionFailure",
)
MEDIA_ATTACHMENT_EVENTS = ("mediaAttached", "mediaDetached")
PHYSICAL_DEVICE_FEATURE_EVENTS = (
    "buttonInformation",
    "buttonPress",
    "displayUpdated",
    "hookswitch",
    "lampMode",
    "messageWaiting",
    "microphoneGain",
    "microphoneMute",
    "ringerStatus",
    "speakerMute",
    "speakerVolume",
)
LOGICAL_DEVICE_FEATURE_EVENTS = (
    "agentBusy",
    "agentLoggedOn",
    "agentLoggedOff",
    "agentNotReady",
    "agentReady",
    "agentWorkingAfterCall",
    "autoAnswer",
    "autoWorkMode",
    "callBack",
    "callBackMessage",
    "callerIDStatus",
    "doNotDisturb",
    "forwarding",
    "routeingMode",
)
MAINTENANCE_EVENTS = (
    "backInService",
    "deviceCapabilityChanged",
    "outOfService",
    "partiallyInService",
)
VOICE_EVENTS = (
    "bookmarkReached",
    "completed",
    "dtmfDetected",
    "emptied",
    "interruptionDetected",
    "notRecognized",
    "played",
    "promptQueueSlotAvailable",
    "recorded",
    "recognized",
    "started",
    "stopped",
    "suspendPlay",
    "suspendRecord",
    "voiceErrorOccurred",
)

#: Python field name of each MonitorFilter group → its known flag names.
FILTER_GROUPS: dict[str, tuple[str, ...]] = {
    "callcontrol": CALL_CONTROL_EVENTS,
    "call_associated": CALL_ASSOCIATED_EVENTS,
    "media_attachment": MEDIA_ATTACHMENT_EVENTS,
    "physical_device_feature": PHYSICAL_DEVICE_FEATURE_EVENTS,
    "logical_device_feature": LOGICAL_DEVICE_FEATURE_EVENTS,
    "maintenance": MAINTENANCE_EVENTS,
    "voice": VOICE_EVENTS,
    "private": (),
}


@attrs.frozen(kw_only=True)
class MonitorFilter:
    """Requested/actual monitor filter: per group, ``{flag: True}`` = filtered out."""

    callcontrol: Flags | None = x("callcontrol", aliases=("callControl",), default=None)
    call_associated: Flags | None = None
    media_attachment: Flags | None = None
    physical_device_feature: Flags | None = None
    logical_device_feature: Flags | None = None
    maintenance: Flags | None = x(aliases=("maintainance",), default=None)
    voice: Flags | None = None
    private: Flags | None = None


@attrs.frozen(kw_only=True)
class Endpoint:
    """``endpoint`` of a connection list item: a device or not known."""

    device_id: DeviceID | None = None
    not_known: bool = x(node=Node.EMPTY, default=False)


@attrs.frozen(kw_only=True)
class ConnectionListItem:
    """One ``connectionListItem`` (old/new connection after a transfer or conference)."""

    new_connection: ConnectionID | None = None
    old_connection: ConnectionID | None = None
    endpoint: Endpoint | None = None


@attrs.frozen(kw_only=True)
class CallState:
    """``localCallState``: a compound list of connection states or a simple call state."""

    compound_call_state: list[LocalConnectionState] = x(item="localConnectionState", factory=list)
    simple_call_state: str | None = None
