"""docs/examples/routeing_app.py (the routeing application docs/call-centre.md shows in full)
run as a subprocess against a server on an ephemeral loopback port, so the guide cannot rot.

The test plays the outside caller and the agent: once the script has registered for group
2000 (ECMA-269 20.1.1 Route Register), ``+4685550107`` dials the group's public number; the
script routes the call (RouteRequest, RouteSelectRequest, RouteUsedRequest, RouteEndRequest);
the agent at 1001 answers and hangs up, works after the call for the group's wrap-up time
(the switch clock is advanced), is ready again, and the script exits 0. The same steps in
the admin shell give the output the guide shows."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from twisted.trial import unittest

from cstaserver.pbx import events as pbx_events
from cstaserver.pbx.states import ConnectionState
from tests.xmlproto.xml_client import LoopbackServer, World, make_world, settle

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "docs" / "examples" / "routeing_app.py"
GUIDE = ROOT / "docs" / "call-centre.md"
CALLER = "+4685550107"
DIALLED = "+4685552000"  # the public number of group 2000
AGENT = "1001"
#: Real seconds any one wait of this test may take.
BOUND = 5.0


class Script:
    """The script as a subprocess (output to files: no pipe can fill up and block it)."""

    def __init__(self, testcase: unittest.TestCase, port: int, *args: str) -> None:
        directory = Path(testcase.mktemp())
        directory.mkdir(parents=True)
        self.out, self.err = directory / "stdout", directory / "stderr"
        with self.out.open("wb") as out, self.err.open("wb") as err:
            command = [sys.executable, str(SCRIPT), "127.0.0.1", str(port), *args]
            self.process = subprocess.Popen(command, stdout=out, stderr=err, cwd=directory)

    async def until(self, condition: Callable[[], object], what: str) -> None:
        """Wait (bounded) until ``condition()``; fail early if the script has ended."""
        deadline = time.monotonic() + BOUND
        while not condition():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{what}: did not happen\n{self.err.read_text()}")
            await settle(0.01)

    async def finish(self) -> tuple[int, list[str], str]:
        deadline = time.monotonic() + BOUND
        while self.process.poll() is None and time.monotonic() < deadline:
            await settle(0.01)
        self.kill()
        code = self.process.wait()
        return code, self.out.read_text().splitlines(), self.err.read_text()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def root_of(line: str) -> str:
    """The root element of one printed message (``>> 0001  <MonitorStart xmlns=...``)."""
    match = re.search(r"^(?:>>|<<) \d{4}  (?:<\?xml[^>]*\?>)?<(\w+)", line)
    assert match, line
    return match.group(1)


def alerting_at(world: World, device: str) -> bool:
    return any(
        (device, ConnectionState.ALERTING) in world.switch.snapshot_call(call_id)
        for call_id in world.switch.calls
    )


class RouteingAppTests(unittest.TestCase):
    timeout = 20

    async def run_call_centre_case(self) -> tuple[World, list[object], list[str]]:
        """The guide's case; the world, what the switch told 1001, the lines printed."""
        world = make_world()
        at_agent: list[object] = []
        world.switch.subscribe_device(AGENT, at_agent.append)
        server = LoopbackServer(self, world.factory)
        script = Script(self, server.port_number, "1", "10")
        try:
            await script.until(lambda: world.core.routeing.registrations, "RouteRegister")
            world.sim.call(CALLER, DIALLED)
            await script.until(lambda: alerting_at(world, AGENT), "the call routed to 1001")
            world.sim.answer(AGENT)
            world.sim.hangup(AGENT)
            (group,) = [g for g in world.switch.plan.acd_groups if g.number == "2000"]
            world.clock.advance(group.wrap_up_seconds)
            code, lines, err = await script.finish()
        finally:
            script.kill()
        assert code == 0, err
        return world, at_agent, lines

    async def test_the_script_routes_the_call_to_a_free_agent_and_exits(self) -> None:
        world, at_agent, lines = await self.run_call_centre_case()
        (delivered,) = [e for e in at_agent if isinstance(e, pbx_events.Delivered)]
        assert (delivered.calling_device, delivered.called_device) == (CALLER, "2000")
        messages = [(line[:2], root_of(line)) for line in lines]
        routeing = [m for m in messages if m[1].startswith(("Route", "ReRoute", "Delivered"))]
        assert routeing == [
            (">>", "RouteRegister"),
            ("<<", "RouteRegisterResponse"),
            ("<<", "RouteRequest"),
            (">>", "RouteSelectRequest"),
            ("<<", "DeliveredEvent"),
            ("<<", "RouteUsedRequest"),
            ("<<", "RouteEndRequest"),
            (">>", "RouteRegisterCancel"),
            ("<<", "RouteRegisterCancelResponse"),
        ]
        (request,) = [line for line in lines if root_of(line) == "RouteRequest"]
        assert f"<callingDevice><deviceIdentifier>{CALLER}</deviceIdentifier>" in request
        assert "<currentRoute><deviceIdentifier>2000</deviceIdentifier>" in request
        (select,) = [line for line in lines if root_of(line) == "RouteSelectRequest"]
        assert "<routeSelected>1001</routeSelected><routeUsedReq>true</routeUsedReq>" in select
        (end,) = [line for line in lines if root_of(line) == "RouteEndRequest"]
        assert "errorValue" not in end
        (line,) = [line for line in lines if root_of(line) == "DeliveredEvent"]
        assert "<connection><callID>1</callID><deviceID>1001</deviceID></connection>" in line
        assert f"<callingDevice><deviceIdentifier>{CALLER}</deviceIdentifier>" in line
        assert "<calledDevice><deviceIdentifier>2000</deviceIdentifier>" in line
        assert f"<networkCalledDevice><deviceIdentifier>{DIALLED}</deviceIdentifier>" in line
        agent_events = [name for _, name in messages if name.startswith("Agent")]
        assert agent_events[-4:] == [
            "AgentWorkingAfterCallEvent",
            "AgentReadyEvent",
            "AgentLoggedOffEvent",
            "AgentLoggedOffEvent",
        ]
        assert world.core.routeing.registrations == {}

    async def test_guide_shows_the_script_and_its_output_verbatim(self) -> None:
        guide = GUIDE.read_text(encoding="utf-8")
        assert SCRIPT.read_text(encoding="utf-8").strip() in guide
        _, _, lines = await self.run_call_centre_case()
        for line in lines:
            assert line in guide, line

    async def test_a_refused_request_is_one_line_and_status_1(self) -> None:
        world = make_world()
        world.sim.agent(AGENT, "login", "5001")  # already logged on: SetAgentState refused
        server = LoopbackServer(self, world.factory)
        script = Script(self, server.port_number)
        try:
            code, lines, err = await script.finish()
        finally:
            script.kill()
        assert code == 1
        assert err.splitlines() == [
            "routeing_app: SetAgentState refused: stateIncompatibility/invalidDeviceState"
        ], err

    async def test_a_refused_connection_is_one_line_and_status_1(self) -> None:
        with socket.socket() as probe:  # a loopback port nobody listens on
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        script = Script(self, port)
        try:
            code, lines, err = await script.finish()
        finally:
            script.kill()
        assert (code, lines) == (1, [])
        assert err.splitlines() == [f"routeing_app: 127.0.0.1:{port}: Connection refused"]
