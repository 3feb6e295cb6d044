"""Interactive values through a pseudo-terminal (docs/admin.md: "-i, -c without option
values ask for each value interactively, with the current value as the default, as an I/O
terminal would"). The console script runs in a child process whose stdin/stdout are a pty;
every read is bounded and the child is killed by PID in a finally."""

from __future__ import annotations

import fcntl
import os
import select
import signal
import subprocess
import sys
import termios
import time
from pathlib import Path

from cstaserver.config import AuthMode, DataDirectory, LineReplacement, ServerType, ensure_demo
from cstaserver.config.passwords import verify_password

TIMEOUT = 20.0


def _controlling_tty() -> None:
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class PtyChild:
    def __init__(self, program: str, argv: list[str]) -> None:
        self.master, slave = os.openpty()
        code = (
            "import sys; from cstaserver.admin.commands import console_main; "
            f"sys.exit(console_main({program!r}, sys.argv[1:]))"
        )
        self.process = subprocess.Popen(
            [sys.executable, "-c", code, *argv],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
            preexec_fn=_controlling_tty,
            close_fds=True,
        )
        os.close(slave)
        self.output = b""

    def expect(self, text: str) -> str:
        deadline = time.monotonic() + TIMEOUT
        while text.encode() not in self.output:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{text!r} not seen; got {self.output!r}")
            ready, _, _ = select.select([self.master], [], [], min(remaining, 0.5))
            if ready:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"{text!r} not seen before EOF; got {self.output!r}")
                self.output += chunk
        return self.output.decode("utf-8", "replace")

    def answer(self, prompt: str, text: str) -> None:
        self.expect(prompt)
        self.output = self.output[self.output.index(prompt.encode()) + len(prompt) :]
        os.write(self.master, text.encode() + b"\r")

    def wait(self) -> int:
        return self.process.wait(timeout=TIMEOUT)

    def close(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=TIMEOUT)
        os.close(self.master)


def test_csta_initiate_prompts_with_current_values(tmp_path: Path) -> None:
    ensure_demo(tmp_path)
    child = PtyChild("csta", ["-i", "--data", str(tmp_path)])
    try:
        child.answer("server type (xml|tr87) [xml]: ", "")
        child.answer("LIM [1]: ", "")
        child.answer("XML port [8882]: ", "9000")
        child.answer("TLS port (or none) [8883]: ", "none")
        child.answer("web port (or none) [8080]: ", "")
        child.answer("authentication (off|optional|mandatory) [optional]: ", "mandatory")
        child.answer("system status on connect (yes|no) [no]: ", "yes")
        child.expect("CSTA server xml on LIM 1: port 9000, TLS port none, web port 8080")
        assert child.wait() == 0
    finally:
        child.close()
    server = DataDirectory(tmp_path).load().csta_server(1, ServerType.XML)
    assert (server.port, server.tls_port, server.web_port) == (9000, None, 8080)
    assert server.authentication is AuthMode.MANDATORY
    assert server.system_status_on_connect is True


def test_csta_initiate_of_a_tr87_server_prompts_for_its_sip_settings(tmp_path: Path) -> None:
    ensure_demo(tmp_path)
    child = PtyChild("csta", ["-i", "--data", str(tmp_path)])
    try:
        child.answer("server type (xml|tr87) [xml]: ", "tr87")
        child.answer("LIM [2]: ", "")
        child.answer("SIP port [5062]: ", "")
        child.answer("TLS port (or none) [none]: ", "")
        child.answer("authentication (off|optional|mandatory) [optional]: ", "")
        child.answer("system status on connect (yes|no) [no]: ", "")
        child.answer(
            "a new INVITE replaces the line's dialog (off|same-peer|any) [same-peer]: ", "off"
        )
        child.answer("serve out-of-dialog INFO (yes|no) [no]: ", "yes")
        child.answer("Session-Expires, s (or none) [1800]: ", "600")
        child.expect("line replacement off, out-of-dialog INFO yes, Session-Expires 600 s")
        assert child.wait() == 0
    finally:
        child.close()
    server = DataDirectory(tmp_path).load().csta_server(2, ServerType.TR87)
    assert (server.line_replacement, server.out_of_dialog_info) == (LineReplacement.OFF, True)
    assert server.session_expires == 600


def test_criteria_change_prompts_and_hides_the_password(tmp_path: Path) -> None:
    ensure_demo(tmp_path)
    child = PtyChild("csta_authentication", ["-c", "--data", str(tmp_path)])
    try:
        child.answer("application ID [demo]: ", "")
        child.answer("user (empty: none) [csta_user]: ", "")
        child.answer("password for csta_user (empty: keep): ", "n3wpass")
        child.answer("max session duration, s (0: none) [0]: ", "3600")
        text = child.expect("saved")
        assert "n3wpass" not in text  # not echoed
        assert child.wait() == 0
    finally:
        child.close()
    criteria = DataDirectory(tmp_path).load().authentication.application("demo")
    assert criteria.max_duration == 3600
    assert verify_password("n3wpass", criteria.users[0].password_hash)


def test_bad_answer_is_one_line_and_changes_nothing(tmp_path: Path) -> None:
    ensure_demo(tmp_path)
    before = DataDirectory(tmp_path).exchange_file.read_bytes()
    child = PtyChild("csta", ["-i", "--data", str(tmp_path)])
    try:
        child.answer("server type (xml|tr87) [xml]: ", "tr87")
        child.answer("LIM [2]: ", "")
        child.answer("SIP port [5062]: ", "not-a-port")
        child.answer("TLS port (or none) [none]: ", "")
        child.answer("authentication (off|optional|mandatory) [optional]: ", "")
        child.answer("system status on connect (yes|no) [no]: ", "")
        child.answer(
            "a new INVITE replaces the line's dialog (off|same-peer|any) [same-peer]: ", ""
        )
        child.answer("serve out-of-dialog INFO (yes|no) [no]: ", "")
        child.answer("Session-Expires, s (or none) [1800]: ", "")
        child.expect("csta: argument --port: 'not-a-port' is not a port number")
        assert child.wait() == 2
    finally:
        child.close()
    assert DataDirectory(tmp_path).exchange_file.read_bytes() == before
