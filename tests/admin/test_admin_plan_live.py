"""The numbering-plan commands against the running server over its control channel
(docs/admin.md, "Your own exchange"): each change is saved and the switch sees it at once -
a new extension can be called, a removed one cannot, a new group takes calls, a new agent ID
logs on, trunk rules and timers apply to the next call, a new admin password logs in (also
changed with ``passwd`` in the shell). Refusals (a call up, an agent logged on, wrong input)
are one line, exit status 2, nothing saved and the switch unchanged."""

from __future__ import annotations

import sys
from pathlib import Path

from twisted.conch.telnet import TelnetTransport
from twisted.internet import reactor as global_reactor
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial import unittest

from cstaserver.config import DataDirectory
from cstaserver.config.passwords import verify_password
from cstaserver.pbx.errors import Refusal, SwitchError
from cstaserver.pbx.states import RequestedAgentState
from tests.admin.admin_harness import ADMIN, Server, TelnetClient, demo_data, settle

PROMPT = "mxone> "


class LivePlanTests(unittest.TestCase):
    def setUp(self) -> None:
        self.data = Path(self.mktemp())
        demo_data(self.data)
        self.server = Server(self, self.data)
        self.switch = self.server.runtime.switch

    def stored(self) -> bytes:
        return DataDirectory(self.data).exchange_file.read_bytes()

    async def ok(self, program: str, *argv: str) -> str:
        status, out, err = await self.server.command(program, *argv)
        assert (status, err) == (0, ""), err
        assert out.endswith("saved, applied now\n") or "-p" in argv, out
        return out

    async def refused(self, program: str, *argv: str) -> str:
        before, exchange = self.stored(), self.server.runtime.exchange
        status, out, err = await self.server.command(program, *argv)
        assert (status, out) == (2, "") and err.count("\n") == 1, err
        assert err.startswith(f"{program}: ")
        assert self.stored() == before and self.server.runtime.exchange is exchange
        return err

    def states(self, call_id: str) -> dict[str, str]:
        return {device: state.value for device, state in self.switch.snapshot_call(call_id)}

    async def test_a_new_extension_can_be_called_and_a_removed_one_cannot(self) -> None:
        with self.assertRaises(SwitchError):
            self.switch.make_call("1001", "1950")
        await self.ok("extension", "-i", "-d", "1950", "--kind", "sip", "--name", "Lab")
        call_id, _ = self.switch.make_call("1001", "1950")
        assert self.states(call_id) == {"1001": "connected", "1950": "alerting"}
        err = await self.refused("extension", "-e", "-d", "1950")
        assert err == f"extension: 1950 has a call up (call {call_id})\n"
        assert self.switch.device("1950").name == "Lab"
        self.switch.clear_call(call_id)
        await self.ok("extension", "-c", "-d", "1950", "--name", "Lab 2")
        assert self.switch.device("1950").name == "Lab 2"
        await self.ok("extension", "-e", "-d", "1950")
        with self.assertRaises(SwitchError) as refused:
            self.switch.make_call("1001", "1950")
        assert refused.exception.reason is Refusal.BAD_CALLED_NUMBER
        assert all(e.number != "1950" for e in DataDirectory(self.data).load().plan.extensions)

    async def test_a_new_group_takes_calls_and_is_kept_while_it_has_one(self) -> None:
        await self.ok("group", "-i", "-d", "2950", "--type", "hunt", "--members", "1003,1004")
        call_id, _ = self.switch.make_call("1001", "2950")
        assert self.states(call_id) == {"1001": "connected", "1003": "alerting"}
        err = await self.refused("group", "-e", "-d", "2950")
        assert "group 2950 has calls in progress" in err
        self.switch.clear_call(call_id)
        await self.ok("group", "-c", "-d", "2950", "--remove-member", "1003")
        call_id, _ = self.switch.make_call("1001", "2950")
        assert self.states(call_id) == {"1001": "connected", "1004": "alerting"}
        self.switch.clear_call(call_id)
        await self.ok("group", "-e", "-d", "2950")
        with self.assertRaises(SwitchError):
            self.switch.make_call("1001", "2950")

    async def test_a_new_agent_logs_on_and_a_logged_on_agent_is_kept(self) -> None:
        await self.ok("agent", "-i", "--group", "2000", "--agent", "5100", "--pin", "2468")
        with self.assertRaises(SwitchError):
            self.switch.set_agent_state("1002", RequestedAgentState.LOGGED_ON, "5100", "1111")
        self.switch.set_agent_state("1002", RequestedAgentState.LOGGED_ON, "5100", "2468")
        out = await self.ok("agent", "-p", "--group", "2000")
        assert "5100   2000   yes  1002" in out
        err = await self.refused("agent", "-e", "--agent", "5100")
        assert "agent 5100 is logged on at 1002 in group 2000; log the agent off first" in err
        self.switch.set_agent_state("1002", RequestedAgentState.LOGGED_OFF, "5100")
        await self.ok("agent", "-c", "--agent", "5100", "--pin", "none")
        self.switch.set_agent_state("1003", RequestedAgentState.LOGGED_ON, "5100")  # no PIN now
        self.switch.set_agent_state("1003", RequestedAgentState.LOGGED_OFF, "5100")
        await self.ok("agent", "-e", "--agent", "5100")
        with self.assertRaises(SwitchError):
            self.switch.set_agent_state("1002", RequestedAgentState.LOGGED_ON, "5100")

    async def test_trunk_rules_and_timers_apply_to_the_next_call(self) -> None:
        await self.ok("trunk", "-c", "--trunk-count", "0")
        call_id, _ = self.switch.make_call("1001", "0123456")
        assert self.states(call_id)["1001"] == "fail"  # no trunk free any more
        self.switch.clear_call(call_id)
        await self.ok("timer", "-c", "--alerting-timeout", "25")
        assert self.switch.plan.alerting_timeout == 25.0
        assert self.server.runtime.exchange.plan.alerting_timeout == 25.0
        await self.refused("timer", "-c", "--alerting-timeout", "0")
        await self.refused("trunk", "-c", "--trunk-device", "1001")

    async def test_a_new_lim_takes_extensions(self) -> None:
        await self.ok("lim", "-i", "--lim", "3", "--name", "Gothenburg")
        await self.ok("extension", "-i", "-d", "1960", "--kind", "dect", "--lim", "3")
        assert self.switch.device("1960").lim == 3
        call_id, _ = self.switch.make_call("1001", "1960")
        assert self.states(call_id) == {"1001": "connected", "1960": "alerting"}
        self.switch.clear_call(call_id)
        await self.refused("lim", "-e", "--lim", "3")

    async def test_bad_input_changes_nothing_live(self) -> None:
        await self.refused("extension", "-i", "-d", "1001", "--kind", "ip")
        await self.refused("extension", "-e", "-d", "1003")  # a member of group 2000
        await self.refused("group", "-i", "-d", "2950", "--type", "hunt", "--members", "9999")
        await self.refused("agent", "-i", "--group", "2000", "--agent", "5001")
        await self.refused("csta_admin_password", "-e", "--user", "admin")

    async def test_admin_password_applies_to_the_next_login(self) -> None:
        await self.ok("csta_admin_password", "-i", "--user", "ops", "--password", "0ps-pass")
        accounts = {a.user: a for a in self.server.runtime.admin_accounts()}
        assert verify_password("0ps-pass", accounts["ops"].password_hash)

    async def test_console_scripts_reach_the_running_server(self) -> None:
        """``extension``, ``group`` ... as console scripts (setup.cfg): the same entry points,
        in a child process, applied live over the control channel."""
        await settle()
        for name, argv in [
            ("extension_main", ["-i", "-d", "1960", "--kind", "ip"]),
            ("group_main", ["-i", "-d", "2960", "--type", "hunt", "--members", "1960"]),
        ]:
            code = f"from cstaserver.admin.commands import {name}; {name}()"
            out, err, status = await getProcessOutputAndValue(
                sys.executable, ["-c", code, *argv, "--data", str(self.data)], env=None, path="."
            )
            assert (status, err) == (0, b""), err
            assert out.endswith(b"saved, applied now\n"), out
        call_id, _ = self.switch.make_call("1001", "2960")
        assert self.states(call_id) == {"1001": "connected", "1960": "alerting"}
        self.switch.clear_call(call_id)


def test_every_console_script_is_a_command() -> None:
    """setup.cfg's console scripts name the entry points of every administrator's command."""
    import configparser

    from cstaserver.admin import commands, parsing

    config = configparser.ConfigParser()
    config.read(Path(__file__).resolve().parents[2] / "setup.cfg")
    scripts = {}
    for line in config["options.entry_points"]["console_scripts"].strip().splitlines():
        name, _, target = (part.strip() for part in line.partition("="))
        scripts[name] = target
    for program in parsing.PROGRAMS:
        assert scripts[program] == f"cstaserver.admin.commands:{program}_main"
        assert callable(getattr(commands, f"{program}_main"))


class ShellPasswordTests(unittest.TestCase):
    def setUp(self) -> None:
        self.data = Path(self.mktemp())
        demo_data(self.data)
        self.server = Server(self, self.data, shell=True)

    async def login(self, user: str, password: str) -> TelnetClient:
        client = TelnetClient()
        endpoint = TCP4ClientEndpoint(global_reactor, "127.0.0.1", self.server.settings.admin_port)
        await connectProtocol(endpoint, TelnetTransport(lambda: client))
        self.addCleanup(self._close, client)
        await client.expect("Username: ")
        mark = client.send(f"{user}\n")
        await client.expect("Password: ", mark)
        client.send(f"{password}\n")
        return client

    def _close(self, client: TelnetClient):
        if not client.closed.called:
            client.transport.loseConnection()
        return client.closed

    async def passwd(self, client: TelnetClient, first: str, second: str) -> str:
        mark = client.send("passwd\r")
        await client.expect("new password for admin: ", mark)
        mark = client.send(f"{first}\r")
        await client.expect("the same password again: ", mark)
        mark = client.send(f"{second}\r")
        return await client.expect(PROMPT, mark)

    async def test_passwd_asks_twice_without_echo_and_the_new_password_logs_in(self) -> None:
        client = await self.login(*ADMIN)
        await client.expect(PROMPT)
        out = await self.passwd(client, "Sh3ll-pass", "Sh3ll-pass")
        assert "admin login admin: password changed, saved, applied now" in out
        assert "Sh3ll-pass" not in client.text  # never echoed
        out = await self.passwd(client, "one", "two")
        assert "csta_admin_password: the two passwords differ; nothing changed" in out
        account = DataDirectory(self.data).load().admin_accounts[0]
        assert verify_password("Sh3ll-pass", account.password_hash)
        again = await self.login("admin", "Sh3ll-pass")
        await again.expect(PROMPT)
        assert "logged in as admin" in again.text
