"""One Twisted service per CSTA server of the exchange data, reconfigurable while it runs.

MX-ONE runs a CSTA server per LIM and type (``csta -i --lim N --type xml|tr87``, in the
exchange's CSTA Server operational directions). :class:`CstaServerService` is one of them:
a ``MultiService`` whose children are its listeners, each a
:class:`~cstaserver.app.endpoints.Listener` under a role:

- an XML server: ``xml`` (its port, which also answers HTTP: see :mod:`.sniff`), ``tls``
  (CSTA XML over TLS, started only when the data directory holds a usable certificate) and
  ``web`` (the SOAP web service and status page), with one web site shared by ``xml`` and
  ``web``;
- a TR/87 server: ``sip``, SIP over TCP and UDP on one port.

:meth:`CstaServerService.reconfig` takes the server's new settings, in the manner of
buildbot's ``reconfigService``: a listener whose port changed is started on the new port
before the old one stops; a change of the authentication mode or of "system status on
connect" (part of every listener's profile) restarts every listener of the server on the
port it has (a port ``0`` keeps the number it got), stopping the old one first. Connected
clients stay and are held to the new authentication mode from their next request (going to
mandatory ends their sessions started without authentication); new connections get the new
profile. The TR/87 settings (line replacement,
out-of-dialog INFO, Session-Expires) change the running SIP listener in place (no restart):
the next INVITE or INFO follows them. If a listener cannot be started, what was
started is stopped, what was stopped is started again, and :class:`CannotListen` tells why:
nothing changed.

Transports only provide factories (``CstaXmlFactory``, ``SipStreamFactory``, the web site);
the composition of ports, profiles and TLS is here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs
from twisted.application.service import MultiService
from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.protocols.tls import TLSMemoryBIOFactory

from cstaserver.api.metrics import metrics_for
from cstaserver.app.endpoints import Address, CannotListen, Listener
from cstaserver.app.runtime import Runtime
from cstaserver.app.sniff import sniffing_factory
from cstaserver.app.web import make_web_site
from cstaserver.certificates import CertificateError, CertificateStore
from cstaserver.config import AuthMode, CstaServerSettings, ServerType
from cstaserver.csta.association import BUSY_RETRY_AFTER, Profile
from cstaserver.csta.errors import ErrorValue, encode_error
from cstaserver.csta.gate import GatedFactory
from cstaserver.csta.namespaces import DEFAULT_NAMESPACE
from cstaserver.sip.endpoint import SipConfig, SipEndpoint
from cstaserver.sip.tr87 import Tr87Application, Tr87Settings
from cstaserver.sip.transport import SipServerEndpoint, SipStreamFactory
from cstaserver.soap.site import WebSite
from cstaserver.tlscontext import ReloadingServerTLS
from cstaserver.xmlproto.framing import EVENT_INVOKE_ID, encode_frame
from cstaserver.xmlproto.protocol import CstaXmlFactory

log = Logger()

Key = tuple[int, ServerType]

#: The listeners of each type of server: role -> the settings field with its port.
ROLES: dict[ServerType, dict[str, str]] = {
    ServerType.XML: {"xml": "port", "tls": "tls_port", "web": "web_port"},
    ServerType.TR87: {"sip": "port"},
}
#: Settings that are part of every listener's profile: a change restarts them all.
PROFILE_FIELDS = ("authentication", "system_status_on_connect")
WILDCARDS = ("", "0.0.0.0", "::")
#: What a connection over the per-address limit gets before it is closed (docs/limits.md).
XML_BUSY = encode_frame(EVENT_INVOKE_ID, encode_error(ErrorValue.RESOURCE_BUSY, DEFAULT_NAMESPACE))
HTTP_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: %d\r\nContent-Length: 0\r\n"
    b"Connection: close\r\n\r\n" % BUSY_RETRY_AFTER
)


def key_of(server: CstaServerSettings) -> Key:
    return (server.lim, server.server_type)


def service_name(server: CstaServerSettings) -> str:
    """``xml-1``, ``tr87-2``: the child name of a CSTA server under the root service."""
    return f"{server.server_type.value}-{server.lim}"


@attrs.define
class _Change:
    """What a reconfiguration did so far, to undo it."""

    started: list[Listener] = attrs.Factory(list)
    stopped: list[tuple[str, Address]] = attrs.Factory(list)  # role, pinned address
    late: list[Listener] = attrs.Factory(list)  # old listeners to stop once all started


class CstaServerService(MultiService):
    """One CSTA server (LIM, type) and its listeners; see the module docstring."""

    def __init__(
        self,
        runtime: Runtime,
        settings: CstaServerSettings,
        overrides: dict[str, Address] | None = None,
    ) -> None:
        super().__init__()
        self.runtime = runtime
        self.settings = settings
        self.name = service_name(settings)
        self._overrides = dict(overrides or {})
        self.listeners: dict[str, Listener] = {}
        self._sip: tuple[Tr87Application, SipEndpoint] | None = None
        self.tls_status = "-"
        self.site: WebSite | None = None
        if settings.server_type is ServerType.XML:
            self.site = self._make_site()
        for role in ROLES[settings.server_type]:
            address = self._address(role)
            if address is not None:
                self._add(role, address)

    @property
    def key(self) -> Key:
        return key_of(self.settings)

    # -- what a listener is made of ----------------------------------------------------------
    def tls_summary(self) -> str:
        """What ``csta -p`` says about TLS: ``-`` when this server has no TLS port (also
        after a refused change to one was rolled back), else the certificate or the reason
        the listener is not running."""
        if self.settings.server_type is not ServerType.XML or self._address("tls") is None:
            return "-"
        return self.tls_status

    def _address(self, role: str) -> Address | None:
        if role in self._overrides:
            return self._overrides[role]
        port = getattr(self.settings, ROLES[self.settings.server_type][role])
        if port is None:
            return None
        return Address.tcp(port, self.runtime.settings.interface)

    def _profile(self, name: str) -> Profile:
        return Profile.for_server(self.settings, name)

    def _make_site(self) -> WebSite:
        runtime = self.runtime
        site = make_web_site(
            runtime.core,
            runtime.switch,
            runtime.reactor,
            self.settings,
            accounts=runtime.web_accounts,
            servers=runtime.exchange.csta_servers,
            auth_mode=runtime.settings.web_auth,
            api=runtime.api,
            login_throttle=runtime.login_throttle("web"),
            verify=runtime.verify(),
            public_status=runtime.settings.public_status,
        )
        site.access_log = runtime.settings.access_log
        return site

    def _xml_factory(self, name: str) -> CstaXmlFactory:
        return CstaXmlFactory(
            self.runtime.core,
            self._profile(name),
            self.runtime.reactor,
            system_status_on_connect=self.settings.system_status_on_connect,
        )

    def _tls_factory(self) -> TLSMemoryBIOFactory | None:
        """CSTA XML wrapped in TLS with the data directory's certificate (picked up again
        for each connection); None, with the reason kept for ``csta -p``, without one."""
        try:
            tls = ReloadingServerTLS(CertificateStore(self.runtime.data_directory.path))
        except CertificateError as error:
            self.tls_status = f"not started: {error}"
            log.warn(
                "tls on LIM {lim} not started: {reason}", lim=self.settings.lim, reason=str(error)
            )
            return None
        self.tls_status = f"certificate {tls.fingerprint}"
        return TLSMemoryBIOFactory(tls, False, self._xml_factory("tls"))

    def _sip_factory(self) -> SipStreamFactory:
        interface = self.runtime.settings.interface
        application = Tr87Application(self.runtime.core, self.runtime.reactor, server=self.settings)
        config = SipConfig(
            contact_host=None if interface not in WILDCARDS else "localhost",
            session_expires=self.settings.session_expires,
        )
        endpoint = SipEndpoint(application, self.runtime.reactor, config)
        core = self.runtime.core  # the reflection bound of the limits in force (csta_limits)
        endpoint.response_budget.limit = lambda: core.limits.udp_unacknowledged_bytes
        self._sip = (application, endpoint)  # the newest SIP listener's (older ones retire)
        metrics_for(self.runtime.core, self.runtime.switch).watch_sip(endpoint, self.name)
        return SipStreamFactory(endpoint)

    def _gated(self, factory: Any, refusal: bytes = b"") -> GatedFactory:
        """``factory`` behind the core's connection gate (per-address limit, first-message
        time-out: docs/limits.md); ``refusal`` is written to a connection over the limit."""
        return GatedFactory(factory, self.runtime.core.gate, self.runtime.reactor, refusal=refusal)

    def _listener(self, role: str, address: Address) -> Listener | None:
        reactor = self.runtime.reactor
        endpoint = address.endpoint(reactor)
        if role == "xml":
            assert self.site is not None
            factory = sniffing_factory(self._xml_factory("xml"), self.site, clock=reactor)
            return Listener(role, address, endpoint, self._gated(factory, XML_BUSY))
        if role == "tls":
            tls = self._tls_factory()
            return None if tls is None else Listener(role, address, endpoint, self._gated(tls))
        if role == "web":
            return Listener(role, address, endpoint, self._gated(self.site, HTTP_BUSY))
        sip = SipServerEndpoint(reactor, endpoint)
        factory = self._gated(self._sip_factory())
        return Listener(role, address, sip, factory, detail=" (udp, tcp)")

    def _add(self, role: str, address: Address) -> Listener | None:
        """Make the listener and make it a child (which starts it if this service runs);
        CannotListen, and nothing added, if it cannot listen."""
        listener = self._listener(role, address)
        if listener is None:
            return None
        try:
            listener.setServiceParent(self)
        except CannotListen:
            self.removeService(listener)
            raise
        self.listeners[role] = listener
        return listener

    # -- lifecycle ---------------------------------------------------------------------------
    def stopService(self) -> Deferred[None]:
        stopped = super().stopService()
        if self.site is not None and self.site.channels is not None:
            self.site.channels.close_all()
        return stopped

    def bound_ports(self) -> Iterator[tuple[str, int]]:
        """(settings field, port number) of each listener that listens now."""
        fields = ROLES[self.settings.server_type]
        for role, listener in self.listeners.items():
            if listener.running and listener.bound_port is not None:
                yield fields[role], listener.bound_port

    def as_run(self) -> CstaServerSettings:
        """The settings with the ports this run really listens on."""
        return attrs.evolve(self.settings, **dict(self.bound_ports()))

    # -- reconfiguration ---------------------------------------------------------------------
    def reconfig(self, new: CstaServerSettings) -> Deferred[None]:
        """Apply ``new`` settings of this server (see the module docstring)."""
        return Deferred.fromCoroutine(self._reconfig(new))

    async def _reconfig(self, new: CstaServerSettings) -> None:
        old = self.settings
        if new == old:
            return
        everything = any(getattr(old, f) != getattr(new, f) for f in PROFILE_FIELDS)
        fields = ROLES[new.server_type]
        wanted: dict[str, Address | None] = {}
        for role, field in fields.items():
            current = self.listeners.get(role)
            if getattr(old, field) != getattr(new, field):
                wanted[role] = None  # from the new settings, below
            elif everything and current is not None:
                wanted[role] = current.address.pinned(current.port)
        overrides, listeners, site = dict(self._overrides), dict(self.listeners), self.site
        self.settings = new
        self._configure_sip(new)
        for role in fields:
            if role in wanted and wanted[role] is None:
                self._overrides.pop(role, None)
                wanted[role] = self._address(role)
        if everything and site is not None:
            self.site = self._make_site()
        change = _Change()
        try:
            for role, address in wanted.items():
                await self._replace(role, address, change)
        except BaseException:
            await self._undo(change, listeners)
            self.settings, self._overrides, self.site = old, overrides, site
            self._configure_sip(old)
            raise
        for listener in change.late:
            await listener.disownServiceParent()
        if self.site is not site and site is not None and site.channels is not None:
            site.channels.close_all()
        if old.authentication != new.authentication:
            self._reauthorise_clients(new)
        log.info("CSTA server {server} reconfigured", server=self.name)

    def _reauthorise_clients(self, new: CstaServerSettings) -> None:
        """A changed authentication mode applies to the clients already connected, not
        only to new ones: their next request is checked in the new mode; going to
        mandatory ends the sessions started without authentication
        (ApplicationSessionTerminated), so such a client must log in again."""
        core = self.runtime.core
        server = Profile.for_server(new, "xml").server_id
        for association in list(core.associations):
            profile = association.profile
            if profile.server_id != server or profile.name == "tr87" or association.closed:
                continue  # TR/87: the dialog is the session (docs/tr87.md)
            association.profile = attrs.evolve(profile, auth_mode=new.authentication)
            session = association.session
            mandatory = new.authentication is AuthMode.MANDATORY
            if mandatory and session is not None and not session.authenticated:
                core.sessions.terminate(session, "resourceLimitation")

    def _configure_sip(self, settings: CstaServerSettings) -> None:
        """The TR/87 settings apply at once to the running SIP listeners: line replacement
        and out-of-dialog INFO to the next INVITE / INFO, Session-Expires to the next dialog
        (a dialog keeps the interval it was granted)."""
        if self._sip is None:
            return
        application, endpoint = self._sip
        application.settings = Tr87Settings.of_server(settings)
        endpoint.config = attrs.evolve(endpoint.config, session_expires=settings.session_expires)

    async def _replace(self, role: str, address: Address | None, change: _Change) -> None:
        current = self.listeners.pop(role, None)
        if current is not None:
            pinned = current.address.pinned(current.port)
            if address is not None and pinned.description == address.description:
                change.stopped.append((role, pinned))  # the same port: free it first
                await current.disownServiceParent()
            else:
                change.late.append(current)
        if address is not None:
            listener = self._add(role, address)
            if listener is not None:
                change.started.append(listener)

    async def _undo(self, change: _Change, listeners: dict[str, Listener]) -> None:
        for listener in reversed(change.started):
            await listener.disownServiceParent()
        self.listeners = {r: s for r, s in listeners.items() if s.parent is self}
        for role, address in change.stopped:
            try:
                self._add(role, address)
            except CannotListen as error:
                log.error(
                    "could not restart {name} of {server}: {reason}",
                    name=role,
                    server=self.name,
                    reason=str(error),
                )

    def start_tls(self) -> str | None:
        """A certificate was installed: start the TLS listener if it is configured and not
        running (a running one picks the new certificate up by itself); a line saying what
        was started, or None."""
        if self.settings.server_type is not ServerType.XML:
            return None
        if "tls" in self.listeners:
            store = CertificateStore(self.runtime.data_directory.path)
            try:
                self.tls_status = f"certificate {store.load().info().fingerprint}"
            except Exception as error:  # reported, not raised: the install itself worked
                self.tls_status = f"certificate unusable: {error}"
            return None
        address = self._address("tls")
        if address is None:
            return None
        try:
            listener = self._add("tls", address)
        except CannotListen as error:
            return f"TLS on LIM {self.settings.lim} not started: {error}"
        if listener is None:
            return None
        return f"TLS on LIM {self.settings.lim}: listening on {address.where}"
