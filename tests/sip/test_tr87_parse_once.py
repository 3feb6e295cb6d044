"""A TR/87 request's CSTA body is parsed once (the safe parser's work is most of a small
request's cost): the INVITE that opens a dialog (its well-formedness check, its ``lcs:line``
and its request), and an INFO in the dialog, each parse their body once and hand the parsed
root on to the core."""

from __future__ import annotations

from typing import Any

import pytest
from twisted.internet.task import Clock

from cstaserver.csta import codec, core, xmlsafe
from cstaserver.csta.core import CstaCore
from cstaserver.pbx.demo import demo_plan
from cstaserver.pbx.switch import Switch
from cstaserver.sip import tr87
from cstaserver.sip.endpoint import SipConfig, SipEndpoint
from cstaserver.sip.tr87 import Tr87Application
from tests.sip.sip_support import RecordingFlow, deliver, sip_request
from tests.sip.tr87_ua import Lync
from tests.xmlproto.xml_client import Req


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The bodies the safe parser parses, wherever it is called from."""
    bodies: list[bytes] = []
    original = xmlsafe.parse_document

    def counting(data: Any, **options: Any) -> Any:
        bodies.append(bytes(data))
        return original(data, **options)

    for module in (xmlsafe, codec, core, tr87):
        monkeypatch.setattr(module, "parse_document", counting)
    return bodies


def test_an_invite_and_an_info_parse_their_body_once(parsed: list[bytes]) -> None:
    clock = Clock()
    csta = CstaCore(Switch(demo_plan(), clock), clock)
    application = Tr87Application(csta, clock)
    endpoint = SipEndpoint(application, clock, SipConfig())
    flow = RecordingFlow(reliable=True, peer=("192.0.2.7", 40000))
    invite = Lync.request_system_status("tel:+4685551101").encode()
    deliver(endpoint, flow, sip_request("INVITE", call_id="once", body=invite))
    clock.advance(0)
    (ok,) = flow.final_responses()
    assert ok.status == 200 and b"RequestSystemStatusResponse" in ok.body, ok.body
    assert "1101" in application.lines  # its lcs:line was read (from the same root)
    assert parsed == [invite]
    deliver(endpoint, flow, sip_request("ACK", call_id="once", to_tag=ok.to_tag, cseq=1))
    flow.clear()
    info = Req.monitor_start("1101").encode()
    deliver(
        endpoint, flow, sip_request("INFO", call_id="once", to_tag=ok.to_tag, cseq=2, body=info)
    )
    clock.advance(0)
    (ok,) = flow.final_responses()
    assert ok.status == 200 and b"MonitorStartResponse" in ok.body, ok.body
    assert parsed == [invite, info]
    endpoint.close("test over")
    clock.advance(64)
