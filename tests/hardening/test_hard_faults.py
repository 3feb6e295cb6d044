"""Faults: clients vanishing mid-call and mid-request, many sessions expiring
on the clock while requests flow, ``csta -e`` while clients are busy, a reattach after a
lost connection, and a restart of ``twistd -n csta`` killed with SIGKILL: configuration,
criteria and the certificate fingerprint survive. (SIGKILL during saves:
tests/admin/test_admin_crash.py.)"""

from __future__ import annotations

import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from twisted.internet import reactor as global_reactor
from twisted.trial import unittest

from cstaserver.admin import control
from cstaserver.admin.output import BufferOutput
from cstaserver.config import DataDirectory, Limits
from cstaserver.xmlproto.framing import encode_frame
from tests.hardening.support import (
    FullServer,
    LogCapture,
    answer_now,
    deferred,
    sip_ua,
    until,
    xml_client,
)
from tests.xmlproto.xml_client import Req, make_world


def test_client_vanishes_right_after_make_call() -> None:
    """A sends MakeCall and its connection is aborted before it reads the answer: the call
    goes on (1001 rings), B's monitor on 1001 sees it, A's monitors are gone."""
    world = make_world()
    a, b = world.connect(), world.connect()
    answer_now(a, Req.monitor_start("1000"))
    answer_now(b, Req.monitor_start("1001"))
    with LogCapture() as logs:
        a.server.dataReceived(encode_frame("0007", Req.make_call("1000", "1001").encode()))
        a.server_transport.abortConnection()
        a.server.connectionLost(None)
        world.advance(0)
    assert logs.failures() == []
    assert world.core.monitors.owned_by(a.server.association) == []
    assert [row for row in world.switch.snapshot_device("1001")], "the call is gone"
    names = [event.name for event in b.events]
    assert "DeliveredEvent" in names, names
    # the call can still be answered and cleared from the other side
    call_id = b.events[-1].message.connection.call_id
    assert answer_now(b, Req.answer(call_id, "1001")).name == "AnswerCallResponse"
    assert answer_now(b, Req.clear_call(call_id, "1001")).name == "ClearCallResponse"
    assert world.switch.calls == {} or not world.switch.snapshot_device("1001")


def test_client_vanishes_during_a_delayed_answer() -> None:
    """A wrong login is answered after a delay; the client is gone by then: nothing fails,
    the association is gone, others are served."""
    world = make_world(authenticated=True)
    a, b = world.connect(), world.connect()
    with LogCapture() as logs:
        a.send_frame("0001", Req.start_session(password="wrong"))
        a.disconnect()
        world.advance(2)
    assert logs.failures() == []
    assert all(assoc.transport is not a.server for assoc in world.core.associations)
    assert answer_now(b, Req.snapshot_device("1000")).name == "SnapshotDeviceResponse"


def test_many_sessions_expire_while_requests_flow() -> None:
    """60 sessions with monitors expire on the clock at staggered times while another
    client keeps sending requests: each gets ApplicationSessionTerminated
    (sessionTimerExpired), its monitors stop, every request is answered."""
    world = make_world(authenticated=True)
    worker = world.connect()
    clients = []
    for index in range(60):
        client = world.connect()
        answer_now(client, Req.start_session(duration=10 + index % 20))
        answer_now(client, Req.monitor_start(f"10{index % 10:02d}"))
        clients.append(client)
    monitors_before = len(world.core.monitors)
    answered = 0
    with LogCapture() as logs:
        for step in range(80):  # 40 s of clock in 0.5 s steps
            world.advance(0.5)
            frame = answer_now(worker, Req.snapshot_device(f"10{step % 10:02d}"))
            answered += frame.name == "SnapshotDeviceResponse"
    assert answered == 80
    assert logs.failures() == []
    for client in clients:
        terminated = [e for e in client.events if e.name == "ApplicationSessionTerminated"]
        assert len(terminated) == 1, [e.name for e in client.events]
        assert b"sessionTimerExpired" in terminated[0].body
    assert len(world.core.monitors) == monitors_before - 60
    assert world.core.sessions.sessions == {}


def test_reattach_after_a_lost_connection() -> None:
    """With session_cleanup_delay > 0 a client reconnects and reattaches: same session,
    same monitor, the events of the gap replayed, new events delivered."""
    world = make_world(authenticated=True, limits=Limits(session_cleanup_delay=30))
    first = world.connect()
    session_id = answer_now(first, Req.start_session()).message.session_id
    xref = answer_now(first, Req.monitor_start("1001")).message.monitor_cross_ref_id
    first.server_transport.abortConnection()
    first.server.connectionLost(None)
    call_id, _ = world.switch.make_call("1000", "1001")  # during the gap
    world.advance(5)
    second = world.connect()
    frame = answer_now(second, Req.start_session(reattach=session_id))
    assert frame.name == "StartApplicationSessionPosResponse"
    assert frame.message.session_id == session_id
    replayed = [e for e in second.events if e.name == "DeliveredEvent"]
    assert replayed and replayed[0].message.monitor_cross_ref_id == xref
    second.events.clear()
    world.switch.clear_call(call_id)  # after the reattach: delivered live
    world.advance(0)
    second.flush()
    live = [e for e in second.events if e.message.monitor_cross_ref_id == xref]
    assert "ConnectionClearedEvent" in [e.name for e in live]


class RemovedWhileBusyTests(unittest.TestCase):
    """``csta -e`` (over the control channel) removes the XML server while its clients send
    requests: they are closed cleanly, nothing fails, TR/87 keeps serving."""

    def setUp(self) -> None:
        tmp = Path(tempfile.mkdtemp(prefix="csta"))  # short: the control socket's path
        self.addCleanup(shutil.rmtree, tmp, True)
        self.server = FullServer(self, tmp / "data")

    async def _busy(self) -> None:
        xml_port = self.server.port_of("xml")
        clients = [await xml_client(xml_port) for _ in range(5)]
        ua = await sip_ua(self, self.server.port_of("sip"), "udp")
        await ua.open()
        answered = 0
        with LogCapture() as logs:
            for client in clients:  # pipelined requests in flight
                for _ in range(20):
                    client.request(Req.snapshot_device("1000")).addCallbacks(
                        lambda _: None, lambda _: None
                    )
            out = BufferOutput()
            socket_path = self.server.root.runtime.data_directory.path / "control.sock"
            status = await control.send(
                global_reactor, socket_path, "csta", ["-e", "--type", "xml"], out
            )
            self.assertEqual(status, 0, out.stderr)
            await until(lambda: all(c.is_closed for c in clients), "XML clients closed")
            answered = sum(
                1 for c in clients for f in c.received if f.name == "SnapshotDeviceResponse"
            )
            reply = await ua.csta(Req.snapshot_device("1000"))
            self.assertEqual(reply.name, "SnapshotDeviceResponse")
        self.assertEqual(logs.failures(), [])
        self.assertGreaterEqual(answered, 0)
        self.assertNotIn(
            "xml", [s.profile.name for s in getattr(self.server.core, "associations", [])]
        )

    def test_csta_e_while_busy(self) -> object:
        return deferred(self._busy())


# --------------------------------------------------------------------------- restart

STARTUP = 30.0
BIN = Path(sys.executable).parent


def _start(data: Path) -> tuple[subprocess.Popen[bytes], dict[str, int]]:
    """twistd -n csta on ``data``, every port 0; returns the process and its ports."""
    command = [
        str(BIN / "twistd"),
        "-n",
        "--pidfile=",
        "csta",
        "--data",
        str(data),
        *("--xml-port 0 --tls-port 0 --sip-port 0 --web-port 0".split()),
        *("--admin-port 0 --admin-ssh-port 0".split()),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    ports: dict[str, int] = {}
    deadline = time.monotonic() + STARTUP
    buffer = b""
    while b"csta: started" not in buffer:
        remaining = deadline - time.monotonic()
        ready, _, _ = select.select([process.stdout], [], [], max(0.0, remaining))
        if not ready or remaining <= 0:
            raise AssertionError(f"no start-up: {buffer.decode(errors='replace')[-2000:]}")
        chunk = os.read(process.stdout.fileno(), 65536)
        if not chunk:
            raise AssertionError(f"exited: {buffer.decode(errors='replace')[-2000:]}")
        buffer += chunk
    for name, port in re.findall(rb"listening: (\S+) on \S+:(\d+)", buffer):
        ports[name.decode()] = int(port)
    return process, ports


def _command(data: Path, program: str, *argv: str) -> str:
    result = subprocess.run(
        [str(BIN / program), "--data", str(data), *argv],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode()


def _kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def test_restart_after_sigkill_keeps_configuration(tmp_path: Path) -> None:
    data = tmp_path / "data"
    process, ports = _start(data)
    try:
        assert "xml" in ports
        _command(
            data,
            "csta_authentication",
            "-i",
            "--application",
            "crm",
            "--user",
            "agent_app",
            "--password",
            "Secr3t-x",
            "--max-duration",
            "3600",
        )
        _command(data, "csta", "-i", "--authentication", "mandatory")
        certificate = _command(data, "mxone_certificate", "--self-signed", "--cn", "x")
        fingerprint = re.search(r"fingerprint:\s+(.+)", certificate).group(1).strip()
        before = _command(data, "csta", "-p")
    finally:
        _kill(process)
    process, ports = _start(data)
    try:
        after_certificate = _command(data, "mxone_certificate", "-p")
        assert fingerprint in after_certificate
        criteria = _command(data, "csta_authentication", "-p")
        assert "crm" in criteria and "agent_app" in criteria and "Secr3t-x" not in criteria
        status = _command(data, "csta", "-p")
        assert "mandatory" in status and "mandatory" in before
        exchange = DataDirectory(data).load()
        application = exchange.authentication.application("crm")
        assert application is not None and application.max_duration == 3600
    finally:
        _kill(process)


def test_restart_serves_clients_again(tmp_path: Path) -> None:
    """After SIGKILL and restart on the same data, the XML port answers (a raw socket)."""
    import socket

    data = tmp_path / "data"
    process, _ = _start(data)
    _kill(process)
    process, ports = _start(data)
    try:
        with socket.create_connection(("127.0.0.1", ports["xml"]), timeout=10) as sock:
            sock.sendall(encode_frame("0001", Req.snapshot_device("1000").encode()))
            answer = sock.recv(65536)
        assert b"SnapshotDeviceResponse" in answer
    finally:
        _kill(process)
