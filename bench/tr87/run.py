"""TR/87 benchmark (not a test): SIPp drives the Lync sign-in pattern against our TR/87 stack
and against a stateless Kamailio as the reference, over UDP and TCP, stepping the call rate
until failures, retransmissions or saturation appear.

    .venv/bin/python bench/tr87/run.py [--infos 5] [--seconds 3] [--start-rate 25]
                                       [--max-steps 10] [--no-install]

One SIPp call = INVITE (RequestSystemStatus + lcs:line, ``Supported: timer``, no Via
branch, as sipe writes it) / 200 / ACK, ``--infos`` INFOs (RequestSystemStatus) each
answered 200, BYE / 200: ``infos + 2`` transactions. Each step offers a call rate for
``--seconds`` (``-m rate*seconds`` calls; the achieved rate is successful calls / SIPp's wall
time); the rate doubles until a step has a failed call, a
retransmission, or completes below 90 % of the offered rate (saturation), then ``--refine``
bisection steps between the last clean and that rate; the best clean step is the figure. Everything is on 127.0.0.1; every process started (our server,
Kamailio, SIPp) is stopped by its PID in a ``finally``; every loop is bounded.

Needs ``sipp`` (Debian package ``sip-tester``) and ``kamailio``: installed with apt-get when
missing (``--no-install`` to fail instead). Writes ``bench/results/tr87-<date>.json`` and
prints a Markdown table.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE.parent))
import common  # noqa: E402  (bench/common.py)

RESULTS = REPO / "bench" / "results"
TARGET_RATIO = 0.15
LINE = "tel:+46700[call_number]"  # one line per SIPp call: a line's new dialog replaces its old one
ED3 = "http://www.ecma-international.org/standards/ecma-323/csta/ed3"
LCS = "http://schemas.microsoft.com/Lcs/2005/04/RCCExtension"

KAMAILIO_CFG = """#!KAMAILIO
# stateless reference: 200 OK to every request but ACK (bench/tr87/run.py)
debug=0
log_stderror=yes
memdbg=5
memlog=5
children=1
tcp_children=1
auto_aliases=no
listen=udp:127.0.0.1:{port}
listen=tcp:127.0.0.1:{port}
loadmodule "sl.so"
request_route {{
    if (method == "ACK") {{
        exit;
    }}
    sl_send_reply("200", "OK");
}}
"""


# -- tools -------------------------------------------------------------------------------
def ensure_tools(install: bool) -> dict[str, str]:
    """sipp and kamailio, installed with apt-get when missing; exits with a clear message
    if that is impossible."""
    missing = {
        package: tool
        for tool, package in (("sipp", "sip-tester"), ("kamailio", "kamailio"))
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists()
    }
    if missing and install:
        apt = shutil.which("apt-get")
        if apt is None:
            sys.exit(f"bench-tr87: {', '.join(missing)} missing and no apt-get to install them")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        for command in ([apt, "update", "-qq"], [apt, "install", "-y", "-qq", *missing]):
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
            if done.returncode != 0:
                sys.exit(
                    f"bench-tr87: '{' '.join(command)}' failed ({done.returncode}); cannot "
                    f"install {', '.join(missing)}:\n{done.stderr[-2000:]}"
                )
    paths = {}
    for tool in ("sipp", "kamailio"):
        path = shutil.which(tool) or (
            f"/usr/sbin/{tool}" if Path(f"/usr/sbin/{tool}").exists() else None
        )
        if path is None:
            sys.exit(
                f"bench-tr87: {tool} is not installed (apt-get install -y {tool if tool == 'kamailio' else 'sip-tester'})"
            )
        paths[tool] = path
    return paths


def version(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    text = (done.stdout + done.stderr).strip().splitlines()
    return next((line.strip() for line in text if line.strip()), "")


def free_port() -> int:
    """A port number free on 127.0.0.1 for both TCP and UDP (bounded attempts)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port")


# -- processes ---------------------------------------------------------------------------
def stop(proc: subprocess.Popen | None, *, group: bool = False, timeout: float = 10.0) -> None:
    """SIGTERM by PID (or to the process group it leads), then SIGKILL."""
    if proc is None or proc.poll() is not None:
        return
    kill = (lambda sig: os.killpg(proc.pid, sig)) if group else (lambda sig: os.kill(proc.pid, sig))
    try:
        kill(signal.SIGTERM)
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill(signal.SIGKILL)
        proc.wait(timeout=timeout)
    except ProcessLookupError:
        pass


def start_ours(pin: list[str]) -> tuple[subprocess.Popen, int]:
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [*pin, sys.executable, str(HERE / "server.py")],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        cwd=str(REPO),
        env=env,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"our server exited with {proc.wait()}")
        if line.startswith("PORT "):
            return proc, int(line.split()[1])
    stop(proc)
    raise RuntimeError("our server did not report its port")


def start_kamailio(kamailio: str, workdir: Path, pin: list[str]) -> tuple[subprocess.Popen, int]:
    port = free_port()
    config = workdir / "kamailio.cfg"
    config.write_text(KAMAILIO_CFG.format(port=port))
    check = subprocess.run(
        [kamailio, "-c", "-f", str(config)], capture_output=True, text=True, timeout=30
    )
    if check.returncode != 0:
        raise RuntimeError(f"kamailio rejects its configuration:\n{check.stderr[-2000:]}")
    proc = subprocess.Popen(
        [
            *pin,
            kamailio,
            "-f",
            str(config),
            "-DD",
            "-E",
            "-Y",
            str(workdir),
            "-P",
            str(workdir / "k.pid"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(workdir / "kamailio.log", "w"),  # noqa: SIM115 (closed with the process)
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: its workers are stopped with it
    )
    for _ in range(100):  # up to 10 s for the UDP/TCP listeners
        if proc.poll() is not None:
            raise RuntimeError(f"kamailio exited: {(workdir / 'kamailio.log').read_text()[-2000:]}")
        with socket.socket() as probe:
            probe.settimeout(0.1)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return proc, port
        time.sleep(0.1)
    stop(proc, group=True)
    raise RuntimeError("kamailio did not start listening")


# -- the SIPp scenario -------------------------------------------------------------------
def csta(root: str, inner: str) -> str:
    return f'<{root} xmlns="{ED3}">{inner}</{root}>'


def request(
    method: str, cseq: int, body: str = "", to: str = "<sip:rccgateway@example.net>"
) -> str:
    lines = common.sipe_request_lines(
        method,
        uri="sip:rccgateway@[remote_ip]:[remote_port]",
        via="SIP/2.0/[transport] [local_ip]:[local_port]",  # no branch, as sipe
        from_="<sip:alice[call_number]@example.net>;tag=[pid]SIPpTag[call_number];epid=0a1b2c3d4e",
        to=to if to.startswith("[last_To") else f"To: {to}",  # [last_To:] includes "To:"
        call_id="[call_id]",
        cseq=cseq,
        contact="<sip:alice@[local_ip]:[local_port];transport=[transport]>;proxy=replace",
        user_agent="Purple/2.14.10 Sipe/1.25.0 (bench)",
        content_length="[len]",
        body=bool(body),
    )
    return "\n".join([*lines, "", body])


def scenario(infos: int) -> str:
    line = f'<extensions><privateData><private><lcs:line xmlns:lcs="{LCS}">{LINE}</lcs:line></private></privateData></extensions>'
    status = csta("RequestSystemStatus", line)
    steps = [
        f'<send retrans="500"><![CDATA[\n{request("INVITE", 1, status)}\n]]></send>',
        '<recv response="100" optional="true"/>',
        '<recv response="200" rtd="true"/>',
        f"<send><![CDATA[\n{request('ACK', 1, to='[last_To:]')}\n]]></send>",
    ]
    for number in range(2, infos + 2):  # sipe's CSeq after the reset: ACK 1, INFO 2, ...
        steps.append(
            f'<send retrans="500"><![CDATA[\n{request("INFO", number, status, "[last_To:]")}\n]]></send>'
        )
        steps.append('<recv response="200"/>')
    steps.append(
        f'<send retrans="500"><![CDATA[\n{request("BYE", infos + 2, to="[last_To:]")}\n]]></send>'
    )
    steps.append('<recv response="200" crlf="true"/>')
    body = "\n".join(steps)
    return f'<?xml version="1.0" encoding="ISO-8859-1" ?>\n<scenario name="tr87-lync">\n{body}\n</scenario>\n'


# -- one step ----------------------------------------------------------------------------
def run_step(
    sipp: str,
    scenario_file: Path,
    port: int,
    transport: str,
    rate: int,
    seconds: float,
    workdir: Path,
    pin: list[str],
) -> dict[str, Any]:
    calls = max(1, int(rate * seconds))
    stat_file = workdir / f"stat-{transport}-{rate}-{time.monotonic_ns()}.csv"
    args = [
        *pin,
        sipp,
        f"127.0.0.1:{port}",
        "-sf",
        str(scenario_file),
        "-t",
        "u1" if transport == "udp" else "t1",
        "-i",
        "127.0.0.1",
        "-p",
        str(free_port()),
        "-r",
        str(rate),
        "-rp",
        "1000",
        "-m",
        str(calls),
        "-l",
        str(max(200, rate * 2)),
        "-recv_timeout",
        "5000",
        "-timeout",
        f"{int(seconds * 4 + 30)}s",
        "-timeout_error",
        "-nostdin",
        "-trace_stat",
        "-stf",
        str(stat_file),
        "-fd",
        "1",
        "-max_recv_loops",
        "10000",
        "-max_sched_loops",
        "10000",
    ]
    started = time.monotonic()
    proc = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True
    )
    try:
        _, err = proc.communicate(timeout=seconds * 4 + 60)
    finally:
        stop(proc)
    wall = time.monotonic() - started
    rows = list(csv.DictReader(stat_file.open(), delimiter=";")) if stat_file.exists() else []
    last = rows[-1] if rows else {}

    def number(name: str) -> int:
        try:
            return int(float(last.get(name, "0") or 0))
        except ValueError:
            return 0

    elapsed = wall  # SIPp's ElapsedTime has whole seconds only
    ok = number("SuccessfulCall(C)")
    failed = number("FailedCall(C)") + max(0, calls - ok - number("FailedCall(C)"))
    achieved = ok / elapsed if elapsed else 0.0
    return {
        "offered_calls_per_s": rate,
        "calls": calls,
        "successful": ok,
        "failed": failed,
        "retransmissions": number("Retransmissions(C)"),
        "elapsed_s": round(elapsed, 3),
        "calls_per_s": round(achieved, 1),
        "sipp_exit": proc.returncode,
        "sipp_stderr": (err or "").strip()[-300:],
    }


def step_up(
    name: str,
    sipp: str,
    scenario_file: Path,
    port: int,
    transport: str,
    args: argparse.Namespace,
    workdir: Path,
    pin: list[str],
) -> dict[str, Any]:
    steps: list[dict[str, Any]] = []
    best: dict[str, Any] | None = None

    def attempt(rate: int) -> bool:
        nonlocal best
        step = run_step(sipp, scenario_file, port, transport, rate, args.seconds, workdir, pin)
        step["clean"] = (
            step["failed"] == 0
            and step["retransmissions"] == 0
            and step["calls_per_s"] >= 0.9 * rate
        )
        steps.append(step)
        print(
            f"  {name:8} {transport}: offered {rate:>6} calls/s -> {step['calls_per_s']:>8.1f} calls/s, "
            f"failed {step['failed']}, retransmissions {step['retransmissions']}"
            f"{'' if step['clean'] else '  (not clean)'}",
            flush=True,
        )
        if step["clean"] and (best is None or step["calls_per_s"] > best["calls_per_s"]):
            best = step
        time.sleep(0.5)
        return bool(step["clean"])

    rate, low, high = args.start_rate, 0, 0
    for _ in range(args.max_steps):  # double until a step is not clean
        if not attempt(rate):
            high = rate
            break
        low, rate = rate, rate * 2
    for _ in range(args.refine if high else 0):  # then bisect between the last clean and it
        middle = (low + high) // 2
        if middle <= low:
            break
        if attempt(middle):
            low = middle
        else:
            high = middle
    transactions = (args.infos + 2) * best["calls_per_s"] if best else 0.0
    return {
        "steps": steps,
        "best_clean_calls_per_s": best["calls_per_s"] if best else 0.0,
        "transactions_per_s": round(transactions, 1),
        "limited_by_max_steps": high == 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--infos", type=int, default=5, help="INFOs per dialog [5]")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of one step [5]")
    parser.add_argument("--start-rate", type=int, default=25, help="first offered call rate [25]")
    parser.add_argument(
        "--max-steps", type=int, default=10, help="at most this many doublings [10]"
    )
    parser.add_argument(
        "--refine", type=int, default=3, help="bisection steps after the first unclean step [3]"
    )
    parser.add_argument(
        "--no-install", action="store_true", help="do not apt-get install missing tools"
    )
    parser.add_argument("--no-pin", action="store_true", help="do not pin the servers to CPU 0")
    args = parser.parse_args()
    tools = ensure_tools(not args.no_install)

    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    taskset = shutil.which("taskset")
    pin_server = (
        [taskset, "-c", str(cpus[0])] if (taskset and len(cpus) >= 2 and not args.no_pin) else []
    )
    pin_load = [taskset, "-c", ",".join(map(str, cpus[1:]))] if pin_server else []

    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-tr87-") as tmp:
        workdir = Path(tmp)
        scenario_file = workdir / "tr87.xml"
        scenario_file.write_text(scenario(args.infos))
        ours = kamailio = None
        try:
            ours, our_port = start_ours(pin_server)
            kamailio, kamailio_port = start_kamailio(tools["kamailio"], workdir, pin_server)
            for transport in ("udp", "tcp"):
                print(f"{transport.upper()}:", flush=True)
                results[transport] = {
                    "kamailio": step_up(
                        "kamailio",
                        tools["sipp"],
                        scenario_file,
                        kamailio_port,
                        transport,
                        args,
                        workdir,
                        pin_load,
                    ),
                    "ours": step_up(
                        "ours",
                        tools["sipp"],
                        scenario_file,
                        our_port,
                        transport,
                        args,
                        workdir,
                        pin_load,
                    ),
                }
        finally:
            stop(kamailio, group=True)
            stop(ours)
        server_stats = ours.stdout.read().strip() if ours and ours.stdout else ""

    rows = []
    for transport, pair in results.items():
        reference = pair["kamailio"]["transactions_per_s"]
        mine = pair["ours"]["transactions_per_s"]
        pair["ratio"] = round(mine / reference, 3) if reference else None
        pair["target_met"] = bool(pair["ratio"] is not None and pair["ratio"] >= TARGET_RATIO)
        rows.append((transport.upper(), reference, mine, pair["ratio"]))
    data = {
        "benchmark": "tr87",
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "command": " ".join([".venv/bin/python", "bench/tr87/run.py", *sys.argv[1:]]),
        "scenario": {
            "per_call": f"INVITE/200/ACK, {args.infos} x INFO RequestSystemStatus/200, BYE/200",
            "transactions_per_call": args.infos + 2,
            "step_seconds": args.seconds,
            "clean": "0 failed calls, 0 retransmissions, >= 90 % of the offered call rate",
            "sipp_transport": {"udp": "u1", "tcp": "t1 (one connection)"},
        },
        "target_ratio": TARGET_RATIO,
        "results": results,
        "server_stats": server_stats,
        "environment": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "pinning": {
                "servers": " ".join(pin_server) or "none",
                "sipp": " ".join(pin_load) or "none",
            },
            "sipp": version([tools["sipp"], "-v"]),
            "kamailio": version([tools["kamailio"], "-v"]),
            "kamailio_workers": "children=1, tcp_children=1",
        },
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"tr87-{datetime.date.today():%Y-%m-%d}.json"
    path.write_text(json.dumps(data, indent=2) + "\n")
    print()
    print("| transport | Kamailio transactions/s | ours transactions/s | ratio |")
    print("|---|---|---|---|")
    for transport, reference, mine, ratio in rows:
        print(
            f"| {transport} | {reference:,.0f} | {mine:,.0f} | {ratio if ratio is not None else '-'} |"
        )
    print(f"\nwritten {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
