"""The exchange data model (configuration is data: saved atomically, a restart loses nothing).

Everything the simulated MX-ONE stores between runs, as attrs classes:

- the numbering plan: :class:`cstaserver.pbx.plan.ExchangePlan` (reused, not copied);
- the CSTA server settings per LIM that ``csta -i`` writes (docs/admin.md);
- the ECMA-354 application-session authentication criteria that ``csta_authentication -i``
  writes, with passwords only as salted scrypt hashes (:mod:`cstaserver.config.passwords`);
- the web-service accounts (the "accounts file" of docs/soap.md) and the admin-shell
  accounts (docs/admin.md);
- the configurable limits (docs/protocol-notes.md L1).

All LIMs of the simulation share one host, so every CSTA server serves the devices of the
whole exchange and the ports of all CSTA servers must differ; a server's ``lim`` says on
which LIM it is "installed" (Figure 2 of the MX-ONE operational directions "CSTA Server
(Phase III)"), as ``csta -p`` prints it.
"""

from __future__ import annotations

import enum

import attrs

from cstaserver.pbx.plan import ExchangePlan

#: The shortest and longest TR/87 Session-Expires (RFC 4028: at least 90 s; ours 120 s, as
#: the SIP layer's Min-SE allows a client to ask for less than it grants).
MIN_SESSION_EXPIRES = 120
MAX_SESSION_EXPIRES = 86400

#: The version of the JSON layout this code reads and writes (``exchange.json``).
SCHEMA_VERSION = 1


class ConfigError(Exception):
    """Exchange data that cannot be used. ``str()`` is ``"<filename>: <problem>"``.

    ``filename`` is the short name (``exchange.json``); ``path`` the full path when known.
    """

    def __init__(self, problem: str, filename: str = "exchange.json", path: str | None = None):
        super().__init__(f"{filename}: {problem}")
        self.problem = problem
        self.filename = filename
        self.path = path


class ServerType(enum.Enum):
    """``csta -i --type``: ECMA-323 XML over TCP (also TLS and SOAP), or TR/87 uaCSTA (SIP)."""

    XML = "xml"
    TR87 = "tr87"


class AuthMode(enum.Enum):
    """``csta -i --authentication``: ECMA-354 application session authentication."""

    OFF = "off"
    OPTIONAL = "optional"
    MANDATORY = "mandatory"


class LineReplacement(enum.Enum):
    """``csta -i --line-replacement`` (TR/87): what a new INVITE for a line that already has
    a dialog does to that dialog (docs/tr87.md, docs/limits.md).

    ``off``: both dialogs are kept. ``same-peer``: the old dialog is replaced (BYE) only when
    the new INVITE comes from the same IP address as the old dialog (the client restarted, the
    route expired); from another address it is kept, and the new dialog gets no events of the
    line's old monitors. ``any``: replaced whoever asks (only where every client that can reach
    the SIP port is trusted: one can end another's dialog).
    """

    OFF = "off"
    SAME_PEER = "same-peer"
    ANY = "any"


@attrs.frozen
class CstaServerSettings:
    """One CSTA server initiated on a LIM with ``csta -i`` (docs/protocol-notes.md P1).

    ``port`` is the XML port (8882) for an XML server and the SIP port (5062, TCP and UDP)
    for a TR/87 server. ``tls_port`` (8883) is XML over TLS, or SIP over TLS for TR/87.
    ``web_port`` (8080) is the SOAP web service; only an XML server has one (the MX-ONE
    operational directions: "WS/SOAP also transports the XML protocol, so do not select TR87,
    but XML"). ``None`` = not offered.
    ``system_status_on_connect``: send SystemStatus right after a client connects.
    TR/87 only (docs/tr87.md): ``line_replacement`` - whether a new INVITE for a line that has
    a dialog ends the old one (:class:`LineReplacement`; data files written before it say
    ``replace_line_dialogs``: true is read as ``same-peer``, false as ``off``);
    ``out_of_dialog_info`` - an INFO with a
    CSTA body outside any dialog is served (else answered 481); ``session_expires`` - the
    RFC 4028 session interval granted to clients that support ``timer`` (None: no session
    timer; at least :data:`MIN_SESSION_EXPIRES`).
    """

    lim: int
    server_type: ServerType
    port: int
    tls_port: int | None = None
    web_port: int | None = None
    authentication: AuthMode = AuthMode.OFF
    system_status_on_connect: bool = False
    line_replacement: LineReplacement = LineReplacement.SAME_PEER
    out_of_dialog_info: bool = False
    session_expires: int | None = 1800


@attrs.frozen
class UserCredential:
    """A user an application may log in as (ECMA-354 StartApplicationSession)."""

    user: str
    password_hash: str


@attrs.frozen
class ApplicationCriteria:
    """``csta_authentication -i --application ID``: who may start sessions for an application.

    ``max_duration`` bounds the session duration in seconds; 0 means no limit.
    """

    application_id: str
    users: tuple[UserCredential, ...] = ()
    max_duration: int = 0


@attrs.frozen
class AuthenticationCriteria:
    """All authentication criteria (``csta_authentication``, docs/admin.md)."""

    applications: tuple[ApplicationCriteria, ...] = ()

    def application(self, application_id: str) -> ApplicationCriteria | None:
        for criteria in self.applications:
            if criteria.application_id == application_id:
                return criteria
        return None


@attrs.frozen
class WebAccount:
    """A web-service (SOAP, HTTP Basic) account: the accounts file of docs/soap.md."""

    user: str
    password_hash: str


@attrs.frozen
class AdminAccount:
    """An admin-shell account (docs/admin.md; demo ``admin``/``admin``)."""

    user: str
    password_hash: str


@attrs.frozen
class Limits:
    """Configurable limits (docs/protocol-notes.md L1: assumed defaults and the answers).

    ``session_cleanup_delay``: seconds an ended application session's monitors are kept
    before they are stopped (0 = at once).
    ``max_associations``: concurrent client associations over all transports (XML/TLS
    connections, TR/87 dialogs, SOAP channels); one more is refused.
    ``trace_messages`` / ``trace_bytes``: the wire trace of one association keeps its last
    messages up to both bounds (the oldest go first); ``trace_total_bytes``: the size of the
    one arena all traces keep their messages in, each message taking its bytes and a 48-byte
    header (``api.trace.record_length``; the oldest messages of any association go first);
    ``trace_closed``: how many ended associations keep their trace (the oldest ended go
    first; docs/api.md, docs/limits.md).
    ``login_attempts_per_address`` / ``login_attempts_per_account``: login attempts (refused
    or still being checked) within ``login_window`` seconds after which the next one from that
    address, or for that account, is refused at once (every transport together: ECMA-354,
    HTTP Basic, telnet, ssh); ``password_check_threads``: threads checking passwords;
    ``password_checks_waiting``: checks that may wait for a thread before the next login is
    refused as busy (docs/security.md).

    The limits that keep one client (one address, one account) from locking out the others
    (docs/limits.md): ``max_connections_per_address`` (TCP connections from one IP address
    to the listeners of every CSTA server), ``first_message_timeout`` (seconds a new TCP
    connection may stay silent), ``max_dialogs_per_address`` and ``dialog_idle_timeout``
    (TR/87 dialogs from one address; a dialog without a session timer that the client leaves
    without a request this long is ended), ``max_sessions_per_account`` (SOAP sessions of one
    web account), ``max_session_duration`` (the longest ECMA-354 session duration granted),
    ``max_monitors_per_device`` / ``max_monitors_per_address``, ``udp_unacknowledged_bytes``
    (the bytes of SIP responses over UDP that one address may have waiting for an ACK: a
    spoofed INVITE cannot turn the server into a reflector) and ``notify_to_allow`` (the URL
    prefixes a SOAP Subscribe may name as NotifyTo; empty: none, events by GetEvents only).
    ``csta_limits -p`` prints them, ``csta_limits -c`` changes them on a running server.
    """

    login_attempts_per_address: int = 5
    login_attempts_per_account: int = 10
    login_window: int = 60
    password_check_threads: int = 2
    password_checks_waiting: int = 32
    max_sessions: int = 1000
    max_monitors: int = 20000
    max_monitors_per_session: int = 10000
    max_outstanding_requests: int = 100
    max_message_bytes: int = 65535
    session_cleanup_delay: int = 0
    max_associations: int = 1000
    trace_messages: int = 1000
    trace_bytes: int = 1048576
    trace_total_bytes: int = 67108864
    trace_closed: int = 100
    max_connections_per_address: int = 100
    first_message_timeout: int = 30
    max_dialogs_per_address: int = 200
    dialog_idle_timeout: int = 86400
    max_sessions_per_account: int = 100
    max_session_duration: int = 3600
    max_monitors_per_device: int = 100
    max_monitors_per_address: int = 10000
    udp_unacknowledged_bytes: int = 65536
    notify_to_allow: tuple[str, ...] = ()


#: The range of each limit (docs/exchange-data.md): a value outside is refused when the file
#: is read, so a typo cannot switch a protection off (``max_message_bytes`` 10^9 would let one
#: client make the server buffer a gigabyte). The XML framing carries at most 65,535 bytes per
#: message whatever ``max_message_bytes`` says; the larger values are for SOAP and TR/87.
LIMIT_RANGES: dict[str, tuple[int, int]] = {
    "max_sessions": (1, 100_000),
    "max_monitors": (1, 1_000_000),
    "max_monitors_per_session": (1, 1_000_000),
    "max_outstanding_requests": (1, 10_000),
    "max_message_bytes": (1, 1_048_576),
    "session_cleanup_delay": (0, 86_400),
    "max_associations": (1, 100_000),
    "trace_messages": (1, 1_000_000),
    "trace_bytes": (1, 268_435_456),
    "trace_total_bytes": (1, 1_073_741_824),
    "trace_closed": (1, 100_000),
    "login_attempts_per_address": (1, 10_000),
    "login_attempts_per_account": (1, 10_000),
    "login_window": (1, 86_400),
    "password_check_threads": (1, 64),
    "password_checks_waiting": (1, 10_000),
    "max_connections_per_address": (1, 100_000),
    "first_message_timeout": (1, 86_400),
    "max_dialogs_per_address": (1, 100_000),
    "dialog_idle_timeout": (1, 1_000_000),
    "max_sessions_per_account": (1, 100_000),
    "max_session_duration": (1, 1_000_000),
    "max_monitors_per_device": (1, 1_000_000),
    "max_monitors_per_address": (1, 1_000_000),
    "udp_unacknowledged_bytes": (1, 16_777_216),
}
#: The range of a limit not listed in LIMIT_RANGES.
DEFAULT_LIMIT_RANGE = (1, 1_000_000)
#: The highest LIM number (``lim -i``, a CSTA server's ``lim``).
MAX_LIM = 999


@attrs.define(kw_only=True)
class ExchangeData:
    """Everything in ``exchange.json``: what a restart must not lose."""

    schema_version: int = SCHEMA_VERSION
    plan: ExchangePlan = attrs.Factory(ExchangePlan)
    csta_servers: list[CstaServerSettings] = attrs.Factory(list)
    authentication: AuthenticationCriteria = attrs.Factory(AuthenticationCriteria)
    web_accounts: list[WebAccount] = attrs.Factory(list)
    admin_accounts: list[AdminAccount] = attrs.Factory(list)
    limits: Limits = attrs.Factory(Limits)

    def csta_server(self, lim: int, server_type: ServerType) -> CstaServerSettings | None:
        """The CSTA server of ``server_type`` on LIM ``lim``, if initiated."""
        for server in self.csta_servers:
            if server.lim == lim and server.server_type is server_type:
                return server
        return None
