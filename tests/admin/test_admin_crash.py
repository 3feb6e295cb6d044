"""Exchange data that survives anything (the exchange data is saved atomically, so a
restart loses nothing): a child process saves two versions of the exchange data in turn with
``DataDirectory.save`` and is killed with SIGKILL at random moments; after each kill the file
is the old or the new valid data, never a torn one. Bounded: a few kills, each child saves a
bounded number of times, every child killed by PID in a finally."""

from __future__ import annotations

import os
import random
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import attrs

from cstaserver.config import DataDirectory, demo_exchange_data, to_json

KILLS = 8
TIMEOUT = 20.0

CHILD = """
import sys, attrs
from cstaserver.config import DataDirectory, from_json
directory = DataDirectory(sys.argv[1])
versions = [from_json(open(p, "rb").read()) for p in sys.argv[2:4]]
print("ready", flush=True)
for i in range(100000):
    directory.save(versions[i % 2])
"""


def test_kill_during_saves_leaves_old_or_new(tmp_path: Path) -> None:
    first = demo_exchange_data()
    servers = [attrs.evolve(s, port=s.port + 1000) for s in first.csta_servers]
    second = attrs.evolve(first, csta_servers=servers)
    texts = {to_json(first), to_json(second)}
    for name, data in (("a.json", first), ("b.json", second)):
        (tmp_path / name).write_text(to_json(data))
    directory = DataDirectory(tmp_path / "data")
    directory.save(first)
    rng = random.Random(1234)
    for _ in range(KILLS):
        child = subprocess.Popen(
            [
                sys.executable,
                "-c",
                CHILD,
                str(directory.path),
                *(str(tmp_path / n) for n in ("a.json", "b.json")),
            ],
            stdout=subprocess.PIPE,
        )
        try:
            ready, _, _ = select.select([child.stdout], [], [], TIMEOUT)
            assert ready and child.stdout.readline() == b"ready\n"
            time.sleep(rng.uniform(0.0, 0.05))
        finally:
            if child.poll() is None:
                os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=TIMEOUT)
            child.stdout.close()
        assert child.returncode == -signal.SIGKILL  # killed in the middle, not finished
        text = directory.exchange_file.read_text()
        assert text in texts
        assert to_json(directory.load()) == text
