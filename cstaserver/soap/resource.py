"""``/csta``: the SOAP endpoint as a twisted.web resource (SOAP 1.1 clause 6 and SOAP 1.2
part 2 clause 7 HTTP bindings; ECMA-348; RFC 7617 Basic login; RFC 9110 status codes).

``POST`` in this order: HTTP Basic login (401 with ``WWW-Authenticate: Basic
realm="cstaserver"``; 429 while a peer is throttled), body size (413 over
``limits.max_message_bytes``), Content-Type (``text/xml`` = SOAP 1.1,
``application/soap+xml`` = 1.2, anything else 415), the envelope, then the operation
(:mod:`cstaserver.soap.dispatch`). Every answer has a body: a SOAP envelope or Fault in the
request's version, or a short text. Nothing a client sends can raise out of the resource;
an unexpected error is logged and answered with a Server Fault, never a traceback page.

``GET /csta?wsdl`` serves the WSDL (service address from the Host header),
``GET /csta?xsd=<name>`` its schemas.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web import resource, server

from cstaserver.csta.association import BUSY_RETRY_AFTER
from cstaserver.soap.channel import ServerBusy
from cstaserver.soap.dispatch import SoapDispatcher
from cstaserver.soap.envelope import (
    SERVER,
    SOAP11,
    SoapFault,
    parse_envelope,
    version_for_content_type,
)
from cstaserver.soap.wsdl import wsdl_document, xsd_document
from cstaserver.web.auth import REALM, BasicAuthGate, Refused

log = Logger()

_HOST = re.compile(r"^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$")
_TEXT = b"text/plain; charset=utf-8"
_XML = b"text/xml; charset=utf-8"


def _peer(request: server.Request) -> tuple[str, str]:
    """(host, host:port) of the HTTP client."""
    address = request.getClientAddress()
    host = str(getattr(address, "host", "?"))
    return host, f"{host}:{getattr(address, 'port', '?')}"


def _query(request: server.Request) -> dict[str, str]:
    """The query string, keys lower-cased; ``?wsdl`` (no ``=``) counts too (twisted.web's
    ``request.args`` drops it)."""
    _path, _mark, query = (request.uri or b"").partition(b"?")
    pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    return {key.lower(): value for key, value in pairs}


def service_location(request: server.Request) -> str:
    """``http://<Host header>/csta``: the address the client used (checked), else ours."""
    scheme = "https" if request.isSecure() else "http"
    host = (request.getHeader(b"host") or b"").decode("latin-1").strip()
    if not _HOST.match(host):
        address = request.getHost()
        host = str(address.host)
        host = f"[{host}]:{address.port}" if ":" in host else f"{host}:{address.port}"
    return f"{scheme}://{host}/csta"


class CstaSoapResource(resource.Resource):
    isLeaf = True

    def __init__(self, dispatcher: SoapDispatcher, gate: BasicAuthGate, *, max_bytes: int):
        super().__init__()
        self.dispatcher = dispatcher
        self.gate = gate
        self.max_bytes = max_bytes

    # -- GET: WSDL and schemas ------------------------------------------------------------
    def render_GET(self, request: server.Request) -> bytes:  # noqa: N802 (Twisted hook)
        query = _query(request)
        if "wsdl" in query:
            request.setHeader(b"Content-Type", _XML)
            return wsdl_document(service_location(request))
        if "xsd" in query:
            document = xsd_document(query["xsd"])
            if document is not None:
                request.setHeader(b"Content-Type", _XML)
                return document
            request.setResponseCode(404)
            request.setHeader(b"Content-Type", _TEXT)
            return b"no such schema\n"
        request.setHeader(b"Content-Type", _TEXT)
        return (
            b"cstaserver CSTA web service: POST SOAP 1.1 (text/xml) or 1.2 "
            b"(application/soap+xml) here; WSDL at /csta?wsdl\n"
        )

    # -- POST: SOAP -----------------------------------------------------------------------
    def render_POST(self, request: server.Request) -> Any:  # noqa: N802 (Twisted hook)
        gone: defer.Deferred = defer.Deferred()
        request.notifyFinish().addErrback(lambda f: gone.callback(None))
        handling = defer.Deferred.fromCoroutine(self._post(request, gone))
        handling.addErrback(self._crashed, request, gone)
        return server.NOT_DONE_YET

    async def _post(self, request: server.Request, gone: defer.Deferred) -> None:
        host, peer = _peer(request)
        try:
            user = await self.gate.login(request.getHeader(b"authorization"), host)
        except Refused as refused:
            headers = {b"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'.encode()}
            if refused.status == 429:
                headers = {b"Retry-After": str(int(self.gate.throttle.window)).encode()}
            _send(request, gone, refused.status, _TEXT, f"{refused.reason}\n".encode(), headers)
            return
        version = version_for_content_type(
            (request.getHeader(b"content-type") or b"").decode("latin-1")
        )
        if getattr(request, "oversized", False):
            fault = SoapFault("client", f"request body over {self.max_bytes} bytes")
            _send(
                request,
                gone,
                413,
                (version or SOAP11).content_type.encode(),
                fault.envelope(version or SOAP11),
            )
            return
        if version is None:
            fault = SoapFault("client", "Content-Type must be text/xml or application/soap+xml")
            _send(
                request,
                gone,
                415,
                SOAP11.content_type.encode(),
                fault.envelope(SOAP11),
                {b"Accept": b"text/xml, application/soap+xml"},
            )
            return
        data = request.content.read() if request.content is not None else b""
        try:
            soap = parse_envelope(data, version, max_bytes=self.max_bytes)
            answer = await self.dispatcher.handle(soap, user, peer, gone)
        except ServerBusy as busy:
            fault = SoapFault(SERVER, f"server busy: {busy}")
            headers = {b"Retry-After": str(BUSY_RETRY_AFTER).encode()}
            _send(
                request, gone, 503, version.content_type.encode(), fault.envelope(version), headers
            )
            return
        except SoapFault as fault:
            _send(
                request,
                gone,
                fault.status(version),
                version.content_type.encode(),
                fault.envelope(version),
            )
            return
        _send(request, gone, 200, version.content_type.encode(), answer)

    def _crashed(self, failure: Failure, request: server.Request, gone: defer.Deferred) -> None:
        log.failure("SOAP request failed", failure)
        version = (
            version_for_content_type((request.getHeader(b"content-type") or b"").decode("latin-1"))
            or SOAP11
        )
        fault = SoapFault(SERVER, "internal error")
        _send(request, gone, 500, version.content_type.encode(), fault.envelope(version))


def _send(
    request: server.Request,
    gone: defer.Deferred,
    status: int,
    content_type: bytes,
    body: bytes,
    headers: dict[bytes, bytes] | None = None,
) -> None:
    """Write one complete answer, unless the client is gone or it was already written."""
    if gone.called or request.finished:
        return
    request.setResponseCode(status)
    request.setHeader(b"Content-Type", content_type)
    for name, value in (headers or {}).items():
        request.setHeader(name, value)
    request.setHeader(b"Content-Length", str(len(body)).encode())
    request.write(body)
    request.finish()
