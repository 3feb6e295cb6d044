"""The whole Lync/sipe RCC flow (docs/protocol-notes.md T2) over real loopback UDP and TCP:
INVITE/200/ACK, pipelined GetCSTAFeatures + MonitorStart, MakeCall, the call's events as
in-dialog INFOs (each after the response that caused it), ClearConnection with the
deviceID as reported, MonitorStop, BYE."""

from __future__ import annotations

from twisted.trial import unittest

from tests.sip.tr87_ua import LINE, Event, Lync, Tr87Server, Tr87UA, connect_ua, start_server

CALLED = "tel:+4685551102"


class LyncFlow:
    """Run for each transport by the subclasses below."""

    transport = "udp"
    timeout = 15

    async def connect(self) -> tuple[Tr87Server, Tr87UA]:
        server = await start_server(self)  # type: ignore[arg-type]
        return server, await connect_ua(self, server, self.transport)  # type: ignore[arg-type]

    def check_events(self, ua: Tr87UA, events: list[Event], after: int, xref: str) -> None:
        """Each event: after the response at ``after``, in our dialog, for our monitor."""
        for event in events:
            assert event.index > after, (event.name, event.index, after)
            ua.assert_in_dialog(event.request)
            assert event.request.headers.get("Content-Disposition") == "signal;handling=required"
            assert event.get("monitor_cross_ref_id") == xref

    async def test_whole_lync_flow(self) -> None:
        server, ua = await self.connect()
        ok = await ua.open()
        assert ok.name == "RequestSystemStatusResponse"
        assert ok.get("system_status") == "normal"
        assert ok.response.to_tag and ok.response.contacts
        assert int(ok.response.headers.get("Session-Expires").split(";")[0]) >= 120
        assert ua.sent[-1].startswith(b"ACK ") and b"\r\nCSeq: 1 ACK\r\n" in ua.sent[-1]

        # GetCSTAFeatures and MonitorStart pipelined: both sent before either is answered
        before = len(ua.received)
        features = ua.send(ua.build("INFO", Lync.get_csta_features()))
        monitor = ua.send(ua.build("INFO", Lync.monitor_start(LINE)))
        assert len(ua.received) == before
        features_reply, monitor_reply = await features, await monitor
        assert (features_reply.response.cseq.number, monitor_reply.response.cseq.number) == (2, 3)
        assert features_reply.name == "GetCSTAFeaturesResponse"
        assert monitor_reply.name == "MonitorStartResponse"
        xref = str(monitor_reply.get("monitor_cross_ref_id"))

        make = await ua.csta(Lync.make_call(LINE, CALLED))
        assert make.name == "MakeCallResponse"
        call_id, device = make.get("calling_device")
        assert device == LINE  # sipe keeps the callID only if this equals its line URI
        initiated, originated, delivered = await ua.expect_events(
            "ServiceInitiatedEvent", "OriginatedEvent", "DeliveredEvent"
        )
        self.check_events(ua, [initiated, originated, delivered], make.index, xref)
        assert originated.get("originated_connection") == (call_id, LINE)
        assert originated.get("called_device") == CALLED
        assert delivered.get("connection") == (call_id, CALLED)

        server.switch.answer_call(call_id, "1102")
        (established,) = await ua.expect_events("EstablishedEvent")
        self.check_events(ua, [established], make.index, xref)
        assert established.get("answering_device") == CALLED

        # ClearConnection with the deviceID as reported in the events
        clear = await ua.csta(Lync.clear_connection(*originated.get("originated_connection")))
        assert clear.name == "ClearConnectionResponse"
        cleared = await ua.skip_to("ConnectionClearedEvent")
        self.check_events(ua, [cleared], clear.index, xref)
        assert cleared.get("dropped_connection") == (call_id, LINE)

        stop = await ua.csta(Lync.monitor_stop(xref))
        assert stop.name == "MonitorStopResponse"
        await ua.quiet()
        bye = await ua.bye()
        assert bye.status == 200
        assert not server.endpoint.dialogs
        server.sim.call("1102", "1101")  # no monitor left, no dialog: nothing is sent
        assert await ua.quiet() == []

        # the gateway's CSeqs grow by one per event INFO, independent of ours
        numbers = [event.request.cseq.number for event in ua.events]
        assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))
        assert server.application.lines == {}

    async def test_bye_stops_the_monitor(self) -> None:
        server, ua = await self.connect()
        await ua.open()
        await ua.monitor()
        assert (await ua.bye()).status == 200
        assert len(server.core.monitors) == 0
        server.sim.call("1102", "1101")
        assert await ua.quiet() == []


class LyncFlowUdp(LyncFlow, unittest.TestCase):
    transport = "udp"


class LyncFlowTcp(LyncFlow, unittest.TestCase):
    transport = "tcp"
