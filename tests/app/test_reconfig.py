"""Reconfiguration by the service tree: CstaRoot.reconfig and CstaServerService.reconfig on
real loopback ports (the admin tests drive the same through ``csta -i`` / ``csta -e``)."""

from __future__ import annotations

import socket
from pathlib import Path

import attrs
from twisted.internet import reactor as global_reactor
from twisted.trial import unittest

from cstaserver.admin.output import CommandError
from cstaserver.api.trace import WireRecorder
from cstaserver.app.options import RunSettings
from cstaserver.app.root import CstaRoot, build_service
from cstaserver.certificates import CertificateStore
from cstaserver.config import AuthMode, ExchangeData, LineReplacement, ServerType, ensure_demo


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def accepts(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def with_server(data: ExchangeData, lim: int, kind: ServerType, **changes: object) -> ExchangeData:
    servers = [
        attrs.evolve(s, **changes) if (s.lim, s.server_type) == (lim, kind) else s
        for s in data.csta_servers
    ]
    return attrs.evolve(data, csta_servers=servers)


class ReconfigTests(unittest.TestCase):
    def start(self, *, certificate: bool = True) -> CstaRoot:
        data = Path(self.mktemp())
        ensure_demo(data)
        if certificate:
            CertificateStore(data).ensure_self_signed()
        root = build_service(RunSettings.ephemeral(data), global_reactor)
        root.startService()
        self.addCleanup(root.stopService)
        return root

    async def test_a_changed_port_starts_the_new_listener_and_stops_the_old(self) -> None:
        root = self.start()
        xml = root.getServiceNamed("xml-1")
        old_xml, old_web = xml.listeners["xml"], xml.listeners["web"]
        old_port, new_port = old_xml.bound_port, free_port()
        await root.reconfig(with_server(root.exchange, 1, ServerType.XML, port=new_port))
        assert xml.listeners["xml"] is not old_xml and xml.listeners["xml"].running
        assert root.port_of("xml") == new_port and accepts(new_port)
        assert not old_xml.running and old_xml.parent is None and not accepts(old_port)
        assert xml.listeners["web"] is old_web and old_web.running  # untouched
        assert root.exchange.csta_server(1, ServerType.XML).port == new_port

    async def test_an_authentication_change_restarts_every_listener_on_its_port(self) -> None:
        root = self.start()
        xml = root.getServiceNamed("xml-1")
        before = dict(xml.listeners)
        ports = {role: listener.bound_port for role, listener in before.items()}
        site = xml.site
        closed: list[str] = []
        site.channels.close_all = lambda *reason: closed.append("closed")
        new = with_server(root.exchange, 1, ServerType.XML, authentication=AuthMode.MANDATORY)
        await root.reconfig(new)
        assert set(xml.listeners) == set(before)
        for role, listener in xml.listeners.items():
            assert listener is not before[role] and not before[role].running
            assert listener.bound_port == ports[role]  # a port 0 kept the number it got
        assert xml.site is not site and closed == ["closed"]
        assert xml.listeners["xml"].factory.xml.profile.auth_mode is AuthMode.MANDATORY

    async def test_tr87_settings_apply_to_the_running_sip_listener(self) -> None:
        """csta -i --line-replacement / --out-of-dialog-info / --session-expires: the SIP
        listener keeps running (no restart) and the next INVITE / INFO follows them."""
        root = self.start()
        tr87 = root.getServiceNamed("tr87-2")
        sip = tr87.listeners["sip"]
        endpoint = sip.factory.endpoint
        assert endpoint.config.session_expires == 1800
        assert endpoint.application.settings.line_replacement is LineReplacement.SAME_PEER
        assert endpoint.application.settings.serve_out_of_dialog_info is False
        new = with_server(
            root.exchange,
            2,
            ServerType.TR87,
            line_replacement=LineReplacement.OFF,
            out_of_dialog_info=True,
            session_expires=None,
        )
        await root.reconfig(new)
        assert tr87.listeners["sip"] is sip and sip.running
        assert endpoint.config.session_expires is None
        assert endpoint.application.settings.line_replacement is LineReplacement.OFF
        assert endpoint.application.settings.serve_out_of_dialog_info is True
        assert root.exchange.csta_server(2, ServerType.TR87).session_expires is None

    async def test_a_busy_port_changes_nothing(self) -> None:
        root = self.start()
        xml = root.getServiceNamed("xml-1")
        before, settings, exchange = dict(xml.listeners), xml.settings, root.exchange
        with socket.socket() as holder:
            holder.bind(("127.0.0.1", 0))
            holder.listen(1)
            busy = holder.getsockname()[1]
            new = with_server(exchange, 1, ServerType.XML, port=busy, web_port=free_port())
            with self.assertRaises(CommandError) as caught:
                await root.reconfig(new)
        assert str(caught.exception) == (
            f"cannot listen: xml on 127.0.0.1:{busy}: Address already in use"
        )
        assert xml.listeners == before and all(s.running for s in before.values())
        assert xml.settings == settings and root.exchange is exchange
        assert [s for s in xml if s.running] == list(before.values())

    async def test_servers_are_added_and_removed(self) -> None:
        root = self.start()
        data = root.exchange
        port = free_port()
        tr87 = data.csta_server(2, ServerType.TR87)
        servers = [*data.csta_servers, attrs.evolve(tr87, lim=1, port=port)]
        await root.reconfig(attrs.evolve(data, csta_servers=servers))
        assert [s.name for s in root.servers()] == ["xml-1", "tr87-2", "tr87-1"]
        assert root.getServiceNamed("tr87-1").listeners["sip"].bound_port == port
        sip = root.getServiceNamed("tr87-2").listeners["sip"]
        await root.reconfig(attrs.evolve(data, csta_servers=servers[:1] + servers[2:]))
        assert [s.name for s in root.servers()] == ["xml-1", "tr87-1"]
        assert not sip.running and "tr87-2" not in root.namedServices

    async def test_tls_starts_once_a_certificate_is_installed(self) -> None:
        root = self.start(certificate=False)
        xml = root.getServiceNamed("xml-1")
        assert "tls" not in xml.listeners
        assert xml.tls_status.startswith("not started: ")
        assert root.start_missing_tls() == []  # still no certificate
        CertificateStore(root.data_directory.path).ensure_self_signed()
        (note,) = root.start_missing_tls()
        assert note.startswith("TLS on LIM 1: listening on 127.0.0.1:")
        assert xml.listeners["tls"].running and xml.tls_status.startswith("certificate ")
        assert root.start_missing_tls() == []  # nothing left to start

    async def test_a_server_without_tls_port_reports_no_tls_after_a_refused_one(self) -> None:
        root = self.start()
        (run,) = [r for r in root.server_runs() if r.settings.server_type is ServerType.XML]
        assert run.tls.startswith("certificate ")
        await root.reconfig(with_server(root.exchange, 1, ServerType.XML, tls_port=None))
        exchange = root.exchange
        with socket.socket() as holder:
            holder.bind(("127.0.0.1", 0))
            holder.listen(1)
            busy = holder.getsockname()[1]
            with self.assertRaises(CommandError):
                await root.reconfig(with_server(exchange, 1, ServerType.XML, tls_port=busy))
        (run,) = [r for r in root.server_runs() if r.settings.server_type is ServerType.XML]
        assert root.exchange is exchange and run.tls == "-"

    async def test_new_wire_trace_bounds_apply_at_once(self) -> None:
        root = self.start(certificate=False)
        recorder = root.core.tracer
        assert isinstance(recorder, WireRecorder)
        assert recorder.arena_size == root.exchange.limits.trace_total_bytes
        limits = attrs.evolve(root.exchange.limits, trace_total_bytes=1 << 20, trace_messages=7)
        await root.reconfig(attrs.evolve(root.exchange, limits=limits))
        assert root.core.tracer is recorder  # the same trace, in a new arena
        assert (recorder.arena_size, recorder.max_messages) == (1 << 20, 7)
