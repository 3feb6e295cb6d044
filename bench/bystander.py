"""``make bench-bystander`` (not a test): how a well-behaved client fares while someone attacks
the server, each attack of the lock-out and login classes beside the same client with no
attack, in one run.

    .venv/bin/python bench/bystander.py [--seconds 5] [--only NAME,...] [--json]

For each attack a fresh ``twistd -n csta`` on the demo exchange (every port free, on
127.0.0.1, the admin shell on telnet and ssh too) is started with
:func:`cstaserver.pytest_plugin.start_server` and stopped by its PID after it, so no attack
leaves anything (throttled addresses, dialogs, sessions) to the next one. The *bystander* is one connection to the XML port from
127.0.0.2 (a machine of its own, as a real client would be) that alternates MakeCall
1000 -> 1001 and ClearCall, one request at a time with 10 ms between them; its figure is the
p99 of the request latencies over ``--seconds``. For each attack the bystander runs once
without it (the reference) and once while it runs (the figure). Every attack comes from
127.0.0.1 and runs in a child process of this script (``bystander.py attack NAME ...``),
started after the reference, given its set-up time (it prints ``READY``), and stopped by its
PID (SIGTERM, then SIGKILL); it prints what it achieved (``DONE {json}``) on the way out.

| attack | what it does |
|---|---|
| ``idle`` | opens 800 TCP connections to the XML port and never sends a byte |
| ``tr87`` | SIP INVITEs over UDP (RequestSystemStatus, one new line each), never ACKed or refreshed: dialogs at up to 400/s |
| ``soap`` | 8 loops of SOAP StartApplicationSession (web account, HTTP Basic) on new HTTP connections |
| ``monitors`` | 4 connections, each keeping 50 MonitorStart requests in flight over the demo devices |
| ``ssh`` | 40 parallel ssh password guessers for ``admin`` (a new connection after each refusal) |
| ``telnet`` | 40 parallel telnet password guessers for ``admin`` |
| ``logins`` | 4 connections looping a valid StartApplicationSession (ECMA-354 user and password) and StopApplicationSession |

Writes ``bench/results/bystander-<date>.json`` and ``.md`` and prints the table.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import gc
import json
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import clients  # noqa: E402
import common  # noqa: E402

ATTACKS = ("idle", "tr87", "soap", "monitors", "ssh", "telnet", "logins")
BYSTANDER_ADDRESS = "127.0.0.2"
ATTACKER_ADDRESS = "127.0.0.1"
PAUSE = 0.010
READY_TIMEOUT = 60.0
WRONG = "not-the-password"
LCS = common.LCS
DEMO_DEVICES = [str(n) for n in (*range(1000, 1010), *range(1100, 1110), *range(1200, 1205))]


# -- the bystander ---------------------------------------------------------------------------
async def bystander(port: int, seconds: float) -> dict[str, Any]:
    """MakeCall/ClearCall from 127.0.0.2 for ``seconds``: the latency summary.

    This process's own heap (cstaserver and Twisted are imported to start the server) is
    frozen out of the collector first: a full collection of it took 15 - 18 ms, a pause
    that the latencies would charge to the server."""
    gc.collect()
    gc.freeze()
    loop = asyncio.get_running_loop()
    _t, client = await loop.create_connection(
        lambda: clients.XmlClient(), "127.0.0.1", port, local_addr=(BYSTANDER_ADDRESS, 0)
    )
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            start = time.monotonic()
            answer = await client.request(common.make_call("1000", "1001"), timeout=30)
            latencies.append(time.monotonic() - start)
            call = common.element_text(answer, b"callID")
            if call is None:
                errors += 1
            else:
                start = time.monotonic()
                answer = await client.request(common.clear_call(call.decode(), "1000"), 30)
                latencies.append(time.monotonic() - start)
                errors += common.root_name(answer) != b"ClearCallResponse"
            await asyncio.sleep(PAUSE)
    finally:
        client.close()
    return {**common.latency_summary(latencies), "errors": errors}


# -- the attacks (each in a child process) ---------------------------------------------------
class Tally:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def add(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n


async def _open(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port, local_addr=(ATTACKER_ADDRESS, 0))


async def attack_idle(ports: dict[str, int], tally: Tally, ready: asyncio.Event) -> None:
    held = []
    for _ in range(800):
        try:
            held.append(await _open(ports["xml"]))
            tally.add("opened")
        except OSError:
            tally.add("refused")
    ready.set()
    while True:
        await asyncio.sleep(1)
        tally.counts["closed_by_server"] = sum(r.at_eof() for r, _w in held)


class _Sip(asyncio.DatagramProtocol):
    def __init__(self, tally: Tally) -> None:
        self.tally = tally

    def datagram_received(self, data: bytes, addr: Any) -> None:
        status = data.split(b" ", 2)[1] if data.startswith(b"SIP/2.0 ") else b"?"
        self.tally.add(f"answer_{status.decode(errors='replace')}")


def _invite(n: int, local: tuple[str, int], port: int) -> bytes:
    line = f"tel:+46700{n:07d}"
    body = (
        f'<RequestSystemStatus xmlns="{common.NS}"><extensions><privateData><private>'
        f'<lcs:line xmlns:lcs="{LCS}">{line}</lcs:line></private></privateData></extensions>'
        f"</RequestSystemStatus>"
    )
    head = [
        f"INVITE sip:rccgateway@127.0.0.1:{port} SIP/2.0",
        f"Via: SIP/2.0/UDP {local[0]}:{local[1]};branch=z9hG4bK{n:x}a{random.getrandbits(32):x}",
        "Max-Forwards: 70",
        f"From: <sip:attacker{n}@example.net>;tag={n:x}",
        "To: <sip:rccgateway@example.net>",
        f"Call-ID: attack-{n}-{os.getpid()}",
        "CSeq: 1 INVITE",
        f"Contact: <sip:attacker@{local[0]}:{local[1]}>",
        "Content-Disposition: signal;handling=required",
        "Content-Type: application/csta+xml",
        f"Content-Length: {len(body.encode())}",
    ]
    return ("\r\n".join(head) + "\r\n\r\n" + body).encode()


async def attack_tr87(ports: dict[str, int], tally: Tally, ready: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    transport, _p = await loop.create_datagram_endpoint(
        lambda: _Sip(tally), local_addr=(ATTACKER_ADDRESS, 0)
    )
    local = transport.get_extra_info("sockname")
    ready.set()
    n = 0
    while True:  # 400 dialogs/s at most, never ACKed, never refreshed
        for _ in range(40):
            n += 1
            transport.sendto(_invite(n, local, ports["sip"]), ("127.0.0.1", ports["sip"]))
        tally.counts["invites"] = n
        await asyncio.sleep(0.1)


def _soap_start() -> bytes:
    inner = clients.start_session().decode()
    return (
        '<?xml version="1.0" encoding="UTF-8"?><soap:Envelope '
        'xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        f"{inner}</soap:Body></soap:Envelope>"
    ).encode()


async def attack_soap(ports: dict[str, int], tally: Tally, ready: asyncio.Event) -> None:
    body = _soap_start()
    auth = base64.b64encode(b"csta_user:csta").decode()
    request = (
        f"POST /csta HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic {auth}\r\n"
        'Content-Type: text/xml; charset=utf-8\r\nSOAPAction: ""\r\n'
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body

    async def loop_() -> None:
        while True:
            try:
                reader, writer = await _open(ports["web"])
                writer.write(request)
                answer = await asyncio.wait_for(reader.read(), 30)
                writer.close()
                status = answer.split(b" ", 2)[1].decode() if answer else "none"
                tally.add(f"http_{status}")
            except (OSError, asyncio.TimeoutError):
                tally.add("failed")
                await asyncio.sleep(0.05)

    ready.set()
    await asyncio.gather(*(loop_() for _ in range(8)))


async def attack_monitors(ports: dict[str, int], tally: Tally, ready: asyncio.Event) -> None:
    async def flood() -> None:
        loop = asyncio.get_running_loop()
        n = 0
        while True:  # a new connection whenever the server closes one
            _t, client = await loop.create_connection(
                lambda: clients.XmlClient(),
                "127.0.0.1",
                ports["xml"],
                local_addr=(ATTACKER_ADDRESS, 0),
            )
            pending: set[asyncio.Future[bytes]] = set()
            while not client.closed.done():
                while len(pending) < 50:
                    device = DEMO_DEVICES[n % len(DEMO_DEVICES)]
                    n += 1
                    pending.add(client.send(common.monitor_start(device)))
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for future in done:
                    ok = not future.exception() and b"MonitorStartResponse" in future.result()
                    tally.add("started" if ok else "refused")
            tally.add("closed_by_server")
            await asyncio.sleep(0.05)

    ready.set()
    await asyncio.gather(*(flood() for _ in range(4)))


IAC, WILL, WONT, DO, DONT = 255, 251, 252, 253, 254
_ANSWER = {WILL: DO, WONT: DONT, DO: WONT}  # a plain client: agrees to the server's echo


def _negotiate(data: bytes) -> bytes:
    """The answers a telnet client gives to the option negotiation in ``data`` (RFC 854)."""
    out = bytearray()
    for i in range(len(data) - 2):
        if data[i] == IAC and data[i + 1] in _ANSWER:
            out += bytes((IAC, _ANSWER[data[i + 1]], data[i + 2]))
    return bytes(out)


async def attack_telnet(ports: dict[str, int], tally: Tally, ready: asyncio.Event) -> None:
    async def guesser() -> None:
        while True:
            try:
                reader, writer = await _open(ports["telnet"])
            except OSError:
                tally.add("connect_failed")
                await asyncio.sleep(0.05)
                continue
            try:
                rest = b""
                while True:  # the server asks again after each refusal
                    seen = rest
                    while b"Username: " not in seen:
                        chunk = await asyncio.wait_for(reader.read(4096), 30)
                        if not chunk:
                            raise ConnectionError
                        writer.write(_negotiate(chunk))
                        seen += chunk
                    writer.write(b"admin\r\n")
                    seen = b""
                    while b"Password: " not in seen:
                        chunk = await asyncio.wait_for(reader.read(4096), 30)
                        if not chunk:
                            raise ConnectionError
                        writer.write(_negotiate(chunk))
                        seen += chunk
                    writer.write(WRONG.encode() + b"\r\n")
                    tally.add("guesses")
                    seen = b""
                    while b"failed" not in seen and b"Too many" not in seen:
                        chunk = await asyncio.wait_for(reader.read(4096), 30)
                        if not chunk:
                            raise ConnectionError
                        writer.write(_negotiate(chunk))
                        seen += chunk
                    if b"Too many" in seen:
                        tally.add("throttled")
                        break
                    rest = seen.split(b"failed", 1)[1]
            except (OSError, ConnectionError, asyncio.TimeoutError):
                tally.add("closed")
            writer.close()

    ready.set()
    await asyncio.gather(*(guesser() for _ in range(40)))


def attack_ssh(ports: dict[str, int], seconds_hint: float) -> None:
    """40 parallel ssh guessers (Twisted conch client), until SIGTERM."""
    from twisted.conch.ssh import connection, transport, userauth
    from twisted.internet import defer, protocol, reactor

    tally = Tally()

    class Guess(userauth.SSHUserAuthClient):
        tried = False

        def getPassword(self, prompt: Any = None) -> Any:  # noqa: N802
            if self.tried:
                return None
            self.tried = True
            tally.add("guesses")
            return defer.succeed(WRONG.encode())

        def getPublicKey(self) -> None:  # noqa: N802
            return None

    class Client(transport.SSHClientTransport):
        def verifyHostKey(self, key: bytes, fingerprint: bytes) -> Any:  # noqa: N802
            return defer.succeed(True)

        def connectionSecure(self) -> None:  # noqa: N802
            self.requestService(Guess(b"admin", connection.SSHConnection()))

    class Again(protocol.ReconnectingClientFactory):
        protocol = Client
        maxDelay = 0.05
        initialDelay = 0.01

        def clientConnectionLost(self, connector: Any, reason: Any) -> None:  # noqa: N802
            tally.add("connections")
            connector.connect()

    for _ in range(40):
        reactor.connectTCP("127.0.0.1", ports["ssh"], Again(), bindAddress=(ATTACKER_ADDRESS, 0))
    reactor.callWhenRunning(print, "READY", flush=True)

    def stop(*_a: Any) -> None:
        print("DONE " + json.dumps(tally.counts), flush=True)
        reactor.stop()

    signal.signal(signal.SIGTERM, lambda *a: reactor.callFromThread(stop))
    reactor.run(installSignalHandlers=False)


async def attack_logins(ports: dict[str, int], tally: Tally, ready: asyncio.Event) -> None:
    login = (
        f'<StartApplicationSession xmlns="{clients.ECMA354}"><applicationInfo>'
        "<applicationID>demo</applicationID><applicationSpecificInfo>"
        '<SessionLoginInfo xmlns="urn:cstaserver:session"><userName>csta_user</userName>'
        "<password>csta</password></SessionLoginInfo></applicationSpecificInfo>"
        f"</applicationInfo><requestedProtocolVersions><protocolVersion>{common.NS}"
        "</protocolVersion></requestedProtocolVersions></StartApplicationSession>"
    ).encode()

    async def loop_() -> None:
        loop = asyncio.get_running_loop()
        _t, client = await loop.create_connection(
            lambda: clients.XmlClient(), "127.0.0.1", ports["xml"], local_addr=(ATTACKER_ADDRESS, 0)
        )
        while True:
            answer = await client.request(login, timeout=30)
            session = common.element_text(answer, b"sessionID")
            if session is None:
                tally.add("refused")
                continue
            tally.add("sessions")
            await client.request(clients.stop_session(session.decode()), timeout=30)

    ready.set()
    await asyncio.gather(*(loop_() for _ in range(4)))


def run_attack(name: str, ports: dict[str, int]) -> None:
    """A child process: the attack until SIGTERM; READY once set up, DONE {json} at the end."""
    with contextlib.suppress(ValueError, OSError):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if name == "ssh":
        attack_ssh(ports, 0)
        return
    tally = Tally()
    attacks = {
        "idle": attack_idle,
        "tr87": attack_tr87,
        "soap": attack_soap,
        "monitors": attack_monitors,
        "telnet": attack_telnet,
        "logins": attack_logins,
    }

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stopping.set)
        ready = asyncio.Event()
        task = asyncio.ensure_future(attacks[name](ports, tally, ready))
        await ready.wait()
        print("READY", flush=True)
        await stopping.wait()
        task.cancel()
        print("DONE " + json.dumps(tally.counts), flush=True)

    asyncio.run(main())


# -- the run ---------------------------------------------------------------------------------
def start_attack(name: str, ports: dict[str, int]) -> subprocess.Popen:
    process = common.start_process(
        [common.PYTHON, str(Path(__file__).resolve()), "attack", name, json.dumps(ports)]
    )
    deadline = time.monotonic() + READY_TIMEOUT
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"attack {name} ended with {process.wait()}")
        if line.startswith("READY"):
            return process
    common.stop_process(process)
    raise RuntimeError(f"attack {name} did not get ready in time")


def stop_attack(process: subprocess.Popen) -> dict[str, Any]:
    common.stop_process(process)
    out = process.stdout.read() if process.stdout is not None else ""
    for line in out.splitlines():
        if line.startswith("DONE "):
            return json.loads(line[5:])
    return {}


def measure(name: str, directory: Path, seconds: float) -> dict[str, Any]:
    """One attack on a fresh server: the bystander alone, then beside the attack."""
    from cstaserver.pytest_plugin import start_server

    telnet, ssh = _free_port(), _free_port()
    server = start_server(directory, args=[f"--admin-port={telnet}", f"--admin-ssh-port={ssh}"])
    ports = {
        "xml": server.xml_port,
        "web": server.web_port,
        "sip": server.sip_port,
        "telnet": telnet,
        "ssh": ssh,
    }
    try:
        alone = asyncio.run(bystander(ports["xml"], seconds))
        attack = start_attack(name, ports)
        try:
            beside = asyncio.run(bystander(ports["xml"], seconds))
        finally:
            achieved = stop_attack(attack)
    finally:
        server.stop()
    print(
        f"{name}: p99 {alone['p99_ms']:.1f} ms alone, {beside['p99_ms']:.1f} ms beside it; "
        f"the attack: {achieved}",
        file=sys.stderr,
    )
    return {"attack": name, "without": alone, "with": beside, "attack_did": achieved}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per measurement (5)")
    parser.add_argument("--only", default="", help="comma-separated attacks (default: all)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    chosen = [a for a in args.only.split(",") if a] or list(ATTACKS)
    unknown = set(chosen) - set(ATTACKS)
    if unknown:
        parser.error(f"unknown attack: {', '.join(sorted(unknown))}")

    rows = []
    with tempfile.TemporaryDirectory(prefix="bystander-") as scratch:
        for name in chosen:
            rows.append(measure(name, Path(scratch) / name, args.seconds))
    table = common.markdown_table(
        [
            "attack",
            "p99 alone (ms)",
            "p99 beside it (ms)",
            "ratio",
            "requests",
            "errors",
            "the attack",
        ],
        [
            [
                r["attack"],
                f"{r['without']['p99_ms']:.1f}",
                f"{r['with']['p99_ms']:.1f}",
                f"{r['with']['p99_ms'] / r['without']['p99_ms']:.1f}x",
                r["with"]["count"],
                r["with"]["errors"],
                ", ".join(f"{k} {v}" for k, v in sorted(r["attack_did"].items())),
            ]
            for r in rows
        ],
    )
    data = {"seconds": args.seconds, "rows": rows, "environment": common.environment()}
    path = common.write_results("bystander", data, table)
    print(json.dumps(data, indent=2) if args.json else table)
    print(f"written: {path}", file=sys.stderr)
    return 0


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


if __name__ == "__main__":
    if sys.argv[1:2] == ["attack"]:
        run_attack(sys.argv[2], json.loads(sys.argv[3]))
    else:
        sys.exit(main())
