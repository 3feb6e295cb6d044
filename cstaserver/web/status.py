"""The live status of the server as plain data (for ``GET /api/status`` and the page).

What an operator checks while a CTI application runs: the CSTA servers and their ports, the
connected clients (core associations) and ECMA-354 sessions, the monitors (ECMA-269 15),
the calls in progress with each connection's ECMA-269 6.1.5 state, and the ACD groups'
agents (ECMA-269 agent states) and queue lengths. Read-only: nothing here changes state.
"""

from __future__ import annotations

from typing import Any

import attrs

_LIMIT = 500  # rows per table: the page stays light under bulk traffic


@attrs.frozen
class StatusSources:
    """Where the status is read from: the core, the switch, the CSTA servers as run."""

    core: Any
    switch: Any
    servers: Any = ()  # CstaServerSettings list
    clock: Any = None


def _value(x: Any) -> Any:
    return getattr(x, "value", x)


def _servers(servers: Any) -> list[dict[str, Any]]:
    return [
        {
            "lim": s.lim,
            "type": _value(s.server_type),
            "port": s.port,
            "tls_port": s.tls_port,
            "web_port": s.web_port,
            "authentication": _value(s.authentication),
        }
        for s in servers
    ]


def _clients(core: Any) -> list[dict[str, Any]]:
    rows = []
    for a in sorted(core.associations, key=lambda a: a.id)[:_LIMIT]:
        rows.append(
            {
                "id": a.id,
                "profile": a.profile.name,
                "peer": a.peer,
                "session": a.session.session_id if a.session is not None else None,
                "requests": a.requests,
                "events": a.events_sent,
                "monitors": len(core.monitors.owned_by(a.owner)),
            }
        )
    return rows


def _sessions(core: Any) -> list[dict[str, Any]]:
    rows = []
    for s in list(core.sessions.sessions.values())[:_LIMIT]:
        rows.append(
            {
                "id": s.session_id,
                "application": s.application_id,
                "user": s.user,
                "duration": s.duration,
                "attached": s.association.peer if s.association is not None else None,
                "monitors": len(core.monitors.owned_by(s)),
            }
        )
    return rows


def _owner(owner: Any) -> str:
    session_id = getattr(owner, "session_id", None)
    if session_id is not None:
        return f"session {session_id}"
    return f"client {getattr(owner, 'id', '?')}"


def _monitors(core: Any) -> list[dict[str, Any]]:
    rows = []
    for m in list(core.monitors)[:_LIMIT]:
        rows.append(
            {
                "xref": m.cross_ref_id,
                "kind": m.kind,
                "object": m.device if m.device is not None else m.call_id,
                "owner": _owner(m.owner),
                "events": m.delivered,
            }
        )
    return rows


def _calls(switch: Any) -> list[dict[str, Any]]:
    rows = []
    for call_id, call in list(getattr(switch, "calls", {}).items())[:_LIMIT]:
        try:
            connections = switch.snapshot_call(call_id)
        except Exception:
            continue  # ended between the two reads
        rows.append(
            {
                "id": call_id,
                "calling": call.calling_device,
                "called": call.called_device,
                "connections": [{"device": d, "state": _value(s)} for d, s in connections],
            }
        )
    return rows


def _acd(switch: Any) -> list[dict[str, Any]]:
    groups = getattr(getattr(switch, "groups", None), "acd", {})
    rows = []
    for number, acd in groups.items():
        rows.append(
            {
                "group": number,
                "routing": _value(acd.plan.routing),
                "queued": len(acd.queue),
                "queue_limit": acd.plan.queue_limit,
                "agents": [
                    {"agent": a.agent_id, "device": a.device, "state": _value(a.state)}
                    for a in sorted(acd.agents.values(), key=lambda a: a.agent_id)
                ],
            }
        )
    return rows


def status_snapshot(sources: StatusSources) -> dict[str, Any]:
    """Everything the status page shows, JSON-ready."""
    core, switch = sources.core, sources.switch
    return {
        "time": sources.clock.seconds() if sources.clock is not None else None,
        "system_status": getattr(core, "system_status", "normal"),
        "servers": _servers(sources.servers),
        "clients": _clients(core),
        "sessions": _sessions(core),
        "monitors": _monitors(core),
        "monitor_count": len(core.monitors),
        "calls": _calls(switch),
        "acd": _acd(switch),
    }
