"""The web port's HTTP site (RFC 9110/9112 via twisted.web): a request body limit and the
resource tree.

:class:`LimitedRequest` stops keeping a request body once it is larger than the site's
``max_body_bytes`` (the exchange's ``limits.max_message_bytes``) and marks the request
``oversized``; the SOAP resource answers it 413. Bodies are never spooled to disk. It also
skips twisted.web's form decoding of POST bodies (``request.args`` from an
``application/x-www-form-urlencoded`` or ``multipart/form-data`` body) when the body is not a
form: a SOAP envelope (``text/xml``, ``application/soap+xml``) or JSON would otherwise pay for
a MIME parse of its ``Content-Type`` on every request and gain nothing. Query arguments are
parsed as before, and form bodies are decoded as before.

Tree: ``/`` status page, ``/api/status`` its JSON, ``/csta`` the SOAP endpoint (WSDL at
``/csta?wsdl``).
"""

from __future__ import annotations

import io
from typing import Any

from twisted.web import resource, server

DEFAULT_MAX_BODY = 65535
#: Idle HTTP connections are closed after this many seconds (above the long-poll cap).
IDLE_TIMEOUT = 120


class LimitedRequest(server.Request):
    """A request whose body is kept only up to the site's limit."""

    oversized = False
    _received = 0

    def _limit(self) -> int:
        site = getattr(self.channel, "site", None)
        return int(getattr(site, "max_body_bytes", DEFAULT_MAX_BODY))

    def gotLength(self, length: int | None) -> None:  # noqa: N802 (Twisted hook)
        self.content = io.BytesIO()
        self._received = 0
        if length is not None and length > self._limit():
            self.oversized = True

    def handleContentChunk(self, data: bytes) -> None:  # noqa: N802 (Twisted hook)
        if self.oversized:
            return
        self._received += len(data)
        if self._received > self._limit():
            self.oversized = True
            self.content = io.BytesIO()
            return
        self.content.write(data)

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:  # noqa: N802 (Twisted hook)
        """twisted.web's own handling, without the form decoding for a non-form body."""
        ctype = self.requestHeaders.getRawHeaders(b"content-type")
        self._parsePOSTFormSubmission = bool(ctype) and _may_be_form(ctype[0])
        super().requestReceived(command, path, version)


def _may_be_form(content_type: bytes) -> bool:
    """Whether twisted.web could decode a body of ``content_type`` into ``request.args``:
    only ``application/x-www-form-urlencoded`` and ``multipart/form-data`` are decoded, and
    both contain ``form`` (any letter case); every other type is left to its resource."""
    return b"form" in content_type.lower()


class WebSite(server.Site):
    """The web port's site; ``channels`` are the SOAP sessions it serves (the SoapChannels
    its SOAP resource dispatches to), kept so their owner can end them."""

    noisy = False  # listeners are logged once, as 'listening: ...'
    requestFactory = LimitedRequest
    #: Whether each request is logged (``twistd csta --access-log``); off: a status page
    #: polling every second would fill the log.
    access_log = False

    def __init__(
        self, root: resource.Resource, reactor: Any, *, max_body_bytes: int, channels: Any = None
    ) -> None:
        super().__init__(root, reactor=reactor, timeout=IDLE_TIMEOUT)
        self.max_body_bytes = max_body_bytes
        self.channels = channels
        self.displayTracebacks = False

    def log(self, request: Any) -> None:
        """The access-log line of ``request``, when the access log is on."""
        if self.access_log:
            super().log(request)


def make_site(
    soap: resource.Resource,
    status_page: resource.Resource,
    status_api: resource.Resource,
    reactor: Any,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY,
    channels: Any = None,
) -> WebSite:
    root = resource.Resource()
    root.putChild(b"", status_page)
    root.putChild(b"csta", soap)
    api = resource.Resource()
    api.putChild(b"status", status_api)
    root.putChild(b"api", api)
    return WebSite(root, reactor, max_body_bytes=max_body_bytes, channels=channels)
