"""The data directory (``--data``) against an operator's slips and a broken disk, with the
server started as a real process (``twistd -n csta``, stopped by its PID):

1. a typo in ``--data`` (a parent directory that does not exist) is refused with one line
   and exit status 2 and creates nothing; ``--create`` makes it;
2. a second server on the same data directory is refused with one line naming the first
   one's process ID, and the first one's data is untouched; a lock left by a killed server
   does not block the next one;
3. the console commands under a running server reach it even when the data directory's
   path is longer than a UNIX socket name allows, and refuse (one line, exit status 2,
   nothing changed) when its control socket has been deleted: an edit of the files would be
   undone by the server's next save;
4. a corrupt data file (a 5,000-digit number, a FIFO, a link to /dev/zero, a limit of 10^9)
   is refused with one line naming the file and the field, by the server and by the console
   commands alike, at once.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cstaserver.admin.control import MAX_SOCKET_PATH
from cstaserver.config import DataDirectory, demo_exchange_data

BIN = Path(sys.executable).parent
FREE_PORTS = (
    "--xml-port 0 --tls-port 0 --sip-port 0 --web-port 0 --admin-port 0 --admin-ssh-port 0"
).split()
#: Seconds a start-up or a refusal may take (a hang is the failure this guards against).
BOUND = 30.0


def twistd(data: Path, *extra: str) -> list[str]:
    return [str(BIN / "twistd"), "-n", "--pidfile=", "csta", "--data", str(data), *extra]


def refused(command: list[str]) -> subprocess.CompletedProcess[str]:
    """A command expected to end by itself, well within BOUND."""
    return subprocess.run(command, capture_output=True, text=True, timeout=BOUND, check=False)


class Server:
    """``twistd -n csta`` on ``data`` with free ports, until ``stop()`` (SIGTERM or SIGKILL by
    its PID)."""

    def __init__(self, data: Path, *extra: str) -> None:
        self.process = subprocess.Popen(
            twistd(data, *FREE_PORTS, *extra), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        self.pid = self.process.pid
        self.output = b""
        deadline = time.monotonic() + BOUND
        while b"csta: started" not in self.output:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([self.process.stdout], [], [], max(0.0, remaining))
            chunk = os.read(self.process.stdout.fileno(), 65536) if ready else b""
            if not chunk:
                self.stop(signal.SIGKILL)
                raise AssertionError(f"no start-up: {self.output.decode(errors='replace')}")
            self.output += chunk

    def stop(self, how: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            os.kill(self.pid, how)
        self.process.communicate(timeout=BOUND)


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        server.stop(signal.SIGKILL)


def one_line(text: str) -> str:
    lines = text.splitlines()
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


# -- 1 ---------------------------------------------------------------------------------------


def test_typo_in_data_is_refused_not_created(tmp_path: Path, servers: list[Server]) -> None:
    typo = tmp_path / "mxnoe" / "data"  # the parent is the typo
    result = refused(twistd(typo, *FREE_PORTS))
    assert result.returncode == 2
    assert one_line(result.stderr) == (
        f"csta: --data {typo}: {typo.parent} does not exist (a typo? --create makes the "
        "missing directories)"
    )
    assert not typo.parent.exists()
    # a file where the directory should be
    (tmp_path / "file").write_text("x")
    result = refused(twistd(tmp_path / "file", *FREE_PORTS))
    assert result.returncode == 2
    assert one_line(result.stderr).endswith("exists and is not a directory")
    # the console commands create nothing either
    result = refused([str(BIN / "csta"), "-i", "--port", "9882", "--data", str(typo)])
    assert result.returncode == 2
    assert one_line(result.stderr) == (
        f"csta: {typo}: no exchange data (start the server once, or check --data)"
    )
    result = refused([str(BIN / "mxone_certificate"), "--self-signed", "--data", str(typo)])
    assert result.returncode == 2
    assert one_line(result.stderr) == (
        f"mxone_certificate: --data {typo}: {typo.parent} does not exist"
    )
    assert not typo.parent.exists()
    # asked for: made, with the demo exchange
    server = Server(typo, "--create")
    servers.append(server)
    assert b"created the demo exchange in" in server.output
    assert DataDirectory(typo).load().plan == demo_exchange_data().plan


# -- 2 ---------------------------------------------------------------------------------------


def test_second_server_on_the_same_data_is_refused(tmp_path: Path, servers: list[Server]) -> None:
    data = tmp_path / "data"
    first = Server(data)
    servers.append(first)
    before = (data / "exchange.json").read_bytes()
    result = refused(twistd(data, *FREE_PORTS))
    assert result.returncode == 2
    assert one_line(result.stderr) == (
        f"csta: --data {data} is in use by the server with process ID {first.pid} "
        f"({data / 'server.lock'}); stop it first, or give another --data"
    )
    assert (data / "exchange.json").read_bytes() == before
    assert first.process.poll() is None
    status = refused([str(BIN / "csta"), "-p", "--data", str(data)])
    assert status.returncode == 0 and "running" in status.stdout, status.stderr
    # killed: its lock goes with it, though the file still names it
    first.stop(signal.SIGKILL)
    assert (data / "server.lock").read_text() == f"{first.pid}\n"
    second = Server(data)
    servers.append(second)
    assert (data / "server.lock").read_text() == f"{second.pid}\n"
    second.stop()  # SIGTERM: a clean stop clears it
    assert (data / "server.lock").read_text() == ""


# -- 3 ---------------------------------------------------------------------------------------


def csta(data: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return refused([str(BIN / "csta"), *argv, "--data", str(data)])


def test_console_commands_under_a_running_server(tmp_path: Path, servers: list[Server]) -> None:
    data = tmp_path / ("d" * 120) / "data"
    data.parent.mkdir()
    assert len(os.fsencode(str(data / "control.sock"))) > MAX_SOCKET_PATH
    server = Server(data)
    servers.append(server)
    changed = csta(data, "-i", "--authentication", "mandatory")
    assert changed.returncode == 0, changed.stderr
    assert "authentication mandatory" in changed.stdout and "applied now" in changed.stdout
    assert "mandatory" in csta(data, "-p").stdout  # asked of the server: it took the change
    # the socket deleted: the commands do not fall back to editing the files
    (data / "control.sock").unlink()
    before = (data / "exchange.json").read_bytes()
    for argv in (["-i", "--authentication", "off"], ["-p"]):
        result = csta(data, *argv)
        assert result.returncode == 2
        assert one_line(result.stderr) == (
            f"csta: the server with process ID {server.pid} runs on {data} but does not "
            f"answer on {data / 'control.sock'}; nothing changed (editing the files under a "
            "running server would be undone by its next save: try again, or stop the server "
            "first)"
        )
    assert (data / "exchange.json").read_bytes() == before
    # the server makes its socket again (within its check interval) and is reached
    deadline = time.monotonic() + BOUND
    while not (data / "control.sock").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    result = csta(data, "-i", "--authentication", "off")
    assert result.returncode == 0, result.stderr
    assert "applied now" in result.stdout
    assert DataDirectory(data).load().csta_servers[0].authentication.value == "off"


# -- 4 ---------------------------------------------------------------------------------------


def _with(change: str) -> bytes:
    raw = json.loads(_DEMO)
    section, *path, field = change.split(".")
    target = raw[section]
    for step in path:
        target = target[int(step)] if step.isdigit() else target[step]
    target[field] = "@VALUE@"
    return json.dumps(raw, indent=2).encode()


def _demo_file() -> bytes:
    from cstaserver.config import to_json

    return to_json(demo_exchange_data()).encode()


_DEMO = _demo_file()


def _number_of_digits(data: Path) -> None:
    (data / "exchange.json").write_bytes(
        _with("plan.lims.0.number").replace(b'"@VALUE@"', b"9" * 5000)
    )


def _huge_limit(data: Path) -> None:
    (data / "exchange.json").write_bytes(
        _with("limits.max_message_bytes").replace(b'"@VALUE@"', b"1000000000")
    )


def _fifo(data: Path) -> None:
    os.mkfifo(data / "exchange.json")


def _dev_zero(data: Path) -> None:
    (data / "exchange.json").symlink_to("/dev/zero")


def _oversized(data: Path) -> None:
    with open(data / "exchange.json", "wb") as stream:
        stream.truncate(64 * 1024 * 1024 + 1)  # sparse: no disk space used


CORRUPT = {
    "5000-digit number": (
        _number_of_digits,
        "plan.lims[0].number: a number of 5000 digits (at most 20 are read)",
    ),
    "max_message_bytes of 10^9": (
        _huge_limit,
        "limits.max_message_bytes is 1000000000, more than 1048576",
    ),
    "FIFO": (_fifo, "a FIFO (named pipe), not a regular file"),
    "link to /dev/zero": (_dev_zero, "a character device, not a regular file"),
    "over 64 MiB": (_oversized, "larger than 67108864 bytes"),
}


@pytest.mark.parametrize("case", list(CORRUPT))
def test_corrupt_data_files_are_refused_with_one_line(tmp_path: Path, case: str) -> None:
    make, problem = CORRUPT[case]
    data = tmp_path / "data"
    data.mkdir()
    make(data)
    exchange = data / "exchange.json"
    started = time.monotonic()
    result = refused(twistd(data, *FREE_PORTS))
    assert result.returncode == 1
    assert one_line(result.stderr) == f"csta: {exchange}: {problem}"
    for argv in (["-p"], ["-i", "--authentication", "off"]):
        command = csta(data, *argv)
        assert command.returncode == 2
        assert one_line(command.stderr) == f"csta: {exchange}: {problem}"
    assert time.monotonic() - started < BOUND  # no hang on the FIFO or /dev/zero
    # nothing made but the locks (the server's, and the one offline editors share)
    assert set(os.listdir(data)) - {"server.lock", ".lock"} == {"exchange.json"}
