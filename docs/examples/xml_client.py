"""A minimal CSTA XML client (stdlib only): monitor 1001, call it from 1000, print what comes,
then clear the call and stop the monitor, so that it can be run again and again.

python3 docs/examples/xml_client.py [HOST [PORT]] [--tls [--cafile FILE]]
(default 127.0.0.1 8882; with --tls the default port is 8883)
"""

import argparse
import re
import socket
import ssl
import struct
import sys

NS = "http://www.ecma-international.org/standards/ecma-323/csta/ed3"


def csta(root: str, inner: str) -> str:
    return f'<{root} xmlns="{NS}">{inner}</{root}>'


def frame(invoke_id: str, xml: str) -> bytes:
    body = xml.encode("utf-8")  # the length counts UTF-8 bytes, header included
    return struct.pack(">HH", 0, 8 + len(body)) + invoke_id.encode("ascii") + body


def read_exactly(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:  # recv may return less than asked, over TLS especially
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ConnectionError("the server closed the connection")
        data += chunk
    return data


def read_frame(sock: socket.socket) -> tuple[str, str]:
    header = read_exactly(sock, 8)
    _, length = struct.unpack(">HH", header[:4])
    return header[4:8].decode("ascii"), read_exactly(sock, length - 8).decode("utf-8")


class Client:
    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.invoke_id = sock, 0

    def request(self, root: str, inner: str) -> str:
        """Send one request; print what arrives until its response, and return that."""
        self.invoke_id += 1
        invoke_id, xml = f"{self.invoke_id:04d}", csta(root, inner)
        data = frame(invoke_id, xml)
        print(f">> {data[:8].hex(' ')}  {xml}")
        self.sock.sendall(data)
        while True:
            got, body = read_frame(self.sock)
            print(f"<< {got}  {body}")
            if got == invoke_id:
                break
        error = re.search(r"<CSTAErrorCode[^>]*>\s*<(\w+)>([^<]*)<", body)
        if error:  # e.g. invalidDeviceState: 1000 is still in a call
            raise SystemExit(f"error: {root} refused: {error.group(1)} {error.group(2)}")
        return body

    def events(self, count: int) -> None:
        for _ in range(count):
            invoke_id, body = read_frame(self.sock)
            print(f"<< {invoke_id}  {body}")


def connect(host: str, port: int, tls: bool, cafile: str | None) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=5)
    if not tls:
        return sock
    context = ssl.create_default_context(cafile=cafile)
    if cafile is None:  # the demo's self-signed certificate: encrypted, not authenticated
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    return context.wrap_socket(sock, server_hostname=host)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("host", nargs="?", default="127.0.0.1")
    parser.add_argument("port", nargs="?", type=int)
    parser.add_argument("--tls", action="store_true", help="connect to the TLS port")
    parser.add_argument("--cafile", help="the server's certificate (mxone_certificate --export)")
    args = parser.parse_args(argv)
    port = args.port or (8883 if args.tls else 8882)
    try:
        sock = connect(args.host, port, args.tls, args.cafile)
    except OSError as error:
        raise SystemExit(f"error: cannot connect to {args.host}:{port}: {error}") from None
    with sock:
        client = Client(sock)
        monitor = client.request(
            "MonitorStart", "<monitorObject><deviceObject>1001</deviceObject></monitorObject>"
        )
        made = client.request(
            "MakeCall",
            "<callingDevice>1000</callingDevice><calledDirectoryNumber>1001</calledDirectoryNumber>",
        )
        client.events(1)  # the DeliveredEvent: 1001 rings
        call_id = re.search(r"<callID>([^<]*)</callID>", made).group(1)
        client.request(
            "ClearCall", f"<callToBeCleared><callID>{call_id}</callID></callToBeCleared>"
        )
        client.events(3)  # ConnectionClearedEvent at 1000 and at 1001, then CallClearedEvent
        cross_ref = re.search(r"<monitorCrossRefID>([^<]*)<", monitor).group(1)
        client.request("MonitorStop", f"<monitorCrossRefID>{cross_ref}</monitorCrossRefID>")


if __name__ == "__main__":
    main(sys.argv[1:])
