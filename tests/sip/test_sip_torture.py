"""RFC 4475 torture messages: through the parser, and through the endpoint over UDP."""

from __future__ import annotations

import pytest

from cstaserver.sip.message import SipParseError, SipRequest, SipResponse, parse_datagram
from tests.sip.sip_support import RecordingFlow, deliver, make_endpoint
from tests.sip.torture import CASES, INTMETH_METHOD, INTMETH_URI, TortureCase

ids = [case.name for case in CASES]


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_parser(case: TortureCase) -> None:
    if case.parse_status is None:
        message = parse_datagram(case.data)
        assert isinstance(message, SipRequest | SipResponse)
    else:
        with pytest.raises(SipParseError) as caught:
            parse_datagram(case.data)
        assert caught.value.status == case.parse_status


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_endpoint_answer(case: TortureCase) -> None:
    endpoint, app, _ = make_endpoint()
    flow = RecordingFlow(peer=("192.0.2.77", 5060))
    deliver(endpoint, flow, case.data)
    statuses = [response.status for response in flow.final_responses()]
    assert statuses == ([] if case.answer is None else [case.answer])
    assert not app.invites and not app.infos
    assert endpoint.stats["internal errors"] == 0


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_stream_parser_agrees(case: TortureCase) -> None:
    from tests.sip.test_sip_message import stream_messages

    if case.name in ("clerr", "dblreq", "inv2543"):
        pytest.skip("framing differs by design between UDP and TCP")
    (first, *_) = stream_messages(case.data, 7)
    if case.parse_status is None:
        assert not isinstance(first, SipParseError)
    else:
        assert isinstance(first, SipParseError) and first.status == case.parse_status


def test_intmeth_values() -> None:
    message = parse_datagram(next(c for c in CASES if c.name == "intmeth").data)
    assert message.method == INTMETH_METHOD
    assert message.uri == INTMETH_URI
    assert message.cseq.method == INTMETH_METHOD
    assert message.to_address.display_name == "BEL:\x07 NUL:\x00 DEL:\x7f"
    assert message.from_address.display_name == "token1~` token2'+_ token3*%!.-"
    assert message.from_tag == "_token~1'+`*%!-."
    assert message.call_id == "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"


def test_esc02_percent_is_not_an_escape_in_names() -> None:
    message = parse_datagram(next(c for c in CASES if c.name == "esc02").data)
    assert message.method == "RE%47IST%45R"
    assert len(message.headers.get_all("Contact")) == 2
    assert message.headers.get("C%6Fntact") == "<sip:alias2@host2.example.com>"


def test_dblreq_second_request_ignored() -> None:
    message = parse_datagram(next(c for c in CASES if c.name == "dblreq").data)
    assert message.method == "REGISTER" and message.body == b""


def test_mpart01_binary_body_kept() -> None:
    from tests.sip.torture import MPART01_BODY

    message = parse_datagram(next(c for c in CASES if c.name == "mpart01").data)
    assert message.body == MPART01_BODY
    assert message.to_bytes().endswith(MPART01_BODY)


def test_semiuri_and_transports() -> None:
    semiuri = parse_datagram(next(c for c in CASES if c.name == "semiuri").data)
    assert semiuri.uri == "sip:user;par=u%40example.net@example.com"
    assert len(semiuri.headers.get_all("Accept")) == 6
    transports = parse_datagram(next(c for c in CASES if c.name == "transports").data)
    assert [via.transport for via in transports.vias] == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]


def test_unreason_and_noreason() -> None:
    unreason = parse_datagram(next(c for c in CASES if c.name == "unreason").data)
    assert unreason.status == 200 and unreason.reason.startswith("= 2**3 * 5**2 но")
    noreason = parse_datagram(next(c for c in CASES if c.name == "noreason").data)
    assert (noreason.status, noreason.reason) == (100, "")


def test_insuf_answer_copies_what_exists() -> None:
    endpoint, _, _ = make_endpoint()
    flow = RecordingFlow()
    deliver(endpoint, flow, next(c for c in CASES if c.name == "insuf").data)
    (response,) = flow.responses
    assert response.status == 400
    assert response.headers.get("CSeq") == "193942 INVITE"
    assert response.top_via.branch == "z9hG4bKkdj.insuf"
