"""SOAP envelopes for the web service (SOAP 1.1 W3C Note 2000 clauses 4-6; SOAP 1.2 Part 1
clauses 5-6 and Part 2 clause 7 HTTP binding; ECMA-348 carries one ECMA-323 element per Body).

- :func:`parse_envelope` reads a request with the one safe parser
  (:func:`cstaserver.csta.xmlsafe.parse_document`): the version comes from the HTTP
  Content-Type (``text/xml`` = 1.1, ``application/soap+xml`` = 1.2); the Envelope must be in
  that version's namespace (another SOAP namespace is a ``VersionMismatch`` fault), the Body
  must hold exactly one element. Header blocks with ``mustUnderstand`` that we do not
  understand give a ``MustUnderstand`` fault; we understand our own namespace
  (``urn:cstaserver:soap``: the ``sessionID`` block) and WS-Addressing headers (ignored).
- :func:`response_envelope` and :func:`fault_envelope` write answers in the request's version,
  embedding the core's bytes without re-serialising them.
"""

from __future__ import annotations

import re

import attrs
from lxml import etree

from cstaserver.csta.codec import XML_DECLARATION, escape_text, local_name
from cstaserver.csta.xmlsafe import XmlRejected, parse_document

__all__ = [
    "SOAP_NS",
    "SoapVersion",
    "SOAP11",
    "SOAP12",
    "SoapRequest",
    "SoapFault",
    "CLIENT",
    "SERVER",
    "version_for_content_type",
    "parse_envelope",
    "response_envelope",
    "fault_envelope",
    "strip_declaration",
    "document_root",
]

#: Our own namespace: the ``sessionID`` header, Subscribe / GetEvents operations.
SOAP_NS = "urn:cstaserver:soap"

_WS_ADDRESSING = (
    "http://www.w3.org/2005/08/addressing",
    "http://schemas.xmlsoap.org/ws/2004/08/addressing",
)


@attrs.frozen
class SoapVersion:
    """What differs between SOAP 1.1 and 1.2 on the wire."""

    name: str
    namespace: str
    content_type: str
    client_fault: str  # fault code local name: Client / Sender
    server_fault: str  # Server / Receiver
    client_status: int  # HTTP status of a client fault (1.1: 500; 1.2: 400)

    @property
    def media_type(self) -> str:
        return self.content_type.split(";", 1)[0]


SOAP11 = SoapVersion(
    "1.1",
    "http://schemas.xmlsoap.org/soap/envelope/",
    "text/xml; charset=utf-8",
    "Client",
    "Server",
    500,
)
SOAP12 = SoapVersion(
    "1.2",
    "http://www.w3.org/2003/05/soap-envelope",
    "application/soap+xml; charset=utf-8",
    "Sender",
    "Receiver",
    400,
)
_BY_NAMESPACE = {v.namespace: v for v in (SOAP11, SOAP12)}


CLIENT = "client"  # Client (1.1) / Sender (1.2)
SERVER = "server"  # Server (1.1) / Receiver (1.2)


class SoapFault(Exception):
    """A request answered with a Fault: ``code`` is :data:`CLIENT`, :data:`SERVER`,
    ``VersionMismatch`` or ``MustUnderstand``; ``reason`` goes in the faultstring; ``detail``
    (a document, e.g. ``CSTAErrorCode``) in the detail element."""

    def __init__(self, code: str, reason: str, detail: bytes | None = None) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.detail = detail

    def status(self, version: SoapVersion) -> int:
        """The HTTP status (SOAP 1.1 7.1: 500 for every fault; SOAP 1.2 part 2 7.5.2.2:
        400 for Sender, 500 otherwise)."""
        return version.client_status if self.code == CLIENT else 500

    def envelope(self, version: SoapVersion) -> bytes:
        code = {CLIENT: version.client_fault, SERVER: version.server_fault}.get(
            self.code, self.code
        )
        return fault_envelope(version, code, self.reason, self.detail)


@attrs.frozen
class SoapRequest:
    """One parsed request envelope."""

    version: SoapVersion
    body: etree._Element = attrs.field(repr=False)  # the one Body child
    headers: tuple[etree._Element, ...] = attrs.field(default=(), repr=False)

    @property
    def operation(self) -> str:
        """The Body root's local name: what we dispatch on (SOAPAction is ignored)."""
        return local_name(self.body)

    def header_text(self, name: str, namespace: str = SOAP_NS) -> str | None:
        for block in self.headers:
            if block.tag == f"{{{namespace}}}{name}":
                text = (block.text or "").strip()
                return text or None
        return None


def version_for_content_type(content_type: str | None) -> SoapVersion | None:
    """The SOAP version a Content-Type announces, or None (answer 415)."""
    if not content_type:
        return None
    media = content_type.split(";", 1)[0].strip().lower()
    for version in (SOAP11, SOAP12):
        if media == version.media_type:
            return version
    return None


def _must_understand(block: etree._Element, version: SoapVersion) -> bool:
    value = block.get(f"{{{version.namespace}}}mustUnderstand")
    return value is not None and value.strip() in ("1", "true")


def _understood(block: etree._Element) -> bool:
    tag = block.tag
    return isinstance(tag, str) and (
        tag.startswith(f"{{{SOAP_NS}}}")
        or tag.startswith(tuple(f"{{{ns}}}" for ns in _WS_ADDRESSING))
    )


def _elements(parent: etree._Element) -> list[etree._Element]:
    return [child for child in parent if isinstance(child.tag, str)]


def parse_envelope(data: bytes, version: SoapVersion, *, max_bytes: int) -> SoapRequest:
    """Parse a request envelope; :class:`SoapFault` says why one is refused."""
    try:
        root = parse_document(data, max_bytes=max_bytes)
    except XmlRejected as exc:
        raise SoapFault(CLIENT, f"not a readable XML document: {exc.reason}") from None
    if local_name(root) != "Envelope":
        raise SoapFault(CLIENT, "the document is not a SOAP Envelope")
    namespace = etree.QName(root).namespace
    if namespace != version.namespace:
        if namespace in _BY_NAMESPACE:
            raise SoapFault(
                "VersionMismatch",
                f"a SOAP {_BY_NAMESPACE[namespace].name} envelope sent as {version.media_type}",
            )
        raise SoapFault("VersionMismatch", "the Envelope is not in a SOAP namespace")
    header = root.find(f"{{{namespace}}}Header")
    body = root.find(f"{{{namespace}}}Body")
    if body is None:
        raise SoapFault(CLIENT, "the Envelope has no Body")
    blocks = tuple(_elements(header)) if header is not None else ()
    for block in blocks:
        if _must_understand(block, version) and not _understood(block):
            raise SoapFault("MustUnderstand", f"header {block.tag} is not understood")
    children = _elements(body)
    if len(children) != 1:
        raise SoapFault(CLIENT, f"the Body must hold exactly one element, not {len(children)}")
    return SoapRequest(version=version, body=children[0], headers=blocks)


def strip_declaration(data: bytes) -> bytes:
    """A codec document without its XML declaration, ready to embed."""
    declaration = XML_DECLARATION.encode("ascii")
    if data.startswith(declaration):
        return data[len(declaration) :]
    if data.startswith(b"<?xml"):
        end = data.find(b"?>")
        return data[end + 2 :] if end >= 0 else data
    return data


_ROOT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)")


def document_root(data: bytes) -> str:
    """The root local name of a document the codec wrote (declaration, then the root)."""
    match = _ROOT.match(strip_declaration(data).lstrip())
    return match.group(1).decode("ascii") if match else ""


def _header_block(session_id: str | None) -> str:
    if not session_id:
        return ""
    return f'<cs:sessionID xmlns:cs="{SOAP_NS}">{escape_text(session_id)}</cs:sessionID>'


def response_envelope(
    version: SoapVersion, body: bytes, *, session_id: str | None = None, headers: str = ""
) -> bytes:
    """An envelope around one body element (a codec document or a fragment)."""
    header = _header_block(session_id) + headers
    head = (
        f'{XML_DECLARATION}<soap:Envelope xmlns:soap="{version.namespace}">'
        + (f"<soap:Header>{header}</soap:Header>" if header else "")
        + "<soap:Body>"
    )
    return head.encode("utf-8") + strip_declaration(body) + b"</soap:Body></soap:Envelope>"


def fault_envelope(
    version: SoapVersion, code: str, reason: str, detail: bytes | None = None
) -> bytes:
    """A Fault: ``code`` a local name (Client/Server, Sender/Receiver, VersionMismatch,
    MustUnderstand); ``detail`` a document to put inside ``detail`` (``CSTAErrorCode``)."""
    inner = strip_declaration(detail) if detail else b""
    text = escape_text(reason)
    if version is SOAP11:
        fault = (
            f"<soap:Fault><faultcode>soap:{code}</faultcode><faultstring>{text}</faultstring>"
        ).encode()
        fault += (b"<detail>" + inner + b"</detail>" if inner else b"") + b"</soap:Fault>"
    else:
        fault = (
            f"<soap:Fault><soap:Code><soap:Value>soap:{code}</soap:Value></soap:Code>"
            f'<soap:Reason><soap:Text xml:lang="en">{text}</soap:Text></soap:Reason>'
        ).encode()
        fault += (b"<soap:Detail>" + inner + b"</soap:Detail>" if inner else b"") + (
            b"</soap:Fault>"
        )
    return response_envelope(version, fault)
