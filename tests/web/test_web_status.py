"""The status page (``/``) and its JSON (``/api/status``): servers, clients, sessions,
monitors, calls with connection states, ACD agents and queues."""

from __future__ import annotations

import json

from twisted.internet import reactor
from twisted.trial import unittest

from cstaserver.csta.namespaces import ED3
from cstaserver.pbx.simulator import Simulator
from cstaserver.pbx.states import RequestedAgentState
from tests.soap.soap_support import LoopbackWeb, basic, soap11


class StatusTests(unittest.TestCase):
    def setUp(self) -> None:
        self.web = LoopbackWeb(reactor)
        self.web.listen()
        self.addCleanup(lambda: self.web.stop())

    async def status(self) -> dict:
        status, _headers, _data = await self.web.request(b"GET", self.web.base + "/api/status")
        self.assertEqual(status, 401)  # sessions, users, addresses: a web account's to read
        auth = {b"Authorization": basic()}
        status, headers, data = await self.web.request(
            b"GET", self.web.base + "/api/status", headers=auth
        )
        self.assertEqual(status, 200)
        self.assertEqual(headers.getRawHeaders(b"content-type")[0], b"application/json")
        return json.loads(data)

    async def test_page_is_self_contained_html(self) -> None:
        status, headers, data = await self.web.request(b"GET", self.web.base + "/")
        self.assertEqual(status, 200)
        self.assertTrue(headers.getRawHeaders(b"content-type")[0].startswith(b"text/html"))
        self.assertIn(b"api/status", data)
        self.assertNotIn(b"http://", data)
        self.assertNotIn(b"https://", data)

    async def test_ringing_call_clients_monitors_and_acd(self) -> None:
        monitor = f'<MonitorStart xmlns="{ED3}"><monitorObject><deviceObject>1000</deviceObject></monitorObject></MonitorStart>'
        await self.web.post(soap11(monitor))
        Simulator(self.web.switch).call("1000", "1001")
        self.web.switch.set_agent_state("1000", RequestedAgentState.LOGGED_ON, "5001", None, "2000")
        status = await self.status()
        self.assertEqual(status["servers"][0]["web_port"], 8080)
        (call,) = status["calls"]
        states = {c["device"]: c["state"] for c in call["connections"]}
        self.assertEqual(states["1001"], "alerting")
        (client,) = status["clients"]
        self.assertEqual((client["profile"], client["monitors"]), ("soap", 1))
        self.assertEqual(status["monitors"][0]["object"], "1000")
        acd, sales = status["acd"]
        self.assertEqual((acd["group"], sales["group"]), ("2000", "2001"))
        self.assertEqual((acd["routing"], sales["routing"]), ("application", "switch"))
        self.assertEqual(acd["agents"][0]["agent"], "5001")
        self.assertEqual((acd["queued"], sales["agents"]), (0, []))
        self.assertEqual(status["sessions"], [])
