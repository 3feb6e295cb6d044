"""The one safe XML parser of the project (ECMA-323 bodies, TR/87 SIP bodies, SOAP envelopes).

Every transport hands untrusted bytes to :func:`parse_document`; nothing else in cstaserver
calls ``lxml.etree.fromstring`` on network data.

Defences (OWASP XML cheat sheet, applied to lxml/libxml2):

- **No DTD at all.** A document with a ``<!DOCTYPE`` (internal subset or external id) is
  refused before and after parsing: this closes XXE (``file://`` and network entities),
  billion laughs / quadratic blow-up, and external DTD fetches. The parser also runs with
  ``resolve_entities=False``, ``load_dtd=False``, ``no_network=True``, ``huge_tree=False``.
- **Size**: at most ``max_bytes`` (default 65,535: an ECMA-323 raw frame, docs/protocol-notes.md X3).
- **Depth**: at most ``max_depth`` nested elements (default 64).
- Comments and processing instructions are dropped; text (including whitespace) is kept.
- Bodies with or without an XML declaration; UTF-8 by default, any declared encoding that
  libxml2 knows (UTF-16 with a BOM included).
"""

from __future__ import annotations

import re

from lxml import etree

__all__ = ["XmlRejected", "parse_document", "DEFAULT_MAX_BYTES", "DEFAULT_MAX_DEPTH"]

DEFAULT_MAX_BYTES = 65535
DEFAULT_MAX_DEPTH = 64

_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
    remove_blank_text=False,
    strip_cdata=True,
    collect_ids=False,
)


class XmlRejected(ValueError):
    """The document is not acceptable; ``reason`` says why (for logs, never for clients)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _ascii_view(data: bytes) -> bytes:
    """Bytes in which an ASCII ``<!DOCTYPE`` can be searched, whatever the encoding."""
    head = data[:4]
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or (len(head) == 4 and 0 in head):
        for codec in ("utf-16", "utf-16-le", "utf-16-be", "utf-32"):
            try:
                return data.decode(codec).encode("ascii", "replace")
            except UnicodeDecodeError:
                continue
        raise XmlRejected("undecodable multi-byte document")
    return data


_ENCODING_DECL = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._-]*)["']""")
_UTF8_NAMES = frozenset({b"utf-8", b"us-ascii", b"ascii"})


def _read_as_utf8(data: bytes) -> bool:
    """True when libxml2 reads ``data`` as UTF-8, so every ``<`` of the markup is a 0x3C byte:
    it starts with ``<`` (no BOM, not UTF-16/32) and declares no encoding but UTF-8/ASCII."""
    if data[:1] != b"<" or data[1:2] == b"\x00":
        return False
    if not data.startswith(b"<?xml"):
        return True
    end = data.find(b"?>")
    match = _ENCODING_DECL.search(data, 0, end if end > 0 else len(data))
    return match is None or match.group(1).lower() in _UTF8_NAMES


def _check_depth(root: etree._Element, max_depth: int) -> None:
    stack = [(root, 1)]
    pop = stack.pop
    push = stack.append
    while stack:
        element, depth = pop()
        if depth > max_depth:
            raise XmlRejected(f"element nesting deeper than {max_depth}")
        if len(element):
            deeper = depth + 1
            for child in element:
                push((child, deeper))


def parse_document(
    data: bytes | bytearray | memoryview,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> etree._Element:
    """Parse one untrusted XML document and return its root element.

    Raises :class:`XmlRejected` for anything that is too large, too deep, carries a DTD,
    or is not well-formed XML.
    """
    if not isinstance(data, bytes):
        if isinstance(data, (bytearray, memoryview)):
            data = bytes(data)
        else:
            raise XmlRejected(f"expected bytes, got {type(data).__name__}")
    if len(data) > max_bytes:
        raise XmlRejected(f"document of {len(data)} bytes exceeds {max_bytes}")
    if not data.strip():
        raise XmlRejected("empty document")
    has_bang = b"<!" in data
    if has_bang:
        view = _ascii_view(data)
        if b"<!DOCTYPE" in view or b"<!ENTITY" in view or b"<!doctype" in view:
            raise XmlRejected("DTDs are not accepted")
    elif data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        view = _ascii_view(data)
        if b"<!DOCTYPE" in view or b"<!ENTITY" in view:
            raise XmlRejected("DTDs are not accepted")
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise XmlRejected(f"malformed XML: {exc}") from None
    except (ValueError, LookupError) as exc:
        raise XmlRejected(f"unreadable XML: {exc}") from None
    if root is None:
        raise XmlRejected("no root element")
    # The checks after parsing cost about 1.5 us of a 5 us parse (bench/README.md); a UTF-8
    # document can skip them when its bytes already settle the question: no "<!" means no
    # DOCTYPE, and no more "<" than max_depth means no deeper nesting.
    utf8 = _read_as_utf8(data)
    if not utf8 or has_bang:
        docinfo = root.getroottree().docinfo
        if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
            raise XmlRejected("DTDs are not accepted")
    if not utf8 or data.count(b"<") > max_depth:
        _check_depth(root, max_depth)
    return root
