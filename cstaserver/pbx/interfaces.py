"""The switching model's seam: what the CSTA layer (and the simulator) may call.

Operations follow ECMA-269 clause 17 (call control), 18 (call associated: GenerateDigits),
19 (logical device features), 16 (snapshot), in protocol-neutral form. Every operation
either changes switch state and emits domain events (``cstaserver.pbx.events``) to the
subscribers *synchronously, after the state change is complete*, or raises
``cstaserver.pbx.errors.SwitchError`` (with the switch's ``Refusal``) and changes nothing.

Below ISwitch, the seams inside the switch: what the routing, group and network features
may drive of the call-processing core (``ICallSteps``, ``ITrunkSteps``) and what the core
tells the groups (``ICallDistribution``).

Devices are internal numbers (``"1001"``); a number that is not in the plan but starts with
the trunk prefix (``"0..."``) or ``"+"`` denotes an external party. Call IDs are short ASCII
strings, stable for the life of the call.
"""

from __future__ import annotations

from collections.abc import Callable

from zope.interface import Attribute, Interface


class ISwitch(Interface):
    """The simulated MX-ONE exchange."""

    plan = Attribute("The ExchangePlan the switch was built from (cstaserver.pbx.plan).")
    public_numbering = Attribute("PublicNumbering: to_internal(e164) / to_public(number).")

    # -- subscriptions -------------------------------------------------------------------
    def subscribe(
        callback: Callable[[object], None], interest: object = None
    ) -> Callable[[], None]:
        """Call ``callback(event)`` for every domain event; returns an unsubscribe function.
        With an ``interest`` (``pbx.bus.Interest``) the subscriber promises to act only on the
        events it names, and the switch need not build the others for it."""

    def subscribe_device(device: str, callback: Callable[[object], None]) -> Callable[[], None]:
        """Call ``callback(event)`` for every event whose ``devices`` include ``device``."""

    def subscribe_call(call_id: str, callback: Callable[[object], None]) -> Callable[[], None]:
        """Call ``callback(event)`` for every event whose ``call_ids`` include ``call_id``."""

    # -- look-ups ------------------------------------------------------------------------
    def device(number: str) -> object:
        """The DeviceInfo (number, kind, lim, name, dn_type, ...) or SwitchError NO_SUCH_DEVICE."""

    def devices() -> list:
        """All DeviceInfo, in numbering-plan order."""

    def is_external(number: str) -> bool:
        """True for a number that leaves on a trunk or is an outside caller's."""

    def snapshot_device(device: str) -> list:
        """[(call_id, ConnectionState, [other party numbers])] for every call at ``device``."""

    def snapshot_call(call_id: str) -> list:
        """[(device, ConnectionState)] for every connection of the call; SwitchError if none."""

    # -- call control (ECMA-269 17) ------------------------------------------------------
    def make_call(
        calling: str,
        called: str,
        *,
        auto_originate: bool = True,
        correlator_data: str | None = None,
        user_data: object | None = None,
    ) -> tuple:
        """17.2.11. Returns the calling connection ``(call_id, calling)``. ``correlator_data``
        and ``user_data`` (opaque to the switch) go with the call: every later event of it
        carries them in its ``data`` (a ``CallData``)."""

    def make_predictive_call(
        calling: str,
        called: str,
        *,
        alert_time: float | None = None,
        correlator_data: str | None = None,
        user_data: object | None = None,
    ) -> tuple:
        """17.2.12. Outside party first; ``calling`` (an ACD group or device) once answered.
        ``alert_time`` (seconds; None: the alerting time-out of the exchange): how long the
        called party may ring before the call fails (callNotAnswered). Call data as for
        ``make_call``. Returns the calling device's connection ``(call_id, calling)``."""

    def answer_call(call_id: str, device: str) -> None: ...
    def clear_connection(call_id: str, device: str) -> None: ...
    def clear_call(call_id: str) -> None: ...
    def hold_call(call_id: str, device: str) -> None: ...
    def retrieve_call(call_id: str, device: str) -> None: ...

    def consultation_call(held_call_id: str, device: str, consulted: str) -> tuple:
        """Holds ``held_call_id`` and calls ``consulted``; returns the new connection."""

    def transfer_call(held_call_id: str, active_call_id: str, device: str) -> str:
        """Returns the call ID of the resulting call."""

    def single_step_transfer(call_id: str, device: str, transferred_to: str) -> tuple:
        """Returns the new connection of the transferred-to party ``(call_id, device)``."""

    def conference_call(held_call_id: str, active_call_id: str, device: str) -> str:
        """Returns the call ID of the conference."""

    def single_step_conference(
        call_id: str, device_to_join: str, *, requesting: str | None = None, silent: bool = False
    ) -> tuple:
        """ECMA-269 17.2.x: ``device_to_join`` joins at ``requesting``'s request (the
        Conferenced event's conferencingDevice); ``silent``: it hears and is not heard."""

    def alternate_call(held_call_id: str, active_call_id: str, device: str) -> None: ...
    def reconnect_call(held_call_id: str, active_call_id: str, device: str) -> None: ...
    def deflect_call(call_id: str, device: str, new_destination: str) -> None: ...
    def generate_digits(call_id: str, device: str, digits: str) -> None: ...

    # -- routeing (ECMA-269 20.2) --------------------------------------------------------
    def route_select(call_id: str, group: str, destination: str) -> tuple:
        """A call queued at a CTI group goes to the free extension ``destination``; returns
        the new connection ``(call_id, device)``. SwitchError if the call is not queued
        there (CONNECTION_NOT_IN_STATE) or the extension cannot take it (DEVICE_BUSY)."""

    def route_timed_out(call_id: str, group: str) -> None:
        """No route came in time: the group's ``on_route_timeout`` applies."""

    def queued_calls(group: str) -> list:
        """[(call_id, calling_device, called_device, CallData)] of the calls waiting in the
        group's queue, longest waiting first (empty for a group without a queue)."""

    # -- logical device features (ECMA-269 19) -------------------------------------------
    def set_forwarding(
        device: str,
        forwarding_type: object,
        forward_to: str | None,
        activate: bool,
        ring_count: int | None = None,
    ) -> None: ...

    def get_forwarding(device: str) -> list:
        """[(ForwardingType, active: bool, forward_to, ring_count)]"""

    def set_do_not_disturb(device: str, on: bool) -> None: ...
    def get_do_not_disturb(device: str) -> bool: ...

    def set_agent_state(
        device: str,
        requested: object,
        agent_id: str | None = None,
        password: str | None = None,
        group: str | None = None,
    ) -> None: ...

    def get_agent_state(device: str) -> list:
        """[(agent_id, group, AgentState)] for the agents logged on at ``device``."""

    # -- call features (docs/call-features.md) -------------------------------------------
    def set_message_waiting(device: str, on: bool) -> None:
        """ECMA-269 21.1.x Set Message Waiting Indicator (MessageWaiting event)."""

    def get_message_waiting(device: str) -> bool:
        """ECMA-269 21.1.x Get Message Waiting Indicator."""

    def pickup_call(call_id: str, device: str, requesting: str) -> tuple:
        """ECMA-269 17.2.x Directed Pickup Call: ``requesting`` takes the call ringing (or
        parked) at ``device``; its connection (call ID, device)."""

    def group_pickup_call(requesting: str, group: int | None = None) -> tuple:
        """ECMA-269 17.2.x Group Pickup Call: the call that has rung longest in pick-up group
        ``group`` (None: the requester's own); the requester's connection."""

    def park_call(call_id: str, device: str, park_to: str) -> tuple:
        """ECMA-269 17.2.x Park Call; the parked connection (call ID, parked-to device)."""

    def camp_on_call(call_id: str, device: str) -> str:
        """ECMA-269 17.2.x Camp On Call: the failed call waits at the busy extension (its
        number is returned)."""

    def call_back(call_id: str, device: str) -> str:
        """ECMA-269 17.2.x Call Back (call related); the target extension."""

    def call_back_non_call(originating: str, target: str) -> None:
        """ECMA-269 21.1.x Call Back Non-Call-Related."""

    def cancel_call_back(originating: str, target: str) -> None:
        """ECMA-269 21.1.x Cancel Call Back."""

    def intrude_call(call_id: str, device: str, *, silent: bool = False) -> tuple:
        """ECMA-269 17.2.x Intrude Call; the intruder's connection in the joined call."""

    def restricted_parties(call_id: str) -> tuple:
        """(party, trunk or None) of each party of the call whose identity is restricted
        (withheld caller ID): the CSTA layer presents them as ECMA-269 ``restricted``."""


# -- seams inside the switch ---------------------------------------------------------------
# The switch is a facade (``switch.Switch``) over the call-processing core
# (``core.CallProcessing``) and three features: routing (``routing.Router``), groups
# (``groups.Groups``) and the outside network (``network.Network``). Each feature gets only
# the narrow part of the core it drives, below; the core calls the features back through
# hooks given to ``CallProcessing.wire`` once they exist (see its docstring).


class ICallSteps(Interface):
    """The call-progress steps a feature drives (ECMA-269 6.1.5 state changes and their
    events). Provided by ``core.CallProcessing``; used by ``Router`` and ``Groups``."""

    appearances = Attribute("devices.Appearances: the phones EDN and ADN lines ring at")

    def info(number: str) -> object:
        """The DeviceInfo of an internal number, or None (an outside party, or unknown)."""

    def add_connection(call: object, device: str, state: object) -> object:
        """Join ``device`` to ``call`` in ``state`` (a ConnectionState); the Connection."""

    def remove_connection(call: object, device: str) -> object:
        """Take ``device``'s connection out of ``call`` (state null); the Connection."""

    def emit(event: object) -> None:
        """Publish a domain event to the subscribers."""

    def emit_call(call: object, cls: type, cause: object, *, gone: object = (), **fields) -> None:
        """Publish ``call.event(cls, cause, gone=gone, **fields)`` if a subscription wants it
        (nothing is built otherwise): one about the call, its devices or the class, or for a
        Transferred / Conferenced also either call it merges (``secondary_old_call_id``,
        ``new_call_id``)."""

    def emit_diverted(
        call: object, cause: object, diverting: str, to: str, *, gone: object = (), called=None
    ) -> None:
        """Publish ``call.diverted(...)`` (Diverted) if a subscription wants it."""

    def alert(call: object, device: str, *, cause: object = None) -> None:
        """``device`` alerts (Delivered), the alerting time-out running."""

    def fail(call: object, failing_device: str | None, cause: object) -> None:
        """The call cannot be completed (Failed)."""

    def release(
        call: object,
        device: str,
        cause: object,
        *,
        settle: bool = True,
        redistribute: bool = True,
    ) -> None:
        """``device`` leaves the call (ConnectionCleared); with ``settle`` the call ends if it
        cannot go on without it; with ``redistribute`` queued calls then go to free agents."""

    def set_timer(
        call: object, conn: object, purpose: str, delay: float, action: object, *args: object
    ) -> None:
        """Run ``action(call, conn, *args)`` after ``delay`` if ``conn`` is still in a call."""


class ITrunkSteps(ICallSteps):
    """What the outside network also does with the core: calls it places or receives, an
    outside party answering, re-offering a call to routing. Used by ``Network``."""

    def new_call(**fields: object) -> object:
        """A new Call (fresh call ID) with ``fields`` (calling_device, called_device, ...)."""

    def answer(call: object, device: str) -> None:
        """An alerting connection is answered (Established)."""

    def offer(call: object, target: str) -> None:
        """Route ``call`` to ``target`` (the routing hook given to ``CallProcessing.wire``)."""

    def trunks_in_use() -> int:
        """Outside parties now in calls (one trunk each)."""

    def fail_unanswered(call: object, device: str, cause: object) -> None:
        """``device``, alerting, did not answer in time: its connection fails (Failed)."""


class ICallDistribution(Interface):
    """What the core tells the group feature as calls progress (``groups.Groups``)."""

    def on_answered(call: object, device: str) -> None:
        """``device`` answered ``call`` (an agent goes busy)."""

    def on_released(call: object, device: str, conn: object) -> None:
        """``device`` left ``call`` (an agent starts work after call)."""

    def on_call_ended(call: object) -> None:
        """``call`` ended (it leaves a queue it waited in)."""

    def dispatch() -> None:
        """Give queued calls to the agents that became available."""
