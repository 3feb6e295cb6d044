"""Reference server for ``bench/xml_load.py`` (not a test): bare Twisted with the same
8-byte ECMA-323 framing, an lxml parse of every body with the project's safe parser
settings (``cstaserver/csta/xmlsafe.py``: no DTD, no entities, no network), and a canned
answer - the floor our XML port is compared with: bare Twisted with this framing and an
lxml parse (docs/protocol-notes.md L2).

    .venv/bin/python bench/ref_echo.py [--port 0]

Prints ``PORT <n>``; runs until SIGTERM or SIGINT. Answers, in the request's namespace:
MakeCall -> MakeCallResponse with a fresh callID and the calling device; any other root X ->
an empty ``XResponse``. The framing is written here, not imported, so the reference does not
share any of the product's code paths.
"""

from __future__ import annotations

import argparse
import itertools
import struct
import sys
from typing import Any

from lxml import etree
from twisted.internet import protocol
from twisted.internet import reactor as _reactor

reactor: Any = _reactor

_HEADER = struct.Struct(">2sH4s")
_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
    strip_cdata=True,
    collect_ids=False,
)
_call_ids = itertools.count(1)


def answer(body: bytes) -> bytes:
    root = etree.fromstring(body, _PARSER)
    qname = etree.QName(root)
    ns = qname.namespace or ""
    name = qname.localname
    if name == "MakeCall":
        calling = root.findtext(f"{{{ns}}}callingDevice") if ns else root.findtext("callingDevice")
        return (
            f'<?xml version="1.0" encoding="UTF-8"?><MakeCallResponse xmlns="{ns}">'
            f"<callingDevice><callID>{next(_call_ids)}</callID><deviceID>{calling}</deviceID>"
            f"</callingDevice></MakeCallResponse>"
        ).encode()
    return f'<?xml version="1.0" encoding="UTF-8"?><{name}Response xmlns="{ns}"/>'.encode()


class EchoProtocol(protocol.Protocol):
    def __init__(self) -> None:
        self._buf = bytearray()

    def dataReceived(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        out = []
        pos = 0
        n = len(buf)
        while n - pos >= 8:
            _fmt, length, invoke_id = _HEADER.unpack_from(buf, pos)
            if length < 8:
                self.transport.loseConnection()
                return
            if n - pos < length:
                break
            body = bytes(buf[pos + 8 : pos + length])
            pos += length
            try:
                reply = answer(body)
            except etree.XMLSyntaxError:
                reply = b"<CSTAErrorCode><operation>generic</operation></CSTAErrorCode>"
            out.append(_HEADER.pack(b"\x00\x00", 8 + len(reply), invoke_id) + reply)
        if pos:
            del buf[:pos]
        if out:
            self.transport.writeSequence(out)


class EchoFactory(protocol.Factory):
    protocol = EchoProtocol


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    port = reactor.listenTCP(args.port, EchoFactory(), interface=args.host, backlog=512)
    sys.stdout.write(f"PORT {port.getHost().port}\n")
    sys.stdout.flush()
    reactor.run()


if __name__ == "__main__":
    main()
