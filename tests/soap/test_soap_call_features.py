"""Call pick-up, park, camp-on, call back, intrusion and SingleStepConference with silent
participation (docs/call-pickup-park.md) over the SOAP web service (docs/soap.md): each
ECMA-323 request in a SOAP 1.1 Body as a SOAP client posts it, answered with its response
element, the events it causes fetched with GetEvents, and each refusal a Server Fault with
the CSTAErrorCode in its detail."""

from __future__ import annotations

import attrs
from lxml import etree
from twisted.internet import reactor
from twisted.trial import unittest

from cstaserver.pbx.simulator import Simulator
from cstaserver.soap.envelope import SOAP_NS
from tests.soap.soap_support import LoopbackWeb, soap11
from tests.xmlproto.xml_client import Frame, conn, parse_frame, xml

S11 = "http://schemas.xmlsoap.org/soap/envelope/"


def _body_element(data: bytes) -> etree._Element:
    (element,) = etree.fromstring(data).find(f"{{{S11}}}Body")
    return element


class SoapCallFeatures(unittest.TestCase):
    timeout = 15

    def setUp(self) -> None:
        self.web = LoopbackWeb(reactor)
        self.web.listen()
        self.addCleanup(lambda: self.web.stop())
        self.sim = Simulator(self.web.switch)

    def change(self, **per_number: dict) -> None:
        """Change some extensions of the running demo exchange (as ``extension -c`` does)."""
        plan = self.web.switch.plan
        self.web.switch.update_plan(
            attrs.evolve(
                plan,
                extensions=[
                    attrs.evolve(e, **per_number.get(e.number, {})) for e in plan.extensions
                ],
            )
        )

    async def ok(self, body: str, response: str) -> Frame:
        """A request answered 200 with ``response`` in the Body."""
        status, _h, data = await self.web.post(soap11(body))
        element = _body_element(data)
        assert (status, etree.QName(element).localname) == (200, response), data
        return parse_frame("", etree.tostring(element))

    async def refused(self, body: str) -> str:
        """The CSTAErrorCode of the Server Fault a request gets, as ``category/value``."""
        status, _h, data = await self.web.post(soap11(body))
        assert status == 500, data
        fault = _body_element(data)
        assert fault.findtext("faultcode") == "soap:Server", data
        (code,) = fault.xpath(".//*[local-name()='CSTAErrorCode']")
        (category,) = code
        assert fault.findtext("faultstring").endswith(
            f"{etree.QName(category).localname}/{category.text}"
        )
        return f"{etree.QName(category).localname}/{category.text}"

    async def monitor(self, device: str) -> None:
        await self.ok(
            xml(
                "MonitorStart",
                f"<monitorObject><deviceObject>{device}</deviceObject></monitorObject>",
            ),
            "MonitorStartResponse",
        )

    async def events(self) -> list[tuple[str, str | None]]:
        """(name, cause) of the events waiting for the login, fetched with GetEvents."""
        status, _h, data = await self.web.post(
            soap11(f'<GetEvents xmlns="{SOAP_NS}"><timeout>0</timeout></GetEvents>')
        )
        assert status == 200, data
        found = []
        for element in _body_element(data):
            frame = parse_frame("", etree.tostring(element))
            cause = frame.fields.get("cause")
            found.append((frame.name, None if cause is None else str(cause)))
        return found

    def busy_attempt(self) -> tuple[str, str]:
        """1000 talks to 1001; 1002 calls 1001 and finds it busy: (busy call, failed call)."""
        self.sim.call("1000", "1001")
        self.sim.answer("1001")
        busy = self.call_of("1001")
        self.sim.call("1002", "1001")
        return busy, self.call_of("1002")

    def call_of(self, device: str) -> str:
        (call_id,) = {row[0] for row in self.web.switch.snapshot_device(device)}
        return str(call_id)

    # -- call pick-up --------------------------------------------------------------------
    async def test_directed_pickup_and_its_refusal(self) -> None:
        await self.monitor("1002")
        self.sim.call("1000", "1001")
        call = self.call_of("1001")
        pickup = xml(
            "DirectedPickupCall",
            f"<callToBePickedUp>{conn(call, '1001')}</callToBePickedUp>"
            "<requestingDevice>1002</requestingDevice>",
        )
        frame = await self.ok(pickup, "DirectedPickupCallResponse")
        assert frame.get("picked_call") == (call, "1002")
        assert await self.events() == [
            ("DivertedEvent", "callPickup"),
            ("EstablishedEvent", "callPickup"),
        ]
        assert self.web.switch.snapshot_device("1001") == []
        # picked up already: 1001 is no longer in the call
        assert await self.refused(pickup) == "operation/invalidConnectionIdentifier"

    async def test_group_pickup_and_its_refusals(self) -> None:
        group = {"pickup_group": 3}
        self.change(**{"1005": group, "1006": group})
        pickup = xml("GroupPickupCall", "<newDestination>1006</newDestination>")
        assert await self.refused(pickup) == "stateIncompatibility/noCallToAnswer"
        self.sim.call("1000", "1005")
        call = self.call_of("1005")
        frame = await self.ok(pickup, "GroupPickupCallResponse")
        assert frame.get("picked_call") == (call, "1006")
        assert self.call_of("1006") == call
        outside = xml("GroupPickupCall", "<newDestination>1002</newDestination>")
        assert await self.refused(outside) == "stateIncompatibility/invalidDeviceState"

    # -- park ----------------------------------------------------------------------------
    async def test_park_and_a_bad_park_to(self) -> None:
        self.sim.call("1000", "1001")
        self.sim.answer("1001")
        call = self.call_of("1001")
        bad = xml("ParkCall", f"<parking>{conn(call, '1001')}</parking><parkTo>2100</parkTo>")
        assert await self.refused(bad) == "operation/invalidDestination"
        await self.monitor("1001")
        park = xml("ParkCall", f"<parking>{conn(call, '1001')}</parking><parkTo>1003</parkTo>")
        frame = await self.ok(park, "ParkCallResponse")
        assert frame.get("parked_to") == (call, "1003")
        assert await self.events() == [("QueuedEvent", "park"), ("ConnectionClearedEvent", "park")]
        assert self.web.switch.snapshot_device("1001") == []

    # -- camp-on -------------------------------------------------------------------------
    async def test_camp_on_and_its_refusal(self) -> None:
        busy, call = self.busy_attempt()
        await self.monitor("1002")
        camp_on = xml("CamponCall", f"<camponConnection>{conn(call, '1002')}</camponConnection>")
        await self.ok(camp_on, "CamponCallResponse")
        assert await self.events() == [("QueuedEvent", "campOn")]
        self.sim.hangup("1000")
        assert await self.events() == [("DeliveredEvent", "campOn")]
        self.sim.answer("1001")
        assert await self.refused(camp_on) == "stateIncompatibility/invalidConnectionState"

    # -- call back -----------------------------------------------------------------------
    async def test_call_back_cancel_and_non_call_related(self) -> None:
        busy, call = self.busy_attempt()
        await self.monitor("1002")
        frame = await self.ok(
            xml("CallBack", f"<callbackConnection>{conn(call, '1002')}</callbackConnection>"),
            "CallBackResponse",
        )
        assert frame.get("target_device") == "1001"
        assert self.web.switch.call_backs_of("1002") == ["1001"]
        assert await self.events() == [
            ("ConnectionClearedEvent", "callBack"),  # the failed call ends
            ("CallClearedEvent", "callBack"),
            ("CallBackEvent", None),
        ]
        cancel = xml(
            "CancelCallBack",
            "<originatingDevice>1002</originatingDevice><targetDevice>1001</targetDevice>",
        )
        await self.ok(cancel, "CancelCallBackResponse")
        assert self.web.switch.call_backs_of("1002") == []
        assert await self.events() == [("CallBackEvent", None)]
        assert await self.refused(cancel) == "stateIncompatibility/invalidDeviceState"
        order = xml(
            "CallBackNonCallRelated",
            "<originatingDevice>1002</originatingDevice><targetDevice>1001</targetDevice>",
        )
        await self.ok(order, "CallBackNonCallRelatedResponse")
        assert self.web.switch.call_backs_of("1002") == ["1001"]
        self.sim.hangup("1000")  # 1001 is free: the call back rings 1002 first
        assert self.web.switch.call_backs_of("1002") == []
        assert self.web.switch.snapshot_device("1002") != []

    async def test_call_back_on_an_answered_call_is_refused(self) -> None:
        self.sim.call("1002", "1001")
        self.sim.answer("1001")
        body = xml(
            "CallBack",
            f"<callbackConnection>{conn(self.call_of('1002'), '1002')}</callbackConnection>",
        )
        assert await self.refused(body) == "stateIncompatibility/invalidConnectionState"

    # -- intrusion -----------------------------------------------------------------------
    async def test_intrusion_refused_then_allowed_silent(self) -> None:
        busy, call = self.busy_attempt()
        intrude = xml(
            "IntrudeCall",
            f"<intrude>{conn(call, '1002')}</intrude><participationType>silent</participationType>",
        )
        assert await self.refused(intrude) == "operation/privilegeViolationSpecifiedDevice"
        self.change(**{"1002": {"intrusion_allowed": True}})
        await self.monitor("1000")
        frame = await self.ok(intrude, "IntrudeCallResponse")
        assert frame.get("conferenced_call") == (busy, "1002")
        assert await self.events() == [("ConferencedEvent", "intrude")]
        assert self.web.switch.media(busy)["1001"] == ["1000"]  # silent: not heard

    # -- SingleStepConference ------------------------------------------------------------
    async def test_single_step_conference_silent_and_a_busy_device(self) -> None:
        self.sim.call("1000", "1001")
        self.sim.answer("1001")
        call = self.call_of("1001")
        await self.monitor("1005")
        join = xml(
            "SingleStepConferenceCall",
            f"<activeCall>{conn(call, '1001')}</activeCall><deviceToJoin>1005</deviceToJoin>"
            "<participationType>silent</participationType>",
        )
        frame = await self.ok(join, "SingleStepConferenceCallResponse")
        assert frame.get("conferenced_call") == (call, "1005")
        assert await self.events() == [("ConferencedEvent", "silentParticipation")]
        heard = {d: sorted(s) for d, s in self.web.switch.media(call).items()}
        assert heard == {"1000": ["1001"], "1001": ["1000"], "1005": ["1000", "1001"]}
        self.sim.call("1003", "1004")
        self.sim.answer("1004")
        busy = xml(
            "SingleStepConferenceCall",
            f"<activeCall>{conn(call, '1001')}</activeCall><deviceToJoin>1004</deviceToJoin>",
        )
        assert await self.refused(busy) == "systemResourceAvailibility/resourceBusy"
