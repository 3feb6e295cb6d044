"""Telnet for the admin shell (docs/admin.md, "Keys"; RFC 854 NVT, RFC 857 ECHO, RFC 858
SGA, RFC 1073 NAWS).

- :class:`KeyTelnetTransport`: the telnet commands a client sends for a key (RFC 854 IP,
  BRK, and RFC 1184's EOF, SUSP and ABORT that a client in line mode sends for Ctrl-D, Ctrl-Z
  and Ctrl-\\) reach the shell as the key itself (Ctrl-C, Ctrl-D); Twisted's transport would
  drop IP and fail on EOF.
- :class:`NegotiatingLogin`: the login prompts (Ctrl-C starts again, Ctrl-D leaves); every
  option negotiation has an answer
  handler (a refusal or a closed connection is nothing to log), waits at most
  :data:`NEGOTIATION_TIMEOUT` for the client, and a client that has not answered the
  ``WILL ECHO`` of the password prompt by the time it sends the password is taken for one
  that negotiates nothing (``nc``, a script): it gets the plain line shell.
- :class:`ShellBootstrap`: after login, character-at-a-time with the server echoing (WILL
  ECHO, WILL SGA) and the window size (DO NAWS), without asking for LINEMODE.
- :class:`PlainTelnet`: the plain line shell (:class:`~.lineshell.LineShell`) on telnet.
"""

from __future__ import annotations

from typing import Any

import attrs
from twisted.conch import telnet
from twisted.cred import credentials
from twisted.logger import Logger

log = Logger()

#: How long the login waits for the client to answer a negotiation.
NEGOTIATION_TIMEOUT = 2.0

_IAC = 255
_WILL_WONT_DO_DONT = frozenset(range(251, 255))
#: Telnet commands standing for a key, and the key the shell gets.
_COMMAND_KEYS = {
    244: b"\x03",  # IP, interrupt process: Ctrl-C
    243: b"\x03",  # BRK
    238: b"\x03",  # ABORT (RFC 1184)
    236: b"\x04",  # EOF (RFC 1184): Ctrl-D
    237: b"",  # SUSP (RFC 1184): nothing to suspend
}


def _ignore(failure: Any) -> None:
    """A negotiation refused, already under way, timed out or cut by the connection's end:
    nothing to do (the shell works without the option)."""
    return None


class KeyTelnetTransport(telnet.TelnetTransport):
    """A ``TelnetTransport`` on which the key commands arrive as keys."""

    _after_iac = False
    _option_follows = False

    def dataReceived(self, data: bytes) -> None:  # noqa: N802 (Twisted hook)
        if _IAC not in data and not (self._after_iac or self._option_follows):
            super().dataReceived(data)
            return
        result = bytearray()
        for byte in data:
            if self._option_follows:
                self._option_follows = False
                result.append(byte)
            elif self._after_iac:
                self._after_iac = False
                if byte in _COMMAND_KEYS:
                    result += _COMMAND_KEYS[byte]
                    continue
                result += bytes((_IAC, byte))
                self._option_follows = byte in _WILL_WONT_DO_DONT
            elif byte == _IAC:
                self._after_iac = True
            else:
                result.append(byte)
        super().dataReceived(bytes(result))


@attrs.frozen
class TelnetMind:
    """What the login learned of the client: whether it negotiates (has a terminal)."""

    terminal: bool


class NegotiatingLogin(telnet.AuthenticatingTelnetProtocol):
    """``Username:``/``Password:`` with bounded, quiet negotiation (see the module)."""

    def __init__(self, portal: Any, clock: Any = None) -> None:
        super().__init__(portal)
        if clock is None:
            from twisted.internet import reactor as clock
        self.clock = clock

    def dataReceived(self, data: bytes) -> None:  # noqa: N802 (Twisted hook)
        """At the login prompts Ctrl-C starts the login again and Ctrl-D leaves."""
        if self.state in ("User", "Password"):
            if b"\x04" in data:
                self.transport.write(b"\r\n")
                self.transport.loseConnection()
                return
            if b"\x03" in data:
                data = data.rsplit(b"\x03", 1)[1]
                self.clearLineBuffer()
                if self.state == "Password":
                    del self.username
                    if self.transport.getOptionState(telnet.ECHO).us.state == "yes":
                        self.transport.wont(telnet.ECHO).addErrback(_ignore)
                self.state = "User"
                # after the answer to the DO TIMING-MARK that usually comes with an IP: the
                # client drops what it receives before that answer (RFC 860)
                self.clock.callLater(0, self._prompt_again)
        super().dataReceived(data)

    def _prompt_again(self) -> None:
        if self.transport is not None and not self.transport.disconnecting:
            self.transport.write(b"\r\nUsername: ")

    def telnet_User(self, line: bytes) -> str:  # noqa: N802 (Twisted hook)
        self.username = line
        state = self.transport.getOptionState(telnet.ECHO)
        if not (state.us.negotiating or state.us.state == "yes"):
            self.transport.will(telnet.ECHO).addErrback(_ignore)  # the password is not echoed
        self.transport.write(b"Password: ")
        return "Password"

    def telnet_Password(self, line: bytes) -> str | None:  # noqa: N802 (Twisted hook)
        username, password = self.username, line
        del self.username
        state = self.transport.getOptionState(telnet.ECHO)
        mind = TelnetMind(terminal=not state.us.negotiating)

        def login(_: object) -> None:
            if self.transport is None or self.transport.disconnecting:
                return
            creds = credentials.UsernamePassword(username, password)
            d = self.portal.login(creds, mind, telnet.ITelnetProtocol)
            d.addCallback(self._cbLogin)
            d.addErrback(self._ebLogin)

        self.state = "Pending"  # until the login is done; lines typed ahead are kept
        self._typed_ahead: list[bytes] = []
        if mind.terminal and state.us.state == "yes":
            echo_off = self.transport.wont(telnet.ECHO)
            echo_off.addTimeout(NEGOTIATION_TIMEOUT, self.clock)
            echo_off.addErrback(_ignore)
            echo_off.addCallback(login)
        else:
            login(None)
        return None

    def telnet_Pending(self, line: bytes) -> None:  # noqa: N802 (Twisted hook)
        """A line that came while the password is checked (off the reactor): kept for the
        shell."""
        self._typed_ahead.append(line)

    def _cbLogin(self, ial: Any) -> None:  # noqa: N802 (Twisted hook)
        super()._cbLogin(ial)
        lines, self._typed_ahead = self._typed_ahead, []
        for line in lines:
            self.telnet_Command(line)

    def telnet_Command(self, line: bytes) -> None:  # noqa: N802 (Twisted hook)
        """Lines that came with the password (a client that types ahead): the shell's."""
        if self.protocol is not None:
            self.protocol.dataReceived(line + b"\n")

    def _ebLogin(self, failure: Any) -> None:  # noqa: N802 (Twisted hook)
        if self.transport is not None and not self.transport.disconnecting:
            super()._ebLogin(failure)


class ShellBootstrap(telnet.TelnetBootstrapProtocol):
    """The terminal of a telnet session (see the module)."""

    def connectionMade(self) -> None:  # noqa: N802 (Twisted hook)
        transport = self.transport
        transport.negotiationMap[telnet.NAWS] = self.telnet_NAWS
        transport.do(telnet.NAWS).addErrback(_ignore)
        for option in (telnet.ECHO, telnet.SGA):  # both: a client types character by character
            if transport.getOptionState(option).us.state != "yes":
                transport.will(option).addErrback(_ignore)
        self.protocol = self.protocolFactory(*self.protocolArgs, **self.protocolKwArgs)
        self.protocol.makeConnection(self)

    def enableRemote(self, option: bytes) -> bool:  # noqa: N802 (Twisted hook)
        return option in (telnet.NAWS, telnet.SGA)

    def write(self, data: bytes) -> None:
        """The terminal's CR LF once on the wire (the telnet transport makes LF a CR LF)."""
        self.transport.write(data.replace(b"\r\n", b"\n"))

    def telnet_NAWS(self, data: Any) -> None:  # noqa: N802 (Twisted hook)
        if len(data) == 4:
            super().telnet_NAWS(data)


class PlainTelnet(telnet.TelnetProtocol):
    """The plain line shell on a telnet connection (the transport sends each LF as CR LF,
    RFC 854)."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell

    def makeConnection(self, transport: Any) -> None:  # noqa: N802 (Twisted hook)
        super().makeConnection(transport)
        self.shell.makeConnection(transport)

    def dataReceived(self, data: bytes) -> None:  # noqa: N802 (Twisted hook)
        self.shell.dataReceived(data)

    def connectionLost(self, reason: Any) -> None:  # noqa: N802 (Twisted hook)
        self.shell.connectionLost(reason)


__all__ = [
    "KeyTelnetTransport",
    "NegotiatingLogin",
    "PlainTelnet",
    "ShellBootstrap",
    "TelnetMind",
]
