"""The exchange plan: LIMs, numbering plan, devices of every kind, groups, agents, trunks.

Plain attrs data that describes what an MX-ONE is configured with (the "exchange data" of the
CSTA Server operational directions): the monitored-object kinds of an MX-ONE (IP/SIP
extension with ODN/EDN, remote, cordless DECT, virtual, digital ODN/ADN, analog, CAS, CTI/ACD group,
hunt group incl. cascade ring group) and the external network behind trunks. The switching
model (``cstaserver.pbx.switch``) is built from a plan; ``cstaserver.config`` stores it as
JSON. Nothing here knows of protocols.
"""

from __future__ import annotations

import enum

import attrs


class DeviceKind(enum.Enum):
    """Every kind of device the CSTA server can monitor, plus trunks."""

    IP_EXTENSION = "ip"
    SIP_EXTENSION = "sip"
    REMOTE_EXTENSION = "remote"
    DECT_EXTENSION = "dect"
    VIRTUAL_EXTENSION = "virtual"
    DIGITAL_EXTENSION = "digital"
    ANALOG_EXTENSION = "analog"
    CAS_EXTENSION = "cas"
    ACD_GROUP = "acd"
    HUNT_GROUP = "hunt"
    CASCADE_GROUP = "cascade"
    TRUNK = "trunk"

    @property
    def is_extension(self) -> bool:
        return self not in (
            DeviceKind.ACD_GROUP,
            DeviceKind.HUNT_GROUP,
            DeviceKind.CASCADE_GROUP,
            DeviceKind.TRUNK,
        )

    @property
    def is_group(self) -> bool:
        return self in (DeviceKind.ACD_GROUP, DeviceKind.HUNT_GROUP, DeviceKind.CASCADE_GROUP)

    @property
    def off_hook_remotely(self) -> bool:
        """Whether the exchange can take this kind of terminal off-hook itself (hands-free):
        an analog or CAS line has only a hook switch, and a cordless DECT handset is not
        answered by the exchange, so MakeCall from them prompts the person instead."""
        return self not in (
            DeviceKind.ANALOG_EXTENSION,
            DeviceKind.CAS_EXTENSION,
            DeviceKind.DECT_EXTENSION,
        )


class DirectoryNumberType(enum.Enum):
    """MX-ONE directory number types: ordinary, extended (multi-terminal), additional."""

    ODN = "odn"
    EDN = "edn"
    ADN = "adn"


class HuntStrategy(enum.Enum):
    SEQUENTIAL = "sequential"  # always from the first member
    CIRCULAR = "circular"  # from the member after the last one chosen


class GroupRouting(enum.Enum):
    """Who chooses the agent for a call to a CTI group."""

    SWITCH = "switch"  # the exchange distributes (ACD: longest idle ready agent)
    APPLICATION = "application"  # a CTI application routes it over CSTA (MX-ONE CTI group)


class OnHookConsultation(enum.Enum):
    """What the exchange does when a user goes on-hook with a call on hold and a
    consultation call (MX-ONE: transfer on hang-up, or the held party recalls the user)."""

    TRANSFER = "transfer"  # the held party and the consulted party are joined (Transferred)
    RECALL = "recall"  # the consultation ends; the held call rings the user again later


class RouteTimeout(enum.Enum):
    """What a CTI group routed by the application does when the routeing application gives
    no route in time."""

    QUEUE = "queue"  # the call stays queued at the group; the application may still route it
    DIVERT = "divert"  # the call goes to the group's diverted position


@attrs.define(frozen=True)
class Lim:
    """A Line Interface Module: one server of the exchange, with its own CSTA server."""

    number: int
    name: str = ""


@attrs.define(frozen=True)
class Extension:
    """An extension of any kind; ``terminal`` False for a virtual extension with none.

    ``handsfree``: the terminal answers and originates by itself when a CSTA request asks
    (ECMA TR/82 4.2); ignored for kinds the exchange cannot take off-hook
    (:attr:`DeviceKind.off_hook_remotely`), which are always prompted (TR/82 4.1).
    ``terminals`` (device realism, docs/devices.md): for an EDN, the ODN extensions whose
    phones carry it as a line (all ring in parallel, the first to answer takes the call);
    for an ADN, the one ODN extension whose phone it is an extra line of. Empty: the number
    has a terminal of its own, as an ODN.
    ``call_waiting``: a call to the extension while it is in one call is offered as a waiting
    call instead of failing busy (MX-ONE: an extension category the administrator sets; off
    unless set, see docs/call-features.md). ``withhold_number``: the extension's number is
    presented as restricted to the other parties of the calls it makes (ECMA-269
    ``restricted``).
    ``pickup_group``: the call pick-up group the extension belongs to (a group number, None:
    none); a member may pick up a call ringing at another member (GroupPickupCall,
    docs/call-pickup-park.md). ``intrusion_allowed``: the extension may intrude on a busy
    extension's call (IntrudeCall); ``intrusion_protected``: nobody may intrude on its calls.
    """

    number: str
    kind: DeviceKind
    lim: int = 1
    name: str = ""
    dn_type: DirectoryNumberType = DirectoryNumberType.ODN
    terminal: bool = True
    handsfree: bool = True
    call_waiting: bool = False
    withhold_number: bool = False
    terminals: tuple[str, ...] = ()
    pickup_group: int | None = None
    intrusion_allowed: bool = False
    intrusion_protected: bool = False

    @property
    def is_handsfree(self) -> bool:
        """The terminal mode the extension starts in: hands-free only if the kind allows."""
        return self.handsfree and self.kind.off_hook_remotely


@attrs.define(frozen=True)
class HuntGroup:
    """Members are hunted in order; none free: the diverted position, if there is one."""

    number: str
    members: tuple[str, ...]
    lim: int = 1
    name: str = ""
    strategy: HuntStrategy = HuntStrategy.SEQUENTIAL
    diverted_position: str | None = None


@attrs.define(frozen=True)
class CascadeGroup:
    """Members are added one after another (every ``step_seconds``); earlier ones keep ringing."""

    number: str
    members: tuple[str, ...]
    lim: int = 1
    name: str = ""
    step_seconds: float = 10.0
    diverted_position: str | None = None


@attrs.define(frozen=True)
class AcdGroup:
    """A CTI/ACD group: agents log on with an agent ID at one of ``agent_devices``.

    ``routing``: the exchange distributes calls to its agents, or a CTI application routes
    each call over CSTA (the call waits queued at the group until it does). ``ring_seconds``:
    how long an agent may let a call ring before it goes back to the head of the queue and
    the agent is made not ready. ``queue_seconds`` (None: no limit): how long a call may wait
    in the queue before it goes to the ``diverted_position`` (also where calls go when the
    queue is full; without one they fail busy). ``route_seconds`` / ``on_route_timeout``: how
    long a routeing application has to answer a route request, and what happens if it does
    not. ``agent_pins``: (agent ID, PIN) pairs; an agent with a PIN logs on only with it.
    """

    number: str
    agent_ids: tuple[str, ...]
    agent_devices: tuple[str, ...]
    lim: int = 1
    name: str = ""
    wrap_up_seconds: float = 10.0
    queue_limit: int = 50
    routing: GroupRouting = GroupRouting.SWITCH
    ring_seconds: float = 15.0
    queue_seconds: float | None = None
    diverted_position: str | None = None
    route_seconds: float = 10.0
    on_route_timeout: RouteTimeout = RouteTimeout.QUEUE
    agent_pins: tuple[tuple[str, str], ...] = ()

    def pin_of(self, agent_id: str) -> str | None:
        return dict(self.agent_pins).get(agent_id)


@attrs.define(frozen=True)
class PublicNumbering:
    """Public E.164 numbers of extensions: ``public_prefix`` + the last ``internal_length``
    digits of the extension (demo: ``+468555`` + ``1001`` = ``+4685551001``)."""

    public_prefix: str = "+468555"
    internal_length: int = 4

    def to_internal(self, e164: str) -> str | None:
        if not e164.startswith(self.public_prefix):
            return None
        rest = e164[len(self.public_prefix) :]
        if len(rest) != self.internal_length or not rest.isdigit():
            return None
        return rest

    def to_public(self, internal: str) -> str | None:
        if len(internal) != self.internal_length or not internal.isdigit():
            return None
        return self.public_prefix + internal


@attrs.define(frozen=True)
class ExternalNetwork:
    """The simulated public network behind the trunks; deterministic by number pattern.

    A call to ``trunk_prefix`` + digits leaves on a trunk. Digits shorter than
    ``min_digits`` are invalid; digits ending in ``busy_suffix`` are busy; ending in
    ``no_answer_suffix`` ring until the alerting time-out; any other number answers after
    ``answer_delay`` seconds. Outside callers present themselves as ``caller_prefix`` + nn.
    """

    trunk_prefix: str = "0"
    trunk_device: str = "0"
    trunk_count: int = 30
    min_digits: int = 4
    busy_suffix: str = "8"
    no_answer_suffix: str = "9"
    answer_delay: float = 3.0
    caller_prefix: str = "+46855501"


@attrs.define
class ExchangePlan:
    """Everything the switching model is built from."""

    lims: list[Lim] = attrs.Factory(list)
    extensions: list[Extension] = attrs.Factory(list)
    hunt_groups: list[HuntGroup] = attrs.Factory(list)
    cascade_groups: list[CascadeGroup] = attrs.Factory(list)
    acd_groups: list[AcdGroup] = attrs.Factory(list)
    public_numbering: PublicNumbering = attrs.Factory(PublicNumbering)
    network: ExternalNetwork = attrs.Factory(ExternalNetwork)
    alerting_timeout: float = 60.0
    #: seconds after which the simulated person at a prompted terminal (MakeCall from an
    #: analog, CAS or DECT line, or with autoOriginate prompt) goes off-hook; None: only
    #: when told to (``sim answer``)
    prompt_answer_seconds: float | None = 2.0
    no_answer_ring_seconds: float = 5.0  # one ring period, for forward-on-no-answer ring counts
    #: a call left on hold this long rings the holder again (recall); 0: never
    hold_recall_seconds: float = 0.0
    #: going on-hook while consulting with a call on hold: transfer, or recall of the held call
    on_hook_consultation: OnHookConsultation = OnHookConsultation.TRANSFER
    #: with ``on_hook_consultation`` recall: how long after the on-hook the held call recalls
    consultation_recall_seconds: float = 10.0
    #: a parked call not retrieved this long rings the extension that parked it; 0: never
    park_recall_seconds: float = 60.0
    #: a call back request not carried out this long is cancelled
    call_back_timeout: float = 1800.0

    def extension(self, number: str) -> Extension | None:
        """The extension ``number`` of the plan, or None."""
        for ext in self.extensions:
            if ext.number == number:
                return ext
        return None
