"""ECMA-323 codec: XML bytes <-> typed messages, for every namespace edition.

Implements the encoding rules of ECMA-323 (clause 9, "XML schema for CSTA messages") as our
transports meet them (docs/protocol-notes.md N2-N3 and R3):

- **decode** matches the root and every child on its **local name** only (any namespace,
  none, any prefix), reads children in any order, ignores unknown children, tolerates missing
  optional fields, and raises :class:`DecodeError` for a missing mandatory field or a bad
  value. An unknown root is not an error: ``Decoded.message`` is then ``None``.
- **encode** answers in the namespace given (the request's), as a default ``xmlns`` without
  prefix, UTF-8, with ``<?xml version="1.0" encoding="UTF-8"?>``, children in ECMA-323 order.

Speed: per-class plans of small closures are compiled once from ``schema.fields_of``; encoding
writes strings directly (with XML escaping and removal of characters XML 1.0 forbids) instead
of building an lxml tree, which is several times faster than ``SubElement`` + ``tostring`` and
byte-identical for our structures. Only :data:`~cstaserver.csta.schema.Raw` fragments are
serialised by lxml. Decoding uses :func:`cstaserver.csta.xmlsafe.parse_document`.

**Event templates**: an event is serialised once per namespace with a placeholder
``monitorCrossRefID``; :meth:`EventTemplate.render` splices the escaped crossRefID in, so a
fan-out to N monitors costs one encode plus N byte concatenations.

**Response templates**: a message whose fields all hold their defaults (ClearCallResponse and
the other bare acknowledgements) is encoded once per class and namespace and the bytes
reused; :class:`SlotTemplates` serialise one shape of a message once per namespace with
placeholders for some text leaves (MakeCallResponse's callID and deviceID) and splice the
escaped values in. Both give the bytes :func:`encode` gives.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Sequence
from typing import Any

import attrs
from lxml import etree

from cstaserver.csta import messages as _messages  # noqa: F401  (registers every message)
from cstaserver.csta.builders import builder
from cstaserver.csta.namespaces import DEFAULT_NAMESPACE
from cstaserver.csta.schema import FieldInfo, Node, fields_of, message_class
from cstaserver.csta.xmlsafe import DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH, parse_document

__all__ = [
    "Decoded",
    "DecodeError",
    "decode",
    "decode_element",
    "encode",
    "EventTemplate",
    "EventTemplates",
    "SlotTemplates",
    "escape_text",
    "find_descendants",
    "local_name",
    "XML_DECLARATION",
]

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'


class DecodeError(ValueError):
    """A message that is well-formed XML but not a valid instance of its message class.

    ``field`` is the path of the offending element (``MakeCall/callingDevice``); ``missing``
    tells a missing mandatory field from a bad value; ``namespace`` is the root's namespace
    (the answer goes in it). ``csta.errors.error_for_decode`` maps it to the
    ``CSTAErrorCode`` to answer.
    """

    def __init__(
        self, field: str, reason: str, *, missing: bool = False, namespace: str = ""
    ) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.missing = missing
        self.namespace = namespace


@attrs.frozen
class Decoded:
    """One decoded document: root local name and namespace, typed message (or None), element."""

    name: str
    namespace: str
    message: Any
    element: etree._Element = attrs.field(eq=False, repr=False)


_decoded = builder(Decoded)


# --------------------------------------------------------------------------- escaping

_TEXT_SPECIAL = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ATTR_SPECIAL = re.compile('[&<>"\t\n\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]')
_ENTITIES = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "\r": "&#13;",
    "\n": "&#10;",
    "\t": "&#9;",
}


def _replace(match: re.Match[str]) -> str:
    return _ENTITIES.get(match.group(), "")


def escape_text(value: str) -> str:
    """Escape element text; characters XML 1.0 cannot carry are dropped."""
    if _TEXT_SPECIAL.search(value) is None:
        return value
    return _TEXT_SPECIAL.sub(_replace, value)


def _escape_attr(value: str) -> str:
    if _ATTR_SPECIAL.search(value) is None:
        return value
    return _ATTR_SPECIAL.sub(_replace, value)


def local_name(element: etree._Element) -> str:
    """The local name of an element (``{ns}MakeCall`` → ``MakeCall``)."""
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag[tag.rfind("}") + 1 :] if tag[:1] == "{" else tag


def find_descendants(element: etree._Element | None, *names: str) -> list[etree._Element]:
    """Elements below ``element`` (any depth, any namespace) whose local name is in ``names``.

    For opaque fragments: ``find_descendants(msg.extensions, "line")`` finds ``lcs:line``.
    """
    if element is None:
        return []
    wanted = set(names)
    return [e for e in element.iter() if e is not element and local_name(e) in wanted]


# --------------------------------------------------------------------------- plans

Encoder = Callable[[Any, list[str]], None]
Decoder = Callable[[etree._Element], Any]

_BOOLS = {"true": True, "1": True, "false": False, "0": False}


def _text(element: etree._Element) -> str:
    text = element.text
    return text.strip() if text else ""


def _decode_str(element: etree._Element) -> str:
    return _text(element)


def _decode_int(element: etree._Element) -> int:
    text = _text(element)
    try:
        return int(text)
    except ValueError:
        raise DecodeError("", f"not an integer: {text[:40]!r}") from None


def _decode_bool(element: etree._Element) -> bool:
    text = _text(element)
    value = _BOOLS.get(text)
    if value is None:
        value = _BOOLS.get(text.lower())
        if value is None:
            raise DecodeError("", f"not a boolean: {text[:40]!r}")
    return value


def _decode_flags(element: etree._Element) -> dict[str, bool]:
    flags: dict[str, bool] = {}
    for child in element:
        name = local_name(child)
        if name:
            if not _text(child):
                flags[name] = True  # <delivered/>: presence means set
                continue
            try:
                flags[name] = _decode_bool(child)
            except DecodeError as exc:
                raise DecodeError(name, exc.reason) from None
    return flags


def _enum_decoder(cls: type[enum.Enum]) -> Decoder:
    exact = {m.value: m for m in cls}
    folded = {str(m.value).lower(): m for m in cls}

    def decode_enum(element: etree._Element) -> enum.Enum:
        text = _text(element)
        member = exact.get(text)
        if member is None:
            member = folded.get(text.lower())
            if member is None:
                raise DecodeError("", f"not a {cls.__name__}: {text[:40]!r}")
        return member

    return decode_enum


def _raw_inner(element: etree._Element) -> str:
    parts = [escape_text(element.text or "")]
    for child in element:
        parts.append(etree.tostring(child, encoding="unicode", with_tail=True))
    return "".join(parts)


@attrs.define
class _Plan:
    """Compiled encoder/decoder of one message or structure class."""

    cls: type
    encode_attrs: Callable[[Any, list[str]], None]
    encode_body: Callable[[Any, list[str]], None]
    decode: Decoder
    #: (field, default) of every field when each has a plain default: a message holding
    #: them all encodes to the same bytes in a namespace (see ``_CONSTANTS``); else None
    defaults: tuple[tuple[str, Any], ...] | None = None


_PLANS: dict[type, _Plan] = {}


def _write_content(plan: _Plan, value: Any, tag: str, out: list[str]) -> None:
    """After ``<tag`` (and any xmlns): the attributes, then the body and ``</tag>``, or
    ``/>`` when the body is empty (``<ClearConnectionResponse xmlns="…"/>``)."""
    plan.encode_attrs(value, out)
    mark = len(out)
    out.append(">")
    plan.encode_body(value, out)
    if len(out) == mark + 1:
        out[mark] = "/>"
    else:
        out.append(f"</{tag}>")


def _plan(cls: type) -> _Plan:
    plan = _PLANS.get(cls)
    if plan is None:
        plan = _compile(cls)
    return plan


def _value_codec(info: FieldInfo) -> tuple[Callable[[Any, str, list[str]], None], Decoder]:
    """(write(value, tag, out), decode(element)) for one item of a field."""
    base = info.base
    if base is str:

        def write_str(value: Any, tag: str, out: list[str]) -> None:
            out.append(f"<{tag}>{escape_text(value)}</{tag}>")

        return write_str, _decode_str
    if base is bool:

        def write_bool(value: Any, tag: str, out: list[str]) -> None:
            out.append(f"<{tag}>true</{tag}>" if value else f"<{tag}>false</{tag}>")

        return write_bool, _decode_bool
    if base is int:

        def write_int(value: Any, tag: str, out: list[str]) -> None:
            out.append(f"<{tag}>{int(value)}</{tag}>")

        return write_int, _decode_int
    if isinstance(base, type) and issubclass(base, enum.Enum):

        def write_enum(value: Any, tag: str, out: list[str]) -> None:
            out.append(f"<{tag}>{escape_text(value.value)}</{tag}>")

        return write_enum, _enum_decoder(base)
    if base is dict:

        def write_flags(value: Any, tag: str, out: list[str]) -> None:
            out.append(f"<{tag}>")
            for name, flag in value.items():
                out.append(f"<{name}>true</{name}>" if flag else f"<{name}>false</{name}>")
            out.append(f"</{tag}>")

        return write_flags, _decode_flags
    if base is etree._Element:

        def write_raw(value: Any, tag: str, out: list[str]) -> None:
            out.append(f"<{tag}>{_raw_inner(value)}</{tag}>")

        def decode_raw(element: etree._Element) -> etree._Element:
            return element

        return write_raw, decode_raw
    if attrs.has(base):
        struct = base

        def write_struct(value: Any, tag: str, out: list[str]) -> None:
            out.append("<" + tag)
            _write_content(_plan(struct), value, tag, out)

        def decode_struct(element: etree._Element) -> Any:
            return _plan(struct).decode(element)

        return write_struct, decode_struct
    raise TypeError(f"{info.name}: unsupported field type {base!r}")


def _compile(cls: type) -> _Plan:
    infos = fields_of(cls)
    attr_writers: list[tuple[str, str]] = []
    text_field: str | None = None
    body_writers: list[Callable[[Any, list[str]], None]] = []
    decoders: list[tuple[str, tuple[str, ...], FieldInfo, Decoder]] = []
    attr_readers: list[tuple[str, str]] = []

    for info in infos:
        name, tag = info.name, info.xml
        if info.node is Node.ATTRIBUTE:
            attr_writers.append((name, tag))
            attr_readers.append((name, tag))
            continue
        if info.node is Node.TEXT:
            text_field = name
            continue
        if info.node is Node.EMPTY:
            empty = f"<{tag}/>"

            def write_empty(obj: Any, out: list[str], _n: str = name, _e: str = empty) -> None:
                if getattr(obj, _n):
                    out.append(_e)

            body_writers.append(write_empty)
            decoders.append((name, (tag, *info.aliases), info, _present))
            continue
        write_item, decode_item = _value_codec(info)
        if info.many:
            item_tag = info.item or tag
            if info.wrapped:

                def write_list(
                    obj: Any,
                    out: list[str],
                    _n: str = name,
                    _t: str = tag,
                    _i: str = item_tag,
                    _w: Callable[[Any, str, list[str]], None] = write_item,
                    _keep_empty: bool = info.nullable,
                ) -> None:
                    items = getattr(obj, _n)
                    if items or (_keep_empty and items is not None):
                        out.append(f"<{_t}>")
                        for item in items:
                            _w(item, _i, out)
                        out.append(f"</{_t}>")

                def decode_list(
                    element: etree._Element, _i: str = item_tag, _d: Decoder = decode_item
                ) -> list[Any]:
                    return [_d(c) for c in element if local_name(c) == _i]

                body_writers.append(write_list)
                decoders.append((name, (tag, *info.aliases), info, decode_list))
            else:

                def write_repeated(
                    obj: Any,
                    out: list[str],
                    _n: str = name,
                    _t: str = tag,
                    _w: Callable[[Any, str, list[str]], None] = write_item,
                ) -> None:
                    for item in getattr(obj, _n):
                        _w(item, _t, out)

                body_writers.append(write_repeated)
                decoders.append((name, (tag, *info.aliases), info, decode_item))
            continue

        def write_one(
            obj: Any,
            out: list[str],
            _n: str = name,
            _t: str = tag,
            _w: Callable[[Any, str, list[str]], None] = write_item,
        ) -> None:
            value = getattr(obj, _n)
            if value is not None:
                _w(value, _t, out)

        body_writers.append(write_one)
        decoders.append((name, (tag, *info.aliases), info, decode_item))

    def encode_attrs(obj: Any, out: list[str]) -> None:
        for name, tag in attr_writers:
            value = getattr(obj, name)
            if value is not None:
                out.append(f' {tag}="{_escape_attr(str(value))}"')

    if text_field is not None:
        text_name = text_field

        def encode_body(obj: Any, out: list[str]) -> None:
            value = getattr(obj, text_name)
            if value:
                out.append(escape_text(value))
    else:
        writers = tuple(body_writers)

        def encode_body(obj: Any, out: list[str]) -> None:
            for write in writers:
                write(obj, out)

    bare_text = getattr(cls, "csta_bare_text", None)
    is_choice = bool(getattr(cls, "csta_choice", False))
    repeated_names = {info.xml for info in infos if info.many and not info.wrapped}
    build = builder(cls)
    # which decoder each local name (the field's own or an alias) is for, and the decoders
    # of the mandatory fields: a decode visits those and the ones a child names, in field
    # order, so the first problem in field order is the one reported, as before
    position_of: dict[str, int] = {}
    for position, (_, tags, _, _) in enumerate(decoders):
        for tag in tags:
            position_of.setdefault(tag, position)
    mandatory = frozenset(
        position for position, (_, _, info, _) in enumerate(decoders) if not info.optional
    )
    # a local name two fields answer to (one's own, the other's alias): visit every field
    shared = len(position_of) < sum(len(tags) for _, tags, _, _ in decoders)
    every = tuple(range(len(decoders))) if shared else None

    def decode(element: etree._Element) -> Any:
        kwargs: dict[str, Any] = {}
        if attr_readers and element.keys():  # DeviceID: 0.3 us saved when none is set
            for name, tag in attr_readers:
                value = element.get(tag)
                if value is not None:
                    kwargs[name] = value
        if text_field is not None:
            kwargs[text_field] = _text(element)
            return build(kwargs)
        index: dict[str, Any] = {}
        for child in element:
            tag = child.tag
            if type(tag) is not str:
                continue
            tag = tag.rpartition("}")[2]
            if tag in repeated_names:
                index.setdefault(tag, []).append(child)
            elif tag not in index:
                index[tag] = child
        if not index and bare_text is not None and _text(element):
            # tolerate <callingDevice>1001</callingDevice> for an ExtendedDeviceID
            return cls(**{bare_text: _plan(_bare_type(cls, bare_text)).decode(element)})
        found = False
        if every is None:
            positions = {position_of[tag] for tag in index if tag in position_of}
            if mandatory:
                positions |= mandatory
            visited: Sequence[int] = sorted(positions)
        else:
            visited = every
        for position in visited:
            name, tags, info, decode_item = decoders[position]
            child = None
            for tag in tags:
                child = index.get(tag)
                if child is not None:
                    break
            if child is None:
                if not info.optional:
                    raise DecodeError(info.xml, "missing mandatory element", missing=True)
                continue
            found = True
            try:
                if info.many and not info.wrapped:
                    kwargs[name] = [decode_item(c) for c in child]
                else:
                    kwargs[name] = decode_item(child)
            except DecodeError as exc:
                path = f"{info.xml}/{exc.field}" if exc.field else info.xml
                raise DecodeError(path, exc.reason, missing=exc.missing) from None
        if is_choice and not found:
            raise DecodeError("", "empty choice", missing=True)
        return build(kwargs)

    plan = _Plan(
        cls=cls,
        encode_attrs=encode_attrs,
        encode_body=encode_body,
        decode=decode,
        defaults=_plain_defaults(cls),
    )
    _PLANS[cls] = plan
    return plan


def _present(element: etree._Element) -> bool:
    return True


def _bare_type(cls: type, field_name: str) -> type:
    for info in fields_of(cls):
        if info.name == field_name:
            return info.base
    raise TypeError(field_name)


# --------------------------------------------------------------------------- API


def decode_element(root: etree._Element) -> Decoded:
    """Decode an already parsed root element (SOAP Body child, SIP body …)."""
    tag = root.tag
    if not isinstance(tag, str):
        raise DecodeError("", "not an element")
    if tag[:1] == "{":
        end = tag.rfind("}")
        namespace, name = tag[1:end], tag[end + 1 :]
    else:
        namespace, name = "", tag
    cls = message_class(name)
    if cls is None:
        return _decoded({"name": name, "namespace": namespace, "message": None, "element": root})
    try:
        message = _plan(cls).decode(root)
    except DecodeError as exc:
        path = f"{name}/{exc.field}" if exc.field else name
        raise DecodeError(path, exc.reason, missing=exc.missing, namespace=namespace) from None
    except (TypeError, ValueError) as exc:  # attrs validators, odd values
        raise DecodeError(name, str(exc), namespace=namespace) from None
    return _decoded({"name": name, "namespace": namespace, "message": message, "element": root})


def decode(
    data: bytes | bytearray | memoryview | etree._Element,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> Decoded:
    """Parse (safely) and decode one document.

    Raises ``xmlsafe.XmlRejected`` (not XML, too large, DTD, …) or :class:`DecodeError`.
    """
    if isinstance(data, etree._Element):
        return decode_element(data)
    return decode_element(parse_document(data, max_bytes=max_bytes, max_depth=max_depth))


def _encode_str(message: Any, namespace: str) -> str:
    cls = type(message)
    plan = _plan(cls)
    name: str = cls.csta_name
    ns = cls.csta_namespace or namespace
    out = [XML_DECLARATION, "<" + name]
    if ns:
        out.append(f' xmlns="{_escape_attr(ns)}"')
    _write_content(plan, message, name, out)
    return "".join(out)


def _plain_defaults(cls: type) -> tuple[tuple[str, Any], ...] | None:
    defaults = []
    for field in attrs.fields(cls):
        default = field.default
        if default is attrs.NOTHING or isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            return None
        defaults.append((field.name, default))
    return tuple(defaults)


#: The bytes of messages whose fields all hold their defaults, by (class, namespace). Bounded:
#: the namespace is the client's; past the bound such messages are encoded each time.
_CONSTANTS: dict[tuple[type, str], bytes] = {}
_MAX_CONSTANTS = 1024


def encode(message: Any, namespace: str = DEFAULT_NAMESPACE) -> bytes:
    """Serialise a message in ``namespace`` (default ``xmlns``; ECMA-354 keeps its own)."""
    cls = type(message)
    if not hasattr(cls, "csta_name"):
        raise TypeError(f"{cls.__name__} is not a registered message class")
    defaults = _plan(cls).defaults
    if defaults is not None and all(getattr(message, n) is d for n, d in defaults):
        key = (cls, namespace)
        data = _CONSTANTS.get(key)
        if data is None:
            data = _encode_str(message, namespace).encode("utf-8")
            if len(_CONSTANTS) < _MAX_CONSTANTS:
                _CONSTANTS[key] = data
        return data
    return _encode_str(message, namespace).encode("utf-8")


def _split_at_marks(data: bytes, marks: Sequence[bytes]) -> tuple[bytes, ...] | None:
    """``data`` cut at each of ``marks`` in turn (the bytes between them), or None when a mark
    is missing or there twice (a client's own text held it): then encode each time."""
    parts: list[bytes] = []
    for mark in marks:
        before, found, data = data.partition(mark)
        if not found or mark in data:
            return None
        parts.append(before)
    parts.append(data)
    return tuple(parts)


class SlotTemplates:
    """One shape of a message, serialised once per namespace with placeholders for ``slots``
    text leaves: ``SlotTemplates(build, 2).render(ns, a, b) == encode(build(a, b), ns)`` for
    every non-empty ``a`` and ``b`` (``build`` puts each slot's value in element text, where
    :func:`escape_text` escapes it, as :func:`encode` does). At most ``max_namespaces``
    namespaces are kept (the namespace is the client's); past that each is encoded."""

    def __init__(self, build: Callable[..., Any], slots: int, max_namespaces: int = 64) -> None:
        self._build = build
        self._marks = [f"\u2063SLOT{i}\u2063" for i in range(slots)]
        self._max = max_namespaces
        #: per namespace, the text between the slots (the encoded bytes cut at the marks,
        #: each piece whole UTF-8): a render joins them with the escaped values and encodes
        #: once, which gives the same bytes as encoding each piece
        self._parts: dict[str, tuple[str, ...]] = {}

    def _compile(self, namespace: str) -> tuple[str, ...] | None:
        data = encode(self._build(*self._marks), namespace)
        parts = _split_at_marks(data, [mark.encode("utf-8") for mark in self._marks])
        return None if parts is None else tuple(part.decode("utf-8") for part in parts)

    def render(self, namespace: str, *values: str) -> bytes:
        parts = self._parts.get(namespace)
        if parts is None:
            compiled = self._compile(namespace)
            if compiled is None or len(self._parts) >= self._max:
                return encode(self._build(*values), namespace)
            parts = self._parts[namespace] = compiled
        if len(values) != len(parts) - 1:
            raise ValueError(f"{len(parts) - 1} values expected, {len(values)} given")
        out = [parts[0]]
        for index, value in enumerate(values, 1):
            out.append(escape_text(value))
            out.append(parts[index])
        return "".join(out).encode("utf-8")


_PLACEHOLDER = "\u2063XREF\u2063"  # invisible separators: never in a real crossRefID
_PLACEHOLDER_BYTES = _PLACEHOLDER.encode("utf-8")


class EventTemplate:
    """An event serialised once in one namespace; :meth:`render` fills ``monitorCrossRefID``.

    ``EventTemplate(event, ns).render(xref) == encode(attrs.evolve(event,
    monitor_cross_ref_id=xref), ns)`` for every ``xref``.
    """

    __slots__ = ("event", "namespace", "_prefix", "_suffix")

    def __init__(self, event: Any, namespace: str = DEFAULT_NAMESPACE) -> None:
        if not hasattr(event, "monitor_cross_ref_id"):
            raise TypeError(f"{type(event).__name__} has no monitorCrossRefID")
        self.event = event
        self.namespace = namespace
        data = encode(attrs.evolve(event, monitor_cross_ref_id=_PLACEHOLDER), namespace)
        parts = _split_at_marks(data, (_PLACEHOLDER_BYTES,))
        if parts is not None:
            self._prefix: bytes | None = parts[0]
            self._suffix = parts[1]
        else:  # a client-supplied string contains the placeholder: encode per monitor
            self._prefix = None
            self._suffix = b""

    def render(self, cross_ref_id: str) -> bytes:
        """The event's bytes for one monitor."""
        if self._prefix is None:
            return encode(
                attrs.evolve(self.event, monitor_cross_ref_id=cross_ref_id), self.namespace
            )
        return self._prefix + escape_text(cross_ref_id).encode("utf-8") + self._suffix


class EventTemplates:
    """One event, its templates per namespace, built on first use (for a fan-out)."""

    __slots__ = ("event", "_by_namespace")

    def __init__(self, event: Any) -> None:
        self.event = event
        self._by_namespace: dict[str, EventTemplate] = {}

    def render(self, namespace: str, cross_ref_id: str) -> bytes:
        template = self._by_namespace.get(namespace)
        if template is None:
            template = self._by_namespace[namespace] = EventTemplate(self.event, namespace)
        return template.render(cross_ref_id)
