"""Fuzzing the XML port: the deframer, the codec and the protocol fed arbitrary
bytes, mutated valid frames and random chunking. Only ``FramingError`` (deframer),
``XmlRejected``/``DecodeError`` (codec) may come out; nothing escapes ``dataReceived``; every
frame is answered with its invoke ID unless the stream cannot be resynchronised; another
client connected at the same time is untouched."""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st

from cstaserver.csta import codec
from cstaserver.csta.xmlsafe import XmlRejected
from cstaserver.xmlproto.framing import Deframer, FramingError, encode_frame
from tests.hardening.support import (
    CSTA_CORPUS,
    FUZZ,
    LogCapture,
    check_bystander,
    chunks,
    connect_bystander,
    count_case,
    cut_points,
    hostile,
    mutated,
    reset_world,
    shared_world,
)
from tests.xmlproto.xml_client import ED3, MemoryClient, connect_memory


def _feed_all(deframer: Deframer, pieces: list[bytes]) -> tuple[list, bool]:
    frames: list = []
    try:
        for piece in pieces:
            frames.extend(deframer.feed(piece))
    except FramingError as exc:
        return frames + exc.frames, True
    return frames, False


@FUZZ
@given(data=st.binary(max_size=3000), cuts=cut_points, max_frame=st.integers(0, 70000))
def test_deframer_any_bytes_any_chunks(data: bytes, cuts: list[int], max_frame: int) -> None:
    """Split anywhere, the deframer yields the same frames as fed at once (or fails the same
    way), each within the limit."""
    count_case("deframer bytes")
    whole = _feed_all(Deframer(max_frame), [data])
    split = _feed_all(Deframer(max_frame), chunks(data, cuts))
    assert whole == split
    limit = Deframer(max_frame).max_frame
    for frame in whole[0]:
        assert frame.oversized or len(frame.body) + 8 <= limit


def _frame(body: bytes, invoke: bytes, length_delta: int) -> bytes:
    length = max(0, min(0xFFFF, 8 + len(body) + length_delta))
    return struct.pack(">2sH4s", b"\x00\x00", length, invoke) + body


frame_streams = st.lists(
    st.builds(
        _frame,
        hostile(CSTA_CORPUS),
        st.one_of(st.sampled_from([b"0001", b"9999", b"0000"]), st.binary(min_size=4, max_size=4)),
        st.one_of(st.just(0), st.just(0), st.just(0), st.integers(-12, 12)),
    ),
    min_size=1,
    max_size=5,
).map(b"".join)


def _answers(client: MemoryClient) -> list:
    """Responses and errors (events and server requests aside; a request may use 9999)."""
    return [f for f in client.received if f.name == "CSTAErrorCode" or f.name.endswith("Response")]


@FUZZ
@given(stream=st.one_of(frame_streams, st.binary(max_size=2000)), cuts=cut_points)
def test_protocol_hostile_stream(stream: bytes, cuts: list[int]) -> None:
    """Hostile bytes on one connection: nothing raises out of ``dataReceived``, no handler
    fails, each complete frame gets one answer echoing its invoke ID (the connection closes
    only when a length is below 8), and the bystander keeps its monitor and answers."""
    count_case("xml protocol stream")
    world = shared_world("protocol")
    try:
        bystander = connect_bystander(world)
        attacker = connect_memory(world.factory)
        world.clients.append(attacker)
        expected, broken = _feed_all(Deframer(attacker.server.deframer.max_frame), [stream])
        with LogCapture() as logs:
            for piece in chunks(stream, cuts):
                attacker.send_raw(piece)
            world.clock.advance(0)
            attacker.flush()
        assert logs.failures() == []
        assert attacker.is_closed == broken
        assert sorted(f.invoke_id for f in _answers(attacker)) == sorted(
            f.invoke_id for f in expected
        )
        for call_id in list(world.switch.calls):
            world.switch.clear_call(call_id)
        check_bystander(world, bystander)
    finally:
        reset_world(world)


@FUZZ
@given(body=hostile(CSTA_CORPUS))
def test_codec_decode_only_documented_errors(body: bytes) -> None:
    count_case("codec decode")
    try:
        decoded = codec.decode(body)
    except (XmlRejected, codec.DecodeError):
        return
    assert decoded.name


@FUZZ
@given(body=mutated(CSTA_CORPUS), invoke=st.sampled_from(["0001", "4711", "abcd", "\xff\x00 1"]))
def test_mutated_frame_answered_with_its_invoke_id(body: bytes, invoke: str) -> None:
    """One mutated but well-framed request: exactly one answer, with its invoke ID, and it
    is a response or a CSTAErrorCode (never silence)."""
    count_case("xml framed request")
    world = shared_world("framed")
    try:
        client = connect_memory(world.factory)
        world.clients.append(client)
        if len(body) + 8 > 0xFFFF:
            body = body[: 0xFFFF - 8]
        client.send_raw(encode_frame(invoke, body))
        world.clock.advance(0)
        client.flush()
        answers = _answers(client)
        assert len(answers) == 1, [f.body for f in client.received]
        assert answers[0].invoke_id == invoke.encode("latin-1").decode("latin-1")
        name = answers[0].name
        assert name == "CSTAErrorCode" or name.endswith("Response"), name
        assert not client.is_closed
    finally:
        reset_world(world)


def test_frames_before_an_unrecoverable_header_are_answered() -> None:
    """Found by the property above: a good frame and a length below 8 in one segment. The
    good frame is answered, then the connection closes (it was dropped unanswered)."""
    world = shared_world("regression")
    try:
        client = connect_memory(world.factory)
        world.clients.append(client)
        good = encode_frame("0042", f'<GetCSTAFeatures xmlns="{ED3}"/>'.encode())
        client.send_raw(good + b"\x00\x00\x00\x070043")
        assert [f.invoke_id for f in _answers(client)] == ["0042"]
        assert client.is_closed
    finally:
        reset_world(world)
