"""``GET /`` (the console, docs/console.md) and ``GET /api/status`` (the status as JSON) as
twisted.web resources.

Both are read-only. The console page needs no login: it is only the code that runs in the
browser, which then logs in to the JSON API (``/api/v1``) with the accounts given to it.
``/api/status`` lists every session, user and client address, so the composition puts it
behind :class:`LoginRequired` (HTTP Basic, RFC 7617, through the site's login gate) unless the
server runs with ``--public-status`` (docs/security.md).
"""

from __future__ import annotations

import json
from typing import Any

from twisted.internet import defer
from twisted.logger import Logger
from twisted.web import resource, server

from cstaserver.web.auth import Refused
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


class LoginRequired(resource.Resource):
    """``inner`` (a leaf resource answering GET at once) behind ``gate``'s HTTP Basic login
    (``gate.login(header, host)``: the user, or :class:`~cstaserver.web.auth.Refused`): 401
    with a ``WWW-Authenticate`` challenge, 429 with ``Retry-After`` while throttled, 503 when
    every password check is taken."""

    isLeaf = True

    def __init__(self, inner: resource.Resource, gate: Any) -> None:
        super().__init__()
        self.inner = inner
        self.gate = gate

    def render_GET(self, request: server.Request) -> Any:  # noqa: N802 (Twisted hook)
        gone: list[bool] = []
        request.notifyFinish().addErrback(lambda _f: gone.append(True))
        checking = defer.Deferred.fromCoroutine(self._get(request, gone))
        checking.addErrback(self._crashed, request, gone)
        return server.NOT_DONE_YET

    async def _get(self, request: server.Request, gone: list[bool]) -> None:
        host = str(getattr(request.getClientAddress(), "host", "?"))
        try:
            await self.gate.login(request.getHeader(b"authorization"), host)
        except Refused as refused:
            if gone:
                return
            request.setResponseCode(refused.status)
            if refused.status == 401:
                challenge = f'Basic realm="{self.gate.realm}", charset="UTF-8"'
                request.setHeader(b"WWW-Authenticate", challenge.encode())
            elif refused.status == 429:
                window = int(getattr(self.gate.throttle, "window", 60))
                request.setHeader(b"Retry-After", str(window).encode())
            request.setHeader(b"Content-Type", b"application/json")
            request.write(json.dumps({"error": refused.reason}).encode("utf-8"))
            request.finish()
            return
        if gone:
            return
        body = self.inner.render_GET(request)
        request.write(body)
        request.finish()

    def _crashed(self, failure: Any, request: server.Request, gone: list[bool]) -> None:
        log.failure("status request failed", failure)
        if not gone:
            request.setResponseCode(500)
            request.finish()
