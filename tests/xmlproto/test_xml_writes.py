"""The XML port writes the answers and events caused by one read as one write, in order,
and before it closes the connection."""

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
from cstaserver.xmlproto.protocol import CstaXmlFactory
from tests.xmlproto.xml_client import Req, xml


class CountingTransport(StringTransportWithDisconnection):
    def __init__(self) -> None:
        super().__init__(peerAddress=IPv4Address("TCP", "127.0.0.1", 40000))
        self.writes = 0

    def write(self, data: bytes) -> None:
        self.writes += 1
        super().write(data)


def connect() -> tuple[object, CountingTransport]:
    clock = Clock()
    core = CstaCore(Switch(demo_plan(), clock), clock)
    server = CstaXmlFactory(core, Profile(name="xml"), clock).buildProtocol(None)
    transport = CountingTransport()
    transport.protocol = server
    server.makeConnection(transport)
    transport.clear()
    transport.writes = 0
    return server, transport


def frame(invoke_id: str, body: str | bytes) -> bytes:
    return encode_frame(invoke_id, body.encode() if isinstance(body, str) else body)


def frames_of(data: bytes) -> list[tuple[str, bytes]]:
    return [(frame.invoke_id, frame.body) for frame in Deframer().feed(data)]


def test_the_answers_to_one_read_are_one_write_in_order() -> None:
    server, transport = connect()
    status = xml("RequestSystemStatus")
    server.dataReceived(
        frame("0001", status)
        + frame("0002", b"<MakeCall xmlns='x'><callingDevice>")  # bad XML
        + frame("0003", Req.monitor_start("1000"))
        + frame("0004", Req.make_call("1000", "1001"))
    )
    assert transport.writes == 1
    frames = frames_of(transport.value())
    answers = [(invoke, body) for invoke, body in frames if invoke != "9999"]
    assert [invoke for invoke, _ in answers] == ["0001", "0002", "0003", "0004"]
    assert b"RequestSystemStatusResponse" in answers[0][1]
    assert b"CSTAErrorCode" in answers[1][1]
    assert b"MakeCallResponse" in answers[3][1]
    events = [body for invoke, body in frames if invoke == "9999"]
    assert events and b"ServiceInitiatedEvent" in events[0]  # the monitor saw the call
    # the event comes after the MonitorStart answer and its call's MakeCall answer
    assert frames.index(("9999", events[0])) > frames.index(answers[2])
    server.dataReceived(frame("0005", status))  # the next read: its own write
    assert transport.writes == 2


def test_answers_are_written_before_a_framing_error_closes() -> None:
    server, transport = connect()
    server.dataReceived(
        frame("0001", xml("RequestSystemStatus")) + struct.pack(">HH", 0, 5) + b"0001"
    )
    assert [invoke for invoke, _ in frames_of(transport.value())] == ["0001"]
    assert not transport.connected  # closed, after the answer


def test_writes_outside_a_read_go_at_once() -> None:
    server, transport = connect()
    server.dataReceived(frame("0001", Req.monitor_start("1000")))
    writes = transport.writes
    server.association.core.switch.make_call("1000", "1001")  # not from this client
    assert transport.writes > writes
    assert b"ServiceInitiatedEvent" in transport.value()
