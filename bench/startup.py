"""Start-up time (not a test): ``twistd -n --pidfile= csta --data <dir>`` with every port 0
(admin shell off) until its ``csta: started`` log line, on a fresh data directory (the demo
exchange and a self-signed certificate are created) and on the same directory again (warm).

    .venv/bin/python bench/startup.py [--runs 3] [--timeout 60]

Each run is bounded by ``--timeout`` and the server is stopped by its PID (SIGTERM, then
SIGKILL) in a ``finally``; the time is from ``Popen`` to the line read on twistd's stdout.
Target: < 2 s (fresh and warm; a start-up that answers in under two seconds is what an
operator restarting it expects - our own target, no published figure). Writes
``bench/results/startup-<date>.json``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

TARGET_S = 2.0
TWISTD = str(Path(common.PYTHON).with_name("twistd"))
PORTS = ["--xml-port", "0", "--tls-port", "0", "--sip-port", "0", "--web-port", "0"]
PORTS += ["--admin-port", "0", "--admin-ssh-port", "0"]


def start_once(data: Path, timeout: float) -> dict[str, Any]:
    """Seconds until ``csta: started``; the server is stopped by its PID afterwards."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(common.REPO) + os.pathsep + env.get("PYTHONPATH", "")
    start = time.monotonic()
    proc = subprocess.Popen(
        [TWISTD, "-n", "--pidfile=", "csta", "--data", str(data), *PORTS],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        cwd=str(common.REPO),
        env=env,
        text=True,
        bufsize=1,
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        os.set_blocking(proc.stdout.fileno(), True)
        deadline = start + timeout
        while time.monotonic() < deadline:
            line = proc.stdout.readline()  # twistd logs steadily until started
            if not line:
                break
            lines.append(line.rstrip())
            if "csta: started" in line:
                return {"seconds": time.monotonic() - start, "log_lines": len(lines)}
        raise RuntimeError("no 'csta: started' line:\n" + "\n".join(lines[-20:]))
    finally:
        common.stop_process(proc)


def run(args: argparse.Namespace) -> dict[str, Any]:
    fresh: list[float] = []
    warm: list[float] = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="csta-startup-") as tmp:
            data = Path(tmp) / "data"
            fresh.append(start_once(data, args.timeout)["seconds"])
            warm.append(start_once(data, args.timeout)["seconds"])
    result = {
        "command": " ".join(sys.argv),
        "environment": common.environment(),
        "runs": args.runs,
        "fresh_s": fresh,
        "warm_s": warm,
        "fresh_median_s": statistics.median(fresh),
        "warm_median_s": statistics.median(warm),
        "target_s": TARGET_S,
    }
    result["targets"] = {
        "fresh_lt_2s": result["fresh_median_s"] < TARGET_S,
        "warm_lt_2s": result["warm_median_s"] < TARGET_S,
    }
    return result


def report(data: dict[str, Any]) -> str:
    rows = [
        [
            kind,
            data[f"{kind}_median_s"],
            min(data[f"{kind}_s"]),
            max(data[f"{kind}_s"]),
            "met" if data["targets"][f"{kind}_lt_2s"] else "MISSED",
        ]
        for kind in ("fresh", "warm")
    ]
    return common.markdown_table(["start-up", "median s", "min s", "max s", "< 2 s"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--no-write", action="store_true", help="do not write results JSON")
    args = parser.parse_args()
    data = run(args)
    print()
    print(report(data))
    if not args.no_write:
        path = common.write_results("startup", data)
        print(f"results: {path.relative_to(common.REPO)}")


if __name__ == "__main__":
    main()
