"""Call pick-up, park, camp-on, call back, intrusion and SingleStepConference with silent
participation (docs/call-pickup-park.md) end to end over TR/87: uaCSTA in SIP INFO (ECMA
TR/87 clause 8, ECMA-323 ed3 bodies) from a Lync-style client over real loopback UDP and
TCP. Each service once as it succeeds, with the events the line's monitor gets, and once
refused with its CSTAErrorCode; every device in the answers is in E.164, as Lync needs."""

from __future__ import annotations

import attrs
from twisted.trial import unittest

from cstaserver.pbx.demo import demo_plan
from cstaserver.pbx.plan import ExchangePlan
from tests.sip.tr87_ua import (
    LINE,
    LyncCase,
)
from tests.xmlproto.xml_client import conn, xml

ALICE_2 = "tel:+4685551102"
BOB = "tel:+4685551103"
CAROL = "tel:+4685551104"
DESK = "tel:+4685551001"  # a desk phone without call waiting: a second call finds it busy


def _plan(**per_number: dict) -> ExchangePlan:
    """The demo exchange with some extensions changed (as ``extension -c`` does)."""
    plan = demo_plan()
    return attrs.evolve(
        plan,
        extensions=[attrs.evolve(e, **per_number.get(e.number, {})) for e in plan.extensions],
    )


class LyncCallFeatures(LyncCase):
    async def refused(self, body: str) -> str:
        """The CSTAErrorCode a request is refused with (in the INFO's 200 OK); nothing else
        reaches the monitor."""
        reply = await self.ua.csta(body)
        assert reply.name == "CSTAErrorCode", reply.response.body
        assert await self.ua.quiet() == []
        return str(reply.frame.error)

    async def talking(self, caller: str = "1102") -> str:
        """``caller`` calls the line, the line answers; returns the call ID."""
        self.server.sim.call(caller, "1101")
        self.server.sim.answer("1101")
        await self.ua.quiet()
        return self.server.call_id_of("1101")

    async def busy_attempt(self) -> tuple[str, str]:
        """1000 talks to 1001; the line calls 1001 and finds it busy. Returns (the busy
        call, the line's failed call)."""
        self.server.sim.call("1000", "1001")
        self.server.sim.answer("1001")
        busy = self.server.call_id_of("1001")
        await self.ua.quiet()
        self.server.sim.call("1101", "1001")
        await self.ua.quiet()
        (call,) = {row[0] for row in self.server.switch.snapshot_device("1101")}
        return busy, str(call)

    # -- call pick-up ---------------------------------------------------------------------
    async def test_directed_pickup(self) -> None:
        server, _ = await self.setup()
        server.sim.call("1102", "1103")
        call = server.call_id_of("1103")
        reply, (diverted, established) = await self.ok(
            xml(
                "DirectedPickupCall",
                f"<callToBePickedUp>{conn(call, BOB)}</callToBePickedUp>"
                f"<requestingDevice>{LINE}</requestingDevice>",
            ),
            "DirectedPickupCallResponse",
            "DivertedEvent",
            "EstablishedEvent",
        )
        assert reply.get("picked_call") == (call, LINE)
        assert diverted.get("cause") == "callPickup"
        assert diverted.get("diverting_device") == BOB
        assert diverted.get("new_destination") == LINE
        assert established.get("answering_device") == LINE
        assert established.get("calling_device") == ALICE_2
        assert server.switch.snapshot_device("1103") == []
        assert server.call_id_of("1101") == call

    async def test_directed_pickup_of_a_call_that_does_not_ring_there(self) -> None:
        server, _ = await self.setup()
        server.sim.call("1102", "1103")
        server.sim.answer("1103")
        call = server.call_id_of("1103")
        body = xml(
            "DirectedPickupCall",
            f"<callToBePickedUp>{conn(call, BOB)}</callToBePickedUp>"
            f"<requestingDevice>{LINE}</requestingDevice>",
        )
        assert await self.refused(body) == "stateIncompatibility/invalidConnectionState"
        assert server.switch.snapshot_device("1101") == []

    async def test_group_pickup(self) -> None:
        group = {"pickup_group": 3}
        server, _ = await self.setup(_plan(**{"1101": group, "1103": group}))
        server.sim.call("1102", "1103")
        call = server.call_id_of("1103")
        reply, events = await self.ok(
            xml("GroupPickupCall", f"<newDestination>{LINE}</newDestination>"),
            "GroupPickupCallResponse",
            "DivertedEvent",
            "EstablishedEvent",
        )
        assert reply.get("picked_call") == (call, LINE)
        assert [event.get("cause") for event in events] == ["callPickup"] * 2
        assert events[0].get("diverting_device") == BOB

    async def test_group_pickup_refusals(self) -> None:
        group = {"pickup_group": 3}
        server, _ = await self.setup(_plan(**{"1101": group, "1103": group}))
        pickup = xml("GroupPickupCall", f"<newDestination>{LINE}</newDestination>")
        assert await self.refused(pickup) == "stateIncompatibility/noCallToAnswer"
        server.sim.call("1102", "1104")  # rings outside the group
        assert await self.refused(pickup) == "stateIncompatibility/noCallToAnswer"
        not_in_group = xml("GroupPickupCall", f"<newDestination>{CAROL}</newDestination>")
        assert await self.refused(not_in_group) == "stateIncompatibility/invalidDeviceState"

    # -- park ----------------------------------------------------------------------------
    async def test_park_then_pickup_from_the_park_position(self) -> None:
        server, _ = await self.setup()
        call = await self.talking()
        reply, (queued, cleared) = await self.ok(
            xml("ParkCall", f"<parking>{conn(call, LINE)}</parking><parkTo>{BOB}</parkTo>"),
            "ParkCallResponse",
            "QueuedEvent",
            "ConnectionClearedEvent",
        )
        assert reply.get("parked_to") == (call, BOB)
        assert queued.get("cause") == "park"
        assert queued.get("queue") == BOB
        assert cleared.get("dropped_connection") == (call, LINE)
        assert server.switch.snapshot_device("1101") == []
        _, (diverted, established) = await self.ok(
            xml(
                "DirectedPickupCall",
                f"<callToBePickedUp>{conn(call, BOB)}</callToBePickedUp>"
                f"<requestingDevice>{LINE}</requestingDevice>",
            ),
            "DirectedPickupCallResponse",
            "DivertedEvent",
            "EstablishedEvent",
        )
        assert established.get("answering_device") == LINE
        assert server.call_id_of("1101") == call

    async def test_park_to_a_hunt_group_is_refused(self) -> None:
        server, _ = await self.setup()
        call = await self.talking()
        body = xml(
            "ParkCall", f"<parking>{conn(call, LINE)}</parking><parkTo>tel:+4685552100</parkTo>"
        )
        assert await self.refused(body) == "operation/invalidDestination"
        assert server.call_id_of("1101") == call

    # -- camp-on -------------------------------------------------------------------------
    async def test_camp_on_a_busy_extension(self) -> None:
        server, _ = await self.setup()
        busy, call = await self.busy_attempt()
        _, (queued,) = await self.ok(
            xml("CamponCall", f"<camponConnection>{conn(call, LINE)}</camponConnection>"),
            "CamponCallResponse",
            "QueuedEvent",
        )
        assert queued.get("cause") == "campOn"
        assert queued.get("queue") == DESK
        server.sim.hangup("1000")
        (delivered,) = await self.ua.expect_events("DeliveredEvent")
        assert delivered.get("cause") == "campOn"
        assert delivered.get("alerting_device") == DESK

    async def test_camp_on_a_call_that_did_not_fail_is_refused(self) -> None:
        server, _ = await self.setup()
        server.sim.call("1101", "1104")
        await self.ua.quiet()
        call = server.call_id_of("1101")
        body = xml("CamponCall", f"<camponConnection>{conn(call, LINE)}</camponConnection>")
        assert await self.refused(body) == "stateIncompatibility/invalidConnectionState"

    # -- call back -----------------------------------------------------------------------
    async def test_call_back_then_cancel(self) -> None:
        server, _ = await self.setup()
        _, call = await self.busy_attempt()
        reply = await self.ua.csta(
            xml("CallBack", f"<callbackConnection>{conn(call, LINE)}</callbackConnection>")
        )
        assert reply.name == "CallBackResponse", reply.response.body
        assert reply.get("target_device") == DESK
        set_event = await self.ua.skip_to("CallBackEvent")
        assert set_event.index > reply.index
        assert set_event.get("originating_device") == LINE
        assert set_event.get("target_device") == DESK
        assert set_event.get("call_back_set_canceled") is True
        assert server.switch.snapshot_device("1101") == []
        cancel = xml(
            "CancelCallBack",
            f"<originatingDevice>{LINE}</originatingDevice><targetDevice>{DESK}</targetDevice>",
        )
        _, (cancelled,) = await self.ok(cancel, "CancelCallBackResponse", "CallBackEvent")
        assert not cancelled.get("call_back_set_canceled")
        assert await self.refused(cancel) == "stateIncompatibility/invalidDeviceState"

    async def test_call_back_non_call_related_rings_back_when_free(self) -> None:
        server, _ = await self.setup()
        server.sim.call("1103", "1104")
        server.sim.answer("1104")
        await self.ua.quiet()
        order = xml(
            "CallBackNonCallRelated",
            f"<originatingDevice>{LINE}</originatingDevice><targetDevice>{CAROL}</targetDevice>",
        )
        _, (set_event,) = await self.ok(order, "CallBackNonCallRelatedResponse", "CallBackEvent")
        assert set_event.get("target_device") == CAROL
        server.sim.hangup("1103")
        (cleared_order, initiated) = await self.ua.expect_events(
            "CallBackEvent", "ServiceInitiatedEvent"
        )
        assert initiated.get("cause") == "callBack"

    async def test_call_back_on_an_answered_call_is_refused(self) -> None:
        server, _ = await self.setup()
        server.sim.call("1101", "1103")
        server.sim.answer("1103")
        await self.ua.quiet()
        call = server.call_id_of("1101")
        body = xml("CallBack", f"<callbackConnection>{conn(call, LINE)}</callbackConnection>")
        assert await self.refused(body) == "stateIncompatibility/invalidConnectionState"

    # -- intrusion -----------------------------------------------------------------------
    async def test_intrude_silently(self) -> None:
        server, _ = await self.setup(_plan(**{"1101": {"intrusion_allowed": True}}))
        busy, call = await self.busy_attempt()
        reply, (conferenced,) = await self.ok(
            xml(
                "IntrudeCall",
                f"<intrude>{conn(call, LINE)}</intrude>"
                "<participationType>silent</participationType>",
            ),
            "IntrudeCallResponse",
            "ConferencedEvent",
        )
        assert reply.get("conferenced_call") == (busy, LINE)
        assert conferenced.get("cause") == "intrude"
        assert conferenced.get("conferencing_device") == LINE
        assert conferenced.get("added_party") == LINE
        assert conferenced.get("secondary_old_call") == (call, LINE)  # the call that met busy
        assert server.call_id_of("1101") == busy
        assert server.switch.media(busy)["1001"] == ["1000"]  # silent: the line is not heard

    async def test_intrusion_without_the_right_is_refused(self) -> None:
        server, _ = await self.setup()
        busy, call = await self.busy_attempt()
        body = xml("IntrudeCall", f"<intrude>{conn(call, LINE)}</intrude>")
        assert await self.refused(body) == "operation/privilegeViolationSpecifiedDevice"
        assert "1101" not in server.switch.media(busy)

    # -- SingleStepConference ------------------------------------------------------------
    async def test_single_step_conference_silent(self) -> None:
        server, _ = await self.setup()
        call = await self.talking()
        reply, (conferenced,) = await self.ok(
            xml(
                "SingleStepConferenceCall",
                f"<activeCall>{conn(call, LINE)}</activeCall><deviceToJoin>{BOB}</deviceToJoin>"
                "<participationType>silent</participationType>",
            ),
            "SingleStepConferenceCallResponse",
            "ConferencedEvent",
        )
        assert reply.get("conferenced_call") == (call, BOB)
        assert conferenced.get("cause") == "silentParticipation"
        assert conferenced.get("conferencing_device") == LINE
        assert conferenced.get("added_party") == BOB
        heard = {device: sorted(sources) for device, sources in server.switch.media(call).items()}
        assert heard == {"1101": ["1102"], "1102": ["1101"], "1103": ["1101", "1102"]}

    async def test_single_step_conference_of_a_busy_device_is_refused(self) -> None:
        server, _ = await self.setup()
        call = await self.talking()
        server.sim.call("1103", "1104")
        server.sim.answer("1104")
        body = xml(
            "SingleStepConferenceCall",
            f"<activeCall>{conn(call, LINE)}</activeCall><deviceToJoin>{BOB}</deviceToJoin>",
        )
        assert await self.refused(body) == "systemResourceAvailibility/resourceBusy"
        assert server.call_id_of("1103") != call


class LyncCallFeaturesUdp(LyncCallFeatures, unittest.TestCase):
    transport = "udp"


class LyncCallFeaturesTcp(LyncCallFeatures, unittest.TestCase):
    transport = "tcp"
