"""The monitor registry: routing by device and call, filters, limits, render-once fan-out."""

from __future__ import annotations

import pytest
from twisted.logger import globalLogPublisher

from cstaserver.csta.errors import CstaError, ErrorValue
from cstaserver.csta.monitors import MonitorRegistry, filter_flag
from cstaserver.pbx import events as pbx_events
from cstaserver.pbx.states import ConnectionState, EventCause


class FakeSwitch:
    def __init__(self) -> None:
        self.subscribers: list = []

    def subscribe(self, callback, interest=None):
        self.subscribers.append(callback)
        return lambda: self.subscribers.remove(callback)

    def emit(self, event) -> None:
        for callback in list(self.subscribers):
            callback(event)

    def snapshot_device(self, device):
        return []


class Template:
    def __init__(self, event, monitor) -> None:
        self.text = f"{type(event).__name__}@{monitor.device or monitor.call_id}"

    def render(self, xref: str) -> bytes:
        return f"{self.text}#{xref}".encode()


class Owner:
    def __init__(self) -> None:
        self.received: list[bytes] = []

    def deliver_event(self, data: bytes) -> None:
        self.received.append(data)


class BrokenOwner:
    def deliver_event(self, data: bytes) -> None:
        raise RuntimeError("client went away badly")


def delivered(call_id="7", calling="1000", called="1001"):
    return pbx_events.Delivered(
        call_id,
        cause=EventCause.NEW_CALL,
        devices=(calling, called),
        states={calling: ConnectionState.CONNECTED, called: ConnectionState.ALERTING},
        alerting_device=called,
        calling_device=calling,
        called_device=called,
    )


@pytest.fixture
def setup():
    switch = FakeSwitch()
    renders: list = []

    def render(event, monitor):
        renders.append((event, monitor.device))
        return Template(event, monitor)

    registry = MonitorRegistry(switch, render, max_monitors=5, max_per_owner=3)
    return switch, registry, renders


def test_device_monitors_see_calls_of_their_device_only(setup):
    switch, registry, _ = setup
    a, b, c = Owner(), Owner(), Owner()
    ma = registry.start(a, device="1000")
    mb = registry.start(b, device="1001")
    registry.start(c, device="1002")
    switch.emit(delivered())
    assert a.received == [f"Delivered@1000#{ma.cross_ref_id}".encode()]
    assert b.received == [f"Delivered@1001#{mb.cross_ref_id}".encode()]
    assert c.received == []


def test_event_rendered_once_per_view_and_reused(setup):
    switch, registry, renders = setup
    owners = [Owner() for _ in range(3)]
    monitors = [registry.start(o, device="1001") for o in owners]
    switch.emit(delivered())
    assert len(renders) == 1
    assert [o.received[0].split(b"#")[1].decode() for o in owners] == [
        m.cross_ref_id for m in monitors
    ]
    assert len({m.cross_ref_id for m in monitors}) == 3


def test_call_monitor_follows_transfer_into_the_new_call(setup):
    switch, registry, _ = setup
    owner = Owner()
    registry.start(owner, call_id="7")
    switch.emit(
        pbx_events.Transferred(
            "7",
            cause=EventCause.TRANSFER,
            devices=("1000", "1001", "1002"),
            secondary_old_call_id="8",
            new_call_id="8",
            transferring_device="1000",
            transferred_to_device="1002",
            connections=(),
        )
    )
    switch.emit(delivered(call_id="8", calling="1001", called="1002"))
    assert len(owner.received) == 2
    switch.emit(delivered(call_id="7"))
    assert len(owner.received) == 2


def test_filter_true_means_do_not_send(setup):
    switch, registry, _ = setup
    owner = Owner()
    monitor = registry.start(owner, device="1001", suppressed={"delivered"})
    switch.emit(delivered())
    assert owner.received == []
    registry.change_filter(monitor.cross_ref_id, owner, set())
    switch.emit(delivered())
    assert len(owner.received) == 1
    assert filter_flag(delivered()) == "delivered"


def test_limits_answer_with_ecma_269_values(setup):
    _, registry, _ = setup
    first, second = Owner(), Owner()
    for _ in range(3):
        registry.start(first, device="1000")
    with pytest.raises(CstaError) as per_owner:
        registry.start(first, device="1000")
    assert per_owner.value.value is ErrorValue.OBJECT_MONITOR_LIMIT_EXCEEDED
    registry.start(second, device="1000")
    registry.start(second, device="1000")
    with pytest.raises(CstaError) as overall:
        registry.start(second, device="1000")
    assert overall.value.value is ErrorValue.OVERALL_MONITOR_LIMIT_EXCEEDED


def test_stop_unknown_or_foreign_cross_ref_id(setup):
    _, registry, _ = setup
    mine, theirs = Owner(), Owner()
    monitor = registry.start(theirs, device="1000")
    with pytest.raises(CstaError) as foreign:
        registry.stop(monitor.cross_ref_id, mine)
    assert foreign.value.value is ErrorValue.INVALID_CROSS_REF_ID
    with pytest.raises(CstaError):
        registry.stop("nope", mine)
    registry.stop(monitor.cross_ref_id, theirs)
    assert len(registry) == 0


def test_one_failing_owner_does_not_stop_delivery_to_others(setup):
    switch, registry, _ = setup
    good = Owner()
    registry.start(BrokenOwner(), device="1001")
    registry.start(good, device="1001")
    switch.emit(delivered())
    assert len(good.received) == 1


def test_stop_all_and_rebind(setup):
    switch, registry, _ = setup
    old, new = Owner(), Owner()
    registry.start(old, device="1000")
    registry.start(old, device="1001")
    moved = registry.rebind(old, new)
    assert len(moved) == 2 and registry.owned_by(old) == []
    switch.emit(delivered())
    assert len(new.received) == 2 and old.received == []
    assert len(registry.stop_all(new)) == 2
    assert len(registry) == 0
    switch.emit(delivered())
    assert len(new.received) == 2


def test_device_events_reach_device_monitors(setup):
    switch, registry, _ = setup
    owner = Owner()
    registry.start(owner, device="1003")
    switch.emit(pbx_events.DoNotDisturb("1003", on=True))
    switch.emit(pbx_events.DoNotDisturb("1004", on=True))
    assert owner.received and len(owner.received) == 1


def test_a_call_type_device_monitor_follows_the_call_until_it_is_cleared(setup):
    """ECMA-269 15.1.2 monitorType call on a device: indexed under each call the device took
    part in, until CallCleared; stopping it leaves nothing behind."""
    switch, registry, _ = setup
    owner = Owner()
    monitor = registry.start(owner, device="1001", follows_calls=True)
    assert monitor.monitor_type == "call"
    switch.emit(delivered(call_id="7", calling="1000", called="1001"))
    assert monitor.followed == {"7"}
    # 1001 has left call 7: an event naming only 1000 and 1002 still reaches the monitor
    switch.emit(delivered(call_id="7", calling="1000", called="1002"))
    assert len(owner.received) == 2
    switch.emit(
        pbx_events.CallCleared("7", cause=EventCause.NORMAL_CLEARING, devices=("1000", "1002"))
    )
    assert monitor.followed == set() and len(owner.received) == 3
    switch.emit(delivered(call_id="7", calling="1000", called="1002"))
    assert len(owner.received) == 3
    switch.emit(delivered(call_id="8", calling="1000", called="1001"))
    registry.stop(monitor.cross_ref_id)
    assert registry._by_call == {} and registry._by_device == {}


@pytest.fixture
def limit_lines():
    lines: list[str] = []

    def observe(event) -> None:
        text = event.get("log_format") or ""
        if text.startswith("monitor limit"):
            lines.append(text.format(**event))

    globalLogPublisher.addObserver(observe)
    yield lines
    globalLogPublisher.removeObserver(observe)


def test_reaching_a_limit_is_logged_once_not_for_each_refusal(setup, limit_lines):
    switch, _, _ = setup
    registry = MonitorRegistry(switch, Template, max_per_device=2, max_per_address=3)
    owner = Owner()
    kept = [registry.start(owner, device="1000", address="10.0.0.1") for _ in range(2)]
    for _ in range(50):  # a client asking on and on beyond the device's limit
        with pytest.raises(CstaError) as refused:
            registry.start(owner, device="1000", address="10.0.0.9")
        assert refused.value.value is ErrorValue.OBJECT_MONITOR_LIMIT_EXCEEDED
    assert limit_lines == ["monitor limit 2 of device 1000 reached"]
    registry.stop(kept[0].cross_ref_id)  # below the limit, then reached again: a new line
    registry.start(owner, device="1000", address="10.0.0.1")
    for _ in range(3):
        with pytest.raises(CstaError):
            registry.start(owner, device="1000", address="10.0.0.9")
    assert limit_lines == ["monitor limit 2 of device 1000 reached"] * 2
    registry.start(owner, device="1001", address="10.0.0.1")  # the address's third
    for _ in range(3):
        with pytest.raises(CstaError) as refused:
            registry.start(owner, device="1002", address="10.0.0.1")
        assert refused.value.value is ErrorValue.OVERALL_MONITOR_LIMIT_EXCEEDED
    assert limit_lines[2:] == ["monitor limit 3 of address 10.0.0.1 reached"]
