"""The SIP fast paths answer as the general ones do (RFC 3261 §7.3, §25.1), and a UAS
parses what it reads (§8.2): a malformed field a transaction or dialog reads is a 400, one
it never reads is carried along untouched."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import Clock

from cstaserver.csta.grace import EXPIRY_GRACE, GraceTimer
from cstaserver.sip import headers as header_module
from cstaserver.sip.headers import (
    KEPT_LENGTH,
    KEPT_VALUES,
    CSeq,
    Headers,
    HeaderSyntaxError,
    NameAddress,
    Via,
    parse_params,
)
from cstaserver.sip.interfaces import SipAnswer
from cstaserver.sip.message import (
    DEFAULT_LIMITS,
    SipParseError,
    _parse_head,
    _parse_head_general,
    parse_datagram,
)
from tests.sip.sip_support import (
    RecordingApplication,
    RecordingFlow,
    deliver,
    make_endpoint,
    sip_request,
)
from tests.sip.test_sip_dialog import establish
from tests.sip.test_sip_message import requests
from tests.sip.torture import CASES


def _reading(read: Any, head: bytes) -> Any:
    try:
        message, length = read(head)
    except SipParseError as error:
        return error.status, error.detail
    return message, list(message.headers), length  # order and spelling of the fields too


def _assert_same_reading(head: bytes) -> None:
    """The head parser (one pass for the usual head) answers as the general reading."""
    general = _reading(
        lambda data: _parse_head_general(data.decode("utf-8", "surrogateescape"), DEFAULT_LIMITS),
        head,
    )
    assert _reading(lambda data: _parse_head(data, DEFAULT_LIMITS), head) == general


def _head_of(data: bytes) -> bytes:
    return data.lstrip(b"\r\n").partition(b"\r\n\r\n")[0]


@settings(max_examples=200, deadline=None)
@given(requests())
def test_one_pass_reading_agrees_with_the_general_one(request: Any) -> None:
    _assert_same_reading(_head_of(request.to_bytes()))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([case.data for case in CASES]), st.data())
def test_one_pass_reading_agrees_on_mutated_torture_heads(data: bytes, draw: Any) -> None:
    head = _head_of(data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    position = draw.draw(st.integers(0, len(head)))
    insert = draw.draw(st.binary(max_size=6) | st.sampled_from([b":", b",", b'"', b" ", b";"]))
    cut = draw.draw(st.integers(0, 6))
    _assert_same_reading(head[:position] + insert + head[position + cut :])


def test_every_torture_head_read_alike() -> None:
    for case in CASES:
        _assert_same_reading(_head_of(case.data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")))


param_texts = st.lists(
    st.tuples(
        st.text(alphabet="abzAZ09-.!%*_+`'~", min_size=0, max_size=5),
        st.none() | st.text(alphabet='az09.:@=<>"[] \t', max_size=6),
    ),
    max_size=4,
).map(lambda params: "".join(f";{n}" if v is None else f";{n}={v}" for n, v in params))


def _outcome(parse: Any, text: str) -> Any:
    try:
        return parse(text)
    except ValueError as error:
        return type(error)


@settings(max_examples=400, deadline=None)
@given(param_texts)
def test_plain_forms_parse_as_the_general_grammar_does(params: str) -> None:
    """A leading blank takes each value down the general path; the answer is the same."""
    assert _outcome(parse_params, params) == _outcome(parse_params, " " + params)
    name_addr = f"<sip:alice@example.net>{params}"
    assert _outcome(NameAddress.parse, name_addr) == _outcome(NameAddress.parse, " " + name_addr)
    via = f"SIP/2.0/TCP 192.0.2.10:50123{params}"
    assert _outcome(Via.parse, via) == _outcome(Via.parse, " " + via)


def test_parsed_tags_and_branch_follow_the_parameters() -> None:
    address = NameAddress.parse("<sip:a@example.net>;TAG=x1;epid=2")
    assert address.tag == "x1"
    via = Via.parse("SIP/2.0/UDP h:5060;rport;branch=z9hG4bKa")
    assert via.branch == "z9hG4bKa"
    assert via.with_param("branch", "z9hG4bKb").branch == "z9hG4bKb"
    assert NameAddress("sip:a@b", None, (("tag", "t"),)) == NameAddress.parse("<sip:a@b>;tag=t")


def test_malformed_contact_of_an_info_is_carried_not_read() -> None:
    endpoint, app, _ = make_endpoint()
    flow = RecordingFlow(reliable=True)
    _, tag = establish(endpoint, flow)
    flow.clear()
    info = sip_request("INFO", cseq=2, to_tag=tag, body=b"<x/>").replace(
        b"Contact: <sip:alice@example.net:50123;", b"Contact: <sip:alice example.net;"
    )
    deliver(endpoint, flow, info)
    (response,) = flow.final_responses()
    assert response.status == 200
    assert len(app.infos) == 1


def test_malformed_contact_of_an_invite_is_400() -> None:
    endpoint, app, _ = make_endpoint()
    flow = RecordingFlow(reliable=True)
    invite = sip_request("INVITE", body=b"<x/>").replace(
        b"Contact: <sip:alice@example.net:50123;", b"Contact: <sip:alice example.net;"
    )
    deliver(endpoint, flow, invite)
    (response,) = flow.final_responses()
    assert response.status == 400
    assert not app.invites and not endpoint.dialogs


def test_malformed_top_via_is_400_and_a_lower_via_is_copied_as_received() -> None:
    lower = "SIP/2.0/UDP proxy.example.net:5060;branch=z9hG4bKp;weird==;;"
    request = sip_request("OPTIONS", extra=(("Via", lower),))
    endpoint, _, _ = make_endpoint()
    flow = RecordingFlow(reliable=True)
    deliver(endpoint, flow, request)
    (response,) = flow.final_responses()
    assert response.status == 200
    assert response.headers.get_all("Via")[1] == lower
    broken = sip_request("OPTIONS").replace(b"Via: SIP/2.0/TCP 192.0.2.10:50123", b"Via: x y z")
    flow.clear()
    deliver(endpoint, flow, broken)
    assert [r.status for r in flow.final_responses()] == [400]


def test_response_to_tag_added_once() -> None:
    endpoint, _, _ = make_endpoint()
    flow = RecordingFlow(reliable=True)
    deliver(endpoint, flow, sip_request("INVITE", body=b"<x/>"))
    (response,) = flow.final_responses()
    assert response.headers.get("To").count(";tag=") == 1
    assert parse_datagram(response.to_bytes()).to_tag == response.to_tag


class _Answers(RecordingApplication):
    """Answers INFOs with what ``answer`` holds: a value, a Deferred, or an exception."""

    answer: Any = None

    def request_in_dialog(self, dialog: Any, request: Any) -> Any:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def _info_status(answer: Any, fire: Any = None) -> int:
    app = _Answers()
    endpoint, _, _ = make_endpoint(app)
    flow = RecordingFlow(reliable=True)
    _, tag = establish(endpoint, flow)
    flow.clear()
    app.answer = answer
    deliver(endpoint, flow, sip_request("INFO", cseq=2, to_tag=tag, body=b"<x/>"))
    if fire is not None:
        assert not flow.final_responses()  # not before the application's answer
        fire()
    (response,) = flow.final_responses()
    return response.status


def test_answers_given_at_once_later_or_failing() -> None:
    assert _info_status(SipAnswer(202)) == 202
    assert _info_status(succeed(SipAnswer(203))) == 203
    later: Deferred[Any] = Deferred()
    assert _info_status(later, lambda: later.callback(SipAnswer(204))) == 204
    failing: Deferred[Any] = Deferred()
    assert _info_status(failing, lambda: failing.errback(RuntimeError("core"))) == 500
    assert _info_status(RuntimeError("application")) == 500
    assert _info_status(object()) == 500  # not an answer


def test_grace_timer_moved_before_it_falls_due_and_restarted_in_its_grace() -> None:
    clock = Clock()
    fired: list[float] = []
    timer = GraceTimer(clock, lambda: fired.append(clock.seconds()))
    timer.start(10)
    clock.advance(8)
    timer.start(10)  # moved: due at 18, expiry at 18 + grace
    clock.advance(9)
    assert not fired and timer.active()
    clock.advance(1)  # due at 18: the grace starts
    timer.start(5)  # restarted within the grace: due at 23, the expiry a grace later
    clock.advance(EXPIRY_GRACE)
    assert not fired
    clock.advance(5 - EXPIRY_GRACE)
    assert not fired and timer.active()
    clock.advance(EXPIRY_GRACE)
    assert fired == [18 + 5 + EXPIRY_GRACE]
    assert not timer.active()
    timer.start(1)
    timer.cancel()
    clock.advance(10)
    assert fired == [18 + 5 + EXPIRY_GRACE]


class _Dialog:
    terminated = False
    remote_uri = "sip:alice@example.net"

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def send_request(self, method: str, body: bytes, *args: Any) -> Deferred[Any]:
        self.sent.append(body)
        return Deferred()


class _Association:
    """Answers at once (and raises an event first), or keeps the correlation for later."""

    def __init__(self, transport: Any, *, at_once: bool) -> None:
        self.transport = transport
        self.at_once = at_once
        self.kept: list[object] = []

    def receive(self, body: bytes, correlation: object, root: Any = None) -> None:
        if self.at_once:
            self.transport.write_message(b"<Event/>", None)
            self.transport.write_message(b"<Answer/>", correlation)
        else:
            self.kept.append(correlation)


def test_tr87_answer_at_once_is_a_plain_value_and_its_events_follow_it() -> None:
    from cstaserver.sip.tr87 import DialogTransport

    clock, dialog = Clock(), _Dialog()
    transport = DialogTransport(dialog, clock)
    answer = transport.answer(_Association(transport, at_once=True), b"<x/>")  # type: ignore[arg-type]
    assert isinstance(answer, SipAnswer) and answer.body == b"<Answer/>"
    assert dialog.sent == []  # the event waits for the answer to be sent
    clock.advance(0)
    assert dialog.sent == [b"<Event/>"]


def test_tr87_answer_given_later_fires_a_deferred() -> None:
    from cstaserver.sip.tr87 import DialogTransport

    clock, dialog = Clock(), _Dialog()
    transport = DialogTransport(dialog, clock)
    association = _Association(transport, at_once=False)
    answer = transport.answer(association, b"<x/>")  # type: ignore[arg-type]
    assert isinstance(answer, Deferred)
    got: list[Any] = []
    answer.addCallback(got.append)
    clock.advance(0)
    transport.write_message(b"<Later/>", association.kept[0])
    assert [a.body for a in got] == [b"<Later/>"]


def test_stamping_the_top_via_keeps_the_other_fields_parsed(monkeypatch: Any) -> None:
    """A request whose Via names another host than the one it came from gets ``received``
    (RFC 3261 §18.2.1) on every message, as from a client behind NAT or a front end that
    writes its name in Via: its From, To and CSeq are still parsed once."""

    parsed: list[str] = []
    for kind in (NameAddress, Via, CSeq):
        original = kind.parse.__func__  # type: ignore[attr-defined]

        def counting(cls: Any, value: str, _original: Any = original) -> Any:
            parsed.append(cls.__name__)
            return _original(cls, value)

        monkeypatch.setattr(kind, "parse", classmethod(counting))
    endpoint, app, _ = make_endpoint()
    flow = RecordingFlow(reliable=True, peer=("198.51.100.7", 40000))  # not the Via's host
    _, tag = establish(endpoint, flow)
    flow.clear()
    parsed.clear()
    deliver(endpoint, flow, sip_request("INFO", cseq=2, to_tag=tag, body=b"<x/>"))
    _, info = app.infos[-1]
    assert info.top_via.received == "198.51.100.7"  # the stamped Via is what is read
    # each once, the top Via twice (as received, and as stamped)
    assert sorted(parsed) == ["CSeq", "NameAddress", "NameAddress", "Via", "Via"]
    (response,) = flow.final_responses()
    assert response.status == 200
    assert response.headers.get("Via") == "SIP/2.0/TCP 192.0.2.10:50123;received=198.51.100.7"


def test_replacing_one_field_keeps_the_others_parsed_and_drops_derived_values() -> None:

    headers = Headers(
        [
            ("Via", "SIP/2.0/TCP a.example;branch=z9hG4bK1"),
            ("Via", "SIP/2.0/TCP b"),
            ("CSeq", "1 INFO"),
        ]
    )
    cseq = headers.parse_first("CSeq", CSeq.parse)
    assert headers.parse_first("v", Via.parse).host == "a.example"
    assert headers.memo("key", lambda: "derived") == "derived"
    held = headers.index()["via"]
    headers.replace_first("Via", "SIP/2.0/TCP c.example;branch=z9hG4bK2")
    assert headers.parse_first("CSeq", CSeq.parse) is cseq  # kept, not parsed again
    assert headers.parse_first("v", Via.parse).host == "c.example"
    assert [via.host for via in headers.parse_all("Via", Via.parse)] == ["c.example", "b"]
    assert headers.get_all("via") == ["SIP/2.0/TCP c.example;branch=z9hG4bK2", "SIP/2.0/TCP b"]
    assert held == ["SIP/2.0/TCP a.example;branch=z9hG4bK1", "SIP/2.0/TCP b"]  # not mutated
    assert headers.memo("key", lambda: "again") == "again"


def test_a_repeated_value_is_parsed_once_and_the_kept_values_are_bounded() -> None:
    """A dialog's From and To (and a sipe client's Via, and each method's CSeq) come again
    in every request: the parsed value is kept, a bounded number of them, never an error."""

    first = NameAddress.parse('"Alice" <sip:alice@example.net>;tag=k1;epid=2')
    assert NameAddress.parse('"Alice" <sip:alice@example.net>;tag=k1;epid=2') is first
    assert first.tag == "k1" and first.display_name == "Alice"
    assert Via.parse("SIP/2.0/TCP 192.0.2.10:50123") is Via.parse("SIP/2.0/TCP 192.0.2.10:50123")
    assert CSeq.parse("7 INFO") is CSeq.parse("7 INFO")
    for _ in range(2):  # a refused value is refused each time, not kept
        with pytest.raises(HeaderSyntaxError):
            NameAddress.parse("<sip:alice@example.net")
    for number in range(KEPT_VALUES + 50):
        assert NameAddress.parse(f"<sip:u{number}@example.net>").uri == f"sip:u{number}@example.net"
        CSeq.parse(f"{number} INFO")
    for kept in (header_module._nameaddress_kept, header_module._cseq_kept):
        assert kept.cache_info().currsize == KEPT_VALUES
    long_value = f"<sip:{'a' * KEPT_LENGTH}@example.net>;tag=long"
    assert NameAddress.parse(long_value) == NameAddress.parse(long_value)
    assert NameAddress.parse(long_value) is not NameAddress.parse(long_value)  # not kept
