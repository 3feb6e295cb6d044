"""The JSON API's actions (docs/api.md, "Actions"): what a person does at a simulated terminal
and what an outside caller does, the handset's transfer keys and keypad, traffic runs; each
answers with the device and the call as they are afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cstaserver.pbx.events import DigitsGenerated
from cstaserver.pbx.states import AgentState, ConnectionState
from tests.api.api_support import ApiWeb


@pytest.fixture
def api() -> Iterator[ApiWeb]:
    web = ApiWeb()
    yield web
    web.stop()


def states(call: dict) -> dict[str, str]:
    return {c["device"]: c["state"] for c in call["connections"]}


def connected(api: ApiWeb, calling: str = "1000", called: str = "1001") -> str:
    call_id = api.post(f"/devices/{calling}/dial", {"to": called}).json["call"]["id"]
    assert api.post(f"/devices/{called}/answer").status == 200
    return call_id


def test_dial_answers_with_the_call_and_the_device(api: ApiWeb) -> None:
    answer = api.post("/devices/1000/dial", {"to": "1001"})
    assert answer.status == 200
    call, device = answer.json["call"], answer.json["device"]
    assert (call["calling"], call["called"]) == ("1000", "1001")
    assert states(call) == {"1000": "connected", "1001": "alerting"}
    assert device["number"] == "1000" and device["state"] == "busy"
    assert api.switch.calls[call["id"]].connection("1001").state is ConnectionState.ALERTING


def test_dial_by_public_number_and_to_an_unknown_number_fails_as_a_handset_does(
    api: ApiWeb,
) -> None:
    answer = api.post("/devices/%2B4685551000/dial", {"to": "+4685551002"})
    assert states(answer.json["call"]) == {"1000": "connected", "1002": "alerting"}
    failed = api.post("/devices/1003/dial", {"to": "1999"})
    assert failed.status == 200
    assert states(failed.json["call"]) == {"1003": "fail"}
    assert failed.json["device"]["state"] == "failed"


def test_off_hook_then_dial(api: ApiWeb) -> None:
    lifted = api.post("/devices/1000/offhook")
    assert lifted.json["device"]["state"] == "dialling"
    call_id = lifted.json["call"]["id"]
    dialled = api.post("/devices/1000/dial", {"to": "1001"})
    assert dialled.json["call"]["id"] == call_id
    assert states(dialled.json["call"]) == {"1000": "connected", "1001": "alerting"}


def test_answer_and_hang_up(api: ApiWeb) -> None:
    call_id = api.post("/devices/1000/dial", {"to": "1001"}).json["call"]["id"]
    answered = api.post("/devices/1001/answer", {"call": call_id})
    assert states(answered.json["call"]) == {"1000": "connected", "1001": "connected"}
    assert answered.json["device"]["state"] == "busy"
    hung_up = api.post("/devices/1001/hangup")
    assert hung_up.json["call"]["id"] == call_id
    assert hung_up.json["call"]["ended"] is True and hung_up.json["call"]["connections"] == []
    assert hung_up.json["device"]["state"] == "idle"
    assert api.switch.calls == {}


def test_the_person_answers_an_analog_line_and_an_edn_at_a_phone(api: ApiWeb) -> None:
    """The answer action is the person lifting the handset: it works where the exchange
    cannot answer (analog), and an EDN is answered at its first ringing phone."""
    call_id = api.post("/devices/1000/dial", {"to": "1600"}).json["call"]["id"]
    answered = api.post("/devices/1600/answer", {"call": call_id})
    assert states(answered.json["call"]) == {"1000": "connected", "1600": "connected"}
    call_id = api.post("/devices/1001/dial", {"to": "1105"}).json["call"]["id"]
    answered = api.post("/devices/1105/answer", {"call": call_id})
    assert answered.json["device"]["connections"] == [
        {"call": call_id, "state": "connected", "phone": "1100"}
    ]


def test_hold_and_retrieve(api: ApiWeb) -> None:
    call_id = connected(api)
    held = api.post("/devices/1000/hold")
    assert states(held.json["call"])["1000"] == "hold"
    assert held.json["device"]["state"] == "held"
    retrieved = api.post("/devices/1000/retrieve", {"call": call_id})
    assert states(retrieved.json["call"])["1000"] == "connected"


def test_busy_on_and_off(api: ApiWeb) -> None:
    busy = api.post("/devices/1001/busy", {"on": True})
    assert busy.json == {"call": None, "device": busy.json["device"]}
    assert busy.json["device"]["busy"] is True and api.switch.info("1001").busy
    refused = api.post("/devices/1000/dial", {"to": "1001"})
    assert states(refused.json["call"]) == {"1000": "fail"}  # busy for callers
    assert api.post("/devices/1001/busy", {"on": False}).json["device"]["busy"] is False


def test_terminal_mode(api: ApiWeb) -> None:
    answer = api.post("/devices/1000/mode", {"mode": "manual"})
    assert answer.json["device"]["mode"] == "manual"
    assert api.post("/devices/1000/mode", {"mode": "handsfree"}).json["device"]["mode"] == (
        "handsfree"
    )


def test_do_not_disturb_and_forwarding(api: ApiWeb) -> None:
    assert api.post("/devices/1001/dnd", {"on": True}).json["device"]["dnd"] is True
    assert api.switch.get_do_not_disturb("1001")
    forwarded = api.post(
        "/devices/1002/forwarding", {"type": "forwardImmediate", "on": True, "to": "1003"}
    )
    assert forwarded.json["device"]["forwarding"] == [
        {"type": "forwardImmediate", "active": True, "to": "1003", "ring_count": None}
    ]
    call = api.post("/devices/1000/dial", {"to": "1002"}).json["call"]
    assert states(call) == {"1000": "connected", "1003": "alerting"}
    off = api.post("/devices/1002/forwarding", {"type": "forwardImmediate", "on": False})
    assert off.json["device"]["forwarding"][0]["active"] is False


def test_agent_login_ready_notready_logout(api: ApiWeb) -> None:
    login = api.post("/devices/1000/agent", {"action": "login", "agent": "5001"})
    assert login.json["device"]["agent"] == {
        "id": "5001",
        "group": "2000",
        "state": "agentNotReady",
    }
    ready = api.post("/devices/1000/agent", {"action": "ready"})
    assert ready.json["device"]["agent"]["state"] == "agentReady"
    assert api.switch.info("1000").agent.state is AgentState.READY
    not_ready = api.post("/devices/1000/agent", {"action": "notready"})
    assert not_ready.json["device"]["agent"]["state"] == "agentNotReady"
    assert api.post("/devices/1000/agent", {"action": "logout"}).json["device"]["agent"] is None


def test_agent_login_with_a_group_and_pin(api: ApiWeb) -> None:
    group = api.get("/groups/2001").json["group"]
    device, agent = group["settings"]["agent_devices"][0], group["settings"]["agent_ids"][0]
    answer = api.post(
        f"/devices/{device}/agent", {"action": "login", "agent": agent, "group": "2001"}
    )
    assert answer.status == 200 and answer.json["device"]["agent"]["group"] == "2001"


def test_consultation_then_transfer(api: ApiWeb) -> None:
    first = connected(api, "1000", "1001")
    consult = api.post("/devices/1000/consult", {"to": "1002"})
    second = consult.json["call"]["id"]
    assert second != first
    assert states(consult.json["call"]) == {"1000": "connected", "1002": "alerting"}
    assert api.switch.calls[first].connection("1000").state is ConnectionState.HOLD
    api.post("/devices/1002/answer")
    transferred = api.post("/devices/1000/transfer")
    assert transferred.status == 200
    assert states(transferred.json["call"]) == {"1001": "connected", "1002": "connected"}
    assert transferred.json["device"]["state"] == "idle"
    assert list(api.switch.calls) == [first]


def test_transfer_naming_the_calls(api: ApiWeb) -> None:
    first = connected(api, "1000", "1001")
    second = api.post("/devices/1000/consult", {"to": "1002", "call": first}).json["call"]["id"]
    answer = api.post("/devices/1000/transfer", {"held": first, "active": second})
    assert states(answer.json["call"]) == {"1001": "connected", "1002": "alerting"}


def test_single_step_transfer(api: ApiWeb) -> None:
    call_id = connected(api, "1000", "1001")
    answer = api.post("/devices/1001/single-step-transfer", {"to": "1002"})
    assert answer.json["call"]["id"] == call_id
    assert states(answer.json["call"]) == {"1000": "connected", "1002": "alerting"}
    assert answer.json["device"]["state"] == "idle"


def test_single_step_transfer_of_a_groups_queued_call(api: ApiWeb) -> None:
    call_id = api.post("/callers", {"from": "+4685550107", "to": "2000"}).json["call"]["id"]
    answer = api.post("/devices/2000/single-step-transfer", {"to": "1003"})
    assert states(answer.json["call"]) == {"+4685550107": "connected", "1003": "alerting"}
    assert api.get("/groups/2000").json["group"]["queue"] == []
    assert answer.json["call"]["id"] == call_id


def test_deflect(api: ApiWeb) -> None:
    api.post("/devices/1000/dial", {"to": "1001"})
    answer = api.post("/devices/1001/deflect", {"to": "1003"})
    assert states(answer.json["call"]) == {"1000": "connected", "1003": "alerting"}


def test_deflect_a_queued_call(api: ApiWeb) -> None:
    api.post("/callers", {"from": "+4685550107", "to": "2000"})
    answer = api.post("/devices/2000/deflect", {"to": "1004"})
    assert states(answer.json["call"])["1004"] == "alerting"


def test_dtmf(api: ApiWeb) -> None:
    call_id = connected(api)
    seen: list[object] = []
    api.switch.subscribe(seen.append)
    answer = api.post("/devices/1000/dtmf", {"digits": "12*#"})
    assert answer.status == 200 and answer.json["call"]["id"] == call_id
    (event,) = [e for e in seen if isinstance(e, DigitsGenerated)]
    assert (event.device, event.digits) == ("1000", "12*#")


def test_an_outside_caller_calls_in(api: ApiWeb) -> None:
    answer = api.post("/callers", {"from": "+4685550107", "to": "2000"})
    assert answer.status == 200
    call = answer.json["call"]
    assert states(call) == {"+4685550107": "connected", "2000": "queued"}
    assert api.get("/groups/2000").json["group"]["queue"] == [call["id"]]
    to_phone = api.post("/callers", {"from": "+4685550108", "to": "1005"})
    assert states(to_phone.json["call"])["1005"] == "alerting"


def test_an_outside_caller_withholding_its_number(api: ApiWeb) -> None:
    answer = api.post("/callers", {"from": "+4685550107", "to": "1005", "withheld": True})
    assert answer.status == 200
    call = answer.json["call"]
    assert states(call)["1005"] == "alerting"
    assert api.switch.restricted_parties(call["id"]) == (("+4685550107", "0"),)
    shown = api.post("/callers", {"from": "+4685550108", "to": "1006"}).json["call"]
    assert api.switch.restricted_parties(shown["id"]) == ()


def test_an_outside_party_answers_and_hangs_up(api: ApiWeb) -> None:
    call = api.post("/devices/1000/dial", {"to": "0812345679"}).json["call"]  # rings on
    outside = [d for d in states(call) if d != "1000"][0]
    assert states(call)[outside] == "alerting"
    answered = api.post(f"/callers/{outside}/answer")
    assert states(answered.json["call"]) == {"1000": "connected", outside: "connected"}
    hung_up = api.post(f"/callers/{outside}/hangup")
    assert hung_up.json["call"]["ended"] is True
    assert api.switch.calls == {}


def test_a_traffic_run(api: ApiWeb) -> None:
    started = api.post("/traffic", {"rate": 2, "seconds": 10, "to": "1001", "seed": 7})
    assert started.status == 200
    traffic = started.json["traffic"]
    assert (traffic["rate"], traffic["seconds"], traffic["to"], traffic["seed"]) == (
        2,
        10,
        "1001",
        7,
    )
    assert traffic["offered"] == 0 and traffic["finished"] is False
    api.post("/time/advance", {"seconds": 120})
    after = api.get("/traffic").json["traffic"]
    assert after["finished"] is True and after["offered"] > 0
    assert after["cleared"] == after["offered"] and after["in_progress"] == 0
