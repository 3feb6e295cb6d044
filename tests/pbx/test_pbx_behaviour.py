"""Behaviour profiles of the simulated people (pbx/behaviour.py) and traffic profiles
(pbx/traffic.py): driven by the Clock, with the events the monitors see and the outcome
counts of seeded runs."""

from __future__ import annotations

import pytest
from twisted.internet.task import Clock

from cstaserver.pbx.behaviour import Behaviour, Reaction
from cstaserver.pbx.demo import demo_plan
from cstaserver.pbx.errors import Refusal, SwitchError
from cstaserver.pbx.simulator import Simulator
from cstaserver.pbx.switch import Switch
from cstaserver.pbx.traffic import TrafficProfile
from tests.pbx.conftest import Monitors

CALLER = "+4685550107"


# -- behaviour profiles -------------------------------------------------------------------------
def test_answers_after_n_seconds_keys_dtmf_and_hangs_up(switch, sim, clock, states):
    sim.behave("1001", Behaviour("answer", after=3, talk=10, dtmf="12#"))
    mon = Monitors(switch, "1000", "1001")
    call_id, _ = switch.make_call("1000", "1001")
    mon.take()
    clock.advance(2.9)
    assert mon.take() == {"1000": [], "1001": []}
    clock.advance(0.1)
    answered = ["Established newCall by 1001 1000->1001", "DigitsGenerated keyOperation 1001 12#"]
    assert mon.take() == {"1000": answered, "1001": answered}
    clock.advance(10)
    cleared = ["ConnectionCleared normalClearing 1001", "ConnectionCleared normalClearing 1000"]
    assert mon.take()["1000"] == [*cleared, "CallCleared normalClearing"]
    assert states(call_id) == {}


def test_never_answers_rings_until_the_alerting_time_out(switch, sim, clock, rec):
    sim.behave("1001", Behaviour("noanswer"))
    sim.call(CALLER, "1001")
    clock.advance(switch.plan.alerting_timeout - 1)
    assert rec.take()[-1] == "Delivered newCall at 1001 +4685550107->1001"
    clock.advance(1)
    assert rec.take()[-1] == "CallCleared alertTimeOut"


def test_busy_person_gives_busy_and_manual_again_frees_the_phone(switch, sim, rec):
    sim.behave("1001", Behaviour("busy"))
    assert switch.device("1001").busy
    switch.make_call("1000", "1001")
    assert rec.take()[-1] == "Failed busy at 1001"
    sim.hangup("1000")
    sim.behave("1001", Behaviour("manual"))
    assert not switch.device("1001").busy
    assert sim.people.profiles() == {}


def test_rejects_after_n_seconds(switch, sim, clock, rec):
    sim.behave("1001", Behaviour("reject", after=2))
    switch.make_call("1000", "1001")
    rec.take()
    clock.advance(2)
    assert rec.take() == ["ConnectionCleared keyOperation 1001", "Failed busy at 1001"]


def test_dnd_person_sets_do_not_disturb_at_the_phone(switch, sim, rec):
    sim.behave("1001", Behaviour("dnd"))
    assert rec.take() == ["DoNotDisturb 1001 on"]
    switch.make_call("1000", "1001")
    assert rec.take()[-1] == "Failed doNotDisturb at 1001"
    sim.behave("1001", Behaviour("answer"))
    assert rec.take() == ["DoNotDisturb 1001 off"]


def test_a_makecall_prompt_follows_the_profile(switch, sim, clock, rec):
    """A manual terminal rings for its own MakeCall: the person's profile decides, not the
    exchange's prompt_answer_seconds (2 s)."""
    sim.mode("1000", "manual")
    sim.behave("1000", Behaviour("answer", after=5, talk=10))
    switch.make_call("1000", "1001")
    rec.take()
    clock.advance(4.9)
    assert rec.take() == []
    clock.advance(0.1)
    assert rec.take()[:2] == [
        "Originated makeCall 1000->1001",
        "Delivered newCall at 1001 1000->1001",
    ]
    clock.advance(10)
    assert rec.take()[-1] == "CallCleared normalClearing"

    sim.behave("1000", Behaviour("noanswer"))
    call_id, _ = switch.make_call("1000", "1001")
    clock.advance(switch.plan.alerting_timeout - 1)
    assert call_id in switch.calls and rec.take() == ["ServiceInitiated makeCall 1000"]
    clock.advance(1)
    assert rec.take()[-1] == "CallCleared alertTimeOut"

    sim.behave("1000", Behaviour("reject", after=1))
    switch.make_call("1000", "1001")
    rec.take()
    clock.advance(1)
    assert rec.take() == ["ConnectionCleared keyOperation 1000", "CallCleared keyOperation"]

    sim.behave("1000", Behaviour("manual"))  # the exchange's 2 s again
    switch.make_call("1000", "1001")
    rec.take()
    clock.advance(2)
    assert rec.take()[0] == "Originated makeCall 1000->1001"


def test_busy_off_and_dnd_off_end_those_profiles(switch, sim, rec):
    sim.behave("1001", Behaviour("busy"))
    sim.behave("1002", Behaviour("dnd"))
    rec.take()
    sim.busy("1001", False)
    sim.dnd("1002", False)
    assert rec.take() == ["DoNotDisturb 1002 off"]
    assert sim.people.profiles() == {}
    assert not switch.device("1001").busy and not switch.device("1002").dnd


def test_reset_makes_everybody_manual_again(switch, sim, clock, rec):
    sim.behave("1001", Behaviour("busy"))
    sim.behave("1002", Behaviour("answer", after=1))
    sim.reset()
    assert sim.people.profiles() == {} and not switch.device("1001").busy
    switch.make_call("1000", "1002")
    rec.take()
    clock.advance(5)
    assert rec.take() == []  # nobody answers any more


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"reaction": "sometimes"}, Refusal.BAD_ARGUMENT),
        ({"reaction": "answer", "after": -1}, Refusal.OUT_OF_RANGE),
        ({"reaction": "answer", "after": float("nan")}, Refusal.BAD_ARGUMENT),
        ({"reaction": "busy", "after": 3}, Refusal.BAD_ARGUMENT),
        ({"reaction": "reject", "talk": 3}, Refusal.BAD_ARGUMENT),
        ({"reaction": "answer", "dtmf": "12x"}, Refusal.BAD_ARGUMENT),
    ],
)
def test_bad_profiles_are_refused(kwargs, reason):
    with pytest.raises(SwitchError) as err:
        Behaviour(**kwargs)
    assert err.value.reason is reason and err.value.message


def test_only_a_phone_has_a_person(sim):
    with pytest.raises(SwitchError) as err:
        sim.behave("2000", Behaviour(Reaction.ANSWER))
    assert err.value.reason is Refusal.WRONG_DEVICE_KIND
    assert sim.people.profiles() == {}


# -- traffic profiles ---------------------------------------------------------------------------
def _run(profile: TrafficProfile, seed: int, *, to=None, setup=None, seconds=200.0, rate=0.5):
    clock = Clock()
    switch = Switch(demo_plan(), clock)
    sim = Simulator(switch)
    if setup is not None:
        setup(sim)
    delivered: list[str] = []
    switch.subscribe(
        lambda e: delivered.append(e.alerting_device) if type(e).__name__ == "Delivered" else None
    )
    run = sim.traffic(rate, seconds, to=to, seed=seed, profile=profile)
    clock.pump([1.0] * int(seconds + 200))  # until the last call ended
    return run, switch, delivered


MIX = TrafficProfile(
    answer=0.5, busy=0.2, no_answer=0.1, abandon=0.2, ring=(2, 6), talk=(10, 20), exclude=()
)


def test_a_seeded_run_gives_the_profile_s_outcome_mix():
    # 0.1 calls/s for 1000 s: about 100 calls, rarely two at one phone
    run, switch, _ = _run(MIX, seed=5, rate=0.1, seconds=1000)
    assert run.finished and run.in_progress == 0 and switch.calls == {}
    n = run.offered
    assert 80 <= n <= 120
    ended = run.answered + run.failed + run.rejected + run.abandoned + run.unanswered
    assert ended == n
    # each outcome near its share of the profile (the binomial spread of ~100 draws)
    assert 0.35 * n <= run.answered <= 0.65 * n
    assert 0.1 * n <= run.failed <= 0.33 * n
    assert 0.03 * n <= run.unanswered <= 0.2 * n
    assert 0.1 * n <= run.abandoned <= 0.3 * n
    # and the run says why: refused as busy, or rang until the alerting time-out
    assert run.reasons == {"busy": run.failed, "alertTimeOut": run.unanswered}


def test_the_same_seed_gives_the_same_run():
    first, second = _run(MIX, seed=9)[0], _run(MIX, seed=9)[0]
    assert first.summary() == second.summary()
    assert _run(MIX, seed=10)[0].summary() != first.summary()


def test_traffic_to_a_busy_target_says_why_calls_failed():
    run, _, _ = _run(TrafficProfile(), seed=1, to="1001", setup=lambda sim: sim.busy("1001", True))
    assert run.offered > 0
    assert run.failed == run.offered and run.answered == 0
    assert run.reasons == {"busy": run.offered}
    assert (
        f"failed {run.offered}" in run.summary() and f"(why: busy {run.offered})" in run.summary()
    )


def test_excluded_devices_are_never_called():
    terminals = [f"10{n:02d}" for n in range(10)]
    run, _, delivered = _run(TrafficProfile(exclude=terminals[2:]), seed=3, seconds=60)
    assert run.offered > 0
    internal = {d for d in delivered if not d.startswith("+")}
    assert internal and internal <= {"1000", "1001"} | {
        d for d in internal if not d.startswith("10")
    }
    assert not internal & set(terminals[2:])


def test_a_person_s_own_profile_wins_over_the_traffic_s():
    def setup(sim):
        sim.behave("1001", Behaviour("reject", after=1))

    run, _, _ = _run(TrafficProfile(answer=1), seed=2, to="1001", setup=setup, seconds=30)
    assert run.offered > 0 and run.answered == 0 and run.failed == run.offered


def test_withheld_callers_and_dtmf():
    profile = TrafficProfile(withheld=1.0, dtmf="1", talk=(5, 5))
    clock = Clock()
    switch = Switch(demo_plan(), clock)
    keyed: list[object] = []
    switch.subscribe(lambda e: keyed.append(e) if type(e).__name__ == "DigitsGenerated" else None)
    run = Simulator(switch).traffic(0.2, 30, to="1001", seed=4, profile=profile)
    clock.pump([0.25] * 400)
    assert run.withheld == run.offered > 0
    assert len(keyed) == run.answered > 0
    assert all(e.device.startswith("+") and e.digits == "1" for e in keyed)


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"answer": 0}, Refusal.BAD_ARGUMENT),  # no outcome at all
        ({"busy": 1.5}, Refusal.OUT_OF_RANGE),
        ({"ring": (5, 2)}, Refusal.OUT_OF_RANGE),
        ({"dtmf": "x"}, Refusal.BAD_ARGUMENT),
    ],
)
def test_bad_traffic_profiles_are_refused(kwargs, reason):
    with pytest.raises(SwitchError) as err:
        TrafficProfile(**kwargs)
    assert err.value.reason is reason


def test_excluding_an_unknown_device_is_refused(sim):
    with pytest.raises(SwitchError) as err:
        sim.traffic(1, 10, profile=TrafficProfile(exclude=("1999",)))
    assert err.value.reason is Refusal.BAD_ARGUMENT
