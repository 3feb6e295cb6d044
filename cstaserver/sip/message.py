"""SIP messages and their codec: RFC 3261 §7 (message format), §8.2.6 (building a
response), §18.3 (framing) and §20.14 (Content-Length).

- :class:`SipRequest` / :class:`SipResponse`, attrs records holding a start line,
  :class:`~cstaserver.sip.headers.Headers` and the body as bytes, kept byte for byte.
  ``Content-Length`` is not stored: it is the body's length by construction and is written
  by :meth:`to_bytes`.
- :func:`parse_datagram` for UDP (one message per datagram; Content-Length may be absent,
  bytes after the announced length are dropped) and :class:`SipStreamParser` for TCP
  (Content-Length framing, leading CRLF keep-alives skipped, any chunking).
- :class:`SipParseError` carries the status to answer (400, 505 or 513) and, when the start
  line and headers could be read, the request itself so that a response can be built.
- :func:`make_response` copies Via, From, To (adding our tag), Call-ID and CSeq.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from attrs import define, field, frozen

from cstaserver.sip.headers import (
    KNOWN_SPELLINGS,
    LIST_HEADERS,
    TOKEN_RE,
    CSeq,
    Headers,
    HeaderSyntaxError,
    NameAddress,
    Via,
    canonical_name,
    kept_parse,
    media_type,
    split_list,
)

REASON_PHRASES = {
    100: "Trying",
    180: "Ringing",
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    413: "Request Entity Too Large",
    415: "Unsupported Media Type",
    416: "Unsupported URI Scheme",
    420: "Bad Extension",
    422: "Session Interval Too Small",
    481: "Call/Transaction Does Not Exist",
    487: "Request Terminated",
    489: "Bad Event",
    491: "Request Pending",
    500: "Server Internal Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    505: "Version Not Supported",
    513: "Message Too Large",
}

_REQUEST_LINE_RE = re.compile(r"([^ ]+) ([^ ]+) ([Ss][Ii][Pp]/[0-9]+\.[0-9]+)")
_STATUS_LINE_RE = re.compile(
    r"[Ss][Ii][Pp]/([0-9]+\.[0-9]+) ([1-6][0-9][0-9])(?: (.*))?", re.DOTALL
)
_URI_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_HEAD_END_RE = re.compile(rb"\r?\n\r?\n")
_LINE_SPLIT_RE = re.compile(r"\r?\n")
_FIELD_RE = re.compile(rf"({TOKEN_RE.pattern})[ \t]*:")
_LOOSE_LENGTH_RE = re.compile(rb"(?im)^(?:content-length|l)[ \t]*:[ \t]*([^\r\n]*?)[ \t]*\r?$")

_DATE_RE = re.compile(
    r"[A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT"
)
"""RFC 3261 §20.17: an RFC 1123 date, always in GMT."""
_SINGLE_HEADERS = ("From", "To", "Call-ID", "CSeq", "Max-Forwards", "Content-Type")
_REQUIRED_HEADERS = ("Via", "From", "To", "Call-ID", "CSeq")
_COUNTED_FIELDS = tuple(
    (name, name.lower(), name in _REQUIRED_HEADERS, name in _SINGLE_HEADERS)
    for name in dict.fromkeys(_REQUIRED_HEADERS + _SINGLE_HEADERS)
)


def _head_end(data: bytes | bytearray, start: int = 0) -> tuple[int, int] | None:
    """Where the head that ``data`` holds ends (§7: an empty line), searched from ``start``:
    the offsets of the empty line's first byte and of the byte after it, or None.

    The usual head (every line ended by CRLF) is found by one substring search; when a
    bare LF comes between ``start`` and that point, :data:`_HEAD_END_RE` answers, as it
    takes every mix of line ends (a bare LF may end the head before the first CRLF CRLF)."""
    end = data.find(b"\r\n\r\n", start)
    if end >= 0 and data.count(b"\n", start, end) == data.count(b"\r\n", start, end):
        return end, end + 4
    match = _HEAD_END_RE.search(data, start)
    return None if match is None else match.span()


class SipParseError(Exception):
    """A message that cannot be accepted, and the status that answers it.

    ``message`` is the request or response as far as it could be read (start line and
    headers), or None. ``fatal`` is set by :class:`SipStreamParser` when the stream
    cannot be re-synchronised (the connection should be closed)."""

    def __init__(
        self,
        status: int,
        detail: str,
        message: SipRequest | SipResponse | None = None,
        *,
        fatal: bool = False,
    ) -> None:
        super().__init__(f"{status} {detail}")
        self.status = status
        self.detail = detail
        self.message = message
        self.fatal = fatal

    @property
    def reason(self) -> str:
        return REASON_PHRASES.get(self.status, "Bad Request")


@frozen
class ParserLimits:
    """Size limits (65,535-byte messages by default, as on the XML port; 513 above)."""

    max_message_size: int = 65535
    max_headers: int = 256
    max_line_length: int = 8192


DEFAULT_LIMITS = ParserLimits()


class _MessageMixin:
    """Typed views of the headers both requests and responses carry."""

    headers: Headers
    body: bytes

    @property
    def call_id(self) -> str | None:
        return self.headers.get("Call-ID")

    @property
    def cseq(self) -> CSeq:
        return self.headers.parse_first("cseq", CSeq.parse)

    @property
    def vias(self) -> list[Via]:
        return self.headers.parse_all("Via", Via.parse)

    @property
    def top_via(self) -> Via:
        return self.headers.parse_first("via", Via.parse)

    @property
    def from_address(self) -> NameAddress:
        return self.headers.parse_first("from", NameAddress.parse)

    @property
    def to_address(self) -> NameAddress:
        return self.headers.parse_first("to", NameAddress.parse)

    @property
    def from_tag(self) -> str | None:
        return self.from_address.tag

    @property
    def to_tag(self) -> str | None:
        return self.to_address.tag

    @property
    def contacts(self) -> list[NameAddress]:
        return self.headers.parse_all("Contact", NameAddress.parse)

    @property
    def content_type(self) -> str | None:
        """The media type (``type/subtype``, lower-case) of the body, if declared."""
        return media_type(self.headers.get("Content-Type"))


def _serialize(start_line: str, headers: Headers, body: bytes) -> bytes:
    """The wire form: CRLF line ends, Content-Length = the body's length in bytes; the
    body is appended untouched."""
    lines = [start_line, *[f"{name}: {value}" for name, value in headers]]
    lines.append(f"Content-Length: {len(body)}")
    head = "\r\n".join(lines) + "\r\n\r\n"
    return head.encode("utf-8", "surrogateescape") + body


@define(eq=True)
class SipRequest(_MessageMixin):
    """A SIP request (RFC 3261 §7.1)."""

    method: str
    uri: str
    headers: Headers = field(factory=Headers)
    body: bytes = b""
    version: str = "SIP/2.0"

    def to_bytes(self) -> bytes:
        return _serialize(f"{self.method} {self.uri} {self.version}", self.headers, self.body)


@define(eq=True)
class SipResponse(_MessageMixin):
    """A SIP response (RFC 3261 §7.2)."""

    status: int
    reason: str = ""
    headers: Headers = field(factory=Headers)
    body: bytes = b""
    version: str = "SIP/2.0"

    def to_bytes(self) -> bytes:
        start_line = f"{self.version} {self.status} {self.reason}"
        return _serialize(start_line, self.headers, self.body)


SipMessage = SipRequest | SipResponse


def make_response(
    request: SipRequest,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
) -> SipResponse:
    """A response to ``request`` per RFC 3261 §8.2.6.

    Via (all, in order), From, Call-ID and CSeq are copied verbatim; To too, with
    ``;tag=to_tag`` added when it has no tag yet. Works on a request that failed
    validation (whatever is present is copied). The copied values are the request's
    field values as received (no CR or LF: the parser split the lines), nothing is
    parsed again but the To (the parsed one the request keeps, when it has it)."""
    # the request's values went through its Headers (no CR or LF); a to-tag is a token
    if to_tag is not None and ("\r" in to_tag or "\n" in to_tag):
        raise ValueError(f"invalid To tag {to_tag!r}")
    index = request.headers.index()
    copied: list[tuple[str, str]] = []
    for name, key in _COPIED_HEADERS:
        values = index.get(key)
        if not values:
            continue
        if key == "to" and to_tag is not None:
            for position, value in enumerate(values):
                if not _has_tag(request, value, position):
                    value = f"{value};tag={to_tag}"
                copied.append((name, value))
        else:
            for value in values:
                copied.append((name, value))
    response = SipResponse(
        status,
        reason if reason is not None else REASON_PHRASES.get(status, ""),
        Headers.parsed(copied),
        body,
    )
    if headers:
        response.headers.extend(headers)
    return response


_COPIED_HEADERS = (
    ("Via", "via"),
    ("From", "from"),
    ("To", "to"),
    ("Call-ID", "call-id"),
    ("CSeq", "cseq"),
)


def _has_tag(request: SipRequest, to_value: str, position: int) -> bool:
    try:
        if position == 0:
            return request.to_tag is not None  # parsed once per request, kept
        return NameAddress.parse(to_value).tag is not None
    except HeaderSyntaxError:
        return ";tag=" in to_value.replace(" ", "").lower()


def _parse_start_line(line: str, headers: Headers | None = None) -> SipRequest | SipResponse:
    """The message a start line begins (§7.1, §7.2), with ``headers`` (or none yet)."""
    if headers is None:
        headers = Headers()
    if line[:4].upper() == "SIP/":
        status = _STATUS_LINE_RE.fullmatch(line)
        if status is None:
            raise SipParseError(400, f"malformed status line {line[:80]!r}")
        return SipResponse(
            int(status.group(2)), status.group(3) or "", headers, version=f"SIP/{status.group(1)}"
        )
    method, uri, version = _request_line(line)
    return SipRequest(method, uri, headers, version=version)


@kept_parse
def _request_line(line: str) -> tuple[str, str, str]:
    """Method, Request-URI and version of a request line (§7.1): a client's requests
    repeat the same few lines, so their reading is kept
    (:func:`~cstaserver.sip.headers.kept_parse`)."""
    request = _REQUEST_LINE_RE.fullmatch(line)
    if request is None:
        raise SipParseError(400, f"malformed request line {line[:80]!r}")
    method, uri, version = request.groups()
    if not TOKEN_RE.fullmatch(method):
        raise SipParseError(400, f"invalid method {method[:40]!r}")
    if not _URI_SCHEME_RE.match(uri):
        raise SipParseError(400, f"invalid Request-URI {uri[:80]!r}")
    return method, uri, version.upper()


def _header_lines(lines: list[str], limits: ParserLimits) -> list[tuple[str, str]]:
    """Unfold continuation lines (§7.3.1) and split each field into name and value."""
    fields: list[tuple[str, str]] = []
    for line in lines:
        if len(line) > limits.max_line_length:
            raise SipParseError(513, "header line too long")
        if "\r" in line:
            raise SipParseError(400, "bare CR in header")
        if line[:1] in (" ", "\t"):
            if not fields:
                raise SipParseError(400, "continuation line before the first header")
            name, value = fields[-1]
            continued = line.strip(" \t")
            fields[-1] = (name, f"{value} {continued}".strip(" \t"))
            continue
        field_match = _FIELD_RE.match(line)  # a token, optional blanks, the colon
        if field_match is None:
            raise SipParseError(400, f"malformed header line {line[:80]!r}")
        fields.append((field_match.group(1), line[field_match.end() :].strip(" \t")))
        if len(fields) > limits.max_headers:
            raise SipParseError(513, "too many header fields")
    return fields


def _field_kind(name: str) -> tuple[str, str, bool]:
    """A header name's canonical spelling, its index key (that, lower-cased), and whether
    it is a comma-separated list."""
    canonical = canonical_name(name)
    key = canonical.lower()
    return canonical, key, key in LIST_HEADERS


# the usual spellings, worked out once (names read from the network never make it grow)
_FIELD_KINDS = {name: _field_kind(name) for name in KNOWN_SPELLINGS}


def _parse_head(head: bytes, limits: ParserLimits) -> tuple[SipMessage, int | None]:
    """Start line and headers; returns the message (no body) and its Content-Length.

    The usual head (CRLF line ends, no folded lines, no field the limits could refuse) is
    read in one pass that splits each line at its colon and files the value under its
    header at once; any other head, and any head that pass finds fault with, is read by
    :func:`_parse_head_general`, which gives the answer to every fault."""
    text = head.decode("utf-8", "surrogateescape")
    lines = text.split("\r\n")
    breaks = len(lines) - 1
    if (
        len(text) <= limits.max_line_length
        and breaks <= limits.max_headers
        and text.count("\n") == breaks
        and text.count("\r") == breaks
        and "\n " not in text
        and "\n\t" not in text
    ):
        parsed = _parse_plain_head(lines)
        if parsed is not None:
            return parsed
    return _parse_head_general(text, limits)


def _parse_plain_head(lines: list[str]) -> tuple[SipMessage, int | None] | None:
    """:func:`_parse_head` for a head of CRLF-ended, unfolded lines; None when something is
    wrong with it (the general reading then says what)."""
    items: list[tuple[str, str]] = []
    index: dict[str, list[str]] = {}
    lengths: list[str] = []
    kinds = _FIELD_KINDS
    for number in range(1, len(lines)):
        line = lines[number]
        name, _, value = line.partition(":")
        kind = kinds.get(name)
        if kind is None:
            field_match = _FIELD_RE.match(line)  # a token, optional blanks, the colon
            if field_match is None or line[:1] in (" ", "\t"):
                return None
            name = field_match.group(1)
            value = line[field_match.end() :]
            kind = kinds.get(name) or _field_kind(name)
        canonical, key, is_list = kind
        value = value.strip(" \t")
        if key == "content-length":
            lengths.append(value)
            continue
        values = index.get(key)
        if values is None:
            values = index[key] = []
        if is_list and ("," in value or '"' in value):
            try:
                elements = split_list(value)
            except HeaderSyntaxError:
                return None
            items.extend((canonical, element) for element in elements)
            values.extend(elements)
        else:
            items.append((canonical, value))
            values.append(value)
    try:
        message = _parse_start_line(lines[0], Headers.parsed(items, index))
    except SipParseError:
        return None
    if not lengths:
        return message, None
    if len(lengths) > 1 and len(set(lengths)) > 1:
        return None
    if not lengths[0].isdigit() or not lengths[0].isascii():
        return None
    return message, int(lengths[0])


def _parse_head_general(text: str, limits: ParserLimits) -> tuple[SipMessage, int | None]:
    """:func:`_parse_head` for any head: LF-only line ends, folded lines, the limits."""
    lines = _LINE_SPLIT_RE.split(text)
    try:
        message = _parse_start_line(lines[0])
    except SipParseError as error:
        error.message = _loose_request(lines, limits)
        raise
    lengths: list[str] = []
    try:
        # _header_lines has checked every name (a token) and value (no CR; LF split)
        fields: list[tuple[str, str]] = []
        for name, value in _header_lines(lines[1:], limits):
            known = _FIELD_KINDS.get(name)
            canonical, _, is_list = known if known is not None else _field_kind(name)
            if canonical == "Content-Length":
                lengths.append(value)
            elif is_list:
                fields.extend((canonical, element) for element in split_list(value))
            else:
                fields.append((canonical, value))
        message.headers.extend_checked(fields)
    except SipParseError as error:
        error.message = message
        raise
    except (HeaderSyntaxError, ValueError) as error:
        raise SipParseError(400, str(error), message) from None
    if not lengths:
        return message, None
    if len(set(lengths)) > 1 or not lengths[0].isdigit() or not lengths[0].isascii():
        raise SipParseError(400, "invalid or conflicting Content-Length", message)
    return message, int(lengths[0])


def _loose_request(lines: list[str], limits: ParserLimits) -> SipRequest | None:
    """A request whose start line is malformed, read leniently so it can be answered."""
    method, _, uri = lines[0].partition(" ")
    if not TOKEN_RE.fullmatch(method) or method.upper().startswith("SIP/"):
        return None
    request = SipRequest(method, uri.strip())
    try:
        for name, value in _header_lines(lines[1:], limits):
            request.headers.add(name, value)
    except (SipParseError, ValueError):
        return None
    return request


def _check_number(message: SipMessage, name: str, maximum: int) -> None:
    value = message.headers.get(name)
    if value is not None and (not value.isdigit() or not value.isascii() or int(value) > maximum):
        raise SipParseError(400, f"invalid {name} {value[:40]!r}", message)


def validate(message: SipMessage) -> None:
    """Check the fields a UA relies on (§8.1.1, §8.2.2); raise :class:`SipParseError`.

    Parsed here (and kept for the layers that read them): CSeq, the top Via (the
    transaction's key), From and To (the dialog's tags), Record-Route and Route, and the
    Contact of the requests whose Contact is read (:data:`_CONTACT_READERS`) and of
    every response. The other Via elements are only ever copied into responses as
    received and are not parsed (RFC 3261 §8.2: a UAS examines what it processes)."""
    headers = message.headers
    index = headers.index()
    for name, key, required, single in _COUNTED_FIELDS:
        values = index.get(key)
        if not values:
            if required:
                raise SipParseError(400, f"missing {name}", message)
        elif single and len(values) > 1:
            raise SipParseError(400, f"more than one {name}", message)
    is_request = isinstance(message, SipRequest)
    try:
        cseq = message.cseq
        _ = message.top_via  # parsed once here, kept for the transaction layer
        _ = message.from_address  # and these for the dialog layer
        _ = message.to_address
        for key in ("route", "record-route"):
            if key in index:
                headers.parse_all(key, NameAddress.parse)
        contacts = index.get("contact")
        if contacts and (not is_request or message.method in _CONTACT_READERS):
            if any(value.strip() == "*" for value in contacts):
                for value in contacts:
                    if value.strip() != "*":
                        NameAddress.parse(value)
            else:
                headers.parse_all("Contact", NameAddress.parse)  # kept for the dialog layer
    except HeaderSyntaxError as error:
        raise SipParseError(400, str(error), message) from None
    content_type = index.get("content-type")
    if content_type is not None and not _CONTENT_TYPE_RE.fullmatch(content_type[0]):
        raise SipParseError(400, f"invalid Content-Type {content_type[0][:40]!r}", message)
    date = index.get("date")
    if date is not None and not _DATE_RE.fullmatch(date[0]):
        raise SipParseError(400, f"invalid Date {date[0][:40]!r}", message)
    if "max-forwards" in index:
        _check_number(message, "Max-Forwards", 255)
    if "expires" in index:
        _check_number(message, "Expires", 2**32 - 1)
    if is_request:
        if message.version != "SIP/2.0":
            raise SipParseError(505, f"version {message.version}", message)
        if cseq.method != message.method:
            raise SipParseError(400, "CSeq method does not match the request method", message)
        if (
            message.uri.lower().startswith(("sip:", "sips:"))
            and "?" in message.uri.rpartition("@")[2]
        ):
            raise SipParseError(400, "escaped headers in the Request-URI", message)


_CONTACT_READERS = frozenset({"INVITE", "UPDATE", "REGISTER", "SUBSCRIBE", "NOTIFY", "REFER"})
"""Requests whose Contact a UAS reads (a target refresh or a registration: RFC 3261
§12.1.1, §12.2.2, §10.3; RFC 3311, 6665, 3515); in the others Contact goes unread."""

_CONTENT_TYPE_RE = re.compile(
    r"[A-Za-z0-9\-.!%*_+`'~]+\s*/\s*[A-Za-z0-9\-.!%*_+`'~]+\s*(;.*)?", re.DOTALL
)


def _check_size(message: SipMessage, size: int, limits: ParserLimits) -> None:
    if size > limits.max_message_size:
        raise SipParseError(513, f"message of {size} bytes", message)


def parse_datagram(data: bytes, limits: ParserLimits = DEFAULT_LIMITS) -> SipMessage:
    """Parse the one message in a UDP datagram (RFC 3261 §18.3)."""
    data = data.lstrip(b"\r\n")
    span = _head_end(data)
    head, rest = (data[: span[0]], data[span[1] :]) if span else (data, b"")
    if not head:
        raise SipParseError(400, "empty message")
    message, length = _parse_head(head, limits)
    _check_size(message, len(data), limits)
    if length is None:
        message.body = rest
    elif length > len(rest):
        raise SipParseError(400, "Content-Length larger than the datagram", message)
    else:
        message.body = rest[:length]
    validate(message)
    return message


class SipStreamParser:
    """Incremental parser for a stream transport (RFC 3261 §18.3): feed bytes in any
    chunks, then call :meth:`next_message` until it returns None.

    :meth:`next_message` raises :class:`SipParseError` for a bad message; unless
    ``error.fatal``, parsing continues with the next message. A missing Content-Length is
    taken as 0."""

    def __init__(self, limits: ParserLimits = DEFAULT_LIMITS) -> None:
        self._limits = limits
        self._buffer = bytearray()
        self._scanned = 0
        self._pending: tuple[SipMessage, int, int] | None = None
        self._skip = 0
        self.failed = False

    @property
    def partial(self) -> bool:
        """Part of a message is buffered (CRLF keep-alives do not count)."""
        return bool(self._buffer.strip(b"\r\n")) or self._skip > 0

    def feed(self, data: bytes) -> None:
        if not self.failed:
            self._buffer.extend(data)

    def next_message(self) -> SipMessage | None:
        if self.failed:
            return None
        if self._skip:
            dropped = min(self._skip, len(self._buffer))
            del self._buffer[:dropped]
            self._skip -= dropped
            if self._skip:
                return None
        if self._pending is None and not self._read_head():
            return None
        assert self._pending is not None
        message, length, head_size = self._pending
        if len(self._buffer) < length:
            return None
        self._pending = None
        message.body = bytes(self._buffer[:length])
        del self._buffer[:length]
        _check_size(message, head_size + length, self._limits)
        validate(message)
        return message

    def _fail(self, status: int, detail: str) -> SipParseError:
        self.failed = True
        self._buffer.clear()
        return SipParseError(status, detail, fatal=True)

    def _read_head(self) -> bool:
        """Frame the next head; True once ``self._pending`` is set."""
        start = 0
        while start < len(self._buffer) and self._buffer[start] in b"\r\n":
            start += 1
        if start:
            del self._buffer[:start]
            self._scanned = 0
        span = _head_end(self._buffer, max(0, self._scanned - 3))
        if span is None:
            self._scanned = len(self._buffer)
            if len(self._buffer) > self._limits.max_message_size:
                raise self._fail(513, "no end of headers within the size limit")
            return False
        self._scanned = 0
        head = bytes(self._buffer[: span[0]])
        head_size = span[1]  # the blank line ending the head counts towards the size
        del self._buffer[:head_size]
        try:
            message, length = _parse_head(head, self._limits)
        except SipParseError as error:
            # Keep the stream in step if the body's length can still be told.
            lengths = set(_LOOSE_LENGTH_RE.findall(head))
            if len(lengths) > 1 or not all(value.isdigit() for value in lengths):
                fatal = self._fail(error.status, f"cannot frame: {error.detail}")
                fatal.message = error.message
                raise fatal from None
            self._skip = int(lengths.pop()) if lengths else 0
            raise
        length = length or 0
        if head_size + length > self._limits.max_message_size:
            self._skip = length
            raise SipParseError(513, f"message of {head_size + length} bytes", message)
        self._pending = (message, length, head_size)
        return True
