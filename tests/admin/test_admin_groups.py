"""``csta_group``: the call-centre settings of the groups (docs/call-centre.md) on the data
directory, with bad input refused in one line (exit status 2, nothing saved), and applied at
once to a running server."""

from __future__ import annotations

from pathlib import Path

import pytest
from twisted.trial import unittest

from cstaserver.config import DataDirectory
from cstaserver.pbx.plan import GroupRouting, RouteTimeout
from cstaserver.pbx.states import RequestedAgentState
from tests.admin.admin_harness import Server, demo_data, run, stored


def groups_of(data: Path) -> dict[str, object]:
    plan = DataDirectory(data).load().plan
    return {g.number: g for g in [*plan.acd_groups, *plan.hunt_groups, *plan.cascade_groups]}


def test_print_lists_every_group(data: Path) -> None:
    status, out, err = run("csta_group", data, "-p")
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["group", "kind", "routing"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert sorted(rows) == ["2000", "2001", "2100", "2101"]
    assert rows["2000"][1:5] == ["cti", "application", "10", "s"]
    assert rows["2001"][1:3] == ["acd", "switch"]
    assert "1009" in rows["2100"] and rows["2101"][-3] == "-"
    status, out, _ = run("csta_group", data, "-p", "--group", "2001")
    assert status == 0 and len(out.splitlines()) == 2


def test_change_every_setting_of_a_cti_group(data: Path) -> None:
    status, out, err = run(
        "csta_group", data, "-c", "--group", "2000", "--routing", "switch", "--wrap-up", "0",
        "--ring-time", "20", "--queue-limit", "5", "--queue-time", "none",
        "--diverted-position", "1008", "--route-time", "4", "--on-route-timeout", "divert",
        "--agent-pin", "5001:1234", "--agent-pin", "5002:99",
    )  # fmt: skip
    assert (status, err) == (0, "")
    assert out == "group 2000: changed, saved, applied when the server starts\n"
    group = groups_of(data)["2000"]
    assert group.routing is GroupRouting.SWITCH
    assert (group.wrap_up_seconds, group.ring_seconds, group.queue_limit) == (0, 20, 5)
    assert (group.queue_seconds, group.diverted_position) == (None, "1008")
    assert (group.route_seconds, group.on_route_timeout) == (4, RouteTimeout.DIVERT)
    assert group.agent_pins == (("5001", "1234"), ("5002", "99"))
    status, out, _ = run("csta_group", data, "-p")
    assert "1234" not in out  # never a PIN
    status, _, err = run("csta_group", data, "-c", "--group", "2000", "--remove-agent-pin", "5001")
    assert (status, err) == (0, "")
    assert groups_of(data)["2000"].agent_pins == (("5002", "99"),)


def test_a_hunt_group_has_a_diverted_position_only(data: Path) -> None:
    status, _, err = run("csta_group", data, "-c", "--group", "2100", "--diverted-position", "none")
    assert (status, err) == (0, "")
    assert groups_of(data)["2100"].diverted_position is None
    before = stored(data)
    status, out, err = run("csta_group", data, "-c", "--group", "2101", "--wrap-up", "5")
    assert (status, out) == (2, "")
    assert err == "csta_group: --wrap-up applies to CTI/ACD groups; 2101 is a cascade group\n"
    assert stored(data) == before


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-c"], "give the group (--group N)"),
        (["-c", "--group", "2999"], "no group 2999 (csta_group -p lists them)"),
        (["-c", "--group", "2000", "--wrap-up", "-1"], "argument --wrap-up:"),
        (["-c", "--group", "2000", "--ring-time", "0"], "argument --ring-time:"),
        (["-c", "--group", "2000", "--routing", "magic"], "is not one of switch|application"),
        (["-c", "--group", "2000", "--agent-pin", "5001:12ab"], "is not AGENT:PIN"),
        (["-c", "--group", "2000", "--agent-pin", "5999:1234"], "PIN for unknown agent"),
        (["-c", "--group", "2000", "--remove-agent-pin", "5001"], "agent 5001 of group 2000"),
        (["-c", "--group", "2000", "--diverted-position", "7777"], "is not an extension"),
        (["-c", "--group", "2000", "--diverted-position", "12x"], "is not a directory number"),
        (["-p", "--wrap-up", "3"], "--wrap-up does not go with this action"),
        (["-p", "--group", "2999"], "no group 2999"),
        ([], "say what to do: -c or -p"),
    ],
)
def test_bad_input_is_one_line_and_saves_nothing(data: Path, argv: list[str], message: str) -> None:
    before = stored(data)
    status, out, err = run("csta_group", data, *argv)
    assert (status, out) == (2, "")
    assert err.startswith("csta_group: ") and message in err and err.count("\n") == 1
    assert stored(data) == before


class LiveGroupTests(unittest.TestCase):
    async def test_settings_apply_to_the_running_switch_at_once(self) -> None:
        path = Path(self.mktemp())
        demo_data(path)
        server = Server(self, path)
        switch = server.runtime.switch
        status, out, err = await server.command(
            "csta_group", "-c", "--group", "2000", "--routing", "switch", "--wrap-up", "3"
        )
        assert (status, err) == (0, ""), err
        assert out == "group 2000: changed, saved, applied now\n"
        acd = switch.groups.acd["2000"]
        assert (acd.plan.routing, acd.plan.wrap_up_seconds) == (GroupRouting.SWITCH, 3)
        assert server.runtime.exchange.plan.acd_groups[0].wrap_up_seconds == 3
        # the exchange now distributes 2000's calls itself
        switch.set_agent_state("1001", RequestedAgentState.LOGGED_ON, "5001")
        server.runtime.simulator.agent("1001", "ready")
        call = server.runtime.simulator.call("+4685550107", "2000")
        states = {d: s.value for d, s in switch.snapshot_call(call)}
        assert states == {"+4685550107": "connected", "1001": "alerting"}
        switch.clear_call(call)  # no ring timers left on the reactor
