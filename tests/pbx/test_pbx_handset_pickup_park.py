"""Call pick-up and call park pressed at a simulated phone (``Simulator.pickup``,
``Simulator.park``, the ``park`` key of pbx/handset.py): the same events on every monitor as
the CSTA services DirectedPickupCall, GroupPickupCall and ParkCall give."""

from __future__ import annotations

import pytest

from cstaserver.pbx.errors import Refusal, SwitchError
from cstaserver.pbx.simulator import Simulator
from tests.pbx.test_pbx_extension_features import Monitors, talking
from tests.pbx.test_pbx_pickup_park import _switch, states


@pytest.fixture
def exchange(clock):
    return _switch(clock)


@pytest.fixture
def sim(exchange) -> Simulator:
    return Simulator(exchange)


def test_pickup_at_the_handset_takes_the_call_ringing_at_another_phone(exchange, sim):
    call, _ = exchange.make_call("1000", "1001")
    mon = Monitors(exchange, "1000", "1001", "1002")
    assert sim.pickup("1002", "1001") == call
    picked = [
        "Diverted callPickup 1001->1002",
        "Established callPickup by 1002 1000->1001 via 1001",
    ]
    assert mon.take() == {"1000": picked, "1001": picked[:1], "1002": picked}
    assert states(exchange, call) == {"1000": "connected", "1002": "connected"}


def test_group_pickup_at_the_handset_takes_the_oldest_call_of_the_group(exchange, sim, clock):
    first, _ = exchange.make_call("1000", "1005")
    clock.advance(1)
    exchange.make_call("1001", "1006")
    assert sim.pickup("1007") == first
    assert states(exchange, first) == {"1000": "connected", "1007": "connected"}


def test_pickup_with_nothing_to_take_is_refused_and_changes_nothing(exchange, sim):
    talking_call = talking(exchange, "1000", "1001")
    with pytest.raises(SwitchError) as caught:
        sim.pickup("1002", "1001")  # 1001 talks: nothing rings there
    assert caught.value.reason is Refusal.NO_CALL_TO_ANSWER
    assert states(exchange, talking_call) == {"1000": "connected", "1001": "connected"}


def test_park_key_then_pickup_at_the_parked_to_extension(exchange, sim):
    call = talking(exchange, "1000", "1001")
    mon = Monitors(exchange, "1000", "1001", "1003", "1004")
    assert sim.park("1001", "1003") == call
    parked = ["Queued park at 1003 n=1", "ConnectionCleared park 1001"]
    assert mon.take() == {"1000": parked, "1001": parked, "1003": parked, "1004": []}
    assert sim.pickup("1004", "1003") == call
    assert states(exchange, call) == {"1000": "connected", "1004": "connected"}
    assert exchange.parked_calls("1003") == []


def test_park_key_without_an_active_call_is_refused(exchange, sim):
    with pytest.raises(SwitchError) as caught:
        sim.park("1001", "1003")
    assert caught.value.reason is Refusal.NO_ACTIVE_CALL
    assert exchange.parked_calls("1003") == []
