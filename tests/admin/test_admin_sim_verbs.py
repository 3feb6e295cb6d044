"""The ``sim`` verbs of the admin shell: the handset's keys, outside callers, behaviour
profiles, traffic profiles and reset - what they print, and one line (stderr) for bad input,
changing nothing."""

from __future__ import annotations

import pytest
from twisted.internet.task import Clock

from cstaserver.admin.output import BufferOutput
from cstaserver.admin.simcommands import USAGE, SimControls
from cstaserver.pbx.demo import demo_plan
from cstaserver.pbx.simulator import Simulator
from cstaserver.pbx.switch import Switch


class Sim:
    """One switch on a Clock and its ``sim`` command; ``sim("dial 1000 1001")``."""

    def __init__(self) -> None:
        self.clock = Clock()
        self.switch = Switch(demo_plan(), self.clock)
        self.controls = SimControls(Simulator(self.switch))
        self.events: list[str] = []
        self.switch.subscribe(
            lambda e: self.events.append(f"{type(e).__name__} {getattr(e, 'cause', '')}")
        )

    def __call__(self, line: str) -> str:
        out = BufferOutput()
        assert self.controls.run(line.split(), out) == 0
        assert out.stderr == "", out.stderr
        return out.stdout

    def error(self, line: str) -> str:
        out = BufferOutput()
        before = (dict(self.switch.calls), len(self.events))
        assert self.controls.run(line.split(), out) == 2  # exit status: wrong input
        assert out.stdout == ""
        assert out.stderr.count("\n") == 1 and out.stderr.startswith("sim: ")
        assert (dict(self.switch.calls), len(self.events)) == before  # nothing changed
        return out.stderr


@pytest.fixture
def sim() -> Sim:
    return Sim()


def test_off_hook_dial_digit_by_digit_and_on_hook(sim: Sim) -> None:
    assert sim("offhook 1000") == "1000: off-hook (call 1)\n"
    assert sim("dial 1000 10") == "1000: dialled 10 (call 1, waiting for more digits after 10)\n"
    assert sim("dial 1000 01") == "1000: dialled 01 (call 1)\n"
    assert sim.switch.snapshot_call("1")[1][0] == "1001"
    assert sim("onhook 1000") == "1000: on-hook (call 1)\n"
    assert sim.switch.calls == {}


def test_park_and_pickup(sim: Sim) -> None:
    sim("call 1000 1001")
    sim("answer 1001")
    assert sim("park 1001 1003") == "1001: parked call 1 at 1003\n"
    assert sim("pickup 1004 1003") == "1004: picked up call 1 at 1003\n"
    assert sorted(d for d, _ in sim.switch.snapshot_call("1")) == ["1000", "1004"]
    assert sim.error("pickup 1004 1003") == "sim: 1003 has no call ringing or parked\n"
    assert sim.error("park 1004") == f"sim: usage: {USAGE['park']}\n"
    assert sim.error("pickup") == f"sim: usage: {USAGE['pickup']}\n"


def test_reject_hold_consult_transfer(sim: Sim) -> None:
    sim("call 1000 1001")
    assert sim("reject 1001") == "1001: reject (call 1)\n"
    assert "Failed EventCause.BUSY" in sim.events
    sim("hangup 1000")
    sim("call 1000 1001")
    sim("answer 1001")
    assert sim("hold 1000") == "1000: hold (call 2)\n"
    assert "Held EventCause.KEY_OPERATION" in sim.events
    assert sim("retrieve 1000") == "1000: retrieve (call 2)\n"
    assert sim("consult 1000 1002") == ("1000: consultation call 3 to 1002 (the other call held)\n")
    sim("answer 1002")
    assert sim("transfer 1000") == "1000: transfer (call 2)\n"
    assert sorted(d for d, _ in sim.switch.snapshot_call("2")) == ["1001", "1002"]


def test_conference_dtmf_dnd_forward(sim: Sim) -> None:
    sim("call 1000 1001")
    sim("answer 1001")
    sim("consult 1000 1002")
    sim("answer 1002")
    assert sim("conference 1000") == "1000: conference (call 1)\n"
    assert sim("dtmf 1000 12#") == "1000: DTMF 12# (call 1)\n"
    assert sim("dnd 1003 on") == "1003: do not disturb on\n"
    assert sim.switch.device("1003").dnd
    assert sim("forward 1004 forwardImmediate 1005") == "1004: forwardImmediate to 1005\n"
    assert sim("forward 1004 forwardImmediate off") == "1004: forwardImmediate off\n"


def test_an_outside_caller_keys_dtmf_and_hangs_up(sim: Sim) -> None:
    sim("call +4685550107 1001 --withheld")
    sim("answer 1001")
    assert sim("dtmf +4685550107 5") == "+4685550107: DTMF 5 (call 1)\n"
    assert sim("hangup +4685550107") == "+4685550107: hangup (call 1)\n"
    assert sim.switch.calls == {}


def test_behaviour_set_show_and_act(sim: Sim) -> None:
    assert sim("behaviour") == "every phone: manual (nobody answers unless told to)\n"
    assert sim("behaviour 1001 answer 3 --talk 20 --dtmf 1") == (
        "1001: answer after 3 s, dtmf 1, talk 20 s\n"
    )
    assert sim("behaviour 1002 busy") == "1002: busy\n"
    assert sim("behaviour +4685551001") == "1001: answer after 3 s, dtmf 1, talk 20 s\n"
    assert sim("behaviour") == "1001: answer after 3 s, dtmf 1, talk 20 s\n1002: busy\n"
    sim("call 1000 1001")
    sim.clock.advance(3)
    assert "Established EventCause.NEW_CALL" in sim.events
    sim.clock.advance(20)
    assert sim.switch.calls == {}
    assert sim("behaviour 1002 manual") == "1002: manual\n"
    assert not sim.switch.device("1002").busy


def test_traffic_profile_and_its_report(sim: Sim) -> None:
    sim("busy 1001 on")
    assert sim("traffic 1 10 --to 1001 --seed 3 --answer 1 --busy 0") == (
        "traffic: 1 calls/s for 10 s to 1001 (sim traffic: counters)\n"
        "profile: answer 100%; ring 1-4 s, talk 5-30 s\n"
    )
    sim.clock.pump([0.1] * 200)
    report = sim("traffic")
    run = sim.controls.last_run
    assert run.offered > 0 and run.failed == run.offered
    assert report == (
        f"traffic: offered {run.offered}, answered 0, failed {run.offered}, rejected 0, "
        f"abandoned 0, unanswered 0, cleared {run.offered}, in progress 0 "
        f"(why: busy {run.offered}), finished\n"
        "profile: answer 100%; ring 1-4 s, talk 5-30 s\n"
    )


def test_traffic_mix_options(sim: Sim) -> None:
    out = sim(
        "traffic 2 5 --busy 1 --abandon 1 --ring 2-3 --talk 1-2 --withheld 0.5 "
        "--dtmf 9 --exclude 1000,1001"
    )
    assert out.endswith(
        "profile: busy 50%, abandon 50%; ring 2-3 s, talk 1-2 s; withheld 50%; "
        "callers key 9; not to 1000, 1001\n"
    )


def test_reset(sim: Sim) -> None:
    sim("call 1000 1001")
    sim("behaviour 1002 busy")
    assert sim("reset") == "reset: 1 calls cleared, every phone manual, traffic stopped\n"
    assert sim.switch.calls == {} and not sim.switch.device("1002").busy


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("", "sim: usage: sim call|offhook|"),
        ("frobnicate", "sim: unknown control 'frobnicate'; usage: sim call|"),
        ("dial 1000", f"sim: usage: {USAGE['dial']}"),
        ("dial 1000 12x", "sim: bad digits '12x'"),
        ("dial 1400 1001", "sim: "),
        ("reject 1001", "sim: 1001 has no call to do that with"),
        ("transfer 1000", "sim: 1000 has no held call"),
        ("dtmf 1000", f"sim: usage: {USAGE['dtmf']}"),
        ("dnd 1000 maybe", f"sim: usage: {USAGE['dnd']}"),
        ("forward 1000 sometimes 1001", "sim: forwarding type must be one of"),
        ("behaviour 1001 sometimes", "sim: behaviour must be one of"),
        ("behaviour 1001 busy 3", "sim: only answer and reject take a delay"),
        ("behaviour 1001 answer -1", "sim: SECONDS must be at least 0"),
        ("behaviour 1001 answer --talk", "sim: --talk needs a value"),
        ("behaviour 2000 answer", "sim: 2000 is not an extension with a terminal"),
        ("traffic 1", f"sim: usage: {USAGE['traffic']}"),
        ("traffic 1 10 --busy 2", "sim: busy must be 0..1"),
        ("traffic 1 10 --ring 4", "sim: --ring must be MIN-MAX seconds"),
        ("traffic 1 10 --exclude 1999", "sim: cannot exclude '1999': no such device"),
        ("traffic 1 10 --seed x", "sim: --seed must be a whole number"),
        ("traffic 1 10 --loud", f"sim: usage: {USAGE['traffic']}"),
        ("traffic", "sim: no traffic run yet"),
        ("reset now", f"sim: usage: {USAGE['reset']}"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(sim: Sim, line: str, message: str) -> None:
    assert sim.error(line).startswith(message)
    assert sim.controls.last_run is None and sim.controls.simulator.people.profiles() == {}
