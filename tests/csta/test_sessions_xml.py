"""ECMA-354 application sessions over the XML port (clauses 6-8): mandatory
authentication, wrong passwords and the throttle, expiry, reattach after a disconnect."""

from __future__ import annotations

from twisted.trial import unittest

from cstaserver.config.model import AuthMode
from cstaserver.csta.association import Profile
from cstaserver.csta.core import CoreLimits
from cstaserver.csta.grace import EXPIRY_GRACE
from tests.xmlproto.xml_client import Req, make_world, xml

MANDATORY = Profile(auth_mode=AuthMode.MANDATORY)


class MandatoryAuthentication(unittest.TestCase):
    async def test_requests_refused_until_a_session_is_started(self) -> None:
        world = make_world(authenticated=True, profile=MANDATORY)
        client = world.connect()
        assert await client.error(Req.monitor_start("1001")) == "security/generic"
        await client.start_session()
        await client.monitor("1001")

    async def test_mandatory_mode_needs_credentials(self) -> None:
        world = make_world(authenticated=True, profile=MANDATORY)
        client = world.connect()
        deferred = client.request(Req.start_session(user=None, password=None))
        world.advance(5)
        frame = await deferred
        assert frame.name == "StartApplicationSessionNegResponse"
        assert "invalidApplicationInfo" in frame.body.decode()

    async def test_wrong_password_refused_after_the_throttle_delay(self) -> None:
        world = make_world(authenticated=True)
        client = world.connect()
        deferred = client.request(Req.start_session(password="wrong"))
        assert not deferred.called  # the failure is answered only after the delay
        world.advance(5)
        frame = await deferred
        assert frame.name == "StartApplicationSessionNegResponse"
        assert "<definedError>invalidApplicationInfo</definedError>" in frame.body.decode()
        await client.start_session()  # the right password still works

    async def test_unsupported_protocol_version(self) -> None:
        client = make_world(authenticated=True).connect()
        frame = await client.request(Req.start_session(versions=["urn:nothing"]))
        assert "requestedProtocolVersionNotSupported" in frame.body.decode()


class SessionLifetime(unittest.TestCase):
    async def test_expiry_terminates_the_session_and_its_monitors(self) -> None:
        world = make_world(authenticated=True)
        client = world.connect()
        frame = await client.ok(
            Req.start_session(duration=60), "StartApplicationSessionPosResponse"
        )
        assert frame.get("actual_session_duration") == 60
        await client.monitor("1001")
        world.advance(59)
        await client.ok(
            Req.reset_session_timer(frame.message.session_id, 60),
            "ResetApplicationSessionTimerPosResponse",
        )
        world.advance(59)
        await client.expect_no_event()
        world.advance(1)  # due: the expiry follows a grace later (waiting input first)
        await client.expect_no_event()
        world.advance(EXPIRY_GRACE)
        terminated = await client.next_event("ApplicationSessionTerminated")
        assert terminated.get("session_id") == frame.message.session_id
        assert "sessionTimerExpired" in terminated.body.decode()
        assert len(world.core.monitors) == 0
        await client.make_call("1000", "1001")
        await client.expect_no_event()

    async def test_reattach_after_disconnect_keeps_monitors_and_buffers_events(self) -> None:
        world = make_world(authenticated=True, limits=CoreLimits(session_cleanup_delay=30))
        first = world.connect()
        session = await first.start_session()
        xref = await first.monitor("1001")
        await first.disconnect()
        world.switch.make_call("1000", "1001")  # an event in the gap
        world.advance(10)
        second = world.connect()
        frame = await second.ok(
            Req.start_session(reattach=session), "StartApplicationSessionPosResponse"
        )
        assert frame.message.session_id == session
        replayed = await second.next_event("DeliveredEvent")
        assert replayed.message.monitor_cross_ref_id == xref
        await second.ok(Req.monitor_stop(xref))

    async def test_without_cleanup_delay_monitors_end_with_the_connection(self) -> None:
        world = make_world(authenticated=True)
        client = world.connect()
        session = await client.start_session()
        await client.monitor("1001")
        await client.disconnect()
        assert len(world.core.monitors) == 0
        other = world.connect()
        frame = await other.request(Req.start_session(reattach=session))
        assert frame.name == "StartApplicationSessionNegResponse"

    async def test_reattach_after_the_delay_is_refused(self) -> None:
        world = make_world(authenticated=True, limits=CoreLimits(session_cleanup_delay=30))
        first = world.connect()
        session = await first.start_session()
        await first.monitor("1001")
        await first.disconnect()
        world.advance(31)
        assert len(world.core.monitors) == 0
        frame = await world.connect().request(Req.start_session(reattach=session))
        assert frame.name == "StartApplicationSessionNegResponse"
        await world.connect().ok(xml("RequestSystemStatus"))


def test_failure_throttle_forgets_addresses_that_never_come_back() -> None:
    """Failed logins from many distinct addresses do not accumulate for ever."""
    from twisted.internet.task import Clock

    from cstaserver.csta.auth import PRUNE_AT, FailureThrottle

    clock = Clock()
    throttle = FailureThrottle(clock, delay=0, window=60.0)
    for n in range(PRUNE_AT):
        throttle.failed(f"10.0.{n // 256}.{n % 256}")
    assert len(throttle.shared.addresses.failures) == PRUNE_AT
    clock.advance(61)
    throttle.failed("192.0.2.1")
    assert list(throttle.shared.addresses.failures) == ["192.0.2.1"]
    assert not throttle.blocked("10.0.0.1")
