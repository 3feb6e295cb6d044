"""The Lync 2013 RCC feature set (docs/protocol-notes.md P2, A10) end to end over real loopback UDP
and TCP: make call, answer, hold/retrieve, consultation transfer, single-step transfer,
alternate, forwarding to internal and external numbers, deflect, DTMF, SnapshotDevice,
do-not-disturb. Every response is a 200 OK with the CSTA response; each event arrives
after it, on the line's monitor, with every party in E.164."""

from __future__ import annotations

from twisted.trial import unittest

from tests.sip.tr87_ua import (
    LINE,
    Lync,
    LyncCase,
)
from tests.xmlproto.xml_client import xml

ALICE_2 = "tel:+4685551102"
BOB = "tel:+4685551103"
CAROL = "tel:+4685551104"
OUTSIDE = "tel:+4631234567"  # another country's E.164 number: external


class LyncFeatures(LyncCase):
    async def incoming(self, caller: str = "1102") -> str:
        """``caller`` dials the line; returns the call ID from the Delivered event."""
        self.server.sim.call(caller, "1101")
        states = [row[1].value for row in self.server.switch.snapshot_device("1101")]
        assert "alerting" in states, f"the line does not ring: {states}"  # fail fast
        (delivered,) = await self.ua.expect_events("DeliveredEvent")
        assert delivered.get("alerting_device") == LINE
        assert delivered.get("calling_device") == f"tel:+468555{caller}"
        return str(delivered.get("connection")[0])

    async def talking(self, caller: str = "1102") -> str:
        """An incoming call answered with AnswerCall; returns its call ID."""
        call_id = await self.incoming(caller)
        _, (established,) = await self.ok(
            Lync.answer(call_id, LINE), "AnswerCallResponse", "EstablishedEvent"
        )
        assert established.get("answering_device") == LINE
        return call_id

    async def test_make_call_answered_and_cleared_far_end(self) -> None:
        server, ua = await self.setup()
        reply, _ = await self.ok(
            Lync.make_call(LINE, BOB),
            "MakeCallResponse",
            "ServiceInitiatedEvent",
            "OriginatedEvent",
            "DeliveredEvent",
        )
        call_id, _ = reply.get("calling_device")
        server.sim.answer("1103")
        (established,) = await ua.expect_events("EstablishedEvent")
        assert established.get("established_connection") == (call_id, BOB)
        server.sim.hangup("1103")
        cleared = await ua.skip_to("ConnectionClearedEvent")
        assert cleared.get("dropped_connection") == (call_id, BOB)

    async def test_answer_and_clear(self) -> None:
        _, _ = await self.setup()
        call_id = await self.talking()
        _, events = await self.ok(
            Lync.clear_connection(call_id, LINE),
            "ClearConnectionResponse",
            "ConnectionClearedEvent",
            "CallClearedEvent",
        )
        assert events[0].get("dropped_connection") == (call_id, LINE)

    async def test_hold_and_retrieve(self) -> None:
        await self.setup()
        call_id = await self.talking()
        _, (held,) = await self.ok(Lync.hold(call_id, LINE), "HoldCallResponse", "HeldEvent")
        assert held.get("held_connection") == (call_id, LINE)
        _, (retrieved,) = await self.ok(
            Lync.retrieve(call_id, LINE), "RetrieveCallResponse", "RetrievedEvent"
        )
        assert retrieved.get("retrieved_connection") == (call_id, LINE)

    async def consult(self, first: str) -> str:
        """ConsultationCall to 1104, answered there; returns the consultation call ID."""
        reply, _ = await self.ok(
            Lync.consultation(first, LINE, CAROL),
            "ConsultationCallResponse",
            "HeldEvent",
            "ServiceInitiatedEvent",
            "OriginatedEvent",
            "DeliveredEvent",
        )
        consultation, device = reply.get("initiated_call")
        assert device == LINE
        self.server.sim.answer("1104")
        await self.ua.expect_events("EstablishedEvent")
        return str(consultation)

    async def test_consultation_transfer(self) -> None:
        server, _ = await self.setup()
        first = await self.talking()
        consultation = await self.consult(first)
        _, (transferred,) = await self.ok(
            Lync.two_calls("TransferCall", first, consultation, LINE),
            "TransferCallResponse",
            "TransferedEvent",
        )
        assert transferred.get("transferring_device") == LINE
        assert transferred.get("transferred_to_device") == CAROL
        assert server.switch.snapshot_device("1101") == []
        assert server.call_id_of("1102") == server.call_id_of("1104")

    async def test_answer_a_waiting_second_call_while_talking(self) -> None:
        """Call waiting (the demo's SIP lines have it): a second call rings while the line is
        in a call; AnswerCall on it holds the first (Held, then Established)."""
        server, ua = await self.setup()
        first = await self.talking()
        server.sim.call("1103", "1101")
        (waiting,) = await ua.expect_events("DeliveredEvent")
        assert waiting.get("cause") == "campOn"
        assert waiting.get("calling_device") == BOB
        second = str(waiting.get("connection")[0])
        assert second != first
        _, (held, established) = await self.ok(
            Lync.answer(second, LINE), "AnswerCallResponse", "HeldEvent", "EstablishedEvent"
        )
        assert held.get("held_connection") == (first, LINE)
        assert established.get("established_connection") == (second, LINE)
        states = {call: state.value for call, state, _ in server.switch.snapshot_device("1101")}
        assert states == {first: "hold", second: "connected"}

    async def test_transfer_by_hanging_up_the_consultation(self) -> None:
        """ClearConnection of the consultation while the first call is held: MX-ONE's
        transfer on hang-up joins the held party and the consulted party."""
        server, _ = await self.setup()
        first = await self.talking()
        consultation = await self.consult(first)
        _, (transferred,) = await self.ok(
            Lync.clear_connection(consultation, LINE),
            "ClearConnectionResponse",
            "TransferedEvent",
        )
        assert transferred.get("cause") == "transfer"
        assert transferred.get("transferring_device") == LINE
        assert transferred.get("transferred_to_device") == CAROL
        assert server.switch.snapshot_device("1101") == []
        assert server.call_id_of("1102") == server.call_id_of("1104") == first

    async def test_alternate_between_held_and_consultation_call(self) -> None:
        await self.setup()
        first = await self.talking()
        consultation = await self.consult(first)
        _, (held, retrieved) = await self.ok(
            Lync.two_calls("AlternateCall", first, consultation, LINE),
            "AlternateCallResponse",
            "HeldEvent",
            "RetrievedEvent",
        )
        assert held.get("held_connection") == (consultation, LINE)
        assert retrieved.get("retrieved_connection") == (first, LINE)

    async def test_single_step_transfer(self) -> None:
        server, _ = await self.setup()
        call_id = await self.talking()
        _, (transferred,) = await self.ok(
            Lync.single_step_transfer(call_id, LINE, BOB),
            "SingleStepTransferCallResponse",
            "TransferedEvent",
        )
        assert transferred.get("transferred_to_device") == BOB
        assert server.call_id_of("1103") == server.call_id_of("1102")

    async def test_deflect(self) -> None:
        server, _ = await self.setup()
        call_id = await self.incoming()
        _, (diverted,) = await self.ok(
            Lync.deflect(call_id, LINE, BOB), "DeflectCallResponse", "DivertedEvent"
        )
        assert diverted.get("new_destination") == BOB
        assert server.call_id_of("1103") == call_id

    async def check_forwarding(self, target: str) -> None:
        """The forwarding destination reads the same, in E.164, in the event and the list."""
        server, ua = await self.setup()
        _, (forwarding,) = await self.ok(
            Lync.set_forwarding(LINE, "forwardImmediate", target),
            "SetForwardingResponse",
            "ForwardingEvent",
        )
        assert (forwarding.get("forward_status"), forwarding.get("forward_to")) == (True, target)
        listed = await ua.csta(Lync.on_device("GetForwarding", LINE))
        assert b"<forwardingType>forwardImmediate</forwardingType>" in listed.response.body
        assert f"<forwardDN>{target}</forwardDN>".encode() in listed.response.body
        server.sim.call("1102", "1101")
        (diverted,) = await ua.expect_events("DivertedEvent")
        assert diverted.get("cause") == "callForwardImmediate"
        assert diverted.get("new_destination") == target
        server.sim.hangup("1102")
        _, (off,) = await self.ok(
            Lync.set_forwarding(LINE, "forwardImmediate", None, on=False),
            "SetForwardingResponse",
            "ForwardingEvent",
        )
        assert not off.get("forward_status")

    async def test_forward_to_internal_number(self) -> None:
        await self.check_forwarding(BOB)

    async def test_forward_to_external_number(self) -> None:
        await self.check_forwarding(OUTSIDE)

    async def test_forward_on_no_answer_after_the_rings_asked_for(self) -> None:
        server, ua = await self.setup()
        forward = Lync.on_device(
            "SetForwarding",
            LINE,
            "<forwardingType>forwardNoAns</forwardingType><activateForward>true</activateForward>"
            f"<forwardDN>{BOB}</forwardDN><ringCount>2</ringCount>",
        )
        _, (forwarding,) = await self.ok(forward, "SetForwardingResponse", "ForwardingEvent")
        assert forwarding.get("forwarding_type") == "forwardNoAns"
        listed = await ua.csta(Lync.on_device("GetForwarding", LINE))
        assert b"<ringCount>2</ringCount>" in listed.response.body
        call_id = await self.incoming()
        server.advance(2 * server.switch.plan.no_answer_ring_seconds - 0.1)
        assert await ua.quiet() == []
        server.advance(0.1)
        (diverted,) = await ua.expect_events("DivertedEvent")
        assert diverted.get("cause") == "callForwardNoAnswer"
        assert diverted.get("new_destination") == BOB
        assert diverted.get("connection") == (call_id, LINE)
        assert server.call_id_of("1103") == call_id

    async def test_forward_on_busy(self) -> None:
        server, ua = await self.setup()
        await self.ok(
            Lync.set_forwarding(LINE, "forwardBusy", BOB),
            "SetForwardingResponse",
            "ForwardingEvent",
        )
        server.sim.busy("1101", True)
        server.sim.call("1102", "1101")
        (diverted,) = await ua.expect_events("DivertedEvent")
        assert diverted.get("cause") == "callForwardBusy"
        assert diverted.get("new_destination") == BOB
        assert server.call_id_of("1103") == server.call_id_of("1102")

    async def test_dtmf(self) -> None:
        await self.setup()
        call_id = await self.talking()
        _, (digits,) = await self.ok(
            Lync.generate_digits(call_id, LINE, "12*#"),
            "GenerateDigitsResponse",
            "DigitsGeneratedEvent",
        )
        assert digits.get("digit_generated_list") == "12*#"

    async def test_snapshot_device(self) -> None:
        _, ua = await self.setup()
        idle = await ua.csta(Lync.snapshot_device(LINE))
        assert idle.name == "SnapshotDeviceResponse"
        assert b"<callID>" not in idle.response.body
        call_id = await self.talking()
        busy = await ua.csta(Lync.snapshot_device(LINE))
        body = busy.response.body
        assert f"<callID>{call_id}</callID><deviceID>{LINE}</deviceID>".encode() in body
        assert b"connected" in body

    async def test_do_not_disturb(self) -> None:
        server, ua = await self.setup()
        _, (dnd,) = await self.ok(
            Lync.set_dnd(LINE, True), "SetDoNotDisturbResponse", "DoNotDisturbEvent"
        )
        assert dnd.get("do_not_disturb_on") is True
        state = await ua.csta(Lync.on_device("GetDoNotDisturb", LINE))
        assert state.get("do_not_disturb_on") is True
        server.sim.call("1102", "1101")  # refused: the line never rings
        assert await ua.quiet() == []
        server.sim.hangup("1102")
        await self.ok(Lync.set_dnd(LINE, False), "SetDoNotDisturbResponse", "DoNotDisturbEvent")
        state = await ua.csta(Lync.on_device("GetDoNotDisturb", LINE))
        assert not state.get("do_not_disturb_on")

    async def test_answer_a_second_call_after_holding_the_first(self) -> None:
        await self.setup()
        first = await self.talking("1102")
        await self.ok(Lync.hold(first, LINE), "HoldCallResponse", "HeldEvent")
        second = await self.talking("1103")
        assert second != first

    # -- TR/87 clause 8 profiles beyond Lync's own set (conferencing, other call control,
    # -- capability exchange, agents), as other uaCSTA clients send them -------------------
    async def test_consultation_then_conference(self) -> None:
        await self.setup()
        first = await self.talking()
        consultation = await self.consult(first)
        reply, (conferenced,) = await self.ok(
            Lync.two_calls("ConferenceCall", first, consultation, LINE),
            "ConferenceCallResponse",
            "ConferencedEvent",
        )
        assert reply.get("conference_call")[0] == first
        assert conferenced.get("cause") == "conference"
        assert conferenced.get("added_party") == CAROL
        parties = {item["new_connection"] for item in conferenced.get("conference_connections")}
        assert parties == {(first, LINE), (first, ALICE_2), (first, CAROL)}

    async def test_leaving_a_conference_keeps_the_others_talking(self) -> None:
        server, _ = await self.setup()
        first = await self.talking()
        consultation = await self.consult(first)
        await self.ok(
            Lync.two_calls("ConferenceCall", first, consultation, LINE),
            "ConferenceCallResponse",
            "ConferencedEvent",
        )
        _, (cleared,) = await self.ok(
            Lync.clear_connection(first, LINE), "ClearConnectionResponse", "ConnectionClearedEvent"
        )
        assert cleared.get("dropped_connection") == (first, LINE)
        assert server.switch.snapshot_device("1101") == []
        assert server.call_id_of("1102") == server.call_id_of("1104") == first
        states = {row[1].value for row in server.switch.snapshot_device("1104")}
        assert states == {"connected"}

    async def test_reconnect_after_a_consultation(self) -> None:
        server, _ = await self.setup()
        first = await self.talking()
        consultation = await self.consult(first)
        _, events = await self.ok(
            Lync.two_calls("ReconnectCall", first, consultation, LINE),
            "ReconnectCallResponse",
            "ConnectionClearedEvent",
            "CallClearedEvent",
            "RetrievedEvent",
        )
        assert events[0].get("dropped_connection") == (consultation, LINE)
        assert events[-1].get("retrieved_connection") == (first, LINE)
        states = {call: state.value for call, state, _ in server.switch.snapshot_device("1101")}
        assert states == {first: "connected"}

    async def test_clear_call(self) -> None:
        server, _ = await self.setup()
        call_id = await self.talking()
        _, events = await self.ok(
            Lync.clear_call(call_id, LINE),
            "ClearCallResponse",
            "ConnectionClearedEvent",
            "ConnectionClearedEvent",
            "CallClearedEvent",
        )
        dropped = {event.get("dropped_connection") for event in events[:2]}
        assert dropped == {(call_id, LINE), (call_id, ALICE_2)}
        assert server.switch.snapshot_device("1102") == []

    async def test_snapshot_call_names_every_party_in_e164(self) -> None:
        _, ua = await self.setup()
        call_id = await self.talking()
        reply = await ua.csta(Lync.snapshot_call(call_id, LINE))
        assert reply.name == "SnapshotCallResponse", reply.response.body
        states = {
            item["device_on_call"]: item["local_connection_state"]
            for item in reply.get("snapshot")["snapshot_data"]
        }
        assert states == {LINE: "connected", ALICE_2: "connected"}

    async def test_get_switching_function_devices_in_e164(self) -> None:
        """The response, then the device list as INFOs in the dialog, each device named as
        the client's events name it (E.164 for an extension with a public number)."""
        server, ua = await self.setup()
        reply = await ua.csta(xml("GetSwitchingFunctionDevices"))
        assert reply.name == "GetSwitchingFunctionDevicesResponse", reply.response.body
        xref = reply.get("service_cross_ref_id")
        listed: list[str] = []
        for _ in range(50):
            segment = await ua.next_event()
            assert segment.name == "SwitchingFunctionDevices"
            assert segment.index > reply.index
            ua.assert_in_dialog(segment.request)
            assert segment.get("service_cross_ref_id") == xref
            listed += [entry["device_id"] for entry in segment.get("device_list")]
            if segment.get("last_segment"):
                break
        assert len(listed) == len(server.switch.devices())
        assert {LINE, ALICE_2, "tel:+4685551601"} <= set(listed)
        assert "1101" not in listed

    async def test_agent_state_of_a_lync_line(self) -> None:
        """SetAgentState / GetAgentState on an agent's line named in E.164: the group it is
        logged on to comes back named as everything else on this dialog."""
        _, ua = await self.setup()
        agent_line = "tel:+4685551002"
        logon = await ua.csta(Lync.set_agent_state(agent_line, "loggedOn", "5001", "2000"))
        assert logon.name == "SetAgentStateResponse", logon.response.body
        state = await ua.csta(Lync.on_device("GetAgentState", agent_line))
        assert state.name == "GetAgentStateResponse", state.response.body
        (entry,) = state.get("agent_state_list")
        assert entry["agent_id"] == "5001"
        assert entry["logged_on_state"] is True
        (info,) = entry["agent_info"]
        assert info["acd_group"] == "tel:+4685552000"


class LyncFeaturesUdp(LyncFeatures, unittest.TestCase):
    transport = "udp"


class LyncFeaturesTcp(LyncFeatures, unittest.TestCase):
    transport = "tcp"
