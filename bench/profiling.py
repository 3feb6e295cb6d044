"""Profiles of the hot paths (not a test): the whole server (``bench/full_server.py``, the
composition of ``twistd -n csta`` on 10,000 generated extensions) under each benchmark's
load, with ``cProfile`` on the reactor thread for the measured window only. (Named
``profiling`` and not ``profile``: a ``bench/profile.py`` would shadow the standard
library's ``profile`` module, which ``cProfile`` imports, in every script of ``bench/``.)

    .venv/bin/python bench/profiling.py [--paths xml,soap,tr87-udp,tr87-tcp] [--seconds 10]
        [--warmup 3] [--top 25]

Per path: one fresh server (pinned to the first CPU when there are two or more, the load in
this process on the others), ``--warmup`` seconds of the load without the profiler (its
request rate is the unprofiled figure), then the server's ``profile start`` command,
``--seconds`` of the same load, ``profile stop``; the server is stopped by its PID in a
``finally``. The loads, all on 127.0.0.1, all bounded in time and count:

- ``xml``: the closed loop of ``xml_load.py`` (10 connections x 4 slots, MakeCall then
  ClearCall of the call the answer named, ECMA-323 over the XML port);
- ``soap``: ``--soap-connections`` HTTP/1.1 keep-alive connections (asyncio, HTTP Basic
  ``csta_user``), each alternating MakeCall and ClearCall SOAP 1.1 envelopes to ``/csta``
  as ``soap_load.py``'s wrk script does (no ``sessionID``: the login's association);
- ``tr87-udp`` / ``tr87-tcp``: ``--sip-callers`` simulated sipe clients, each repeating the
  sign-in dialog of ``tr87/run.py`` (INVITE with RequestSystemStatus + ``lcs:line`` / 200 /
  ACK, ``--infos`` INFO RequestSystemStatus / 200, BYE / 200) on its own line
  (``tel:+46855<n>``), over one UDP socket or one TCP connection (as SIPp ``u1`` / ``t1``).
  A Python generator, not SIPp: it needs nothing installed and only the server's share of
  the time matters here.

The profile's functions are grouped by layer (``LAYERS``, by source file and, for
built-ins such as lxml's parser or ``socket.send``, by name or by the layer of their caller).
A request is one answered CSTA request (XML, SOAP) or one SIP transaction (TR/87). Writes
``bench/results/profile-<path>-<date>.txt`` (per layer: own time in microseconds per
request and share of busy time; then the top functions by own time and by cumulative time)
and the raw ``.pstats`` beside it (``python -m pstats`` or snakeviz read it). Idle time in
``epoll`` is reported apart and left out of the busy time.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime
import pstats
import re
import socket
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import clients  # noqa: E402
import common  # noqa: E402
import xml_load  # noqa: E402

PATHS = ("xml", "soap", "tr87-udp", "tr87-tcp")
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
LCS = common.LCS
CALL_ID_RE = re.compile(rb"<(?:[\w.-]+:)?callID>([^<]+)<")

#: (layer, pattern on the file path of a Python function), first match wins.
LAYERS: list[tuple[str, str]] = [
    ("framing (ECMA-323 XML port)", r"cstaserver/xmlproto/framing\.py"),
    ("XML port protocol", r"cstaserver/xmlproto/"),
    ("XML parse (safe lxml)", r"cstaserver/csta/xmlsafe\.py"),
    ("csta codec", r"cstaserver/csta/(codec|messages/|types|deviceid|namespaces)"),
    ("csta core (association, services, monitors)", r"cstaserver/csta/"),
    ("switch (pbx)", r"cstaserver/pbx/"),
    ("SIP parse (RFC 3261 messages)", r"cstaserver/sip/(message|headers)\.py"),
    ("SIP transaction + dialog", r"cstaserver/sip/(transaction|dialog)\.py"),
    ("TR/87 endpoint", r"cstaserver/sip/"),
    ("SOAP (envelope, dispatch, auth)", r"cstaserver/soap/"),
    ("metrics + trace (api)", r"cstaserver/api/|prometheus_client"),
    ("other cstaserver", r"cstaserver/"),
    ("HTTP (twisted.web)", r"twisted/web/"),
    ("transport (twisted tcp/udp, reactor)", r"twisted/internet/"),
    ("logging (twisted.logger)", r"twisted/logger/|twisted/python/log"),
    ("other twisted", r"twisted/"),
    ("attrs", r"/attr/|/attrs/"),
    ("stdlib + other", r"."),
]
#: Built-in functions placed by their name (the rest go to their caller's layer).
BUILTINS: list[tuple[str, str]] = [
    ("idle (epoll wait)", r"method 'poll' of 'select\.epoll"),
    ("XML parse (safe lxml)", r"lxml\.etree\.(fromstring|XML)|_FeedParser|XMLParser"),
    ("csta codec", r"lxml"),
    ("transport writes (socket send)", r"method '(send|sendto|sendmsg|sendall)' of"),
    ("transport reads (socket recv)", r"method '(recv|recvfrom|recv_into|recvfrom_into)' of"),
]
#: Codec functions that write (the rest of the codec decodes).
ENCODE_RE = re.compile(r"encode|_write|escape|tostring|render|template", re.I)


# -- layers ---------------------------------------------------------------------------------
def layer_of_python(filename: str, name: str) -> str:
    filename = filename.replace("\\", "/")
    for layer, pattern in LAYERS:
        if re.search(pattern, filename):
            if layer == "csta codec":
                return "encode (csta codec)" if ENCODE_RE.search(name) else "decode (csta codec)"
            return layer
    return "stdlib + other"


def layer_of(func: tuple[str, int, str], stats: dict[Any, Any], depth: int = 0) -> dict[str, float]:
    """Own time of ``func`` split over layers (a built-in's goes to its callers' layers)."""
    filename, _, name = func
    _, _, tt, _, callers = stats[func]
    if filename != "~":
        return {layer_of_python(filename, name): tt}
    for layer, pattern in BUILTINS:
        if re.search(pattern, name):
            if layer == "csta codec":
                layer = "encode (csta codec)" if ENCODE_RE.search(name) else "decode (csta codec)"
            return {layer: tt}
    if not callers or depth > 3:
        return {"stdlib + other": tt}
    out: dict[str, float] = {}
    for caller, caller_stats in callers.items():
        share = caller_stats[2]  # own time of func under this caller
        for layer, value in layer_of(caller, stats, depth + 1).items():
            # the caller's own split decides the layer, this call's time is the amount
            out[layer] = out.get(layer, 0.0) + share * (value / max(stats[caller][2], 1e-12))
    total = sum(out.values())
    if total <= 0:
        return {"stdlib + other": tt}
    return {layer: tt * value / total for layer, value in out.items()}


def summarise(
    pstats_path: Path, requests: int, top: int, unprofiled_rate: float = 0.0
) -> tuple[str, dict[str, Any]]:
    """The layer table and the top functions of a profile; with ``unprofiled_rate`` (requests
    per second of the same load without the profiler, the server saturated), an estimate of
    each layer's real cost: its share of the busy time times 1 / that rate."""
    st = pstats.Stats(str(pstats_path))
    stats: dict[Any, Any] = st.stats  # type: ignore[attr-defined]
    layers: dict[str, float] = {}
    for func in stats:
        for layer, value in layer_of(func, stats).items():
            layers[layer] = layers.get(layer, 0.0) + value
    idle = layers.pop("idle (epoll wait)", 0.0)
    busy = sum(layers.values())
    per = max(requests, 1)
    real = 1e6 / unprofiled_rate if unprofiled_rate > 0 else float("nan")
    rows = [
        [
            layer,
            f"{1e6 * t / per:.1f}",
            f"{100 * t / busy:.1f} %" if busy else "-",
            f"{real * t / busy:.1f}" if busy else "-",
        ]
        for layer, t in sorted(layers.items(), key=lambda kv: -kv[1])
    ]
    rows.append(["**busy total**", f"**{1e6 * busy / per:.1f}**", "100 %", f"**{real:.1f}**"])

    def label(func: tuple[str, int, str]) -> str:
        filename, line, name = func
        if filename == "~":
            return name
        short = re.sub(r".*/(site-packages|lib/python3\.\d+|p18)/", "", filename)
        return f"{short}:{line}({name})"

    def table(key: int, heading: str) -> str:
        ranked = sorted(stats.items(), key=lambda kv: -kv[1][key])
        ranked = [kv for kv in ranked if "select.epoll" not in kv[0][2]][:top]
        return common.markdown_table(
            ["function", "calls", heading, "us/request", "layer"],
            [
                [
                    label(f),
                    s[1],
                    f"{s[key]:.3f}",
                    f"{1e6 * s[key] / per:.1f}",
                    max(layer_of(f, stats).items(), key=lambda kv: kv[1])[0],
                ]
                for f, s in ranked
            ],
        )

    text = "\n".join(
        [
            common.markdown_table(
                [
                    "layer",
                    "own time us/request (profiled)",
                    "share of busy",
                    "est. us/request unprofiled",
                ],
                rows,
            ),
            "",
            f"idle in epoll: {idle:.2f} s; busy {busy:.2f} s; requests {requests}",
            "",
            f"Top {top} functions by own time:",
            "",
            table(2, "own s"),
            "",
            f"Top {top} functions by cumulative time:",
            "",
            table(3, "cumulative s"),
        ]
    )
    figures = {
        "busy_s": busy,
        "idle_s": idle,
        "us_per_request": {k: 1e6 * v / per for k, v in layers.items()},
        "busy_us_per_request": 1e6 * busy / per,
        "share": {k: v / busy for k, v in layers.items()} if busy else {},
    }
    return text, figures


# -- SOAP load --------------------------------------------------------------------------------
def soap_envelope(inner: bytes) -> bytes:
    return (
        b'<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="'
        + SOAP11.encode()
        + b'"><soap:Body>'
        + inner
        + b"</soap:Body></soap:Envelope>"
    )


async def soap_connection(port: int, slot: int, deadline: float, counts: dict[str, int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    auth = base64.b64encode(b"csta_user:csta").decode()
    calling, called = common.pair(slot)
    call_id: bytes | None = None
    try:
        while time.monotonic() < deadline:
            if call_id is None:
                body = soap_envelope(common.make_call(calling, called))
            else:
                body = soap_envelope(common.clear_call(call_id.decode(), calling))
            writer.write(
                (
                    "POST /csta HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    'Content-Type: text/xml; charset=utf-8\r\nSOAPAction: ""\r\n'
                    f"Authorization: Basic {auth}\r\nContent-Length: {len(body)}\r\n\r\n"
                ).encode()
                + body
            )
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            status = int(head.split(b" ", 2)[1])
            match = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
            if match:
                answer = await reader.readexactly(int(match.group(1)))
            else:  # chunked
                answer = b""
                for _ in range(1000):
                    size = int((await reader.readuntil(b"\r\n")).strip(), 16)
                    chunk = await reader.readexactly(size + 2)
                    if size == 0:
                        break
                    answer += chunk[:-2]
            counts["requests"] += 1
            if status != 200:
                counts["errors"] += 1
                call_id = None
                continue
            found = CALL_ID_RE.search(answer)
            call_id = found.group(1) if found and call_id is None else None
    finally:
        writer.close()


async def soap_load(port: int, seconds: float, connections: int, first_slot: int) -> int:
    counts = {"requests": 0, "errors": 0}
    deadline = time.monotonic() + seconds
    await asyncio.gather(
        *(soap_connection(port, first_slot + i, deadline, counts) for i in range(connections))
    )
    if counts["errors"]:
        print(f"soap: {counts['errors']} non-200 answers", file=sys.stderr)
    return counts["requests"]


# -- TR/87 load -------------------------------------------------------------------------------
class SipCaller:
    """One sipe-like client: sign-in dialogs on its own line, one after the other."""

    def __init__(self, index: int, transport: str, local: tuple[str, int], infos: int) -> None:
        self.line = f"tel:+46855{common.FIRST_EXTENSION + index}"
        self.transport = transport
        self.local = local
        self.infos = infos
        self.answers: asyncio.Queue[bytes] = asyncio.Queue()
        self.call_id = ""

    def request(self, method: str, cseq: int, to: str, tag: str, body: str = "") -> bytes:
        host, port = self.local
        data = body.encode()
        lines = common.sipe_request_lines(
            method,
            uri="sip:rccgateway@127.0.0.1",
            via=f"SIP/2.0/{self.transport.upper()} {host}:{port}",  # no branch, as sipe
            from_=f"<sip:alice@example.net>;tag={tag};epid=0a1b2c3d4e",
            to=f"To: {to}",
            call_id=self.call_id,
            cseq=cseq,
            contact=f"<sip:alice@{host}:{port};transport={self.transport}>;proxy=replace",
            user_agent="Purple/2.14.10 Sipe/1.25.0 (bench profile)",
            content_length=len(data),
            body=bool(data),
        )
        return "\r\n".join([*lines, "", ""]).encode() + data

    def status_body(self) -> str:
        return (
            f'<RequestSystemStatus xmlns="{common.NS}"><extensions><privateData><private>'
            f'<lcs:line xmlns:lcs="{LCS}">{self.line}</lcs:line></private></privateData>'
            "</extensions></RequestSystemStatus>"
        )

    async def final(self, timeout: float = 5.0) -> bytes:
        for _ in range(10):  # skip provisional answers
            answer = await asyncio.wait_for(self.answers.get(), timeout)
            if not answer.startswith(b"SIP/2.0 1"):
                return answer
        raise RuntimeError("no final answer")

    async def run(self, send: Any, deadline: float, counts: dict[str, int]) -> None:
        while time.monotonic() < deadline:
            self.call_id = uuid.uuid4().hex
            tag = uuid.uuid4().hex[:8]
            to = "<sip:rccgateway@example.net>"
            send(self, self.request("INVITE", 1, to, tag, self.status_body()))
            answer = await self.final()
            counts["transactions"] += 1
            if not answer.startswith(b"SIP/2.0 200"):
                counts["errors"] += 1
                continue
            found = re.search(rb"(?im)^(?:To|t):\s*([^\r\n]+)", answer)
            to = found.group(1).decode() if found else to
            send(self, self.request("ACK", 1, to, tag))
            for cseq in range(2, self.infos + 2):
                send(self, self.request("INFO", cseq, to, tag, self.status_body()))
                answer = await self.final()
                counts["transactions"] += 1
                counts["errors"] += not answer.startswith(b"SIP/2.0 200")
            send(self, self.request("BYE", self.infos + 2, to, tag))
            answer = await self.final()
            counts["transactions"] += 1
            counts["errors"] += not answer.startswith(b"SIP/2.0 200")


def sip_call_id(message: bytes) -> str:
    found = re.search(rb"(?im)^(?:Call-ID|i):\s*([^\r\n]+)", message)
    return found.group(1).decode().strip() if found else ""


class SipUdp(asyncio.DatagramProtocol):
    def __init__(self, route: dict[str, SipCaller]) -> None:
        self.route = route

    def datagram_received(self, data: bytes, addr: Any) -> None:
        caller = self.route.get(sip_call_id(data))
        if caller is not None and data.startswith(b"SIP/2.0"):
            caller.answers.put_nowait(data)


class SipTcp(asyncio.Protocol):
    def __init__(self, route: dict[str, SipCaller]) -> None:
        self.route = route
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        for _ in range(10_000):
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            found = re.search(rb"(?im)^(?:Content-Length|l):\s*(\d+)", self.buffer[:end])
            size = end + 4 + (int(found.group(1)) if found else 0)
            if len(self.buffer) < size:
                return
            message, self.buffer = self.buffer[:size], self.buffer[size:]
            caller = self.route.get(sip_call_id(message))
            if caller is not None and message.startswith(b"SIP/2.0"):
                caller.answers.put_nowait(message)


async def sip_load(
    port: int, seconds: float, transport: str, callers: int, infos: int, first: int
) -> int:
    loop = asyncio.get_running_loop()
    route: dict[str, SipCaller] = {}
    if transport == "udp":
        sock_transport, _ = await loop.create_datagram_endpoint(
            lambda: SipUdp(route), local_addr=("127.0.0.1", 0), family=socket.AF_INET
        )
        local = sock_transport.get_extra_info("sockname")[:2]

        def send(caller: SipCaller, data: bytes) -> None:
            route[caller.call_id] = caller
            sock_transport.sendto(data, ("127.0.0.1", port))
    else:
        sock_transport, _ = await loop.create_connection(lambda: SipTcp(route), "127.0.0.1", port)
        local = sock_transport.get_extra_info("sockname")[:2]

        def send(caller: SipCaller, data: bytes) -> None:
            route[caller.call_id] = caller
            sock_transport.write(data)

    counts = {"transactions": 0, "errors": 0}
    deadline = time.monotonic() + seconds
    group = [SipCaller(first + i, transport, local, infos) for i in range(callers)]
    try:
        await asyncio.gather(*(c.run(send, deadline, counts) for c in group))
    finally:
        sock_transport.close()
    if counts["errors"]:
        print(f"tr87-{transport}: {counts['errors']} non-200 answers", file=sys.stderr)
    return counts["transactions"]


# -- driver -----------------------------------------------------------------------------------
async def load(path: str, server: clients.FullServer, seconds: float, args: Any, first: int) -> int:
    if path == "xml":
        result = await xml_load.closed_loop(
            "127.0.0.1", server.ports["xml"], seconds=seconds, warmup=0.0, first_slot=first
        )
        return int(result["answered"])
    if path == "soap":
        return await soap_load(server.ports["web"], seconds, args.soap_connections, first)
    transport = path.split("-")[1]
    return await sip_load(
        server.ports["sip"], seconds, transport, args.sip_callers, args.infos, first
    )


def profile_path(
    path: str, args: argparse.Namespace, prefix: list[str], load_cpus: str | None
) -> dict[str, Any]:
    date = datetime.date.today().isoformat()
    out = common.RESULTS / f"profile-{path}-{date}.txt"
    raw = out.with_suffix(".pstats")
    common.RESULTS.mkdir(parents=True, exist_ok=True)
    with clients.FullServer(args.extensions, prefix) as server:
        print(f"{path}: warm-up {args.warmup:g} s ...", file=sys.stderr)
        t0 = time.monotonic()
        warm = asyncio.run(load(path, server, args.warmup, args, 0))
        warm_rate = warm / (time.monotonic() - t0)
        server.command("profile start", "PROFILE")
        print(f"{path}: profiled {args.seconds:g} s ...", file=sys.stderr)
        t0 = time.monotonic()
        requests = asyncio.run(load(path, server, args.seconds, args, 100))
        elapsed = time.monotonic() - t0
        server.command(f"profile stop {raw}", "PROFILE", timeout=120)
    text, figures = summarise(raw, requests, args.top, warm_rate)
    unit = "SIP transactions" if path.startswith("tr87") else "requests"
    head = [
        f"# Profile of the {path} path, {datetime.datetime.now():%Y-%m-%d %H:%M}",
        "",
        f"command: {' '.join(sys.argv)}",
        f"load: {describe(path, args)}",
        f"unprofiled warm-up: {warm_rate:,.0f} {unit}/s; profiled: "
        f"{requests / elapsed:,.0f} {unit}/s over {elapsed:.1f} s ({requests} {unit}; "
        f"cProfile's own cost is in the figures below)",
        f"server pinning: {' '.join(prefix) or 'none'}; load on CPUs {load_cpus or 'any'}",
        f"raw stats: {raw.name} (python -m pstats)",
        "",
    ]
    out.write_text("\n".join(head) + text + "\n")
    print(f"wrote {out}", file=sys.stderr)
    return {
        "path": path,
        "file": str(out),
        "requests": requests,
        "warm_rate": warm_rate,
        "profiled_rate": requests / elapsed,
        **figures,
    }


def describe(path: str, args: argparse.Namespace) -> str:
    if path == "xml":
        return "xml_load closed loop, 10 connections x 4 slots, MakeCall/ClearCall"
    if path == "soap":
        return f"{args.soap_connections} HTTP keep-alive connections, MakeCall/ClearCall SOAP 1.1"
    return (
        f"{args.sip_callers} sipe-like callers over one {path[5:].upper()} socket, dialog = "
        f"INVITE/200/ACK, {args.infos} x INFO/200, BYE/200"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--paths", default=",".join(PATHS), help="comma-separated, of " + ", ".join(PATHS)
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="profiled window [10]")
    parser.add_argument("--warmup", type=float, default=3.0, help="unprofiled load first [3]")
    parser.add_argument("--extensions", type=int, default=10_000)
    parser.add_argument("--soap-connections", type=int, default=20)
    parser.add_argument("--sip-callers", type=int, default=20)
    parser.add_argument("--infos", type=int, default=5, help="INFOs per TR/87 dialog [5]")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    paths = [p for p in args.paths.split(",") if p]
    unknown = set(paths) - set(PATHS)
    if unknown:
        parser.error(f"unknown path(s): {', '.join(sorted(unknown))}")
    prefix, load_cpus = common.cpu_plan()  # once: after pin_self this process sees one CPU
    common.pin_self(load_cpus)
    summary = []
    for path in paths:
        result = profile_path(path, args, prefix, load_cpus)
        summary.append(
            [
                path,
                f"{result['warm_rate']:,.0f}",
                f"{result['profiled_rate']:,.0f}",
                f"{result['busy_us_per_request']:.0f}",
                Path(result["file"]).name,
            ]
        )
    print(
        common.markdown_table(
            ["path", "unprofiled /s", "profiled /s", "busy us/request (profiled)", "summary"],
            summary,
        )
    )


if __name__ == "__main__":
    main()
