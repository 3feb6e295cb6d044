"""Routeing registrations and dialogues: the switching function's side of ECMA-269 clause 20.

MX-ONE sends each call to a CTI group to the contact-centre application over CSTA (System
Description, "Call Center (CTI) Group"): the call waits queued at the group, the application
picks an extension, and the exchange routes the call there. In ECMA-269 terms:

- **Route Register** (20.1.1): an application registers as the routeing server of one device
  (an ACD or CTI group) or of every group (no ``routeingDevice``); it gets a
  ``routeRegisterReqID``. A registration belongs to the association that made it and ends
  with Route Register Cancel (20.1.3) or when the association goes.
- **Route Request** (20.2.4): when a call is Queued at a registered group (and, when an
  application registers, for each call already waiting there), the switching function opens
  a routeing dialogue (a ``crossRefIdentifier``) and sends RouteRequest with
  the call (``routedCall``), the A-number (``callingDevice``), the number dialled
  (``currentRoute``), the group (``routeingDevice``), the trunk for an outside call
  (``associatedCallingDevice``), the call's ``correlatorData`` and ``replyTimeout``
  (the group's ``route_seconds``). A device-specific registration is preferred to an
  all-devices one; among equals, the oldest.
- **Route Select** (20.2.5): the application's route. The switch routes the call there
  (Diverted, cause distributed; Delivered at the extension); with ``routeUsedReq`` a Route
  Used (20.2.6) names the route taken; then Route End (20.2.2) closes the dialogue. A route
  the switch cannot follow now (the extension is busy) gets a Re-Route (20.2.1): the dialogue
  stays open for another Route Select.
- **Route End** from the application closes the dialogue, the call stays queued; **Route
  Reject** (20.2.3) hands it back to the exchange: the group's route time-out rule applies
  (stay queued, or go to the diverted position).
- No route within ``replyTimeout``: Route End (errorValue performanceLimitExceeded) to the
  application, and the group's route time-out rule.
- A call that leaves the queue otherwise (caller hangs up, DeflectCall, queue time-out):
  Route End with errorValue :data:`CALL_GONE`, and the dialogue is closed.

The messages the switching function sends have no positive response; the application's
Route Select, Route End and Route Reject get none either (the transport acknowledges them its
own way). This module holds the state; the request handlers are in
:mod:`cstaserver.csta.services.routeing`.

The service subscribes to the switch with an interest (``pbx.bus.Interest``) in Queued while
a registration exists and in the calls of the open dialogues: the switch builds no other
event for it.

A switch that runs elsewhere (a cluster's front end, docs/cluster.md) provides
:class:`IRouteingHost`: its core's routeing service is the one it gives, and the state stays
where the switch is.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import attrs
from twisted.logger import Logger
from zope.interface import Interface

from cstaserver.csta import codec
from cstaserver.csta.errors import CstaError, ErrorValue, error_code_message
from cstaserver.csta.messages.routeing import (
    ReRouteRequest,
    RouteEndRequest,
    RouteRequest,
    RouteUsedRequest,
)
from cstaserver.csta.namespaces import DEFAULT_NAMESPACE
from cstaserver.pbx import events as pbx_events
from cstaserver.pbx.bus import Interest
from cstaserver.pbx.errors import Refusal, SwitchError
from cstaserver.pbx.plan import DeviceKind
from cstaserver.pbx.states import ConnectionState

log = Logger()

#: The errorValue of the Route End that closes a dialogue whose call left the queue.
CALL_GONE = ErrorValue.INVALID_CONNECTION_STATE
#: The errorValue of the Route End sent when the application gave no route in time.
NO_ROUTE_IN_TIME = ErrorValue.PERFORMANCE_LIMIT_EXCEEDED


class IRouteingHost(Interface):
    """A switch that provides its core's routeing service (instead of
    :class:`RouteingService` over it)."""

    def routeing_service(clock: Any, presenter: Callable[[Any], Any]) -> Any:
        """The routeing service of a core over this switch; the core calls its
        ``association_lost(association)`` when a client goes."""


@attrs.define(eq=False)
class Registration:
    """One application registered as routeing server (for ``device``, or all with None)."""

    register_id: str
    association: Any  # csta.association.Association
    device: str | None


@attrs.define(eq=False)
class Dialogue:
    """One routeing dialogue: a call queued at ``group`` waiting for a route."""

    cross_ref: str
    registration: Registration
    call_id: str
    group: str
    timer: Any = None
    correlator_data: str | None = None


class RouteingService:
    """Registrations and dialogues of one server (see the module docstring)."""

    def __init__(self, switch: Any, clock: Any, presenter: Callable[[Any], Any]) -> None:
        self.switch = switch
        self.clock = clock
        self._presenter = presenter  # association -> csta.presentation.Presenter
        self._register_ids = itertools.count(1)
        self._cross_refs = itertools.count(1)
        self.registrations: dict[str, Registration] = {}
        self.dialogues: dict[str, Dialogue] = {}
        self._by_call: dict[str, Dialogue] = {}
        #: what the switch builds events for: Queued while registered, the dialogues' calls
        self.wanted = Interest()
        switch.subscribe(self._switch_event, self.wanted)

    # -- registrations (ECMA-269 20.1) ---------------------------------------------------
    def register(self, association: Any, device: str | None) -> Registration:
        if device is not None:
            info = self.switch.device(device)
            if info.kind is not DeviceKind.ACD_GROUP:
                raise CstaError(
                    ErrorValue.INVALID_DEVICE_ID,
                    f"{device} is not a group that can be routed by an application",
                )
        registration = Registration(str(next(self._register_ids)), association, device)
        self.registrations[registration.register_id] = registration
        self.wanted.want_kind(pbx_events.Queued)
        log.info(
            "route registration {id} for {device} by {peer}",
            id=registration.register_id,
            device=device or "every group",
            peer=association.peer,
        )
        # after the RouteRegisterResponse (unsolicited messages wait for the response)
        self._offer_waiting(registration)
        return registration

    def cancel(self, association: Any, register_id: str) -> None:
        registration = self.registrations.get(register_id)
        if registration is None or registration.association is not association:
            raise CstaError(
                ErrorValue.INVALID_ROUTE_REGISTRATION_CROSS_REF_ID,
                f"no route registration {register_id!r} of this client",
            )
        self._drop(registration)

    def association_lost(self, association: Any) -> None:
        for registration in list(self.registrations.values()):
            if registration.association is association:
                self._drop(registration)

    def _drop(self, registration: Registration) -> None:
        """The registration ends: its open dialogues are closed and the exchange takes their
        calls back (the group's route time-out rule)."""
        del self.registrations[registration.register_id]
        if not self.registrations:
            self.wanted.drop_kind(pbx_events.Queued)
        for dialogue in list(self.dialogues.values()):
            if dialogue.registration is registration:
                self._forget(dialogue)
                self._exchange_decides(dialogue)

    def _registration_for(self, group: str) -> Registration | None:
        specific = [r for r in self.registrations.values() if r.device == group]
        candidates = specific or [r for r in self.registrations.values() if r.device is None]
        live = [r for r in candidates if not r.association.closed]
        return live[0] if live else None

    # -- dialogues (ECMA-269 20.2) -------------------------------------------------------
    def dialogue(self, association: Any, cross_ref: str, register_id: str | None) -> Dialogue:
        dialogue = self.dialogues.get(cross_ref)
        if dialogue is None or dialogue.registration.association is not association:
            raise CstaError(
                ErrorValue.INVALID_ROUTEING_CROSS_REF_ID,
                f"no routeing dialogue {cross_ref!r} of this client",
            )
        if register_id is not None and register_id != dialogue.registration.register_id:
            raise CstaError(
                ErrorValue.INVALID_ROUTE_REGISTRATION_CROSS_REF_ID,
                f"dialogue {cross_ref} belongs to registration {dialogue.registration.register_id}",
            )
        return dialogue

    def select(self, dialogue: Dialogue, destination: str, *, route_used: bool) -> None:
        """Follow the application's route; Re-Route when the switch cannot now."""
        self._forget(dialogue)  # the route's own events must not close it as "gone"
        try:
            _, device = self.switch.route_select(dialogue.call_id, dialogue.group, destination)
        except SwitchError as error:
            self._open(dialogue)
            if error.reason is not Refusal.DEVICE_BUSY:
                raise
            timeout = self._reply_timeout(dialogue)
            self._send(
                dialogue,
                ReRouteRequest,
                reply_timeout=timeout,
                correlator_data=dialogue.correlator_data,
            )
            return
        if route_used:
            presenter = self._presenter(dialogue.registration.association)
            self._send(
                dialogue,
                RouteUsedRequest,
                route_used=presenter.extended(device),
                correlator_data=dialogue.correlator_data,
            )
        self._send(dialogue, RouteEndRequest, correlator_data=dialogue.correlator_data)

    def end_by_application(self, dialogue: Dialogue) -> None:
        """Route End from the application: the dialogue is over, the call stays queued."""
        self._forget(dialogue)

    def reject(self, dialogue: Dialogue) -> None:
        """Route Reject: the exchange takes the call back (the group's time-out rule)."""
        self._forget(dialogue)
        self._exchange_decides(dialogue)
        self._send(dialogue, RouteEndRequest, correlator_data=dialogue.correlator_data)

    # -- the switch's side -----------------------------------------------------------------
    def _switch_event(self, event: object) -> None:
        if isinstance(event, pbx_events.Queued):
            self._queued(event)
            return
        for call_id in getattr(event, "call_ids", ()):
            dialogue = self._by_call.get(call_id)
            if dialogue is not None and not self._still_queued(dialogue):
                self._close(dialogue, CALL_GONE)

    def _still_queued(self, dialogue: Dialogue) -> bool:
        try:
            parties = self.switch.snapshot_call(dialogue.call_id)
        except SwitchError:
            return False
        return (dialogue.group, ConnectionState.QUEUED) in parties

    def _queued(self, event: pbx_events.Queued) -> None:
        data = getattr(event, "data", None)
        self._offer(event.queue, event.call_id, event.calling_device, event.called_device, data)

    def _offer_waiting(self, registration: Registration) -> None:
        """A new registration: the calls already waiting at its group(s) are offered too."""
        groups = [registration.device] if registration.device else self._groups()
        for group in groups:
            for call_id, calling, called, data in self.switch.queued_calls(group):
                self._offer(group, call_id, calling, called, data)

    def _groups(self) -> list[str]:
        return [group.number for group in self.switch.plan.acd_groups]

    def _offer(
        self, group: str, call_id: str, calling: str | None, called: str | None, data: Any
    ) -> None:
        """Open a dialogue for a call waiting at ``group`` and send RouteRequest."""
        registration = self._registration_for(group)
        if registration is None or call_id in self._by_call:
            return
        dialogue = Dialogue(
            cross_ref=str(next(self._cross_refs)),
            registration=registration,
            call_id=call_id,
            group=group,
            correlator_data=getattr(data, "correlator_data", None),
        )
        timeout = self._open(dialogue)
        presenter = self._presenter(registration.association)
        presenter = presenter.hiding(getattr(data, "restricted", ()))  # withheld caller ID
        trunk = getattr(data, "associated_calling_device", None)
        self._send(
            dialogue,
            RouteRequest,
            current_route=presenter.extended(called or group),
            calling_device=presenter.extended(calling),
            routeing_device=presenter.extended(group),
            routed_call=presenter.connection(call_id, group),
            associated_calling_device=presenter.extended(trunk) if trunk else None,
            reply_timeout=timeout,
            correlator_data=dialogue.correlator_data,
        )

    def _open(self, dialogue: Dialogue) -> int:
        """Keep the dialogue with its reply timer running; the timer's seconds."""
        self.dialogues[dialogue.cross_ref] = dialogue
        self._by_call[dialogue.call_id] = dialogue
        self.wanted.want_call(dialogue.call_id)
        timeout = self._reply_timeout(dialogue)
        dialogue.timer = self.clock.callLater(timeout, self._timed_out, dialogue)
        return timeout

    def _reply_timeout(self, dialogue: Dialogue) -> int:
        for group in self.switch.plan.acd_groups:
            if group.number == dialogue.group:
                return max(1, round(group.route_seconds))
        return 10

    def _timed_out(self, dialogue: Dialogue) -> None:
        dialogue.timer = None
        if self.dialogues.get(dialogue.cross_ref) is not dialogue:
            return
        log.info(
            "no route for call {call_id} at {group} in time",
            call_id=dialogue.call_id,
            group=dialogue.group,
        )
        self._close(dialogue, NO_ROUTE_IN_TIME)
        self._exchange_decides(dialogue)

    def _exchange_decides(self, dialogue: Dialogue) -> None:
        try:
            self.switch.route_timed_out(dialogue.call_id, dialogue.group)
        except SwitchError:
            pass  # the call left the queue meanwhile

    # -- closing -----------------------------------------------------------------------------
    def _forget(self, dialogue: Dialogue) -> None:
        self.dialogues.pop(dialogue.cross_ref, None)
        if self._by_call.get(dialogue.call_id) is dialogue:
            del self._by_call[dialogue.call_id]
            self.wanted.drop_call(dialogue.call_id)
        if dialogue.timer is not None and dialogue.timer.active():
            dialogue.timer.cancel()
        dialogue.timer = None

    def _close(self, dialogue: Dialogue, error: ErrorValue | None) -> None:
        """Forget the dialogue and, with an ``error``, tell the application (Route End)."""
        self._forget(dialogue)
        if error is not None:
            association = dialogue.registration.association
            value = error_code_message(error, association.namespace)
            self._send(
                dialogue,
                RouteEndRequest,
                error_value=value,
                correlator_data=dialogue.correlator_data,
            )

    def _send(self, dialogue: Dialogue, cls: type, **fields: Any) -> None:
        association = dialogue.registration.association
        if association.closed:
            return
        message = cls(
            cross_ref_identifier=dialogue.cross_ref,
            route_register_req_id=dialogue.registration.register_id,
            **fields,
        )
        namespace = association.namespace or DEFAULT_NAMESPACE
        association.send_unsolicited(codec.encode(message, namespace))
