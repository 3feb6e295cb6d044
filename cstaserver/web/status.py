"""The live status of the server as plain data (for ``GET /api/status``, the page, and the
JSON API's reads).

What an operator checks while a CTI application runs: the CSTA servers and their ports, the
connected clients (core associations) and ECMA-354 sessions, the monitors (ECMA-269 15),
the calls in progress with each connection's ECMA-269 6.1.5 state, and the ACD groups'
agents (ECMA-269 agent states) and queue lengths. Read-only: nothing here changes state.

The row builders (:func:`client_rows`, :func:`session_rows`, :func:`monitor_rows`,
:func:`call_row`, :func:`agent_rows`) are shared: the status snapshot caps each table at
``_LIMIT`` rows so the page stays light, the JSON API (:mod:`cstaserver.api`) asks for all
rows and adds what a test needs beside them.
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


def server_row(s: Any) -> dict[str, Any]:
    """One CSTA server's settings (CstaServerSettings): LIM, type, ports, authentication."""
    return {
        "lim": s.lim,
        "type": _value(s.server_type),
        "port": s.port,
        "tls_port": s.tls_port,
        "web_port": s.web_port,
        "authentication": _value(s.authentication),
    }


def _servers(servers: Any) -> list[dict[str, Any]]:
    return [server_row(s) for s in servers]


def client_rows(core: Any, limit: int | None = None) -> list[dict[str, Any]]:
    """The core's associations (connected clients), by ID: protocol profile, CSTA server,
    peer, ECMA-354 session, requests handled, events sent, monitors owned."""
    rows = []
    for a in sorted(core.associations, key=lambda a: a.id)[:limit]:
        rows.append(
            {
                "id": a.id,
                "profile": a.profile.name,
                "server": a.profile.server_id or None,
                "peer": a.peer,
                "session": a.session.session_id if a.session is not None else None,
                "requests": a.requests,
                "events": a.events_sent,
                "monitors": len(core.monitors.owned_by(a.owner)),
            }
        )
    return rows


def session_rows(core: Any, limit: int | None = None) -> list[dict[str, Any]]:
    """The ECMA-354 application sessions: application, user, duration, the peer of the
    association attached (None while detached), monitors owned."""
    rows = []
    for s in list(core.sessions.sessions.values())[:limit]:
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


def monitor_rows(core: Any, limit: int | None = None) -> list[dict[str, Any]]:
    """The monitors (ECMA-269 15): cross-reference ID, kind, device or call, owner, events."""
    rows = []
    for m in list(core.monitors)[:limit]:
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


def call_row(call: Any) -> dict[str, Any]:
    """One call: ID, calling and called device, and each connection's ECMA-269 6.1.5 state
    in joining order (none once the call has ended)."""
    return {
        "id": call.call_id,
        "calling": call.calling_device,
        "called": call.called_device,
        "connections": [
            {"device": c.device, "state": _value(c.state)} for c in call.connections.values()
        ],
    }


def _calls(switch: Any) -> list[dict[str, Any]]:
    return [call_row(call) for call in list(getattr(switch, "calls", {}).values())[:_LIMIT]]


def agent_rows(agents: Any) -> list[dict[str, Any]]:
    """ACD agents by agent ID: the device each is logged on at and its ECMA-269 state."""
    return [
        {"agent": a.agent_id, "device": a.device, "state": _value(a.state)}
        for a in sorted(agents, key=lambda a: a.agent_id)
    ]


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
                "agents": agent_rows(acd.agents.values()),
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
        "clients": client_rows(core, _LIMIT),
        "sessions": session_rows(core, _LIMIT),
        "monitors": monitor_rows(core, _LIMIT),
        "monitor_count": len(core.monitors),
        "calls": _calls(switch),
        "acd": _acd(switch),
    }
