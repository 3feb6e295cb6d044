"""Refusals of the JSON API (docs/api.md, "Errors"): every bad request is a 4xx with a JSON
error and changes nothing (the switch's state, the time and its pending time-outs are
compared before and after); logins are throttled per peer as SOAP's are, and share the
SOAP service's throttle."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.api_support import ADMIN, READER, ApiWeb, basic
from tests.soap.soap_support import soap11


@pytest.fixture
def api() -> Iterator[ApiWeb]:
    web = ApiWeb()
    web.simulator.call("1000", "1001")  # something to leave alone
    web.switch.answer_call("1", "1001")
    web.simulator.call("1002", "1003")
    web.simulator.call("+4685550107", "2000")
    yield web
    web.stop()


CASES: list[tuple[str, str, Any, int, str]] = [
    # an unknown device, call or caller
    ("unknown device", "/devices/9999/dial", {"to": "1001"}, 404, "no_such_device"),
    ("unknown device by number", "/devices/+4685559999/answer", {}, 404, "no_such_device"),
    ("unknown call", "/devices/1001/hold", {"call": "77"}, 404, "no_such_call"),
    ("unknown caller", "/callers/1000/answer", None, 404, "no_such_caller"),
    # the switch refuses in this state (409, its reason)
    ("nothing alerting", "/devices/1004/answer", None, 409, "no_call_to_answer"),
    ("nothing to hold", "/devices/1004/hold", {}, 409, "no_active_call"),
    ("nothing held", "/devices/1000/retrieve", {}, 409, "no_held_call"),
    ("nothing to clear", "/devices/1004/hangup", {}, 409, "nothing_to_clear"),
    ("no held call to transfer", "/devices/1000/transfer", {}, 409, "no_held_call"),
    ("off-hook twice", "/devices/1000/offhook", {}, 409, "not_in_state"),
    ("dial while talking", "/devices/1000/dial", {"to": "1005"}, 409, "not_in_state"),
    ("no terminal", "/devices/1400/dial", {"to": "1001"}, 409, "bad_calling_device"),
    ("a group is no terminal", "/devices/2000/busy", {"on": True}, 409, "wrong_device_kind"),
    (
        "deflect a connected call",
        "/devices/1001/deflect",
        {"to": "1005"},
        409,
        "connection_not_in_state",
    ),
    (
        "transfer to nowhere",
        "/devices/1001/single-step-transfer",
        {"to": "1x"},
        409,
        "bad_destination",
    ),
    (
        "not an agent position",
        "/devices/1100/agent",
        {"action": "login", "agent": "5001"},
        409,
        "wrong_device_kind",
    ),
    ("agent already out", "/devices/1000/agent", {"action": "ready"}, 409, "not_in_state"),
    ("dtmf without a call", "/devices/1004/dtmf", {"digits": "1"}, 409, "connection_not_in_state"),
    (
        "traffic to nowhere",
        "/traffic",
        {"rate": 1, "seconds": 1, "to": "77"},
        409,
        "bad_called_number",
    ),
    # values the switch calls bad (400)
    ("bad digits", "/devices/1000/dtmf", {"digits": "12x"}, 400, "bad_argument"),
    (
        "not an agent of the group",
        "/devices/1000/agent",
        {"action": "login", "agent": "5999"},
        400,
        "bad_argument",
    ),
    # bodies
    ("malformed JSON", "/devices/1004/dial", b'{"to": ', 400, "malformed_json"),
    ("not UTF-8", "/devices/1004/dial", b'{"to": "\xff"}', 400, "malformed_json"),
    ("a JSON array", "/devices/1004/dial", b'["1001"]', 400, "malformed_json"),
    ("missing field", "/devices/1004/dial", {}, 400, "missing_field"),
    ("null field", "/devices/1004/dial", {"to": None}, 400, "missing_field"),
    ("unknown field", "/devices/1004/dial", {"to": "1001", "too": "x"}, 400, "unknown_field"),
    ("wrong type", "/devices/1004/dial", {"to": 1001}, 400, "bad_field"),
    ("empty string", "/devices/1004/dial", {"to": ""}, 400, "bad_field"),
    ("not a boolean", "/devices/1004/busy", {"on": "yes"}, 400, "bad_field"),
    ("not a mode", "/devices/1004/mode", {"mode": "loud"}, 400, "bad_field"),
    ("not an agent action", "/devices/1000/agent", {"action": "dance"}, 400, "bad_field"),
    ("login without agent", "/devices/1000/agent", {"action": "login"}, 400, "missing_field"),
    (
        "forwarding on nowhere",
        "/devices/1004/forwarding",
        {"type": "forwardBusy", "on": True},
        400,
        "missing_field",
    ),
    (
        "ring count",
        "/devices/1004/forwarding",
        {"type": "forwardNoAns", "on": True, "to": "1005", "ring_count": 99},
        400,
        "out_of_range",
    ),
    ("caller from inside", "/callers", {"from": "1004", "to": "2000"}, 400, "bad_field"),
    ("traffic rate 0", "/traffic", {"rate": 0, "seconds": 10}, 400, "out_of_range"),
    ("traffic rate too high", "/traffic", {"rate": 5000, "seconds": 10}, 400, "out_of_range"),
    (
        "traffic seed not integer",
        "/traffic",
        {"rate": 1, "seconds": 1, "seed": 1.5},
        400,
        "bad_field",
    ),
    ("advance too far", "/time/advance", {"seconds": 86401}, 400, "out_of_range"),
    ("advance backwards", "/time/advance", {"seconds": -1}, 400, "out_of_range"),
    ("advance by a word", "/time/advance", {"seconds": "60"}, 400, "bad_field"),
    ("advance by true", "/time/advance", {"seconds": True}, 400, "bad_field"),
    ("advance by NaN", "/time/advance", b'{"seconds": NaN}', 400, "bad_field"),
]


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_a_bad_action_is_refused_and_changes_nothing(
    api: ApiWeb, path: str, body: Any, status: int, code: str
) -> None:
    before = api.state()
    answer = api.post(path, body)
    assert (answer.status, answer.error) == (status, code), answer.json
    assert answer.json["error"]["message"]
    assert api.state() == before


def test_no_or_wrong_credentials_are_401_and_a_reader_acting_403(api: ApiWeb) -> None:
    before = api.state()
    missing = api.post("/devices/1004/dial", {"to": "1005"}, auth=None)
    assert (missing.status, missing.error) == (401, "unauthorized")
    assert missing.header(b"www-authenticate").startswith(b'Basic realm="cstaserver"')
    wrong = api.post("/devices/1004/dial", {"to": "1005"}, auth=("admin", "wrong"))
    assert (wrong.status, wrong.error) == (401, "unauthorized")
    reader = api.post("/devices/1004/dial", {"to": "1005"}, auth=READER)
    assert (reader.status, reader.error) == (403, "forbidden")
    advance = api.post("/time/advance", {"seconds": 60}, auth=READER)
    assert advance.status == 403
    garbage = api.now(
        api.send(b"POST", "/api/v1/time/advance", b"{}", {b"Authorization": b"Basic !!"})
    )
    assert garbage.status == 401
    assert api.state() == before


def test_a_body_too_large_is_413(api: ApiWeb) -> None:
    before = api.state()
    padded = {"to": "1005", "pad": "x" * 20_000}
    answer = api.post("/devices/1004/dial", padded)
    assert (answer.status, answer.error) == (413, "body_too_large")
    beyond_the_site = api.post("/devices/1004/dial", b"{" + b" " * 70_000 + b"}")
    assert (beyond_the_site.status, beyond_the_site.error) == (413, "body_too_large")
    assert api.state() == before


def test_a_body_that_is_not_json_is_415(api: ApiWeb) -> None:
    before = api.state()
    answer = api.post("/devices/1004/dial", b"to=1005", content_type=b"text/plain")
    assert (answer.status, answer.error) == (415, "unsupported_media_type")
    form = api.post(
        "/devices/1004/dial", b"to=1005", content_type=b"application/x-www-form-urlencoded"
    )
    assert form.status == 415
    assert api.state() == before
    assert api.post("/devices/1004/busy", b"", content_type=None).error == "missing_field"
    plus_json = api.post("/devices/1004/busy", {"on": True}, content_type=b"application/x+json")
    assert plus_json.status == 200


def test_failed_logins_are_throttled_per_peer_as_for_soap() -> None:
    api = ApiWeb(throttle={"delay": 1.0})
    try:
        before = api.state()
        for _ in range(5):
            pending = api.send(
                b"POST",
                "/api/v1/devices/1000/offhook",
                b"{}",
                {b"Authorization": basic("admin", "x")},
            )
            api.reactor.advance(0)  # the admin checker's refusal
            assert not pending.called  # each refusal answers after the throttle's delay
            api.reactor.advance(1.0)
            assert api.now(pending).status == 401
        blocked = api.post("/devices/1000/offhook", {}, auth=ADMIN)
        assert (blocked.status, blocked.error) == (429, "too_many_requests")
        assert blocked.header(b"retry-after") == b"60"
        other_peer = api.post("/devices/1000/offhook", {}, auth=ADMIN, peer="127.0.0.2")
        assert other_peer.status == 200
        assert api.get("/devices", auth=READER).status == 429  # reads too, from that peer
        soap = api.now(
            api.send(
                b"POST",
                "/csta",
                soap11("<x/>"),
                {b"Authorization": basic(*READER), b"Content-Type": b"text/xml"},
            )
        )
        assert soap.status == 429  # one throttle for the site's SOAP service and API
        api.reactor.advance(61)
        assert api.post("/devices/1001/offhook", {}, auth=ADMIN).status == 200
        assert api.state() != before  # the two allowed actions, and nothing else
    finally:
        api.stop()
