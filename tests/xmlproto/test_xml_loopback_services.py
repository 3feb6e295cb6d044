"""Every CSTA service of the XML port end to end over a real loopback TCP connection
(ECMA-269 semantics, ECMA-323 encoding): the response echoes the invoke ID, and the events
each service causes reach the monitors, after the response (docs/protocol-notes.md R6)."""

from __future__ import annotations

from twisted.trial import unittest

from tests.xmlproto.xml_client import (
    APPL,
    ED3,
    LoopbackServer,
    Req,
    XmlClient,
    brief,
    conn,
    for_monitor,
    make_world,
    names,
    xml,
)

#: The service flags GetCSTAFeatures must list: exactly the services we implement.
EXPECTED_SERVICES = {
    "capExchangeServList": {
        "getCSTAFeatures",
        "getLogicalDeviceInformation",
        "getPhysicalDeviceInformation",
        "getSwitchingFunctionDevices",
    },
    "systemStatServList": {"requestSystemStatus", "systemRegister", "systemRegisterCancel"},
    "monitoringServList": {"changeMonitorFilter", "monitorStart", "monitorStop"},
    "snapshotServList": {"snapshotCall", "snapshotDevice"},
    "callControlServList": {
        "alternateCall",
        "answerCall",
        "callBack",
        "campOnCall",
        "clearCall",
        "clearConnection",
        "conferenceCall",
        "consultationCall",
        "deflectCall",
        "directedPickupCall",
        "groupPickupCall",
        "holdCall",
        "intrudeCall",
        "makeCall",
        "makePredictiveCall",
        "parkCall",
        "reconnectCall",
        "retrieveCall",
        "singleStepConference",
        "singleStepTransfer",
        "transferCall",
    },
    "callAssociatedServList": {"generateDigits"},
    "physDevServList": {"getMessageWaitingIndicator", "setMessageWaitingIndicator"},
    "logicalServList": {
        "callBackNonCallRel",
        "cancelCallBack",
        "getAgentState",
        "getDoNotDisturb",
        "getForwarding",
        "setAgentState",
        "setDoNotDisturb",
        "setForwarding",
    },
    "routeingServList": {
        "reRoute",
        "routeEnd",
        "routeRegister",
        "routeRegisterCancel",
        "routeReject",
        "routeRequest",
        "routeSelect",
        "routeUsed",
    },
}

#: One device of every kind of the demo exchange (README, "The demo numbers").
DEVICE_OF_EVERY_KIND = {
    "IP": "1000",
    "SIP ODN": "1100",
    "SIP EDN": "1105",
    "remote": "1200",
    "DECT": "1300",
    "virtual": "1400",
    "digital": "1500",
    "digital ADN": "1503",
    "analog": "1600",
    "CAS": "1700",
    "ACD group": "2000",
    "hunt group": "2100",
    "cascade group": "2101",
}


def true_flags(element) -> dict[str, set[str]]:  # type: ignore[no-untyped-def]
    """``{listName: {flag, ...}}`` of the flags set true under a supportedServices element."""
    from cstaserver.csta.codec import local_name

    return {
        local_name(lst): {local_name(f) for f in lst if (f.text or "").strip() == "true"}
        for lst in element
    }


class LoopbackServiceTests(unittest.TestCase):
    timeout = 20
    tls = False

    async def setUp(self) -> None:
        self.world = make_world()
        self.server = LoopbackServer(self, self.world.factory, tls=self.tls)
        self.client = await self.server.connect()

    async def call_between(self, calling: str, called: str, *, answer: bool = True) -> str:
        call = await self.client.make_call(calling, called)
        if answer:
            await self.client.ok(Req.answer(call, called))
        await self.client.drain()
        return call

    # -- capabilities and system -----------------------------------------------------------
    async def test_get_csta_features_lists_exactly_the_registered_services(self) -> None:
        frame = await self.client.ok(xml("GetCSTAFeatures"), "GetCSTAFeaturesResponse")
        services = next(e for e in frame.decoded.element if e.tag.endswith("supportedServices"))
        assert true_flags(services) == EXPECTED_SERVICES
        events = next(e for e in frame.decoded.element if e.tag.endswith("supportedEvents"))
        call_control = true_flags(events)["callControlEvtsList"]
        assert {"delivered", "established", "connectionCleared", "transferred"} <= call_control
        assert "digitsDialed" in call_control
        assert "callInformation" in true_flags(events)["callAssociatedEvtsList"]
        assert "callBack" in true_flags(events)["logicalEvtsList"]
        assert true_flags(events)["physDevEvtsList"] == {"messageWaiting"}

    async def test_get_switching_function_devices_then_device_lists(self) -> None:
        frame = await self.client.ok(xml("GetSwitchingFunctionDevices"))
        xref = frame.message.service_cross_ref_id
        listed: list[str] = []
        for _ in range(50):
            segment = await self.client.next_event("SwitchingFunctionDevices")
            assert segment.invoke_id == "9999"
            assert segment.message.service_cross_ref_id == xref
            listed += [entry["device_id"] for entry in segment.get("device_list")]
            if segment.message.last_segment:
                break
        demo = [d.number for d in self.world.switch.devices()]
        assert listed == demo
        assert {"1000", "1105", "1503", "1700", "2000", "2100", "2101"} <= set(listed)
        first_segment = next(
            f for f in self.client.received if f.name == "SwitchingFunctionDevices"
        )
        assert self.client.received.index(frame) < self.client.received.index(first_segment)

    async def test_logical_and_physical_device_information(self) -> None:
        for device, category in (("1000", "station"), ("2000", "acd"), ("2100", "group")):
            logical = await self.client.ok(Req.on_device("GetLogicalDeviceInformation", device))
            physical = await self.client.ok(Req.on_device("GetPhysicalDeviceInformation", device))
            assert logical.get("device_category") == category
            assert physical.get("device_category") == category
        held = {}
        for device in ("1000", "1600", "1700", "1300", "2000"):
            logical = await self.client.ok(Req.on_device("GetLogicalDeviceInformation", device))
            held[device] = (logical.get("max_active_calls"), logical.get("max_held_calls"))
        # what HoldCall allows: several on IP, DECT; one on analog and CAS; groups none
        assert held == {
            "1000": (1, 7),
            "1600": (1, 1),
            "1700": (1, 1),
            "1300": (1, 7),
            "2000": (None, None),
        }
        assert await self.client.error(Req.on_device("GetLogicalDeviceInformation", "9999")) in (
            "operation/objectNotKnown",
            "operation/invalidDeviceID",
        )

    async def test_request_system_status_and_register_cancel(self) -> None:
        status = await self.client.ok(xml("RequestSystemStatus"))
        assert status.get("system_status") == "normal"
        registered = await self.client.ok(xml("SystemRegister"))
        register_id = registered.message.sys_stat_register_id
        assert register_id
        cancel = xml(
            "SystemRegisterCancel", f"<sysStatRegisterID>{register_id}</sysStatRegisterID>"
        )
        await self.client.ok(cancel)
        assert await self.client.error(cancel) == "operation/invalidCrossRefID"

    async def test_registered_client_gets_system_status_and_answers_it(self) -> None:
        await self.client.ok(xml("SystemRegister"))
        answered = self.world.core.broadcast_system_status("normal")
        assert answered is None
        await self.client.drain()
        (status,) = self.client.server_requests
        assert status.name == "SystemStatus" and status.get("system_status") == "normal"
        assert status.invoke_id != "9999"
        (proto,) = [p.wrappedProtocol for p in self.server.tracking.protocols]
        assert proto._pending == {}  # our SystemStatusResponse was matched

    async def test_system_status_on_connect_answered_by_the_client(self) -> None:
        world = make_world(system_status_on_connect=True)
        server = LoopbackServer(self, world.factory)
        client = await server.connect()
        await client.drain()
        (status,) = client.server_requests
        assert (status.name, status.invoke_id) == ("SystemStatus", "0001")
        assert status.get("system_status") == "normal"
        # the server got the SystemStatusResponse and still serves requests
        await client.ok(xml("RequestSystemStatus"))
        (proto,) = [p.wrappedProtocol for p in server.tracking.protocols]
        assert proto._pending == {}

    # -- monitoring --------------------------------------------------------------------------
    async def test_monitor_start_on_a_device_of_every_kind(self) -> None:
        xrefs = set()
        for kind, device in DEVICE_OF_EVERY_KIND.items():
            frame = await self.client.request(Req.monitor_start(device))
            assert frame.name == "MonitorStartResponse", (kind, frame.body)
            xrefs.add(frame.message.monitor_cross_ref_id)
        assert len(xrefs) == len(DEVICE_OF_EVERY_KIND)
        # and the monitor on the virtual extension sees a call to it
        await self.client.make_call("1000", "1400")
        events = await self.client.drain()
        assert "DeliveredEvent" in names(events)

    async def test_monitor_on_a_call_then_stop(self) -> None:
        call = await self.client.make_call("1000", "1001")
        frame = await self.client.ok(Req.monitor_call(call, "1000"))
        xref = frame.message.monitor_cross_ref_id
        await self.client.ok(Req.answer(call, "1001"))
        events = for_monitor(await self.client.drain(), xref)
        assert [brief(e)[0] for e in events] == ["EstablishedEvent"]
        assert events[0].get("established_connection") == (call, "1001")
        await self.client.ok(Req.monitor_stop(xref))
        await self.client.ok(Req.clear_call(call, "1000"))
        await self.client.expect_no_event()
        assert await self.client.error(Req.monitor_stop(xref)) == "operation/invalidCrossRefID"

    async def test_change_monitor_filter_true_means_not_sent(self) -> None:
        xref = await self.client.monitor("1001")
        frame = await self.client.ok(
            Req.change_filter(xref, "<callcontrol><delivered>true</delivered></callcontrol>")
        )
        assert frame.get("actual_filter_list") == {"callcontrol": {"delivered": True}}
        call = await self.client.make_call("1000", "1001")
        await self.client.expect_no_event()
        await self.client.ok(Req.answer(call, "1001"))
        assert names(await self.client.drain()) == ["EstablishedEvent"]

    async def test_monitor_start_with_filter(self) -> None:
        await self.client.monitor(
            "1001", "<callcontrol><established>true</established></callcontrol>"
        )
        call = await self.client.make_call("1000", "1001")
        await self.client.ok(Req.answer(call, "1001"))
        assert names(await self.client.drain()) == ["DeliveredEvent"]

    # -- snapshot ----------------------------------------------------------------------------
    async def test_snapshot_device_and_call(self) -> None:
        call = await self.call_between("1000", "1001")
        device = await self.client.ok(Req.snapshot_device("1001"))
        (item,) = device.get("snapshot")["snapshot_data"]
        assert item["connection_identifier"] == (call, "1001")
        assert item["local_call_state"] == {"compound_call_state": ["connected", "connected"]}
        snapshot = await self.client.ok(Req.snapshot_call(call, "1000"))
        states = {
            i["device_on_call"]: i["local_connection_state"]
            for i in snapshot.get("snapshot")["snapshot_data"]
        }
        assert states == {"1000": "connected", "1001": "connected"}
        idle = await self.client.ok(Req.snapshot_device("1005"))
        assert not idle.get("snapshot")

    # -- call control ------------------------------------------------------------------------
    async def test_make_call_answer_clear_connection(self) -> None:
        caller = await self.client.monitor("1000")
        called = await self.client.monitor("1001")
        answer = await self.client.request(Req.make_call("1000", "1001"), invoke_id="0042")
        assert (answer.invoke_id, answer.name) == ("0042", "MakeCallResponse")
        call = answer.message.calling_device.call_id
        assert answer.get("calling_device") == (call, "1000")
        await self.client.ok(Req.answer(call, "1001"))
        await self.client.ok(Req.clear_connection(call, "1001"))
        events = await self.client.drain()
        self.client.assert_answered_first(answer)
        assert [brief(e) for e in for_monitor(events, caller)] == [
            ("ServiceInitiatedEvent", "initiated", "makeCall"),
            ("OriginatedEvent", "connected", "makeCall"),
            ("DeliveredEvent", "connected", "newCall"),
            ("EstablishedEvent", "connected", "newCall"),
            ("ConnectionClearedEvent", "connected", "normalClearing"),  # 1001 left
            ("ConnectionClearedEvent", "null", "normalClearing"),  # so the call ends
            ("CallClearedEvent", None, "normalClearing"),
        ]
        assert [brief(e) for e in for_monitor(events, called)] == [
            ("DeliveredEvent", "alerting", "newCall"),
            ("EstablishedEvent", "connected", "newCall"),
            ("ConnectionClearedEvent", "null", "normalClearing"),
            ("CallClearedEvent", None, "normalClearing"),
        ]

    async def test_make_call_from_an_analog_line_is_prompted(self) -> None:
        """docs/devices.md: the exchange cannot take analog 1600 off-hook. ServiceInitiated
        while it rings; AnswerCall refused; the demo's person lifts the handset after
        prompt_answer_seconds: Originated, then the called side rings."""
        caller = await self.client.monitor("1600")
        called = await self.client.monitor("1001")
        answer = await self.client.ok(Req.make_call("1600", "1001"))
        call = answer.message.calling_device.call_id
        assert [brief(e) for e in for_monitor(await self.client.drain(), caller)] == [
            ("ServiceInitiatedEvent", "initiated", "makeCall"),
        ]
        refused = await self.client.error(Req.answer(call, "1600"))
        assert refused == "operation/requestIncompatibleWithObject"
        self.world.advance(self.world.switch.plan.prompt_answer_seconds)
        events = await self.client.drain()
        assert [brief(e) for e in for_monitor(events, caller)] == [
            ("OriginatedEvent", "connected", "makeCall"),
            ("DeliveredEvent", "connected", "newCall"),
        ]
        assert [brief(e) for e in for_monitor(events, called)] == [
            ("DeliveredEvent", "alerting", "newCall"),
        ]

    async def test_a_call_type_monitor_follows_the_call_after_a_deflection(self) -> None:
        start = xml(
            "MonitorStart",
            "<monitorObject><deviceObject>1001</deviceObject></monitorObject>"
            "<monitorType>call</monitorType>",
        )
        xref = (await self.client.ok(start)).message.monitor_cross_ref_id
        call = await self.client.make_call("1000", "1001")
        await self.client.ok(Req.deflect(call, "1001", "1002"))
        await self.client.ok(Req.answer(call, "1002"))
        await self.client.ok(Req.clear_call(call, "1000"))
        assert [brief(e) for e in for_monitor(await self.client.drain(), xref)] == [
            ("DeliveredEvent", "alerting", "newCall"),
            ("DivertedEvent", "null", "redirected"),
            ("DeliveredEvent", "null", "redirected"),
            ("EstablishedEvent", "null", "redirected"),
            ("ConnectionClearedEvent", "null", "normalClearing"),
            ("ConnectionClearedEvent", "null", "normalClearing"),
            ("CallClearedEvent", None, "normalClearing"),
        ]

    async def test_make_predictive_call(self) -> None:
        xref = await self.client.monitor("1000")
        frame = await self.client.ok(Req.make_predictive_call("1000", "0123456"))
        call = frame.message.initiated_call.call_id
        self.world.advance(self.world.switch.plan.network.answer_delay)
        events = for_monitor(await self.client.drain(), xref)
        assert names(events)[-1] == "DeliveredEvent"
        assert events[-1].get("connection") == (call, "1000")
        # ECMA-269 17.2.12: the calling device calls the number dialled, on this leg too
        assert events[-1].get("calling_device") == "1000"
        assert events[-1].get("called_device") == "0123456"

    async def test_clear_call(self) -> None:
        xref = await self.client.monitor("1001")
        call = await self.call_between("1000", "1001")
        await self.client.ok(Req.clear_call(call, "1000"))
        events = for_monitor(await self.client.drain(), xref)
        assert [(e.name, e.get("dropped_connection")) for e in events] == [
            ("ConnectionClearedEvent", (call, "1000")),
            ("ConnectionClearedEvent", (call, "1001")),
            ("CallClearedEvent", None),
        ]
        assert events[-1].get("cleared_call") == (call, None)

    async def test_hold_and_retrieve(self) -> None:
        xref = await self.client.monitor("1000")
        call = await self.call_between("1000", "1001")
        await self.client.ok(Req.hold(call, "1000"))
        await self.client.ok(Req.retrieve(call, "1000"))
        events = for_monitor(await self.client.drain(), xref)
        assert [brief(e) for e in events] == [
            ("HeldEvent", "hold", "normal"),
            ("RetrievedEvent", "connected", "normal"),
        ]

    async def consult(self) -> tuple[str, str, str]:
        xref = await self.client.monitor("1000")
        call = await self.call_between("1000", "1001")
        frame = await self.client.ok(Req.consultation(call, "1000", "1002"))
        consult = frame.message.initiated_call.call_id
        assert frame.get("initiated_call") == (consult, "1000")
        await self.client.ok(Req.answer(consult, "1002"))
        events = for_monitor(await self.client.drain(), xref)
        assert [brief(e) for e in events] == [
            ("HeldEvent", "hold", "consultation"),
            ("ServiceInitiatedEvent", "initiated", "consultation"),
            ("OriginatedEvent", "connected", "consultation"),
            ("DeliveredEvent", "connected", "newCall"),
            ("EstablishedEvent", "connected", "newCall"),
        ]
        return xref, call, consult

    async def test_consultation_then_transfer(self) -> None:
        xref, call, consult = await self.consult()
        frame = await self.client.ok(Req.two_calls("TransferCall", call, consult, "1000"))
        assert frame.get("transferred_call")[0] in (call, consult)
        (event,) = for_monitor(await self.client.drain(), xref)
        assert brief(event) == ("TransferedEvent", "null", "transfer")
        assert event.get("transferring_device") == "1000"
        assert event.get("transferred_to_device") == "1002"

    async def test_hanging_up_the_consultation_transfers(self) -> None:
        xref, call, consult = await self.consult()
        await self.client.ok(Req.clear_connection(consult, "1000"), "ClearConnectionResponse")
        (event,) = for_monitor(await self.client.drain(), xref)
        assert brief(event) == ("TransferedEvent", "null", "transfer")
        assert event.get("primary_old_call") == (call, "1000")
        assert event.get("secondary_old_call") == (consult, "1000")
        assert event.get("transferred_to_device") == "1002"

    async def test_answer_a_waiting_second_call(self) -> None:
        xref = await self.client.monitor("1100")  # call waiting on
        first = await self.call_between("1000", "1100")
        second = await self.client.make_call("1001", "1100")
        (waiting,) = for_monitor(await self.client.drain(), xref)
        assert brief(waiting) == ("DeliveredEvent", "alerting", "campOn")
        await self.client.ok(Req.answer(second, "1100"), "AnswerCallResponse")
        held, established = for_monitor(await self.client.drain(), xref)
        assert brief(held) == ("HeldEvent", "hold", "normal")
        assert held.get("held_connection") == (first, "1100")
        assert brief(established) == ("EstablishedEvent", "connected", "newCall")
        assert established.get("established_connection") == (second, "1100")

    async def test_consultation_then_conference(self) -> None:
        xref, call, consult = await self.consult()
        frame = await self.client.ok(Req.two_calls("ConferenceCall", call, consult, "1000"))
        assert frame.get("conference_call")[0] == call
        (event,) = for_monitor(await self.client.drain(), xref)
        assert brief(event) == ("ConferencedEvent", "connected", "conference")
        assert event.get("added_party") == "1002"
        connections = event.get("conference_connections")
        assert {item["new_connection"] for item in connections} == {
            (call, "1000"),
            (call, "1001"),
            (call, "1002"),
        }

    async def test_alternate_and_reconnect(self) -> None:
        xref, call, consult = await self.consult()
        await self.client.ok(Req.two_calls("AlternateCall", call, consult, "1000"))
        events = for_monitor(await self.client.drain(), xref)
        assert names(events) == ["HeldEvent", "RetrievedEvent"]
        assert events[0].get("held_connection") == (consult, "1000")
        assert events[1].get("retrieved_connection") == (call, "1000")
        # now ``consult`` is held and ``call`` active: reconnect clears the active one
        await self.client.ok(Req.two_calls("ReconnectCall", consult, call, "1000"))
        events = for_monitor(await self.client.drain(), xref)
        assert names(events)[-1] == "RetrievedEvent"
        assert events[0].get("dropped_connection") == (call, "1000")
        assert events[-1].get("retrieved_connection") == (consult, "1000")

    async def test_single_step_transfer(self) -> None:
        watcher = await self.client.monitor("1003")
        call = await self.call_between("1000", "1001")
        frame = await self.client.ok(Req.single_step_transfer(call, "1000", "1003"))
        assert frame.get("transferred_call")[1] == "1003"
        (event,) = for_monitor(await self.client.drain(), watcher)
        assert brief(event) == ("DeliveredEvent", "alerting", "singleStepTransfer")
        assert event.get("calling_device") == "1001"
        assert event.get("last_redirection_device") == "1000"

    async def test_single_step_conference(self) -> None:
        xref = await self.client.monitor("1001")
        call = await self.call_between("1000", "1001")
        frame = await self.client.ok(Req.single_step_conference(call, "1000", "1003"))
        assert frame.get("conferenced_call") == (call, "1003")
        (event,) = for_monitor(await self.client.drain(), xref)
        assert brief(event) == ("ConferencedEvent", "connected", "singleStepConference")
        assert event.get("added_party") == "1003"
        assert event.get("conferencing_device") == "1000"  # the party of activeCall asked

    async def test_park_then_retrieve_by_directed_pickup(self) -> None:
        xref = await self.client.monitor("1000")
        call = await self.call_between("1000", "1001")
        park = xml("ParkCall", f"<parking>{conn(call, '1001')}</parking><parkTo>1003</parkTo>")
        frame = await self.client.ok(park, "ParkCallResponse")
        assert frame.get("parked_to") == (call, "1003")
        assert [brief(e) for e in for_monitor(await self.client.drain(), xref)] == [
            ("QueuedEvent", "connected", "park"),
            ("ConnectionClearedEvent", "connected", "park"),
        ]
        pickup = xml(
            "DirectedPickupCall",
            f"<callToBePickedUp>{conn(call, '1003')}</callToBePickedUp>"
            "<requestingDevice>1004</requestingDevice>",
        )
        frame = await self.client.ok(pickup, "DirectedPickupCallResponse")
        assert frame.get("picked_call") == (call, "1004")
        assert [brief(e) for e in for_monitor(await self.client.drain(), xref)] == [
            ("DivertedEvent", "connected", "callPickup"),
            ("EstablishedEvent", "connected", "callPickup"),
        ]

    async def test_call_back_non_call_related_and_its_event(self) -> None:
        xref = await self.client.monitor("1001")
        order = xml(
            "CallBackNonCallRelated",
            "<originatingDevice>1002</originatingDevice><targetDevice>1001</targetDevice>",
        )
        await self.client.ok(order, "CallBackNonCallRelatedResponse")
        (event,) = for_monitor(await self.client.drain(), xref)
        assert event.name == "CallBackEvent"
        assert event.get("originating_device") == "1002"
        assert event.get("call_back_set_canceled") is True
        assert await self.client.error(order) == "stateIncompatibility/invalidDeviceState"

    async def test_deflect_call(self) -> None:
        xref = await self.client.monitor("1001")
        call = await self.client.make_call("1000", "1001")
        await self.client.drain()
        await self.client.ok(Req.deflect(call, "1001", "1002"))
        (event,) = for_monitor(await self.client.drain(), xref)
        assert brief(event) == ("DivertedEvent", "null", "redirected")
        assert event.get("new_destination") == "1002"

    async def test_generate_digits(self) -> None:
        xref = await self.client.monitor("1000")
        call = await self.call_between("1000", "1001")
        await self.client.ok(Req.generate_digits(call, "1000", "12#"))
        (event,) = for_monitor(await self.client.drain(), xref)
        assert event.name == "DigitsGeneratedEvent"
        assert event.get("digit_generated_list") == "12#"

    # -- logical device features ------------------------------------------------------------
    async def test_set_and_get_forwarding(self) -> None:
        xref = await self.client.monitor("1001")
        await self.client.ok(Req.set_forwarding("1001", "forwardImmediate", "1002"))
        (event,) = await self.client.drain()
        assert event.name == "ForwardingEvent" and event.message.monitor_cross_ref_id == xref
        assert (event.get("forwarding_type"), event.get("forward_to")) == (
            "forwardImmediate",
            "1002",
        )
        frame = await self.client.ok(Req.on_device("GetForwarding", "1001"))
        assert frame.get("forwarding_list") == [
            {"forwarding_type": "forwardImmediate", "forward_status": True, "forward_dn": "1002"}
        ]

    async def test_set_and_get_do_not_disturb(self) -> None:
        await self.client.monitor("1001")
        await self.client.ok(Req.set_dnd("1001", True))
        (event,) = await self.client.drain()
        assert (event.name, event.get("do_not_disturb_on")) == ("DoNotDisturbEvent", True)
        frame = await self.client.ok(Req.on_device("GetDoNotDisturb", "1001"))
        assert frame.get("do_not_disturb_on") is True
        await self.client.ok(Req.set_dnd("1001", False))
        frame = await self.client.ok(Req.on_device("GetDoNotDisturb", "1001"))
        assert frame.message.do_not_disturb_on is False

    async def test_set_and_get_message_waiting_indicator(self) -> None:
        await self.client.monitor("1001")
        on = "<messageWaitingOn>true</messageWaitingOn>"
        await self.client.ok(Req.on_device("SetMessageWaitingIndicator", "1001", on))
        (event,) = await self.client.drain()
        assert (event.name, event.get("message_waiting_on")) == ("MessageWaitingEvent", True)
        frame = await self.client.ok(Req.on_device("GetMessageWaitingIndicator", "1001"))
        assert frame.get("message_waiting_on") is True

    async def test_set_and_get_agent_state(self) -> None:
        xref = await self.client.monitor("1002")
        await self.client.ok(Req.set_agent_state("1002", "loggedOn", "5001", "2000"))
        await self.client.ok(Req.set_agent_state("1002", "ready"))
        events = for_monitor(await self.client.drain(), xref)
        assert names(events) == ["AgentLoggedOnEvent", "AgentReadyEvent"]
        assert (events[0].get("agent_id"), events[0].get("acd_group")) == ("5001", "2000")
        frame = await self.client.ok(Req.on_device("GetAgentState", "1002"))
        (entry,) = frame.get("agent_state_list")
        assert entry["agent_id"] == "5001"
        assert entry["agent_info"] == [{"acd_group": "2000", "agent_state": "agentReady"}]

    # -- ECMA-354 sessions -------------------------------------------------------------------
    async def test_application_session_start_reset_stop(self) -> None:
        world = make_world(authenticated=True)
        server = LoopbackServer(self, world.factory)
        client: XmlClient = await server.connect()
        frame = await client.ok(Req.start_session(), "StartApplicationSessionPosResponse")
        assert frame.namespace == APPL
        session = frame.message.session_id
        assert frame.get("actual_protocol_version") == ED3
        reset = await client.ok(
            Req.reset_session_timer(session, 120), "ResetApplicationSessionTimerPosResponse"
        )
        assert reset.get("actual_session_duration") == 120
        await client.ok(Req.stop_session(session), "StopApplicationSessionPosResponse")
        refused = await client.request(Req.stop_session(session))
        assert refused.name == "StopApplicationSessionNegResponse"
        assert "invalidSessionID" in refused.body.decode()


class TlsServiceTests(LoopbackServiceTests):
    """Every service again over TLS (port 8883's protocol): the same answers and events."""

    tls = True
