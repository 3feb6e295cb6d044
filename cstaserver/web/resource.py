"""``GET /`` (the console, docs/console.md) and ``GET /api/status`` (the status as JSON) as
twisted.web resources.

Both are read-only and need no login: the console page is only the code that runs in the
browser, which then logs in to the JSON API (``/api/v1``) with the accounts given to it;
``/api/status`` is public (logins guard the SOAP POSTs, docs/soap.md); bind the web port to
loopback (the default ``--interface``) when the status must stay private.
"""

from __future__ import annotations

import json

from twisted.logger import Logger
from twisted.web import resource, server

from cstaserver.web.page import CONTENT_SECURITY_POLICY, PAGE
from cstaserver.web.status import StatusSources, status_snapshot

log = Logger()


class StatusPage(resource.Resource):
    """The console page: one document, its own script and style only (a Content Security
    Policy by their hashes), never framed, never cached."""

    isLeaf = True
    body = PAGE.encode("utf-8")
    policy = CONTENT_SECURITY_POLICY.encode("ascii")

    def render_GET(self, request: server.Request) -> bytes:  # noqa: N802 (Twisted hook)
        request.setHeader(b"Content-Type", b"text/html; charset=utf-8")
        request.setHeader(b"Cache-Control", b"no-store")
        request.setHeader(b"Content-Security-Policy", self.policy)
        request.setHeader(b"X-Content-Type-Options", b"nosniff")
        request.setHeader(b"Referrer-Policy", b"no-referrer")
        return self.body


class StatusApi(resource.Resource):
    isLeaf = True

    def __init__(self, sources: StatusSources) -> None:
        super().__init__()
        self.sources = sources

    def render_GET(self, request: server.Request) -> bytes:  # noqa: N802 (Twisted hook)
        request.setHeader(b"Cache-Control", b"no-store")
        try:
            body = json.dumps(status_snapshot(self.sources), default=str)
        except Exception:
            log.failure("status snapshot failed")
            request.setResponseCode(500)
            request.setHeader(b"Content-Type", b"application/json")
            return b'{"error": "status unavailable"}'
        request.setHeader(b"Content-Type", b"application/json")
        return body.encode("utf-8")
