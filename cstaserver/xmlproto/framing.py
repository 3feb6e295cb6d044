"""The 8-byte header of "CSTA XML without SOAP" (ECMA-323 informative annex: G.2 in the
3rd edition's lettering, J.2 in later ones).

| bytes | field                                                         |
| 0-1   | format: 0x00 0x00 (sent as zeros; anything accepted)           |
| 2-3   | length: unsigned 16-bit big-endian, header + body, in bytes    |
| 4-7   | invoke ID: four ASCII digits 0000-9999 (echoed byte for byte)  |
| 8...  | one XML document, UTF-8                                       |

The deframer is incremental and works fed 1, 7 or 8192 bytes at a time. Frames over the
configured maximum are discarded but reported (with their invoke ID) so the client can be
answered; only a length below 8 cannot be resynchronised (docs/protocol-notes.md X3-X5).
"""

from __future__ import annotations

import struct

import attrs

HEADER_LENGTH = 8
MAX_FRAME = 0xFFFF
EVENT_INVOKE_ID = "9999"
_HEADER = struct.Struct(">2sH4s")


class FramingError(Exception):
    """The stream cannot be resynchronised (a length below the header's 8 bytes).

    ``frames``: the frames completed before the bad header in the same ``feed`` call (still
    to be answered before the connection closes)."""

    def __init__(self, message: str, frames: list[Frame] | None = None) -> None:
        super().__init__(message)
        self.frames = frames or []


@attrs.frozen
class Frame:
    """One received frame: its invoke ID (as received) and body, or ``oversized`` with the
    body dropped."""

    invoke_id: str
    body: bytes
    oversized: bool = False
    length: int = 0


def encode_frame(invoke_id: str, body: bytes) -> bytes:
    """Frame ``body`` with ``invoke_id`` (exactly four ASCII characters)."""
    length = HEADER_LENGTH + len(body)
    if length > MAX_FRAME:
        raise ValueError(f"frame of {length} bytes exceeds {MAX_FRAME}")
    ident = invoke_id.encode("latin-1", "replace")[:4].rjust(4, b"0")
    return _HEADER.pack(b"\x00\x00", length, ident) + body


def _decode_invoke_id(raw: bytes) -> str:
    # Echo what the client sent, even non-digits; latin-1 keeps every byte round-trippable.
    return raw.decode("latin-1")


class Deframer:
    """Incremental deframer: ``feed(data)`` returns the frames completed so far."""

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self.max_frame = max(HEADER_LENGTH, min(max_frame, MAX_FRAME))
        self._buffer = bytearray()
        self._skip = 0  # bytes of an oversized body still to discard
        self._skip_frame: Frame | None = None

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    @property
    def partial(self) -> bool:
        """True while a frame has started but not ended (header or body bytes missing)."""
        return bool(self._buffer) or self._skip > 0

    def feed(self, data: bytes) -> list[Frame]:
        frames: list[Frame] = []
        if self._skip:
            dropped = min(self._skip, len(data))
            self._skip -= dropped
            data = data[dropped:]
            if not self._skip and self._skip_frame is not None:
                frames.append(self._skip_frame)
                self._skip_frame = None
        self._buffer += data
        buf = self._buffer
        while len(buf) >= HEADER_LENGTH and not self._skip:
            _fmt, length, raw_id = _HEADER.unpack_from(buf)
            invoke_id = _decode_invoke_id(raw_id)
            if length < HEADER_LENGTH:
                raise FramingError(f"frame length {length} is below the 8-byte header", frames)
            if length > self.max_frame:
                oversized = Frame(invoke_id, b"", oversized=True, length=length)
                available = len(buf) - HEADER_LENGTH
                body_length = length - HEADER_LENGTH
                if available >= body_length:
                    del buf[:length]
                    frames.append(oversized)
                    continue
                self._skip = body_length - available
                self._skip_frame = oversized
                del buf[:]
                break
            if len(buf) < length:
                break
            frames.append(Frame(invoke_id, bytes(buf[HEADER_LENGTH:length]), length=length))
            del buf[:length]
        return frames
