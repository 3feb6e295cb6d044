"""Fuzzing TR/87 and SOAP: the SIP parsers (datagram and stream) and the SIP
endpoint with the TR/87 application fed mutated INVITEs and INFOs; the SOAP envelope parser
and the SOAP resource's ``render_POST``. Only ``SipParseError`` / ``SoapFault`` come out of
the parsers; the endpoint answers every request it can parse (a final response, never an
exception) and another dialog stays served."""

from __future__ import annotations

import contextlib
import io
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from twisted.internet.task import Clock
from twisted.web.test.requesthelper import DummyRequest

from cstaserver.csta.core import CstaCore
from cstaserver.pbx.demo import demo_plan
from cstaserver.pbx.switch import Switch
from cstaserver.sip.endpoint import SipConfig, SipEndpoint
from cstaserver.sip.message import (
    SipParseError,
    SipRequest,
    SipStreamParser,
    parse_datagram,
)
from cstaserver.sip.tr87 import Tr87Application
from cstaserver.soap.envelope import SOAP11, SOAP12, SoapFault, parse_envelope
from tests.hardening.support import (
    FUZZ,
    LogCapture,
    chunks,
    count_case,
    cut_points,
    hostile,
)
from tests.sip.sip_support import RecordingFlow, deliver, lenient_parse, sip_request
from tests.sip.tr87_ua import Lync
from tests.soap.soap_support import basic, soap11, soap12
from tests.xmlproto.xml_client import Req

# --------------------------------------------------------------------------- SIP

SIP_CORPUS: list[bytes] = [
    sip_request("INVITE", body=Lync.request_system_status().encode()),
    sip_request("INVITE", body=b"", extra=(("Supported", "timer"), ("Session-Expires", "1800"))),
    sip_request("INFO", to_tag="abc", cseq=2, body=Req.monitor_start("1101").encode()),
    sip_request("INFO", to_tag="abc", cseq=3, body=Req.make_call("1101", "1102").encode()),
    sip_request("INFO", cseq=5, body=Req.snapshot_device("1101").encode()),
    sip_request("BYE", to_tag="abc", cseq=9),
    sip_request("OPTIONS", transport="UDP"),
]


@FUZZ
@given(data=hostile(SIP_CORPUS))
def test_parse_datagram_only_sip_parse_error(data: bytes) -> None:
    count_case("sip datagram")
    try:
        message = parse_datagram(data)
    except SipParseError as error:
        assert 400 <= error.status < 600
        return
    assert message.to_bytes()


@FUZZ
@given(data=st.lists(hostile(SIP_CORPUS), min_size=1, max_size=4).map(b"".join), cuts=cut_points)
def test_stream_parser_any_chunks(data: bytes, cuts: list[int]) -> None:
    """The stream parser yields messages or ``SipParseError`` whatever the chunking, and the
    same sequence as fed at once."""
    count_case("sip stream")

    def run(pieces: list[bytes]) -> list[Any]:
        parser = SipStreamParser()
        seen: list[Any] = []
        for piece in pieces:
            parser.feed(piece)
            for _ in range(100):
                try:
                    message = parser.next_message()
                except SipParseError as error:
                    seen.append(("error", error.status))
                    if error.fatal:
                        return seen
                    continue
                if message is None:
                    break
                seen.append(message.to_bytes())
        return seen

    whole = run([data])
    assert run(chunks(data, cuts)) == whole


class Tr87World:
    """The demo switch, core and TR/87 endpoint on one Clock (no sockets)."""

    def __init__(self) -> None:
        self.clock = Clock()
        self.switch = Switch(demo_plan(), self.clock)
        self.core = CstaCore(self.switch, self.clock)
        self.endpoint = SipEndpoint(Tr87Application(self.core, self.clock), self.clock, SipConfig())
        self.serial = 0

    def send(self, flow: RecordingFlow, data: bytes) -> None:
        deliver(self.endpoint, flow, data)
        self.clock.advance(0)

    def reset(self) -> None:
        for call_id in list(self.switch.calls):
            with contextlib.suppress(Exception):
                self.switch.clear_call(call_id)
        self.endpoint.close("reset")
        self.clock.advance(64)


_TR87: list[Tr87World] = []


def tr87_world() -> Tr87World:
    if not _TR87:
        _TR87.append(Tr87World())
    return _TR87[0]


def _open_bystander(world: Tr87World) -> tuple[RecordingFlow, str, str]:
    """A dialog from another client with a monitor on 1109; returns (flow, call id, tag)."""
    world.serial += 1
    call_id = f"bystander-{world.serial}"
    flow = RecordingFlow(reliable=True, peer=("192.0.2.99", 40000 + world.serial))
    body = Lync.request_system_status("tel:+4685551109").encode()
    world.send(flow, sip_request("INVITE", call_id=call_id, body=body))
    (ok,) = flow.final_responses()
    assert ok.status == 200, ok.status
    to_tag = ok.to_tag
    world.send(flow, sip_request("ACK", call_id=call_id, to_tag=to_tag, cseq=1))
    flow.clear()
    info = Req.monitor_start("1109").encode()
    world.send(flow, sip_request("INFO", call_id=call_id, to_tag=to_tag, cseq=2, body=info))
    assert [r.status for r in flow.final_responses()] == [200]
    flow.clear()
    return flow, call_id, to_tag


def _bystander_still_served(world: Tr87World, flow: RecordingFlow, call_id: str, tag: str) -> None:
    flow.clear()
    body = Req.make_call("1109", "1108").encode()
    world.send(flow, sip_request("INFO", call_id=call_id, to_tag=tag, cseq=3, body=body))
    (ok,) = flow.final_responses()
    assert ok.status == 200 and b"MakeCallResponse" in ok.body, ok.body
    events = [r.body for r in flow.requests if r.method == "INFO"]
    assert any(b"OriginatedEvent" in e or b"ServiceInitiatedEvent" in e for e in events)


@FUZZ
@given(data=hostile(SIP_CORPUS), reliable=st.booleans())
def test_endpoint_answers_mutated_requests(data: bytes, reliable: bool) -> None:
    """A mutated INVITE/INFO: no exception out of the endpoint, no failure logged; a request
    that parses gets exactly one final response (ACK none); the bystander dialog is still
    served, its monitor still gets events."""
    count_case("sip endpoint")
    world = tr87_world()
    try:
        bystander = _open_bystander(world)
        flow = RecordingFlow(reliable=reliable)
        with LogCapture() as logs:
            world.send(flow, data)
        assert logs.failures() == []
        try:
            request = parse_datagram(data)
        except SipParseError:
            request = None
        if isinstance(request, SipRequest) and request.method != "ACK":
            finals = flow.final_responses()
            assert len(finals) == 1, [lenient_parse(d) for d in flow.sent]
            assert 200 <= finals[0].status < 700
        _bystander_still_served(world, *bystander)
    finally:
        world.reset()


# --------------------------------------------------------------------------- SOAP

SOAP_CORPUS: list[bytes] = [
    soap11(Req.snapshot_device("1000")),
    soap12(Req.make_call("1000", "1001")),
    soap11(Req.monitor_start("1001"), header='<sessionID xmlns="urn:x">abc</sessionID>'),
    soap11("<Subscribe/>"),
    b'<?xml version="1.0"?>' + soap11(Req.on_device("GetDoNotDisturb", "1002")),
]


@FUZZ
@given(data=hostile(SOAP_CORPUS), version=st.sampled_from([SOAP11, SOAP12]))
def test_soap_envelope_only_soap_fault(data: bytes, version: Any) -> None:
    count_case("soap envelope")
    try:
        request = parse_envelope(data, version, max_bytes=65535)
    except SoapFault as fault:
        assert fault.status(version) in (400, 500)
        return
    assert request.operation


_SOAP: list[Any] = []


def soap_site() -> Any:
    if not _SOAP:
        from tests.soap.soap_support import MemoryWeb

        _SOAP.append(MemoryWeb(throttle={"delay": 0}))  # no timer of it on the real reactor
    return _SOAP[0]


def post(site: Any, body: bytes, content_type: bytes) -> DummyRequest:
    """One POST to /csta through ``render_POST`` in memory; finished when this returns."""
    request = DummyRequest([b"csta"])
    request.method = b"POST"
    request.uri = b"/csta"
    request.requestHeaders.setRawHeaders(b"content-type", [content_type])
    request.requestHeaders.setRawHeaders(b"authorization", [basic()])
    request.content = io.BytesIO(body)
    resource = site.site.resource.getChildWithDefault(b"csta", request)
    resource.render_POST(request)
    site.clock.advance(0)
    return request


@FUZZ
@given(
    data=hostile(SOAP_CORPUS),
    content_type=st.sampled_from([b"text/xml", b"application/soap+xml", b"text/plain"]),
)
def test_soap_post_answers_fault_or_response(data: bytes, content_type: bytes) -> None:
    """Any body: ``render_POST`` never raises and finishes with 200 or a fault status; a
    fault carries a SOAP Fault (or 415); a valid request right after is still answered."""
    count_case("soap post")
    site = soap_site()
    with LogCapture() as logs:
        request = post(site, data, content_type)
    assert logs.failures() == []
    assert request.finished, "no answer"
    status = request.responseCode or 200
    body = b"".join(request.written)
    assert status in (200, 400, 413, 415, 500), status
    if status != 200:
        assert b"Fault" in body, body
    after = post(site, soap11(Req.snapshot_device("1000")), b"text/xml")
    assert (after.responseCode or 200) == 200 and b"SnapshotDeviceResponse" in b"".join(
        after.written
    )
