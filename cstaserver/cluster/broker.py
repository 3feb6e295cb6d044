"""A real redis-server started by cstaserver itself: for ``make cluster``
(:mod:`.launch`), the bus and cluster tests and the cluster benchmark. It listens on a
loopback port (a free one unless given), saves nothing to disk, and is stopped (or killed,
as a crash would) by its PID, and can be restarted on the same port. ``make test`` and
``make cluster`` install the distribution's redis-server when it is missing."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

REDIS = shutil.which("redis-server") or shutil.which("valkey-server")
WHY_MISSING = "redis-server (or valkey-server) is not installed: make test installs it"


class BrokerError(RuntimeError):
    """redis-server is missing or did not start (the message says which)."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.directory, self.port = directory, port or free_port()
        self.process: subprocess.Popen | None = None
        directory.mkdir(parents=True, exist_ok=True)

    def start(self) -> None:
        if REDIS is None:
            raise BrokerError(WHY_MISSING)
        command = [REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        command += ["--appendonly", "no", "--dir", str(self.directory), "--protected-mode", "yes"]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise BrokerError(f"redis-server did not start on 127.0.0.1:{self.port}")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def kill(self) -> None:
        """kill -9, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None
