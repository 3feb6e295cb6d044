"""The distribution's telnet and OpenSSH clients driving the admin shell, as a person would:
each in a pty of its own (``spawnProcess(usePTY=True)``), or with piped stdin for ``ssh -T``.
The password comes from the shared harness (``ADMIN`` of admin_harness) through ``SSH_ASKPASS``.
``make shell-deps`` installs the clients; without one the tests that need it are skipped.
Every process is stopped by its PID at the end of its test."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

from twisted.internet import defer, error, protocol
from twisted.internet import reactor as global_reactor

from tests.admin.admin_harness import ADMIN as DEMO_ADMIN
from tests.admin.admin_harness import TerminalClient


def _openssh(path: str | None) -> str | None:
    """``path`` if it is OpenSSH 8.4 or later (``SSH_ASKPASS_REQUIRE`` gives the password)."""
    if path is None:
        return None
    try:
        banner = subprocess.run(
            [path, "-V"], capture_output=True, text=True, timeout=10, check=False
        ).stderr
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"OpenSSH_(\d+)\.(\d+)", banner)
    if found is None or (int(found[1]), int(found[2])) < (8, 4):
        return None
    return path


TELNET = shutil.which("telnet")
SSH = _openssh(shutil.which("ssh"))
NO_TELNET = "no telnet client (make shell-deps installs the distribution's)"
NO_SSH = "no OpenSSH client 8.4 or later (make shell-deps installs openssh-client)"

CTRL_C = "\x03"
CTRL_D = "\x04"
UP = "\x1b[A"


class ClientProcess(protocol.ProcessProtocol):
    """One client process: what it prints (``terminal``: a TerminalClient), its exit."""

    def __init__(self) -> None:
        self.terminal = TerminalClient()
        self.raw = b""
        self.ended: defer.Deferred = defer.Deferred()
        self.status: int | None = None

    def outReceived(self, data: bytes) -> None:  # noqa: N802 (Twisted hook)
        self.raw += data
        self.terminal.dataReceived(data)

    errReceived = outReceived

    def processEnded(self, reason: Any) -> None:  # noqa: N802 (Twisted hook)
        self.status = getattr(reason.value, "exitCode", None)
        if not self.terminal.closed.called:
            self.terminal.connectionLost()
        self.ended.callback(self.status)

    def send(self, text: str) -> int:
        mark = len(self.terminal.text)
        self.transport.write(text.encode("utf-8"))
        return mark

    async def expect(self, pattern: str, since: int = 0) -> str:
        return await self.terminal.expect(pattern, since)

    async def wait(self, timeout: float = 10.0) -> int | None:
        """The exit status (the process is killed after ``timeout``)."""
        if not self.ended.called:
            call = global_reactor.callLater(timeout, self.kill)
            await self.ended
            if call.active():
                call.cancel()
        return self.status

    def kill(self) -> None:
        if not self.ended.called:
            try:
                self.transport.signalProcess("KILL")
            except error.ProcessExitedAlready:
                pass


def spawn(testcase: Any, argv: list[str], env: dict[str, str], *, pty: bool) -> ClientProcess:
    process = ClientProcess()
    global_reactor.spawnProcess(process, argv[0], argv, env=env, usePTY=pty)

    async def stop() -> None:
        process.kill()
        await process.ended

    testcase.addCleanup(stop)
    return process


def client_environment(home: Path) -> dict[str, str]:
    """A clean environment: its own HOME (no ~/.ssh of the user), an askpass helper that
    answers the admin password, a known terminal type."""
    home.mkdir(parents=True, exist_ok=True)
    askpass = home / "askpass"
    askpass.write_text('#!/bin/sh\nprintf "%s\\n" "$CSTA_TEST_PASSWORD"\n')
    askpass.chmod(stat.S_IRWXU)
    return {
        "HOME": str(home),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "TERM": "xterm",
        "LANG": "C.UTF-8",
        "SSH_ASKPASS": str(askpass),
        "SSH_ASKPASS_REQUIRE": "force",
        "DISPLAY": "none",
        "CSTA_TEST_PASSWORD": DEMO_ADMIN[1],
    }


def ssh_argv(port: int, *extra: str) -> list[str]:
    assert SSH is not None
    return [
        SSH,
        "-F",
        "/dev/null",
        "-p",
        str(port),
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "PubkeyAuthentication=no",
        "-o",
        "PreferredAuthentications=password",
        "-o",
        "NumberOfPasswordPrompts=1",
        "-o",
        "ConnectTimeout=10",
        "-o",
        "LogLevel=ERROR",
        *extra,
        f"{DEMO_ADMIN[0]}@127.0.0.1",
    ]


def telnet_argv(port: int) -> list[str]:
    assert TELNET is not None
    return [TELNET, "127.0.0.1", str(port)]


async def telnet_login(testcase: Any, port: int, home: Path) -> ClientProcess:
    """A telnet client in a pty, logged in to the admin shell (at the prompt)."""
    client = spawn(testcase, telnet_argv(port), client_environment(home), pty=True)
    await client.expect("Username: ")
    mark = client.send(DEMO_ADMIN[0] + "\r")
    await client.expect("Password: ", mark)
    mark = client.send(DEMO_ADMIN[1] + "\r")
    await client.expect("mxone> ", mark)
    return client


async def ssh_login(testcase: Any, port: int, home: Path) -> ClientProcess:
    """``ssh -tt`` in a pty, logged in to the admin shell (at the prompt)."""
    client = spawn(testcase, ssh_argv(port, "-tt"), client_environment(home), pty=True)
    await client.expect("mxone> ")
    return client


async def ssh_run(
    testcase: Any, port: int, home: Path, *command: str, stdin: bytes = b""
) -> tuple[int | None, str]:
    """``ssh [-T] admin@host [COMMAND]`` without a pty, ``stdin`` piped in: status, output."""
    extra = ("-T",) if not command else ()
    argv = [*ssh_argv(port, *extra), *command]
    client = spawn(testcase, argv, client_environment(home), pty=False)
    if stdin:
        client.transport.write(stdin)
    client.transport.closeStdin()
    status = await client.wait()
    return status, client.raw.decode("utf-8", "replace")
