"""``twistd -n csta``: the options and the service composition (INTERFACE.md §2; issue 3 §2-§3).

:class:`Options` is every option of INTERFACE.md §2, checked in ``postOptions`` (a bad value
is a ``UsageError`` with one clear line). :func:`makeService` is the only place that imports
the global reactor; it hands it to :func:`build_service`, which

1. opens the data directory (``--data``), creating it with the demo exchange when it holds no
   ``exchange.json`` (``--no-demo``: the empty exchange); a corrupt or unreadable file stops
   start-up with ``csta: <file>: <problem>`` and exit status 1, leaving the file untouched;
2. builds the switch, ``Switch(plan, reactor)``, as the first child service, ``"switch"``;
3. runs the **service builders** of :func:`service_builders` (the CSTA core, then the XML,
   TLS, SIP, web and admin listeners of later issues) with a :class:`ServiceContext`, and adds
   the services they return, in order.

A listener is a :class:`ListenerService` (made with :meth:`ServiceContext.tcp_listener`,
:meth:`~ServiceContext.udp_listener` or :meth:`~ServiceContext.endpoint_listener`): it logs
``listening: <name> on <host>:<port>`` with the real port, and a port that cannot be bound
stops start-up with one line naming it and exit status 1 (INTERFACE.md §2). By then twistd
has begun logging and routes stderr into the log, so that line is a log line (``[stderr#error]
csta: cannot listen: ...``, or a JSON event); a bad data file is found before logging begins,
so its line goes to the real stderr.

When started, the server logs the exchange summary (:mod:`cstaserver.config.summary`) before
any port is bound, once all services run the admin login hint, and once the reactor runs
``csta: started`` (the line to wait for: from then on the server answers and handles SIGINT).
"""

from __future__ import annotations

import gc
import ipaddress
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import attrs
from twisted.application.service import IService, MultiService, Service
from twisted.internet import defer
from twisted.internet.endpoints import TCP4ServerEndpoint, TCP6ServerEndpoint
from twisted.internet.error import CannotListenError
from twisted.internet.interfaces import IListeningPort, IStreamServerEndpoint
from twisted.logger import Logger
from twisted.python import usage
from twisted.python.failure import Failure

from cstaserver.config import (
    DEFAULT_ADMIN_PASSWORD,
    DEFAULT_ADMIN_USER,
    ConfigError,
    CstaServerSettings,
    DataDirectory,
    ExchangeData,
    ServerType,
    demo_exchange_data,
    empty_exchange_data,
)
from cstaserver.config.summary import exchange_summary
from cstaserver.config.values import whole_number
from cstaserver.logging import JSON_OBSERVER_NAME
from cstaserver.passwords import verify_password

log = Logger()

DEFAULT_DATA = "./mxone-data"
DEFAULT_INTERFACE = "127.0.0.1"
ADMIN_INTERFACE = "127.0.0.1"
LOG_FORMATS = ("text", "json")
WEB_AUTH_MODES = ("file", "pam")

#: Port options of INTERFACE.md §2 and the RunSettings field each one fills.
PORT_OPTIONS = {
    "xml-port": "xml_port",
    "tls-port": "tls_port",
    "sip-port": "sip_port",
    "web-port": "web_port",
    "admin-port": "admin_port",
    "admin-ssh-port": "admin_ssh_port",
}


class StartupError(SystemExit):
    """Start-up cannot go on. Under twistd, Python prints the one-line message to stderr and
    the process exits with status 1; no traceback (a ``SystemExit`` passes through twistd)."""


# -- options (INTERFACE.md §2) ---------------------------------------------------------------


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
    """``twistd -n csta [options]`` (INTERFACE.md §2).

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
    ]
    optParameters = [
        [
            "data",
            None,
            DEFAULT_DATA,
            "Exchange data directory: numbering plan, CSTA server settings, authentication "
            "criteria, certificate, accounts. Created with the demo exchange when empty.",
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
        self["no-demo"] = bool(self["no-demo"])
        self._check_choice("log-format", LOG_FORMATS)
        self._check_choice("web-auth", WEB_AUTH_MODES)
        if self["log-format"] == "json":
            self._use_json_logging()
        self.settings = RunSettings.from_options(self)

    def _check_choice(self, option: str, allowed: tuple[str, ...]) -> None:
        if self[option] not in allowed:
            raise usage.UsageError(
                f"--{option}: {self[option]!r} is not one of: {', '.join(allowed)}"
            )

    def _check_distinct_ports(self) -> None:
        seen: dict[int, str] = {}
        for option in PORT_OPTIONS:
            port = self[option]
            if port:
                if port in seen:
                    raise usage.UsageError(f"--{option} {port}: the same port as --{seen[port]}")
                seen[port] = option

    def _use_json_logging(self) -> None:
        """Make twistd install the JSON observer (see :mod:`cstaserver.logging`)."""
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
    """The checked options of one run (INTERFACE.md §2). Port ``None``: from the exchange
    data; ``0``: any free port (admin ports: ``0`` = disabled)."""

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
    admin_interface: str = ADMIN_INTERFACE

    @classmethod
    def from_options(cls, options: Options) -> RunSettings:
        ports = {field: options[option] for option, field in PORT_OPTIONS.items()}
        return cls(
            data=Path(options["data"]),
            interface=options["interface"],
            demo=not options["no-demo"],
            log_format=options["log-format"],
            web_auth=options["web-auth"],
            **ports,
        )


def apply_port_options(
    servers: Iterable[CstaServerSettings], settings: RunSettings
) -> list[CstaServerSettings]:
    """The CSTA servers as this run uses them: ``--xml-port``, ``--tls-port`` and
    ``--web-port`` change the first XML server, ``--sip-port`` the first TR/87 server;
    the stored exchange data is not changed."""
    overrides = {
        ServerType.XML: {
            "port": settings.xml_port,
            "tls_port": settings.tls_port,
            "web_port": settings.web_port,
        },
        ServerType.TR87: {"port": settings.sip_port},
    }
    result = []
    for server in servers:
        changes = overrides.pop(server.server_type, {})
        result.append(attrs.evolve(server, **{k: v for k, v in changes.items() if v is not None}))
    return result


# -- services ----------------------------------------------------------------------------


def format_address(host: str, port: int) -> str:
    """``127.0.0.1:8882``, ``[::]:8882``."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class ListenerService(Service):
    """One listening port (INTERFACE.md §2).

    ``listen()`` binds and returns an ``IListeningPort`` or a Deferred of one. Binding happens
    in ``privilegedStartService`` (before twistd drops privileges), or in ``startService``
    when started directly. Logs ``listening: <name> on <host>:<port>`` with the real port
    (``0`` asked a free one). A bind error (``CannotListenError``, ``OSError``) raises
    :class:`StartupError` (``csta: cannot listen: <name> on <host>:<port>: <reason>``);
    any other exception is a bug and propagates as it is.
    """

    def __init__(
        self,
        name: str,
        interface: str,
        port: int,
        listen: Callable[[], object],
        detail: str = "",
    ) -> None:
        self.name = name
        self.detail = detail  # e.g. " (udp, tcp)" after the address
        self.interface = interface
        self.requested_port = port
        self._listen = listen
        self.port: IListeningPort | None = None
        self._bound = False
        self._binding = False
        self._bind_failure: Failure | None = None

    def privilegedStartService(self) -> None:
        super().privilegedStartService()
        self._bind()

    def startService(self) -> None:
        super().startService()
        if not self._bound:
            self._bind()

    def _bind(self) -> None:
        self._bound = True
        self._binding = True
        try:
            defer.maybeDeferred(self._listen).addCallbacks(self._listening, self._failed)
        finally:
            self._binding = False
        failure, self._bind_failure = self._bind_failure, None
        if failure is not None:
            if failure.check(CannotListenError, OSError):
                raise StartupError(f"csta: {self._failure_line(failure)}")
            failure.raiseException()  # a bug, not a busy port: keep the traceback

    def _failure_line(self, failure: Failure) -> str:
        error = failure.value
        reason = getattr(error, "socketError", None) or error
        reason = getattr(reason, "strerror", None) or str(reason)
        where = format_address(self.interface, self.requested_port)
        return f"cannot listen: {self.name} on {where}: {reason}"

    def _listening(self, port: IListeningPort) -> None:
        self.port = port
        host = port.getHost()
        log.info(
            "listening: {name} on {address}{detail}",
            name=self.name,
            address=format_address(host.host, host.port),
            detail=self.detail,
            host=host.host,
            port=host.port,
        )

    def _failed(self, failure: Failure) -> None:
        if self._binding:
            self._bind_failure = failure
        else:
            log.error("{line}", line=self._failure_line(failure), name=self.name)

    def stopService(self) -> defer.Deferred[None] | None:
        super().stopService()
        self._bound = False
        port, self.port = self.port, None
        if port is None:
            return None
        return defer.maybeDeferred(port.stopListening)


class SwitchService(Service):
    """The switching model (``cstaserver.pbx``) as the first named child, ``"switch"``."""

    name = "switch"

    def __init__(self, switch: Any) -> None:
        self.switch = switch


@attrs.define
class ServiceContext:
    """What a service builder gets (issue 3 §3).

    ``csta_servers``: the CSTA servers as this run uses them (port options applied).
    ``components``: a shared dict where a builder leaves what later builders need (for
    instance the CSTA core under ``"csta"``), since builders run in order.
    """

    reactor: Any
    settings: RunSettings
    data_directory: DataDirectory
    exchange: ExchangeData
    switch: Any
    csta_servers: list[CstaServerSettings]
    components: dict[str, object] = attrs.Factory(dict)

    def servers(self, server_type: ServerType) -> list[CstaServerSettings]:
        """The CSTA servers of one type, in the exchange data's order."""
        return [s for s in self.csta_servers if s.server_type is server_type]

    def tcp_endpoint(self, port: int, interface: str | None = None) -> IStreamServerEndpoint:
        """A TCP server endpoint on ``interface`` (default ``--interface``), v4 or v6."""
        interface = interface or self.settings.interface
        kind = TCP6ServerEndpoint if ":" in interface else TCP4ServerEndpoint
        return kind(self.reactor, port, interface=interface)

    def endpoint_listener(
        self, name: str, endpoint: IStreamServerEndpoint, factory: Any, interface: str, port: int
    ) -> ListenerService:
        """A listener for any stream endpoint (e.g. ``SSL4ServerEndpoint`` for TLS)."""
        return ListenerService(name, interface, port, lambda: endpoint.listen(factory))

    def tcp_listener(
        self, name: str, port: int, factory: Any, interface: str | None = None
    ) -> ListenerService:
        """A TCP listener on ``interface`` (default ``--interface``)."""
        interface = interface or self.settings.interface
        endpoint = self.tcp_endpoint(port, interface)
        return self.endpoint_listener(name, endpoint, factory, interface, port)

    def udp_listener(
        self, name: str, port: int, protocol: Any, interface: str | None = None
    ) -> ListenerService:
        """A UDP listener (TR/87 over UDP) on ``interface`` (default ``--interface``)."""
        interface = interface or self.settings.interface
        return ListenerService(
            name,
            interface,
            port,
            lambda: self.reactor.listenUDP(port, protocol, interface=interface),
        )


#: ``builder(context) -> services to add``; see :func:`service_builders`.
ServiceBuilder = Callable[[ServiceContext], Iterable[IService]]


def build_xml_listeners(context: ServiceContext) -> Iterable[IService]:
    """The XML port of each XML CSTA server, also answering HTTP (INTERFACE.md §3): the
    composition of ARCHITECTURE "Shared ports are composed, not imported" - the first byte
    hands a connection to the XML factory or to the server's web site
    (:mod:`cstaserver.soap.sniff`), so neither transport imports the other."""
    from cstaserver.soap.service import web_site
    from cstaserver.soap.sniff import sniffing_factory
    from cstaserver.xmlproto.service import xml_factory

    for server in context.servers(ServerType.XML):
        factory = sniffing_factory(
            xml_factory(context, server), web_site(context, server), clock=context.reactor
        )
        yield context.tcp_listener("xml", server.port, factory)


def service_builders() -> list[ServiceBuilder]:
    """**The place where the CSTA core and the listeners are added** (issue 3 §3).

    Each builder is a function ``build(context: ServiceContext) -> Iterable[IService]``,
    imported here (inside this function, so ``twistd --help`` stays light) and listed in
    start-up order; it may leave shared objects in ``context.components`` for the builders
    after it. A listener builder returns :class:`ListenerService` instances named as in
    INTERFACE.md §2, made with :meth:`ServiceContext.tcp_listener` (or ``udp_listener``,
    ``endpoint_listener``), e.g.::

        def build_xml_listeners(context):
            core = context.components["csta"]
            for server in context.servers(ServerType.XML):
                yield context.tcp_listener("xml", server.port, XmlFactory(core))

    Admin listeners bind ``context.settings.admin_interface`` and skip a port of 0.
    ``cstaserver.admin.live`` rebuilds a changed CSTA server's listeners with the builders
    here whose name contains ``listeners``.
    """
    from cstaserver.admin.service import build_admin
    from cstaserver.csta.service import build_core
    from cstaserver.sip.service import build_sip_listeners
    from cstaserver.soap.service import build_web_listeners
    from cstaserver.xmlproto.service import build_tls_listeners

    return [
        build_core,  # the CSTA core: context.components["csta"]
        build_xml_listeners,  # xml (+ HTTP on the same port)
        build_tls_listeners,  # tls
        build_sip_listeners,  # sip (TCP and UDP)
        build_web_listeners,  # web
        build_admin,  # admin-telnet, admin-ssh, the control socket
    ]


def _switch_factory(plan: Any, clock: Any) -> Any:
    from cstaserver.pbx.switch import Switch

    return Switch(plan, clock)


class CstaService(MultiService):
    """The whole server: the switch, then what the builders added (issue 3 §3)."""

    def __init__(self, context: ServiceContext, *, default_admin_password: bool) -> None:
        super().__init__()
        self.context = context
        self._default_admin_password = default_admin_password
        self._announced = False

    def _announce(self) -> None:
        if self._announced:
            return
        self._announced = True
        log.info("exchange data: {path}", path=str(self.context.data_directory.exchange_file))
        for line, fields in exchange_summary(self.context.exchange, self.context.csta_servers):
            log.info(line, **fields)

    def privilegedStartService(self) -> None:
        self._announce()
        super().privilegedStartService()

    def startService(self) -> None:
        self._announce()
        super().startService()
        if self._default_admin_password:
            log.warn(
                "admin shell login: {user} / {password} (the default: please change it)",
                user=DEFAULT_ADMIN_USER,
                password=DEFAULT_ADMIN_PASSWORD,
            )
        else:
            users = ", ".join(a.user for a in self.context.exchange.admin_accounts)
            log.info("admin shell accounts: {users}", users=users or "none")
        self.context.reactor.callWhenRunning(self._started)

    def _started(self) -> None:
        """Once the reactor runs (signals handled, clients served): the line to wait for."""
        log.info("csta: started")


def _load_exchange(directory: DataDirectory, demo: bool) -> tuple[ExchangeData, bool]:
    try:
        directory.create()
        return directory.load_or_create(demo_exchange_data if demo else empty_exchange_data)
    except ConfigError as e:
        raise StartupError(f"csta: {e.path or directory.exchange_file}: {e.problem}") from None
    except OSError as e:
        where = e.filename or directory.path
        raise StartupError(f"csta: {where}: {e.strerror or e}") from None


def _ensure_certificate(directory: DataDirectory) -> None:
    """A new data directory gets a self-signed TLS certificate (INTERFACE.md §1)."""
    from cstaserver.certificates import CertificateStore

    if CertificateStore(directory.path).ensure_self_signed():
        log.info("created a self-signed TLS certificate (mxone_certificate -p shows it)")


def _has_default_admin_password(data: ExchangeData) -> bool:
    return any(
        account.user == DEFAULT_ADMIN_USER
        and verify_password(DEFAULT_ADMIN_PASSWORD, account.password_hash)
        for account in data.admin_accounts
    )


def build_service(
    settings: RunSettings,
    reactor: Any,
    *,
    switch_factory: Callable[[Any, Any], Any] = _switch_factory,
    builders: Iterable[ServiceBuilder] | None = None,
) -> CstaService:
    """Compose the server (see the module docstring); ``reactor`` is passed down to all."""
    directory = DataDirectory(settings.data)
    exchange, created = _load_exchange(directory, settings.demo)
    if created:
        kind = "demo" if settings.demo else "empty"
        log.info("created the {kind} exchange in {path}", kind=kind, path=str(directory.path))
        _ensure_certificate(directory)
    context = ServiceContext(
        reactor=reactor,
        settings=settings,
        data_directory=directory,
        exchange=exchange,
        switch=switch_factory(exchange.plan, reactor),
        csta_servers=apply_port_options(exchange.csta_servers, settings),
    )
    root = CstaService(context, default_admin_password=_has_default_admin_password(exchange))
    SwitchService(context.switch).setServiceParent(root)
    for builder in service_builders() if builders is None else builders:
        for service in builder(context):
            service.setServiceParent(root)
    return root


def makeService(options: Options) -> MultiService:
    """``IServiceMaker.makeService``: the one place that imports the global reactor."""
    from twisted.internet import reactor

    settings = getattr(options, "settings", None) or RunSettings.from_options(options)
    service = build_service(settings, reactor)
    # The exchange (devices, plan, code) lives for the whole run: move it out of the
    # collector's reach so full collections stay short (bench/README.md: 40-130 ms pauses).
    gc.collect()
    gc.freeze()
    return service
