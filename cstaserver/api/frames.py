"""A WebSocket text message as one frame of a server (RFC 6455 5.2, 5.6): built once and
written as it is to every client it is for.

A server's frames are not masked (5.1, 5.3); the event stream negotiates no extension, so
the RSV bits are 0; each message is one frame (FIN set, opcode 0x1 "text"). The payload
length takes 7 bits up to 125, 16 bits (after 126) up to 65,535, 64 bits (after 127) above.
"""

from __future__ import annotations

_FIN_TEXT = 0x81  # FIN, RSV1-3 clear, opcode 0x1 (text frame)
_LENGTH_16 = bytes((_FIN_TEXT, 126))
_LENGTH_64 = bytes((_FIN_TEXT, 127))
#: The header of every payload short enough for the 7-bit length, by length.
_SHORT = tuple(bytes((_FIN_TEXT, length)) for length in range(126))


def text_frame(payload: bytes) -> bytes:
    """``payload`` (UTF-8 text) as one unmasked, unfragmented text frame."""
    length = len(payload)
    if length < 126:
        return _SHORT[length] + payload
    if length < 0x10000:
        return _LENGTH_16 + length.to_bytes(2, "big") + payload
    return _LENGTH_64 + length.to_bytes(8, "big") + payload
