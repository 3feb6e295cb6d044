"""Reference server for ``bench/soap_load.py`` (not a test): a bare ``twisted.web`` resource
at ``/csta`` that checks the HTTP Basic header, parses the POSTed SOAP envelope with lxml
(the project's safe parser settings, written here, not imported), and answers a canned SOAP
1.1 envelope - the floor our SOAP endpoint is compared with.

    .venv/bin/python bench/soap_ref.py [--port 0]

Prints ``PORT <n>``; runs until SIGTERM or SIGINT. Answers, in the request's namespace:
MakeCall -> MakeCallResponse with a fresh callID and the calling device; any other body
element X -> an empty ``XResponse``; no or wrong ``Authorization`` -> 401.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import sys
from typing import Any

from lxml import etree
from twisted.internet import reactor as _reactor
from twisted.web import resource, server

reactor: Any = _reactor

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
AUTH = b"Basic " + base64.b64encode(b"csta_user:csta")
_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
    collect_ids=False,
)
_call_ids = itertools.count(1)


def envelope(inner: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="{SOAP11}">'
        f"<soap:Body>{inner}</soap:Body></soap:Envelope>"
    ).encode()


class CannedSoap(resource.Resource):
    isLeaf = True

    def render_POST(self, request: Any) -> bytes:  # noqa: N802
        if request.getHeader(b"authorization") != AUTH:
            request.setResponseCode(401)
            request.setHeader(b"www-authenticate", b'Basic realm="reference"')
            return b""
        root = etree.fromstring(request.content.read(), _PARSER)
        body = root.find(f"{{{SOAP11}}}Body")
        element = body[0]
        qname = etree.QName(element)
        ns, name = qname.namespace or "", qname.localname
        request.setHeader(b"content-type", b"text/xml; charset=utf-8")
        if name == "MakeCall":
            calling = element.findtext(f"{{{ns}}}callingDevice")
            return envelope(
                f'<MakeCallResponse xmlns="{ns}"><callingDevice><callID>{next(_call_ids)}'
                f"</callID><deviceID>{calling}</deviceID></callingDevice></MakeCallResponse>"
            )
        return envelope(f'<{name}Response xmlns="{ns}"/>')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    root = resource.Resource()
    root.putChild(b"csta", CannedSoap())
    site = server.Site(root)
    site.noisy = False
    port = reactor.listenTCP(args.port, site, interface=args.host, backlog=512)
    sys.stdout.write(f"PORT {port.getHost().port}\n")
    sys.stdout.flush()
    reactor.run()


if __name__ == "__main__":
    main()
