"""What ``csta -p [--monitors] [--sessions]`` prints (docs/admin.md; "print CSTA server
related information" in the MX-ONE operational directions "CSTA Server (Phase III)": server
status and monitored devices).

:class:`StatusView` is the data (built by the running server, or from the data directory when
it does not run); :func:`format_status` the text: aligned tables with a header line each, one
line per server, client, monitored device, session; ``-`` for "none". Never a password.
"""

from __future__ import annotations

import attrs

from cstaserver.admin.output import table
from cstaserver.certificates import CertificateError, CertificateStore
from cstaserver.config import CstaServerSettings, ExchangeData, ServerType


@attrs.frozen
class ServerState:
    """One CSTA server as it runs: ``ports`` are the bound ports by settings field
    (``port``, ``tls_port``, ``web_port``)."""

    settings: CstaServerSettings
    listening: bool
    ports: tuple[tuple[str, int], ...] = ()
    tls: str = "-"
    clients: int = 0
    sessions: int = 0

    def port(self, field: str, stored: int | None) -> str:
        for name, port in self.ports:
            if name == field:
                return str(port)
        return "-" if stored is None else str(stored)


@attrs.frozen
class ClientRow:
    server: str  # "LIM 1 xml"
    protocol: str  # xml, tls, soap, tr87
    peer: str
    session: str | None
    monitors: int
    requests: int
    events: int


@attrs.frozen
class MonitorRow:
    device: str
    cross_ref_id: str
    client: str
    server: str
    session: str | None
    monitor_type: str = "device"  # ECMA-269 MonitorType: device or call


@attrs.frozen
class SessionRow:
    session_id: str
    application: str
    user: str | None
    client: str
    server: str
    duration: int
    monitors: int


@attrs.frozen
class StatusView:
    running: bool
    servers: tuple[ServerState, ...]
    clients: tuple[ClientRow, ...] = ()
    monitors: tuple[MonitorRow, ...] = ()
    sessions: tuple[SessionRow, ...] = ()
    #: the exchange process of a cluster: a row per front end (node, listening, clients,
    #: last heartbeat); None when the server is not a cluster's exchange
    fronts: tuple[tuple[str, ...], ...] | None = None


def server_id(server: CstaServerSettings) -> str:
    """How a listener's Profile names its CSTA server (``Profile.server_id``)."""
    return f"LIM {server.lim} {server.server_type.value}"


def certificate_state(store: CertificateStore) -> str:
    if not store.exists():
        return "no certificate installed (mxone_certificate)"
    try:
        info = store.load().info()
    except CertificateError as e:
        return f"certificate unusable: {e}"
    return f"certificate {info.fingerprint[:23]}, valid until {info.not_after:%Y-%m-%d}"


def offline_status(data: ExchangeData, store: CertificateStore) -> StatusView:
    """The stored servers of a server that does not run."""
    certificate = certificate_state(store)
    servers = []
    for server in data.csta_servers:
        tls = "-"
        if server.server_type is ServerType.XML and server.tls_port is not None:
            tls = f"not running: {certificate}"
        servers.append(ServerState(settings=server, listening=False, tls=tls))
    return StatusView(running=False, servers=tuple(servers))


def server_settings(server: CstaServerSettings) -> list[tuple[str, str]]:
    """(name, value) of the settings of a CSTA server beyond ports and authentication, as
    ``csta -i`` names them (docs/admin.md); the TR/87 ones only for a TR/87 server."""

    def yes(value: bool) -> str:
        return "yes" if value else "no"

    result = [("system status on connect", yes(server.system_status_on_connect))]
    if server.server_type is ServerType.TR87:
        expires = server.session_expires
        result += [
            ("line replacement", server.line_replacement.value),
            ("out-of-dialog INFO", yes(server.out_of_dialog_info)),
            ("Session-Expires", "none" if expires is None else f"{expires} s"),
        ]
    return result


def format_status(view: StatusView, *, monitors: bool = False, sessions: bool = False) -> str:
    state = "running" if view.running else "not running (stored settings)"
    parts = [f"CSTA server: {state}\n\n"]
    rows = []
    for s in view.servers:
        cfg = s.settings
        rows.append(
            (
                cfg.lim,
                cfg.server_type.value,
                s.port("port", cfg.port),
                s.port("tls_port", cfg.tls_port),
                s.port("web_port", cfg.web_port),
                cfg.authentication.value,
                "yes" if s.listening else "no",
                s.clients,
                s.sessions,
                s.tls,
            )
        )
    headers = ("LIM", "TYPE", "PORT", "TLS-PORT", "WEB-PORT", "AUTHENTICATION", "LISTENING")
    parts.append(table((*headers, "CLIENTS", "SESSIONS", "TLS"), rows))
    if view.servers:
        parts.append("\nSettings (csta -i)\n")
        parts.append(
            table(
                ("LIM", "TYPE", "SETTING", "VALUE"),
                [
                    (s.settings.lim, s.settings.server_type.value, name, value)
                    for s in view.servers
                    for name, value in server_settings(s.settings)
                ],
            )
        )
    if view.running:
        parts.append("\nClients\n")
        parts.append(
            table(
                ("SERVER", "PROTOCOL", "PEER", "SESSION", "MONITORS", "REQUESTS", "EVENTS"),
                (
                    (c.server, c.protocol, c.peer, c.session, c.monitors, c.requests, c.events)
                    for c in view.clients
                ),
            )
        )
    if view.fronts is not None:
        parts.append("\nFront ends (cluster: they run the CSTA servers above)\n")
        parts.append(table(("NODE", "LISTENING", "CLIENTS", "LAST HEARTBEAT"), view.fronts))
    if monitors:
        parts.append("\nMonitored devices\n")
        parts.append(
            table(
                ("DEVICE", "CROSSREFID", "CLIENT", "SERVER", "SESSION", "TYPE"),
                (
                    (m.device, m.cross_ref_id, m.client, m.server, m.session, m.monitor_type)
                    for m in view.monitors
                ),
            )
        )
    if sessions:
        parts.append("\nApplication sessions\n")
        parts.append(
            table(
                ("SESSION", "APPLICATION", "USER", "CLIENT", "SERVER", "DURATION", "MONITORS"),
                (
                    (
                        s.session_id,
                        s.application,
                        s.user,
                        s.client,
                        s.server,
                        s.duration,
                        s.monitors,
                    )
                    for s in view.sessions
                ),
            )
        )
    return "".join(parts)
