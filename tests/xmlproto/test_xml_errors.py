"""Error paths of the XML port (docs/protocol-notes.md X3-X6, N1-N4, E3, R12): every bad input
gets an answer with its invoke ID, and the connection stays usable unless the stream cannot
be resynchronised; namespaces and device strings are echoed exactly."""

from __future__ import annotations

import struct

from twisted.internet.task import Clock
from twisted.trial import unittest

from cstaserver.csta.association import Profile
from cstaserver.csta.core import CoreLimits, CstaCore
from cstaserver.csta.errors import SWITCH_REFUSALS, encode_error
from cstaserver.pbx.errors import Refusal
from cstaserver.testing import FakeSwitch
from cstaserver.xmlproto.protocol import CstaXmlFactory
from tests.xmlproto.xml_client import ED2, ED3, ED4, ED6, Req, connect_memory, make_world, xml


class FramingAndXmlErrors(unittest.TestCase):
    def setUp(self) -> None:
        self.world = make_world(limits=CoreLimits(max_message_bytes=1000))
        self.client = self.world.connect()

    async def assert_usable(self) -> None:
        assert (await self.client.ok(xml("RequestSystemStatus"))).get("system_status") == "normal"

    async def test_unknown_root(self) -> None:
        frame = await self.client.request(xml("FlyMeToTheMoon"), invoke_id="0007")
        assert (frame.invoke_id, frame.error) == ("0007", "operation/generic")
        assert frame.namespace == ED3

    async def test_malformed_xml_answered_with_same_invoke_id(self) -> None:
        frame = await self.client.request(b"<MakeCall xmlns='x'><callingDevice>", invoke_id="0123")
        assert (frame.invoke_id, frame.name) == ("0123", "CSTAErrorCode")
        assert frame.error == "operation/generic"
        await self.assert_usable()

    async def test_frame_over_the_size_limit_then_the_stream_continues(self) -> None:
        body = Req.make_call("1000", "1001", extra=f"<correlatorData>{'x' * 2000}</correlatorData>")
        frame = await self.client.request(body, invoke_id="0555")
        assert (frame.invoke_id, frame.error) == ("0555", "operation/valueOutOfRange")
        assert self.world.switch.snapshot_device("1000") == []
        await self.assert_usable()

    async def test_length_below_8_closes_the_connection(self) -> None:
        self.client.send_raw(struct.pack(">HH", 0, 5) + b"0001")
        assert self.client.is_closed
        assert self.world.core.associations == set()

    async def test_non_digit_invoke_id_echoed(self) -> None:
        frame = await self.client.request(xml("RequestSystemStatus"), invoke_id="ab#1")
        assert (frame.invoke_id, frame.name) == ("ab#1", "RequestSystemStatusResponse")

    async def test_missing_mandatory_field(self) -> None:
        """A missing mandatory field: invalidParameterValue, in the request's edition."""
        inner = "<callingDevice>1000</callingDevice>"
        assert await self.client.error(xml("MakeCall", inner)) == "operation/invalidParameterValue"
        assert await self.client.error(xml("MakeCall", inner, ED4)) == (
            "operation/invalidParameterValue"
        )


class SwitchErrorsMapped(unittest.TestCase):
    def setUp(self) -> None:
        self.world = make_world()
        self.client = self.world.connect()

    async def test_each_switch_error_has_its_csta_value(self) -> None:
        call = await self.client.make_call("1000", "1001")
        cases = {
            Req.answer(call, "1000"): "stateIncompatibility/noCallToAnswer",
            Req.answer("77", "1001"): "operation/invalidCallID",
            Req.make_call("1000", "1999"): "operation/invalidCalledDevice",
            Req.make_call("9999", "1001"): "operation/invalidCallingDevice",
            Req.monitor_start("7777"): "operation/invalidMonitorObject",
            Req.monitor_stop("nope"): "operation/invalidCrossRefID",
            Req.retrieve(call, "1000"): "stateIncompatibility/noHeldCall",
            Req.set_forwarding("1002", "forwardImmediate", "1999"): (
                "operation/invalidForwardingDestination"
            ),
        }
        got = {request: await self.client.error(request) for request in cases}
        mismatched = {
            request: (got[request], wanted)
            for request, wanted in cases.items()
            if not got[request].startswith(wanted.split("/")[0])
        }
        assert not mismatched, mismatched
        assert got[Req.answer(call, "1000")] == "stateIncompatibility/noCallToAnswer"
        assert got[Req.make_call("1000", "1999")] == "operation/invalidCalledDevice"
        assert got[Req.monitor_stop("nope")] == "operation/invalidCrossRefID"


class EveryRefusalOverTheXmlPort(unittest.TestCase):
    """Each refusal the switch can give reaches an XML client as the ECMA-269 12.2 error
    value of the one refusal table, in the request's edition - including refusals the demo
    exchange rarely produces (all trunks busy, a full conference): a ``FakeSwitch`` refuses
    on demand."""

    async def test_each_refusal_is_answered_with_its_error_value(self) -> None:
        clock = Clock()
        switch = FakeSwitch(clock=clock)
        client = connect_memory(CstaXmlFactory(CstaCore(switch, clock), Profile(), clock))
        for namespace in (ED3, ED6):
            for refusal in Refusal:
                switch.refuse("make_call", refusal, "refused by the test")
                frame = await client.request(Req.make_call("1000", "1001", ns=namespace))
                assert frame.body == encode_error(SWITCH_REFUSALS[refusal], namespace), refusal
        assert len(switch.operations("make_call")) == 2 * len(Refusal)
        switch.answer("make_call", ("7", "1000"))
        frame = await client.ok(Req.make_call("1000", "1001"))  # the connection still serves
        assert frame.message.calling_device.call_id == "7"


class LimitTests(unittest.TestCase):
    async def test_overall_monitor_limit(self) -> None:
        world = make_world(limits=CoreLimits(max_monitors=2))
        first, second = world.connect(), world.connect()
        await first.monitor("1000")
        await second.monitor("1001")
        assert await second.error(Req.monitor_start("1002")) == (
            "systemResourceAvailibility/overallMonitorLimitExceeded"
        )

    async def test_per_session_monitor_limit(self) -> None:
        world = make_world(limits=CoreLimits(max_monitors_per_session=1))
        client = world.connect()
        await client.monitor("1000")
        assert await client.error(Req.monitor_start("1001")) == (
            "subscribedResourceAvailability/objectMonitorLimitExceeded"
        )
        await world.connect().monitor("1001")  # another client has its own allowance

    async def test_outstanding_request_limit(self) -> None:
        """Wrong-password logins wait for the throttle: two in flight, a third refused."""
        world = make_world(limits=CoreLimits(max_outstanding_requests=2), authenticated=True)
        client = world.connect()
        waiting = [client.request(Req.start_session(password="wrong")) for _ in range(2)]
        assert not any(d.called for d in waiting)
        assert await client.error(xml("RequestSystemStatus")) == (
            "subscribedResourceAvailability/outstandingReqLimitExceeded"
        )
        world.advance(5)
        for deferred in waiting:
            assert (await deferred).name == "StartApplicationSessionNegResponse"
        await client.ok(xml("RequestSystemStatus"))


class NamespaceAndEcho(unittest.TestCase):
    def setUp(self) -> None:
        self.world = make_world()
        self.client = self.world.connect()

    async def test_answered_in_the_request_namespace(self) -> None:
        # no namespace: the association's (its first request's), ed3 by default
        assert (await self.client.ok(xml("RequestSystemStatus", ns=None))).namespace == ED3
        for ns in (ED2, ED3, ED4, ED6):
            frame = await self.client.ok(xml("RequestSystemStatus", ns=ns))
            assert frame.namespace == ns, frame.body
            error = await self.client.request(xml("NoSuchService", ns=ns))
            assert error.name == "CSTAErrorCode" and error.namespace == ns

    async def test_prefixed_request(self) -> None:
        body = (
            f'<csta:MonitorStart xmlns:csta="{ED4}"><csta:monitorObject>'
            "<csta:deviceObject>1001</csta:deviceObject></csta:monitorObject></csta:MonitorStart>"
        )
        frame = await self.client.ok(body, "MonitorStartResponse")
        assert frame.namespace == ED4
        assert f'<MonitorStartResponse xmlns="{ED4}">' in frame.body.decode()
        await self.client.make_call("1000", "1001")
        assert (await self.client.next_event("DeliveredEvent")).namespace == ED4

    async def test_lync_tel_uri_device_ids_echoed(self) -> None:
        tel = "tel:+4685551001"
        await self.client.ok(Req.monitor_start(tel))
        frame = await self.client.ok(Req.make_call(tel, "tel:+4685551002"))
        assert frame.get("calling_device")[1] == tel
        call = frame.message.calling_device.call_id
        events = await self.client.drain()
        assert events[0].get("initiated_connection") == (call, tel)
        assert events[0].get("initiating_device") == tel


class ClientIsolation(unittest.TestCase):
    async def test_disconnect_drops_monitors_and_spares_other_clients(self) -> None:
        world = make_world()
        leaving, staying = world.connect(), world.connect()
        await leaving.monitor("1001")
        await staying.monitor("1001")
        await leaving.disconnect()
        assert len(world.core.monitors) == 1
        await staying.make_call("1000", "1001")
        assert [e.name for e in await staying.drain()] == ["DeliveredEvent"]
