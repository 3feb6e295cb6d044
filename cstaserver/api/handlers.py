"""What each endpoint of ``/api/v1`` does (docs/api.md), and the route table.

**Reads** build the JSON shapes of :mod:`cstaserver.api.views` from the switch and the core.

**Actions** are what a person does at a simulated terminal or an outside caller does, the
admin shell's ``sim`` controls (:class:`cstaserver.pbx.simulator.Simulator`: off-hook, dial
a number or key by key, busy, terminal mode, agent log-on/off and ready/not ready, behaviour
profiles, traffic runs with their profiles), the phone's keys of
:mod:`cstaserver.pbx.handset` (answer, reject, hang up, hold, retrieve, consultation,
transfer, conference, single-step transfer, deflect, DTMF: ECMA-269 17.2.x services of the
switch, with the causes of a key pressed at the phone), do-not-disturb and forwarding
(ECMA-269 19), and skipping simulated time (:mod:`cstaserver.pbx.clock`). Each answers with
the device and the call it acted on as they are afterwards.

A device action without ``"call"`` acts on the call the key would: the alerting one for
answer and deflect, the connected one for hold, DTMF, consultation and single-step transfer
(a group's queued call for single-step transfer and deflect), the held one for retrieve, the
active one (else held) for hang-up. Refusals: a device or call that does not exist is 404; a
request the switch refuses (``SwitchError``, which changes nothing) is 409 with the switch's
reason, or 400 when the switch calls a value bad (``bad_argument``, ``out_of_range``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from twisted.logger import Logger

from cstaserver.api.auth import Access
from cstaserver.api.routes import ApiError, ApiRequest, Field, Route
from cstaserver.api.sources import ApiSources
from cstaserver.api.views import (
    STATE_NAMES,
    call_json,
    device_json,
    device_state,
    exchange_json,
    group_json,
    server_json,
    time_json,
    traffic_json,
)
from cstaserver.pbx.behaviour import Behaviour, Reaction
from cstaserver.pbx.calls import Call
from cstaserver.pbx.clock import MAX_ADVANCE, AdvanceRefused
from cstaserver.pbx.devices import DeviceInfo
from cstaserver.pbx.errors import Refusal, SwitchError
from cstaserver.pbx.handset import ACTIVE_STATES, KEYS, TWO_CALL_KEYS
from cstaserver.pbx.plan import DeviceKind
from cstaserver.pbx.states import (
    ConnectionState,
    ForwardingType,
    RequestedAgentState,
    TerminalMode,
)
from cstaserver.pbx.traffic import TrafficProfile
from cstaserver.web.status import client_rows, monitor_rows, session_rows

log = Logger()

#: The most calls per second and seconds a traffic run may ask for.
MAX_TRAFFIC_RATE = 1000.0
MAX_TRAFFIC_SECONDS = 86_400.0

NOT_FOUND = frozenset({Refusal.NO_SUCH_DEVICE, Refusal.NO_SUCH_CALL})
BAD_VALUE = frozenset({Refusal.BAD_ARGUMENT, Refusal.OUT_OF_RANGE})

_AGENT_ACTIONS = {
    "login": RequestedAgentState.LOGGED_ON,
    "logout": RequestedAgentState.LOGGED_OFF,
    "ready": RequestedAgentState.READY,
    "notready": RequestedAgentState.NOT_READY,
}


def switch_refusal(error: SwitchError) -> ApiError:
    """A SwitchError as the API answers it: 404, 400 or 409, code = the refusal's name."""
    reason = error.reason
    status = 404 if reason in NOT_FOUND else 400 if reason in BAD_VALUE else 409
    return ApiError(status, reason.name.lower(), error.message)


# -- fields ---------------------------------------------------------------------------------

CALL = Field("call", "string", "The call ID to act on (default: the call the key would act on).")
TO = Field("to", "string", "The number to call: internal, public (+E.164) or outside.", True)


def _on(what: str) -> Field:
    return Field("on", "boolean", what, True)


def _behaviour_json(number: str, behaviour: Behaviour) -> dict[str, Any]:
    return {"device": number, **behaviour.as_json()}


def _traffic_profile(fields: Mapping[str, Any]) -> TrafficProfile:
    """The traffic profile of ``POST /traffic``'s fields (TrafficProfile's defaults)."""
    mix = ("answer", "busy", "no_answer", "abandon")
    given = {name: float(fields[name]) for name in mix if name in fields}
    if given and "answer" not in given:
        given["answer"] = 0.0  # a mix given without answer has no answered calls
    default = TrafficProfile()
    ring = (fields.get("ring_min", default.ring[0]), fields.get("ring_max", default.ring[1]))
    talk = (fields.get("talk_min", default.talk[0]), fields.get("talk_max", default.talk[1]))
    if ring[0] > ring[1] or talk[0] > talk[1]:
        raise ApiError(400, "out_of_range", "a minimum time is over its maximum")
    exclude = tuple(n for n in fields.get("exclude", "").split(",") if n)
    return TrafficProfile(
        **given,
        ring=ring,
        talk=talk,
        withheld=float(fields.get("withheld", 0.0)),
        dtmf=fields.get("dtmf"),
        exclude=exclude,
    )


# -- the handlers ---------------------------------------------------------------------------


class Handlers:
    """Every endpoint's handler over one :class:`ApiSources` (see the module docstring)."""

    def __init__(self, sources: ApiSources) -> None:
        self.sources = sources
        self.switch = sources.switch
        self.simulator = sources.simulator
        #: The OpenAPI document, set once the route table is built (``GET /openapi.json``).
        self.document: dict[str, Any] = {}

    # -- look-ups ----------------------------------------------------------------------------
    def device(self, number: str) -> DeviceInfo:
        internal = self.switch.numbering.internal(number)
        info = self.switch.info(internal) if internal is not None else None
        if info is None:
            raise ApiError(404, "no_such_device", f"no device {number!r} in the exchange")
        return info

    def call(self, call_id: str) -> Call:
        call = self.switch.calls.get(call_id)
        if call is None:
            raise ApiError(404, "no_such_call", f"no call {call_id!r} in progress")
        return call

    def caller(self, number: str) -> str:
        if not self.switch.is_external(number):
            raise ApiError(404, "no_such_caller", f"{number!r} is not an outside number")
        return number

    def pick(
        self,
        number: str,
        chosen: str | None,
        states: Iterable[ConnectionState],
        refusal: Refusal,
        what: str,
        *,
        connections: Mapping[str, Any] | None = None,
    ) -> str:
        """The call to act on: ``chosen`` (a call ID) if given, else ``number``'s call (among
        ``connections``, default all of them) in the first of ``states`` it has one in;
        SwitchError ``refusal`` when there is none."""
        if chosen is not None:
            return self.call(chosen).call_id
        if connections is None:
            connections = self.switch.connections_at(number)
        for state in states:
            for call_id, conn in connections.items():
                if conn.state is state:
                    return call_id
        raise SwitchError(refusal, f"{number} has no {what}")

    def _known_calls(self, number: str) -> dict[str, Call]:
        return {cid: self.switch.calls[cid] for cid in self.switch.connections_at(number)}

    def _call_after(self, call_id: str | None, known: dict[str, Call]) -> dict[str, Any] | None:
        if call_id is None:
            return None
        call = self.switch.calls.get(call_id) or known.get(call_id)
        if call is None:  # made and ended within the action
            return {
                "id": call_id,
                "calling": None,
                "called": None,
                "connections": [],
                "ended": True,
                "group": None,
                "last_redirection": None,
                "delivery_cause": None,
                "data": None,
            }
        return call_json(call)

    def _acted(
        self, info: DeviceInfo, action: Callable[[], str | None], request: ApiRequest, verb: str
    ) -> dict[str, Any]:
        """Run a device action; the device and its call afterwards."""
        known = self._known_calls(info.number)
        call_id = action()
        log.info(
            "API: {user} {verb} at {device} (call {call})",
            user=request.user,
            verb=verb,
            device=info.number,
            call=call_id,
        )
        return {
            "call": self._call_after(call_id, known),
            "device": device_json(self.switch, info),
        }

    # -- reads -------------------------------------------------------------------------------
    def openapi(self, request: ApiRequest) -> dict[str, Any]:
        return self.document

    def index(self, request: ApiRequest) -> dict[str, Any]:
        return {
            "name": "cstaserver JSON API",
            "version": "v1",
            "openapi": "/api/v1/openapi.json",
        }

    def exchange(self, request: ApiRequest) -> dict[str, Any]:
        return {"exchange": exchange_json(self.switch, self.sources.exchange())}

    def devices(self, request: ApiRequest) -> dict[str, Any]:
        kind, state = request.fields.get("kind"), request.fields.get("state")
        rows = []
        for info in self.switch.devices():
            if kind is not None and info.kind.value != kind:
                continue
            if state is not None and device_state(info) != state:
                continue
            rows.append(device_json(self.switch, info))
        return {"devices": rows}

    def get_device(self, request: ApiRequest) -> dict[str, Any]:
        return {"device": device_json(self.switch, self.device(request.params["number"]))}

    def calls(self, request: ApiRequest) -> dict[str, Any]:
        return {"calls": [call_json(call) for call in list(self.switch.calls.values())]}

    def get_call(self, request: ApiRequest) -> dict[str, Any]:
        return {"call": call_json(self.call(request.params["id"]))}

    def groups(self, request: ApiRequest) -> dict[str, Any]:
        infos = [info for info in self.switch.devices() if info.is_group]
        return {"groups": [group_json(self.switch, info) for info in infos]}

    def get_group(self, request: ApiRequest) -> dict[str, Any]:
        info = self.device(request.params["number"])
        if not info.is_group:
            raise ApiError(404, "no_such_group", f"{info.number} is not a group")
        return {"group": group_json(self.switch, info)}

    def servers(self, request: ApiRequest) -> dict[str, Any]:
        return {"servers": [server_json(run) for run in self.sources.server_runs()]}

    def associations(self, request: ApiRequest) -> dict[str, Any]:
        return {"associations": client_rows(self.sources.core)}

    def sessions(self, request: ApiRequest) -> dict[str, Any]:
        return {"sessions": session_rows(self.sources.core)}

    def monitors(self, request: ApiRequest) -> dict[str, Any]:
        return {"monitors": monitor_rows(self.sources.core)}

    def time(self, request: ApiRequest) -> dict[str, Any]:
        return {"time": time_json(self.sources.clock)}

    def traffic(self, request: ApiRequest) -> dict[str, Any]:
        run = self.sources.traffic.last
        if run is None:
            raise ApiError(404, "no_traffic_run", "no traffic run has been started")
        return {"traffic": traffic_json(run)}

    # -- a person at a terminal --------------------------------------------------------------
    def offhook(self, request: ApiRequest) -> dict[str, Any]:
        info = self.device(request.params["number"])
        return self._acted(info, lambda: self.simulator.off_hook(info.number), request, "off-hook")

    def dial(self, request: ApiRequest) -> dict[str, Any]:
        info = self.device(request.params["number"])
        to = request.fields["to"]
        return self._acted(info, lambda: self.simulator.call(info.number, to), request, "dial")

    def answer(self, request: ApiRequest) -> dict[str, Any]:
        return self._press(request, "answer")

    def hangup(self, request: ApiRequest) -> dict[str, Any]:
        return self._press(request, "hang-up")

    def hold(self, request: ApiRequest) -> dict[str, Any]:
        return self._press(request, "hold")

    def retrieve(self, request: ApiRequest) -> dict[str, Any]:
        return self._press(request, "retrieve")

    def reject(self, request: ApiRequest) -> dict[str, Any]:
        return self._press(request, "reject")

    def digits(self, request: ApiRequest) -> dict[str, Any]:
        info = self.device(request.params["number"])
        keys = request.fields["digits"]
        return self._acted(info, lambda: self.simulator.dial(info.number, keys), request, "digits")

    # -- behaviour profiles ------------------------------------------------------------------
    def behaviours(self, request: ApiRequest) -> dict[str, Any]:
        profiles = self.simulator.people.profiles()
        return {"behaviours": [_behaviour_json(n, b) for n, b in profiles.items()]}

    def set_behaviour(self, request: ApiRequest) -> dict[str, Any]:
        info = self.device(request.params["number"])
        fields = request.fields
        behaviour = Behaviour(
            fields["behaviour"],
            after=fields.get("after", 0.0),
            talk=fields.get("talk"),
            dtmf=fields.get("dtmf"),
        )
        self.simulator.behave(info.number, behaviour)
        log.info(
            "API: {user} behaviour of {device}: {behaviour}",
            user=request.user,
            device=info.number,
            behaviour=behaviour.describe(),
        )
        return {"behaviour": _behaviour_json(info.number, behaviour)}

    def _press(self, request: ApiRequest, name: str) -> dict[str, Any]:
        """A handset key that acts on one of the device's calls (:data:`KEYS`)."""
        key = KEYS[name]
        info = self.device(request.params["number"])
        call_id = self.pick(
            info.number, request.fields.get("call"), key.states, key.refusal, key.what
        )

        def act() -> str:
            new_call = key.press(self.switch, call_id, info.number, request.fields)
            return str(new_call) if new_call is not None else call_id

        return self._acted(info, act, request, name)

    def busy(self, request: ApiRequest) -> dict[str, Any]:
        info = self.device(request.params["number"])
        on = request.fields["on"]
        return self._acted(info, lambda: self.simulator.busy(info.number, on), request, "busy")

    def mode(self, request: ApiRequest) -> dict[str, Any]:
        info = self.device(request.params["number"])
        mode = request.fields["mode"]
        return self._acted(info, lambda: self.simulator.mode(info.number, mode), request, "mode")

    def dnd(self, request: ApiRequest) -> dict[str, Any]:
        info = self.device(request.params["number"])
        on = request.fields["on"]
        return self._acted(
            info, lambda: self.switch.set_do_not_disturb(info.number, on), request, "dnd"
        )

    def forwarding(self, request: ApiRequest) -> dict[str, Any]:
        info = self.device(request.params["number"])
        fields = request.fields
        kind = ForwardingType(fields["type"])
        if fields["on"] and "to" not in fields:
            raise ApiError(400, "missing_field", "'to' is required to switch forwarding on")

        def act() -> None:
            self.switch.set_forwarding(
                info.number, kind, fields.get("to"), fields["on"], fields.get("ring_count")
            )

        return self._acted(info, act, request, "forwarding")

    def agent(self, request: ApiRequest) -> dict[str, Any]:
        info = self.device(request.params["number"])
        fields = request.fields
        action = fields["action"]
        if action == "login" and "agent" not in fields:
            raise ApiError(400, "missing_field", "'agent' (the agent ID) is required to log in")

        def act() -> None:
            self.switch.set_agent_state(
                info.number,
                _AGENT_ACTIONS[action],
                fields.get("agent"),
                fields.get("password"),
                fields.get("group"),
            )

        return self._acted(info, act, request, f"agent {action}")

    # -- the handset's transfer keys and keypad ----------------------------------------------
    def consult(self, request: ApiRequest) -> dict[str, Any]:
        return self._press(request, "consultation")

    def transfer(self, request: ApiRequest) -> dict[str, Any]:
        return self._join(request, "transfer")

    # -- call park and call pickup from the handset --------------------------------------------
    def park(self, request: ApiRequest) -> dict[str, Any]:
        return self._press(request, "park")

    def pickup(self, request: ApiRequest) -> dict[str, Any]:
        info = self.device(request.params["number"])
        target = request.fields.get("target")
        return self._acted(
            info, lambda: self.simulator.pickup(info.number, target), request, "pickup"
        )

    def conference(self, request: ApiRequest) -> dict[str, Any]:
        return self._join(request, "conference")

    def _join(self, request: ApiRequest, name: str) -> dict[str, Any]:
        """A key joining the held and the active call (:data:`TWO_CALL_KEYS`)."""
        info = self.device(request.params["number"])
        fields = request.fields
        held = self.pick(
            info.number,
            fields.get("held"),
            (ConnectionState.HOLD,),
            Refusal.NO_HELD_CALL,
            "held call",
        )
        others = {
            cid: conn
            for cid, conn in self.switch.connections_at(info.number).items()
            if cid != held
        }
        active = self.pick(
            info.number,
            fields.get("active"),
            ACTIVE_STATES,
            Refusal.NO_ACTIVE_CALL,
            "active call",
            connections=others,
        )
        return self._acted(
            info,
            lambda: TWO_CALL_KEYS[name](self.switch, held, active, info.number),
            request,
            name,
        )

    def single_step_transfer(self, request: ApiRequest) -> dict[str, Any]:
        return self._press(request, "single-step transfer")

    def deflect(self, request: ApiRequest) -> dict[str, Any]:
        return self._press(request, "deflect")

    def dtmf(self, request: ApiRequest) -> dict[str, Any]:
        return self._press(request, "dtmf")

    # -- outside callers -----------------------------------------------------------------------
    def call_in(self, request: ApiRequest) -> dict[str, Any]:
        caller = request.fields["from"]
        if not self.switch.is_external(caller):
            raise ApiError(
                400, "bad_field", f"'from' must be an outside number (+digits), not {caller!r}"
            )
        withheld = bool(request.fields.get("withheld", False))
        call_id = self.simulator.call(caller, request.fields["to"], withheld=withheld)
        log.info("API: {user} outside call from {caller}", user=request.user, caller=caller)
        return {"call": self._call_after(call_id, {})}

    def _caller_action(self, request: ApiRequest, verb: str) -> dict[str, Any]:
        caller = self.caller(request.params["number"])
        known = self._known_calls(caller)
        call_id = getattr(self.simulator, verb)(caller)
        log.info("API: {user} {verb} by {caller}", user=request.user, verb=verb, caller=caller)
        return {"call": self._call_after(call_id, known)}

    def caller_answer(self, request: ApiRequest) -> dict[str, Any]:
        return self._caller_action(request, "answer")

    def caller_hangup(self, request: ApiRequest) -> dict[str, Any]:
        return self._caller_action(request, "hangup")

    def caller_dtmf(self, request: ApiRequest) -> dict[str, Any]:
        caller = self.caller(request.params["number"])
        digits = request.fields["digits"]
        call_id = self.simulator.dtmf(caller, digits)
        log.info("API: {user} DTMF by {caller}", user=request.user, caller=caller)
        return {"call": self._call_after(call_id, {})}

    # -- traffic and time ----------------------------------------------------------------------
    def start_traffic(self, request: ApiRequest) -> dict[str, Any]:
        fields = request.fields
        run = self.simulator.traffic(
            float(fields["rate"]),
            float(fields["seconds"]),
            to=fields.get("to"),
            seed=fields.get("seed"),
            profile=_traffic_profile(fields),
        )
        self.sources.traffic.last = run
        log.info(
            "API: {user} started traffic: {rate} calls/s for {seconds} s",
            user=request.user,
            rate=run.rate,
            seconds=run.seconds,
        )
        return {"traffic": traffic_json(run)}

    def reset(self, request: ApiRequest) -> dict[str, Any]:
        cleared = self.simulator.reset()
        log.info(
            "API: {user} reset the exchange ({cleared} calls cleared)",
            user=request.user,
            cleared=cleared,
        )
        return {"cleared": cleared}

    def advance(self, request: ApiRequest) -> dict[str, Any]:
        clock = self.sources.clock
        try:
            ran = clock.advance(request.fields["seconds"])
        except AdvanceRefused as refused:
            raise ApiError(409, "not_in_state", str(refused)) from None
        log.info(
            "API: {user} advanced time {seconds} s",
            user=request.user,
            seconds=request.fields["seconds"],
        )
        return {"time": time_json(clock), "ran": ran}


# -- the route table --------------------------------------------------------------------------

DEVICE_ACTION_ERRORS = (400, 404, 409)


def routes(handlers: Handlers) -> tuple[Route, ...]:
    """Every endpoint of ``/api/v1``: the resource serves these and nothing else."""
    h = handlers
    read, admin, public = Access.READ, Access.ADMIN, Access.PUBLIC
    kinds = tuple(kind.value for kind in DeviceKind)
    device_path = "/devices/{number}"
    return (
        Route(
            "GET", "/", public, h.index, "What this API is, and where its description is.", "Index"
        ),
        Route(
            "GET",
            "/openapi.json",
            public,
            h.openapi,
            "This OpenAPI 3.1 document.",
            "OpenApi",
        ),
        Route(
            "GET",
            "/exchange",
            read,
            h.exchange,
            "The exchange: LIMs, numbering, the outside network, devices per kind.",
            "ExchangeAnswer",
        ),
        Route(
            "GET",
            "/devices",
            read,
            h.devices,
            "Every device, in numbering-plan order.",
            "DeviceList",
            query=(
                Field("kind", "string", "Only devices of this kind.", choices=kinds),
                Field("state", "string", "Only devices in this state.", choices=STATE_NAMES),
            ),
            errors=(400,),
        ),
        Route(
            "GET",
            device_path,
            read,
            h.get_device,
            "One device (its internal or public number).",
            "DeviceAnswer",
            errors=(404,),
        ),
        Route("GET", "/calls", read, h.calls, "Every call in progress.", "CallList"),
        Route(
            "GET",
            "/calls/{id}",
            read,
            h.get_call,
            "One call in progress.",
            "CallAnswer",
            errors=(404,),
        ),
        Route("GET", "/groups", read, h.groups, "Every hunt, cascade and ACD group.", "GroupList"),
        Route(
            "GET",
            "/groups/{number}",
            read,
            h.get_group,
            "One group.",
            "GroupAnswer",
            errors=(404,),
        ),
        Route("GET", "/servers", read, h.servers, "The CSTA servers as they run.", "ServerList"),
        Route(
            "GET",
            "/associations",
            read,
            h.associations,
            "The connected CSTA clients (associations of the core).",
            "AssociationList",
        ),
        Route(
            "GET",
            "/sessions",
            read,
            h.sessions,
            "The ECMA-354 application sessions.",
            "SessionList",
        ),
        Route("GET", "/monitors", read, h.monitors, "The CSTA monitors.", "MonitorList"),
        Route("GET", "/time", read, h.time, "The simulated time.", "TimeAnswer"),
        Route(
            "GET",
            "/traffic",
            read,
            h.traffic,
            "The last traffic run started through the API, with its counters.",
            "TrafficAnswer",
            errors=(404,),
        ),
        # -- a person at a terminal
        Route(
            "POST",
            device_path + "/offhook",
            admin,
            h.offhook,
            "Lift the handset (dial tone: a call with the device initiated).",
            "DeviceAction",
            errors=DEVICE_ACTION_ERRORS,
        ),
        Route(
            "POST",
            device_path + "/dial",
            admin,
            h.dial,
            "Dial a number from the terminal (off-hook first if it is on-hook).",
            "DeviceAction",
            fields=(TO,),
            errors=DEVICE_ACTION_ERRORS,
            description="A number the exchange cannot route gives a call whose caller's "
            "connection is failed, as the handset would (not an error).",
        ),
        Route(
            "POST",
            device_path + "/answer",
            admin,
            h.answer,
            "Answer the call alerting at the terminal.",
            "DeviceAction",
            fields=(CALL,),
            errors=DEVICE_ACTION_ERRORS,
        ),
        Route(
            "POST",
            device_path + "/hangup",
            admin,
            h.hangup,
            "Hang up: clear the device's connection (the active call, else the held one).",
            "DeviceAction",
            fields=(CALL,),
            errors=DEVICE_ACTION_ERRORS,
        ),
        Route(
            "POST",
            device_path + "/hold",
            admin,
            h.hold,
            "Put the active call on hold.",
            "DeviceAction",
            fields=(CALL,),
            errors=DEVICE_ACTION_ERRORS,
        ),
        Route(
            "POST",
            device_path + "/retrieve",
            admin,
            h.retrieve,
            "Retrieve the held call.",
            "DeviceAction",
            fields=(CALL,),
            errors=DEVICE_ACTION_ERRORS,
        ),
        Route(
            "POST",
            device_path + "/reject",
            admin,
            h.reject,
            "Reject the call ringing at the phone (the caller hears busy tone: Failed busy; "
            "a call ringing at other phones too goes on there).",
            "DeviceAction",
            fields=(CALL,),
            errors=DEVICE_ACTION_ERRORS,
        ),
        Route(
            "POST",
            device_path + "/digits",
            admin,
            h.digits,
            "Press dial keys one at a time (off-hook first if on-hook): one DigitsDialed per "
            "digit; the call is routed as soon as the digits are a number.",
            "DeviceAction",
            fields=(
                Field("digits", "string", "Dial keys: 0-9, *, + and # (# ends dialling).", True),
            ),
            errors=DEVICE_ACTION_ERRORS,
            description="An outside number (after the trunk prefix) has no fixed length: it is "
            "routed 5 s after its last digit, or at once after #. Digits no number starts with "
            "fail the call at once (destNotObtainable), as the handset would (not an error).",
        ),
        Route(
            "POST",
            device_path + "/behaviour",
            admin,
            h.set_behaviour,
            "How the person at the phone reacts to a call ringing there.",
            "BehaviourAnswer",
            fields=(
                Field(
                    "behaviour",
                    "string",
                    "manual: only when told; answer: after 'after' s (then 'dtmf', hang up "
                    "after 'talk' s); noanswer; busy; reject: after 'after' s; dnd.",
                    True,
                    choices=tuple(r.value for r in Reaction),
                ),
                Field(
                    "after",
                    "number",
                    "Seconds of ringing before answering or rejecting.",
                    minimum=0,
                    maximum=MAX_TRAFFIC_SECONDS,
                ),
                Field(
                    "talk",
                    "number",
                    "Seconds of talk before hanging up (answer).",
                    minimum=0,
                    maximum=MAX_TRAFFIC_SECONDS,
                ),
                Field("dtmf", "string", "DTMF digits keyed once answered (answer)."),
            ),
            errors=DEVICE_ACTION_ERRORS,
        ),
        Route(
            "POST",
            device_path + "/busy",
            admin,
            h.busy,
            "Make the terminal busy for callers, or free again.",
            "DeviceAction",
            fields=(_on("True: busy; false: free."),),
            errors=DEVICE_ACTION_ERRORS,
        ),
        Route(
            "POST",
            device_path + "/mode",
            admin,
            h.mode,
            "How the terminal takes MakeCall: hands-free (originates at once) or manual "
            "(rings back first).",
            "DeviceAction",
            fields=(
                Field(
                    "mode",
                    "string",
                    "The terminal mode.",
                    True,
                    choices=tuple(m.value for m in TerminalMode),
                ),
            ),
            errors=DEVICE_ACTION_ERRORS,
        ),
        Route(
            "POST",
            device_path + "/dnd",
            admin,
            h.dnd,
            "Do not disturb on or off.",
            "DeviceAction",
            fields=(_on("True: do not disturb."),),
            errors=DEVICE_ACTION_ERRORS,
        ),
        Route(
            "POST",
            device_path + "/forwarding",
            admin,
            h.forwarding,
            "Switch one kind of forwarding on or off.",
            "DeviceAction",
            fields=(
                Field(
                    "type",
                    "string",
                    "The forwarding type.",
                    True,
                    choices=tuple(t.value for t in ForwardingType),
                ),
                _on("True: forward; false: stop forwarding."),
                Field("to", "string", "Where to (required to switch it on)."),
                Field(
                    "ring_count",
                    "integer",
                    "Rings before forwarding on no answer.",
                    minimum=1,
                    maximum=15,
                ),
            ),
            errors=DEVICE_ACTION_ERRORS,
        ),
        Route(
            "POST",
            device_path + "/agent",
            admin,
            h.agent,
            "An ACD agent at the device logs in, logs out, goes ready or not ready.",
            "DeviceAction",
            fields=(
                Field(
                    "action", "string", "What the agent does.", True, choices=tuple(_AGENT_ACTIONS)
                ),
                Field("agent", "string", "The agent ID (required to log in)."),
                Field("password", "string", "The agent's PIN, if it has one."),
                Field("group", "string", "The ACD group (default: the device's)."),
            ),
            errors=DEVICE_ACTION_ERRORS,
        ),
        Route(
            "POST",
            device_path + "/consult",
            admin,
            h.consult,
            "Consultation: hold the active call and call another number (the new call).",
            "DeviceAction",
            fields=(TO, CALL),
            errors=DEVICE_ACTION_ERRORS,
        ),
        Route(
            "POST",
            device_path + "/transfer",
            admin,
            h.transfer,
            "Transfer: join the held call's and the active call's other parties and leave.",
            "DeviceAction",
            fields=(
                Field("held", "string", "The held call (default: the device's held call)."),
                Field("active", "string", "The active call (default: the device's other call)."),
            ),
            errors=DEVICE_ACTION_ERRORS,
        ),
        Route(
            "POST",
            device_path + "/conference",
            admin,
            h.conference,
            "Conference: join the held call's and the active call's parties, the device stays.",
            "DeviceAction",
            fields=(
                Field("held", "string", "The held call (default: the device's held call)."),
                Field("active", "string", "The active call (default: the device's other call)."),
            ),
            errors=DEVICE_ACTION_ERRORS,
        ),
        Route(
            "POST",
            device_path + "/single-step-transfer",
            admin,
            h.single_step_transfer,
            "Single-step transfer: send the active call (a group's queued call) elsewhere.",
            "DeviceAction",
            fields=(TO, CALL),
            errors=DEVICE_ACTION_ERRORS,
        ),
        Route(
            "POST",
            device_path + "/park",
            admin,
            h.park,
            "Park the active call at the extension 'to' (Queued park; it rings the parker again "
            "after the exchange's park recall time unless picked up there).",
            "DeviceAction",
            fields=(Field("to", "string", "The extension to park the call at.", True), CALL),
            errors=DEVICE_ACTION_ERRORS,
        ),
        Route(
            "POST",
            device_path + "/pickup",
            admin,
            h.pickup,
            "Pick up, at this phone, the call ringing or parked at 'target', or without one the "
            "call that has rung longest in the phone's pick-up group (cause callPickup).",
            "DeviceAction",
            fields=(
                Field("target", "string", "The extension whose call to take (default: group)."),
            ),
            errors=DEVICE_ACTION_ERRORS,
        ),
        Route(
            "POST",
            device_path + "/deflect",
            admin,
            h.deflect,
            "Deflect the call alerting at the device (a group's queued call) elsewhere.",
            "DeviceAction",
            fields=(TO, CALL),
            errors=DEVICE_ACTION_ERRORS,
        ),
        Route(
            "POST",
            device_path + "/dtmf",
            admin,
            h.dtmf,
            "Send DTMF digits from the keypad in the connected call.",
            "DeviceAction",
            fields=(
                Field("digits", "string", "Digits: 0-9, *, #, A-D.", True),
                CALL,
            ),
            errors=DEVICE_ACTION_ERRORS,
        ),
        # -- outside callers
        Route(
            "POST",
            "/callers",
            admin,
            h.call_in,
            "An outside caller calls a number of the exchange.",
            "CallAction",
            fields=(
                Field("from", "string", "The caller's outside number (+digits).", True),
                TO,
                Field(
                    "withheld",
                    "boolean",
                    "The caller withholds its number: presented as restricted (CLIR).",
                ),
            ),
            errors=(400, 409),
        ),
        Route(
            "POST",
            "/callers/{number}/answer",
            admin,
            h.caller_answer,
            "The outside party answers the call alerting at it.",
            "CallAction",
            errors=(404, 409),
        ),
        Route(
            "POST",
            "/callers/{number}/hangup",
            admin,
            h.caller_hangup,
            "The outside party hangs up.",
            "CallAction",
            errors=(404, 409),
        ),
        Route(
            "POST",
            "/callers/{number}/dtmf",
            admin,
            h.caller_dtmf,
            "The outside party keys DTMF digits in its connected call (an IVR menu choice).",
            "CallAction",
            fields=(Field("digits", "string", "Digits: 0-9, *, #, A-D.", True),),
            errors=(400, 404, 409),
        ),
        # -- behaviour profiles
        Route(
            "GET",
            "/behaviours",
            read,
            h.behaviours,
            "The behaviour profile of every phone that has one (the others are manual).",
            "BehaviourList",
        ),
        # -- traffic and time
        Route(
            "POST",
            "/traffic",
            admin,
            h.start_traffic,
            "Start a traffic run: outside calls at a rate for a time.",
            "TrafficAnswer",
            fields=(
                Field(
                    "rate",
                    "number",
                    "Calls per second.",
                    True,
                    minimum=0,
                    maximum=MAX_TRAFFIC_RATE,
                    exclusive_minimum=True,
                ),
                Field(
                    "seconds",
                    "number",
                    "How long calls are placed.",
                    True,
                    minimum=0,
                    maximum=MAX_TRAFFIC_SECONDS,
                    exclusive_minimum=True,
                ),
                Field("to", "string", "Every call to this number (default: random terminals)."),
                Field("seed", "integer", "Seed of the run's random numbers (repeatable runs)."),
                *(
                    Field(name, "number", what, minimum=0, maximum=1)
                    for name, what in (
                        ("answer", "Share of calls the called person answers (default 1)."),
                        ("busy", "Share of calls the called person refuses as busy."),
                        ("no_answer", "Share of calls nobody answers (alerting time-out)."),
                        ("abandon", "Share of calls the caller gives up while they ring."),
                        ("withheld", "Share of callers withholding their number."),
                    )
                ),
                *(
                    Field(name, "number", what, minimum=0, maximum=MAX_TRAFFIC_SECONDS)
                    for name, what in (
                        ("ring_min", "Shortest ring before answering or abandoning (s)."),
                        ("ring_max", "Longest ring before answering or abandoning (s)."),
                        ("talk_min", "Shortest talk before the caller hangs up (s)."),
                        ("talk_max", "Longest talk before the caller hangs up (s)."),
                    )
                ),
                Field("dtmf", "string", "DTMF digits an answered caller keys."),
                Field("exclude", "string", "Numbers random calls never go to (1001,1002)."),
            ),
            errors=(400, 409),
        ),
        Route(
            "POST",
            "/time/advance",
            admin,
            h.advance,
            "Skip simulated time forward, running every time-out due on the way in order.",
            "AdvanceAnswer",
            fields=(
                Field(
                    "seconds",
                    "number",
                    "Seconds to skip.",
                    True,
                    minimum=0,
                    maximum=MAX_ADVANCE,
                ),
            ),
            errors=(400, 409),
        ),
        Route(
            "POST",
            "/reset",
            admin,
            h.reset,
            "Make the exchange quiet again between tests that share a server: traffic "
            "stopped, every call cleared, agents logged off, busy, do not disturb, message "
            "waiting, forwarding and terminal modes as built (exchange data, sessions and monitors stay).",
            "ResetAnswer",
        ),
    )
