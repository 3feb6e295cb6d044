"""The JSON API's reads (docs/api.md, "Reads"): the exchange, devices with their derived
state, calls with connections and call data, groups with settings, queue and agents, the
CSTA servers, associations, sessions, monitors, time and traffic; logins and unknown paths.
Every answer is also checked against the OpenAPI document's schema (api_support)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cstaserver.csta.namespaces import APPL_SESSION, ED3
from cstaserver.pbx.states import ForwardingType, RequestedAgentState
from cstaserver.testing import FakeTransport
from tests.api.api_support import ADMIN, READER, ApiWeb, basic


@pytest.fixture
def api() -> Iterator[ApiWeb]:
    web = ApiWeb()
    yield web
    web.stop()


def test_the_index_and_the_openapi_document_need_no_login(api: ApiWeb) -> None:
    for path in ("", "/"):
        answer = api.get(path, auth=None)
        assert answer.status == 200
        assert answer.json["openapi"] == "/api/v1/openapi.json"
    document = api.get("/openapi.json", auth=None)
    assert document.status == 200 and document.json["openapi"].startswith("3.1")


def test_reads_need_a_web_or_admin_login(api: ApiWeb) -> None:
    missing = api.get("/devices", auth=None)
    assert (missing.status, missing.error) == (401, "unauthorized")
    assert missing.header(b"www-authenticate") == b'Basic realm="cstaserver", charset="UTF-8"'
    wrong = api.get("/devices", auth=("csta_user", "nope"))
    assert (wrong.status, wrong.error) == (401, "unauthorized")
    assert api.get("/devices", auth=READER).status == 200
    assert api.get("/devices", auth=ADMIN).status == 200


def test_the_exchange(api: ApiWeb) -> None:
    exchange = api.get("/exchange").json["exchange"]
    assert [lim["number"] for lim in exchange["lims"]] == [1, 2]
    assert exchange["devices"]["acd"] == 2 and exchange["devices"]["ip"] == 10
    assert exchange["groups"] == ["2000", "2001", "2100", "2101"]
    assert exchange["public_numbering"] == {"prefix": "+468555", "internal_length": 4}
    assert exchange["network"]["caller_prefix"] == "+46855501"
    assert exchange["csta_servers"] == 2


def test_every_device_and_the_filters(api: ApiWeb) -> None:
    devices = api.get("/devices").json["devices"]
    assert len(devices) == sum(api.get("/exchange").json["exchange"]["devices"].values())
    first = devices[0]
    assert first == {
        "number": "1000",
        "public_number": "+4685551000",
        "kind": "ip",
        "lim": 1,
        "name": "IP 1000",
        "dn_type": "odn",
        "terminal": True,
        "state": "idle",
        "connections": [],
        "agent": None,
        "forwarding": [],
        "dnd": False,
        "busy": False,
        "mode": "handsfree",
        "members": [],
        "call_waiting": False,
        "message_waiting": False,
        "phones": [],
    }
    assert api.get("/devices/1105").json["device"]["phones"] == ["1100", "1300"]
    api.switch.set_message_waiting("1100", True)
    sip = api.get("/devices/1100").json["device"]
    assert (sip["call_waiting"], sip["message_waiting"]) == (True, True)
    groups = api.get("/devices?kind=acd").json["devices"]
    assert [d["number"] for d in groups] == ["2000", "2001"]
    assert groups[0]["members"] == ["1000", "1001", "1002", "1003", "1004"]
    assert groups[0]["public_number"] is None and groups[0]["mode"] is None
    api.simulator.call("1000", "1001")
    ringing = api.get("/devices?state=ringing").json["devices"]
    assert [d["number"] for d in ringing] == ["1001"]
    assert [d["number"] for d in api.get("/devices?state=busy").json["devices"]] == ["1000"]


@pytest.mark.parametrize("query", ["kind=phone", "state=asleep", "kind="])
def test_a_bad_filter_is_400(api: ApiWeb, query: str) -> None:
    answer = api.get("/devices?" + query)
    assert (answer.status, answer.error) == (400, "bad_field")


def test_a_device_by_internal_or_public_number(api: ApiWeb) -> None:
    assert api.get("/devices/1001").json["device"]["number"] == "1001"
    assert api.get("/devices/%2B4685551001").json["device"]["number"] == "1001"
    assert api.get("/devices/+4685551001").json["device"]["number"] == "1001"


def test_a_device_shows_its_state_agent_forwarding_dnd_busy_and_mode(api: ApiWeb) -> None:
    switch = api.switch
    switch.set_agent_state("1000", RequestedAgentState.LOGGED_ON, "5001", None, "2000")
    switch.set_forwarding("1002", ForwardingType.IMMEDIATE, "1003", True)
    switch.set_do_not_disturb("1004", True)
    api.simulator.busy("1005", True)
    api.simulator.mode("1006", "manual")
    api.simulator.off_hook("1007")
    device = {n: api.get(f"/devices/{n}").json["device"] for n in ("1000", "1002", "1004")}
    assert device["1000"]["agent"] == {"id": "5001", "group": "2000", "state": "agentNotReady"}
    assert device["1002"]["forwarding"] == [
        {"type": "forwardImmediate", "active": True, "to": "1003", "ring_count": None}
    ]
    assert device["1004"]["dnd"] is True
    assert api.get("/devices/1005").json["device"]["busy"] is True
    assert api.get("/devices/1006").json["device"]["mode"] == "manual"
    dialling = api.get("/devices/1007").json["device"]
    assert dialling["state"] == "dialling"
    assert dialling["connections"][0]["state"] == "initiated"


def test_an_unknown_device_is_404(api: ApiWeb) -> None:
    answer = api.get("/devices/9999")
    assert (answer.status, answer.error) == (404, "no_such_device")
    assert "9999" in answer.json["error"]["message"]


def test_calls_and_one_call_with_its_call_data(api: ApiWeb) -> None:
    call_id, _ = api.switch.make_call("1000", "1001", correlator_data="order-42")
    calls = api.get("/calls").json["calls"]
    assert [c["id"] for c in calls] == [call_id]
    call = api.get(f"/calls/{call_id}").json["call"]
    assert call["calling"] == "1000" and call["called"] == "1001"
    assert call["connections"] == [
        {"device": "1000", "state": "connected"},
        {"device": "1001", "state": "alerting"},
    ]
    assert call["ended"] is False and call["delivery_cause"] == "newCall"
    assert call["data"]["correlator_data"] == "order-42"


def test_an_outside_call_has_its_network_data(api: ApiWeb) -> None:
    call_id = api.simulator.call("+4685550107", "+4685551001")
    call = api.get(f"/calls/{call_id}").json["call"]
    assert call["data"]["network_called_device"] == "+4685551001"
    assert call["data"]["associated_calling_device"] == "0"


def test_an_unknown_call_is_404(api: ApiWeb) -> None:
    answer = api.get("/calls/999")
    assert (answer.status, answer.error) == (404, "no_such_call")


def test_groups_with_routing_settings_queue_and_agents(api: ApiWeb) -> None:
    api.switch.set_agent_state("1002", RequestedAgentState.LOGGED_ON, "5003", None, "2000")
    queued = api.simulator.call("+4685550107", "2000")  # routed by the application: waits
    groups = {g["number"]: g for g in api.get("/groups").json["groups"]}
    assert set(groups) == {"2000", "2001", "2100", "2101"}
    cti = groups["2000"]
    assert (cti["kind"], cti["routing"]) == ("acd", "application")
    assert cti["queue"] == [queued]
    assert cti["agents"] == [{"id": "5003", "device": "1002", "state": "agentNotReady"}]
    assert cti["settings"]["diverted_position"] == "1009"
    assert "agent_pins" not in cti["settings"]
    assert groups["2001"]["routing"] == "switch"
    assert (groups["2100"]["kind"], groups["2100"]["settings"]["strategy"]) == (
        "hunt",
        "sequential",
    )
    assert groups["2101"]["kind"] == "cascade" and "step_seconds" in groups["2101"]["settings"]
    assert api.get("/groups/2000").json["group"] == cti


def test_a_device_that_is_not_a_group_is_404(api: ApiWeb) -> None:
    assert api.get("/groups/1000").error == "no_such_group"
    assert api.get("/groups/9999").error == "no_such_device"


def test_servers_as_they_run(api: ApiWeb) -> None:
    (server,) = api.get("/servers").json["servers"]
    assert (server["lim"], server["type"], server["web_port"]) == (1, "xml", 8080)
    assert server["bound"] == {"port": 8882, "web_port": 8080}
    assert server["authentication"] == "optional"


def test_associations_sessions_and_monitors(api: ApiWeb) -> None:
    assert api.get("/associations").json == {"associations": []}
    client = FakeTransport()
    client.associate(api.core)
    start = (
        f'<StartApplicationSession xmlns="{APPL_SESSION}"><applicationInfo>'
        "<applicationID>demo</applicationID></applicationInfo>"
        "<requestedSessionDuration>60</requestedSessionDuration></StartApplicationSession>"
    )
    client.request(start)
    client.request(
        f'<MonitorStart xmlns="{ED3}"><monitorObject><deviceObject>1001</deviceObject>'
        "</monitorObject></MonitorStart>"
    )
    (association,) = api.get("/associations").json["associations"]
    assert association["peer"] == client.peer
    assert (association["requests"], association["monitors"]) == (2, 1)
    (session,) = api.get("/sessions").json["sessions"]
    assert session["application"] == "demo" and session["duration"] == 60
    assert association["session"] == session["id"]
    (monitor,) = api.get("/monitors").json["monitors"]
    assert (monitor["kind"], monitor["object"]) == ("device", "1001")
    assert monitor["owner"] == f"session {session['id']}"


def test_time_and_traffic_before_any_run(api: ApiWeb) -> None:
    time = api.get("/time").json["time"]
    assert time == {"now": 0.0, "skipped": 0.0, "pending": 0, "next_due": None}
    answer = api.get("/traffic")
    assert (answer.status, answer.error) == (404, "no_traffic_run")


def test_an_unknown_path_is_404_and_a_wrong_method_405(api: ApiWeb) -> None:
    answer = api.get("/phones")
    assert (answer.status, answer.error) == (404, "not_found")
    assert api.get("/devices/1000/dial/now").status == 404
    wrong = api.post("/devices", {})
    assert (wrong.status, wrong.error) == (405, "method_not_allowed")
    assert wrong.header(b"allow") == b"GET"
    action = api.get("/devices/1000/dial")
    assert (action.status, action.header(b"allow")) == (405, b"POST")


def test_the_status_pages_json_is_still_served(api: ApiWeb) -> None:
    api.simulator.call("1000", "1001")
    assert api.now(api.send(b"GET", "/api/status")).status == 401  # sessions, addresses
    answer = api.now(api.send(b"GET", "/api/status", headers={b"Authorization": basic(*READER)}))
    assert answer.status == 200
    assert answer.json["calls"][0]["connections"][1]["state"] == "alerting"
