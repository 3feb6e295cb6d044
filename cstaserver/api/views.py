"""The JSON shapes of the API (docs/api.md, "JSON shapes"; the OpenAPI document's schemas).

Plain data built from the switching model and the core at the moment of the request: devices
(ECMA-269 6.1.2) with a state derived from their connections (ECMA-269 6.1.5), calls with
their connections and call data (ECMA-269 12.3.x), groups with their settings, queue and
agents (ECMA-269 agent states), the CSTA servers as they run, and the core's associations,
ECMA-354 sessions and monitors (the status page's rows, :mod:`cstaserver.web.status`, whole).
Enumerations are written by the switch's values (``alerting``, ``agentReady``,
``forwardImmediate``); nothing here changes state.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from lxml import etree

from cstaserver.pbx.devices import DeviceInfo
from cstaserver.pbx.plan import DeviceKind
from cstaserver.pbx.states import ConnectionState
from cstaserver.web.status import agent_rows, call_row, server_row

#: A device's state: its connections' states, the first of this order that it has.
DEVICE_STATES: tuple[tuple[ConnectionState, str], ...] = (
    (ConnectionState.CONNECTED, "busy"),
    (ConnectionState.INITIATED, "dialling"),
    (ConnectionState.FAIL, "failed"),
    (ConnectionState.ALERTING, "ringing"),
    (ConnectionState.QUEUED, "queued"),
    (ConnectionState.HOLD, "held"),
)
STATE_NAMES = ("idle", *(name for _, name in DEVICE_STATES))


def _value(x: Any) -> Any:
    return getattr(x, "value", x)


def device_state(info: DeviceInfo) -> str:
    """``idle`` without connections, else (first that applies): ``busy`` (a connected call),
    ``dialling`` (off-hook, initiated), ``failed``, ``ringing`` (alerting), ``queued`` (a
    group's waiting call), ``held`` (only calls on hold)."""
    states = {conn.state for conn in info.connections.values()}
    for state, name in DEVICE_STATES:
        if state in states:
            return name
    return "idle"


def agent_json(agent: Any) -> dict[str, Any] | None:
    if agent is None:
        return None
    return {"id": agent.agent_id, "group": agent.group, "state": _value(agent.state)}


def forwarding_json(info: DeviceInfo) -> list[dict[str, Any]]:
    return [
        {
            "type": _value(entry.forwarding_type),
            "active": entry.active,
            "to": entry.forward_to,
            "ring_count": entry.ring_count,
        }
        for entry in (info.forwarding or {}).values()
    ]


def device_json(switch: Any, info: DeviceInfo) -> dict[str, Any]:
    """One device: what the plan says of it and its runtime state."""
    return {
        "number": info.number,
        "public_number": switch.public_numbering.to_public(info.number)
        if info.is_extension
        else None,
        "kind": _value(info.kind),
        "lim": info.lim,
        "name": info.name,
        "dn_type": _value(info.dn_type),
        "terminal": info.terminal,
        "state": device_state(info),
        "connections": [
            {"call": call_id, "state": _value(conn.state), "phone": conn.terminal}
            for call_id, conn in info.connections.items()
        ],
        "agent": agent_json(info.agent),
        "forwarding": forwarding_json(info),
        "dnd": info.dnd,
        "busy": info.busy,
        "mode": _value(info.mode) if info.is_extension else None,
        "members": list(info.members),
        "call_waiting": info.call_waiting,
        "message_waiting": info.message_waiting,
        "phones": list(info.terminals),
    }


def user_data_json(value: object | None) -> str | None:
    """Call user data as text: an element (what the CSTA layer stores) as XML, octets as
    hexadecimal, anything else as its string."""
    if value is None:
        return None
    if isinstance(value, etree._Element):
        return etree.tostring(value, encoding="unicode")
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex()
    return str(value)


def call_json(call: Any) -> dict[str, Any]:
    """One call: the status page's row (ID, calling, called, connections) and the rest."""
    row = call_row(call)
    data = call.data
    row.update(
        {
            "ended": bool(call.ended),
            "group": call.group,
            "last_redirection": call.last_redirection_device,
            "delivery_cause": _value(call.delivery_cause),
            "data": {
                "correlator_data": data.correlator_data,
                "user_data": user_data_json(data.user_data),
                "network_called_device": data.network_called_device,
                "associated_calling_device": data.associated_calling_device,
                "associated_called_device": data.associated_called_device,
            },
        }
    )
    return row


def _group_settings(switch: Any, info: DeviceInfo) -> tuple[str, dict[str, Any], Any]:
    """(routing, settings, ACD runtime or None) of a group, from the settings in force."""
    groups = switch.groups
    if info.kind is DeviceKind.ACD_GROUP:
        acd = groups.acd[info.number]
        plan = acd.plan
        return (
            _value(plan.routing),
            {
                "agent_ids": list(plan.agent_ids),
                "agent_devices": list(plan.agent_devices),
                "wrap_up_seconds": plan.wrap_up_seconds,
                "ring_seconds": plan.ring_seconds,
                "queue_limit": plan.queue_limit,
                "queue_seconds": plan.queue_seconds,
                "diverted_position": plan.diverted_position,
                "route_seconds": plan.route_seconds,
                "on_route_timeout": _value(plan.on_route_timeout),
            },
            acd,
        )
    if info.kind is DeviceKind.HUNT_GROUP:
        hunt = groups.hunt[info.number]
        return (
            "switch",
            {"strategy": _value(hunt.strategy), "diverted_position": hunt.diverted_position},
            None,
        )
    cascade = groups.cascade[info.number]
    return (
        "switch",
        {"step_seconds": cascade.step_seconds, "diverted_position": cascade.diverted_position},
        None,
    )


def group_json(switch: Any, info: DeviceInfo) -> dict[str, Any]:
    """One hunt, cascade or ACD group: who routes its calls, its settings (agent PINs are
    never shown), its queue (call IDs, first first) and its agents."""
    routing, settings, acd = _group_settings(switch, info)
    return {
        "number": info.number,
        "kind": _value(info.kind),
        "lim": info.lim,
        "name": info.name,
        "members": list(info.members),
        "routing": routing,
        "settings": settings,
        "queue": [call.call_id for call in acd.queue] if acd is not None else [],
        "agents": [
            {"id": row["agent"], "device": row["device"], "state": row["state"]}
            for row in agent_rows(acd.agents.values())
        ]
        if acd is not None
        else [],
    }


def server_json(run: Any) -> dict[str, Any]:
    """One CSTA server as it runs: its settings, the ports bound now, its TLS listener."""
    row = server_row(run.settings)
    row.update(
        {
            "system_status_on_connect": getattr(run.settings, "system_status_on_connect", None),
            "bound": {field: port for field, port in run.ports},
            "tls": run.tls,
        }
    )
    return row


def exchange_json(switch: Any, exchange: Any) -> dict[str, Any]:
    """The exchange: LIMs, numbering, the outside network, and how many devices of each kind."""
    plan = exchange.plan
    counts = Counter(_value(info.kind) for info in switch.devices())
    network = plan.network
    return {
        "lims": [{"number": lim.number, "name": lim.name} for lim in plan.lims],
        "devices": dict(sorted(counts.items())),
        "groups": [info.number for info in switch.devices() if info.is_group],
        "public_numbering": {
            "prefix": plan.public_numbering.public_prefix,
            "internal_length": plan.public_numbering.internal_length,
        },
        "network": {
            "trunk_prefix": network.trunk_prefix,
            "trunk_device": network.trunk_device,
            "caller_prefix": network.caller_prefix,
            "min_digits": network.min_digits,
            "busy_suffix": network.busy_suffix,
            "no_answer_suffix": network.no_answer_suffix,
            "answer_delay": network.answer_delay,
        },
        "alerting_timeout": plan.alerting_timeout,
        "csta_servers": len(exchange.csta_servers),
    }


def traffic_json(run: Any) -> dict[str, Any]:
    """A traffic run's settings and live counters."""
    return {
        "rate": run.rate,
        "seconds": run.seconds,
        "to": run.to,
        "seed": run.seed,
        "offered": run.offered,
        "answered": run.answered,
        "failed": run.failed,
        "rejected": run.rejected,
        "abandoned": run.abandoned,
        "unanswered": run.unanswered,
        "withheld": run.withheld,
        "cleared": run.cleared,
        "in_progress": run.in_progress,
        "finished": run.finished,
        "reasons": dict(sorted(run.reasons.items())),
        "profile": run.profile.as_json(),
    }


def time_json(clock: Any) -> dict[str, Any]:
    """The simulated time: now (seconds since the epoch), skipped so far, the delayed calls
    waiting and when the next falls due (seconds from now, None without one)."""
    return {
        "now": clock.seconds(),
        "skipped": clock.skipped,
        "pending": clock.pending(),
        "next_due": clock.next_due(),
    }
