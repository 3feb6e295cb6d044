"""The admin shell behind the distribution's REAL telnet and ssh clients, each in a pty
(docs/admin.md, "Keys" and "Without a terminal"): Ctrl-C drops the line or cancels a question,
Ctrl-D logs out, ssh exec and piped sessions exit with the last command's status, unknown
``sim`` controls get the usage line, no screen clearing or terminal reset and one prompt,
``--password`` masked on the screen and in the history, and a telnet client that negotiates
nothing is answered in plain lines."""

from __future__ import annotations

from pathlib import Path

from twisted.internet import reactor as global_reactor
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.logger import LogLevel, formatEvent, globalLogPublisher
from twisted.trial import unittest

from cstaserver.config import DataDirectory
from tests.admin.admin_harness import ADMIN as DEMO_ADMIN
from tests.admin.admin_harness import Server, TerminalClient, demo_data, settle
from tests.admin.real_clients import (
    CTRL_C,
    CTRL_D,
    NO_SSH,
    NO_TELNET,
    SSH,
    TELNET,
    UP,
    ClientProcess,
    client_environment,
    spawn,
    ssh_argv,
    ssh_login,
    ssh_run,
    telnet_argv,
    telnet_login,
)

PROMPT = "mxone> "
CLEAR_SCREEN = b"\x1b[2J"
RESET = b"\x1bc"


class _ShellCase(unittest.TestCase):
    def setUp(self) -> None:
        self.data = Path(self.mktemp())
        demo_data(self.data)
        self.server = Server(self, self.data, shell=True)
        self.home = Path(self.mktemp()).absolute()
        self.events: list[dict] = []
        globalLogPublisher.addObserver(self.events.append)
        self.addCleanup(globalLogPublisher.removeObserver, self.events.append)

    async def assert_logged_nothing_bad(self) -> None:
        """No error or critical line in the server's log (a logout is not an error)."""
        await settle(0.2)
        bad = [
            formatEvent(e)
            for e in self.events
            if e.get("log_level", LogLevel.info) >= LogLevel.error
        ]
        assert bad == []

    async def login(self) -> ClientProcess:
        raise NotImplementedError

    async def command(self, client: ClientProcess, line: str) -> str:
        mark = client.send(line + "\r")
        text = await client.expect(PROMPT, mark + len(line))
        return text[: text.rindex(PROMPT)]

    # -- items shared by telnet and ssh ------------------------------------------------------
    async def check_ctrl_c_drops_the_line(self) -> None:
        client = await self.login()
        client.send("xyz partial")
        await client.expect("xyz partial")
        mark = client.send(CTRL_C)
        await client.expect("^C\n" + PROMPT, mark)
        out = await self.command(client, "csta -p")
        assert "CSTA server: running" in out
        assert "unknown command" not in client.terminal.text
        assert "xyz" not in out

    async def check_ctrl_c_cancels_a_question(self) -> None:
        client = await self.login()
        mark = client.send("csta_authentication -i\r")
        await client.expect("application ID [demo]: ", mark)
        mark = client.send(CTRL_C)
        out = await client.expect(PROMPT, mark)
        assert "csta_authentication: cancelled" in out
        assert "Traceback" not in out and "internal error" not in out
        out = await self.command(client, "csta_authentication -p")
        assert "demo" in out  # nothing changed, the shell goes on

    async def check_ctrl_d_logs_out(self) -> int | None:
        client = await self.login()
        client.send("half")
        await client.expect("half")
        mark = client.send(CTRL_D)  # not an empty line: the bell, nothing else
        client.send("\x7f" * 4)
        out = await self.command(client, "help")
        assert "sim traffic RATE SECONDS" in out
        assert not client.ended.called
        mark = client.send("python\r")
        await client.expect(">>> ", mark)
        mark = client.send(CTRL_D)  # leaves the manhole only
        await client.expect(PROMPT, mark)
        mark = client.send(CTRL_D)  # logs out
        status = await client.wait()
        assert "bye" in client.terminal.text[mark:]
        assert RESET not in client.raw
        await self.assert_logged_nothing_bad()
        return status

    async def check_unknown_sim_control(self) -> None:
        client = await self.login()
        out = await self.command(client, "sim foo 1001")
        assert "sim: unknown control 'foo'; usage: sim call|" in out
        assert "internal error" not in out
        out = await self.command(client, "sim")
        assert "usage: sim call|" in out

    async def check_one_prompt_no_clearing(self) -> None:
        client = await self.login()
        await self.command(client, "help")
        assert client.terminal.text.count(PROMPT) == 2  # after login, after help
        assert CLEAR_SCREEN not in client.raw and RESET not in client.raw
        mark = client.send("quit\r")
        await client.wait()
        assert "bye" in client.terminal.text[mark:]
        assert RESET not in client.raw and CLEAR_SCREEN not in client.raw
        await self.assert_logged_nothing_bad()

    async def check_password_masked(self) -> None:
        client = await self.login()
        line = "csta_authentication -c --application demo --user bob --password s3cr3tX"
        out = await self.command(client, line)
        assert "users csta_user, bob" in out
        assert "s3cr3tX" not in client.terminal.text
        assert "--password *******" in client.terminal.text  # one * per character
        mark = client.send(UP)  # the history keeps the line with the password masked
        await client.expect("--password ***", mark)
        assert "s3cr3tX" not in client.terminal.text
        client.send("\x15")  # Ctrl-U: clear the line
        mark = client.send("csta_authentication -c --application demo --user carol --password\r")
        await client.expect("password: ", mark)
        mark = client.send("n0tSh0wn\r")
        out = await client.expect(PROMPT, mark)
        assert "carol" in out and "n0tSh0wn" not in client.terminal.text
        criteria = DataDirectory(self.data).load().authentication.application("demo")
        assert criteria is not None
        assert {u.user for u in criteria.users} >= {"bob", "carol"}


class TelnetClientTests(_ShellCase):
    """The distribution's telnet client (inetutils) in a pty."""

    if TELNET is None:
        skip = NO_TELNET

    async def login(self) -> ClientProcess:
        return await telnet_login(self, self.server.settings.admin_port, self.home)

    async def test_ctrl_c_drops_the_line(self) -> None:
        await self.check_ctrl_c_drops_the_line()

    async def test_ctrl_c_cancels_a_question(self) -> None:
        await self.check_ctrl_c_cancels_a_question()

    async def test_ctrl_d_logs_out(self) -> None:
        await self.check_ctrl_d_logs_out()

    async def test_unknown_sim_control(self) -> None:
        await self.check_unknown_sim_control()

    async def test_one_prompt_no_clearing(self) -> None:
        await self.check_one_prompt_no_clearing()

    async def test_password_masked(self) -> None:
        await self.check_password_masked()

    async def test_login_prompts_ctrl_c_starts_again_ctrl_d_leaves(self) -> None:
        port = self.server.settings.admin_port
        client = spawn(self, telnet_argv(port), client_environment(self.home), pty=True)
        await client.expect("Username: ")
        client.send("adm")
        mark = client.send(CTRL_C)
        await client.expect("Username: ", mark)
        mark = client.send(DEMO_ADMIN[0] + "\r")
        await client.expect("Password: ", mark)
        client.send("half")
        mark = client.send(CTRL_C)  # the password typed so far is dropped
        await client.expect("Username: ", mark)
        mark = client.send(DEMO_ADMIN[0] + "\r")
        await client.expect("Password: ", mark)
        mark = client.send(DEMO_ADMIN[1] + "\r")
        await client.expect(PROMPT, mark)
        mark = client.send("quit\r")
        await client.wait()
        other = spawn(self, telnet_argv(port), client_environment(self.home), pty=True)
        await other.expect("Username: ")
        other.send(CTRL_D)
        await other.wait()
        assert "Connection closed by foreign host" in other.terminal.text
        await self.assert_logged_nothing_bad()


class SshClientTests(_ShellCase):
    """OpenSSH's ssh: ``-tt`` in a pty, an exec request, and ``-T`` with piped input."""

    if SSH is None:
        skip = NO_SSH

    async def login(self) -> ClientProcess:
        return await ssh_login(self, self.server.settings.admin_ssh_port, self.home)

    async def test_ctrl_c_drops_the_line(self) -> None:
        await self.check_ctrl_c_drops_the_line()

    async def test_ctrl_c_cancels_a_question(self) -> None:
        await self.check_ctrl_c_cancels_a_question()

    async def test_ctrl_d_logs_out(self) -> None:
        status = await self.check_ctrl_d_logs_out()
        assert status == 0  # python and Ctrl-D: nothing failed

    async def test_unknown_sim_control(self) -> None:
        await self.check_unknown_sim_control()

    async def test_one_prompt_no_clearing(self) -> None:
        await self.check_one_prompt_no_clearing()

    async def test_password_masked(self) -> None:
        await self.check_password_masked()

    async def test_exec_runs_the_command_with_its_status(self) -> None:
        port = self.server.settings.admin_ssh_port
        status, out = await ssh_run(self, port, self.home, "csta", "-p")
        assert status == 0
        assert out.startswith("CSTA server: running\n")
        assert "\r" not in out and "\x1b" not in out and PROMPT not in out
        status, out = await ssh_run(self, port, self.home, "sim", "foo")
        assert status == 2
        assert out.startswith("sim: unknown control 'foo'; usage: sim call|")
        status, out = await ssh_run(self, port, self.home, "frobnicate")
        assert (status, out) == (2, "unknown command 'frobnicate' (help lists the commands)\n")
        await self.assert_logged_nothing_bad()

    async def test_exec_answers_questions_from_stdin(self) -> None:
        port = self.server.settings.admin_ssh_port
        answers = b"crm\nbob\nt0pS3cret\n\n"
        status, out = await ssh_run(
            self, port, self.home, "csta_authentication", "-i", stdin=answers
        )
        assert status == 0, out
        assert "application crm: users bob" in out
        criteria = DataDirectory(self.data).load().authentication.application("crm")
        assert criteria is not None and [u.user for u in criteria.users] == ["bob"]

    async def test_exec_with_a_terminal_asks_and_echoes(self) -> None:
        port = self.server.settings.admin_ssh_port
        argv = [*ssh_argv(port, "-tt"), "csta_authentication", "-i"]
        client = spawn(self, argv, client_environment(self.home), pty=True)
        await client.expect("application ID [demo]: ")
        for answer, next_question in (
            ("crm", "user (empty: none): "),
            ("dave", "password for dave: "),
            ("hiddenPw1", "max session duration"),
        ):
            mark = client.send(answer + "\r")
            await client.expect(next_question, mark)
        client.send("\r")
        status = await client.wait()
        assert status == 0
        text = client.terminal.text
        assert "crm\n" in text and "dave\n" in text  # typed answers echoed
        assert "hiddenPw1" not in text  # the password not
        assert "application crm: users dave" in text
        await self.assert_logged_nothing_bad()

    async def test_exec_with_a_terminal_ctrl_c_cancels(self) -> None:
        port = self.server.settings.admin_ssh_port
        argv = [*ssh_argv(port, "-tt"), "csta_authentication", "-i"]
        client = spawn(self, argv, client_environment(self.home), pty=True)
        await client.expect("application ID [demo]: ")
        client.send("cr")
        await client.expect("cr")
        mark = client.send(CTRL_C)
        await client.expect("csta_authentication: cancelled", mark)
        assert await client.wait() == 2
        criteria = DataDirectory(self.data).load().authentication
        assert [c.application_id for c in criteria.applications] == ["demo"]
        await self.assert_logged_nothing_bad()

    async def test_piped_session_runs_each_line(self) -> None:
        port = self.server.settings.admin_ssh_port
        lines = b"sim call 1001 1002\nexchange print 1002\nsim hangup 1001\n"
        status, out = await ssh_run(self, port, self.home, stdin=lines)
        assert status == 0
        assert out.splitlines()[0] == "call 1: 1001 calls 1002"
        assert "alerting" in out and "1001: hangup (call 1)" in out
        assert PROMPT not in out and "\x1b" not in out
        status, out = await ssh_run(self, port, self.home, stdin=b"csta -p\nsim foo\n")
        assert status == 2  # the last command's
        assert "CSTA server: running" in out and "sim: unknown control 'foo'" in out
        status, out = await ssh_run(self, port, self.home, stdin=b"sim foo\ncsta -p")
        assert status == 0  # a last line without its newline runs too
        status, out = await ssh_run(self, port, self.home, stdin=b"sim foo\nquit\nhelp\n")
        assert status == 2 and out.endswith("bye\n")  # quit: the status so far, no more lines
        await self.assert_logged_nothing_bad()


class NonNegotiatingTelnetTests(unittest.TestCase):
    """A raw TCP client (``nc``, a script) that answers no telnet option."""

    def setUp(self) -> None:
        self.data = Path(self.mktemp())
        demo_data(self.data)
        self.server = Server(self, self.data, shell=True)
        self.events: list[dict] = []
        globalLogPublisher.addObserver(self.events.append)
        self.addCleanup(globalLogPublisher.removeObserver, self.events.append)

    async def connect(self) -> TerminalClient:
        client = TerminalClient()
        port = self.server.settings.admin_port
        await connectProtocol(TCP4ClientEndpoint(global_reactor, "127.0.0.1", port), client)

        async def close() -> None:
            if not client.closed.called:
                client.transport.loseConnection()
                await client.closed

        self.addCleanup(close)
        return client

    async def test_plain_lines(self) -> None:
        client = await self.connect()
        await client.expect("Username: ")
        mark = client.send(f"{DEMO_ADMIN[0]}\r\n")
        await client.expect("Password: ", mark)
        mark = client.send(f"{DEMO_ADMIN[1]}\r\n")
        await client.expect("logged in as admin", mark)
        await client.expect(PROMPT, mark)
        mark = client.send("csta -p\r\n")
        out = await client.expect(PROMPT, mark)
        assert "CSTA server: running" in out
        assert "csta -p" not in out  # no echo
        assert b"\x1b" not in client.buffer  # no escape sequences
        mark = client.send("sim foo\r\nquit\r\n")
        await client.expect("bye\n", mark)
        await client.closed
        assert "sim: unknown control 'foo'" in client.text[mark:]
        assert client.text.endswith("bye\n")

    async def test_typed_ahead(self) -> None:
        """Everything in one go, as ``printf ... | nc`` sends it."""
        client = await self.connect()
        await client.expect("Username: ")
        user, password = DEMO_ADMIN
        client.send(f"{user}\r\n{password}\r\nexchange print 1001\r\nquit\r\n")
        await client.expect("bye\n")
        await client.closed
        assert "number:" in client.text and "1001" in client.text
        assert client.text.endswith("bye\n")
        await settle(0.2)
        bad = [
            formatEvent(e)
            for e in self.events
            if e.get("log_level", LogLevel.info) >= LogLevel.warn
        ]
        assert bad == []  # no "Unhandled error in Deferred", no Twisted state warnings
