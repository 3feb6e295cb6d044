"""SOAP benchmark (not a test): ``wrk`` POSTing SOAP 1.1 MakeCall/ClearCall
envelopes with HTTP Basic to the real SOAP endpoint and, side by side in the same run, to a
bare ``twisted.web`` reference (``soap_ref.py``: lxml parse, canned envelope).

    .venv/bin/python bench/soap_load.py [--seconds 10] [--connections 20] [--threads 2]

- Ours: ``bench/full_server.py`` - the composed server, whose web port is the site of
  ``cstaserver.app.web.make_web_site`` (SOAP at ``/csta``, Basic checked against the
  web accounts: demo ``csta_user`` / ``csta``), on 10,000 generated extensions.
- The request mix (a Lua script for wrk, written to a temporary directory): every answer
  carrying a ``callID`` (a MakeCallResponse) queues a ClearCall for that call and device;
  each new request takes a queued ClearCall if there is one, else a MakeCall on the thread's
  next pair of extensions (``--pairs`` pairs per wrk thread, cycled). So about half the
  requests are MakeCall and half ClearCall, every MakeCall does the switch's real work, and
  calls never pile up: at most about one call per connection is alive, far fewer than the
  pairs, so a pair's previous call is always gone when its turn comes again. The
  reference gets the same stream (its MakeCallResponse carries a fresh callID). Requests
  carry no ``sessionID`` header, so on our server they share the login's association
  (docs/soap.md); no monitors, no events.
- Each server gets a 2 s warm-up run, then ``--seconds`` measured with ``wrk --latency``;
  req/s and latency percentiles are wrk's; non-2xx answers (SOAP Faults) are counted.
- Pinning: servers on the first CPU (taskset), wrk on the others. Both servers are stopped
  by PID in a ``finally``.

Target: ours >= 60 % of the reference's req/s. Writes ``bench/results/soap-<date>.json``.
Needs ``wrk`` (Debian package ``wrk``): installed with apt-get when missing unless
``--no-install``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import clients  # noqa: E402
import common  # noqa: E402

TARGET_RATIO = 0.60

LUA = r"""
-- bench/soap_load.py: MakeCall on a pair, then ClearCall of the call its answer names
local ED3 = "http://www.ecma-international.org/standards/ecma-323/csta/ed3"
local SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
local next_thread = 0
local threads = {}

function setup(thread)
  thread:set("tid", next_thread)
  next_thread = next_thread + 1
  table.insert(threads, thread)
end

function init(args)
  pairs_per_thread = tonumber(args[1])
  first = tonumber(args[2])
  counter = 0
  queue = {}
  makecalls = 0
  clearcalls = 0
  faults = 0
  headers = {
    ["Content-Type"] = "text/xml; charset=utf-8",
    ["SOAPAction"] = '""',
    ["Authorization"] = "Basic Y3N0YV91c2VyOmNzdGE=",
  }
end

local function envelope(inner)
  return '<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="' .. SOAP ..
    '"><soap:Body>' .. inner .. '</soap:Body></soap:Envelope>'
end

function request()
  local item = table.remove(queue)
  if item then
    clearcalls = clearcalls + 1
    return wrk.format("POST", "/csta", headers, envelope(
      '<ClearCall xmlns="' .. ED3 .. '"><callToBeCleared><callID>' .. item[1] ..
      '</callID><deviceID>' .. item[2] .. '</deviceID></callToBeCleared></ClearCall>'))
  end
  local a = first + 2 * (tid * pairs_per_thread + counter % pairs_per_thread)
  counter = counter + 1
  makecalls = makecalls + 1
  return wrk.format("POST", "/csta", headers, envelope(
    '<MakeCall xmlns="' .. ED3 .. '"><callingDevice>' .. a ..
    '</callingDevice><calledDirectoryNumber>' .. (a + 1) ..
    '</calledDirectoryNumber></MakeCall>'))
end

function response(status, hdrs, body)
  if status ~= 200 then
    faults = faults + 1
    return
  end
  local call = string.match(body, "<[%w_:]*callID>([^<]+)<")
  if call then
    local device = string.match(body, "<[%w_:]*deviceID>([^<]+)<")
    table.insert(queue, {call, device})
  end
end

function done(summary, latency, requests)
  local mc, cc, f = 0, 0, 0
  for _, t in ipairs(threads) do
    mc = mc + t:get("makecalls")
    cc = cc + t:get("clearcalls")
    f = f + t:get("faults")
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "bytes": %d, "connect_errors": %d, ' ..
    '"read_errors": %d, "write_errors": %d, "status_errors": %d, "timeouts": %d, ' ..
    '"makecalls_sent": %d, "clearcalls_sent": %d, "non_200": %d, "mean_ms": %.3f, ' ..
    '"p50_ms": %.3f, "p90_ms": %.3f, "p99_ms": %.3f, "p99_9_ms": %.3f, "max_ms": %.3f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, mc, cc, f, latency.mean / 1000, latency:percentile(50) / 1000,
    latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000, latency.max / 1000))
end
"""


def ensure_wrk(install: bool) -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if not install or shutil.which("apt-get") is None:
        sys.exit("soap_load: wrk is not installed (Debian: apt-get install -y wrk)")
    for command in (["apt-get", "install", "-y", "wrk"], ["apt-get", "update"]):
        subprocess.run(command, check=False, capture_output=True, timeout=600)
        if command[1] == "update":
            subprocess.run(
                ["apt-get", "install", "-y", "wrk"], check=False, capture_output=True, timeout=600
            )
        found = shutil.which("wrk")
        if found:
            return found
    sys.exit("soap_load: could not install wrk with apt-get")


def run_wrk(
    wrk: str,
    script: Path,
    port: int,
    args: argparse.Namespace,
    seconds: float,
    first: int,
    load_cpus: str | None,
) -> dict[str, Any]:
    command = [
        wrk,
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(script),
        f"http://127.0.0.1:{port}/csta",
        "--",
        str(args.pairs),
        str(first),
    ]
    if load_cpus and shutil.which("taskset"):
        command = ["taskset", "-c", load_cpus, *command]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    for line in done.stdout.splitlines():
        if line.startswith("WRKJSON "):
            result = json.loads(line[8:])
            result["req_per_s"] = result["requests"] / (result["duration_us"] / 1e6)
            result["stdout"] = done.stdout
            return result
    raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout}\n{done.stderr}")


def run(args: argparse.Namespace) -> dict[str, Any]:
    wrk = ensure_wrk(not args.no_install)
    prefix, load_cpus = common.cpu_plan()
    runs: dict[str, Any] = {}
    ref = None
    with tempfile.TemporaryDirectory() as tmp, clients.FullServer(args.extensions, prefix) as ours:
        script = Path(tmp) / "soap.lua"
        script.write_text(LUA)
        try:
            ref = common.start_process(prefix + [common.PYTHON, str(common.HERE / "soap_ref.py")])
            ports = {"reference": common.read_port(ref), "ours": ours.ports["web"]}
            first = common.FIRST_EXTENSION
            for name in ("reference", "ours"):
                print(f"wrk against {name} ...", file=sys.stderr)
                run_wrk(wrk, script, ports[name], args, args.warmup, first, load_cpus)
                # the measured run uses other pairs than the warm-up's
                span = 2 * args.threads * args.pairs
                runs[name] = run_wrk(
                    wrk, script, ports[name], args, args.seconds, first + span, load_cpus
                )
            runs["ours_server_after"] = ours.stats()
        finally:
            common.stop_process(ref)
    ratio = runs["ours"]["req_per_s"] / runs["reference"]["req_per_s"]
    return {
        "command": " ".join(sys.argv),
        "environment": common.environment(),
        "wrk": subprocess.run([wrk, "--version"], capture_output=True, text=True).stdout.split(
            "\n"
        )[0],
        "pinning": {"server_prefix": prefix, "load_cpus": load_cpus},
        "threads": args.threads,
        "connections": args.connections,
        "pairs_per_thread": args.pairs,
        "ratio_ours_reference": ratio,
        "target_ratio": TARGET_RATIO,
        "targets": {"soap_ratio_ge_0.60": ratio >= TARGET_RATIO},
        "runs": runs,
    }


def report(data: dict[str, Any]) -> str:
    rows = []
    for name in ("reference", "ours"):
        r = data["runs"][name]
        rows.append(
            [
                name,
                r["req_per_s"],
                r["p50_ms"],
                r["p90_ms"],
                r["p99_ms"],
                r["p99_9_ms"],
                f"{r['makecalls_sent']}/{r['clearcalls_sent']}",
                r["non_200"] + r["timeouts"] + r["read_errors"] + r["connect_errors"],
            ]
        )
    headers = [
        "server",
        "req/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "p99.9 ms",
        "MakeCall/ClearCall",
        "errors",
    ]
    verdict = "met" if data["targets"]["soap_ratio_ge_0.60"] else "MISSED"
    return (
        common.markdown_table(headers, rows)
        + f"\n\nratio ours/reference (req/s): {data['ratio_ours_reference']:.2f} "
        f"(target >= {TARGET_RATIO:.2f}: {verdict})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--pairs", type=int, default=1000, help="extension pairs per wrk thread")
    parser.add_argument("--extensions", type=int, default=10_000)
    parser.add_argument("--no-install", action="store_true")
    parser.add_argument("--no-write", action="store_true", help="do not write results JSON")
    args = parser.parse_args()
    if 4 * args.threads * args.pairs > args.extensions:
        sys.exit("soap_load: --threads x --pairs x 4 must not exceed --extensions")
    data = run(args)
    print()
    print(report(data))
    if not args.no_write:
        path = common.write_results("soap", data)
        print(f"results: {path.relative_to(common.REPO)}")


if __name__ == "__main__":
    main()
