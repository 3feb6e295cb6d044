"""SIP header grammar: RFC 3261 §7.3 (header fields), §20 (field definitions), §25.1 (ABNF).

This module knows the shape of header *values*, never how a message is framed:

- :class:`Headers`, an ordered multi-map with case-insensitive names; compact forms
  (§7.3.3, and the later IANA single-letter forms) are normalised to their full names.
- :func:`split_list`, splitting a comma-joined value on commas outside quotes and ``<>``
  (§7.3.1).
- :class:`NameAddress` (From, To, Contact, Route, Record-Route: §20.10, §20.20, §20.39),
  :class:`Via` (§20.42), :class:`CSeq` (§20.16) and :class:`SipUri` (§19.1.1, the parts a
  UA needs to reach a target).

Every parse function raises :class:`HeaderSyntaxError`; the message codec turns that into
a ``400 Bad Request``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from typing import Any, TypeVar, cast

from attrs import evolve, field, frozen

MAGIC_COOKIE = "z9hG4bK"
"""RFC 3261 §8.1.1.7: a branch starting with this is an RFC 3261 transaction id."""

_TOKEN_CHARS = "A-Za-z0-9\\-.!%*_+`'~"
TOKEN_RE = re.compile(f"[{_TOKEN_CHARS}]+")
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_HOST_RE = re.compile(r"\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-_]+")
_SENT_PROTOCOL_RE = re.compile(
    f"\\s*([{_TOKEN_CHARS}]+)\\s*/\\s*([{_TOKEN_CHARS}]+)\\s*/\\s*([{_TOKEN_CHARS}]+)\\s+(.+?)\\s*$",
    re.DOTALL,
)
_SENT_BY_RE = re.compile(f"({_HOST_RE.pattern})(?:\\s*:\\s*([0-9]{{1,5}}))?")
_PARAM_VALUE_RE = re.compile(r"[^\s\";,]+")
_URI_FORBIDDEN_RE = re.compile(r"[\s<>\"]")
_QUOTED_PAIR_RE = re.compile(r"\\(.)", re.DOTALL)
_QUOTED_STRING_RE = re.compile(r'"((?:[^"\\]|\\.)*)"', re.DOTALL)
_CSEQ_RE = re.compile(f"([0-9]+)\\s+([{_TOKEN_CHARS}]+)")
# The usual shapes, recognised by one regular expression each (no blanks, no quotes, no
# display name); anything else takes the general path, which is the reference.
_PLAIN_PARAMS = f'(?:;[{_TOKEN_CHARS}]+(?:=[^\\s";,]+)?)*'
_PLAIN_PARAMS_RE = re.compile(_PLAIN_PARAMS)
_PLAIN_NAME_ADDR_RE = re.compile(f'<([A-Za-z][A-Za-z0-9+.\\-]*:[^<>"\\s]*)>({_PLAIN_PARAMS})')
_PLAIN_VIA_RE = re.compile(
    f"SIP/2\\.0/([A-Za-z]+) ([A-Za-z0-9.\\-_]+|\\[[0-9A-Fa-f:.]+\\])(?::([0-9]{{1,5}}))?"
    f"({_PLAIN_PARAMS})"
)

MAX_CSEQ = 2**31 - 1
"""RFC 3261 §8.1.1.5: the sequence number must be expressible as a 32-bit unsigned
integer and less than 2**31."""


T = TypeVar("T")


class HeaderSyntaxError(ValueError):
    """A header value does not follow the RFC 3261 grammar."""


# Full names as RFC 3261 and its extensions spell them; the key is the lower-case name.
_CANONICAL_NAMES = {
    name.lower(): name
    for name in (
        "Accept",
        "Accept-Contact",
        "Accept-Encoding",
        "Accept-Language",
        "Alert-Info",
        "Allow",
        "Allow-Events",
        "Authentication-Info",
        "Authorization",
        "Call-ID",
        "Call-Info",
        "Contact",
        "Content-Disposition",
        "Content-Encoding",
        "Content-Language",
        "Content-Length",
        "Content-Type",
        "CSeq",
        "Date",
        "Error-Info",
        "Event",
        "Expires",
        "From",
        "Identity",
        "Identity-Info",
        "In-Reply-To",
        "Max-Forwards",
        "MIME-Version",
        "Min-Expires",
        "Min-SE",
        "Organization",
        "Priority",
        "Proxy-Authenticate",
        "Proxy-Authorization",
        "Proxy-Require",
        "Record-Route",
        "Refer-To",
        "Referred-By",
        "Reject-Contact",
        "Reply-To",
        "Request-Disposition",
        "Require",
        "Retry-After",
        "Route",
        "Server",
        "Session-Expires",
        "Subject",
        "Supported",
        "Timestamp",
        "To",
        "Unsupported",
        "User-Agent",
        "Via",
        "Warning",
        "WWW-Authenticate",
    )
}

COMPACT_FORMS = {
    "a": "Accept-Contact",
    "b": "Referred-By",
    "c": "Content-Type",
    "d": "Request-Disposition",
    "e": "Content-Encoding",
    "f": "From",
    "i": "Call-ID",
    "j": "Reject-Contact",
    "k": "Supported",
    "l": "Content-Length",
    "m": "Contact",
    "n": "Identity-Info",
    "o": "Event",
    "r": "Refer-To",
    "s": "Subject",
    "t": "To",
    "u": "Allow-Events",
    "v": "Via",
    "x": "Session-Expires",
    "y": "Identity",
}
"""RFC 3261 §7.3.3 and the IANA SIP header registry's compact forms."""

LIST_HEADERS = frozenset(
    name.lower()
    for name in (
        "Accept",
        "Accept-Encoding",
        "Accept-Language",
        "Alert-Info",
        "Allow",
        "Allow-Events",
        "Call-Info",
        "Contact",
        "Content-Encoding",
        "Content-Language",
        "Error-Info",
        "In-Reply-To",
        "Proxy-Require",
        "Record-Route",
        "Require",
        "Route",
        "Supported",
        "Unsupported",
        "Via",
        "Warning",
    )
)
"""Headers defined as comma-separated lists (§7.3.1): a comma-joined value is split."""


def canonical_name(name: str) -> str:
    """The full, conventionally spelled name of a header (compact forms expanded).

    Unknown names are kept as written (they are still compared case-insensitively)."""
    known = _KNOWN_SPELLINGS.get(name)
    if known is not None:
        return known
    lower = name.lower()
    if lower in COMPACT_FORMS:
        return COMPACT_FORMS[lower]
    return _CANONICAL_NAMES.get(lower, name)


# The usual spellings (full, lower-case, compact in either case) resolved in one look-up;
# the table is fixed, so names read from the network never make it grow.
_KNOWN_SPELLINGS: dict[str, str] = {
    **{full: full for full in _CANONICAL_NAMES.values()},
    **_CANONICAL_NAMES,
    **COMPACT_FORMS,
    **{short.upper(): full for short, full in COMPACT_FORMS.items()},
}
KNOWN_SPELLINGS = frozenset(_KNOWN_SPELLINGS)
"""The spellings of header names that :func:`canonical_name` resolves in one look-up."""
_KNOWN_KEYS: dict[str, str] = {
    spelling: full.lower() for spelling, full in _KNOWN_SPELLINGS.items()
}


def _key(name: str) -> str:
    """The look-up key of a header name: its canonical name, lower-cased."""
    key = _KNOWN_KEYS.get(name)
    return key if key is not None else canonical_name(name).lower()


_MISSING: Any = object()
_MEMO: Any = object()  # marks what memo() keeps apart from the parsed values of one field


class Headers:
    """An ordered multi-map of header fields: names compare case-insensitively.

    Values are kept as received (after unfolding), so an echoed header is byte-exact.
    Look-ups go through an index by canonical name, built on the first look-up after a
    change; parsed values (:meth:`parse_first`, :meth:`parse_all`) are kept with it, so a
    message's From, To, Via or CSeq is parsed once however often it is read."""

    __slots__ = ("_index", "_items", "_parsed")

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: list[tuple[str, str]] = []
        self._index: dict[str, list[str]] | None = None
        self._parsed: dict[Hashable, Any] = {}
        for name, value in items:
            self.add(name, value)

    @classmethod
    def parsed(
        cls, items: list[tuple[str, str]], index: dict[str, list[str]] | None = None
    ) -> Headers:
        """Headers whose names are canonical tokens and whose values hold no CR or LF (as
        the message parser and a response's copy of its request's fields know they are),
        with their index (values by lower-case canonical name) when the parser built it in
        the same pass over the field lines, else built on the first look-up."""
        headers = cls()
        headers._items = items
        headers._index = index
        return headers

    def index(self) -> Mapping[str, list[str]]:
        """Every value by the lower-case canonical name of its header, in order (one
        look-up for a caller reading several fields; the lists are not to be changed)."""
        return self._lookup()

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        return _key(name) in self._lookup()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        return self._normalised() == other._normalised()

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"

    def _normalised(self) -> list[tuple[str, str]]:
        return [(name.lower(), value) for name, value in self._items]

    def _lookup(self) -> dict[str, list[str]]:
        """The values of each header by key, in order (built once per change)."""
        index = self._index
        if index is None:
            index = {}
            for item, value in self._items:
                key = item.lower()
                values = index.get(key)
                if values is None:
                    index[key] = [value]
                else:
                    values.append(value)
            self._index = index
        return index

    def _changed(self) -> None:
        self._index = None
        if self._parsed:
            self._parsed = {}

    def _one_changed(self, key: str, values: list[str]) -> None:
        """Only the fields under ``key`` changed, to ``values``: the index is mended and the
        other fields' parsed values are kept; what :meth:`memo` keeps (derived from any
        fields) is dropped with this field's own."""
        if self._index is not None:
            self._index[key] = values  # a new list: one a caller holds is left as it was
        if self._parsed:
            self._parsed = {
                cached: value
                for cached, value in self._parsed.items()
                if cached[0] is not _MEMO and cached[0] != key
            }

    def add(self, name: str, value: str) -> None:
        """Append one header field; a CR or LF in the value is refused (header injection)."""
        if "\r" in value or "\n" in value or not TOKEN_RE.fullmatch(name):
            raise ValueError(f"invalid header field {name!r}: {value!r}")
        self._items.append((canonical_name(name), value))
        self._changed()

    def extend(self, fields: Iterable[tuple[str, str]]) -> None:
        """:meth:`add` each of ``fields`` (names are checked and made canonical, a CR or LF
        in a value is refused), the index rebuilt once."""
        checked: list[tuple[str, str]] = []
        for name, value in fields:
            canonical = _KNOWN_SPELLINGS.get(name)
            if canonical is None:
                if not TOKEN_RE.fullmatch(name):
                    raise ValueError(f"invalid header field {name!r}: {value!r}")
                canonical = canonical_name(name)
            if "\r" in value or "\n" in value:
                raise ValueError(f"invalid header field {name!r}: {value!r}")
            checked.append((canonical, value))
        self.extend_checked(checked)

    def extend_checked(self, fields: Iterable[tuple[str, str]]) -> None:
        """Append fields whose names are already canonical (:func:`canonical_name`) tokens and
        whose values hold no CR or LF, as the message parser and a response's copy of its
        request's fields know they are (what :meth:`add` checks one by one)."""
        self._items.extend(fields)
        self._changed()

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of ``name``, or ``default``."""
        values = self._lookup().get(_key(name))
        return values[0] if values else default

    def count(self, name: str) -> int:
        """How many ``name`` fields there are."""
        return len(self._lookup().get(_key(name), ()))

    def counts(self, keys: Iterable[str]) -> list[int]:
        """How many fields there are of each of ``keys`` (lower-case canonical names)."""
        index = self._lookup()
        return [len(index.get(key, ())) for key in keys]

    def get_all(self, name: str) -> list[str]:
        """Every value of ``name``, in order."""
        return list(self._lookup().get(_key(name), ()))

    def parse_first(self, name: str, parse: Callable[[str], T]) -> T:
        """``parse`` of the first value of ``name`` (of ``""`` if absent), kept until the
        headers change; ``parse`` must return an immutable value. Errors are not kept."""
        parsed_values = self._parsed
        key = _key(name)
        cache_key = (key, parse, True)
        found = parsed_values.get(cache_key, _MISSING)
        if found is _MISSING:
            every = parsed_values.get((key, parse, False))
            if every:
                found = every[0]
            else:
                values = self._lookup().get(key)
                found = parse(values[0] if values else "")
            parsed_values[cache_key] = found
        return cast(T, found)

    def memo(self, key: Hashable, compute: Callable[[], T]) -> T:
        """``compute()``, kept with the parsed values until the headers change (a value
        derived from several fields, e.g. a transaction's key); it must be immutable."""
        parsed_values = self._parsed
        memo_key = (_MEMO, key)
        found = parsed_values.get(memo_key, _MISSING)
        if found is _MISSING:
            found = parsed_values[memo_key] = compute()
        return cast(T, found)

    def parse_all(self, name: str, parse: Callable[[str], T]) -> list[T]:
        """``parse`` of every value of ``name``, in order (a new list each call), kept until
        the headers change; ``parse`` must return immutable values."""
        cache_key = (_key(name), parse, False)
        cached = self._parsed.get(cache_key)
        if cached is None:
            cached = tuple(parse(value) for value in self._lookup().get(cache_key[0], ()))
            self._parsed[cache_key] = cached
        return list(cached)

    def set(self, name: str, value: str) -> None:
        """Replace every ``name`` field by one, at the place of the first (or at the end)."""
        if "\r" in value or "\n" in value or not TOKEN_RE.fullmatch(name):
            raise ValueError(f"invalid header field {name!r}: {value!r}")
        wanted = _key(name)
        index = next(
            (i for i, (item, _) in enumerate(self._items) if item.lower() == wanted),
            len(self._items),
        )
        self.remove(name)
        self._items.insert(index, (canonical_name(name), value))
        self._changed()

    def prepend(self, name: str, value: str) -> None:
        """Insert one header field before all others (a Via we add)."""
        self.add(name, value)
        self._items.insert(0, self._items.pop())
        self._changed()

    def replace_first(self, name: str, value: str) -> None:
        """Replace the value of the first ``name`` field (e.g. the top Via)."""
        if "\r" in value or "\n" in value:
            raise ValueError(f"invalid header value {value!r}")
        wanted = _key(name)
        for index, (item, _) in enumerate(self._items):
            if item.lower() == wanted:
                self._items[index] = (item, value)
                self._one_changed(wanted, [value, *self._lookup()[wanted][1:]])
                return
        self.add(name, value)

    def remove(self, name: str) -> int:
        """Remove every ``name`` field; return how many were removed."""
        wanted = _key(name)
        before = len(self._items)
        self._items = [(item, value) for item, value in self._items if item.lower() != wanted]
        self._changed()
        return before - len(self._items)

    def copy(self) -> Headers:
        duplicate = Headers()
        duplicate._items = list(self._items)
        return duplicate


def _scan(value: str, separator: str, *, angle: bool) -> list[str]:
    """Split ``value`` on ``separator`` outside quoted strings (and ``<>`` if ``angle``)."""
    if '"' not in value and not (angle and "<" in value):
        # the usual value (no quoted string, no bracketed URI): nothing can hide a separator
        return value.split(separator)
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    depth = 0
    index = 0
    while index < len(value):
        char = value[index]
        if quoted:
            current.append(char)
            if char == "\\" and index + 1 < len(value):
                current.append(value[index + 1])
                index += 1
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
            current.append(char)
        elif angle and char == "<":
            depth += 1
            current.append(char)
        elif angle and char == ">" and depth:
            depth -= 1
            current.append(char)
        elif char == separator and not depth:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    if quoted:
        raise HeaderSyntaxError(f"unterminated quoted string in {value!r}")
    parts.append("".join(current))
    return parts


def split_list(value: str) -> list[str]:
    """Split a comma-joined header value (RFC 3261 §7.3.1) into its stripped elements."""
    if "," not in value and '"' not in value:  # one element (the usual Via, Contact)
        return [value.strip(" \t")]
    return [part.strip(" \t") for part in _scan(value, ",", angle=True)]


Params = tuple[tuple[str, "str | None"], ...]


def parse_params(text: str) -> Params:
    """Parse ``;name[=value]`` parameters (generic-param, §25.1), LWS allowed around ``=``.

    ``text`` is what follows the element, starting with ``;`` (or empty)."""
    if _PLAIN_PARAMS_RE.fullmatch(text):
        return _plain_params(text)
    text = text.strip(" \t")
    if not text:
        return ()
    if not text.startswith(";"):
        raise HeaderSyntaxError(f"expected ';' before parameters in {text!r}")
    params: list[tuple[str, str | None]] = []
    for raw in _scan(text[1:], ";", angle=False):
        name, equals, value = raw.partition("=")
        name = name.strip(" \t")
        if not TOKEN_RE.fullmatch(name):
            raise HeaderSyntaxError(f"invalid parameter {raw!r}")
        if not equals:
            params.append((name, None))
            continue
        value = value.strip(" \t")
        if not value or not (
            (value.startswith('"') and value.endswith('"') and len(value) >= 2)
            or _PARAM_VALUE_RE.fullmatch(value)
        ):
            raise HeaderSyntaxError(f"invalid parameter value {raw!r}")
        params.append((name, value))
    return tuple(params)


def _plain_params(text: str) -> Params:
    """The parameters of a text :data:`_PLAIN_PARAMS_RE` matches (no blanks, no quotes)."""
    if not text:
        return ()
    params: list[tuple[str, str | None]] = []
    for raw in text[1:].split(";"):
        name, equals, value = raw.partition("=")
        params.append((name, value if equals else None))
    return tuple(params)


def format_params(params: Params) -> str:
    return "".join(f";{name}" if value is None else f";{name}={value}" for name, value in params)


def find_param(params: Params, name: str) -> str | None:
    """The value of parameter ``name`` (case-insensitive); ``""`` for a flag, else None."""
    wanted = name.lower()
    for key, value in params:
        if key.lower() == wanted:
            return "" if value is None else value
    return None


def has_param(params: Params, name: str) -> bool:
    wanted = name.lower()
    return any(key.lower() == wanted for key, _ in params)


def _check_uri(uri: str) -> str:
    if not _SCHEME_RE.match(uri) or _URI_FORBIDDEN_RE.search(uri):
        raise HeaderSyntaxError(f"invalid URI {uri!r}")
    return uri


def _unquote(quoted: str) -> str:
    """The content of a quoted-string with its quoted-pairs resolved."""
    return _QUOTED_PAIR_RE.sub(r"\1", quoted[1:-1])


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


KEPT_VALUES = 1024
"""How many distinct values of each of From/To/Contact/Route, Via, CSeq and the request
line keep their parsed form. A dialog's From and To, a client's Via without a branch, the
CSeq of each method and the request lines repeat request after request; a value the
server never saw is parsed."""

KEPT_LENGTH = 512
"""Longer values are parsed each time, never kept: what the kept values hold stays under
:data:`KEPT_VALUES` x this many characters per kind, whatever a client sends."""


def kept_parse(read: Callable[[str], T]) -> Callable[[str], T]:
    """``read`` (one header value or line to an immutable result) with the results of its
    latest :data:`KEPT_VALUES` distinct values of up to :data:`KEPT_LENGTH` characters
    kept; a value it refuses is not kept. ``cache_info()`` counts them."""
    kept = functools.lru_cache(maxsize=KEPT_VALUES)(read)

    def parse(value: str) -> T:
        return kept(value) if len(value) <= KEPT_LENGTH else read(value)

    parse.cache_info = kept.cache_info  # type: ignore[attr-defined]
    return parse


@frozen
class NameAddress:
    """A name-addr or addr-spec with header parameters (§20.10 and §25.1)."""

    uri: str
    display_name: str | None = None
    params: Params = ()
    tag: str | None = field(init=False, eq=False, repr=False)
    """The ``tag`` parameter (From, To), found once when the value is parsed."""

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "tag", find_param(self.params, "tag"))

    @classmethod
    def parse(cls, value: str) -> NameAddress:
        """The value parsed (kept: the same value is parsed once, :func:`kept_parse`)."""
        return _nameaddress_kept(value)

    @classmethod
    def _read(cls, value: str) -> NameAddress:
        plain = _PLAIN_NAME_ADDR_RE.fullmatch(value)  # <uri>;params, the usual form
        if plain is not None:
            return cls(plain.group(1), None, _plain_params(plain.group(2)))
        text = value.strip(" \t")
        display: str | None = None
        if text.startswith('"'):
            match = _QUOTED_STRING_RE.match(text)
            if match is None:
                raise HeaderSyntaxError(f"unterminated display name in {value!r}")
            display = _unquote(match.group(0))
            text = text[match.end() :].lstrip(" \t")
            if not text.startswith("<"):
                raise HeaderSyntaxError(f"expected '<' after display name in {value!r}")
        if "<" in text.split(";", 1)[0] or text.startswith("<"):
            before, _, rest = text.partition("<")
            if display is None:
                words = before.strip(" \t")
                if words and not all(TOKEN_RE.fullmatch(word) for word in words.split()):
                    raise HeaderSyntaxError(f"display name needs quotes in {value!r}")
                display = " ".join(words.split()) or None
            uri, closed, params = rest.partition(">")
            if not closed:
                raise HeaderSyntaxError(f"missing '>' in {value!r}")
            return cls(_check_uri(uri), display, parse_params(params))
        # addr-spec: the URI cannot hold ';', ',' or '?' (§20.10), so parameters follow ';'.
        uri, semicolon, params = text.partition(";")
        uri = uri.strip(" \t")
        if "?" in uri or "," in uri:
            raise HeaderSyntaxError(f"URI with headers must be in <> in {value!r}")
        return cls(_check_uri(uri), None, parse_params(semicolon + params))

    def param(self, name: str) -> str | None:
        return find_param(self.params, name)

    def __str__(self) -> str:
        display = f"{_quote(self.display_name)} " if self.display_name is not None else ""
        return f"{display}<{self.uri}>{format_params(self.params)}"


@frozen
class Via:
    """One Via element (§20.42): ``SIP/2.0/transport sent-by;params``."""

    transport: str
    host: str
    port: int | None = None
    params: Params = ()
    protocol: str = "SIP/2.0"
    branch: str | None = field(init=False, eq=False, repr=False)
    """The ``branch`` parameter (the transaction's key), found once when parsed."""

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "branch", find_param(self.params, "branch"))

    @classmethod
    def parse(cls, value: str) -> Via:
        """The value parsed (kept: the same value is parsed once, :func:`kept_parse`)."""
        return _via_kept(value)

    @classmethod
    def _read(cls, value: str) -> Via:
        plain = _PLAIN_VIA_RE.fullmatch(value)  # SIP/2.0/TCP host:port;params, the usual form
        if plain is not None and (plain.group(3) is None or int(plain.group(3)) <= 65535):
            transport, host, port, params = plain.groups()
            return cls(
                transport.upper(),
                host,
                int(port) if port else None,
                _plain_params(params),
                "SIP/2.0",
            )
        parts = _scan(value, ";", angle=False)
        match = _SENT_PROTOCOL_RE.fullmatch(parts[0])
        if match is None:
            raise HeaderSyntaxError(f"invalid Via {value!r}")
        name, version, transport, sent_by = match.groups()
        host_port = _SENT_BY_RE.fullmatch(sent_by)
        if host_port is None:
            raise HeaderSyntaxError(f"invalid Via sent-by {sent_by!r}")
        port = int(host_port.group(2)) if host_port.group(2) else None
        if port is not None and port > 65535:
            raise HeaderSyntaxError(f"invalid Via port in {value!r}")
        params = parse_params(";" + ";".join(parts[1:])) if len(parts) > 1 else ()
        return cls(
            transport.upper(),
            host_port.group(1),
            port,
            params,
            f"{name.upper()}/{version}",
        )

    @property
    def sent_by(self) -> str:
        return self.host if self.port is None else f"{self.host}:{self.port}"

    @property
    def received(self) -> str | None:
        return find_param(self.params, "received")

    @property
    def rport(self) -> int | None:
        """The filled-in rport value (RFC 3581), or None if absent or not filled in."""
        value = find_param(self.params, "rport")
        return int(value) if value and value.isdigit() else None

    def with_param(self, name: str, value: str | None) -> Via:
        """A copy with parameter ``name`` set (replaced in place, or appended)."""
        wanted = name.lower()
        if has_param(self.params, name):
            params = tuple(
                (key, value) if key.lower() == wanted else (key, old) for key, old in self.params
            )
        else:
            params = (*self.params, (name, value))
        return evolve(self, params=params)

    def __str__(self) -> str:
        return f"{self.protocol}/{self.transport} {self.sent_by}{format_params(self.params)}"


@frozen
class CSeq:
    """The CSeq header (§20.16): a sequence number and a method."""

    number: int
    method: str

    @classmethod
    def parse(cls, value: str) -> CSeq:
        """The value parsed (kept: the same value is parsed once, :func:`kept_parse`)."""
        return _cseq_kept(value)

    @classmethod
    def _read(cls, value: str) -> CSeq:
        match = _CSEQ_RE.fullmatch(value.strip(" \t"))
        if match is None:
            raise HeaderSyntaxError(f"invalid CSeq {value!r}")
        number = int(match.group(1))
        if number > MAX_CSEQ:
            raise HeaderSyntaxError(f"CSeq number too large in {value!r}")
        return cls(number, match.group(2))

    def __str__(self) -> str:
        return f"{self.number} {self.method}"


_nameaddress_kept = kept_parse(NameAddress._read)
_via_kept = kept_parse(Via._read)
_cseq_kept = kept_parse(CSeq._read)


@frozen
class SipUri:
    """The parts of a sip:/sips: URI (§19.1.1) needed to reach a target."""

    scheme: str
    host: str
    user: str | None = None
    port: int | None = None
    params: Params = field(default=())
    headers: str | None = None

    @classmethod
    def parse(cls, uri: str) -> SipUri:
        scheme, colon, rest = uri.partition(":")
        if not colon or scheme.lower() not in ("sip", "sips"):
            raise HeaderSyntaxError(f"not a SIP URI: {uri!r}")
        user: str | None = None
        if "@" in rest:
            user, _, rest = rest.rpartition("@")
        rest, _, headers = rest.partition("?")
        host_port, _, params = rest.partition(";")
        match = _SENT_BY_RE.fullmatch(host_port)
        if match is None:
            raise HeaderSyntaxError(f"invalid host in {uri!r}")
        port = int(match.group(2)) if match.group(2) else None
        parsed = tuple(
            (name, value or None)
            for name, _, value in (p.partition("=") for p in params.split(";") if p)
        )
        return cls(scheme.lower(), match.group(1), user, port, parsed, headers or None)

    def param(self, name: str) -> str | None:
        return find_param(self.params, name)


def option_tags(values: Iterable[str]) -> set[str]:
    """The option tags listed in Supported/Require header values, lower-cased."""
    return {tag.strip().lower() for value in values for tag in value.split(",") if tag.strip()}


def media_type(content_type: str | None) -> str | None:
    """``type/subtype`` of a Content-Type value, lower-cased, parameters dropped."""
    if content_type is None:
        return None
    return content_type.split(";", 1)[0].strip(" \t").lower() or None
