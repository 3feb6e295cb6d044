"""Lock-out after a pause: the process was stopped (SIGSTOP) past a session's expiry while the
client's ResetApplicationSessionTimer waited in the socket. When the process runs again the
reactor runs due timers before it reads input; the session must not expire in front of a
keep-alive that was sent in time. The expiry waits a grace (``EXPIRY_GRACE``) counted from
when its timer really ran, and a reset read meanwhile keeps the session (the ordering is
reproduced with ``task.Clock``: the clock jumps, the due timers run, then the input is read).
"""

from __future__ import annotations

from cstaserver.csta.grace import EXPIRY_GRACE
from tests.hardening.support import answer_now, connect_bystander
from tests.xmlproto.xml_client import Req, connect_memory, make_world

DURATION = 60


def _session(world, client) -> str:  # type: ignore[no-untyped-def]
    frame = answer_now(client, Req.start_session(user=None, password=None, duration=DURATION))
    assert frame.name == "StartApplicationSessionPosResponse", frame.body
    return frame.message.session_id


def test_a_keep_alive_read_after_the_pause_keeps_the_session() -> None:
    world = make_world()
    bystander = connect_bystander(world)
    client = connect_memory(world.factory)
    world.clients.append(client)
    session_id = _session(world, client)
    xref = answer_now(client, Req.monitor_start("1007")).message.monitor_cross_ref_id

    # the pause: the clock jumps past the expiry; timers run first, then the input is read
    world.clock.advance(DURATION + 30)
    frame = answer_now(client, Req.reset_session_timer(session_id, DURATION))
    assert frame.name == "ResetApplicationSessionTimerPosResponse", frame.body
    world.clock.advance(EXPIRY_GRACE)  # the grace: a reactor turn with I/O in between

    assert session_id in world.core.sessions.sessions
    assert world.core.monitors.get(xref) is not None
    client.flush()
    assert "ApplicationSessionTerminated" not in {e.name for e in client.events}
    answer_now(bystander, Req.snapshot_device("1008"))


def test_a_session_without_keep_alive_still_expires() -> None:
    world = make_world()
    client = connect_memory(world.factory)
    world.clients.append(client)
    session_id = _session(world, client)
    world.clock.advance(DURATION)
    assert session_id in world.core.sessions.sessions  # due: a turn for waiting input
    world.clock.advance(EXPIRY_GRACE)
    client.flush()
    assert session_id not in world.core.sessions.sessions
    assert "ApplicationSessionTerminated" in {e.name for e in client.events}
