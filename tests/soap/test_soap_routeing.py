"""Routeing (ECMA-269 clause 20) over SOAP: RouteRegister answered in the SOAP Body, the
RouteRequest fetched with GetEvents, RouteSelectRequest (no positive response) answered
with an empty SOAP Body, and a dialogue the client does not have answered with a Fault."""

from __future__ import annotations

from lxml import etree
from twisted.trial import unittest

from cstaserver.csta.namespaces import ED3
from cstaserver.pbx.simulator import Simulator
from tests.soap.soap_support import MemoryWeb, soap11
from tests.soap.test_soap_events import body_names, get_events

S11 = "http://schemas.xmlsoap.org/soap/envelope/"


def body(envelope: bytes) -> etree._Element:
    return etree.fromstring(envelope).find(f"{{{S11}}}Body")


def text_of(element: etree._Element, name: str) -> str:
    return "".join(element.find(f".//{{{ED3}}}{name}").itertext())


class SoapRouteingTests(unittest.TestCase):
    def setUp(self) -> None:
        self.web = MemoryWeb()
        self.addCleanup(self.web.stop)

    def post(self, envelope: bytes) -> tuple[int, object, bytes]:
        return self.successResultOf(self.web.post(envelope))

    def test_register_route_and_select_over_soap(self) -> None:
        register = (
            f'<RouteRegister xmlns="{ED3}"><routeingDevice>2000</routeingDevice></RouteRegister>'
        )
        status, _h, data = self.post(soap11(register))
        self.assertEqual((status, body_names(data)), (200, ["RouteRegisterResponse"]))
        sim = Simulator(self.web.switch)
        call = sim.call("+4685550107", "2000")
        self.web.reactor.advance(0)
        status, _h, data = self.post(soap11(get_events(1)))
        self.assertEqual(body_names(data), ["RouteRequest"])
        cross_ref = text_of(body(data), "crossRefIdentifier")
        self.assertEqual(text_of(body(data), "callingDevice"), "+4685550107")

        select = (
            f'<RouteSelectRequest xmlns="{ED3}"><crossRefIdentifier>{cross_ref}'
            "</crossRefIdentifier><routeSelected>1001</routeSelected></RouteSelectRequest>"
        )
        status, _h, data = self.post(soap11(select))
        self.assertEqual(status, 200)
        self.assertEqual(len(body(data)), 0)  # no positive response: an empty Body
        states = {d: s.value for d, s in self.web.switch.snapshot_call(call)}
        self.assertEqual(states, {"+4685550107": "connected", "1001": "alerting"})
        self.web.reactor.advance(0)
        status, _h, data = self.post(soap11(get_events(1)))
        self.assertEqual(body_names(data), ["RouteEndRequest"])

        status, _h, data = self.post(soap11(select))  # that dialogue is over
        self.assertEqual(status, 500)
        self.assertIn(b"invalidRouteingCrossRefID", data)
        self.web.switch.clear_call(call)
