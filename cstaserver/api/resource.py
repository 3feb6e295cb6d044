"""``/api/v1`` as twisted.web resources (RFC 9110 methods and status codes, RFC 8259 JSON,
RFC 7617 Basic logins; docs/api.md).

:func:`make_api` builds the tree the composition layer mounts at ``/api/v1``:
:class:`ApiRoot`, whose static children (:func:`mounts`, the one table of them: the WebSocket
event stream, the metrics, anything else that is not a JSON route) are tried first, and
:class:`JsonApi`, which serves every route of the table (:func:`cstaserver.api.handlers.routes`).

A request to :class:`JsonApi` goes, in this order: the route (404 ``not_found``, 405
``method_not_allowed`` with ``Allow``), the login its access asks for (401 with
``WWW-Authenticate``, 429 with ``Retry-After``, 403 for a web account acting), then for a
``POST`` the body: its size (413 ``body_too_large``, over :data:`MAX_BODY` bytes or the
site's limit), its type (415 unless ``application/json`` or none), the JSON object (400
``malformed_json``), its fields (400), and the handler (answers 200, or 400/404/409). Every
answer is JSON with ``Cache-Control: no-store``; an unexpected error is logged and answered
500 ``internal_error``, never a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote

from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web import resource, server

from cstaserver.api.auth import ApiGate
from cstaserver.api.handlers import Handlers, routes, switch_refusal
from cstaserver.api.openapi import openapi_document
from cstaserver.api.routes import ApiError, ApiRequest, Route, check_fields
from cstaserver.api.sources import ApiSources
from cstaserver.pbx.errors import SwitchError
from cstaserver.web.auth import BasicAuthGate, Refused

log = Logger()

#: The largest request body an action takes (its JSON is a handful of short fields).
MAX_BODY = 16 * 1024
JSON_TYPE = b"application/json; charset=utf-8"


def _host(request: server.Request) -> str:
    return str(getattr(request.getClientAddress(), "host", "?"))


def _segments(request: server.Request) -> list[str]:
    """The path below the mount point, percent-decoded (RFC 3986 2.1), without a trailing
    empty segment."""
    segments = [unquote(part.decode("utf-8", "replace")) for part in request.postpath]
    if segments and segments[-1] == "":
        segments.pop()
    return segments


def _json_content_type(header: bytes | None) -> bool:
    if header is None:
        return True
    media = header.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or (
        media.startswith(b"application/") and media.endswith(b"+json")
    )


def _parse_body(request: server.Request, limit: int) -> dict[str, Any]:
    if getattr(request, "oversized", False):
        raise ApiError(413, "body_too_large", f"the request body is over {limit} bytes")
    data = request.content.read() if request.content is not None else b""
    if len(data) > limit:
        raise ApiError(413, "body_too_large", f"the request body is over {limit} bytes")
    if not _json_content_type(request.getHeader(b"content-type")):
        raise ApiError(
            415, "unsupported_media_type", "the request body must be JSON (application/json)"
        )
    if not data.strip():
        return {}
    try:
        body = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise ApiError(400, "malformed_json", f"the request body is not JSON: {error}") from None
    if not isinstance(body, dict):
        raise ApiError(400, "malformed_json", "the request body must be a JSON object")
    return body


def _query(request: server.Request) -> dict[str, str]:
    _path, _mark, query = (request.uri or b"").partition(b"?")
    return dict(parse_qsl(query.decode("utf-8", "replace"), keep_blank_values=True))


def send_json(
    request: server.Request,
    status: int,
    body: Mapping[str, Any],
    headers: Mapping[bytes, bytes] | None = None,
) -> None:
    """Write one complete JSON answer, unless the client has gone or it was written."""
    if getattr(request, "_disconnected", False) or request.finished:
        return
    data = json.dumps(body, allow_nan=False, separators=(",", ":")).encode("utf-8")
    request.setResponseCode(status)
    request.setHeader(b"Content-Type", JSON_TYPE)
    request.setHeader(b"Cache-Control", b"no-store")
    for name, value in (headers or {}).items():
        request.setHeader(name, value)
    request.setHeader(b"Content-Length", str(len(data)).encode())
    request.write(data)
    request.finish()


class JsonApi(resource.Resource):
    """Every JSON route of ``/api/v1`` (see the module docstring)."""

    isLeaf = True

    def __init__(self, handlers: Handlers, gate: ApiGate, *, max_body: int = MAX_BODY) -> None:
        super().__init__()
        self.handlers = handlers
        self.gate = gate
        self.max_body = max_body
        self.routes: tuple[Route, ...] = routes(handlers)
        self.document = openapi_document(self.routes)
        handlers.document = self.document

    def find(self, method: str, segments: list[str]) -> tuple[Route, dict[str, str]]:
        """The route for ``method`` on ``segments`` and its path parameters, or ApiError."""
        allowed = []
        for route in self.routes:
            params = route.match(segments)
            if params is None:
                continue
            if route.method == method:
                return route, params
            allowed.append(route.method)
        path = "/" + "/".join(segments)
        if allowed:
            raise ApiError(
                405,
                "method_not_allowed",
                f"{method} is not allowed on {path}: use {', '.join(allowed)}",
                {b"Allow": ", ".join(allowed).encode()},
            )
        raise ApiError(404, "not_found", f"no such resource: /api/v1{path}")

    def render(self, request: server.Request) -> Any:
        method = request.method.decode("latin-1").upper()
        method = "GET" if method == "HEAD" else method
        try:
            route, params = self.find(method, _segments(request))
        except ApiError as error:
            send_json(request, error.status, error.body(), error.headers)
            return server.NOT_DONE_YET
        handling = defer.Deferred.fromCoroutine(self._handle(request, route, params))
        handling.addErrback(self._crashed, request)
        return server.NOT_DONE_YET

    async def _handle(self, request: server.Request, route: Route, params: dict[str, str]) -> None:
        try:
            user = await self.gate.authorize(
                request.getHeader(b"authorization"), _host(request), route.access
            )
        except Refused as refused:
            headers = {}
            if refused.status == 401:
                headers[b"WWW-Authenticate"] = (
                    f'Basic realm="{self.gate.realm}", charset="UTF-8"'.encode()
                )
            elif refused.status == 429:
                headers[b"Retry-After"] = str(int(self.gate.throttle.window)).encode()
            codes = {
                401: "unauthorized",
                403: "forbidden",
                429: "too_many_requests",
                503: "busy",
            }
            error = ApiError(refused.status, codes.get(refused.status, "refused"), refused.reason)
            send_json(request, error.status, error.body(), headers)
            return
        try:
            if route.method == "POST":
                fields = check_fields(route.fields, _parse_body(request, self.max_body))
            else:
                fields = check_fields(route.query, _query(request), strict=False)
            answer = route.handler(ApiRequest(params, fields, user))
        except ApiError as error:
            send_json(request, error.status, error.body(), error.headers)
            return
        except SwitchError as refused:
            error = switch_refusal(refused)
            send_json(request, error.status, error.body())
            return
        send_json(request, 200, answer)

    def _crashed(self, failure: Failure, request: server.Request) -> None:
        log.failure("API request {path} failed", failure, path=request.path)
        send_json(
            request, 500, ApiError(500, "internal_error", "the request failed; see the log").body()
        )


class ApiRoot(resource.Resource):
    """``/api/v1``: its static children (:func:`mounts`) first, every other path to the JSON
    routes (which see the whole path below ``/api/v1``)."""

    def __init__(self, api: JsonApi) -> None:
        super().__init__()
        self.api = api

    def getChild(self, path: bytes, request: server.Request) -> resource.Resource:  # noqa: N802
        request.postpath.insert(0, request.prepath.pop())
        return self.api

    def render(self, request: server.Request) -> Any:
        return self.api.render(request)


def mounts(sources: ApiSources, gate: ApiGate) -> dict[bytes, resource.Resource]:
    """The resources under ``/api/v1`` that are not JSON routes, by their first path segment:
    the one table to add such a resource to. Each gets ``sources`` and the API's login
    ``gate`` (``gate.login(header, host)``: any web account, with the SOAP service's
    throttle; ``gate.authorize(header, host, Access.ADMIN)`` for admin accounts). Empty: every
    path here is a JSON route. (The WebSocket event stream, ``/api/v1/events``, and the wire
    trace's downloads, ``/api/v1/associations/{id}/trace*``, are laid over ``/api`` by the
    composition layer instead, :func:`cstaserver.api.events.live_api`, and leave every other
    path to this resource.)"""
    return {}


def make_api(
    sources: ApiSources,
    *,
    gate: BasicAuthGate | None = None,
    throttle: Mapping[str, Any] | None = None,
    extra: Mapping[bytes, resource.Resource] | None = None,
    max_body: int = MAX_BODY,
) -> ApiRoot:
    """The resource to mount at ``/api/v1``. Reads log in through ``gate`` (the site's SOAP
    login: its web accounts and throttle) or, without one, through ``sources.read_checker``
    with a throttle of its own (``throttle``: FailureThrottle options) on ``sources.reactor``;
    actions through ``sources.admin_checker``. ``extra``: more static children."""
    if gate is not None:
        api_gate = ApiGate.sharing(gate, sources.admin_checker)
    else:
        if sources.read_checker is None:
            raise ValueError("the API needs the site's login gate or a read checker")
        api_gate = ApiGate.build(
            sources.read_checker, sources.admin_checker, sources.reactor, **(throttle or {})
        )
    root = ApiRoot(JsonApi(Handlers(sources), api_gate, max_body=max_body))
    for name, child in {**mounts(sources, api_gate), **(extra or {})}.items():
        root.putChild(name, child)
    return root
