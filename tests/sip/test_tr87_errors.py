"""SIP errors of the TR/87 binding (docs/protocol-notes.md T3-T4): SIP answers only for SIP problems
(415, 481, 400, 405, 489), CSTA failures as 200 OK with CSTAErrorCode, OPTIONS, and the
out-of-dialog INFO variant by setting. Over real loopback UDP."""

from __future__ import annotations

from twisted.trial import unittest

from cstaserver.sip.tr87 import Tr87Settings
from tests.sip.sip_support import CSTA
from tests.sip.tr87_ua import LINE, Lync, Tr87UA, connect_ua, start_server
from tests.xmlproto.xml_client import xml


class Tr87Errors(unittest.TestCase):
    timeout = 15

    async def dialog(self, settings: Tr87Settings | None = None) -> Tr87UA:
        server = await start_server(self, settings)
        ua = await connect_ua(self, server, "udp")
        await ua.open()
        return ua

    async def test_text_plain_body_gets_415_with_accept(self) -> None:
        ua = await self.dialog()
        reply = await ua.request(b"MakeCall 1101 1102", content_type="text/plain")
        assert reply.status == 415
        assert reply.response.headers.get("Accept") == CSTA
        # the dialog is not harmed
        assert (await ua.csta(Lync.request_system_status())).get("system_status") == "normal"

    async def test_invite_with_another_body_type_gets_415(self) -> None:
        server = await start_server(self)
        ua = await connect_ua(self, server, "udp")
        reply = await ua.invite(b"v=0\r\n", content_type="application/sdp")
        assert reply.status == 415
        assert reply.response.headers.get("Accept") == CSTA
        assert not server.endpoint.dialogs

    async def test_unknown_dialog_gets_481(self) -> None:
        ua = await self.dialog()
        ua.to_tag = "not-our-tag"
        reply = await ua.request(Lync.monitor_start(LINE))
        assert reply.status == 481

    async def test_info_after_bye_gets_481(self) -> None:
        ua = await self.dialog()
        assert (await ua.bye()).status == 200
        assert (await ua.request(Lync.monitor_start(LINE))).status == 481

    async def test_xml_that_is_not_well_formed_gets_400(self) -> None:
        ua = await self.dialog()
        reply = await ua.request(b"<MonitorStart><monitorObject>")
        assert reply.status == 400
        assert (await ua.csta(Lync.request_system_status())).get("system_status") == "normal"

    async def test_invite_with_xml_that_is_not_well_formed_gets_400(self) -> None:
        server = await start_server(self)
        ua = await connect_ua(self, server, "udp")
        assert (await ua.invite(b"<RequestSystemStatus>")).status == 400
        assert not server.endpoint.dialogs and server.application.lines == {}
        assert (await ua.open()).status == 200  # a correct INVITE afterwards is fine

    async def test_well_formed_unknown_request_gets_200_with_csta_error(self) -> None:
        ua = await self.dialog()
        reply = await ua.csta(xml("FrobnicateDevice", "<device>1101</device>"))
        assert reply.name == "CSTAErrorCode"
        # always answered (docs/protocol-notes.md R12)
        assert (reply.frame.error or "").startswith("operation/")

    async def test_invalid_csta_request_gets_200_with_csta_error(self) -> None:
        ua = await self.dialog()
        reply = await ua.csta(Lync.make_call(LINE, "tel:+4685559999"))  # no such number
        assert reply.name == "CSTAErrorCode"
        reply = await ua.csta(xml("MonitorStart", ""))  # mandatory field missing
        assert reply.name == "CSTAErrorCode"

    async def test_cseq_method_not_the_request_method_gets_400(self) -> None:
        ua = await self.dialog()
        request = ua.build("INFO", Lync.request_system_status())
        request.headers.set("CSeq", f"{ua.cseq} BYE")
        assert (await ua.send(request)).status == 400

    async def test_subscribe_gets_405_with_allow(self) -> None:
        ua = await self.dialog()
        reply = await ua.request(b"", method="SUBSCRIBE", headers=[("Event", "uaCSTA")])
        assert reply.status == 405
        allowed = {m.strip() for m in reply.response.headers.get_all("Allow")}
        allowed = {part.strip() for value in allowed for part in value.split(",")}
        assert {"INVITE", "ACK", "BYE", "INFO", "OPTIONS"} <= allowed
        assert "SUBSCRIBE" not in allowed

    async def test_options_gets_200(self) -> None:
        server = await start_server(self)
        ua = await connect_ua(self, server, "udp")
        reply = await ua.request(b"", method="OPTIONS", in_dialog=False, content_type=None)
        assert reply.status == 200
        assert CSTA in reply.response.headers.get("Accept")

    async def test_notify_ua_csta_gets_489(self) -> None:
        ua = await self.dialog()
        body = xml("MakeCall", f"<callingDevice>{LINE}</callingDevice>")
        reply = await ua.request(body, method="NOTIFY", headers=[("Event", "uaCSTA")])
        assert reply.status == 489

    async def test_out_of_dialog_info_gets_481_by_default(self) -> None:
        server = await start_server(self)
        ua = await connect_ua(self, server, "udp")
        reply = await ua.request(Lync.make_call(LINE, "tel:+4685551102"), in_dialog=False)
        assert reply.status == 481
        assert server.switch.snapshot_device("1101") == []

    async def test_out_of_dialog_info_served_by_setting(self) -> None:
        server = await start_server(self, Tr87Settings(serve_out_of_dialog_info=True))
        ua = await connect_ua(self, server, "udp")
        reply = await ua.request(Lync.make_call(LINE, "tel:+4685551102"), in_dialog=False)
        assert reply.status == 200
        assert reply.name == "MakeCallResponse"
        call_id, device = reply.get("calling_device")
        assert device == "tel:+4685551101"
        assert server.call_id_of("1102") == call_id
        assert ua.events == []  # nowhere to send events
