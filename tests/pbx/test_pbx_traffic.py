"""The traffic generator of ``sim traffic``: counts and determinism with a seed."""

from __future__ import annotations

import pytest
from twisted.internet.task import Clock

from cstaserver.pbx.demo import demo_plan
from cstaserver.pbx.errors import Refusal, SwitchError
from cstaserver.pbx.simulator import Simulator
from cstaserver.pbx.switch import Switch


def run_traffic(seed: int, **kwargs):
    clock = Clock()
    switch = Switch(demo_plan(), clock)
    lines: list = []
    switch.subscribe(lambda e: lines.append((clock.seconds(), type(e).__name__, e.devices)))
    run = Simulator(switch).traffic(2.0, 20, seed=seed, **kwargs)
    clock.pump([0.5] * 200)
    return run, switch, lines


def test_traffic_counts():
    run, switch, _ = run_traffic(7)
    assert run.finished
    assert 20 <= run.offered <= 60
    assert run.cleared == run.offered and run.in_progress == 0
    ended = run.answered + run.failed + run.rejected + run.abandoned + run.unanswered
    assert ended == run.offered
    assert run.abandoned == 0  # the default profile: every caller waits
    assert run.answered > 0
    assert switch.calls == {}


def test_traffic_is_deterministic_with_a_seed():
    first = run_traffic(42)
    second = run_traffic(42)
    third = run_traffic(43)
    assert first[2] == second[2]
    assert first[0].offered == second[0].offered
    assert first[2] != third[2]


def test_traffic_to_acd_group_with_agents():
    clock = Clock()
    switch = Switch(demo_plan(), clock)
    sim = Simulator(switch)
    for device, agent in (("1005", "5006"), ("1006", "5007")):
        sim.agent(device, "login", agent)
        sim.agent(device, "ready")
    run = sim.traffic(0.2, 60, to="2001", seed=1)
    clock.pump([1] * 600)
    assert run.offered > 0 and run.answered == run.offered and run.in_progress == 0


@pytest.mark.parametrize(("rate", "seconds", "to"), [(0, 10, None), (1, -1, None), (1, 1, "1999")])
def test_traffic_bad_arguments(sim, rate, seconds, to):
    with pytest.raises(SwitchError) as err:
        sim.traffic(rate, seconds, to=to)
    assert err.value.reason in (Refusal.OUT_OF_RANGE, Refusal.BAD_CALLED_NUMBER)
