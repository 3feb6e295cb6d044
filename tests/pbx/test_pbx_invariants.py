"""Random operation sequences keep the switching model consistent (hypothesis).

Invariants: refused operations change nothing; each event's ``devices`` are those of its
``states``; every connection announced in a non-null state is later cleared (a
ConnectionCleared, or a Transferred / Conferenced that moves or ends it); after clearing
every call no device keeps a connection and every call ID seen got a CallCleared or was
merged by a transfer or conference.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet.task import Clock

from cstaserver.pbx import events as pbx_events
from cstaserver.pbx.demo import demo_plan
from cstaserver.pbx.errors import SwitchError
from cstaserver.pbx.simulator import Simulator
from cstaserver.pbx.states import ConnectionState
from cstaserver.pbx.switch import Switch

DEVICES = ["1000", "1001", "1002", "1100", "2000", "2100", "2101", "0812345", "0812348"]
OUTSIDE = ["+4685550101", "+4685550102"]
ACTIONS = [
    "call",
    "answer",
    "hangup",
    "hold",
    "retrieve",
    "consult",
    "transfer",
    "conference",
    "advance",
    "busy",
    "deflect",
    "agent_ready",
    "sst",
]

action = st.tuples(
    st.sampled_from(ACTIONS),
    st.sampled_from(DEVICES[:4] + OUTSIDE),
    st.sampled_from(DEVICES + OUTSIDE),
)


def apply(switch: Switch, sim: Simulator, clock: Clock, name: str, a: str, b: str) -> None:
    calls = lambda dev: [c for c, _, _ in switch.snapshot_device(dev)]  # noqa: E731
    if name == "call":
        sim.call(a, b)
    elif name == "answer":
        sim.answer(a)
    elif name == "hangup":
        sim.hangup(a)
    elif name == "hold":
        sim.hold(a)
    elif name == "retrieve":
        sim.retrieve(a)
    elif name == "advance":
        clock.advance(7)
    elif name == "busy":
        sim.busy(a, not switch.device(a).busy)
    elif name == "agent_ready":
        if not switch.get_agent_state("1001"):
            sim.agent("1001", "login", "5001")
        sim.agent("1001", "ready")
    elif name in ("consult", "sst", "deflect"):
        for call_id in calls(a):
            if name == "consult":
                switch.consultation_call(call_id, a, b)
            elif name == "sst":
                switch.single_step_transfer(call_id, a, b)
            else:
                switch.deflect_call(call_id, a, b)
            return
    else:
        ids = calls(a)
        if len(ids) >= 2:
            held = [c for c, s, _ in switch.snapshot_device(a) if s is ConnectionState.HOLD]
            active = [c for c in ids if c not in held]
            if held and active:
                op = switch.transfer_call if name == "transfer" else switch.conference_call
                op(held[0], active[0], a)


@settings(max_examples=300, deadline=None)
@given(st.lists(action, max_size=25))
def test_random_operations_keep_the_model_consistent(steps):
    clock = Clock()
    switch = Switch(demo_plan(), clock)
    sim = Simulator(switch)
    events: list = []
    switch.subscribe(events.append)
    for name, a, b in steps:
        before = {cid: switch.snapshot_call(cid) for cid in switch.calls}
        seen = len(events)
        try:
            apply(switch, sim, clock, name, a, b)
        except SwitchError:
            assert len(events) == seen
            assert {cid: switch.snapshot_call(cid) for cid in switch.calls} == before
    for call_id in list(switch.calls):
        if call_id in switch.calls:
            switch.clear_call(call_id)
    clock.advance(1000)

    for device in switch.devices():
        assert device.connections == {}, device.number
    assert switch.core._external == {}  # no outside party left behind
    assert switch.calls == {}

    live: set[tuple[str, str]] = set()
    cleared_calls: set[str] = set()
    merged: set[str] = set()
    seen_calls: set[str] = set()
    for event in events:
        if not isinstance(event, pbx_events.CallEvent):
            continue
        assert event.devices == tuple(d for d, _ in event.states)
        seen_calls.add(event.call_id)
        if isinstance(event, (pbx_events.Transferred, pbx_events.Conferenced)):
            for change in event.connections:
                live.discard((change.old_call_id, change.device))
            if event.secondary_old_call_id:
                merged.add(event.secondary_old_call_id)
                live = {(c, d) for c, d in live if c != event.secondary_old_call_id}
        for device, state in event.states:
            key = (event.call_id, device)
            if state is ConnectionState.NULL:
                live.discard(key)
            else:
                live.add(key)
        if isinstance(event, pbx_events.ConnectionCleared):
            live.discard((event.call_id, event.releasing_device))
        if isinstance(event, pbx_events.CallCleared):
            cleared_calls.add(event.call_id)
            assert not any(c == event.call_id for c, _ in live), live
    assert live == set()
    assert seen_calls <= cleared_calls | merged
