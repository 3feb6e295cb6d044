"""The session record as it travels over the bus (JSON), the release requests a front end
serves, and the crossRefID prefixes of front ends (cstaserver/cluster/sessions.py)."""

from __future__ import annotations

import json

import pytest

from cstaserver.cluster.sessions import (
    ATTACHED,
    RELEASED,
    UNKNOWN,
    decode_record,
    encode_record,
    release_handler,
    xref_prefix,
)
from cstaserver.csta.sessions import MonitorRecord, SessionRecord

RECORD = SessionRecord(
    session_id="4f1c9a0b2d3e4f50",
    application_id="demo",
    user="csta_user",
    authenticated=True,
    protocol_version="http://www.ecma-international.org/standards/ecma-323/csta/ed3",
    duration=300,
    max_duration=3600,
    monitors=(
        MonitorRecord(
            cross_ref_id="3fa91c.1",
            device="1001",
            suppressed=("established",),
            namespace="http://www.ecma-international.org/standards/ecma-323/csta/ed3",
            view=(False, (("1001", "1001"),)),
            follows_calls=True,
        ),
        MonitorRecord(cross_ref_id="3fa91c.2", call_id="7", view=(True, ())),
    ),
    front="front-a",
)


def test_a_record_comes_back_as_it_was_its_views_hashable() -> None:
    again = decode_record(encode_record(RECORD))
    assert again == RECORD
    assert hash(again.monitors[0].view) == hash(RECORD.monitors[0].view)


def test_an_anonymous_session_keeps_its_missing_user() -> None:
    anonymous = SessionRecord("ab", "demo", None, False, "", 60)
    assert decode_record(encode_record(anonymous)) == anonymous


@pytest.mark.parametrize(
    "text",
    ["", "[]", "{}", '{"session_id": "x"}', encode_record(RECORD).replace('"monitors":[', '"m":[')],
)
def test_what_is_not_a_record_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError, match="not a session record"):
        decode_record(text)


class Sessions:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def release(self, session_id: str) -> str:
        self.asked.append(session_id)
        return {"a": RELEASED, "b": ATTACHED}.get(session_id, UNKNOWN)


def test_the_release_service_answers_for_the_session_asked() -> None:
    sessions = Sessions()
    handle = release_handler(sessions)
    answers = [handle(json.dumps({"release": name})) for name in ("a", "b", "c")]
    assert answers == [RELEASED, ATTACHED, UNKNOWN]
    assert sessions.asked == ["a", "b", "c"]
    with pytest.raises(ValueError):
        handle("release a")
    assert sessions.asked == ["a", "b", "c"]


def test_front_ends_have_short_distinct_prefixes() -> None:
    prefixes = {xref_prefix(f"front-{n}") for n in range(100)}
    assert len(prefixes) == 100
    assert all(len(p) == 7 and p.endswith(".") and p.isascii() for p in prefixes)
