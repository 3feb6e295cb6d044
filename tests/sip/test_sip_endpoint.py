"""The answers the UA core gives itself (RFC 3261 §8.2; docs/protocol-notes.md T4)."""

from __future__ import annotations

import pytest

from cstaserver.sip.endpoint import ALLOWED_METHODS, SipConfig
from cstaserver.sip.interfaces import SipAnswer, coerce_answer
from cstaserver.sip.message import ParserLimits, SipResponse
from tests.sip.sip_support import RecordingFlow, deliver, make_endpoint, sip_request


def answer(data: bytes, **config: object) -> SipResponse:
    endpoint, app, _ = make_endpoint(**config)
    flow = RecordingFlow(reliable=True)
    deliver(endpoint, flow, data)
    (response,) = flow.final_responses()
    assert not app.invites and not app.infos
    return response


def test_405_with_allow() -> None:
    response = answer(sip_request("MESSAGE", body=b"hi", content_type="text/plain"))
    assert response.status == 405
    assert response.headers.get_all("Allow") == list(ALLOWED_METHODS)
    assert answer(sip_request("SUBSCRIBE")).status == 405
    assert answer(sip_request("REGISTER")).status == 405


def test_options_200() -> None:
    response = answer(sip_request("OPTIONS"))
    assert response.status == 200
    assert "INFO" in response.headers.get_all("Allow")
    assert response.headers.get("Accept") == "application/csta+xml"
    assert response.headers.get("Supported") == "timer"


def test_481_for_unknown_dialog() -> None:
    for method in ("INFO", "BYE", "INVITE", "UPDATE"):
        response = answer(sip_request(method, to_tag="nosuchtag", body=b"<x/>"))
        assert response.status == 481, method
    assert answer(sip_request("BYE")).status == 481


def test_stray_ack_gets_nothing() -> None:
    endpoint, _, _ = make_endpoint()
    flow = RecordingFlow()
    deliver(endpoint, flow, sip_request("ACK", to_tag="nosuchtag"))
    assert flow.sent == []


def test_400_for_cseq_method_mismatch_and_garbage() -> None:
    response = answer(sip_request("INFO", cseq_method="INVITE", to_tag="t", body=b"<x/>"))
    assert response.status == 400
    assert response.headers.get("CSeq") == "1 INVITE"
    endpoint, _, _ = make_endpoint()
    flow = RecordingFlow()
    deliver(endpoint, flow, b"\x00\xffnot sip at all\r\n\r\n")
    assert flow.sent == []
    assert endpoint.stats["parse errors"] == 1


@pytest.mark.parametrize(
    "content_type",
    ["application/sdp", "text/plain", None, "application/csta+json"],
)
def test_415_with_accept(content_type: str | None) -> None:
    response = answer(sip_request("INFO", to_tag="t", body=b"v=0\r\n", content_type=content_type))
    assert response.status == 415
    assert response.headers.get("Accept") == "application/csta+xml"
    invite = answer(sip_request("INVITE", body=b"v=0\r\n", content_type=content_type))
    assert invite.status == 415


@pytest.mark.parametrize(
    "content_type",
    ["application/csta+xml", "Application/CSTA+XML", "application/csta+xml; charset=UTF-8"],
)
def test_csta_body_accepted_whatever_its_parameters_and_case(content_type: str) -> None:
    endpoint, app, _ = make_endpoint()
    flow = RecordingFlow(reliable=True)
    deliver(endpoint, flow, sip_request("INVITE", body=b"<R/>", content_type=content_type))
    assert flow.final_responses()[-1].status == 200


def test_513_for_oversized_messages() -> None:
    response = answer(
        sip_request("INFO", to_tag="t", body=b"x" * 2000),
        limits=ParserLimits(max_message_size=1500),
    )
    assert response.status == 513


def test_489_for_uacsta_notify() -> None:
    response = answer(
        sip_request("NOTIFY", to_tag="t", body=b"<DeliveredEvent/>", extra=(("Event", "uaCSTA"),))
    )
    assert response.status == 489


def test_416_and_420() -> None:
    assert answer(sip_request("INFO", uri="mailto:a@b")).status == 416
    response = answer(sip_request("INFO", extra=(("Require", "100rel, timer"),)))
    assert response.status == 420
    assert response.headers.get("Unsupported") == "100rel"


def test_505_for_another_version() -> None:
    data = sip_request("OPTIONS").replace(b"SIP/2.0\r\n", b"SIP/3.0\r\n", 1)
    assert answer(data).status == 505


def test_out_of_dialog_info_goes_to_the_application() -> None:
    endpoint, app, _ = make_endpoint()
    flow = RecordingFlow(reliable=True)
    deliver(endpoint, flow, sip_request("INFO", body=b"<MakeCall/>"))
    assert flow.final_responses()[-1].status == 481
    assert len(app.out_of_dialog) == 1
    app.out_of_dialog_answer = b"<MakeCallResponse/>"
    deliver(endpoint, flow, sip_request("INFO", cseq=2, body=b"<MakeCall/>"))
    response = flow.final_responses()[-1]
    assert (response.status, response.body, response.content_type) == (
        200,
        b"<MakeCallResponse/>",
        "application/csta+xml",
    )


def test_udp_retransmission_answered_again_until_timer_j_then_a_new_request() -> None:
    """RFC 3261 §17.2.2 over UDP: within 64*T1 a retransmitted INFO gets the same response
    and the application sees it once; after Timer J it is a new request."""
    endpoint, app, clock = make_endpoint()
    app.out_of_dialog_answer = b"<MakeCallResponse/>"
    flow = RecordingFlow()  # UDP
    data = sip_request("INFO", transport="UDP", body=b"<MakeCall/>")
    deliver(endpoint, flow, data)
    clock.advance(31.5)
    deliver(endpoint, flow, data)
    assert flow.sent[0] == flow.sent[1] and len(app.out_of_dialog) == 1
    assert endpoint.stats["retransmissions"] == 1
    clock.advance(0.5)  # 32 s after the response: Timer J
    assert len(endpoint.transactions) == 0 and clock.getDelayedCalls() == []
    deliver(endpoint, flow, data)
    assert len(app.out_of_dialog) == 2 and endpoint.stats["retransmissions"] == 1
    assert [r.status for r in flow.final_responses()] == [200, 200, 200]


def test_udp_via_stamped_with_received_and_rport() -> None:
    endpoint, _, _ = make_endpoint()
    flow = RecordingFlow(peer=("198.51.100.7", 40404))
    data = sip_request("OPTIONS", transport="UDP", branch="z9hG4bKr").replace(
        b";branch=z9hG4bKr", b";branch=z9hG4bKr;rport"
    )
    deliver(endpoint, flow, data)
    via = flow.responses[0].top_via
    assert (via.received, via.rport) == ("198.51.100.7", 40404)


def test_rfc_response_routing_when_not_symmetric() -> None:
    endpoint, _, _ = make_endpoint(symmetric_responses=False)
    targets: list = []

    class Routing(RecordingFlow):
        def to_address(self, host: str, port: int) -> RecordingFlow:
            targets.append((host, port))
            return self

    deliver(
        endpoint, Routing(peer=("198.51.100.7", 40404)), sip_request("OPTIONS", transport="UDP")
    )
    assert targets == [("198.51.100.7", 50123)]  # received, sent-by port


def test_coerce_answer() -> None:
    assert coerce_answer(None) == SipAnswer()
    assert coerce_answer(481) == SipAnswer(481)
    assert coerce_answer(b"<x/>") == SipAnswer(body=b"<x/>")
    assert coerce_answer((200, {"Content-Type": "a/b", "X": "1"}, b"y")) == SipAnswer(
        200, b"y", "a/b", (("X", "1"),)
    )
    with pytest.raises(TypeError):
        coerce_answer("text")


def test_config_refuses_short_session_expires() -> None:
    with pytest.raises(ValueError):
        SipConfig(session_expires=60)


def test_interfaces_are_provided() -> None:
    from zope.interface.verify import verifyObject

    from cstaserver.sip.interfaces import ISipApplication, ISipDialog, ISipFlow
    from cstaserver.sip.transport import SipDatagramProtocol, SipStreamProtocol, UdpFlow
    from tests.sip.sip_support import RecordingApplication

    endpoint, app, _ = make_endpoint()
    flow = RecordingFlow(reliable=True)
    deliver(endpoint, flow, sip_request("INVITE"))
    (dialog,) = endpoint.dialogs.values()
    assert verifyObject(ISipDialog, dialog)
    assert verifyObject(ISipApplication, RecordingApplication())
    assert verifyObject(ISipFlow, UdpFlow(SipDatagramProtocol(endpoint), ("127.0.0.1", 5060)))
    assert verifyObject(ISipFlow, SipStreamProtocol(endpoint))
