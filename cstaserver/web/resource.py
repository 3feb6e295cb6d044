"""``GET /`` (the status page) and ``GET /api/status`` (its JSON) as twisted.web resources.

Both are read-only and need no login (logins guard the SOAP POSTs, docs/soap.md); bind the
web port to loopback (the default ``--interface``) when the status must stay private.
"""

from __future__ import annotations

import json

from twisted.logger import Logger
from twisted.web import resource, server

from cstaserver.web.page import PAGE
from cstaserver.web.status import StatusSources, status_snapshot

log = Logger()


class StatusPage(resource.Resource):
    isLeaf = True

    def render_GET(self, request: server.Request) -> bytes:  # noqa: N802 (Twisted hook)
        request.setHeader(b"Content-Type", b"text/html; charset=utf-8")
        request.setHeader(b"Cache-Control", b"no-store")
        return PAGE.encode("utf-8")


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
