"""The admin shell's line handling without a network (docs/admin.md, "Keys" and "Without a
terminal"): secrets masked, the terminal shell's keys, the plain line shell's order, answers
and exit status, and telnet key commands turned into keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from twisted.conch import telnet
from twisted.internet import defer
from twisted.internet.testing import StringTransport

from cstaserver.admin.commandline import ShellCommands, ask_secrets, in_secret, masked
from cstaserver.admin.lineshell import MAX_LINE, LineShell
from cstaserver.admin.output import CommandError
from cstaserver.admin.shell import AdminShell, ShellRuntime, TerminalProtocol
from cstaserver.admin.simcommands import SimControls
from cstaserver.admin.telnetshell import KeyTelnetTransport


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ("csta_authentication -c --user bob --password s3cret", "--user bob --password ***"),
        ("x --password=s3cret --max-duration 5", "x --password=*** --max-duration 5"),
        ('x --password "two words" -p', "x --password *** -p"),
        ("csta -p", "csta -p"),
    ],
)
def test_masked(line: str, shown: str) -> None:
    assert masked(line).endswith(shown)
    assert "s3cret" not in masked(line) and "two words" not in masked(line)


def test_in_secret() -> None:
    assert in_secret("x --password ")
    assert in_secret("x --password ab")
    assert in_secret("x --password=ab")
    assert not in_secret("x --password ab ")
    assert not in_secret("x --passwords")
    assert not in_secret("csta -p ")


class Answers:
    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.asked: list[tuple[str, bool]] = []

    def ask(self, question: str, default: str, secret: bool = False) -> defer.Deferred:
        self.asked.append((question, secret))
        return defer.succeed(self.answers.pop(0))


def test_ask_secrets_fills_an_omitted_password() -> None:
    prompter = Answers("hidden")
    words = ["-c", "--user", "bob", "--password", "--max-duration", "5"]
    result = defer.Deferred.fromCoroutine(ask_secrets(words, prompter))
    assert result.result == ["-c", "--user", "bob", "--password", "hidden", "--max-duration", "5"]
    assert prompter.asked == [("password", True)]
    given = ["--password", "given"]
    assert defer.Deferred.fromCoroutine(ask_secrets(given, Answers())).result == given
    empty = defer.Deferred.fromCoroutine(ask_secrets(["--password"], Answers("")))
    assert isinstance(empty.result.value, CommandError)
    empty.addErrback(lambda _: None)


# -- the terminal shell's keys ---------------------------------------------------------------


def runtime(tmp_path: Path) -> ShellRuntime:
    return ShellRuntime(
        target=None,
        switch=None,
        sim=SimControls(simulator=None),
        core=None,
        clock=None,
        data_path=tmp_path,
    )


def terminal_shell(tmp_path: Path) -> tuple[TerminalProtocol, AdminShell, StringTransport]:
    transport = StringTransport()
    terminal = TerminalProtocol(AdminShell, runtime(tmp_path), "admin")
    terminal.makeConnection(transport)
    return terminal, terminal.terminalProtocol, transport


def test_login_writes_one_prompt_and_no_clearing(tmp_path: Path) -> None:
    terminal, shell, transport = terminal_shell(tmp_path)
    shell.terminalSize(120, 40)  # a client announcing its window (NAWS, pty-req)
    written = transport.value()
    assert written.count(b"mxone> ") == 1
    assert b"\x1b[2J" not in written and b"\x1bc" not in written


def test_ctrl_c_drops_the_line(tmp_path: Path) -> None:
    terminal, shell, transport = terminal_shell(tmp_path)
    terminal.dataReceived(b"xyz partial\x03")
    assert shell.lineBuffer == []
    assert transport.value().endswith(b"^C\r\nmxone> ")
    terminal.dataReceived(b"sim foo\r")
    assert b"sim: unknown control 'foo'" in transport.value()
    assert shell.historyLines == [b"sim foo"]


def test_ctrl_c_and_ctrl_d_cancel_a_question(tmp_path: Path) -> None:
    terminal, shell, transport = terminal_shell(tmp_path)
    for key in (b"\x03", b"\x04"):
        answer = shell.ask("application ID", "demo")
        terminal.dataReceived(b"cr" if key == b"\x03" else b"")
        terminal.dataReceived(key)
        assert isinstance(answer.result.value, CommandError)
        assert str(answer.result.value) == "cancelled"
        answer.addErrback(lambda _: None)
        assert shell._answer is None


def test_ctrl_d_logs_out_on_an_empty_line_only(tmp_path: Path) -> None:
    terminal, shell, transport = terminal_shell(tmp_path)
    terminal.dataReceived(b"abc\x04")
    assert not transport.disconnecting
    assert transport.value().endswith(b"\a")
    terminal.dataReceived(b"\x15\x04")  # Ctrl-U clears the line, then Ctrl-D
    assert transport.disconnecting
    assert transport.value().endswith(b"bye\r\n")
    assert b"\x1bc" not in transport.value()  # the terminal is not reset


def test_password_echoed_as_stars_and_masked_in_the_history(tmp_path: Path) -> None:
    terminal, shell, transport = terminal_shell(tmp_path)
    terminal.dataReceived(b"frob --password abc")
    assert transport.value().endswith(b"frob --password ***")
    terminal.dataReceived(b"\r")
    assert shell.historyLines == [b"frob --password ***"]
    assert b"abc" not in transport.value()


# -- the plain line shell --------------------------------------------------------------------


class FakeCommands(ShellCommands):
    """Records each line; ``ask`` asks a question; ``fail`` exits 2; ``quit`` logs out."""

    def __init__(self) -> None:
        super().__init__(runtime=None, user="admin")
        self.ran: list[str] = []

    async def execute(
        self, text: str, out: Any, prompter: Any, session: Any, help_text: str
    ) -> int:
        self.ran.append(text)
        if text == "ask":  # as commands.run does: a CommandError is one line, status 2
            try:
                answer = await prompter.ask("name", "x")
            except CommandError as e:
                out.error(f"ask: {e}\n")
                return 2
            out.write(f"answer {answer}\n")
        elif text == "quit":
            out.write("bye\n")
            session.quit()
        out.write(f"ran {text}\n")
        return 2 if text == "fail" else 0


def line_shell(**kw: Any) -> tuple[LineShell, FakeCommands, StringTransport, list[int]]:
    commands = FakeCommands()
    exits: list[int] = []
    shell = LineShell(commands, "help", on_exit=exits.append, **kw)
    transport = StringTransport()
    shell.makeConnection(transport)
    return shell, commands, transport, exits


def test_lines_in_order_and_the_last_status() -> None:
    shell, commands, transport, exits = line_shell()
    shell.dataReceived(b"one\r\nfa")
    shell.dataReceived(b"il\nask\nbob\nthree")
    assert commands.ran == ["one", "fail", "ask"]
    assert exits == []
    shell.end_of_input()
    assert commands.ran == ["one", "fail", "ask", "three"]
    assert transport.value() == b"ran one\nran fail\nname [x]: answer bob\nran ask\nran three\n"
    assert exits == [0]


def test_end_of_input_after_a_failure() -> None:
    shell, commands, transport, exits = line_shell()
    shell.dataReceived(b"fail\n")
    shell.end_of_input()
    assert exits == [2]


def test_quit_ends_with_the_status_so_far() -> None:
    shell, commands, transport, exits = line_shell()
    shell.dataReceived(b"fail\nquit\nnever\n")
    assert commands.ran == ["fail", "quit"]
    assert exits == [2]


def test_a_question_at_the_end_of_input() -> None:
    shell, commands, transport, exits = line_shell()
    shell.dataReceived(b"ask")
    shell.end_of_input()
    assert commands.ran == ["ask"]
    assert transport.value() == b"ask: no answer (end of input)\n"  # not even asked
    assert exits == [2]


def test_once_runs_one_line() -> None:
    shell, commands, transport, exits = line_shell(newline=b"\r\n")
    shell.run_once("fail")
    assert exits == [2]
    assert transport.value() == b"ran fail\r\n"
    shell.dataReceived(b"more\n")
    assert commands.ran == ["fail"]


def test_overlong_line_dropped() -> None:
    shell, commands, transport, exits = line_shell()
    shell.dataReceived(b"x" * (MAX_LINE + 1))
    shell.dataReceived(b"y" * 10 + b"\nok\n")
    assert commands.ran == ["ok"]
    assert transport.value().startswith(f"line longer than {MAX_LINE} bytes".encode())


def test_interactive_has_banner_and_prompt() -> None:
    shell, commands, transport, exits = line_shell(prompt=b"mxone> ", banner="hello\n")
    shell.dataReceived(b"one\n")
    assert transport.value() == b"hello\nmxone> ran one\nmxone> "


# -- telnet key commands ---------------------------------------------------------------------


class Collect(telnet.TelnetProtocol):
    def __init__(self) -> None:
        self.data = b""

    def dataReceived(self, data: bytes) -> None:
        self.data += data


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        ([b"ab\xff\xf4cd"], b"ab\x03cd"),  # IAC IP: Ctrl-C
        ([b"x\xff", b"\xecy"], b"x\x04y"),  # IAC EOF split between reads: Ctrl-D
        ([b"a\xff\xffb"], b"a\xffb"),  # an escaped 0xff stays data
        ([b"\xff\xfb", b"\xec", b"z"], b"z"),  # IAC WILL <option 236>: a negotiation
        ([b"q\xff\xedr\xff\xeer"], b"qr\x03r"),  # SUSP: nothing; ABORT: Ctrl-C
    ],
)
def test_telnet_key_commands(chunks: list[bytes], expected: bytes) -> None:
    collected = Collect()
    transport = KeyTelnetTransport(lambda: collected)
    transport.makeConnection(StringTransport())
    for chunk in chunks:
        transport.dataReceived(chunk)
    assert collected.data == expected


def test_keyboard_input_cr_lines_echoed_secret_not() -> None:
    shell, commands, transport, exits = line_shell(newline=b"\r\n", keyboard=True)
    shell.dataReceived(b"one\r")
    shell.dataReceived(b"\ntwo\r\n")  # a CR LF pair split between reads counts once
    assert commands.ran == ["one", "two"]
    assert transport.value() == b"one\r\nran one\r\ntwo\r\nran two\r\n"
    transport.clear()
    answer = shell.ask("password", "", secret=True)
    shell.dataReceived(b"s3cret\r")
    assert answer.result == "s3cret"
    assert transport.value() == b"password: "
    shell.dataReceived(b"three\r")
    assert transport.value().endswith(b"three\r\nran three\r\n")


def test_editing_a_password_answer_leaves_the_question_on_screen(tmp_path: Path) -> None:
    terminal, shell, transport = terminal_shell(tmp_path)
    answer = shell.ask("password for bob", "", secret=True)
    transport.clear()
    terminal.dataReceived(b"abX\x7fc\x15xyz\x7f\x7fw\r")
    assert answer.result == "xw"
    assert transport.value() == b"\r\n"  # no echo, no cursor moves into the question


def test_keyboard_ctrl_c_cancels_the_question() -> None:
    shell, commands, transport, exits = line_shell(newline=b"\r\n", keyboard=True)
    shell.run_once("ask")
    shell.dataReceived(b"par")  # keys arrive as typed
    shell.dataReceived(b"\x03")
    assert transport.value().endswith(b"name [x]: par^C\r\nask: cancelled\r\n")
    assert exits == [2]
