"""Hijack (server-side request forgery): SOAP Subscribe let any web account make the server
POST events to any URL - a service on the server's own loopback included. NotifyTo must now
fall under ``Limits.notify_to_allow`` (empty by default: no URL; events by GetEvents), and with
authentication mandatory Subscribe, GetEvents and Unsubscribe need an application session.
A client with an allowed receiver still gets its events. Over loopback."""

from __future__ import annotations

import attrs
from lxml import etree
from twisted.internet import reactor
from twisted.trial import unittest
from twisted.web.server import Site

from cstaserver.config import AuthMode
from cstaserver.soap.envelope import SOAP_NS
from cstaserver.soap.notifyto import notify_to_allowed
from tests.hardening.support import sleep
from tests.soap.soap_support import LoopbackWeb, NotifyReceiver, soap11
from tests.soap.test_soap_events import session_header
from tests.xmlproto.xml_client import Req


def subscribe(url: str) -> str:
    return f'<Subscribe xmlns="{SOAP_NS}"><NotifyTo>{url}</NotifyTo></Subscribe>'


def _text(data: bytes, name: str) -> str:
    return etree.fromstring(data).xpath(f"//*[local-name()='{name}']")[-1].text


class NotifyToTests(unittest.TestCase):
    def start(self, **server_changes: object) -> LoopbackWeb:
        web = LoopbackWeb(reactor, server_changes=server_changes or None)
        web.listen()
        self.addCleanup(web.stop)
        return web

    def receiver(self) -> tuple[NotifyReceiver, str]:
        """A 'loopback service' of the server's host (the forgery's target)."""
        receiver = NotifyReceiver()
        port = reactor.listenTCP(0, Site(receiver), interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        return receiver, f"http://127.0.0.1:{port.getHost().port}/internal"

    async def test_notify_to_outside_the_allow_list_is_refused(self) -> None:
        web = self.start()
        victim, url = self.receiver()
        status, _h, data = await web.post(soap11(subscribe(url)))
        self.assertEqual(status, 500, data)
        self.assertIn(b"allow-list", data)
        await web.post(soap11(Req.monitor_start("1007")))
        web.switch.make_call("1006", "1007")
        await sleep(0.1)
        self.assertEqual(victim.bodies, [])

        # the operator allows one receiver: a client subscribing there gets its events
        good, good_url = self.receiver()
        core = web.core
        core.apply_limits(attrs.evolve(core.limits, notify_to_allow=(good_url,)))
        status, _h, data = await web.post(soap11(subscribe(good_url)))
        self.assertEqual(status, 200, data)
        for call_id in list(web.switch.calls):
            web.switch.clear_call(call_id)
        await good.wait_for(1)
        # and still nothing for anything else, however the URL is dressed up
        for trick in (url, url.replace("127.0.0.1", "localhost"), good_url + "x"):
            status, _h, data = await web.post(soap11(subscribe(trick)))
            self.assertEqual(status, 500, (trick, data))
        self.assertEqual(victim.bodies, [])

    async def test_event_operations_need_a_session_when_mandatory(self) -> None:
        web = self.start(authentication=AuthMode.MANDATORY)
        _receiver, url = self.receiver()
        core = web.core
        core.apply_limits(attrs.evolve(core.limits, notify_to_allow=(url,)))
        get_events = f'<GetEvents xmlns="{SOAP_NS}"><timeout>0</timeout></GetEvents>'
        unsubscribe = (
            f'<Unsubscribe xmlns="{SOAP_NS}"><subscriptionID>x</subscriptionID></Unsubscribe>'
        )
        for body in (subscribe(url), get_events, unsubscribe):
            status, _h, data = await web.post(soap11(body))
            self.assertEqual(status, 500, data)
            self.assertIn(b"needs an application session", data)

        # with a session they work (the well-behaved client)
        status, _h, data = await web.post(soap11(Req.start_session()))
        self.assertEqual(status, 200, data)
        header = session_header(_text(data, "sessionID"))
        status, _h, data = await web.post(soap11(subscribe(url), header))
        self.assertEqual(status, 200, data)
        status, _h, data = await web.post(soap11(get_events, header))
        self.assertEqual(status, 200, data)


def test_prefixes_match_by_parts_not_as_text() -> None:
    allow = ("http://crm.example:9000/csta", "https://hooks.example/")
    assert notify_to_allowed("http://crm.example:9000/csta", allow)
    assert notify_to_allowed("http://CRM.example:9000/csta/events?x=1", allow)
    assert notify_to_allowed("https://hooks.example/a", allow)
    assert notify_to_allowed("https://hooks.example:443/a", allow)
    for refused in (
        "http://crm.example:90001/csta",
        "http://crm.example:9001/csta",
        "http://crm.example.evil/csta",
        "http://crm.example:9000/cstax",
        "https://crm.example:9000/csta",
        "http://user:pw@crm.example:9000/csta",
        "http://hooks.example/a",
        "ftp://hooks.example/a",
        "http://127.0.0.1:9000/csta",
        "",
    ):
        assert not notify_to_allowed(refused, allow), refused
    assert not notify_to_allowed("http://crm.example:9000/csta", ())
