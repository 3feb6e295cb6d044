"""The JSON API's routes for simulated people (docs/api.md): reject, digit-by-digit dialling,
conference, an outside caller's DTMF, behaviour profiles and traffic profiles. Every answer
is checked against the OpenAPI document's schemas (api_support)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cstaserver.pbx.events import DigitsDialed, DigitsGenerated, Failed, Held
from cstaserver.pbx.states import EventCause
from tests.api.api_support import READER, ApiWeb

CALLER = "+4685550107"


@pytest.fixture
def api() -> Iterator[ApiWeb]:
    web = ApiWeb()
    yield web
    web.stop()


def states(call: dict) -> dict[str, str]:
    return {c["device"]: c["state"] for c in call["connections"]}


def recorded(api: ApiWeb) -> list[object]:
    events: list[object] = []
    api.switch.subscribe(events.append)
    return events


def test_reject_gives_the_caller_busy(api: ApiWeb) -> None:
    events = recorded(api)
    call_id = api.post("/devices/1000/dial", {"to": "1001"}).json["call"]["id"]
    rejected = api.post("/devices/1001/reject")
    assert rejected.status == 200
    assert rejected.json["call"]["id"] == call_id
    assert states(rejected.json["call"]) == {"1000": "fail"}
    assert rejected.json["device"]["state"] == "idle"
    failed = [e for e in events if isinstance(e, Failed)]
    assert [(e.cause, e.failing_device) for e in failed] == [(EventCause.BUSY, "1001")]


def test_reject_without_a_ringing_call_is_409_and_changes_nothing(api: ApiWeb) -> None:
    before = api.state()
    refused = api.post("/devices/1001/reject")
    assert refused.status == 409 and refused.error == "no_call_to_answer"
    assert api.state() == before


def test_digits_one_by_one(api: ApiWeb) -> None:
    events = recorded(api)
    first = api.post("/devices/1000/digits", {"digits": "10"})
    assert first.status == 200
    assert states(first.json["call"]) == {"1000": "initiated"}
    assert first.json["device"]["state"] == "dialling"
    second = api.post("/devices/1000/digits", {"digits": "01"})
    assert states(second.json["call"]) == {"1000": "connected", "1001": "alerting"}
    assert [e.digits for e in events if isinstance(e, DigitsDialed)] == ["1", "0", "0", "1"]


def test_bad_digits_are_400_and_change_nothing(api: ApiWeb) -> None:
    before = api.state()
    refused = api.post("/devices/1000/digits", {"digits": "1x"})
    assert refused.status == 400 and refused.error == "bad_argument"
    assert api.state() == before


def test_hold_from_the_api_is_the_hold_key(api: ApiWeb) -> None:
    events = recorded(api)
    api.post("/devices/1000/dial", {"to": "1001"})
    api.post("/devices/1001/answer")
    api.post("/devices/1000/hold")
    held = [e for e in events if isinstance(e, Held)]
    assert [e.cause for e in held] == [EventCause.KEY_OPERATION]


def test_conference(api: ApiWeb) -> None:
    call_id = api.post("/devices/1000/dial", {"to": "1001"}).json["call"]["id"]
    api.post("/devices/1001/answer")
    api.post("/devices/1000/consult", {"to": "1002"})
    api.post("/devices/1002/answer")
    joined = api.post("/devices/1000/conference")
    assert joined.status == 200
    assert joined.json["call"]["id"] == call_id
    assert states(joined.json["call"]) == {
        "1000": "connected",
        "1001": "connected",
        "1002": "connected",
    }
    again = api.post("/devices/1000/conference")
    assert again.status == 409 and again.error == "no_held_call"


def test_an_outside_caller_keys_dtmf(api: ApiWeb) -> None:
    events = recorded(api)
    call_id = api.post("/callers", {"from": CALLER, "to": "1001"}).json["call"]["id"]
    api.post("/devices/1001/answer")
    keyed = api.post(f"/callers/{CALLER}/dtmf", {"digits": "1#"})
    assert keyed.status == 200 and keyed.json["call"]["id"] == call_id
    generated = [e for e in events if isinstance(e, DigitsGenerated)]
    assert [(e.device, e.digits) for e in generated] == [(CALLER, "1#")]
    assert api.post("/callers/1001/dtmf", {"digits": "1"}).status == 404
    assert api.post(f"/callers/{CALLER}/dtmf", {"digits": "x"}).status == 400


def test_behaviour_profiles(api: ApiWeb) -> None:
    assert api.get("/behaviours").json == {"behaviours": []}
    set_ = api.post("/devices/1001/behaviour", {"behaviour": "answer", "after": 2, "talk": 5})
    assert set_.status == 200
    assert set_.json["behaviour"] == {
        "device": "1001",
        "behaviour": "answer",
        "after": 2,
        "talk": 5,
        "dtmf": None,
    }
    assert api.get("/behaviours", auth=READER).json["behaviours"] == [set_.json["behaviour"]]
    call_id = api.post("/devices/1000/dial", {"to": "1001"}).json["call"]["id"]
    api.clock.advance(2)
    assert api.get(f"/calls/{call_id}").json["call"]["connections"][1]["state"] == "connected"
    api.clock.advance(5)
    assert api.switch.calls == {}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"behaviour": "sometimes"}, 400, "bad_field"),
        ({"behaviour": "busy", "after": 3}, 400, "bad_argument"),
        ({"behaviour": "answer", "after": -1}, 400, "out_of_range"),
        ({"behaviour": "answer", "dtmf": "x"}, 400, "bad_argument"),
        ({}, 400, "missing_field"),
    ],
)
def test_bad_behaviour_changes_nothing(api: ApiWeb, body: dict, status: int, code: str) -> None:
    answer = api.post("/devices/1001/behaviour", body)
    assert (answer.status, answer.error) == (status, code)
    assert api.get("/behaviours").json == {"behaviours": []}


def test_behaviour_of_a_group_is_refused(api: ApiWeb) -> None:
    answer = api.post("/devices/2000/behaviour", {"behaviour": "answer"})
    assert answer.status == 409 and answer.error == "wrong_device_kind"


def test_a_traffic_profile_run_reports_why_calls_failed(api: ApiWeb) -> None:
    api.post("/devices/1001/busy", {"on": True})
    started = api.post(
        "/traffic",
        {"rate": 1, "seconds": 10, "to": "1001", "seed": 3, "abandon": 0.5, "answer": 0.5},
    )
    assert started.status == 200
    profile = started.json["traffic"]["profile"]
    assert (profile["answer"], profile["abandon"], profile["busy"]) == (0.5, 0.5, 0.0)
    for _ in range(200):
        api.clock.advance(0.1)
    run = api.get("/traffic").json["traffic"]
    assert run["finished"] and run["offered"] > 0
    assert run["failed"] == run["offered"]
    assert run["reasons"] == {"busy": run["offered"]}


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"busy": 2}, "out_of_range"),
        ({"ring_min": 5, "ring_max": 2}, "out_of_range"),
        ({"answer": 0}, "bad_argument"),
        ({"exclude": "1999"}, "bad_argument"),
        ({"dtmf": "x"}, "bad_argument"),
    ],
)
def test_bad_traffic_profiles_are_400(api: ApiWeb, extra: dict, code: str) -> None:
    answer = api.post("/traffic", {"rate": 1, "seconds": 10, **extra})
    assert (answer.status, answer.error) == (400, code)
    assert api.get("/traffic").status == 404


def test_reset_removes_the_profiles(api: ApiWeb) -> None:
    api.post("/devices/1002/behaviour", {"behaviour": "busy"})
    api.post("/reset")
    assert api.get("/behaviours").json == {"behaviours": []}
    assert api.get("/devices/1002").json["device"]["busy"] is False


def test_park_and_pickup_from_the_handset(api: ApiWeb) -> None:
    call_id = api.post("/devices/1000/dial", {"to": "1001"}).json["call"]["id"]
    api.post("/devices/1001/answer")
    parked = api.post("/devices/1001/park", {"to": "1003"})
    assert parked.status == 200 and parked.json["call"]["id"] == call_id
    assert states(parked.json["call"]) == {"1000": "connected", "1003": "queued"}
    picked = api.post("/devices/1004/pickup", {"target": "1003"})
    assert picked.status == 200 and picked.json["call"]["id"] == call_id
    assert states(picked.json["call"]) == {"1000": "connected", "1004": "connected"}


def test_pickup_with_nothing_ringing_is_409_and_changes_nothing(api: ApiWeb) -> None:
    before = api.state()
    refused = api.post("/devices/1004/pickup", {"target": "1003"})
    assert refused.status == 409 and refused.error == "no_call_to_answer"
    assert api.state() == before
