"""Shared pieces of the XML-port benchmarks (not tests): the generated exchange, the client
side of the 8-byte ECMA-323 framing, request bodies, percentiles, CPU pinning, child
processes and result files.

Nothing here is imported by the product; the servers and load generators in ``bench/`` use
it. Every child process is started with :func:`start_process` and stopped by its PID with
:func:`stop_process`.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import shutil
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"
PYTHON = sys.executable

NS = "http://www.ecma-international.org/standards/ecma-323/csta/ed3"
LCS = "http://schemas.microsoft.com/Lcs/2005/04/RCCExtension"  # Lync's lcs:line (TR/87)
HEADER = struct.Struct(">2sH4s")
EVENT_ID = b"9999"

#: First number of the generated exchange; extensions are FIRST .. FIRST + n - 1.
FIRST_EXTENSION = 10000
#: Numbers of the generated ACD groups (``generated_plan(groups=n)``): FIRST_GROUP + g.
FIRST_GROUP = 90000
#: Agent IDs of the generated ACD groups: FIRST_AGENT + i for the i-th agent position.
FIRST_AGENT = 500000


# -- the generated exchange ----------------------------------------------------------------
def generated_plan(
    extensions: int,
    *,
    groups: int = 0,
    agents_per_group: int = 100,
    routing: str = "application",
) -> Any:
    """An exchange of ``extensions`` IP and SIP extensions (all with a terminal, hands-free),
    numbered from 10000 on one LIM, public numbers ``+46855`` + five digits; the trunk count
    is raised so the outside network never limits a benchmark.

    No groups by default, so every call is a plain two-party call. With ``groups`` (the call
    centre): that many ACD groups numbered from ``FIRST_GROUP`` (90000), group g having the
    ``agents_per_group`` agent positions ``FIRST_EXTENSION + g * agents_per_group`` onwards
    (the first ``groups * agents_per_group`` extensions) and as many agent IDs (from
    ``FIRST_AGENT``, the i-th position's agent is ``FIRST_AGENT + i``), routed by the
    application (``routing="application"``: every call waits Queued for a RouteSelect) or
    by the exchange (``"switch"``); the other group settings are ``AcdGroup``'s defaults."""
    from cstaserver.pbx.plan import (
        AcdGroup,
        DeviceKind,
        ExchangePlan,
        Extension,
        ExternalNetwork,
        GroupRouting,
        Lim,
        PublicNumbering,
    )

    kinds = (DeviceKind.IP_EXTENSION, DeviceKind.SIP_EXTENSION)
    exts = [
        Extension(
            number=str(FIRST_EXTENSION + i),
            kind=kinds[i % 2],
            lim=1,
            name=f"Bench {FIRST_EXTENSION + i}",
        )
        for i in range(extensions)
    ]
    if groups * agents_per_group > extensions:
        raise ValueError(f"{groups} x {agents_per_group} agents need as many extensions")
    if groups and FIRST_EXTENSION + extensions > FIRST_GROUP:
        raise ValueError(f"at most {FIRST_GROUP - FIRST_EXTENSION} extensions with groups")
    acd = [
        AcdGroup(
            number=str(FIRST_GROUP + g),
            name=f"Bench group {g}",
            agent_ids=tuple(
                str(FIRST_AGENT + g * agents_per_group + a) for a in range(agents_per_group)
            ),
            agent_devices=tuple(
                str(FIRST_EXTENSION + g * agents_per_group + a) for a in range(agents_per_group)
            ),
            routing=GroupRouting(routing),
        )
        for g in range(groups)
    ]
    return ExchangePlan(
        lims=[Lim(1, "LIM 1")],
        extensions=exts,
        acd_groups=acd,
        public_numbering=PublicNumbering(public_prefix="+46855", internal_length=5),
        network=ExternalNetwork(trunk_count=max(30, extensions)),
    )


def acd_group_agents(groups: int, agents_per_group: int) -> dict[str, list[tuple[str, str]]]:
    """The groups of ``generated_plan(groups=..., agents_per_group=...)``: group number ->
    [(agent position, agent ID)]."""
    return {
        str(FIRST_GROUP + g): [
            (str(FIRST_EXTENSION + i), str(FIRST_AGENT + i))
            for i in range(g * agents_per_group, (g + 1) * agents_per_group)
        ]
        for g in range(groups)
    }


def pair(index: int) -> tuple[str, str]:
    """The extensions (calling, called) of load slot ``index``: 10000+2i and 10000+2i+1."""
    base = FIRST_EXTENSION + 2 * index
    return str(base), str(base + 1)


# -- request bodies and response parsing ---------------------------------------------------
def make_call(calling: str, called: str) -> bytes:
    return (
        f'<MakeCall xmlns="{NS}"><callingDevice>{calling}</callingDevice>'
        f"<calledDirectoryNumber>{called}</calledDirectoryNumber></MakeCall>"
    ).encode()


def clear_call(call_id: str, device: str) -> bytes:
    return (
        f'<ClearCall xmlns="{NS}"><callToBeCleared><callID>{call_id}</callID>'
        f"<deviceID>{device}</deviceID></callToBeCleared></ClearCall>"
    ).encode()


def monitor_start(device: str) -> bytes:
    return (
        f'<MonitorStart xmlns="{NS}"><monitorObject><deviceObject>{device}</deviceObject>'
        f"</monitorObject></MonitorStart>"
    ).encode()


def sipe_request_lines(
    method: str,
    *,
    uri: str,
    via: str,
    from_: str,
    to: str,
    call_id: str,
    cseq: int | str,
    contact: str,
    user_agent: str,
    content_length: int | str,
    body: bool,
) -> list[str]:
    """A TR/87 request's head as pidgin-sipe writes it (no Via branch, an ``epid`` on From,
    ``Supported: timer`` on INVITE, ``Content-Disposition`` with a CSTA body), up to its
    Content-Length line. ``to`` is the whole To line; the values may be SIPp keywords."""
    lines = [
        f"{method} {uri} SIP/2.0",
        f"Via: {via}",
        "Max-Forwards: 70",
        f"From: {from_}",
        to,
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} {method}",
        f"Contact: {contact}",
        f"User-Agent: {user_agent}",
    ]
    if method == "INVITE":
        lines.append("Supported: timer")
    if body:
        lines += [
            "Content-Disposition: signal;handling=required",
            "Content-Type: application/csta+xml",
        ]
    lines.append(f"Content-Length: {content_length}")
    return lines


def element_text(body: bytes, tag: bytes, start: int = 0) -> bytes | None:
    """Text of the first ``<tag>`` at or after ``start`` (no namespace prefixes: our server
    and the reference answer with a default namespace)."""
    open_tag = b"<" + tag + b">"
    i = body.find(open_tag, start)
    if i < 0:
        return None
    i += len(open_tag)
    j = body.find(b"<", i)
    return body[i:j] if j >= 0 else None


def root_name(body: bytes) -> bytes:
    """Local name of the root element of a body (skips an XML declaration)."""
    i = body.find(b"<")
    if body.startswith(b"<?", i):
        i = body.find(b"<", body.find(b"?>", i) + 2)
    j = i + 1
    end = len(body)
    while j < end and body[j] not in b" />\t\r\n":
        j += 1
    name = body[i + 1 : j]
    colon = name.rfind(b":")
    return name[colon + 1 :] if colon >= 0 else name


def frame(invoke_id: bytes, body: bytes) -> bytes:
    return HEADER.pack(b"\x00\x00", 8 + len(body), invoke_id) + body


class ClientDeframer:
    """Minimal incremental deframer for the clients: ``feed`` yields (invoke ID, body)."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[tuple[bytes, bytes]]:
        buf = self._buf
        buf += data
        out: list[tuple[bytes, bytes]] = []
        pos = 0
        n = len(buf)
        while n - pos >= 8:
            length = (buf[pos + 2] << 8) | buf[pos + 3]
            if length < 8:
                raise ValueError("bad frame length")
            if n - pos < length:
                break
            out.append((bytes(buf[pos + 4 : pos + 8]), bytes(buf[pos + 8 : pos + length])))
            pos += length
        if pos:
            del buf[:pos]
        return out


# -- statistics ----------------------------------------------------------------------------
def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of already sorted values; NaN when empty."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), int(-(-q * len(sorted_values) // 100))))
    return sorted_values[rank - 1]


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    """count, mean, p50, p90, p95, p99, p99.9 and max, in milliseconds."""
    values = sorted(seconds)
    ms = 1000.0
    return {
        "count": len(values),
        "mean_ms": (sum(values) / len(values) * ms) if values else float("nan"),
        "p50_ms": percentile(values, 50) * ms,
        "p90_ms": percentile(values, 90) * ms,
        "p95_ms": percentile(values, 95) * ms,
        "p99_ms": percentile(values, 99) * ms,
        "p99_9_ms": percentile(values, 99.9) * ms,
        "max_ms": (values[-1] * ms) if values else float("nan"),
    }


# -- CPU pinning and child processes -------------------------------------------------------
def cpu_plan() -> tuple[list[str], str | None]:
    """(command prefix for servers, CPU list for the load generator).

    With ``taskset`` and at least two usable CPUs, servers go to the first CPU and the load
    generator to the others; otherwise nothing is pinned (and the result says so)."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return [], None
    taskset = shutil.which("taskset")
    if taskset is None or len(cpus) < 2:
        return [], None
    return [taskset, "-c", str(cpus[0])], ",".join(str(c) for c in cpus[1:])


def pin_self(cpu_list: str | None) -> bool:
    if not cpu_list:
        return False
    try:
        os.sched_setaffinity(0, {int(c) for c in cpu_list.split(",")})
    except (AttributeError, OSError):
        return False
    return True


def start_process(args: list[str], *, stdin: Any = subprocess.DEVNULL) -> subprocess.Popen:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("PYTHONUNBUFFERED", "1")
    return subprocess.Popen(
        args,
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=None,  # the servers' logs go to our stderr
        cwd=str(REPO),
        env=env,
        text=True,
        bufsize=1,
    )


def read_port(proc: subprocess.Popen, timeout: float = 60.0) -> int:
    """Wait for the ``PORT n`` line a bench server prints once it listens."""
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"server {proc.args!r} exited with {proc.wait()}")
        if line.startswith("PORT "):
            return int(line.split()[1])
    raise RuntimeError("server did not report its port in time")


def stop_process(proc: subprocess.Popen | None, timeout: float = 10.0) -> None:
    """SIGTERM by PID, then SIGKILL by PID if it does not exit."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=timeout)
    except ProcessLookupError:
        pass


# -- results -------------------------------------------------------------------------------
def environment() -> dict[str, Any]:
    try:
        affinity = sorted(os.sched_getaffinity(0))
    except AttributeError:
        affinity = []
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        commit = ""
    try:
        load = os.getloadavg()
    except OSError:
        load = (float("nan"),) * 3
    return {
        "load_average_at_end": [round(x, 2) for x in load],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count() or 0,
        "load_generator_affinity": affinity,
        "cpu_model": model,
        "commit": commit,
    }


def write_results(name: str, data: dict[str, Any], markdown: str | None = None) -> Path:
    """``results/<name>-<date>.json`` (and, with ``markdown``, ``<name>-<date>.md``)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now()
    path = RESULTS / f"{name}-{now:%Y-%m-%d}.json"
    data = {"benchmark": name, "date": now.isoformat(timespec="seconds"), **data}
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
    if markdown is not None:
        path.with_suffix(".md").write_text(markdown.rstrip("\n") + "\n")
    return path


def run_queue_seconds(pid: int) -> float:
    """Time the process's main thread spent runnable but waiting for a CPU so far
    (``/proc/<pid>/schedstat``, second field): other load on its CPU. NaN if unknown."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (``/proc/<pid>/stat``); NaN if unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
        return str(value)

    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
    ]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


# -- the bench server's control channel (stdin commands, stdout lines) --------------------


async def server_line(proc: Any, prefix: str, timeout: float) -> str:
    """The next line the bench server prints that starts with ``prefix`` (bounded)."""
    loop = asyncio.get_running_loop()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = await asyncio.wait_for(
            loop.run_in_executor(None, proc.stdout.readline), deadline - time.monotonic()
        )
        if not line:
            raise RuntimeError("server exited")
        if line.startswith("ERROR"):
            raise RuntimeError(line.strip())
        if line.startswith(prefix):
            return line.strip()
    raise TimeoutError(prefix)


def command(proc: Any, line: str) -> None:
    """Send one control command to the bench server's stdin."""
    proc.stdin.write(line + "\n")
    proc.stdin.flush()


def run_in_tree(tree: Path, code: str, timeout: float = 600) -> Any:
    """Run ``code`` in a child Python (this virtualenv's) on the source ``tree``
    (``PYTHONPATH``, run from the tree) and return the JSON of its last stdout line: how the
    two-tree comparisons (``cpu_pairs``, ``switch_cost``, ``trace_cost``,
    ``cluster_interest``) measure each tree in a process of its own."""
    done = subprocess.run(
        [PYTHON, "-c", code],
        env=dict(os.environ, PYTHONPATH=str(tree)),
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def tree_pair_parser(description: str, rounds: int = 3) -> argparse.ArgumentParser:
    """The arguments every two-tree comparison takes: ``before`` and ``after`` (source trees)
    and ``--rounds`` (each round runs both, the order alternating)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--rounds", type=int, default=rounds)
    return parser
