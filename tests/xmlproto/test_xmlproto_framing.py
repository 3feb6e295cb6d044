"""The 8-byte CSTA XML header: split and coalesced frames, limits, odd invoke IDs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cstaserver.xmlproto.framing import (
    Deframer,
    Frame,
    FramingError,
    encode_frame,
)

BODY = b'<MakeCall xmlns="x"><callingDevice>1000</callingDevice></MakeCall>'


def feed_in_chunks(deframer: Deframer, data: bytes, size: int) -> list[Frame]:
    frames: list[Frame] = []
    for start in range(0, len(data), size):
        frames += deframer.feed(data[start : start + size])
    return frames


def test_header_is_zero_format_unsigned_length_and_ascii_invoke_id():
    frame = encode_frame("0042", BODY)
    assert frame[:2] == b"\x00\x00"
    assert int.from_bytes(frame[2:4], "big") == len(BODY) + 8
    assert frame[4:8] == b"0042"
    assert frame[8:] == BODY


@pytest.mark.parametrize("chunk", [1, 7, 8192])
def test_frames_fed_in_chunks(chunk):
    stream = b"".join(encode_frame(f"{n:04d}", BODY + str(n).encode()) for n in range(20))
    frames = feed_in_chunks(Deframer(), stream, chunk)
    assert [f.invoke_id for f in frames] == [f"{n:04d}" for n in range(20)]
    assert frames[7].body == BODY + b"7"


def test_length_counts_utf8_bytes_not_characters():
    body = "<x>Åsa Öberg — 東京</x>".encode()
    frame = encode_frame("0001", body)
    assert int.from_bytes(frame[2:4], "big") == len(body) + 8
    assert Deframer().feed(frame)[0].body == body


def test_length_is_unsigned_beyond_32_kib():
    body = b"<x>" + b"a" * 40000 + b"</x>"
    frames = feed_in_chunks(Deframer(), encode_frame("0002", body), 8192)
    assert frames[0].body == body


def test_oversized_frame_is_reported_and_skipped_then_stream_continues():
    big = encode_frame("0005", b"<x>" + b"a" * 3000 + b"</x>")
    small = encode_frame("0006", BODY)
    frames = feed_in_chunks(Deframer(max_frame=1024), big + small, 7)
    assert frames[0].oversized and frames[0].invoke_id == "0005" and frames[0].body == b""
    assert frames[1] == Frame("0006", BODY, length=len(BODY) + 8)


def test_non_zero_format_and_non_digit_invoke_id_are_tolerated_and_echoed():
    frame = b"\x01\x02" + (len(BODY) + 8).to_bytes(2, "big") + b"ab\xff9" + BODY
    (parsed,) = Deframer().feed(frame)
    assert parsed.body == BODY
    assert encode_frame(parsed.invoke_id, b"")[4:8] == b"ab\xff9"


def test_length_below_header_cannot_be_resynchronised():
    with pytest.raises(FramingError):
        Deframer().feed(b"\x00\x00\x00\x05" + b"0001")


def test_event_invoke_id_and_too_large_body_refused():
    with pytest.raises(ValueError):
        encode_frame("9999", b"a" * 65528)
    assert encode_frame("9999", b"a" * 65527)[4:8] == b"9999"


@given(
    bodies=st.lists(st.binary(max_size=300), max_size=8),
    cuts=st.lists(st.integers(min_value=1, max_value=50), min_size=1, max_size=10),
)
def test_any_chunking_yields_the_same_frames(bodies, cuts):
    stream = b"".join(encode_frame(f"{i:04d}", b) for i, b in enumerate(bodies))
    deframer = Deframer()
    frames: list[Frame] = []
    pos = i = 0
    while pos < len(stream):
        size = cuts[i % len(cuts)]
        frames += deframer.feed(stream[pos : pos + size])
        pos += size
        i += 1
    assert [f.body for f in frames] == bodies
    assert deframer.buffered == 0
