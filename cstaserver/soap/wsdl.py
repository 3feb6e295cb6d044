"""Our WSDL 1.1 and XSDs for the web service (ECMA-348: abstract WSDL over the ECMA-323
schema; WSDL 1.1 document/literal with SOAP 1.1 and SOAP 1.2 bindings; XML Schema 1.0).

**Generated from the codec's message declarations** (``schema.all_messages`` /
``schema.fields_of``), so the WSDL cannot drift from what the codec reads and writes:

- ``csta.xsd`` (target: the ECMA-323 ed3 namespace) declares every CSTA root element (requests,
  responses, events, ``CSTAErrorCode``); ``appl_session.xsd`` the ECMA-354 ones (their own
  namespace); ``cstaserver.xsd`` our own elements (namespace ``urn:cstaserver:soap``): the
  ``sessionID`` header, ``Subscribe`` / ``Unsubscribe`` / ``GetEvents`` and ``subscriptionID``.
- Field types map as the codec encodes them: ``str`` → ``xs:string``, ``int`` →
  ``xs:integer``, ``bool`` → ``xs:boolean``, enumerations → ``xs:simpleType`` restrictions,
  structures → named complex types (``csta_choice`` ones as ``xs:choice``), a ``DeviceID``-like
  text-plus-attributes structure → simple content, flag groups and :data:`Raw` fragments →
  ``xs:any`` (lax), lists → wrapped or repeated elements, marker elements → empty elements.
  Element order is the codec's encoding order; the server accepts any order.
- One operation per request of the core's service table (``core.default_services()``) plus
  our three, each with our own SOAPAction ``urn:cstaserver:soap#<Operation>`` (ignored on
  input), the optional ``cs:sessionID`` header, and faults carrying ``CSTAErrorCode`` (and
  the ECMA-354 ``…NegResponse`` for session operations).
- Every ``schemaLocation`` is relative (``csta?xsd=csta.xsd``) and served by the same
  resource, so zeep and other clients load it offline; the service address is filled in per
  request from the Host header it was fetched with.
"""

from __future__ import annotations

import enum
import functools
from xml.sax.saxutils import quoteattr

from lxml import etree

from cstaserver.csta.core import default_services
from cstaserver.csta.namespaces import APPL_SESSION, DEFAULT_NAMESPACE
from cstaserver.csta.schema import (
    Node,
    all_messages,
    fields_of,
    negative_response_class,
    response_class,
)
from cstaserver.soap.envelope import SOAP_NS

__all__ = ["XSD_FILES", "OWN_OPERATIONS", "operations", "xsd_document", "wsdl_document"]

XS = "http://www.w3.org/2001/XMLSchema"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
WSDL_SOAP11 = "http://schemas.xmlsoap.org/wsdl/soap/"
WSDL_SOAP12 = "http://schemas.xmlsoap.org/wsdl/soap12/"
HTTP_TRANSPORT = "http://schemas.xmlsoap.org/soap/http"

#: file name -> target namespace, as served at ``/csta?xsd=<name>``
XSD_FILES = {
    "csta.xsd": DEFAULT_NAMESPACE,
    "appl_session.xsd": APPL_SESSION,
    "cstaserver.xsd": SOAP_NS,
}
_PREFIX = {DEFAULT_NAMESPACE: "csta", APPL_SESSION: "as", SOAP_NS: "cs"}

#: Our own operations (request element, response element), all in ``urn:cstaserver:soap``.
OWN_OPERATIONS = {
    "Subscribe": "SubscribeResponse",
    "Unsubscribe": "UnsubscribeResponse",
    "GetEvents": "GetEventsResponse",
}

_ANY = (
    '<xs:sequence><xs:any namespace="##any" processContents="lax" minOccurs="0"'
    ' maxOccurs="unbounded"/></xs:sequence>'
)


class _SchemaWriter:
    """The declarations of one target namespace, built from message classes."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.types: dict[str, str] = {}
        self._names: dict[object, str] = {}
        self.elements: list[str] = []

    def _register(self, key: object, wanted: str) -> tuple[str, bool]:
        """(name, new) for a named type; a clash of names gets a numbered suffix."""
        if key in self._names:
            return self._names[key], False
        name, n = wanted, 1
        while name in self.types:
            n += 1
            name = f"{wanted}{n}"
        self._names[key] = name
        self.types[name] = ""  # reserved (recursive structures)
        return name, True

    def type_of(self, base: object) -> str:
        if base is str:
            return "xs:string"
        if base is int:
            return "xs:integer"
        if base is bool:
            return "xs:boolean"
        if base is dict:
            name, new = self._register(dict, "Flags")
            if new:
                self.types[name] = f'<xs:complexType name="{name}">{_ANY}</xs:complexType>'
            return f"tns:{name}"
        if base is etree._Element:
            name, new = self._register(etree._Element, "AnyContent")
            if new:
                self.types[name] = (
                    f'<xs:complexType name="{name}" mixed="true">{_ANY}</xs:complexType>'
                )
            return f"tns:{name}"
        if isinstance(base, type) and issubclass(base, enum.Enum):
            name, new = self._register(base, base.__name__)
            if new:
                values = "".join(f"<xs:enumeration value={quoteattr(str(m.value))}/>" for m in base)
                self.types[name] = (
                    f'<xs:simpleType name="{name}"><xs:restriction base="xs:string">'
                    f"{values}</xs:restriction></xs:simpleType>"
                )
            return f"tns:{name}"
        if isinstance(base, type):
            name, new = self._register(base, base.__name__)
            if new:
                content = self.content(base)
                self.types[name] = f'<xs:complexType name="{name}">{content}</xs:complexType>'
            return f"tns:{name}"
        raise TypeError(f"no XSD type for {base!r}")

    def particle(self, info: object) -> str:
        occurs = ' minOccurs="0"' if info.optional else ""
        if info.node is Node.EMPTY:
            return f'<xs:element name="{info.xml}"{occurs}><xs:complexType/></xs:element>'
        type_name = self.type_of(info.base)
        if not info.many:
            return f'<xs:element name="{info.xml}" type="{type_name}"{occurs}/>'
        items = f'type="{type_name}" minOccurs="0" maxOccurs="unbounded"'
        if not info.wrapped:
            return f'<xs:element name="{info.xml}" {items}/>'
        return (
            f'<xs:element name="{info.xml}" minOccurs="0"><xs:complexType><xs:sequence>'
            f'<xs:element name="{info.item or info.xml}" {items}/>'
            "</xs:sequence></xs:complexType></xs:element>"
        )

    def content(self, cls: type) -> str:
        """The content model of a message or structure class."""
        infos = fields_of(cls)
        attributes = "".join(
            f'<xs:attribute name="{i.xml}" type="xs:string"'
            + ("" if i.optional else ' use="required"')
            + "/>"
            for i in infos
            if i.node is Node.ATTRIBUTE
        )
        if any(i.node is Node.TEXT for i in infos):
            return (
                '<xs:simpleContent><xs:extension base="xs:string">'
                f"{attributes}</xs:extension></xs:simpleContent>"
            )
        particles = "".join(self.particle(i) for i in infos if i.node in (Node.ELEMENT, Node.EMPTY))
        if not particles:
            return attributes
        if getattr(cls, "csta_choice", False):
            return f'<xs:choice minOccurs="0">{particles}</xs:choice>{attributes}'
        return f"<xs:sequence>{particles}</xs:sequence>{attributes}"

    def add_message(self, cls: type) -> None:
        self.elements.append(
            f'<xs:element name="{cls.csta_name}"><xs:complexType>'
            f"{self.content(cls)}</xs:complexType></xs:element>"
        )

    def document(self, documentation: str = "") -> str:
        doc = (
            f"<xs:annotation><xs:documentation>{documentation}</xs:documentation></xs:annotation>"
            if documentation
            else ""
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<xs:schema xmlns:xs="{XS}" xmlns:tns="{self.target}" '
            f'targetNamespace="{self.target}" elementFormDefault="qualified">'
            + doc
            + "".join(self.elements)
            + "".join(self.types.values())
            + "</xs:schema>\n"
        )


def _namespace_of(cls: type) -> str:
    return cls.csta_namespace or DEFAULT_NAMESPACE


def _own_schema() -> str:
    def element(name: str, content: str) -> str:
        return f'<xs:element name="{name}"><xs:complexType>{content}</xs:complexType></xs:element>'

    def seq(*particles: str) -> str:
        return "<xs:sequence>" + "".join(particles) + "</xs:sequence>"

    writer = _SchemaWriter(SOAP_NS)
    writer.elements = [
        '<xs:element name="sessionID" type="xs:string"/>',
        '<xs:element name="subscriptionID" type="xs:string"/>',
        element("Subscribe", seq('<xs:element name="NotifyTo" type="xs:anyURI"/>')),
        element("SubscribeResponse", seq('<xs:element ref="tns:subscriptionID"/>')),
        element("Unsubscribe", seq('<xs:element ref="tns:subscriptionID"/>')),
        '<xs:element name="UnsubscribeResponse"><xs:complexType/></xs:element>',
        element(
            "GetEvents",
            seq(
                '<xs:element name="timeout" type="xs:decimal" minOccurs="0"/>',
                '<xs:element name="maxEvents" type="xs:integer" minOccurs="0"/>',
            ),
        ),
        element(
            "GetEventsResponse",
            '<xs:sequence><xs:any namespace="##other" processContents="lax" minOccurs="0"'
            ' maxOccurs="unbounded"/></xs:sequence>',
        ),
    ]
    return writer.document(
        "cstaserver SOAP extensions. sessionID: SOAP header naming the ECMA-354 session a"
        " request belongs to (from StartApplicationSessionPosResponse). Subscribe: events of"
        " the session (or of the login, without a sessionID header) are POSTed to NotifyTo as"
        " SOAP 1.1 one-way messages with a subscriptionID header. GetEvents: waits up to"
        " timeout seconds (at most 60) for events and returns them."
    )


@functools.cache
def xsd_document(name: str) -> bytes | None:
    """The XSD served as ``/csta?xsd=<name>``, or None for an unknown name."""
    target = XSD_FILES.get(name)
    if target is None:
        return None
    if target == SOAP_NS:
        return _own_schema().encode("utf-8")
    writer = _SchemaWriter(target)
    for cls in all_messages().values():
        if _namespace_of(cls) == target:
            writer.add_message(cls)
    return writer.document().encode("utf-8")


def operations() -> list[tuple[str, str, str, str | None, str | None]]:
    """(operation, namespace, request element, response element, NegResponse or None)
    for every request the core serves, then ours. A request without a positive response
    (RouteSelect ...) is a WSDL one-way operation: response element None."""
    result = []
    for cls in default_services():
        response = response_class(cls)
        negative = negative_response_class(cls)
        result.append(
            (
                cls.csta_name,
                _namespace_of(cls),
                cls.csta_name,
                response.csta_name if response is not None else None,
                negative.csta_name if negative else None,
            )
        )
    for name, response_name in OWN_OPERATIONS.items():
        result.append((name, SOAP_NS, name, response_name, None))
    return result


def _qname(namespace: str, name: str) -> str:
    return f"{_PREFIX[namespace]}:{name}"


def _binding(name: str, soap: str, ops: list) -> str:
    parts = [
        f'<wsdl:binding name="{name}" type="tns:CstaPortType">'
        f'<{soap}:binding style="document" transport="{HTTP_TRANSPORT}"/>'
    ]
    header = f'<{soap}:header message="tns:SessionHeader" part="sessionID" use="literal"/>'
    for op, _ns, _request, response, negative in ops:
        if response is None:  # one-way (WSDL 1.1 2.4.1): input only
            parts.append(
                f'<wsdl:operation name="{op}">'
                f'<{soap}:operation soapAction="{SOAP_NS}#{op}" style="document"/>'
                f'<wsdl:input><{soap}:body use="literal"/>{header}</wsdl:input>'
                "</wsdl:operation>"
            )
            continue
        faults = f'<wsdl:fault name="CSTAErrorCode"><{soap}:fault name="CSTAErrorCode" use="literal"/></wsdl:fault>'
        if negative:
            faults += (
                f'<wsdl:fault name="{negative}"><{soap}:fault name="{negative}" use="literal"/>'
                "</wsdl:fault>"
            )
        parts.append(
            f'<wsdl:operation name="{op}">'
            f'<{soap}:operation soapAction="{SOAP_NS}#{op}" style="document"/>'
            f'<wsdl:input><{soap}:body use="literal"/>{header}</wsdl:input>'
            f'<wsdl:output><{soap}:body use="literal"/></wsdl:output>'
            f"{faults}</wsdl:operation>"
        )
    parts.append("</wsdl:binding>")
    return "".join(parts)


_LOCATION = "\x00LOCATION\x00"


@functools.cache
def _wsdl_template() -> str:
    ops = operations()
    imports = "".join(
        f'<xs:import namespace="{ns}" schemaLocation="csta?xsd={name}"/>'
        for name, ns in XSD_FILES.items()
    )
    messages = [
        '<wsdl:message name="SessionHeader"><wsdl:part name="sessionID" element="cs:sessionID"/>'
        "</wsdl:message>",
        '<wsdl:message name="CSTAErrorCodeFault">'
        '<wsdl:part name="fault" element="csta:CSTAErrorCode"/></wsdl:message>',
    ]
    port_ops = []
    for op, ns, request, response, negative in ops:
        messages.append(
            f'<wsdl:message name="{op}Input"><wsdl:part name="parameters" '
            f'element="{_qname(ns, request)}"/></wsdl:message>'
        )
        if response is None:  # one-way
            port_ops.append(
                f'<wsdl:operation name="{op}"><wsdl:input message="tns:{op}Input"/>'
                "</wsdl:operation>"
            )
            continue
        messages.append(
            f'<wsdl:message name="{op}Output"><wsdl:part name="parameters" '
            f'element="{_qname(ns, response)}"/></wsdl:message>'
        )
        faults = '<wsdl:fault name="CSTAErrorCode" message="tns:CSTAErrorCodeFault"/>'
        if negative:
            messages.append(
                f'<wsdl:message name="{negative}Fault"><wsdl:part name="fault" '
                f'element="{_qname(ns, negative)}"/></wsdl:message>'
            )
            faults += f'<wsdl:fault name="{negative}" message="tns:{negative}Fault"/>'
        port_ops.append(
            f'<wsdl:operation name="{op}"><wsdl:input message="tns:{op}Input"/>'
            f'<wsdl:output message="tns:{op}Output"/>{faults}</wsdl:operation>'
        )
    namespaces = " ".join(f'xmlns:{prefix}="{ns}"' for ns, prefix in _PREFIX.items())
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<wsdl:definitions name="CstaService" targetNamespace="{SOAP_NS}" '
        f'xmlns:wsdl="{WSDL}" xmlns:soap="{WSDL_SOAP11}" xmlns:soap12="{WSDL_SOAP12}" '
        f'xmlns:xs="{XS}" xmlns:tns="{SOAP_NS}" {namespaces}>'
        "<wsdl:documentation>cstaserver CSTA web service (ECMA-348 style, document/literal)."
        " One ECMA-323 (ed3) or ECMA-354 element per request Body, its response in the reply;"
        " a CSTA failure is a SOAP Fault with CSTAErrorCode in its detail. HTTP Basic login on"
        " every POST. Optional SOAP header cs:sessionID (urn:cstaserver:soap) selects the"
        " ECMA-354 session started with StartApplicationSession; without it a request uses the"
        " login's own association. Events: Subscribe (NotifyTo URL) or GetEvents (long poll)."
        "</wsdl:documentation>"
        f'<wsdl:types><xs:schema targetNamespace="{SOAP_NS}:wsdl">{imports}</xs:schema>'
        "</wsdl:types>"
        + "".join(messages)
        + '<wsdl:portType name="CstaPortType">'
        + "".join(port_ops)
        + "</wsdl:portType>"
        + _binding("CstaSoap11Binding", "soap", ops)
        + _binding("CstaSoap12Binding", "soap12", ops)
        + '<wsdl:service name="CstaService">'
        f'<wsdl:port name="CstaSoap11Port" binding="tns:CstaSoap11Binding">'
        f'<soap:address location="{_LOCATION}"/></wsdl:port>'
        f'<wsdl:port name="CstaSoap12Port" binding="tns:CstaSoap12Binding">'
        f'<soap12:address location="{_LOCATION}"/></wsdl:port>'
        "</wsdl:service></wsdl:definitions>\n"
    )


def wsdl_document(location: str) -> bytes:
    """The WSDL with ``location`` (``http://host:port/csta``) as the service address."""
    escaped = quoteattr(location)[1:-1]
    return _wsdl_template().replace(_LOCATION, escaped).encode("utf-8")
