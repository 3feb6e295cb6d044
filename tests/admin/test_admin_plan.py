"""The numbering-plan commands on the data directory, no server running (docs/admin.md,
"Your own exchange"): extension, group, agent, trunk, timer, csta_admin_password and the CSV
plan. Each happy path changes exactly what it says; every wrong input is one line on stderr,
exit status 2 and the exchange data byte for byte unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from cstaserver.admin.planparsing import TIMER_OPTIONS
from cstaserver.config import DataDirectory
from cstaserver.config.passwords import verify_password
from cstaserver.pbx.plan import AcdGroup, DeviceKind, DirectoryNumberType, HuntStrategy
from tests.admin.admin_harness import run, stored


def plan_of(data: Path):
    return DataDirectory(data).load().plan


def extension(data: Path, number: str):
    return next((e for e in plan_of(data).extensions if e.number == number), None)


def ok(program: str, data: Path, *argv: str) -> str:
    status, out, err = run(program, data, *argv)
    assert (status, err) == (0, ""), err
    return out


def test_extension_initiate_a_range_change_print_and_remove(data: Path) -> None:
    out = ok("extension", data, "-i", "-d", "1900..1909", "--kind", "sip", "--name", "Sales")
    assert out == (
        "sip extension 1900..1909 (10 numbers): initiated, saved, applied when the server starts\n"
    )
    assert [extension(data, f"19{n:02d}").name for n in range(10)] == ["Sales"] * 10
    ok("extension", data, "-c", "-d", "1905", "--dn-type", "edn", "--handsfree", "no", "--lim", "2")
    changed = extension(data, "1905")
    assert (changed.dn_type, changed.handsfree, changed.lim) == (DirectoryNumberType.EDN, False, 2)
    assert changed.kind is DeviceKind.SIP_EXTENSION and changed.name == "Sales"  # kept
    out = ok("extension", data, "-p", "-d", "1905")
    assert out.splitlines()[0].split() == [
        "NUMBER", "KIND", "LIM", "NAME", "DN-TYPE", "TERMINAL", "HANDSFREE", "CALL-WAITING",
        "WITHHOLD-NUMBER", "TERMINALS", "PICKUP-GROUP", "INTRUSION-ALLOWED", "INTRUSION-PROTECTED",
    ]  # fmt: skip
    assert out.splitlines()[1].split() == [
        "1905", "sip", "2", "Sales", "edn", "yes", "no", "no", "no", "-", "none", "no", "no",
    ]  # fmt: skip
    ok("extension", data, "-e", "-d", "1900,1901")
    assert extension(data, "1900") is None and extension(data, "1902") is not None


def test_group_initiate_members_change_and_remove(data: Path) -> None:
    ok("group", data, "-i", "-d", "2900", "--type", "hunt", "--members", "1200,1202",
       "--strategy", "circular", "--name", "Helpdesk")  # fmt: skip
    group = next(g for g in plan_of(data).hunt_groups if g.number == "2900")
    assert (group.members, group.strategy, group.name) == (
        ("1200", "1202"), HuntStrategy.CIRCULAR, "Helpdesk",
    )  # fmt: skip
    ok("group", data, "-c", "-d", "2900", "--add-member", "1203", "--remove-member", "1200")
    group = next(g for g in plan_of(data).hunt_groups if g.number == "2900")
    assert group.members == ("1202", "1203")
    out = ok("group", data, "-p", "-d", "2900")
    assert "--members  " in out and "1202,1203" in out
    ok("group", data, "-i", "-d", "2901", "--type", "acd", "--agent-devices", "1300,1301",
       "--agent-ids", "7001", "--wrap-up-seconds", "2.5")  # fmt: skip
    acd = next(g for g in plan_of(data).acd_groups if g.number == "2901")
    assert isinstance(acd, AcdGroup)
    assert (acd.agent_devices, acd.agent_ids, acd.wrap_up_seconds) == (
        ("1300", "1301"), ("7001",), 2.5,
    )  # fmt: skip
    ok("group", data, "-e", "-d", "2900")
    assert all(g.number != "2900" for g in plan_of(data).hunt_groups)


def test_agents_pins_and_print(data: Path) -> None:
    ok("agent", data, "-i", "--group", "2001", "--agent", "5100,5101", "--pin", "4711")
    acd = next(g for g in plan_of(data).acd_groups if g.number == "2001")
    assert acd.agent_ids[-2:] == ("5100", "5101")
    assert acd.pin_of("5100") == acd.pin_of("5101") == "4711"
    ok("agent", data, "-c", "--agent", "5100", "--pin", "none")
    acd = next(g for g in plan_of(data).acd_groups if g.number == "2001")
    assert acd.pin_of("5100") is None and acd.pin_of("5101") == "4711"
    out = ok("agent", data, "-p", "--group", "2001")
    assert [line.split()[:3] for line in out.splitlines()[-2:]] == [
        ["5100", "2001", "no"], ["5101", "2001", "yes"],
    ]  # fmt: skip
    ok("agent", data, "-e", "--agent", "5101")
    acd = next(g for g in plan_of(data).acd_groups if g.number == "2001")
    assert "5101" not in acd.agent_ids and acd.pin_of("5101") is None


def test_trunk_and_timers(data: Path) -> None:
    ok("trunk", data, "-c", "--trunk-count", "4", "--answer-delay", "1.5", "--busy-suffix", "7")
    network = plan_of(data).network
    assert (network.trunk_count, network.answer_delay, network.busy_suffix) == (4, 1.5, "7")
    assert "--trunk-count       4" in ok("trunk", data, "-p")
    ok("timer", data, "-c", "--alerting-timeout", "25", "--no-answer-ring-seconds", "4")
    plan = plan_of(data)
    assert (plan.alerting_timeout, plan.no_answer_ring_seconds) == (25.0, 4.0)
    out = ok("timer", data, "-p")
    assert ["--alerting-timeout", "25"] in [line.split() for line in out.splitlines()]


def test_lims(data: Path) -> None:
    ok("lim", data, "-i", "--lim", "3", "--name", "Gothenburg")
    ok("extension", data, "-i", "-d", "1950", "--kind", "ip", "--lim", "3")
    assert extension(data, "1950").lim == 3
    out = ok("lim", data, "-p")
    assert out.splitlines()[-1].split() == ["3", "Gothenburg", "1", "-"]
    ok("extension", data, "-e", "-d", "1950")
    ok("lim", data, "-e", "--lim", "3")
    assert [lim.number for lim in plan_of(data).lims] == [1, 2]


def test_every_plan_timer_has_an_option() -> None:
    """Table-driven: every float field of ExchangePlan named *_seconds/*_timeout is a timer
    option (so fields added later are covered)."""
    import attrs

    from cstaserver.pbx.plan import ExchangePlan

    timers = {
        f.name
        for f in attrs.fields(attrs.resolve_types(ExchangePlan))
        if f.name.endswith(("_seconds", "_timeout")) and f.type in (float, float | None)
    }
    assert {o.name for o in TIMER_OPTIONS} == timers
    assert {"alerting_timeout", "no_answer_ring_seconds"} <= timers


def test_admin_logins(data: Path) -> None:
    ok("csta_admin_password", data, "-i", "--user", "ops", "--password", "0ps-pass")
    ok("csta_admin_password", data, "-c", "--user", "admin", "--password", "n3w-admin")
    accounts = {a.user: a.password_hash for a in DataDirectory(data).load().admin_accounts}
    assert verify_password("0ps-pass", accounts["ops"])
    assert verify_password("n3w-admin", accounts["admin"])
    assert not verify_password("admin", accounts["admin"])
    assert ok("csta_admin_password", data, "-p").split() == ["USER", "admin", "ops"]
    assert "n3w-admin" not in stored(data).decode()  # only the hash is stored
    ok("csta_admin_password", data, "-e", "--user", "ops")
    assert [a.user for a in DataDirectory(data).load().admin_accounts] == ["admin"]


@pytest.mark.parametrize(
    ("program", "argv", "message"),
    [
        ("extension", ["-i", "-d", "1001", "--kind", "ip"], "1001 is already an ip extension"),
        ("extension", ["-i", "-d", "2000", "--kind", "ip"], "2000 is already an acd group"),
        ("extension", ["-i", "-d", "1900"], "give the kind of extension"),
        ("extension", ["-i", "-d", "1900", "--kind", "acd"], "'acd' is not a kind of extension (ip|sip|"),
        ("extension", ["-i", "-d", "1900", "--kind", "ipx"], "'ipx' is not a kind of extension (ip|sip|"),
        ("extension", ["-i", "-d", "1900", "--kind", "ip", "--lim", "9"], "LIM 9"),
        ("extension", ["-i", "-d", "0900", "--kind", "ip"], "starts with the trunk prefix 0"),
        ("extension", ["-i", "-d", "19x", "--kind", "ip"], "'19x' is not a directory number"),
        ("extension", ["-i", "-d", "1999..1900", "--kind", "ip"], "is not a range FROM..TO"),
        ("extension", ["-i", "-d", "1900,1900", "--kind", "ip"], "a number is given twice"),
        ("extension", ["-c", "-d", "1999", "--name", "x"], "no extension 1999"),
        ("extension", ["-c", "-d", "2100", "--name", "x"], "2100 is a hunt group, not an extension"),
        ("extension", ["-c", "-d", "1001"], "say what to change"),
        ("extension", ["-c", "-d", "1001", "--terminal", "maybe"], "'maybe' is not yes or no"),
        ("extension", ["-e", "-d", "1003"], "1003 is a member of acd group 2000"),
        ("extension", ["-e", "-d", "1999"], "no extension 1999"),
        ("extension", ["-e"], "give the directory number (-d NUMBER)"),
        ("extension", ["-p", "--kind", "ip"], "--kind does not go with this action"),
        ("extension", ["--import", "/nonexistent/plan.csv"], "cannot read /nonexistent/plan.csv"),
        ("extension", [], "say what to do"),
        ("group", ["-i", "-d", "2950", "--type", "hunt", "--members", "1001,9999"], "no extension 9999"),
        ("group", ["-i", "-d", "2950", "--members", "1001"], "give the kind of group"),
        ("group", ["-i", "-d", "1001", "--type", "hunt"], "already an ip extension"),
        ("group", ["-i", "-d", "2950", "--type", "hunt", "--wrap-up-seconds", "3"], "--wrap-up-seconds applies to acd groups, not to a hunt group"),
        ("group", ["-c", "-d", "2100", "--add-member", "1100"], "1100 is already a member of group 2100"),
        ("group", ["-c", "-d", "2100", "--remove-member", "1001"], "1001 is not a member of group 2100"),
        ("group", ["-c", "-d", "2100", "--diverted-position", "2000"], "2000 is an acd group, not an extension"),
        ("group", ["-c", "-d", "2999", "--name", "x"], "no group 2999"),
        ("group", ["-c", "-d", "1001", "--name", "x"], "1001 is an ip extension, not a group"),
        ("group", ["-c", "-d", "2001", "--ring-seconds", "-1"], "is not a number of seconds"),
        ("group", ["-e", "-d", "2999"], "no group 2999"),
        ("group", ["-p", "-d", "2100,2101"], "give one group number"),
        ("agent", ["-i", "--group", "2001", "--agent", "5001"], "agent 5001 is already an agent of group 2000"),
        ("agent", ["-i", "--group", "2100", "--agent", "5100"], "2100 is a hunt group"),
        ("agent", ["-i", "--agent", "5100"], "give the CTI/ACD group (--group N)"),
        ("agent", ["-i", "--group", "2001", "--agent", "5100", "--pin", "12ab"], "'12ab' is not a PIN"),
        ("agent", ["-c", "--agent", "5999", "--pin", "1234"], "no agent 5999"),
        ("agent", ["-c", "--agent", "5001"], "say what to change (--pin PIN|none)"),
        ("agent", ["-e", "--agent", "5001,5006"], "name agents of one group at a time"),
        ("trunk", ["-c", "--trunk-prefix", "1"], "number 1000 starts with the trunk prefix 1"),
        ("trunk", ["-c", "--trunk-device", "1001"], "trunk device 1001 is also a number of the plan"),
        ("trunk", ["-c", "--trunk-count", "many"], "'many' is not a whole number"),
        ("trunk", ["-c"], "say what to change"),
        ("timer", ["-c", "--alerting-timeout", "0"], "--alerting-timeout 0 would fail every call"),
        ("timer", ["-c", "--alerting-timeout", "nan"], "is not a number of seconds"),
        ("timer", ["-c", "--alerting-timeout", "2000000"], "is not a number of seconds"),
        ("timer", ["-c", "--wrap-up", "3"], "unrecognized arguments: --wrap-up"),
        ("lim", ["-i", "--lim", "2"], "LIM 2 exists (use -c to change it)"),
        ("lim", ["-c", "--lim", "7", "--name", "x"], "LIM 7 does not exist"),
        ("lim", ["-e", "--lim", "2"], "LIM 2 still has 1200 and 23 more on it"),
        ("lim", ["-i", "--lim", "0"], "0 is not a LIM number"),
        ("lim", ["-i"], "give the LIM number (--lim N)"),
        ("csta_admin_password", ["-i", "--user", "admin", "--password", "x"], "admin login 'admin' exists"),
        ("csta_admin_password", ["-c", "--user", "nobody", "--password", "x"], "no admin login 'nobody'"),
        ("csta_admin_password", ["-c", "--user", "admin"], "give the new password"),
        ("csta_admin_password", ["-c", "--user", "admin", "--password", ""], "must not be empty"),
        ("csta_admin_password", ["-e", "--user", "admin"], "'admin' is the last admin login"),
        ("csta_admin_password", ["-i", "--password", "x"], "give the login name"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_saves_nothing(
    data: Path, program: str, argv: list[str], message: str
) -> None:
    before = stored(data)
    status, out, err = run(program, data, *argv)
    assert (status, out) == (2, "")
    assert err.startswith(f"{program}: ") and message in err and err.count("\n") == 1, err
    assert stored(data) == before


def test_console_script_asks_the_new_password_without_echo(tmp_path: Path) -> None:
    from tests.admin.admin_harness import demo_data
    from tests.admin.test_admin_prompts import PtyChild

    demo_data(tmp_path)
    child = PtyChild("csta_admin_password", ["-c", "--user", "admin", "--data", str(tmp_path)])
    try:
        child.answer("new password for admin: ", "Tty-pass-1")
        child.answer("the same password again: ", "Tty-pass-1")
        text = child.expect("admin login admin: password changed, saved")
        assert "Tty-pass-1" not in text  # not echoed
        assert child.wait() == 0
    finally:
        child.close()
    account = DataDirectory(tmp_path).load().admin_accounts[0]
    assert verify_password("Tty-pass-1", account.password_hash)


def test_long_action_names_as_the_mx_one_spells_them(data: Path) -> None:
    ok("extension", data, "--initiate", "-d", "1950", "--kind", "ip")
    ok("extension", data, "--change", "-d", "1950", "--name", "Lab")
    assert "Lab" in ok("extension", data, "--print", "-d", "1950")
    ok("extension", data, "--erase", "-d", "1950")
    assert extension(data, "1950") is None
