"""Call pick-up (directed, group), call park and its recall, camp-on, call back, intrusion
and SingleStepConference's requesting and silent parties (docs/call-pickup-park.md) - with
the exact events each device's monitor sees."""

from __future__ import annotations

import attrs
import pytest

from cstaserver.pbx.demo import demo_plan
from cstaserver.pbx.errors import Refusal, SwitchError
from cstaserver.pbx.switch import Switch
from tests.pbx.test_pbx_extension_features import Monitors, talking

PICKUP_GROUP = ("1005", "1006", "1007")


def _switch(clock, *, intruders=("1002",), protected=(), **settings) -> Switch:
    plan = attrs.evolve(demo_plan(), **settings)
    plan.extensions = [
        attrs.evolve(
            e,
            pickup_group=1 if e.number in PICKUP_GROUP else None,
            intrusion_allowed=e.number in intruders,
            intrusion_protected=e.number in protected,
        )
        for e in plan.extensions
    ]
    return Switch(plan, clock)


@pytest.fixture
def exchange(clock) -> Switch:
    return _switch(clock)


def states(exchange: Switch, call_id: str) -> dict[str, str]:
    """{device: state} of a live call ({} once it is gone)."""
    if call_id not in exchange.calls:
        return {}
    return {device: state.value for device, state in exchange.snapshot_call(call_id)}


def refused(reason: Refusal, action, *args, **kwargs) -> SwitchError:
    with pytest.raises(SwitchError) as caught:
        action(*args, **kwargs)
    assert caught.value.reason is reason, caught.value
    return caught.value


# -- directed pick-up ----------------------------------------------------------------------
def test_directed_pickup_takes_a_ringing_call_to_the_requesting_device(exchange):
    call, _ = exchange.make_call("1000", "1001")
    mon = Monitors(exchange, "1000", "1001", "1002")
    assert exchange.pickup_call(call, "1001", "1002") == (call, "1002")
    picked = [
        "Diverted callPickup 1001->1002",
        "Established callPickup by 1002 1000->1001 via 1001",
    ]
    # the requesting device's monitor sees the call come to it (Diverted) before it answers
    assert mon.take() == {"1000": picked, "1001": picked[:1], "1002": picked}
    assert states(exchange, call) == {"1000": "connected", "1002": "connected"}


def test_directed_pickup_refusals_change_nothing(exchange):
    call, _ = exchange.make_call("1000", "1001")
    other = talking(exchange, "1003", "1004")
    refused(Refusal.NOT_IN_CALL, exchange.pickup_call, call, "1005", "1002")
    refused(Refusal.CONNECTION_NOT_IN_STATE, exchange.pickup_call, call, "1000", "1002")
    refused(Refusal.NOT_IN_STATE, exchange.pickup_call, call, "1001", "1000")
    refused(Refusal.DEVICE_BUSY, exchange.pickup_call, call, "1001", "1003")
    refused(Refusal.WRONG_DEVICE_KIND, exchange.pickup_call, call, "1001", "2000")
    # a DECT handset cannot be taken off-hook remotely: the person picks up by hand
    refused(Refusal.WRONG_DEVICE_KIND, exchange.pickup_call, call, "1001", "1300")
    refused(Refusal.NO_SUCH_CALL, exchange.pickup_call, "999", "1001", "1002")
    assert states(exchange, call) == {"1000": "connected", "1001": "alerting"}
    assert states(exchange, other) == {"1003": "connected", "1004": "connected"}
    exchange.pickup_call(call, "1001", "1300", by_hand=True)
    assert states(exchange, call) == {"1000": "connected", "1300": "connected"}


# -- group pick-up -------------------------------------------------------------------------
def test_group_pickup_takes_the_oldest_call_ringing_in_the_group(exchange):
    first, _ = exchange.make_call("1000", "1005")
    second, _ = exchange.make_call("1001", "1007")
    mon = Monitors(exchange, "1000", "1005", "1006", "1007")
    assert exchange.group_pickup_call("1006") == (first, "1006")
    picked = [
        "Diverted callPickup 1005->1006",
        "Established callPickup by 1006 1000->1005 via 1005",
    ]
    assert mon.take() == {"1000": picked, "1005": picked[:1], "1006": picked, "1007": []}
    assert states(exchange, second) == {"1001": "connected", "1007": "alerting"}
    # a member of another group (or none) names the group to pick up from
    assert exchange.group_pickup_call("1002", 1) == (second, "1002")


def test_group_pickup_refusals(exchange):
    refused(Refusal.NO_CALL_TO_ANSWER, exchange.group_pickup_call, "1006")
    refused(Refusal.NOT_IN_STATE, exchange.group_pickup_call, "1002")  # in no group
    refused(Refusal.BAD_ARGUMENT, exchange.group_pickup_call, "1002", 7)  # no such group
    exchange.make_call("1000", "1001")  # rings outside the group
    refused(Refusal.NO_CALL_TO_ANSWER, exchange.group_pickup_call, "1006")
    own, _ = exchange.make_call("1006", "1007")  # the requester's own call to a member
    refused(Refusal.DEVICE_BUSY, exchange.group_pickup_call, "1006")
    exchange.clear_connection(own, "1006")
    exchange.make_call("1002", "1007")
    exchange.set_do_not_disturb("1006", True)  # do not disturb does not stop picking up
    assert exchange.group_pickup_call("1006")[1] == "1006"


# -- park ------------------------------------------------------------------------------------
def test_park_and_retrieve_by_picking_up_at_the_parked_to_extension(exchange):
    call = talking(exchange, "1000", "1001")
    mon = Monitors(exchange, "1000", "1001", "1003", "1004")
    assert exchange.park_call(call, "1001", "1003") == (call, "1003")
    parked = ["Queued park at 1003 n=1", "ConnectionCleared park 1001"]
    assert mon.take() == {"1000": parked, "1001": parked, "1003": parked, "1004": []}
    assert states(exchange, call) == {"1000": "connected", "1003": "queued"}
    assert exchange.parked_calls("1003") == [call]
    # the parked-to extension stays free: a call to it rings there
    other, _ = exchange.make_call("1002", "1003")
    assert states(exchange, other) == {"1002": "connected", "1003": "alerting"}
    exchange.clear_call(other)
    mon.take()
    assert exchange.pickup_call(call, "1003", "1004") == (call, "1004")
    retrieved = [
        "Diverted callPickup 1003->1004",
        "Established callPickup by 1004 1000->1001 via 1003",
    ]
    assert mon.take() == {
        "1000": retrieved,
        "1001": [],
        "1003": retrieved[:1],
        "1004": retrieved,
    }
    assert states(exchange, call) == {"1000": "connected", "1004": "connected"}
    assert exchange.parked_calls("1003") == []


def test_an_unretrieved_parked_call_recalls_the_parker(clock):
    exchange = _switch(clock, park_recall_seconds=30.0)
    call = talking(exchange, "1000", "1001")
    exchange.park_call(call, "1001", "1003")
    mon = Monitors(exchange, "1000", "1001", "1003")
    clock.advance(29)
    assert mon.take() == {"1000": [], "1001": [], "1003": []}
    clock.advance(1)
    recall = ["Diverted recall 1003->1001", "Delivered recall at 1001 1000->1001 via 1003"]
    assert mon.take() == {"1000": recall, "1001": recall, "1003": recall[:1]}
    exchange.answer_call(call, "1001")
    assert mon.take()["1001"] == ["Established recall by 1001 1000->1001 via 1003"]
    assert states(exchange, call) == {"1000": "connected", "1001": "connected"}


def test_park_recall_off_and_the_parked_party_hanging_up(clock):
    exchange = _switch(clock, park_recall_seconds=0.0)
    call = talking(exchange, "1000", "1001")
    exchange.park_call(call, "1001", "1001")  # at the parker's own extension
    assert states(exchange, call) == {"1000": "connected", "1001": "queued"}
    clock.advance(3600)
    assert states(exchange, call) == {"1000": "connected", "1001": "queued"}
    mon = Monitors(exchange, "1000", "1001")
    exchange.clear_connection(call, "1000")
    cleared = [
        "ConnectionCleared normalClearing 1000",
        "ConnectionCleared normalClearing 1001",
        "CallCleared normalClearing",
    ]
    # a device monitor stops seeing a call once its device has left it
    assert mon.take() == {"1000": [cleared[0], cleared[2]], "1001": cleared}


def test_park_refusals_change_nothing(exchange):
    call = talking(exchange, "1000", "1001")
    ringing, _ = exchange.make_call("1002", "1004")
    refused(Refusal.BAD_DESTINATION, exchange.park_call, call, "1001", "2100")
    refused(Refusal.BAD_DESTINATION, exchange.park_call, call, "1001", "1000")
    refused(Refusal.BAD_DESTINATION, exchange.park_call, call, "1001", "0812345")
    refused(Refusal.CONNECTION_NOT_IN_STATE, exchange.park_call, ringing, "1004", "1003")
    refused(Refusal.NOT_IN_CALL, exchange.park_call, call, "1003", "1005")
    assert states(exchange, call) == {"1000": "connected", "1001": "connected"}


# -- camp-on ---------------------------------------------------------------------------------
def test_camp_on_waits_at_the_busy_extension_and_rings_when_it_is_free(exchange):
    busy = talking(exchange, "1000", "1001")
    call, _ = exchange.make_call("1002", "1001")
    assert states(exchange, call) == {"1002": "fail"}
    mon = Monitors(exchange, "1000", "1001", "1002")
    assert exchange.camp_on_call(call, "1002") == "1001"
    assert mon.take() == {
        "1000": [],
        "1001": ["Queued campOn at 1001 n=1"],
        "1002": ["Queued campOn at 1001 n=1"],
    }
    assert states(exchange, call) == {"1002": "connected", "1001": "queued"}
    exchange.clear_connection(busy, "1000")
    cleared = [
        "ConnectionCleared normalClearing 1000",
        "ConnectionCleared normalClearing 1001",
        "CallCleared normalClearing",
    ]
    delivered = "Delivered campOn at 1001 1002->1001"
    assert mon.take() == {
        "1000": [cleared[0], cleared[2]],
        "1001": [*cleared, delivered],
        "1002": [delivered],
    }
    exchange.answer_call(call, "1001")
    established = "Established campOn by 1001 1002->1001"
    assert mon.take() == {"1000": [], "1001": [established], "1002": [established]}


def test_camp_on_refused_unless_the_call_failed_busy(exchange):
    call, _ = exchange.make_call("1002", "1001")  # rings: nothing to camp on
    refused(Refusal.CONNECTION_NOT_IN_STATE, exchange.camp_on_call, call, "1002")
    assert states(exchange, call) == {"1002": "connected", "1001": "alerting"}


# -- call back -------------------------------------------------------------------------------
def test_call_back_on_a_busy_extension_rings_the_requester_then_the_extension(clock, exchange):
    busy = talking(exchange, "1000", "1001")
    call, _ = exchange.make_call("1002", "1001")
    mon = Monitors(exchange, "1001", "1002")
    assert exchange.call_back(call, "1002") == "1001"
    ordered = "CallBack 1002->1001 set"
    assert mon.take() == {
        "1001": [ordered],
        "1002": ["ConnectionCleared callBack 1002", "CallCleared callBack", ordered],
    }
    assert exchange.call_backs_of("1002") == ["1001"]
    exchange.clear_connection(busy, "1000")
    taken = mon.take()
    assert taken["1001"][-1] == "CallBack 1002->1001 cancelled"
    assert taken["1002"] == ["CallBack 1002->1001 cancelled", "ServiceInitiated callBack 1002"]
    clock.advance(2)  # the requester's person answers the ringing phone (prompt_answer_seconds)
    assert mon.take() == {
        "1001": ["Delivered callBack at 1001 1002->1001"],
        "1002": ["Originated callBack 1002->1001", "Delivered callBack at 1001 1002->1001"],
    }
    assert exchange.call_backs_of("1002") == []


def test_call_back_on_no_answer_waits_for_the_extension_to_finish_a_call(clock, exchange):
    call, _ = exchange.make_call("1002", "1001")
    exchange.call_back(call, "1002")
    assert exchange.call_backs_of("1002") == ["1001"]
    clock.advance(10)
    assert not exchange.calls  # 1001 is free, but has not had a call since
    other = talking(exchange, "1001", "1004")
    assert exchange.call_backs_of("1002") == ["1001"]
    mon = Monitors(exchange, "1002")
    exchange.clear_call(other)
    assert mon.take()["1002"] == ["CallBack 1002->1001 cancelled", "ServiceInitiated callBack 1002"]


def test_call_back_non_call_related_cancel_and_time_out(clock):
    exchange = _switch(clock, call_back_timeout=100.0)
    mon = Monitors(exchange, "1002", "1001")
    exchange.call_back_non_call("1002", "1001")
    refused(Refusal.NOT_IN_STATE, exchange.call_back_non_call, "1002", "1001")
    refused(Refusal.BAD_ARGUMENT, exchange.call_back_non_call, "1002", "1002")
    refused(Refusal.WRONG_DEVICE_KIND, exchange.call_back_non_call, "1002", "2000")
    exchange.cancel_call_back("1002", "1001")
    refused(Refusal.NOT_IN_STATE, exchange.cancel_call_back, "1002", "1001")
    set_cancel = ["CallBack 1002->1001 set", "CallBack 1002->1001 cancelled"]
    assert mon.take() == {"1002": set_cancel, "1001": set_cancel}
    exchange.call_back_non_call("1002", "1001")
    clock.advance(99)
    assert exchange.call_backs_of("1002") == ["1001"]
    clock.advance(1)
    assert exchange.call_backs_of("1002") == []
    assert mon.take()["1002"] == set_cancel


# -- intrusion -------------------------------------------------------------------------------
def test_intrusion_joins_the_busy_extensions_call(exchange):
    busy = talking(exchange, "1000", "1001")
    call, _ = exchange.make_call("1002", "1001")
    mon = Monitors(exchange, "1000", "1001", "1002")
    assert exchange.intrude_call(call, "1002") == (busy, "1002")
    joined = "Conferenced intrude by 1002 add 1002"
    assert mon.take() == {"1000": [joined], "1001": [joined], "1002": [joined]}
    assert states(exchange, busy) == {"1000": "connected", "1001": "connected", "1002": "connected"}
    assert call not in exchange.calls
    assert exchange.media(busy) == {
        "1000": ["1001", "1002"],
        "1001": ["1000", "1002"],
        "1002": ["1000", "1001"],
    }


def test_silent_intrusion_hears_and_is_not_heard(exchange):
    busy = talking(exchange, "1000", "1001")
    call, _ = exchange.make_call("1002", "1001")
    exchange.intrude_call(call, "1002", silent=True)
    assert exchange.media(busy) == {"1000": ["1001"], "1001": ["1000"], "1002": ["1000", "1001"]}


def test_intrusion_needs_the_category_and_respects_protection(clock):
    exchange = _switch(clock, protected=("1004",))
    talking(exchange, "1000", "1001")
    talking(exchange, "1003", "1004")
    call, _ = exchange.make_call("1005", "1001")  # 1005 may not intrude
    refused(Refusal.NOT_ALLOWED, exchange.intrude_call, call, "1005")
    assert states(exchange, call) == {"1005": "fail"}
    protected, _ = exchange.make_call("1002", "1004")
    refused(Refusal.NOT_ALLOWED, exchange.intrude_call, protected, "1002")
    assert states(exchange, protected) == {"1002": "fail"}
    free, _ = exchange.make_call("1006", "1007")
    refused(Refusal.NOT_IN_CALL, exchange.intrude_call, free, "1007")


# -- SingleStepConference --------------------------------------------------------------------
def test_single_step_conference_names_the_requesting_party(exchange):
    call = talking(exchange, "1000", "1001")
    mon = Monitors(exchange, "1000", "1001", "1005")
    exchange.single_step_conference(call, "1005", requesting="1001")
    joined = "Conferenced singleStepConference by 1001 add 1005"
    assert mon.take() == {"1000": [joined], "1001": [joined], "1005": [joined]}
    refused(Refusal.NOT_IN_CALL, exchange.single_step_conference, call, "1006", requesting="1002")


def test_silent_single_step_conference(exchange):
    call = talking(exchange, "1000", "1001")
    mon = Monitors(exchange, "1005")
    exchange.single_step_conference(call, "1005", requesting="1000", silent=True)
    assert mon.take() == {"1005": ["Conferenced silentParticipation by 1000 add 1005"]}
    assert exchange.media(call) == {"1000": ["1001"], "1001": ["1000"], "1005": ["1000", "1001"]}
    exchange.clear_connection(call, "1001")  # the two talking parties stay, the listener too
    assert exchange.media(call) == {"1000": [], "1005": ["1000"]}
