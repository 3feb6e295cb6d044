"""RFC 3261 codec: parsing, framing, serialising, building responses."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cstaserver.sip.headers import (
    CSeq,
    Headers,
    HeaderSyntaxError,
    NameAddress,
    SipUri,
    Via,
    canonical_name,
    split_list,
)
from cstaserver.sip.message import (
    ParserLimits,
    SipParseError,
    SipRequest,
    SipResponse,
    SipStreamParser,
    _head_end,
    make_response,
    parse_datagram,
)
from tests.sip.sip_support import sip_request
from tests.sip.torture import CASES, WSINV

INVITE = sip_request("INVITE", body=b"<RequestSystemStatus/>\r\n\n\r")


def stream_messages(data: bytes, chunk: int, limits: ParserLimits | None = None) -> list:
    """Feed ``data`` in ``chunk``-byte pieces; collect messages and errors."""
    parser = SipStreamParser(limits or ParserLimits())
    results: list = []
    for start in range(0, len(data), chunk):
        parser.feed(data[start : start + chunk])
        while True:
            try:
                message = parser.next_message()
            except SipParseError as error:
                results.append(error)
                if error.fatal:
                    return results
                continue
            if message is None:
                break
            results.append(message)
    return results


class TestHeaders:
    def test_compact_forms_normalised(self) -> None:
        for short, full in [
            ("i", "Call-ID"),
            ("f", "From"),
            ("t", "To"),
            ("v", "Via"),
            ("m", "Contact"),
            ("l", "Content-Length"),
            ("c", "Content-Type"),
            ("k", "Supported"),
            ("s", "Subject"),
            ("e", "Content-Encoding"),
            ("o", "Event"),
            ("u", "Allow-Events"),
            ("x", "Session-Expires"),
        ]:
            assert canonical_name(short) == full
            assert canonical_name(short.upper()) == full
        assert canonical_name("cAlL-iD") == "Call-ID"
        assert canonical_name("X-Unknown") == "X-Unknown"

    def test_multimap_is_case_insensitive_and_ordered(self) -> None:
        headers = Headers([("via", "a"), ("X-A", "1"), ("VIA", "b")])
        assert headers.get_all("Via") == ["a", "b"]
        assert "v" in headers
        headers.set("X-A", "2")
        assert list(headers) == [("Via", "a"), ("X-A", "2"), ("Via", "b")]
        headers.prepend("Via", "top")
        assert headers.get("Via") == "top"
        headers.replace_first("Via", "new")
        assert headers.get_all("Via") == ["new", "a", "b"]
        assert headers.remove("via") == 3
        with pytest.raises(ValueError):
            headers.add("X-Bad", "a\r\nInjected: yes")

    def test_parsed_fields_follow_every_change_of_the_headers(self) -> None:
        message = SipRequest(
            "INFO",
            "sip:gw@example.com",
            Headers(
                [
                    ("v", "SIP/2.0/TCP a.example.com;branch=z9hG4bK1"),
                    ("f", "<sip:alice@example.com>;tag=1"),
                    ("t", "<sip:gw@example.com>"),
                    ("CSeq", "1 INFO"),
                    ("x-Custom", "one"),
                ]
            ),
        )
        assert message.top_via.branch == "z9hG4bK1"
        assert message.from_tag == "1" and message.to_tag is None
        assert message.cseq == CSeq(1, "INFO")
        assert message.headers.get("X-CUSTOM") == "one" and "x-custom" in message.headers
        message.headers.prepend("Via", "SIP/2.0/UDP b.example.com;branch=z9hG4bK2")
        assert [via.branch for via in message.vias] == ["z9hG4bK2", "z9hG4bK1"]
        message.vias.clear()  # a copy: the message keeps its Via list
        assert message.top_via.branch == "z9hG4bK2"
        message.headers.replace_first("Via", "SIP/2.0/UDP c.example.com;branch=z9hG4bK3")
        assert message.top_via.host == "c.example.com"
        message.headers.set("To", "<sip:gw@example.com>;tag=2")
        message.headers.set("CSeq", "2 INFO")
        assert message.to_tag == "2" and message.cseq.number == 2
        message.headers.remove("Via")
        assert message.vias == []
        with pytest.raises(HeaderSyntaxError):
            _ = message.top_via
        message.headers.add("V", "SIP/2.0/TLS d.example.com;branch=z9hG4bK4")
        assert message.top_via.transport == "TLS"

    def test_split_list_respects_quotes_and_angle_brackets(self) -> None:
        value = '"Doe, John" <sip:a@b;x=1,2>;q=1, <sip:c@d>, sip:e@f'
        assert split_list(value) == ['"Doe, John" <sip:a@b;x=1,2>;q=1', "<sip:c@d>", "sip:e@f"]

    def test_name_addr_forms(self) -> None:
        sipe = NameAddress.parse("<sip:alice@example.net>;tag=5c1e;epid=0a1b2c3d4e")
        assert (sipe.uri, sipe.tag, sipe.param("epid")) == (
            "sip:alice@example.net",
            "5c1e",
            "0a1b2c3d4e",
        )
        quoted = NameAddress.parse('"A \\"B\\"" <sip:a@b>')
        assert quoted.display_name == 'A "B"'
        assert NameAddress.parse("Alice Smith <sip:a@b>").display_name == "Alice Smith"
        spec = NameAddress.parse("sip:a@b;tag=1;unknown")
        assert (spec.uri, spec.tag, spec.param("unknown")) == ("sip:a@b", "1", "")
        contact = NameAddress.parse(
            "<sip:alice@example.net:50123;maddr=192.0.2.10;transport=tcp>;proxy=replace"
        )
        assert contact.param("proxy") == "replace"
        uri = SipUri.parse(contact.uri)
        assert (uri.host, uri.port, uri.param("maddr"), uri.param("transport")) == (
            "example.net",
            50123,
            "192.0.2.10",
            "tcp",
        )
        for bad in [
            '"open <sip:a@b>',
            "<sip:a@b",
            "Doe, John <sip:a@b>",
            "< sip:a@b >",
            "sip:a@b?x=y",
        ]:
            with pytest.raises(HeaderSyntaxError):
                NameAddress.parse(bad)

    def test_via(self) -> None:
        via = Via.parse("SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK1;rport;received=192.0.2.99")
        assert (via.transport, via.host, via.port, via.branch) == (
            "UDP",
            "192.0.2.10",
            5060,
            "z9hG4bK1",
        )
        assert via.received == "192.0.2.99"
        assert via.rport is None
        assert via.with_param("rport", "4000").rport == 4000
        ipv6 = Via.parse("SIP/2.0/TCP [2001:db8::1]:5061;branch=z9hG4bKx")
        assert (ipv6.host, ipv6.port) == ("[2001:db8::1]", 5061)
        assert str(Via.parse("SIP/2.0/tcp h")) == "SIP/2.0/TCP h"
        for bad in ["SIP/2.0/UDP", "SIP/2.0/UDP h;;", "SIP/2.0/UDP h:99999", "garbage"]:
            with pytest.raises(HeaderSyntaxError):
                Via.parse(bad)

    def test_cseq(self) -> None:
        assert CSeq.parse("0009 INVITE") == CSeq(9, "INVITE")
        for bad in ["1", "x INFO", "2147483648 INFO"]:
            with pytest.raises(HeaderSyntaxError):
                CSeq.parse(bad)


class TestParse:
    def test_sipe_invite(self) -> None:
        message = parse_datagram(INVITE)
        assert isinstance(message, SipRequest)
        assert (message.method, message.uri) == ("INVITE", "sip:rccgateway@example.net")
        assert message.cseq == CSeq(1, "INVITE")
        assert message.top_via.branch is None
        assert message.from_tag == "5c1e"
        assert message.to_tag is None
        assert message.content_type == "application/csta+xml"
        assert message.body == b"<RequestSystemStatus/>\r\n\n\r"
        assert "Content-Length" not in message.headers

    def test_wsinv_values(self) -> None:
        message = parse_datagram(WSINV)
        assert message.cseq == CSeq(9, "INVITE")
        assert message.headers.get("Max-Forwards") == "0068"
        assert [via.sent_by for via in message.vias] == [
            "192.0.2.2",
            "spindle.example.com",
            "192.168.255.111",
        ]
        assert [via.branch for via in message.vias] == ["390skdjuw", "z9hG4bK9ikj8", "z9hG4bK30239"]
        assert message.to_tag == "1918181833n"
        assert message.from_address.display_name == 'J Rosenberg \\"'
        assert message.from_tag == "98asjd8"
        assert message.headers.get("Subject") == ""
        assert (
            message.headers.get("NewFangledHeader") == "newfangled value continued newfangled value"
        )
        assert message.headers.get("UnknownHeaderWithUnusualValue") == ";;,,;;,;"
        (contact,) = message.contacts
        assert contact.display_name == 'Quoted string ""'
        assert contact.params == (("newparam", "newvalue"), ("secondparam", None), ("q", "0.33"))
        assert len(message.body) == 150

    def test_response(self) -> None:
        response = parse_datagram(b"SIP/2.0 200 OK\r\n" + INVITE.split(b"\r\n", 1)[1])
        assert isinstance(response, SipResponse)
        assert (response.status, response.reason) == (200, "OK")

    def test_udp_without_content_length_takes_the_rest(self) -> None:
        data = INVITE.replace(b"Content-Length: 25\r\n", b"")
        assert parse_datagram(data).body == b"<RequestSystemStatus/>\r\n\n\r"

    def test_bytes_after_content_length_dropped(self) -> None:
        assert parse_datagram(INVITE + b"garbage").body == b"<RequestSystemStatus/>\r\n\n\r"

    def test_lf_only_line_ends_tolerated(self) -> None:
        head, body = INVITE.split(b"\r\n\r\n", 1)
        message = parse_datagram(head.replace(b"\r\n", b"\n") + b"\n\n" + body)
        assert message.body == body

    def test_cseq_method_mismatch_is_400_with_the_request(self) -> None:
        with pytest.raises(SipParseError) as caught:
            parse_datagram(sip_request("INFO", cseq_method="INVITE"))
        assert caught.value.status == 400
        assert isinstance(caught.value.message, SipRequest)

    def test_limits(self) -> None:
        big = sip_request("INFO", body=b"x" * 70000)
        with pytest.raises(SipParseError) as caught:
            parse_datagram(big)
        assert caught.value.status == 513
        assert caught.value.message is not None
        many = sip_request("INFO", extra=tuple(("X-H", str(n)) for n in range(300)))
        with pytest.raises(SipParseError) as caught:
            parse_datagram(many)
        assert caught.value.status == 513
        long_line = sip_request("INFO", extra=(("X-Long", "y" * 9000),))
        with pytest.raises(SipParseError) as caught:
            parse_datagram(long_line)
        assert caught.value.status == 513


class TestSerialize:
    def test_content_length_is_body_bytes_and_body_untouched(self) -> None:
        body = "<a>ö\n\r\n</a>".encode()
        request = SipRequest("INFO", "sip:a@b", Headers([("Call-ID", "x")]), body)
        data = request.to_bytes()
        assert data.endswith(b"\r\nContent-Length: 12\r\n\r\n" + body)
        assert data.count(b"Content-Length") == 1

    def test_round_trip_of_torture_messages(self) -> None:
        for case in CASES:
            if case.parse_status is None:
                message = parse_datagram(case.data)
                assert parse_datagram(message.to_bytes()) == message, case.name

    def test_make_response_copies_per_8_2_6(self) -> None:
        request = parse_datagram(
            sip_request(
                "INVITE", branch="z9hG4bKabc", extra=(("Via", "SIP/2.0/UDP proxy;branch=z9hG4bKp"),)
            )
        )
        response = make_response(request, 200, to_tag="ours", headers=[("Contact", "<sip:x@y>")])
        assert response.reason == "OK"
        assert response.headers.get_all("Via") == request.headers.get_all("Via")
        assert response.headers.get("From") == request.headers.get("From")
        assert response.headers.get("To") == "<sip:rccgateway@example.net>;tag=ours"
        assert response.headers.get("Call-ID") == request.call_id
        assert response.headers.get("CSeq") == "1 INVITE"
        tagged = parse_datagram(sip_request("INFO", to_tag="theirs"))
        assert make_response(tagged, 200, to_tag="ours").to_tag == "theirs"


class TestStreamParser:
    PIPELINE = (
        b"\r\n\r\n"
        + sip_request("INFO", cseq=2, to_tag="t", body=b"<GetCSTAFeatures/>")
        + b"\r\n"
        + sip_request("INFO", cseq=3, to_tag="t", body=b"<MonitorStart/>\r\n")
        + sip_request("BYE", cseq=4, to_tag="t")
    )

    @pytest.mark.parametrize("chunk", [1, 7, 8192])
    def test_chunking(self, chunk: int) -> None:
        results = stream_messages(self.PIPELINE, chunk)
        assert [(m.method, m.cseq.number) for m in results] == [
            ("INFO", 2),
            ("INFO", 3),
            ("BYE", 4),
        ]
        assert results[1].body == b"<MonitorStart/>\r\n"

    @pytest.mark.parametrize("chunk", [1, 7, 8192])
    def test_bad_message_is_reported_and_the_stream_continues(self, chunk: int) -> None:
        data = sip_request("INFO", cseq=2, cseq_method="INVITE", body=b"<x/>") + sip_request(
            "INFO", cseq=3, body=b"<y/>"
        )
        results = stream_messages(data, chunk)
        assert isinstance(results[0], SipParseError) and results[0].status == 400
        assert not results[0].fatal
        assert results[1].body == b"<y/>"

    def test_malformed_start_line_is_skipped_by_its_content_length(self) -> None:
        data = sip_request("INFO", body=b"<x/>").replace(b"INFO sip:", b"INFO  sip:", 1)
        results = stream_messages(data + sip_request("BYE"), 8192)
        assert results[0].status == 400 and not results[0].fatal
        assert results[1].method == "BYE"

    def test_oversized_body_is_skipped_with_513(self) -> None:
        data = sip_request("INFO", body=b"z" * 2000) + sip_request("BYE")
        results = stream_messages(data, 100, ParserLimits(max_message_size=1000))
        assert results[0].status == 513 and not results[0].fatal
        assert results[0].message.method == "INFO"
        assert results[1].method == "BYE"

    def test_endless_header_is_fatal(self) -> None:
        results = stream_messages(
            b"INFO sip:a@b SIP/2.0\r\nX: " + b"y" * 2000, 64, ParserLimits(max_message_size=1000)
        )
        assert results[-1].fatal and results[-1].status == 513

    def test_invalid_content_length_is_fatal(self) -> None:
        data = sip_request("INFO").replace(b"Content-Length: 0", b"Content-Length: -5")
        (error,) = stream_messages(data, 8192)
        assert error.fatal and error.status == 400
        assert isinstance(error.message, SipRequest)


tokens = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~",
    min_size=1,
    max_size=12,
)
hosts = st.from_regex(r"[a-z0-9]{1,10}(\.[a-z]{2,5})?", fullmatch=True)
values = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x2FF, exclude_characters="\x7f"),
    max_size=40,
).map(lambda value: value.strip(" \t"))


@st.composite
def requests(draw: st.DrawFn) -> SipRequest:
    method = draw(tokens)
    headers = Headers(
        [
            ("Via", f"SIP/2.0/UDP {draw(hosts)};branch=z9hG4bK{draw(tokens)}"),
            ("From", f"<sip:{draw(tokens)}@example.com>;tag={draw(tokens)}"),
            ("To", f"<sip:{draw(tokens)}@example.com>"),
            ("Call-ID", draw(tokens)),
            ("CSeq", f"{draw(st.integers(0, 2**31 - 1))} {method}"),
        ]
    )
    for name, value in draw(
        st.lists(st.tuples(tokens.map(lambda t: "X-" + t), values), max_size=5)
    ):
        headers.add(name, value)
    return SipRequest(
        method, f"sip:{draw(tokens)}@example.com", headers, draw(st.binary(max_size=200))
    )


class TestProperties:
    @settings(max_examples=300, deadline=None)
    @given(st.binary(max_size=600))
    def test_random_bytes_raise_only_parse_errors(self, data: bytes) -> None:
        try:
            parse_datagram(data)
        except SipParseError:
            pass
        by_byte, by_seven = (
            [r for r in stream_messages(data, chunk) if not isinstance(r, SipParseError)]
            for chunk in (1, 7)
        )
        assert by_byte == by_seven  # how the bytes arrive never changes what is parsed

    @settings(max_examples=200, deadline=None)
    @given(st.sampled_from([case.data for case in CASES]), st.data())
    def test_mutated_torture_messages_raise_only_parse_errors(
        self, data: bytes, draw: st.DataObject
    ) -> None:
        position = draw.draw(st.integers(0, len(data)))
        insert = draw.draw(st.binary(min_size=0, max_size=8))
        cut = draw.draw(st.integers(0, 8))
        mutated = data[:position] + insert + data[position + cut :]
        try:
            message = parse_datagram(mutated)
        except SipParseError:
            return
        assert parse_datagram(message.to_bytes()) == message  # what we send, we read back

    @settings(max_examples=200, deadline=None)
    @given(requests())
    def test_round_trip(self, request: SipRequest) -> None:
        assert parse_datagram(request.to_bytes()) == request
        assert stream_messages(request.to_bytes(), 7) == [request]


def _first_empty_line(data: bytes, start: int) -> tuple[int, int] | None:
    """The grammar's answer, written plainly: the first place from ``start`` where a line
    end (CRLF or a bare LF) is followed at once by another, as (its start, its end)."""
    for position in range(start, len(data)):
        cursor = position + (data[position : position + 1] == b"\r")
        if data[cursor : cursor + 1] != b"\n":
            continue
        cursor += 1
        cursor += data[cursor : cursor + 1] == b"\r"
        if data[cursor : cursor + 1] == b"\n":
            return position, cursor + 1
    return None


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=40).map(lambda raw: bytes(b"\r\nA"[byte % 3] for byte in raw)), st.data())
def test_the_head_ends_at_the_first_empty_line_whatever_the_line_ends(
    data: bytes, draw: st.DataObject
) -> None:
    """The one-search reading of the usual CRLF head finds what the grammar says, also in
    a head mixing bare LFs with CRLFs (where a bare LF may end it earlier)."""
    start = draw.draw(st.integers(0, len(data)))
    assert _head_end(data, start) == _first_empty_line(data, start)
    assert _head_end(bytearray(data), start) == _first_empty_line(data, start)


def _split_outside_quotes(value: str, separator: str, angle: bool) -> list[str] | None:
    """The grammar's answer, written plainly: ``separator`` splits outside quoted strings
    (and ``<>`` when ``angle``); None for an unterminated quoted string."""
    parts, start, quoted, escaped, depth = [], 0, False, False, 0
    for index, char in enumerate(value):
        if quoted:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif angle and char == "<":
            depth += 1
        elif angle and char == ">" and depth:
            depth -= 1
        elif char == separator and not depth:
            parts.append(value[start:index])
            start = index + 1
    if quoted:
        return None
    parts.append(value[start:])
    return parts


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='ab;,"<> \\=\t', max_size=24))
def test_list_and_parameter_splitting_follow_the_quoting_rules(value: str) -> None:
    """The plain split of values without quotes or brackets answers as the scan does."""
    from cstaserver.sip.headers import _scan

    for separator, angle in ((",", True), (";", False)):
        expected = _split_outside_quotes(value, separator, angle)
        if expected is None:
            with pytest.raises(HeaderSyntaxError):
                _scan(value, separator, angle=angle)
            continue
        assert _scan(value, separator, angle=angle) == expected
    expected = _split_outside_quotes(value, ",", True)
    if expected is None:
        with pytest.raises(HeaderSyntaxError):
            split_list(value)
    else:
        assert split_list(value) == [part.strip(" \t") for part in expected]
