"""The call centre as MX-ONE runs it, over the XML port: a routeing application registers for
the CTI group (ECMA-269 20.1.1 Route Register), gets a RouteRequest for each call queued
there (20.2.4), and routes it with RouteSelectRequest (20.2.5), answered by RouteUsed (20.2.6)
and RouteEnd (20.2.2); ReRoute (20.2.1) when its choice is busy; RouteEnd when the
application is too slow or the caller gives up. Each client is a separate association on
one in-memory server whose clock the test drives.

The first test is the call-centre case of the MX-ONE CSTA Server directions: an outside
caller dials the group; the application learns the A-number and the number dialled, picks a
free agent; the agent's Delivered carries the A-number and the group; the agent answers,
works after the call, and is ready again."""

from __future__ import annotations

from twisted.trial import unittest

from tests.xmlproto.test_xml_loopback_services import EXPECTED_SERVICES
from tests.xmlproto.xml_client import (
    ED3,
    Frame,
    MemoryClient,
    Req,
    for_monitor,
    make_world,
    names,
    xml,
)

CALLER = "+4685550107"
GROUP = "2000"


def route_register(device: str | None = GROUP) -> str:
    inner = f"<routeingDevice>{device}</routeingDevice>" if device else ""
    return xml("RouteRegister", inner)


def route_select(cross_ref: str, destination: str, *, used: bool = True, reg: str = "") -> str:
    inner = f"<crossRefIdentifier>{cross_ref}</crossRefIdentifier>"
    if reg:
        inner += f"<routeRegisterReqID>{reg}</routeRegisterReqID>"
    inner += f"<routeSelected>{destination}</routeSelected>"
    if used:
        inner += "<routeUsedReq>true</routeUsedReq>"
    return xml("RouteSelectRequest", inner)


def dialogue_message(root: str, cross_ref: str) -> str:
    return xml(root, f"<crossRefIdentifier>{cross_ref}</crossRefIdentifier>")


class CallCentre(unittest.TestCase):
    timeout = 10

    def setUp(self) -> None:
        self.world = make_world()
        self.sim = self.world.sim
        self.router: MemoryClient = self.world.connect()  # the routeing application
        self.agents: MemoryClient = self.world.connect()  # the agents' desktop application

    def send(self, request: str) -> str:
        """Send a request that has no positive response; its invoke ID."""
        invoke_id = self.router.next_invoke_id()
        self.router.send_frame(invoke_id, request)
        return invoke_id

    async def register(self, device: str | None = GROUP) -> str:
        frame = await self.router.ok(route_register(device))
        return frame.message.route_register_req_id

    async def agent_ready(self, device: str, agent: str) -> str:
        xref = await self.agents.monitor(device)
        await self.agents.ok(Req.set_agent_state(device, "loggedOn", agent, GROUP))
        await self.agents.ok(Req.set_agent_state(device, "ready"))
        return xref

    async def route_request(self) -> Frame:
        (frame,) = [f for f in await self.router.drain() if f.name == "RouteRequest"]
        return frame

    async def test_the_call_centre_case(self) -> None:
        register_id = await self.register()
        agent_xref = await self.agent_ready("1001", "5001")
        group_xref = await self.agents.monitor(GROUP)
        await self.agents.drain()
        call = self.sim.call(CALLER, "+4685552000")

        request = await self.route_request()
        assert request.get("route_register_req_id") == register_id
        assert request.get("calling_device") == CALLER  # the A-number
        assert request.get("current_route") == GROUP  # the number dialled
        assert request.get("routeing_device") == GROUP
        assert request.get("routed_call") == (call, GROUP)
        assert request.get("reply_timeout") == 10
        (queued,) = for_monitor(await self.agents.drain(), group_xref)
        assert queued.name == "QueuedEvent"

        cross_ref = request.get("cross_ref_identifier")
        invoke_id = self.send(route_select(cross_ref, "1001"))
        used, end = await self.router.drain()
        assert invoke_id not in {f.invoke_id for f in self.router.received}  # no response
        assert (used.name, used.get("route_used")) == ("RouteUsedRequest", "1001")
        assert (end.name, end.get("cross_ref_identifier")) == ("RouteEndRequest", cross_ref)
        assert end.get("error_value") is None  # ended normally

        events = await self.agents.drain()
        (diverted,) = for_monitor(events, group_xref)
        assert (diverted.name, diverted.get("new_destination")) == ("DivertedEvent", "1001")
        (delivered,) = for_monitor(events, agent_xref)
        assert delivered.name == "DeliveredEvent"
        assert delivered.get("calling_device") == CALLER
        assert delivered.get("called_device") == GROUP
        assert delivered.get("last_redirection_device") == GROUP
        assert delivered.get("cause") == "distributed"

        self.sim.answer("1001")
        self.sim.hangup(CALLER)
        wrap_up = self.world.switch.plan.acd_groups[0].wrap_up_seconds
        self.world.advance(wrap_up)
        agent_events = for_monitor(await self.agents.drain(), agent_xref)
        assert names(agent_events) == [
            "EstablishedEvent",
            "AgentBusyEvent",
            "ConnectionClearedEvent",
            "ConnectionClearedEvent",
            "AgentWorkingAfterCallEvent",
            "CallClearedEvent",
            "AgentReadyEvent",
        ]

    async def test_a_withheld_caller_is_restricted_in_the_route_request(self) -> None:
        await self.register()
        await self.agent_ready("1001", "5001")
        self.sim.call(CALLER, GROUP, withheld=True)
        (frame,) = [f for f in await self.router.drain() if f.name == "RouteRequest"]
        body = frame.body.decode()
        assert "<callingDevice><restricted/></callingDevice>" in body
        assert CALLER not in body
        assert "<associatedCallingDevice><deviceIdentifier>0</deviceIdentifier>" in body

    async def test_a_busy_choice_is_asked_again(self) -> None:
        await self.register()
        await self.agent_ready("1001", "5001")
        self.sim.busy("1002", True)
        call = self.sim.call(CALLER, GROUP)
        cross_ref = (await self.route_request()).get("cross_ref_identifier")
        self.send(route_select(cross_ref, "1002"))
        (reroute,) = await self.router.drain()
        assert (reroute.name, reroute.get("cross_ref_identifier")) == ("ReRouteRequest", cross_ref)
        self.send(route_select(cross_ref, "1001", used=False))
        (end,) = await self.router.drain()
        assert end.name == "RouteEndRequest"
        states = {d: s.value for d, s in self.world.switch.snapshot_call(call)}
        assert states == {CALLER: "connected", "1001": "alerting"}

    async def test_requests_for_dialogues_the_client_does_not_have_are_refused(self) -> None:
        register_id = await self.register()
        other = self.world.connect()
        self.sim.call(CALLER, GROUP)
        cross_ref = (await self.route_request()).get("cross_ref_identifier")
        refused = await other.error(route_select(cross_ref, "1001"))
        assert refused == "operation/invalidRouteingCrossRefID"
        assert await other.error(route_select("999", "1001")) == refused
        wrong_reg = await self.router.error(route_select(cross_ref, "1001", reg="77"))
        assert wrong_reg == "operation/invalidRouteRegistrationCrossRefID"
        cancel = xml(
            "RouteRegisterCancel", f"<routeRegisterReqID>{register_id}</routeRegisterReqID>"
        )
        assert await other.error(cancel) == wrong_reg
        not_a_group = await self.router.error(route_register("1001"))
        assert not_a_group == "operation/invalidDeviceIdentifier"

    async def test_no_route_in_time_ends_the_dialogue_and_the_call_waits(self) -> None:
        await self.register()
        call = self.sim.call(CALLER, GROUP)
        request = await self.route_request()
        self.world.advance(request.get("reply_timeout"))
        (end,) = await self.router.drain()
        assert end.name == "RouteEndRequest"
        assert end.get("error_value") is not None
        states = {d: s.value for d, s in self.world.switch.snapshot_call(call)}
        assert states == {CALLER: "connected", GROUP: "queued"}  # the demo group keeps it
        self.world.switch.deflect_call(call, GROUP, "1003")  # the exchange still routes it
        assert await self.router.drain() == []

    async def test_the_caller_gives_up_while_the_application_decides(self) -> None:
        await self.register(None)  # every group
        self.sim.call(CALLER, GROUP)
        cross_ref = (await self.route_request()).get("cross_ref_identifier")
        self.sim.hangup(CALLER)
        (end,) = await self.router.drain()
        assert (end.name, end.get("cross_ref_identifier")) == ("RouteEndRequest", cross_ref)
        assert await self.router.error(route_select(cross_ref, "1001")) == (
            "operation/invalidRouteingCrossRefID"
        )

    async def test_route_end_and_reject_from_the_application(self) -> None:
        await self.register()
        first = self.sim.call(CALLER, GROUP)
        cross_ref = (await self.route_request()).get("cross_ref_identifier")
        self.send(dialogue_message("RouteEndRequest", cross_ref))
        assert await self.router.drain() == []  # no answer, the call still waits
        states = {d: s.value for d, s in self.world.switch.snapshot_call(first)}
        assert states[GROUP] == "queued"
        second = self.sim.call("+4685550108", GROUP)
        cross_ref = (await self.route_request()).get("cross_ref_identifier")
        self.send(dialogue_message("RouteReject", cross_ref))
        (end,) = await self.router.drain()
        assert end.name == "RouteEndRequest"
        states = {d: s.value for d, s in self.world.switch.snapshot_call(second)}
        assert states[GROUP] == "queued"  # on_route_timeout of the demo group: stay queued

    async def test_an_unanswered_agent_sends_the_call_back_for_a_new_route(self) -> None:
        await self.register()
        agent_xref = await self.agent_ready("1001", "5001")
        self.sim.call(CALLER, GROUP)
        cross_ref = (await self.route_request()).get("cross_ref_identifier")
        self.send(route_select(cross_ref, "1001", used=False))
        await self.router.drain()
        self.world.advance(self.world.switch.plan.acd_groups[0].ring_seconds)
        again = await self.route_request()
        assert again.get("cross_ref_identifier") != cross_ref
        assert again.get("calling_device") == CALLER
        agent_events = for_monitor(await self.agents.drain(), agent_xref)
        cleared = next(e for e in agent_events if e.name == "ConnectionClearedEvent")
        assert cleared.get("cause") == "callNotAnswered"
        assert names(agent_events)[-1] == "AgentNotReadyEvent"

    async def test_calls_already_waiting_are_offered_to_a_new_registration(self) -> None:
        first = self.sim.call(CALLER, GROUP)
        second = self.sim.call("+4685550108", GROUP)
        await self.router.drain()
        frame = await self.router.ok(route_register())
        requests = [f for f in await self.router.drain() if f.name == "RouteRequest"]
        assert [r.get("routed_call") for r in requests] == [(first, GROUP), (second, GROUP)]
        assert self.router.received.index(frame) < self.router.received.index(requests[0])

    async def test_registrations_end_with_their_client(self) -> None:
        await self.register()
        await self.router.disconnect()
        call = self.sim.call(CALLER, GROUP)
        assert self.world.core.routeing.registrations == {}
        assert self.world.core.routeing.dialogues == {}
        states = {d: s.value for d, s in self.world.switch.snapshot_call(call)}
        assert states == {CALLER: "connected", GROUP: "queued"}

    async def test_the_routeing_services_are_announced(self) -> None:
        frame = await self.router.ok(xml("GetCSTAFeatures", ns=ED3))
        routeing = frame.message.supported_services.routeing_serv_list
        assert set(routeing) == EXPECTED_SERVICES["routeingServList"]
        assert {"routeRequest", "reRoute", "routeUsed"} <= set(routeing)  # sent by the server
