"""The client quirks (docs/protocol-notes.md Q1-Q7) and the device identifier rules (D1-D3),
each against the TR/87 binding over real loopback sockets: no Via branch, CSeq reset and
decrease, pipelined INFOs, unanswered event INFOs (Timer F), epid and unknown
parameters/headers, re-INVITE keeping the monitor, a new INVITE for a line replacing (or
not) the old dialog, line URIs in four spellings echoed exactly, callers in E.164."""

from __future__ import annotations

from twisted.trial import unittest

from cstaserver.config import LineReplacement
from cstaserver.sip.tr87 import Tr87Settings
from tests.sip.tr87_ua import (
    LINE,
    TIMER_F,
    Lync,
    Tr87Server,
    Tr87UA,
    connect_ua,
    start_server,
)

CALLED = "tel:+4685551102"


class Quirks(unittest.TestCase):
    timeout = 15

    async def dialog(
        self, transport: str = "udp", settings: Tr87Settings | None = None, **options: object
    ) -> tuple[Tr87Server, Tr87UA]:
        server = await start_server(self, settings)
        ua = await connect_ua(self, server, transport, **options)
        await ua.open()
        return server, ua

    async def test_no_via_branch_and_udp_retransmission_not_executed_twice(self) -> None:
        server, ua = await self.dialog()
        await ua.monitor()
        request = ua.build("INFO", Lync.make_call(LINE, CALLED))
        assert ";branch=" not in request.headers.get("Via")
        first = await ua.send(request)
        again = await ua.send(request)  # the same datagram: a retransmission (Timer E)
        assert first.response.body == again.response.body
        assert first.response.headers.get("Via") == request.headers.get("Via")
        assert len(server.switch.snapshot_device("1101")) == 1  # one call, not two
        assert server.endpoint.stats["retransmissions"] == 1

    async def test_cseq_reset_after_each_invite_and_decreasing(self) -> None:
        server, ua = await self.dialog()
        assert b"\r\nCSeq: 1 ACK\r\n" in ua.sent[-1]
        assert (await ua.monitor()) and ua.cseq == 2  # the INFO after the ACK: CSeq 2
        for _ in range(3):
            await ua.csta(Lync.snapshot_device(LINE))
        assert ua.cseq == 5
        refresh = await ua.invite()  # re-INVITE, CSeq 6
        assert refresh.status == 200 and refresh.response.cseq.number == 6
        ua.ack()  # CSeq 1 again, matched to the pending 2xx
        reply = await ua.csta(Lync.snapshot_device(LINE))  # CSeq 2: lower than 6, accepted
        assert reply.response.cseq.number == 2 and reply.name == "SnapshotDeviceResponse"
        server.advance(TIMER_F + 1)  # the 2xx was acknowledged: no BYE for a missing ACK
        assert server.endpoint.dialogs and ua.byes == []

    async def test_pipelined_infos_each_answered(self) -> None:
        _, ua = await self.dialog("tcp")
        bodies = [
            Lync.monitor_start(LINE),
            Lync.snapshot_device(LINE),
            Lync.on_device("GetForwarding", LINE),
            Lync.on_device("GetDoNotDisturb", LINE),
            Lync.get_csta_features(),
        ]
        sent = [ua.send(ua.build("INFO", body)) for body in bodies]
        replies = [await reply for reply in sent]
        assert [r.response.cseq.number for r in replies] == [2, 3, 4, 5, 6]
        assert [r.name for r in replies] == [
            "MonitorStartResponse",
            "SnapshotDeviceResponse",
            "GetForwardingResponse",
            "GetDoNotDisturbResponse",
            "GetCSTAFeaturesResponse",
        ]

    async def check_unanswered_events(self, transport: str) -> None:
        server, ua = await self.dialog(transport, answer_events=False)
        xref = await ua.monitor()
        make = await ua.csta(Lync.make_call(LINE, CALLED))
        call_id, _ = make.get("calling_device")
        await ua.expect_events("ServiceInitiatedEvent", "OriginatedEvent", "DeliveredEvent")
        server.switch.clear_call(call_id)
        await ua.skip_to("ConnectionClearedEvent")
        await ua.quiet()
        sent = len(ua.events)
        server.advance(TIMER_F + 1)  # every event INFO times out
        (dialog,) = server.endpoint.dialogs.values()
        assert dialog.context.transport.unanswered_events == sent  # counted, nothing else
        assert server.endpoint.stats["request timeouts"] == sent
        # the dialog and the monitor still work
        make = await ua.csta(Lync.make_call(LINE, CALLED))
        (initiated,) = await ua.expect_events("ServiceInitiatedEvent")
        assert initiated.get("monitor_cross_ref_id") == xref
        assert ua.byes == []

    async def test_unanswered_event_infos_udp(self) -> None:
        await self.check_unanswered_events("udp")

    async def test_unanswered_event_infos_tcp(self) -> None:
        await self.check_unanswered_events("tcp")

    async def test_epid_unknown_parameters_headers_and_compact_forms(self) -> None:
        server = await start_server(self)
        ua = await connect_ua(self, server, "tcp")
        ua.epid = "0a1b2c3d4e;x-unknown=1"
        ua.new_dialog()
        invite = ua.build(
            "INVITE",
            Lync.request_system_status(),
            headers=[("Supported", "timer, ms-dialog-route-set-update"), ("X-Ms-Foo", "bar")],
        )
        invite.headers.set(
            "Contact", f'<{ua.contact_uri};x-sipe=1>;proxy=replace;+sip.instance="<urn:x>"'
        )
        ok = await ua.send(invite)
        assert ok.status == 200
        ua.to_tag, ua.cseq = ok.response.to_tag, 0
        ua.ack()
        # an INFO in compact form: i f t v m l c
        compact = (
            ua.build("INFO", Lync.monitor_start(LINE), headers=[("Ms-Text-Format", "x")])
            .to_bytes()
            .replace(b"\r\nCall-ID:", b"\r\ni:")
            .replace(b"\r\nFrom:", b"\r\nf:")
            .replace(b"\r\nTo:", b"\r\nt:")
            .replace(b"\r\nVia:", b"\r\nv:")
            .replace(b"\r\nContact:", b"\r\nm:")
            .replace(b"\r\nContent-Type:", b"\r\nc:")
            .replace(b"\r\nContent-Length:", b"\r\nl:")
        )
        monitor = await ua.send(compact)
        assert monitor.name == "MonitorStartResponse"
        server.sim.call("1102", "1101")
        event = await ua.skip_to("DeliveredEvent")
        assert event.request.headers.get("To") == ua.from_header  # epid echoed as sent
        assert event.request.uri.startswith(ua.contact_uri)

    async def test_reinvite_keeps_the_monitor(self) -> None:
        server, ua = await self.dialog("tcp")
        xref = await ua.monitor()
        refresh = await ua.invite()
        assert refresh.get("system_status") == "normal"
        ua.ack()
        server.sim.call("1102", "1101")
        delivered = await ua.skip_to("DeliveredEvent")
        assert delivered.get("monitor_cross_ref_id") == xref
        assert len(server.core.monitors) == 1

    async def check_new_invite_for_the_line(self, replace: bool) -> None:
        mode = LineReplacement.SAME_PEER if replace else LineReplacement.OFF
        server = await start_server(self, Tr87Settings(line_replacement=mode))
        old = await connect_ua(self, server, "udp")
        await old.open()
        old_xref = await old.monitor()
        new = await connect_ua(self, server, "udp")  # the client restarted: a new dialog
        await new.open()
        new_xref = await new.monitor()
        server.sim.call("1102", "1101")
        delivered = await new.skip_to("DeliveredEvent")
        assert delivered.get("monitor_cross_ref_id") == new_xref
        if replace:
            await old.wait_until(lambda: bool(old.byes), "the BYE to the old dialog")
            old.assert_in_dialog(old.byes[0])
            assert await old.quiet() == []
            assert len(server.core.monitors) == 1
            assert len(server.endpoint.dialogs) == 1
            assert (await old.request(Lync.monitor_stop(old_xref))).status == 481
        else:
            old_delivered = await old.skip_to("DeliveredEvent")
            assert old_delivered.get("monitor_cross_ref_id") == old_xref
            assert old.byes == []
            assert len(server.endpoint.dialogs) == 2

    async def test_new_invite_for_a_line_replaces_the_old_dialog(self) -> None:
        await self.check_new_invite_for_the_line(replace=True)

    async def test_new_invite_for_a_line_keeps_both_by_setting(self) -> None:
        await self.check_new_invite_for_the_line(replace=False)


class LineIdentifiers(unittest.TestCase):
    """The line URI in each spelling seen in the field (docs/protocol-notes.md D1), echoed exactly
    in MakeCallResponse and in the line's events; other parties in E.164."""

    timeout = 15

    async def check_line(self, line: str) -> None:
        server = await start_server(self)
        ua = await connect_ua(self, server, "udp")
        await ua.open(line)
        await ua.monitor(line)
        make = await ua.csta(Lync.make_call(line, CALLED))
        call_id, device = make.get("calling_device")
        assert device == line
        _, originated, delivered = await ua.expect_events(
            "ServiceInitiatedEvent", "OriginatedEvent", "DeliveredEvent"
        )
        assert originated.get("originated_connection") == (call_id, line)
        assert originated.get("calling_device") == line
        assert delivered.get("alerting_device") == CALLED
        await ua.csta(Lync.clear_connection(call_id, line))
        await ua.skip_to("ConnectionClearedEvent")
        await ua.quiet()
        # an incoming call: the caller in E.164, our line as we spelled it
        server.sim.call("1000", "1101")
        delivered = await ua.skip_to("DeliveredEvent")
        assert delivered.get("calling_device") == "tel:+4685551000"
        assert delivered.get("alerting_device") == line

    async def test_e164_tel_uri(self) -> None:
        await self.check_line("tel:+4685551101")

    async def test_dialstring_tel_uri_with_partition(self) -> None:
        await self.check_line("tel:1101;phone-context=dialstring;partition=X")

    async def test_sip_uri_user_phone(self) -> None:
        await self.check_line("sip:1101@pbx.example.net;user=phone")

    async def test_bare_number(self) -> None:
        await self.check_line("1101")

    async def test_outside_caller_in_e164(self) -> None:
        server = await start_server(self)
        ua = await connect_ua(self, server, "udp")
        await ua.open()
        await ua.monitor()
        server.sim.call("+4685550123", "1101")
        delivered = await ua.skip_to("DeliveredEvent")
        assert delivered.get("calling_device") == "tel:+4685550123"
        assert delivered.get("alerting_device") == LINE
