"""``POST /api/v1/time/advance`` (docs/api.md, "Time"): skipping simulated time runs the
switch's, the simulator's and the core's time-outs that fall due on the way (ring time-out,
wrap-up, queue time-out, route time-out, session duration), in order; the HTTP side's
timers stay where they are."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cstaserver.csta.namespaces import APPL_SESSION, ED3
from cstaserver.testing import FakeTransport
from tests.api.api_support import READER, ApiWeb, basic


@pytest.fixture
def api() -> Iterator[ApiWeb]:
    web = ApiWeb()
    yield web
    web.stop()


def advance(api: ApiWeb, seconds: float) -> dict:
    answer = api.post("/time/advance", {"seconds": seconds})
    assert answer.status == 200, answer.json
    return answer.json


def test_advance_answers_with_the_time_and_what_ran(api: ApiWeb) -> None:
    api.post("/devices/1000/dial", {"to": "1001"})  # 1001 rings: the alerting time-out waits
    before = api.get("/time").json["time"]
    assert before["pending"] == 1 and before["next_due"] == 60.0
    answer = advance(api, 30)
    assert answer["ran"] == 0
    assert answer["time"] == {"now": 30.0, "skipped": 30.0, "pending": 1, "next_due": 30.0}
    assert api.reactor.seconds() == 0.0  # the HTTP side's reactor did not move
    assert api.base.seconds() == 0.0


def test_a_ringing_call_times_out(api: ApiWeb) -> None:
    call_id = api.post("/devices/1000/dial", {"to": "1001"}).json["call"]["id"]
    advance(api, 59)
    assert call_id in api.switch.calls
    assert advance(api, 2)["ran"] == 1
    assert api.switch.calls == {}
    assert api.get("/devices/1000").json["device"]["state"] == "idle"


def test_an_agents_wrap_up_ends(api: ApiWeb) -> None:
    api.post("/devices/1005/agent", {"action": "login", "agent": "5006"})
    api.post("/devices/1005/agent", {"action": "ready"})
    call = api.post("/callers", {"from": "+4685550107", "to": "2001"}).json["call"]
    assert {c["device"]: c["state"] for c in call["connections"]}["1005"] == "alerting"
    api.post("/devices/1005/answer")
    api.post("/devices/1005/hangup")
    agent = api.get("/devices/1005").json["device"]["agent"]
    assert agent["state"] == "agentWorkingAfterCall"
    wrap_up = api.get("/groups/2001").json["group"]["settings"]["wrap_up_seconds"]
    advance(api, wrap_up + 0.5)
    assert api.get("/devices/1005").json["device"]["agent"]["state"] == "agentReady"


def test_a_queued_call_goes_to_the_diverted_position(api: ApiWeb) -> None:
    call_id = api.post("/callers", {"from": "+4685550107", "to": "2000"}).json["call"]["id"]
    assert api.get("/groups/2000").json["group"]["queue"] == [call_id]
    advance(api, 121)  # the group's queue time
    assert api.get("/groups/2000").json["group"]["queue"] == []
    call = api.get(f"/calls/{call_id}").json["call"]
    assert {c["device"]: c["state"] for c in call["connections"]}["1009"] == "alerting"


def test_a_route_request_times_out(api: ApiWeb) -> None:
    client = FakeTransport()
    client.associate(api.core)
    client.request(
        f'<RouteRegister xmlns="{ED3}"><routeingDevice>2000</routeingDevice></RouteRegister>'
    )
    api.post("/callers", {"from": "+4685550107", "to": "2000"})
    assert any(b"RouteRequest" in event for event in client.events)
    assert not any(b"RouteEnd" in event for event in client.events)
    advance(api, 11)  # the group's route time
    assert any(b"RouteEnd" in event for event in client.events)


def test_an_application_sessions_duration_passes(api: ApiWeb) -> None:
    client = FakeTransport()
    client.associate(api.core)
    client.request(
        f'<StartApplicationSession xmlns="{APPL_SESSION}"><applicationInfo>'
        "<applicationID>demo</applicationID></applicationInfo>"
        "<requestedSessionDuration>30</requestedSessionDuration></StartApplicationSession>"
    )
    assert len(api.get("/sessions").json["sessions"]) == 1
    advance(api, 31)
    assert any(b"ApplicationSessionTerminated" in event for event in client.events)
    assert api.get("/sessions").json["sessions"] == []


def test_time_outs_run_in_order_each_at_its_own_time(api: ApiWeb) -> None:
    # the queue time-out (120 s) diverts the call to 1009, whose own ring time-out (60 s
    # more) then clears it: both within one advance of 200 s
    call_id = api.post("/callers", {"from": "+4685550107", "to": "2000"}).json["call"]["id"]
    answer = advance(api, 200)
    assert answer["ran"] >= 2
    assert call_id not in api.switch.calls
    assert api.get("/calls").json["calls"] == []


def test_the_status_page_shows_simulated_time(api: ApiWeb) -> None:
    advance(api, 3600)
    status = api.now(api.send(b"GET", "/api/status", headers={b"Authorization": basic(*READER)}))
    assert status.json["time"] == 3600.0
