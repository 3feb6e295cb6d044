"""A minimal CSTA XML client (stdlib only): monitor 1001, call it from 1000, print what comes.

python docs/examples/xml_client.py [HOST [PORT]]      (default 127.0.0.1 8882)
"""

import socket
import struct
import sys

NS = "http://www.ecma-international.org/standards/ecma-323/csta/ed3"
REQUESTS = [
    (
        "0001",
        f'<MonitorStart xmlns="{NS}"><monitorObject><deviceObject>1001'
        "</deviceObject></monitorObject></MonitorStart>",
    ),
    (
        "0002",
        f'<MakeCall xmlns="{NS}"><callingDevice>1000</callingDevice>'
        "<calledDirectoryNumber>1001</calledDirectoryNumber></MakeCall>",
    ),
]


def frame(invoke_id: str, xml: str) -> bytes:
    body = xml.encode("utf-8")  # the length counts UTF-8 bytes, header included
    return struct.pack(">HH", 0, 8 + len(body)) + invoke_id.encode("ascii") + body


def read_frame(sock: socket.socket) -> tuple[str, str]:
    header = sock.recv(8, socket.MSG_WAITALL)
    if len(header) < 8:
        raise ConnectionError("server closed the connection")
    _, length = struct.unpack(">HH", header[:4])
    body = sock.recv(length - 8, socket.MSG_WAITALL)
    return header[4:8].decode("ascii"), body.decode("utf-8")


def main(host: str = "127.0.0.1", port: int = 8882, expected: int = 3) -> None:
    with socket.create_connection((host, port), timeout=5) as sock:
        for invoke_id, xml in REQUESTS:
            data = frame(invoke_id, xml)
            print(f">> {data[:8].hex(' ')}  {xml}")
            sock.sendall(data)
        for _ in range(expected):  # 2 responses, then the DeliveredEvent at 1001
            invoke_id, body = read_frame(sock)
            print(f"<< {invoke_id}  {body}")


if __name__ == "__main__":
    main(*sys.argv[1:2], *[int(p) for p in sys.argv[2:3]])
