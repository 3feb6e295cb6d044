"""Fair reading on the XML port: a connection handles at most ``frames_per_turn`` frames per
reactor turn, so a client with hundreds of pipelined requests cannot hold the reactor; the
rest waits, in order, with reading paused, and every frame is answered."""

from __future__ import annotations

import struct

from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransportWithDisconnection

from cstaserver.csta.association import Profile
from cstaserver.csta.core import CstaCore
from cstaserver.pbx.demo import demo_plan
from cstaserver.pbx.switch import Switch
from cstaserver.xmlproto.framing import Deframer, encode_frame
from cstaserver.xmlproto.protocol import FRAMES_PER_TURN, CstaXmlFactory
from tests.xmlproto.xml_client import Req, xml

STATUS = xml("RequestSystemStatus").encode()
MAX_TURNS = 1000  # every loop below is bounded


class LoggedTransport(StringTransportWithDisconnection):
    """Records each write, with the connection's name, in a log shared by connections."""

    def __init__(self, name: str, writes: list[tuple[str, bytes]], port: int) -> None:
        super().__init__(peerAddress=IPv4Address("TCP", "127.0.0.1", port))
        self.name = name
        self.writes = writes

    def write(self, data: bytes) -> None:
        self.writes.append((self.name, data))
        super().write(data)


class Server:
    def __init__(self) -> None:
        self.clock = Clock()
        self.core = CstaCore(Switch(demo_plan(), self.clock), self.clock)
        self.factory = CstaXmlFactory(self.core, Profile(name="xml"), self.clock)
        self.writes: list[tuple[str, bytes]] = []

    def connect(self, name: str, port: int) -> tuple[object, LoggedTransport]:
        server = self.factory.buildProtocol(None)
        transport = LoggedTransport(name, self.writes, port)
        transport.protocol = server
        server.makeConnection(transport)
        return server, transport

    def turn(self) -> bool:
        """One reactor turn: run the calls due now, not those they schedule for now (as the
        reactor's ``runUntilCurrent``; ``Clock.advance(0)`` would run those too). False:
        nothing was due."""
        due = [call for call in self.clock.calls if call.getTime() <= self.clock.seconds()]
        for call in due:
            if call in self.clock.calls:  # not cancelled by an earlier one
                self.clock.calls.remove(call)
                call.called = 1
                call.func(*call.args, **call.kw)
        return bool(due)

    def turns(self) -> int:
        """Run reactor turns until nothing is due now: how many there were."""
        for turn in range(MAX_TURNS):
            if not self.turn():
                return turn
        raise AssertionError(f"still busy after {MAX_TURNS} turns")

    def answers(self, name: str) -> list[str]:
        """The invoke IDs of the answers (not events) written to connection ``name``."""
        data = b"".join(chunk for who, chunk in self.writes if who == name)
        return [frame.invoke_id for frame in Deframer().feed(data) if frame.invoke_id != "9999"]


def frames(ids: range, body: bytes = STATUS) -> bytes:
    return b"".join(encode_frame(f"{n:04d}", body) for n in ids)


def test_a_thousand_pipelined_frames_are_answered_in_order_over_several_turns() -> None:
    world = Server()
    flood, flood_transport = world.connect("flood", 40001)
    other, _other_transport = world.connect("other", 40002)
    world.writes.clear()

    flood.dataReceived(frames(range(1, 1001)))
    # one slice answered at once, the rest waits with reading paused
    assert world.answers("flood") == [f"{n:04d}" for n in range(1, FRAMES_PER_TURN + 1)]
    assert flood_transport.producerState == "paused"

    assert world.turn()  # a turn later another connection's request arrives
    other.dataReceived(frames(range(7, 8)))
    assert world.answers("other") == ["0007"]  # answered while the flood still waits
    assert len(world.answers("flood")) == 2 * FRAMES_PER_TURN

    turns = world.turns()
    assert turns == -(-1000 // FRAMES_PER_TURN) - 2  # one slice per turn
    assert world.answers("flood") == [f"{n:04d}" for n in range(1, 1001)]
    assert flood_transport.producerState == "producing"  # reading again
    order = [who for who, _ in world.writes]
    first, last = order.index("flood"), len(order) - 1 - order[::-1].index("flood")
    assert first < order.index("other") < last  # in between the flood's answers


def test_data_arriving_while_frames_wait_is_answered_after_them() -> None:
    world = Server()
    flood, _transport = world.connect("flood", 40001)
    world.writes.clear()
    flood.dataReceived(frames(range(1, 101)))
    # a TLS layer may hand over more plaintext after reading was paused
    flood.dataReceived(frames(range(101, 121)))
    assert len(world.answers("flood")) == FRAMES_PER_TURN
    world.turns()
    assert world.answers("flood") == [f"{n:04d}" for n in range(1, 121)]


def test_frames_of_a_slice_are_one_write() -> None:
    world = Server()
    flood, _transport = world.connect("flood", 40001)
    world.writes.clear()
    flood.dataReceived(frames(range(1, 3 * FRAMES_PER_TURN + 1)))
    world.turns()
    assert len(world.writes) == 3
    assert world.answers("flood") == [f"{n:04d}" for n in range(1, 3 * FRAMES_PER_TURN + 1)]


def test_frames_before_a_framing_error_are_answered_before_the_close() -> None:
    world = Server()
    flood, transport = world.connect("flood", 40001)
    world.writes.clear()
    flood.dataReceived(frames(range(1, 41)) + struct.pack(">HH", 0, 5) + b"0041")
    assert transport.connected  # not before the 40 frames are answered
    world.turns()
    assert world.answers("flood") == [f"{n:04d}" for n in range(1, 41)]
    assert not transport.connected


def test_a_lost_connection_drops_its_waiting_frames() -> None:
    world = Server()
    flood, transport = world.connect("flood", 40001)
    body = Req.monitor_start("1000")
    flood.dataReceived(frames(range(1, 101), body if isinstance(body, bytes) else body.encode()))
    assert len(world.core.monitors) == FRAMES_PER_TURN  # the first slice
    transport.loseConnection()  # StringTransportWithDisconnection: connectionLost now
    assert world.turns() == 0  # the next slice is no longer due
    assert len(world.core.monitors) == 0  # stopped with the association, none started after
