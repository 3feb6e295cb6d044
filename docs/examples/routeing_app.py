"""A routeing application for the CTI group 2000 (stdlib only): log agents 5001 and 5002 on at
1001 and 1002, register as the group's routeing server, send each call to a free ready agent.

python3 docs/examples/routeing_app.py [HOST [PORT [CALLS [SECONDS]]]]  (127.0.0.1 8882 1 120)
Exit status 0 once CALLS calls are done (their agent ready again), 1 on an error, 2 on time-out.
"""

import socket
import struct
import sys
import time
import xml.etree.ElementTree as ET

NS = "http://www.ecma-international.org/standards/ecma-323/csta/ed3"
GROUP, AGENTS = "2000", {"1001": "5001", "1002": "5002"}  # agent position: agent ID


def text(message: ET.Element, path: str) -> str:
    found = message.find("{*}" + path.replace("/", "/{*}"))  # in any namespace
    return "".join(found.itertext()) if found is not None else ""


class RouteingApp:
    def __init__(self, sock: socket.socket, seconds: float) -> None:
        self.sock, self.deadline, self.sent = sock, time.monotonic() + seconds, {}
        self.monitors: dict[str, str] = {}  # monitorCrossRefID: agent position
        self.ready: set[str] = set()  # positions whose agent is ready
        self.busy: set[str] = set()  # positions with a call (or one just routed there)
        self.routed: set[str] = set()  # given a call: done when their agent is ready again
        self.done = 0

    def send(self, root: str, inner: str) -> str:
        invoke_id, xml = f"{len(self.sent) + 1:04d}", f'<{root} xmlns="{NS}">{inner}</{root}>'
        body = xml.encode("utf-8")  # the length counts UTF-8 bytes, header included
        self.sock.sendall(struct.pack(">HH", 0, 8 + len(body)) + invoke_id.encode() + body)
        print(f">> {invoke_id}  {xml}")
        self.sent[invoke_id] = root
        return invoke_id

    def request(self, root: str, inner: str) -> ET.Element:
        """Send a request, handle what comes until its answer, and return that."""
        invoke_id = self.send(root, inner)
        for _ in range(1000):
            answer_id, message = self.receive()
            if answer_id == invoke_id:
                return message
        raise TimeoutError(f"no answer to {root}")

    def receive(self) -> tuple[str, ET.Element]:
        self.sock.settimeout(max(0.01, self.deadline - time.monotonic()))
        header = self.sock.recv(8, socket.MSG_WAITALL)
        if len(header) < 8:
            raise ConnectionError("the server closed the connection")
        body = self.sock.recv(struct.unpack(">HH", header[:4])[1] - 8, socket.MSG_WAITALL)
        invoke_id, message = header[4:8].decode("ascii"), ET.fromstring(body)
        print(f"<< {invoke_id}  {body.decode('utf-8')}")
        name = message.tag.split("}")[-1]
        position = self.monitors.get(text(message, "monitorCrossRefID"), "")
        if name == "CSTAErrorCode":
            error = f"{message[0].tag.split('}')[-1]}/{message[0].text}"
            sys.exit(f"routeing_app: {self.sent.get(invoke_id)} refused: {error}")
        if name == "AgentReadyEvent":
            self.ready.add(position)
            self.done += position in self.routed
        elif name.startswith("Agent"):  # logged on or off, not ready, busy, after call
            self.ready.discard(position)
        if name in ("AgentReadyEvent", "AgentNotReadyEvent"):  # call done, or it went back
            self.routed.discard(position)
        elif name == "DeliveredEvent":
            self.busy.add(position)
        elif name == "ConnectionClearedEvent":
            self.busy.discard(text(message, "droppedConnection/deviceID"))
        elif name in ("RouteRequest", "ReRouteRequest"):  # ReRoute: that one was busy
            self.route(text(message, "crossRefIdentifier"))
        return invoke_id, message

    def route(self, cross_ref: str) -> None:
        free = [p for p in AGENTS if p in self.ready and p not in self.busy]
        ref = f"<crossRefIdentifier>{cross_ref}</crossRefIdentifier>"
        if not free:  # nobody free: the exchange keeps the call (the group's own rules)
            self.send("RouteReject", ref)
            return
        self.busy.add(free[0])
        self.routed.add(free[0])
        route = f"<routeSelected>{free[0]}</routeSelected><routeUsedReq>true</routeUsedReq>"
        self.send("RouteSelectRequest", ref + route)  # no answer: RouteUsed, RouteEnd come


def run(app: RouteingApp, calls: int) -> int:
    for position, agent in AGENTS.items():
        watch = f"<monitorObject><deviceObject>{position}</deviceObject></monitorObject>"
        app.monitors[text(app.request("MonitorStart", watch), "monitorCrossRefID")] = position
        log_on = f"<agentID>{agent}</agentID><group>{GROUP}</group>"
        for state, more in (("loggedOn", log_on), ("ready", "")):
            set_state = f"<device>{position}</device><requestedAgentState>{state}"
            app.request("SetAgentState", f"{set_state}</requestedAgentState>{more}")
    answer = app.request("RouteRegister", f"<routeingDevice>{GROUP}</routeingDevice>")
    try:
        for _ in range(10_000):  # bounded in count; each receive is bounded in time
            if app.done >= calls:
                break
            app.receive()
    except TimeoutError:
        print(f"-- time is up: {app.done} of {calls} calls done")
        app.deadline = time.monotonic() + 5
    for position in AGENTS:  # log off, cancel the registration (its answer comes last)
        log_off = "<requestedAgentState>loggedOff</requestedAgentState>"
        app.request("SetAgentState", f"<device>{position}</device>{log_off}")
    reg = f"<routeRegisterReqID>{text(answer, 'routeRegisterReqID')}</routeRegisterReqID>"
    app.request("RouteRegisterCancel", reg)
    return 0 if app.done >= calls else 2


def main(host: str = "127.0.0.1", port: int = 8882, calls: int = 1, seconds: int = 120) -> int:
    try:
        with socket.create_connection((host, port), timeout=5) as sock:
            status = run(RouteingApp(sock, seconds), calls)
            sock.shutdown(socket.SHUT_RDWR)
            return status
    except OSError as error:  # refused, reset, closed, or no answer in time
        sys.exit(f"routeing_app: {host}:{port}: {error.strerror or error}")


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2], *[int(a) for a in sys.argv[2:5]]))
