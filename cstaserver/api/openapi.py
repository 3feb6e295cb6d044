"""The OpenAPI 3.1 document of ``/api/v1`` (``GET /api/v1/openapi.json``, docs/api.md).

The paths are written from the route table (:func:`cstaserver.api.handlers.routes`: method,
path parameters, query and body fields with their types, ranges and choices, the errors each
route answers), so every route served is described and nothing else is; the response shapes
are the schemas below, one per shape of :mod:`cstaserver.api.views` (JSON Schema 2020-12, as
OpenAPI 3.1 uses it). The tests validate the document and every answer against them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cstaserver.api.auth import Access
from cstaserver.api.routes import Field, Route
from cstaserver.api.views import STATE_NAMES
from cstaserver.pbx.behaviour import Reaction
from cstaserver.pbx.plan import DeviceKind, DirectoryNumberType
from cstaserver.pbx.states import AgentState, ConnectionState, ForwardingType, TerminalMode

VERSION = "1.0.0"

_PARAMETERS = {
    ("devices", "number"): "A device: its internal number (1001) or public number (+4685551001).",
    ("groups", "number"): "A group's number.",
    ("calls", "id"): "A call ID.",
    ("callers", "number"): "An outside number (+ and digits).",
}

_ERRORS = {
    400: "Malformed JSON, a missing, unknown or bad field, or a value out of range.",
    401: "No or wrong credentials (HTTP Basic).",
    403: "A web account asked for an action: actions need an admin account.",
    404: "No such route, device, call, group, outside caller or traffic run.",
    409: "The switch refuses the request in the present state (its reason in the message); "
    "nothing changed.",
    413: "The request body is too large.",
    415: "The request body is not JSON (Content-Type application/json).",
    429: "Too many failed logins from this address or for this account; try again later "
    "(Retry-After).",
    503: "Every password check was taken: try again (not counted as a failed login).",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    result = dict(schema)
    result["type"] = [schema["type"], "null"]
    if "enum" in result:
        result["enum"] = [*result["enum"], None]
    return result


def _object(properties: dict[str, Any], description: str = "") -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }
    if description:
        schema["description"] = description
    return schema


def _list(key: str, item: str) -> dict[str, Any]:
    return _object({key: {"type": "array", "items": _ref(item)}})


def _enum(values: Iterable[Any]) -> dict[str, Any]:
    return {"type": "string", "enum": [getattr(v, "value", v) for v in values]}


STRING = {"type": "string"}
INTEGER = {"type": "integer"}
NUMBER = {"type": "number"}
BOOLEAN = {"type": "boolean"}
CONNECTION_STATE = _enum(ConnectionState)


def schemas() -> dict[str, Any]:
    """The response shapes (see the module docstring)."""
    agent_state = _enum(AgentState)
    device = _object(
        {
            "number": STRING,
            "public_number": _nullable(STRING),
            "kind": _enum(DeviceKind),
            "lim": INTEGER,
            "name": STRING,
            "dn_type": _enum(DirectoryNumberType),
            "terminal": BOOLEAN,
            "state": {
                **_enum(STATE_NAMES),
                "description": "Derived from the connections: idle; else the first of busy "
                "(connected), dialling (initiated), failed, ringing (alerting), queued, held.",
            },
            "connections": {
                "type": "array",
                "items": _object(
                    {
                        "call": STRING,
                        "state": CONNECTION_STATE,
                        "phone": {
                            **_nullable(STRING),
                            "description": "An EDN/ADN line: the phone that answered or "
                            "made the call (docs/devices.md); null: the device's own.",
                        },
                    }
                ),
            },
            "agent": _nullable(_ref("Agent")),
            "forwarding": {
                "type": "array",
                "items": _object(
                    {
                        "type": _enum(ForwardingType),
                        "active": BOOLEAN,
                        "to": _nullable(STRING),
                        "ring_count": _nullable(INTEGER),
                    }
                ),
            },
            "dnd": BOOLEAN,
            "busy": {**BOOLEAN, "description": "Made busy for callers (the busy action)."},
            "mode": _nullable(_enum(TerminalMode)),
            "members": {"type": "array", "items": STRING},
            "call_waiting": {
                **BOOLEAN,
                "description": "A call to the device while it is in a call waits (call features).",
            },
            "message_waiting": {
                **BOOLEAN,
                "description": "The message waiting indicator (SetMessageWaitingIndicator).",
            },
            "phones": {
                "type": "array",
                "items": STRING,
                "description": "An EDN or ADN: the ODN extensions whose phones carry it.",
            },
        },
        "A device of the exchange and its state now.",
    )
    call_data = _object(
        {
            "correlator_data": _nullable(STRING),
            "user_data": _nullable(STRING),
            "network_called_device": _nullable(STRING),
            "associated_calling_device": _nullable(STRING),
            "associated_called_device": _nullable(STRING),
        },
        "ECMA-269 call data (user data as XML text or hexadecimal octets).",
    )
    call = _object(
        {
            "id": STRING,
            "calling": _nullable(STRING),
            "called": _nullable(STRING),
            "connections": {
                "type": "array",
                "items": _object({"device": STRING, "state": CONNECTION_STATE}),
            },
            "ended": BOOLEAN,
            "group": _nullable(STRING),
            "last_redirection": _nullable(STRING),
            "delivery_cause": _nullable(STRING),
            "data": _nullable(_ref("CallData")),
        },
        "A call and its connections (none once it has ended).",
    )
    group = _object(
        {
            "number": STRING,
            "kind": _enum([DeviceKind.ACD_GROUP, DeviceKind.HUNT_GROUP, DeviceKind.CASCADE_GROUP]),
            "lim": INTEGER,
            "name": STRING,
            "members": {"type": "array", "items": STRING},
            "routing": _enum(["switch", "application"]),
            "settings": {
                "type": "object",
                "description": "ACD: agent_ids, agent_devices, wrap_up_seconds, ring_seconds, "
                "queue_limit, queue_seconds, diverted_position, route_seconds, "
                "on_route_timeout; hunt: strategy, diverted_position; cascade: step_seconds, "
                "diverted_position.",
            },
            "queue": {"type": "array", "items": STRING, "description": "Call IDs, first first."},
            "agents": {
                "type": "array",
                "items": _object({"id": STRING, "device": STRING, "state": agent_state}),
            },
        },
        "A hunt, cascade or ACD group.",
    )
    server = _object(
        {
            "lim": INTEGER,
            "type": _enum(["xml", "tr87"]),
            "port": _nullable(INTEGER),
            "tls_port": _nullable(INTEGER),
            "web_port": _nullable(INTEGER),
            "authentication": _enum(["off", "optional", "mandatory"]),
            "system_status_on_connect": _nullable(BOOLEAN),
            "bound": {
                "type": "object",
                "additionalProperties": INTEGER,
                "description": "The ports bound now, by settings field (port, tls_port, web_port).",
            },
            "tls": STRING,
        },
        "A CSTA server as it runs.",
    )
    association = _object(
        {
            "id": INTEGER,
            "profile": STRING,
            "server": _nullable(STRING),
            "peer": STRING,
            "session": _nullable(STRING),
            "requests": INTEGER,
            "events": INTEGER,
            "monitors": INTEGER,
        },
        "A connected CSTA client.",
    )
    session = _object(
        {
            "id": STRING,
            "application": STRING,
            "user": _nullable(STRING),
            "duration": INTEGER,
            "attached": _nullable(STRING),
            "monitors": INTEGER,
        },
        "An ECMA-354 application session.",
    )
    monitor = _object(
        {
            "xref": STRING,
            "kind": _enum(["device", "call"]),
            "object": STRING,
            "owner": STRING,
            "events": INTEGER,
        },
        "A CSTA monitor.",
    )
    exchange = _object(
        {
            "lims": {"type": "array", "items": _object({"number": INTEGER, "name": STRING})},
            "devices": {
                "type": "object",
                "additionalProperties": INTEGER,
                "description": "How many devices of each kind.",
            },
            "groups": {"type": "array", "items": STRING},
            "public_numbering": _object({"prefix": STRING, "internal_length": INTEGER}),
            "network": _object(
                {
                    "trunk_prefix": STRING,
                    "trunk_device": STRING,
                    "caller_prefix": STRING,
                    "min_digits": INTEGER,
                    "busy_suffix": STRING,
                    "no_answer_suffix": STRING,
                    "answer_delay": NUMBER,
                }
            ),
            "alerting_timeout": NUMBER,
            "csta_servers": INTEGER,
        },
        "The exchange.",
    )
    time = _object(
        {
            "now": {**NUMBER, "description": "Simulated time, seconds since the epoch."},
            "skipped": {**NUMBER, "description": "Seconds skipped so far."},
            "pending": {**INTEGER, "description": "Time-outs waiting."},
            "next_due": {
                **_nullable(NUMBER),
                "description": "Seconds until the next time-out, or null without one.",
            },
        },
        "The simulated time of the switch, the simulator and the CSTA core.",
    )
    traffic = _object(
        {
            "rate": NUMBER,
            "seconds": NUMBER,
            "to": _nullable(STRING),
            "seed": _nullable(INTEGER),
            "offered": INTEGER,
            "answered": INTEGER,
            "failed": {**INTEGER, "description": "Failed calls (busy, do not disturb, ...)."},
            "rejected": {**INTEGER, "description": "Calls the exchange refused to place."},
            "abandoned": {**INTEGER, "description": "Callers who gave up while it rang."},
            "unanswered": {**INTEGER, "description": "Calls that rang until the time-out."},
            "withheld": {**INTEGER, "description": "Calls whose caller withheld its number."},
            "cleared": INTEGER,
            "in_progress": INTEGER,
            "finished": BOOLEAN,
            "reasons": {
                "type": "object",
                "additionalProperties": INTEGER,
                "description": "Why calls failed or were refused (a cause or the exchange's "
                "reason) -> how many.",
            },
            "profile": _ref("TrafficProfile"),
        },
        "A traffic run and its live counters.",
    )
    traffic_profile = _object(
        {
            "answer": NUMBER,
            "busy": NUMBER,
            "no_answer": NUMBER,
            "abandon": NUMBER,
            "ring": {"type": "array", "items": NUMBER, "minItems": 2, "maxItems": 2},
            "talk": {"type": "array", "items": NUMBER, "minItems": 2, "maxItems": 2},
            "withheld": NUMBER,
            "dtmf": _nullable(STRING),
            "exclude": {"type": "array", "items": STRING},
        },
        "What the people of a traffic run do: outcome weights, ring and talk ranges (s).",
    )
    behaviour = _object(
        {
            "device": STRING,
            "behaviour": _enum(Reaction),
            "after": NUMBER,
            "talk": _nullable(NUMBER),
            "dtmf": _nullable(STRING),
        },
        "How the person at a phone reacts to a call ringing there.",
    )
    return {
        "Error": _object(
            {"error": _object({"code": STRING, "message": STRING})},
            "Every refusal: a stable code and a message.",
        ),
        "Index": _object({"name": STRING, "version": STRING, "openapi": STRING}),
        "OpenApi": {"type": "object", "description": "This document."},
        "Agent": _object({"id": STRING, "group": STRING, "state": agent_state}),
        "Device": device,
        "CallData": call_data,
        "Call": call,
        "Group": group,
        "Server": server,
        "Association": association,
        "Session": session,
        "Monitor": monitor,
        "Exchange": exchange,
        "Time": time,
        "Traffic": traffic,
        "TrafficProfile": traffic_profile,
        "Behaviour": behaviour,
        "BehaviourList": _list("behaviours", "Behaviour"),
        "BehaviourAnswer": _object({"behaviour": _ref("Behaviour")}),
        "ExchangeAnswer": _object({"exchange": _ref("Exchange")}),
        "DeviceList": _list("devices", "Device"),
        "DeviceAnswer": _object({"device": _ref("Device")}),
        "CallList": _list("calls", "Call"),
        "CallAnswer": _object({"call": _ref("Call")}),
        "GroupList": _list("groups", "Group"),
        "GroupAnswer": _object({"group": _ref("Group")}),
        "ServerList": _list("servers", "Server"),
        "AssociationList": _list("associations", "Association"),
        "SessionList": _list("sessions", "Session"),
        "MonitorList": _list("monitors", "Monitor"),
        "TimeAnswer": _object({"time": _ref("Time")}),
        "TrafficAnswer": _object({"traffic": _ref("Traffic")}),
        "DeviceAction": _object(
            {"call": _nullable(_ref("Call")), "device": _ref("Device")},
            "The device acted at and the call acted on, as they are afterwards (call null "
            "for an action on no call).",
        ),
        "CallAction": _object({"call": _ref("Call")}, "The call, as it is afterwards."),
        "ResetAnswer": _object(
            {"cleared": {**INTEGER, "description": "Calls cleared."}},
            "The exchange is quiet again: traffic stopped, calls cleared, agents logged off, "
            "busy, do not disturb, message waiting, forwarding and terminal modes as built.",
        ),
        "AdvanceAnswer": _object(
            {"time": _ref("Time"), "ran": {**INTEGER, "description": "Time-outs that ran."}}
        ),
    }


def _field_schema(field: Field) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": field.type, "description": field.description}
    if field.type == "string" and not field.choices:
        schema["minLength"] = 1
    if field.choices:
        schema["enum"] = list(field.choices)
    if field.minimum is not None:
        schema["exclusiveMinimum" if field.exclusive_minimum else "minimum"] = field.minimum
    if field.maximum is not None:
        schema["maximum"] = field.maximum
    return schema


def _operation_id(route: Route) -> str:
    words = [route.method.lower()]
    for segment in route.segments:
        words.append(segment.strip("{}").replace("-", "_").replace(".", "_"))
    return "_".join(words) if len(words) > 1 else f"{words[0]}_index"


def _operation(route: Route) -> dict[str, Any]:
    segments = route.segments
    parameters = []
    for index, segment in enumerate(segments):
        if segment.startswith("{"):
            name = segment[1:-1]
            parameters.append(
                {
                    "name": name,
                    "in": "path",
                    "required": True,
                    "description": _PARAMETERS[(segments[index - 1], name)],
                    "schema": {"type": "string", "minLength": 1},
                }
            )
    for field in route.query:
        parameters.append(
            {
                "name": field.name,
                "in": "query",
                "required": field.required,
                "description": field.description,
                "schema": _field_schema(field),
            }
        )
    answer = {
        "description": route.summary,
        "content": {"application/json": {"schema": _ref(route.response)}},
    }
    statuses = set(route.errors)
    if route.access is not Access.PUBLIC:
        statuses |= {401, 429, 503}
    if route.access is Access.ADMIN:
        statuses |= {400, 403, 413, 415}
    operation: dict[str, Any] = {
        "operationId": _operation_id(route),
        "summary": route.summary,
        "tags": [route.segments[0] if route.segments else "api"],
        "responses": {
            "200": answer,
            **{
                str(status): {"$ref": f"#/components/responses/Status{status}"}
                for status in sorted(statuses)
            },
        },
    }
    if route.description:
        operation["description"] = route.description
    if parameters:
        operation["parameters"] = parameters
    if route.access is Access.PUBLIC:
        operation["security"] = []
    elif route.access is Access.ADMIN:
        operation["description"] = (
            operation.get("description", "") + " Needs an admin account."
        ).strip()
    if route.method == "POST":
        operation["requestBody"] = {
            "required": any(field.required for field in route.fields),
            "description": "A JSON object; an empty body is {}.",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {field.name: _field_schema(field) for field in route.fields},
                        "required": [field.name for field in route.fields if field.required],
                        "additionalProperties": False,
                    }
                }
            },
        }
    return operation


def openapi_document(table: Iterable[Route]) -> dict[str, Any]:
    """The whole document for the routes of ``table``."""
    paths: dict[str, dict[str, Any]] = {}
    for route in table:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "cstaserver JSON API",
            "version": VERSION,
            "description": "Read the simulated MX-ONE exchange and the CSTA server, and drive "
            "its simulated terminals, outside callers, traffic and time from test code. Reads "
            "take any web account, actions an admin account (HTTP Basic).",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"basic": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"basic": {"type": "http", "scheme": "basic"}},
            "schemas": schemas(),
            "responses": {
                f"Status{status}": {
                    "description": text,
                    "content": {"application/json": {"schema": _ref("Error")}},
                }
                for status, text in _ERRORS.items()
            },
        },
    }
