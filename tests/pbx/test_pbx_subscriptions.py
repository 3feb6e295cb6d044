"""The event bus: subscribe / subscribe_device / subscribe_call, ordering, failing subscribers."""

from __future__ import annotations

from twisted.logger import globalLogPublisher

from cstaserver.pbx.events import CallCleared, Delivered


def test_subscribe_device_sees_only_its_calls(switch, sim):
    seen_1001: list = []
    seen_1002: list = []
    switch.subscribe_device("1001", seen_1001.append)
    switch.subscribe_device("+4685551002", seen_1002.append)  # public number accepted
    switch.make_call("1000", "1001")
    assert [type(e).__name__ for e in seen_1001] == ["Delivered"]
    assert seen_1002 == []


def test_subscribe_call_and_unsubscribe(switch, rec):
    call_id, _ = switch.make_call("1000", "1001")
    seen: list = []
    unsubscribe = switch.subscribe_call(call_id, seen.append)
    switch.answer_call(call_id, "1001")
    unsubscribe()
    unsubscribe()  # twice is harmless
    switch.clear_call(call_id)
    assert [type(e).__name__ for e in seen] == ["Established"]
    assert switch.core.bus.subscriber_count() == 1  # the recorder


def test_device_monitor_sees_its_own_clearing(switch, rec):
    call_id, _ = switch.make_call("1000", "1001")
    switch.answer_call(call_id, "1001")
    seen: list = []
    switch.subscribe_device("1001", seen.append)
    switch.clear_connection(call_id, "1000")
    assert [type(e).__name__ for e in seen] == [
        "ConnectionCleared",
        "ConnectionCleared",
        "CallCleared",
    ]
    assert isinstance(seen[-1], CallCleared)


def test_failing_subscriber_does_not_harm_the_others(switch):
    logged: list = []
    globalLogPublisher.addObserver(logged.append)
    try:
        first: list = []
        last: list = []
        switch.subscribe(first.append)

        def broken(event):
            raise RuntimeError("subscriber bug")

        switch.subscribe(broken)
        switch.subscribe_device("1001", broken)
        switch.subscribe(last.append)
        call_id, _ = switch.make_call("1000", "1001")
    finally:
        globalLogPublisher.removeObserver(logged.append)
    assert len(first) == len(last) == 3
    assert switch.snapshot_call(call_id)
    failures = [e for e in logged if e.get("log_failure") is not None]
    assert len(failures) == 4  # 3 events for the global one, 1 for the device one
    assert failures[0]["event_type"] == "ServiceInitiated"


def test_reentrant_subscriber_keeps_order(switch, rec):
    """A subscriber answering on Delivered: its events come after the Delivered delivery."""
    order: list = []

    def auto_answer(event):
        order.append(type(event).__name__)
        if isinstance(event, Delivered) and event.alerting_device == "1001":
            switch.answer_call(event.call_id, "1001")

    switch.subscribe(auto_answer)
    switch.make_call("1000", "1001")
    assert order == ["ServiceInitiated", "Originated", "Delivered", "Established"]
    assert rec.take()[-1] == "Established newCall by 1001 1000->1001"
