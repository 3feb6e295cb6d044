"""A minimal TR/87 (Lync RCC) client over UDP, standard library only.

Opens a SIP dialog with the CSTA server the way Lync/sipe does, starts a monitor on the
line tel:+4685551101 (extension 1101), calls 1102, prints every message it receives,
clears the call and hangs up the dialog.

    python3 docs/examples/tr87_client.py [host [port]]      # default 127.0.0.1 5062
"""

import re
import socket
import sys
import time
import uuid

HOST = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1"
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 5062
LINE = "tel:+4685551101"
GATEWAY = f"sip:rccgateway@{HOST}"
ED3 = "http://www.ecma-international.org/standards/ecma-323/csta/ed3"
LCS = "http://schemas.microsoft.com/Lcs/2005/04/RCCExtension"

sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.connect((HOST, PORT))
MY_HOST, MY_PORT = sock.getsockname()
CALL_ID = uuid.uuid4().hex
FROM = f"<sip:alice@{MY_HOST}>;tag={uuid.uuid4().hex[:8]};epid={uuid.uuid4().hex[:10]}"
CONTACT = f"<sip:alice@{MY_HOST}:{MY_PORT};transport=udp>"
to_header = f"<{GATEWAY}>"


def csta(root, inner):
    return f'<{root} xmlns="{ED3}">{inner}</{root}>'


def send(method, cseq, body="", extra=()):
    """A request as Lync writes it (no Via branch: the server matches on Call-ID + CSeq)."""
    data = body.encode()
    lines = [
        f"{method} {GATEWAY} SIP/2.0",
        f"Via: SIP/2.0/UDP {MY_HOST}:{MY_PORT}",
        "Max-Forwards: 70",
        f"From: {FROM}",
        f"To: {to_header}",
        f"Call-ID: {CALL_ID}",
        f"CSeq: {cseq} {method}",
        f"Contact: {CONTACT}",
        *extra,
    ]
    if data:
        lines += ["Content-Disposition: signal;handling=required"]
        lines += ["Content-Type: application/csta+xml"]
    lines.append(f"Content-Length: {len(data)}")
    sock.send(("\r\n".join(lines) + "\r\n\r\n").encode() + data)


def parse(datagram):
    head, _, body = datagram.partition(b"\r\n\r\n")
    first, *header_lines = head.decode().split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), value.strip())
    return first, headers, body.decode()


def show(first, headers, body):
    body = re.sub(r"^<\?xml[^>]*\?>", "", body)
    what = first[8:] if first.startswith("SIP/2.0 ") else first.split(" ")[0]  # "200 OK", "INFO"
    print(f"<< {what}  (CSeq {headers['cseq']})  {body}".rstrip())


def receive(cseq, method, until_event=None, timeout=5.0):
    """Print what arrives (answering the server's INFOs with 200) until the response to
    our request ``cseq``/``method`` has come, and then the event ``until_event``."""
    answered, seen, body_of_answer = False, until_event is None, ""
    deadline = time.monotonic() + timeout
    while not (answered and seen):
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            first, headers, body = parse(sock.recv(65535))
        except (TimeoutError, ConnectionRefusedError) as error:
            sys.exit(f"no answer to {method} from {HOST}:{PORT}: {error}")
        show(first, headers, body)
        if first.startswith("SIP/2.0"):
            if headers["cseq"] == f"{cseq} {method}" and not first.startswith("SIP/2.0 1"):
                answered, body_of_answer = True, body
                global to_header
                to_header = headers["to"]  # with the server's tag
        else:  # an event INFO or a BYE from the server: answer it
            reply = ["SIP/2.0 200 OK"]
            reply += [f"{h}: {headers[h.lower()]}" for h in ("Via", "From", "To", "Call-ID")]
            reply += [f"CSeq: {headers['cseq']}", "Content-Length: 0"]
            sock.send(("\r\n".join(reply) + "\r\n\r\n").encode())
            seen = seen or f"<{until_event}" in body
    return body_of_answer


line = f'<extensions><privateData><private><lcs:line xmlns:lcs="{LCS}">{LINE}</lcs:line>'
line += "</private></privateData></extensions>"
send("INVITE", 1, csta("RequestSystemStatus", line), ["Supported: timer"])
receive(1, "INVITE")
send("ACK", 1)  # Lync resets its CSeq after the INVITE: ACK 1, then INFO 2, 3, ...
send(
    "INFO",
    2,
    csta("MonitorStart", f"<monitorObject><deviceObject>{LINE}</deviceObject></monitorObject>"),
)
receive(2, "INFO")
make_call = f"<callingDevice>{LINE}</callingDevice><calledDirectoryNumber>tel:+4685551102"
make_call += "</calledDirectoryNumber><autoOriginate>doNotPrompt</autoOriginate>"
send("INFO", 3, csta("MakeCall", make_call))
answer = receive(3, "INFO", until_event="DeliveredEvent")
connection = re.search(r"<callingDevice>(.*?)</callingDevice>", answer).group(1)
send(
    "INFO",
    4,
    csta("ClearConnection", f"<connectionToBeCleared>{connection}</connectionToBeCleared>"),
)
receive(4, "INFO", until_event="ConnectionClearedEvent")
send("BYE", 5)
receive(5, "BYE")
