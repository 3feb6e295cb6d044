"""``twistd -n csta [options]``: the command-line options of one run, checked.

:class:`Options` is the ``usage.Options`` twistd parses; ``postOptions`` checks and converts
every value (a bad one is a ``UsageError`` with one line) and leaves them as a frozen
:class:`RunSettings`, which is all the rest of the composition layer reads.

Where a CSTA server listens comes from the exchange data (``csta -i``); the port options
override the first server of each type for this run only. ``--xml-endpoint`` and its
siblings take a Twisted endpoint description instead of a port (``tcp6:8882:interface=\\:\\:``,
``unix:/run/csta.sock``, ``systemd:domain=INET:index=0``), so anything
:func:`twisted.internet.endpoints.serverFromString` can listen on works.
"""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path

import attrs
from twisted.python import usage

from cstaserver.bus.address import BrokerAddress
from cstaserver.config.values import whole_number
from cstaserver.logformat import JSON_OBSERVER_NAME, use_quiet_text

DEFAULT_DATA = "./mxone-data"
DEFAULT_INTERFACE = "127.0.0.1"
ADMIN_INTERFACE = "127.0.0.1"
LOG_FORMATS = ("text", "json")
#: ``--role``: what this process runs of a cluster (docs/cluster.md).
ROLES = ("all", "front", "exchange")
DEFAULT_EXCHANGE_NAME = "default"
WEB_AUTH_MODES = ("file", "pam")

#: Port options and the RunSettings field each one fills.
PORT_OPTIONS = {
    "xml-port": "xml_port",
    "tls-port": "tls_port",
    "sip-port": "sip_port",
    "web-port": "web_port",
    "admin-port": "admin_port",
    "admin-ssh-port": "admin_ssh_port",
}

#: Endpoint-description options, the RunSettings field each fills, and the port option it
#: replaces (one or the other, not both).
ENDPOINT_OPTIONS = {
    "xml-endpoint": ("xml_endpoint", "xml-port"),
    "tls-endpoint": ("tls_endpoint", "tls-port"),
    "web-endpoint": ("web_endpoint", "web-port"),
    "sip-endpoint": ("sip_endpoint", "sip-port"),
}


def _parse_port(option: str, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return whole_number(value, "a port number (0-65535)", low=0, high=65535)
    except ValueError as error:
        raise usage.UsageError(f"--{option}: {error}") from None


def _parse_interface(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise usage.UsageError(
            f"--interface: {value!r} is not an IP address (e.g. 127.0.0.1, 0.0.0.0 or ::)"
        ) from None


class Options(usage.Options):
    """``twistd -n csta [options]``.

    After parsing, ``options[name]`` holds checked values (ports as ``int`` or ``None``,
    ``"no-demo"`` as ``bool``) and ``options.settings`` the same as a :class:`RunSettings`.
    """

    synopsis = "[options]"
    longdesc = (
        "Simulated Mitel MX-ONE CSTA Server: ECMA-323 XML over TCP (8882) and TLS (8883), "
        "TR/87 uaCSTA over SIP (5062), SOAP web service (8080), admin shell (telnet 8023, "
        "ssh 8022). Ports not given come from the exchange data that `csta -i` stores."
    )
    optFlags = [
        [
            "no-demo",
            None,
            "Start with an empty exchange instead of the demo (when --data holds no exchange).",
        ],
        ["access-log", None, "Log every web request (SOAP, status page, API); off by default."],
        [
            "reset-admin-password",
            None,
            "Give the admin login 'admin' a new random password (made if missing), shown once "
            "in the log.",
        ],
        [
            "public-status",
            None,
            "Serve the status JSON (/api/status: sessions, users, client addresses) without a "
            "login.",
        ],
        [
            "create",
            None,
            "Create the --data directory with any missing parent directories (without it a "
            "--data whose parent does not exist is refused: a typo must not make a new "
            "exchange).",
        ],
    ]
    optParameters = [
        [
            "cluster",
            None,
            None,
            "Join a cluster through the broker at redis://HOST:PORT (Redis or Valkey): "
            "front ends and exchange processes (docs/cluster.md). Without it: one process.",
        ],
        [
            "role",
            None,
            "all",
            "With --cluster: front (protocol listeners, no exchange), exchange (the exchange, "
            "no CSTA listeners) or all (both, and serving other front ends).",
        ],
        [
            "exchange-name",
            None,
            DEFAULT_EXCHANGE_NAME,
            "With --cluster: the name of the exchange this process serves or fronts.",
        ],
        [
            "data",
            None,
            DEFAULT_DATA,
            "Exchange data directory: numbering plan, CSTA server settings, authentication "
            "criteria, certificate, accounts. Created with the demo exchange when empty; its "
            "parent directory must exist (see --create). One server per directory.",
        ],
        [
            "interface",
            None,
            DEFAULT_INTERFACE,
            "Address the CSTA listeners bind to (:: or 0.0.0.0 for all).",
        ],
        [
            "xml-port",
            None,
            None,
            "CSTA XML port for this run [default: from the exchange data, 8882]; 0 = any free.",
        ],
        [
            "tls-port",
            None,
            None,
            "CSTA XML over TLS port [default: from the exchange data, 8883]; 0 = any free.",
        ],
        [
            "sip-port",
            None,
            None,
            "TR/87 SIP port, TCP and UDP [default: from the exchange data, 5062]; 0 = any free.",
        ],
        [
            "web-port",
            None,
            None,
            "SOAP web service port [default: from the exchange data, 8080]; 0 = any free.",
        ],
        [
            "xml-endpoint",
            None,
            None,
            "Instead of --xml-port: a Twisted endpoint description, e.g. unix:/run/csta.sock "
            "or systemd:domain=INET:index=0.",
        ],
        ["tls-endpoint", None, None, "Instead of --tls-port: an endpoint description."],
        ["web-endpoint", None, None, "Instead of --web-port: an endpoint description."],
        [
            "sip-endpoint",
            None,
            None,
            "Instead of --sip-port: an endpoint description for SIP over TCP (UDP listens on "
            "the same address and port when it is an IP endpoint).",
        ],
        ["admin-port", None, "8023", "Telnet admin shell port on 127.0.0.1; 0 disables it."],
        ["admin-ssh-port", None, "8022", "SSH admin shell port on 127.0.0.1; 0 disables it."],
        [
            "log-format",
            None,
            "text",
            "text, or json: one JSON event per line on stdout (needs twistd -n).",
        ],
        [
            "web-auth",
            None,
            "file",
            "Web-service (SOAP) logins: file (the accounts file in the data directory) or "
            "pam (Linux user accounts; needs the python-pam package: pip install cstaserver[pam]).",
        ],
    ]

    settings: RunSettings

    def postOptions(self) -> None:
        """Check and convert every value; ``UsageError`` with one line for a bad one."""
        if not self["data"]:
            raise usage.UsageError("--data: the directory name must not be empty")
        self["interface"] = _parse_interface(self["interface"])
        for option in PORT_OPTIONS:
            self[option] = _parse_port(option, self[option])
        self._check_distinct_ports()
        self._check_endpoints()
        self["no-demo"] = bool(self["no-demo"])
        self["reset-admin-password"] = bool(self["reset-admin-password"])
        self["public-status"] = bool(self["public-status"])
        self["create"] = bool(self["create"])
        self._check_cluster()
        self._check_choice("log-format", LOG_FORMATS)
        self._check_choice("web-auth", WEB_AUTH_MODES)
        if self["log-format"] == "json":
            self._use_json_logging()
        elif self.parent is not None and self.parent.get("logger") is None:
            use_quiet_text(self.parent)
        self.settings = RunSettings.from_options(self)

    def parseOptions(self, options: list[str] | None = None) -> None:  # noqa: N802 (Twisted)
        """Under twistd a wrong option is one line and a hint on stderr, exit status 2
        (twistd itself would print the whole usage first); elsewhere the ``UsageError``."""
        try:
            super().parseOptions(options)
        except usage.UsageError as error:
            if self.parent is None:
                raise
            sys.stderr.write(f"twistd csta: {error}\n(twistd csta --help lists the options)\n")
            sys.stderr.flush()
            raise SystemExit(2) from None

    def _check_choice(self, option: str, allowed: tuple[str, ...]) -> None:
        if self[option] not in allowed:
            raise usage.UsageError(
                f"--{option}: {self[option]!r} is not one of: {', '.join(allowed)}"
            )

    def _check_cluster(self) -> None:
        self._check_choice("role", ROLES)
        if self["cluster"] is not None:
            try:
                self["cluster"] = BrokerAddress.parse(self["cluster"])
            except ValueError as error:
                raise usage.UsageError(f"--cluster: {error}") from None
        elif self["role"] != "all":
            raise usage.UsageError(f"--role {self['role']}: needs --cluster redis://HOST:PORT")
        name = self["exchange-name"]
        if not name or not all(c.isalnum() or c in "-_." for c in name) or len(name) > 64:
            raise usage.UsageError(
                f"--exchange-name: {name!r}: use 1-64 letters, digits, '-', '_' or '.'"
            )

    def _check_distinct_ports(self) -> None:
        seen: dict[int, str] = {}
        for option in PORT_OPTIONS:
            port = self[option]
            if port:
                if port in seen:
                    raise usage.UsageError(f"--{option} {port}: the same port as --{seen[port]}")
                seen[port] = option

    def _check_endpoints(self) -> None:
        for option, (_, port_option) in ENDPOINT_OPTIONS.items():
            value = self[option]
            if value is None:
                continue
            if not value.strip():
                raise usage.UsageError(f"--{option}: the endpoint description must not be empty")
            if self[port_option] is not None:
                raise usage.UsageError(f"--{option}: give either --{port_option} or --{option}")

    def _use_json_logging(self) -> None:
        """Make twistd install the JSON observer (see :mod:`cstaserver.logformat`)."""
        parent = self.parent
        if parent is None or parent.get("logger") is not None:
            return  # not under twistd, or an explicit twistd --logger wins
        if not parent.get("nodaemon"):
            raise usage.UsageError("--log-format json writes to stdout: run twistd -n")
        if parent.get("logfile") not in (None, "-"):
            raise usage.UsageError("--log-format json writes to stdout: drop twistd --logfile")
        parent["logger"] = JSON_OBSERVER_NAME


@attrs.frozen
class RunSettings:
    """The checked options of one run. Port ``None``: from the exchange data; ``0``: any
    free port (admin ports: ``0`` = disabled). An ``*_endpoint`` description, when given,
    replaces the port of its listener. ``create``: make a ``data`` directory whose parent
    is missing too (``--create``)."""

    data: Path = Path(DEFAULT_DATA)
    interface: str = DEFAULT_INTERFACE
    xml_port: int | None = None
    tls_port: int | None = None
    sip_port: int | None = None
    web_port: int | None = None
    admin_port: int = 8023
    admin_ssh_port: int = 8022
    demo: bool = True
    log_format: str = "text"
    web_auth: str = "file"
    access_log: bool = False
    admin_interface: str = ADMIN_INTERFACE
    xml_endpoint: str | None = None
    tls_endpoint: str | None = None
    web_endpoint: str | None = None
    sip_endpoint: str | None = None
    reset_admin_password: bool = False
    public_status: bool = False
    create: bool = False
    #: ``--cluster``: the broker (None: one process, no broker); ``--role``, ``--exchange-name``
    cluster: BrokerAddress | None = None
    role: str = "all"
    exchange_name: str = DEFAULT_EXCHANGE_NAME

    @classmethod
    def ephemeral(cls, data: Path | str, **changes: object) -> RunSettings:
        """Every CSTA listener on a free port of 127.0.0.1 and no admin shell: a server for a
        test or a script, which asks the root service's ``port_of`` where it listens."""
        ports = dict(xml_port=0, tls_port=0, sip_port=0, web_port=0, admin_port=0, admin_ssh_port=0)
        return cls(data=Path(data), **{**ports, **changes})  # type: ignore[arg-type]

    @classmethod
    def from_options(cls, options: Options) -> RunSettings:
        ports = {field: options[option] for option, field in PORT_OPTIONS.items()}
        endpoints = {field: options[option] for option, (field, _) in ENDPOINT_OPTIONS.items()}
        return cls(
            data=Path(options["data"]),
            interface=options["interface"],
            demo=not options["no-demo"],
            log_format=options["log-format"],
            web_auth=options["web-auth"],
            access_log=bool(options["access-log"]),
            reset_admin_password=options["reset-admin-password"],
            public_status=options["public-status"],
            create=bool(options["create"]),
            cluster=options["cluster"],
            role=options["role"],
            exchange_name=options["exchange-name"],
            **ports,
            **endpoints,
        )
