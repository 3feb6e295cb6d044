"""Runtime devices of the simulated exchange, built from the plan.

ECMA-269 clause 6.1.2 (devices) and 19 (logical device features: forwarding, do not
disturb, agent state). A :class:`DeviceInfo` is the static description of one number of the
numbering plan (kind, LIM, name, directory number type, terminal) plus its runtime state:
the ``sim busy`` flag, do-not-disturb, the forwarding table, the terminal mode (hands-free or
manual, ECMA TR/82 4.1/4.2), the agent logged on at it and its connections (call ID ->
Connection). Per-device objects use ``slots`` so a 10,000-extension exchange stays small.

:class:`Numbering` resolves what a user dials: an internal number, a public E.164 number of
an extension (``+4685551001`` -> ``1001``) or an external number that leaves on a trunk.
"""

from __future__ import annotations

import attrs
from twisted.internet.interfaces import IDelayedCall

from cstaserver.pbx.calls import Connection
from cstaserver.pbx.plan import DeviceKind, DirectoryNumberType, ExchangePlan, Extension
from cstaserver.pbx.states import AgentState, ConnectionState, ForwardingType, TerminalMode

#: Calls a (non-analog) extension may hold at once: with its active call, as many as a
#: conference has parties (``switch.CONFERENCE_LIMIT``).
HOLD_LIMIT = 7


@attrs.frozen
class ForwardingEntry:
    """One row of a device's forwarding table (ECMA-269 19.1.x GetForwarding)."""

    forwarding_type: ForwardingType
    active: bool
    forward_to: str | None
    ring_count: int | None = None


@attrs.define(slots=True, eq=False)
class Agent:
    """An ACD agent logged on at a device (ECMA-269 19.1.x agent states)."""

    agent_id: str
    group: str
    device: str
    state: AgentState = AgentState.NOT_READY
    idle_since: float = 0.0
    wrap_up: IDelayedCall | None = None

    def cancel_wrap_up(self) -> None:
        if self.wrap_up is not None and self.wrap_up.active():
            self.wrap_up.cancel()
        self.wrap_up = None


_HELD = (ConnectionState.HOLD,)


@attrs.define(slots=True, eq=False)
class DeviceInfo:
    """One device of the exchange: what the plan says about it and its runtime state.

    Static: ``number``, ``kind``, ``lim``, ``name``, ``dn_type``, ``terminal`` (False for a
    virtual extension without a terminal, groups and trunks), ``members`` (group members or
    ACD agent devices), ``call_waiting`` and ``withhold_number`` (the plan's extension
    settings), ``terminals`` (an EDN's or ADN's phones: the ODN extensions it is a line of;
    see :class:`Appearances`). Runtime: ``mode`` (TerminalMode), ``busy`` (``sim busy``),
    ``dnd``, ``forwarding`` (ForwardingType -> ForwardingEntry, None until first set),
    ``agent`` (the Agent logged on here), ``connections`` (call ID -> Connection) and
    ``message_waiting`` (the message waiting indicator, ECMA-269 Set Message Waiting
    Indicator).
    """

    number: str
    kind: DeviceKind
    lim: int = 1
    name: str = ""
    dn_type: DirectoryNumberType = DirectoryNumberType.ODN
    terminal: bool = True
    members: tuple[str, ...] = ()
    terminals: tuple[str, ...] = ()
    mode: TerminalMode = TerminalMode.HANDSFREE
    busy: bool = False
    dnd: bool = False
    forwarding: dict[ForwardingType, ForwardingEntry] | None = None
    agent: Agent | None = None
    connections: dict[str, Connection] = attrs.field(factory=dict)
    call_waiting: bool = False
    withhold_number: bool = False
    message_waiting: bool = False

    @property
    def is_extension(self) -> bool:
        return self.kind.is_extension

    @property
    def is_group(self) -> bool:
        return self.kind.is_group

    @property
    def max_held_calls(self) -> int:
        """How many calls the device may hold at once (HoldCall and ConsultationCall refuse
        one more): one on an analog or CAS line (register recall), :data:`HOLD_LIMIT` on
        the other extensions, none on groups and trunks."""
        if not self.is_extension:
            return 0
        if self.kind in (DeviceKind.ANALOG_EXTENSION, DeviceKind.CAS_EXTENSION):
            return 1
        return HOLD_LIMIT

    def held_calls(self) -> int:
        return sum(1 for conn in self.connections.values() if conn.state is ConnectionState.HOLD)

    def is_free(self) -> bool:
        """Free for a new call: not made busy by the simulator, and every call it has is on
        hold (a line with only held calls takes another call, as Lync's "answer a second
        call" needs; any alerting, connected, initiated or failed connection makes it busy)."""
        if self.busy:
            return False
        if not self.connections:  # the usual case: no call at all
            return True
        # a call parked at an extension (queued there, ParkCall) does not make it busy
        waiting = (ConnectionState.HOLD, ConnectionState.QUEUED) if self.is_extension else _HELD
        return all(conn.state in waiting for conn in self.connections.values())

    def active_forwarding(self, kinds: tuple[ForwardingType, ...]) -> ForwardingEntry | None:
        """The first active forwarding among ``kinds`` (in that order), or None."""
        if not self.forwarding:
            return None
        for kind in kinds:
            entry = self.forwarding.get(kind)
            if entry is not None and entry.active:
                return entry
        return None


#: The fields of :class:`DeviceInfo` that are state of the running exchange, not what the
#: plan says; a live change of the plan (:func:`update_devices`) keeps them.
RUNTIME_FIELDS = frozenset(
    {"mode", "busy", "dnd", "forwarding", "agent", "connections", "message_waiting"}
)


def update_devices(devices: dict[str, DeviceInfo], old: ExchangePlan, new: ExchangePlan) -> None:
    """Make ``devices`` (in place: the numbering shares the dict) the devices of ``new``.

    A number in both plans keeps its DeviceInfo and runtime state (calls, agent, forwarding)
    and takes what ``new`` says of it; its terminal mode follows the plan only when the plan's
    ``handsfree`` changed. New numbers are added idle; numbers not in ``new`` are removed
    (the caller has checked that they are idle). Order: that of :func:`build_devices`.
    """
    fresh = build_devices(new)
    was_handsfree = {e.number: e.is_handsfree for e in old.extensions}
    merged: dict[str, DeviceInfo] = {}
    for number, info in fresh.items():
        current = devices.get(number)
        if current is None or current.is_extension != info.is_extension:
            merged[number] = info
            continue
        for field in attrs.fields(DeviceInfo):
            if field.name not in RUNTIME_FIELDS:
                setattr(current, field.name, getattr(info, field.name))
        handsfree = info.mode is TerminalMode.HANDSFREE
        if number in was_handsfree and was_handsfree[number] != handsfree:
            current.mode = info.mode
        merged[number] = current
    devices.clear()
    devices.update(merged)


def build_devices(plan: ExchangePlan) -> dict[str, DeviceInfo]:
    """All devices of ``plan`` in numbering-plan order: extensions, groups, the trunk."""
    devices: dict[str, DeviceInfo] = {}

    def add(info: DeviceInfo) -> None:
        if info.number in devices:
            raise ValueError(f"number {info.number} is defined twice in the exchange plan")
        devices[info.number] = info

    for ext in plan.extensions:
        add(
            DeviceInfo(
                number=ext.number,
                kind=ext.kind,
                lim=ext.lim,
                name=ext.name,
                dn_type=ext.dn_type,
                terminal=ext.terminal and ext.kind is not DeviceKind.VIRTUAL_EXTENSION,
                mode=initial_mode(ext),
                call_waiting=ext.call_waiting,
                withhold_number=ext.withhold_number,
                terminals=tuple(ext.terminals),
            )
        )
    for acd in plan.acd_groups:
        add(_group(acd.number, DeviceKind.ACD_GROUP, acd.lim, acd.name, acd.agent_devices))
    for hunt in plan.hunt_groups:
        add(_group(hunt.number, DeviceKind.HUNT_GROUP, hunt.lim, hunt.name, hunt.members))
    for cascade in plan.cascade_groups:
        add(
            _group(
                cascade.number, DeviceKind.CASCADE_GROUP, cascade.lim, cascade.name, cascade.members
            )
        )
    trunk = plan.network.trunk_device
    if trunk not in devices:
        add(_group(trunk, DeviceKind.TRUNK, 0, "Trunk", ()))
    return devices


def initial_mode(ext: Extension) -> TerminalMode:
    """The terminal mode an extension starts in (and ``sim reset`` returns it to)."""
    return TerminalMode.HANDSFREE if ext.is_handsfree else TerminalMode.MANUAL


_IN_USE = (ConnectionState.CONNECTED, ConnectionState.INITIATED)


class Appearances:
    """Which phone handles a call of a directory number (MX-ONE EDN and ADN).

    An ODN is its own phone. An EDN or ADN with ``terminals`` is a line that appears on the
    phones of those ODN extensions: the connection of a call stays the EDN's/ADN's own
    (ECMA-269 6.1: one connection per device and call; the phones are appearances of that
    device, not devices of the call), and ``Connection.terminal`` records the phone that
    answered or originated it. A phone is *in use* while a connection of its own number or
    of one of its lines is connected or initiated at it; a line rings at each of its phones
    that has a terminal and is neither in use nor made busy with ``sim busy``.
    The plan is fixed while the switch runs, so the phone -> lines index is built once (a
    look-up per phone, not a scan of the exchange).
    """

    def __init__(self, devices: dict[str, DeviceInfo]) -> None:
        self.devices = devices
        self._lines: dict[str, list[DeviceInfo]] = {}
        for info in devices.values():
            for phone in info.terminals:
                self._lines.setdefault(phone, []).append(info)

    def lines(self, phone: str) -> list[DeviceInfo]:
        """The EDNs and ADNs that appear on ``phone``."""
        return self._lines.get(phone, [])

    def calls_at(self, phone: str) -> list[tuple[str, Connection]]:
        """(line number, connection) of every connection handled at ``phone``: those of its
        own number, and those of its lines answered or originated there."""
        own = self.devices.get(phone)
        result = [(phone, conn) for conn in (own.connections.values() if own else ())]
        for line in self.lines(phone):
            result += [(line.number, c) for c in line.connections.values() if c.terminal == phone]
        return result

    def in_use(self, phone: str) -> bool:
        return any(conn.state in _IN_USE for _, conn in self.calls_at(phone))

    def available(self, phone: str) -> bool:
        info = self.devices.get(phone)
        return info is not None and info.terminal and not info.busy and not self.in_use(phone)

    def ringing_phones(self, info: DeviceInfo) -> list[str]:
        """The phones at which a call alerting at ``info`` rings."""
        if not info.terminals:
            return [info.number] if info.terminal else []
        return [p for p in info.terminals if self.available(p)]

    def phone_for_origination(self, info: DeviceInfo) -> DeviceInfo | None:
        """The phone a call from ``info`` is made on: its own, or its first free one."""
        if not info.terminals:
            return info
        for phone in info.terminals:
            if self.available(phone):
                return self.devices[phone]
        return None


def _group(number: str, kind: DeviceKind, lim: int, name: str, members: tuple) -> DeviceInfo:
    return DeviceInfo(number=number, kind=kind, lim=lim, name=name, terminal=False, members=members)


@attrs.define
class Numbering:
    """Digit analysis: internal numbers, public E.164 numbers, external numbers. ``plan`` is
    replaced when the exchange data change (``Switch.update_plan``)."""

    plan: ExchangePlan
    devices: dict[str, DeviceInfo]

    def internal(self, number: str) -> str | None:
        """The internal number ``number`` denotes, or None if it is not one of ours."""
        if number in self.devices:
            return number
        mapped = self.plan.public_numbering.to_internal(number)
        if mapped is not None and mapped in self.devices:
            return mapped
        return None

    def is_external(self, number: str) -> bool:
        """A number not of this exchange that goes out on a trunk or comes in from one."""
        if not number or self.internal(number) is not None:
            return False
        net = self.plan.network
        if number.startswith("+"):
            return number[1:].isdigit()
        prefix = net.trunk_prefix
        return number.startswith(prefix) and len(number) > len(prefix) and number.isdigit()

    def external_digits(self, number: str) -> str:
        """The digits the outside network sees (the trunk prefix or ``+`` removed)."""
        if number.startswith("+"):
            return number[1:]
        return number[len(self.plan.network.trunk_prefix) :]

    def external_valid(self, number: str) -> bool:
        """True if the outside network accepts the number (long enough)."""
        return len(self.external_digits(number)) >= self.plan.network.min_digits

    def resolve(self, number: str) -> str | None:
        """Internal number, or the external number itself, or None (unknown / malformed)."""
        internal = self.internal(number)
        if internal is not None:
            return internal
        return number if self.is_external(number) else None
