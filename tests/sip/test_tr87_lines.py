"""What a Lync 2013 client meets on lines other than an IP phone, and the RCC requests beyond
sipe's set, end to end over real loopback UDP and TCP (docs/tr87.md, docs/devices.md,
docs/protocol-notes.md C9, C10):

- MakeCall from an analog, CAS or DECT line (``tel:+468555160x`` ...): Lync always asks
  ``autoOriginate doNotPrompt``, but the exchange cannot lift such a handset, so the line is
  prompted (ECMA TR/82 4.1): MakeCallResponse, ServiceInitiated (``initiated``) and nothing
  more until the simulated person goes off-hook; then Originated and Delivered. AnswerCall on
  the prompted line is refused inside a 200 OK; an unanswered prompt clears the call.
- A call-type monitor (ECMA-269 15.1.2) on the Lync line keeps reporting a call the line
  transferred away, every party in E.164.
- ConnectionIDs with only a callID or only a deviceID (ECMA-269 12.3.x), the deviceID in
  the E.164 form Lync uses.
- GetLogicalDeviceInformation / GetPhysicalDeviceInformation on the E.164 line.
- A Lync user whose number is an EDN (on a SIP desk phone and a DECT handset): an incoming
  call rings both and Lync's AnswerCall takes it on the desk phone; click-to-dial while the
  desk phone is busy uses the handset, which is prompted.
"""

from __future__ import annotations

import attrs
import pytest
from twisted.trial import unittest

from cstaserver.pbx.demo import demo_plan
from cstaserver.pbx.errors import Refusal, SwitchError
from cstaserver.pbx.plan import ExchangePlan
from tests.sip.tr87_ua import LINE, Lync, Reply, Tr87Server, Tr87UA, connect_ua, start_server
from tests.xmlproto.xml_client import brief, xml

BOB = "tel:+4685551103"
CAROL = "tel:+4685551104"
#: (exchange number, Lync line URI) of an analog, a CAS and a DECT extension of the demo
PROMPTED_LINES = (
    ("1601", "tel:+4685551601"),
    ("1701", "tel:+4685551701"),
    ("1301", "tel:+4685551301"),
)


class LyncLines:
    transport = "udp"
    timeout = 20

    plan: ExchangePlan | None = None

    async def setup(self, line: str = LINE, monitor_type: str | None = None) -> Tr87UA:
        self.server: Tr87Server = await start_server(self, plan=self.plan)  # type: ignore[arg-type]
        self.ua = await connect_ua(self, self.server, self.transport)  # type: ignore[arg-type]
        await self.ua.open(line)
        if monitor_type is None:
            self.xref = await self.ua.monitor(line)
        else:
            start = xml(
                "MonitorStart",
                f"<monitorObject><deviceObject>{line}</deviceObject></monitorObject>"
                f"<monitorType>{monitor_type}</monitorType>",
            )
            reply = await self.ua.csta(start)
            assert reply.name == "MonitorStartResponse", reply.response.body
            self.xref = str(reply.get("monitor_cross_ref_id"))
        return self.ua

    async def refused(self, body: str) -> str:
        """A CSTA error inside the 200 OK; returns ``category/value``."""
        reply = await self.ua.csta(body)
        assert reply.name == "CSTAErrorCode", reply.response.body
        error = reply.frame.error
        assert error is not None
        return error

    async def prompted(self, number: str, line: str) -> tuple[Reply, str]:
        """Lync's MakeCall from ``line`` to BOB; only ServiceInitiated follows."""
        ua = await self.setup(line)
        reply = await ua.csta(Lync.make_call(line, BOB))
        assert reply.name == "MakeCallResponse", reply.response.body
        call_id, device = reply.get("calling_device")
        assert device == line  # echoed as Lync wrote it (sipe keeps the call only then)
        (initiated,) = await ua.expect_events("ServiceInitiatedEvent")
        assert initiated.index > reply.index
        assert initiated.get("monitor_cross_ref_id") == self.xref
        assert brief(initiated) == ("ServiceInitiatedEvent", "initiated", "makeCall")
        assert initiated.get("initiated_connection") == (call_id, line)
        assert await ua.quiet() == []  # the terminal rings for its user; nobody is called
        states = [row[1].value for row in self.server.switch.snapshot_device("1103")]
        assert states == [], f"the called party rings before the caller lifted: {states}"
        return reply, str(call_id)

    async def check_prompted_then_off_hook(self, number: str, line: str) -> None:
        _, call_id = await self.prompted(number, line)
        assert await self.refused(Lync.answer(call_id, line)) == (
            "operation/requestIncompatibleWithObject"
        )
        self.server.sim.off_hook(number)  # the person lifts the handset
        originated, delivered = await self.ua.expect_events("OriginatedEvent", "DeliveredEvent")
        assert brief(originated) == ("OriginatedEvent", "connected", "makeCall")
        assert originated.get("originated_connection") == (call_id, line)
        assert delivered.get("alerting_device") == BOB
        assert delivered.get("calling_device") == line
        self.server.sim.answer("1103")
        (established,) = await self.ua.expect_events("EstablishedEvent")
        assert established.get("established_connection") == (call_id, BOB)
        assert established.get("calling_device") == line

    async def test_make_call_from_an_analog_line_is_prompted(self) -> None:
        await self.check_prompted_then_off_hook(*PROMPTED_LINES[0])

    async def test_make_call_from_a_cas_line_is_prompted(self) -> None:
        await self.check_prompted_then_off_hook(*PROMPTED_LINES[1])

    async def test_make_call_from_a_dect_handset_is_prompted(self) -> None:
        await self.check_prompted_then_off_hook(*PROMPTED_LINES[2])

    async def test_a_line_provisioned_as_a_dial_string_is_echoed_as_written(self) -> None:
        """A line URI in the dial-string form some RCC deployments provision: the response
        and the line's own events name it exactly so; the called party is in E.164."""
        line = "tel:1601;phone-context=dialstring"
        _, call_id = await self.prompted("1601", line)
        self.server.sim.off_hook("1601")
        originated, delivered = await self.ua.expect_events("OriginatedEvent", "DeliveredEvent")
        assert originated.get("originated_connection") == (call_id, line)
        assert delivered.get("calling_device") == line
        assert delivered.get("alerting_device") == BOB

    async def test_click_to_dial_from_a_virtual_extension_is_refused_and_the_line_goes_on(
        self,
    ) -> None:
        """A virtual extension (1400) has no terminal: MakeCall is refused inside the 200 OK;
        nothing rings anywhere, and the dialog goes on answering."""
        line = "tel:+4685551400"
        ua = await self.setup(line)
        assert await self.refused(Lync.make_call(line, BOB)) == "operation/invalidCallingDevice"
        assert await ua.quiet() == []
        assert self.server.switch.snapshot_device("1103") == []
        status = await ua.csta(Lync.request_system_status(line))
        assert status.get("system_status") == "normal"

    async def test_the_simulated_person_lifts_the_handset_by_itself(self) -> None:
        """Click-to-dial works unchanged: after prompt_answer_seconds the demo's person goes
        off-hook and the call proceeds."""
        _, call_id = await self.prompted(*PROMPTED_LINES[0])
        delay = self.server.switch.plan.prompt_answer_seconds
        assert delay is not None and delay > 0
        self.server.advance(delay - 0.5)
        assert await self.ua.quiet() == []
        self.server.advance(0.5)
        originated, delivered = await self.ua.expect_events("OriginatedEvent", "DeliveredEvent")
        assert originated.get("originated_connection") == (call_id, PROMPTED_LINES[0][1])
        assert delivered.get("alerting_device") == BOB

    async def test_a_prompt_nobody_answers_clears_the_call(self) -> None:
        number, line = PROMPTED_LINES[0]
        self.plan = attrs.evolve(demo_plan(), prompt_answer_seconds=None)  # nobody lifts
        _, call_id = await self.prompted(number, line)
        self.server.advance(self.server.switch.plan.alerting_timeout + 1)
        cleared, call_cleared = await self.ua.expect_events(
            "ConnectionClearedEvent", "CallClearedEvent"
        )
        assert cleared.get("dropped_connection") == (call_id, line)
        assert cleared.get("cause") == "alertTimeExpired"
        assert self.server.switch.snapshot_device(number) == []
        # the line is free again: a new MakeCall is prompted afresh
        again = await self.ua.csta(Lync.make_call(line, BOB))
        assert again.name == "MakeCallResponse", again.response.body

    async def test_call_type_monitor_follows_a_call_transferred_away(self) -> None:
        """MonitorStart monitorType call on the Lync line: after a single-step transfer the
        monitor reports the rest of the call (line's state null), parties in E.164."""
        ua = await self.setup(monitor_type="call")
        server = self.server
        server.sim.call("1102", "1101")
        (delivered,) = await ua.expect_events("DeliveredEvent")
        call_id = str(delivered.get("connection")[0])
        await ua.csta(Lync.answer(call_id, LINE))
        await ua.expect_events("EstablishedEvent")
        reply = await ua.csta(Lync.single_step_transfer(call_id, LINE, CAROL))
        assert reply.name == "SingleStepTransferCallResponse", reply.response.body
        (transferred,) = await ua.expect_events("TransferedEvent")
        assert transferred.get("transferred_to_device") == CAROL
        server.sim.answer("1104")
        server.sim.hangup("1104")
        rest = await ua.expect_events(
            "DeliveredEvent",
            "EstablishedEvent",
            "ConnectionClearedEvent",
            "ConnectionClearedEvent",
            "CallClearedEvent",
        )
        for event in rest:
            assert event.get("monitor_cross_ref_id") == self.xref
        assert [brief(e)[1] for e in rest[:4]] == ["null"] * 4
        assert rest[0].get("alerting_device") == CAROL
        assert rest[0].get("calling_device") == "tel:+4685551102"
        assert rest[1].get("answering_device") == CAROL
        dropped = {e.get("dropped_connection")[1] for e in rest[2:4]}
        assert dropped == {CAROL, "tel:+4685551102"}
        assert await ua.quiet() == []

    async def test_device_type_monitor_stops_at_the_transfer(self) -> None:
        ua = await self.setup()
        server = self.server
        server.sim.call("1102", "1101")
        (delivered,) = await ua.expect_events("DeliveredEvent")
        call_id = str(delivered.get("connection")[0])
        await ua.csta(Lync.answer(call_id, LINE))
        await ua.expect_events("EstablishedEvent")
        await ua.csta(Lync.single_step_transfer(call_id, LINE, CAROL))
        await ua.expect_events("TransferedEvent")
        server.sim.answer("1104")
        server.sim.hangup("1104")
        assert await ua.quiet() == []

    async def test_connection_ids_with_only_a_call_or_only_a_device(self) -> None:
        """AnswerCall with a callID alone, HoldCall and RetrieveCall with the E.164 deviceID
        alone; events carry the complete ConnectionID."""
        ua = await self.setup()
        server = self.server
        server.sim.call("1102", "1101")
        (delivered,) = await ua.expect_events("DeliveredEvent")
        call_id = str(delivered.get("connection")[0])
        answer = xml(
            "AnswerCall", f"<callToBeAnswered><callID>{call_id}</callID></callToBeAnswered>"
        )
        reply = await ua.csta(answer)
        assert reply.name == "AnswerCallResponse", reply.response.body
        (established,) = await ua.expect_events("EstablishedEvent")
        assert established.get("established_connection") == (call_id, LINE)
        hold = xml("HoldCall", f"<callToBeHeld><deviceID>{LINE}</deviceID></callToBeHeld>")
        reply = await ua.csta(hold)
        assert reply.name == "HoldCallResponse", reply.response.body
        (held,) = await ua.expect_events("HeldEvent")
        assert held.get("held_connection") == (call_id, LINE)
        retrieve = xml(
            "RetrieveCall", f"<callToBeRetrieved><deviceID>{LINE}</deviceID></callToBeRetrieved>"
        )
        reply = await ua.csta(retrieve)
        assert reply.name == "RetrieveCallResponse", reply.response.body
        (retrieved,) = await ua.expect_events("RetrievedEvent")
        assert retrieved.get("retrieved_connection") == (call_id, LINE)
        # ambiguous: a callID alone of a two-party call both ends of which are connected
        clear = xml(
            "ClearConnection",
            f"<connectionToBeCleared><callID>{call_id}</callID></connectionToBeCleared>",
        )
        assert await self.refused(clear) == "operation/invalidConnectionIdentifier"
        assert await ua.quiet() == []
        states = {row[1].value for row in server.switch.snapshot_device("1101")}
        assert states == {"connected"}

    async def test_logical_and_physical_device_information_of_lync_lines(self) -> None:
        """The E.164 line URIs name the same devices as their extension numbers: a SIP line
        holds several calls, an analog line one."""
        ua = await self.setup()
        expected = {LINE: (1, 7), "tel:+4685551601": (1, 1)}
        for line, (active, held) in expected.items():
            logical = await ua.csta(Lync.on_device("GetLogicalDeviceInformation", line))
            assert logical.name == "GetLogicalDeviceInformationResponse", logical.response.body
            assert logical.get("device_category") == "station"
            assert (logical.get("max_active_calls"), logical.get("max_held_calls")) == (
                active,
                held,
            )
            physical = await ua.csta(Lync.on_device("GetPhysicalDeviceInformation", line))
            assert physical.name == "GetPhysicalDeviceInformationResponse", physical.response.body
            assert physical.get("device_category") == "station"
        unknown = Lync.on_device("GetLogicalDeviceInformation", "tel:+4685551999")
        assert await self.refused(unknown) in (
            "operation/objectNotKnown",
            "operation/invalidDeviceID",
        )

    # -- a Lync user whose number is an EDN: one number on a SIP desk phone and a DECT handset
    async def test_a_call_to_an_edn_line_rings_both_phones_and_lync_answers_it(self) -> None:
        edn = "tel:+4685551105"  # on SIP phone 1100 and DECT handset 1300 (docs/devices.md)
        ua = await self.setup(edn)
        server = self.server
        server.sim.call("1102", "1105")
        (delivered,) = await ua.expect_events("DeliveredEvent")
        assert delivered.get("alerting_device") == edn
        call_id = str(delivered.get("connection")[0])
        reply = await ua.csta(Lync.answer(call_id, edn))
        assert reply.name == "AnswerCallResponse", reply.response.body
        (established,) = await ua.expect_events("EstablishedEvent")
        assert established.get("established_connection") == (call_id, edn)
        assert established.get("answering_device") == edn
        assert server.switch.calls[call_id].connections["1105"].terminal == "1100"
        with pytest.raises(SwitchError) as late:  # the DECT handset no longer rings
            server.sim.answer("1300")
        assert late.value.reason is Refusal.NO_CALL_TO_ANSWER
        assert await ua.quiet() == []  # the handset that stopped ringing has no event

    async def test_click_to_dial_from_an_edn_whose_desk_phone_is_busy_prompts_the_handset(
        self,
    ) -> None:
        edn = "tel:+4685551105"
        ua = await self.setup(edn)
        server = self.server
        server.sim.call("1102", "1100")  # someone calls the desk phone's own number
        server.sim.answer("1100")
        assert await ua.quiet() == []  # a call of 1100, not of the EDN
        reply = await ua.csta(Lync.make_call(edn, BOB))
        assert reply.name == "MakeCallResponse", reply.response.body
        call_id, device = reply.get("calling_device")
        assert device == edn
        (initiated,) = await ua.expect_events("ServiceInitiatedEvent")
        assert brief(initiated) == ("ServiceInitiatedEvent", "initiated", "makeCall")
        assert server.switch.calls[call_id].connections["1105"].terminal == "1300"
        server.advance(server.switch.plan.prompt_answer_seconds)
        originated, delivered = await ua.expect_events("OriginatedEvent", "DeliveredEvent")
        assert originated.get("originated_connection") == (call_id, edn)
        assert delivered.get("alerting_device") == BOB


class LyncLinesUdp(LyncLines, unittest.TestCase):
    transport = "udp"


class LyncLinesTcp(LyncLines, unittest.TestCase):
    transport = "tcp"
