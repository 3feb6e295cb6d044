"""Live apply through the control channel against an in-process server (docs/admin.md:
applied to the running server at once; "initiate / remove CSTA server" in the MX-ONE
CSTA Server operational directions): csta -i serves at once, a
busy port changes nothing, csta -e ends the clients cleanly, csta_authentication applies to
the next login, csta -p shows clients, monitors and sessions."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

from twisted.internet import reactor as global_reactor
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial import unittest

from cstaserver.config import DataDirectory, ServerType
from tests.admin.admin_harness import Server, demo_data, free_port, settle
from tests.sip.tr87_ua import LINE, Lync, connect_ua
from tests.xmlproto.xml_client import XmlClient


async def connect(port: int) -> XmlClient:
    client = XmlClient()
    await connectProtocol(TCP4ClientEndpoint(global_reactor, "127.0.0.1", port), client)
    return client


class LiveApplyTests(unittest.TestCase):
    def setUp(self) -> None:
        self.data = Path(self.mktemp())
        demo_data(self.data)
        self.server = Server(self, self.data)

    def stored(self) -> bytes:
        return DataDirectory(self.data).exchange_file.read_bytes()

    async def test_control_socket_is_private(self) -> None:
        await settle()
        assert self.server.socket_path.exists()
        assert self.server.socket_path.stat().st_mode & 0o777 == 0o600

    async def test_initiate_serves_at_once(self) -> None:
        port = free_port()
        status, out, err = await self.server.command(
            "csta", "-i", "--type", "xml", "--lim", "2", "--port", str(port),
            "--tls-port", "none", "--web-port", "none",
        )  # fmt: skip
        assert (status, err) == (0, ""), err
        assert "CSTA server xml on LIM 2" in out and "applied now" in out
        stored = DataDirectory(self.data).load().csta_server(2, ServerType.XML)
        assert stored is not None and stored.port == port
        client = await connect(port)
        self.addCleanup(client.disconnect)
        xref = await client.monitor("1001")
        assert xref
        status, out, _ = await self.server.command("csta", "-p", "--monitors")
        assert status == 0
        line = next(line for line in out.splitlines() if line.startswith("2    xml"))
        assert str(port) in line and " yes " in line
        assert any(line.split()[:2] == ["1001", xref] for line in out.splitlines())

    async def test_port_in_use_changes_nothing(self) -> None:
        before = self.stored()
        holder = socket.socket()
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        self.addCleanup(holder.close)
        busy = holder.getsockname()[1]
        xml_port = self.server.port_of("xml")
        status, out, err = await self.server.command("csta", "-i", "--port", str(busy))
        assert status == 2 and out == ""
        assert err.count("\n") == 1 and "cannot listen: xml" in err and str(busy) in err
        assert self.stored() == before
        client = await connect(xml_port)  # the old listener still serves
        self.addCleanup(client.disconnect)
        assert await client.monitor("1002")

    async def test_remove_closes_clients_cleanly(self) -> None:
        client = await connect(self.server.port_of("xml"))
        session = await client.start_session()
        await client.monitor("1003")
        status, out, err = await self.server.command("csta", "-e", "--type", "xml", "--lim", "1")
        assert (status, err) == (0, ""), err
        assert "CSTA server xml on LIM 1: removed" in out
        event = await client.next_event("ApplicationSessionTerminated")
        assert session in event.body.decode()
        await client.closed  # the server closed the connection after the event
        assert not list(self.server.core.monitors)
        assert DataDirectory(self.data).load().csta_server(1, ServerType.XML) is None
        status, out, _ = await self.server.command("csta", "-p")
        assert "1    xml" not in out

    async def test_criteria_apply_to_next_login(self) -> None:
        status, out, err = await self.server.command(
            "csta_authentication", "-i", "--application", "crm", "--user", "bob",
            "--password", "s3cret", "--max-duration", "600",
        )  # fmt: skip
        assert (status, err) == (0, ""), err
        assert "s3cret" not in out and "s3cret" not in self.stored().decode()
        assert self.server.runtime.exchange.authentication.application("crm") is not None
        client = await connect(self.server.port_of("xml"))
        self.addCleanup(client.disconnect)
        assert await client.start_session(application="crm", user="bob", password="s3cret")
        status, out, _ = await self.server.command("csta", "-p", "--sessions")
        assert "crm" in out and "bob" in out

    async def test_authentication_change_restarts_listener(self) -> None:
        port = self.server.port_of("xml")
        status, _, err = await self.server.command("csta", "-i", "--authentication", "mandatory")
        assert (status, err) == (0, ""), err
        assert self.server.port_of("xml") == port  # same port as run (--xml-port 0)
        client = await connect(port)
        self.addCleanup(client.disconnect)
        assert (
            await client.error(
                '<MonitorStart xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3">'
                "<monitorObject><deviceObject>1001</deviceObject></monitorObject></MonitorStart>"
            )
            == "security/generic"
        )

    async def test_tr87_settings_apply_to_the_running_sip_port(self) -> None:
        """csta -i --out-of-dialog-info: the next out-of-dialog INFO on the running TR/87
        port is served, then (set back) answered 481; the listener is not restarted."""
        port = self.server.port_of("sip")
        ua = await connect_ua(self, port, "udp")
        request = Lync.make_call(LINE, "tel:+4685551102")
        assert (await ua.request(request, in_dialog=False)).status == 481
        status, out, err = await self.server.command(
            "csta", "-i", "--type", "tr87", "--out-of-dialog-info", "yes"
        )
        assert (status, err) == (0, ""), err
        assert "out-of-dialog INFO yes" in out and "applied now" in out
        assert self.server.port_of("sip") == port
        served = await ua.request(Lync.make_call(LINE, "tel:+4685551102"), in_dialog=False)
        assert (served.status, served.name) == (200, "MakeCallResponse")
        await self.server.command("csta", "-i", "--type", "tr87", "--out-of-dialog-info", "no")
        refused = await ua.request(Lync.make_call(LINE, "tel:+4685551103"), in_dialog=False)
        assert refused.status == 481
        assert self.server.runtime.simulator.reset() == 1  # the served call, and its timers

    async def test_console_script_uses_the_running_server(self) -> None:
        await settle()
        code = (
            "import sys; from cstaserver.admin.commands import console_main; "
            "sys.exit(console_main('csta', sys.argv[1:]))"
        )
        out, err, status = await getProcessOutputAndValue(
            sys.executable, ["-c", code, "-p", "--data", str(self.data)], env=None, path="."
        )
        assert status == 0, err
        assert b"CSTA server: running" in out
