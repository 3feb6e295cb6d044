"""The declarative message layer: ECMA-323 structures declared once as attrs classes.

ECMA-323 (XML encoding of ECMA-269) messages and structures are plain ``attrs`` classes.
Decoding, encoding (``csta.codec``) and, later, the SOAP XSD are all derived from the
declaration, so nothing is written twice:

- a **message** class is decorated with :func:`message` (root element name ``csta_name``, its
  :class:`Kind`, an optional fixed namespace, e.g. ECMA-354, and input-only aliases);
- a **structure** (``ConnectionID``, ``MonitorFilter``, …) is any attrs class used as a field type;
- each attrs field describes one child element (or attribute, or the element text):
  the XML local name defaults to the camelCase of the Python name with ``id``/``dn``/``nid``
  segments upper-cased (``monitor_cross_ref_id`` → ``monitorCrossRefID``); :func:`x` overrides
  it and says how lists, attributes, text and empty marker elements are laid out;
- the field's **type annotation** is the value type: ``str``, ``int``, ``bool``, a ``str``-valued
  ``enum.Enum``, another attrs structure, :data:`Flags` (a group of boolean flag elements such
  as ``<callcontrol><delivered>true</delivered></callcontrol>``), :data:`Raw` (an XML fragment
  kept as an lxml element: ``extensions``, ``privateData``, ``applicationSpecificInfo``) or
  ``list[X]``; ``X | None`` marks an optional field, anything else is mandatory.

Message classes are ``attrs.frozen(kw_only=True)`` so fields can be declared in ECMA-323
element order (the encoding order) whatever their defaults.
"""

from __future__ import annotations

import enum
import sys
import types
import typing
from collections.abc import Callable
from typing import Any, TypeVar

import attrs
from lxml import etree

__all__ = [
    "Kind",
    "Node",
    "FieldInfo",
    "Flags",
    "Raw",
    "CstaEnum",
    "x",
    "message",
    "fields_of",
    "message_class",
    "response_class",
    "negative_response_class",
    "all_messages",
    "xml_name",
]

#: A group of boolean flags, one child element per flag, in insertion order.
Flags = dict[str, bool]
#: An XML fragment kept as is (the element itself: ``<extensions>…</extensions>``).
Raw = etree._Element

_META = "cstaserver.csta.schema"
_T = TypeVar("_T")


class Kind(enum.Enum):
    """What a root element is (ECMA-269 clause 9 terminology)."""

    REQUEST = "request"
    RESPONSE = "response"
    EVENT = "event"
    ERROR = "error"
    UNSOLICITED = "unsolicited"


class Node(enum.Enum):
    """How a field is laid out in XML."""

    ELEMENT = "element"  # a child element
    ATTRIBUTE = "attribute"  # an attribute of the structure's element
    TEXT = "text"  # the structure's element text (simple content, e.g. DeviceID)
    EMPTY = "empty"  # a marker element whose presence means True (``<notKnown/>``)


class CstaEnum(str, enum.Enum):
    """An enumeration whose values are the ECMA-323 (camelCase) spellings."""

    def __str__(self) -> str:
        return str(self.value)


@attrs.frozen
class _Spec:
    xml: str | None = None
    item: str | None = None
    wrapped: bool = True
    aliases: tuple[str, ...] = ()
    node: Node = Node.ELEMENT


def x(
    xml: str | None = None,
    *,
    item: str | None = None,
    wrapped: bool = True,
    aliases: tuple[str, ...] = (),
    node: Node = Node.ELEMENT,
    default: Any = attrs.NOTHING,
    factory: Callable[[], Any] | None = None,
) -> Any:
    """Declare a field with explicit XML layout.

    ``xml``: the local name (default derived from the Python name); ``item``: for ``list``
    fields, the name of each item element; ``wrapped``: items inside one ``xml`` element (True)
    or repeated ``item`` elements directly in the parent (False); ``aliases``: other local names
    accepted on input; ``node``: element, attribute, text or empty marker.
    """
    spec = _Spec(xml=xml, item=item, wrapped=wrapped, aliases=tuple(aliases), node=node)
    if factory is not None:
        return attrs.field(factory=factory, metadata={_META: spec})
    return attrs.field(default=default, metadata={_META: spec})


_ACRONYMS = {"id": "ID", "dn": "DN", "nid": "NID", "cdr": "CDR", "acd": "ACD"}


def xml_name(python_name: str) -> str:
    """camelCase of a snake_case name, with ``id``, ``dn``, … upper-cased after the first word."""
    first, *rest = python_name.split("_")
    return first + "".join(_ACRONYMS.get(part, part[:1].upper() + part[1:]) for part in rest)


@attrs.frozen
class FieldInfo:
    """One declared field, resolved (used by the codec and the XSD generator).

    ``base`` is the value type of one item: ``str``, ``int``, ``bool``, an enum class, an attrs
    structure class, :data:`Raw` or ``dict`` (:data:`Flags`). ``optional``: may be absent on
    input; ``nullable``: the annotation admits ``None`` (a ``list[X] | None`` that is an empty
    list, not None, is still written as an empty wrapper element).
    """

    name: str
    xml: str
    node: Node
    base: Any
    optional: bool
    nullable: bool
    many: bool
    item: str | None
    wrapped: bool
    aliases: tuple[str, ...]


_FIELDS: dict[type, tuple[FieldInfo, ...]] = {}
_BY_NAME: dict[str, type] = {}
_ALIASES: dict[str, type] = {}
_RESPONSES: dict[type, str] = {}
_NEGATIVE: dict[type, str] = {}


def message(
    csta_name: str,
    kind: Kind,
    *,
    response: str | None = None,
    negative: str | None = None,
    namespace: str | None = None,
    aliases: tuple[str, ...] = (),
) -> Callable[[type[_T]], type[_T]]:
    """Register an attrs class as a root element (apply above ``@attrs.frozen``).

    For a request, ``response`` defaults to ``csta_name + "Response"``; ``negative`` names an
    ECMA-354 ``…NegResponse``. ``namespace`` fixes the namespace (ECMA-354 messages) whatever
    the association's edition.
    """

    def register(cls: type[_T]) -> type[_T]:
        if not attrs.has(cls):
            raise TypeError(f"{cls.__name__} must be an attrs class")
        if csta_name in _BY_NAME:
            raise ValueError(f"duplicate message name {csta_name}")
        cls.csta_name = csta_name  # type: ignore[attr-defined]
        cls.csta_kind = kind  # type: ignore[attr-defined]
        cls.csta_namespace = namespace  # type: ignore[attr-defined]
        _BY_NAME[csta_name] = cls
        for alias in aliases:
            _ALIASES[alias] = cls
        if kind is Kind.REQUEST:
            _RESPONSES[cls] = response or csta_name + "Response"
        elif response:
            _RESPONSES[cls] = response
        if negative:
            _NEGATIVE[cls] = negative
        return cls

    return register


def message_class(local_name: str) -> type | None:
    """The message class for a root local name (aliases such as ``TransferredEvent`` too)."""
    cls = _BY_NAME.get(local_name)
    if cls is None:
        cls = _ALIASES.get(local_name)
    return cls


def response_class(request_cls: type) -> type | None:
    """The positive response class of a request class (``MakeCall`` → ``MakeCallResponse``)."""
    name = _RESPONSES.get(request_cls)
    return _BY_NAME.get(name) if name else None


def negative_response_class(request_cls: type) -> type | None:
    """The ECMA-354 negative response class (``StartApplicationSessionNegResponse``), if any."""
    name = _NEGATIVE.get(request_cls)
    return _BY_NAME.get(name) if name else None


def all_messages() -> dict[str, type]:
    """Every registered root name and its class (imports ``csta.messages`` first)."""
    import cstaserver.csta.messages  # noqa: F401  (registers every message)

    return dict(_BY_NAME)


def _unwrap(annotation: Any) -> tuple[Any, bool, bool]:
    """(base type, optional, many) of a resolved annotation."""
    optional = False
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(args) != len(typing.get_args(annotation))
        if len(args) != 1:
            raise TypeError(f"unsupported union {annotation!r}")
        annotation = args[0]
        origin = typing.get_origin(annotation)
    if origin is list:
        (item,) = typing.get_args(annotation)
        return item, optional, True
    if origin is dict:
        return dict, optional, False
    return annotation, optional, False


def fields_of(cls: type) -> tuple[FieldInfo, ...]:
    """The resolved field list of a message or structure class, in declaration order."""
    cached = _FIELDS.get(cls)
    if cached is not None:
        return cached
    module = sys.modules[cls.__module__]
    hints = typing.get_type_hints(cls, globalns=vars(module), localns={"Raw": Raw})
    infos = []
    for attribute in attrs.fields(cls):
        spec: _Spec = attribute.metadata.get(_META, _Spec())
        base, nullable, many = _unwrap(hints[attribute.name])
        optional = nullable or many
        if base is etree._Element:
            optional = True
        if spec.node is Node.EMPTY:
            optional = True
        infos.append(
            FieldInfo(
                name=attribute.name,
                xml=spec.xml or xml_name(attribute.name),
                node=spec.node,
                base=base,
                optional=optional,
                nullable=nullable,
                many=many,
                item=spec.item,
                wrapped=spec.wrapped,
                aliases=spec.aliases,
            )
        )
    result = tuple(infos)
    _FIELDS[cls] = result
    return result
