"""The web port's request: form bodies still fill ``request.args``, other bodies do not."""

from __future__ import annotations

from twisted.internet.testing import StringTransport
from twisted.web import http, resource

from cstaserver.soap.site import WebSite

SOAP = b'<?xml version="1.0"?><s:Envelope xmlns:s="urn:x">a=1&b=2</s:Envelope>'


class _Recorder(resource.Resource):
    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[dict, bytes]] = []

    def render(self, request):  # noqa: ANN001
        self.seen.append((dict(request.args), request.content.read()))
        return b"ok"


def _post(content_type: bytes | None, body: bytes, path: bytes = b"/x?q=1") -> tuple[dict, bytes]:
    recorder = _Recorder()
    site = WebSite(recorder, None, max_body_bytes=65535)
    channel = site.buildProtocol(None)
    channel.makeConnection(StringTransport())
    head = b"POST " + path + b" HTTP/1.1\r\nHost: h\r\n"
    if content_type is not None:
        head += b"Content-Type: " + content_type + b"\r\n"
    channel.dataReceived(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
    channel.connectionLost(None)
    assert len(recorder.seen) == 1
    return recorder.seen[0]


def test_soap_body_is_not_decoded_as_a_form_but_query_args_are_kept(monkeypatch) -> None:  # noqa: ANN001
    parsed: list[bytes] = []
    original = http._parseContentType
    monkeypatch.setattr(http, "_parseContentType", lambda c: parsed.append(c) or original(c))
    for ctype in (b"text/xml; charset=utf-8", b"application/soap+xml", b"application/json"):
        args, body = _post(ctype, SOAP)
        assert args == {b"q": [b"1"]}
        assert body == SOAP
    assert parsed == []  # no MIME parse of the Content-Type for a non-form body


def test_urlencoded_form_body_is_still_decoded() -> None:
    args, body = _post(b"Application/X-WWW-Form-Urlencoded", b"a=1&b=2")
    assert args == {b"q": [b"1"], b"a": [b"1"], b"b": [b"2"]}
    assert body == b"a=1&b=2"


def test_multipart_form_body_is_still_decoded() -> None:
    body = b'--B\r\nContent-Disposition: form-data; name="f"\r\n\r\nv\r\n--B--\r\n'
    args, _body = _post(b"multipart/form-data; boundary=B", body)
    assert args[b"f"] == [b"v"]


def test_body_without_content_type_is_not_decoded() -> None:
    args, _body = _post(None, b"a=1", path=b"/x")
    assert args == {}
