"""A zeep client loads the served WSDL offline and drives the demo exchange (ECMA-348 over
SOAP 1.1 and 1.2; ECMA-354 sessions with the cs:sessionID header)."""

from __future__ import annotations

from typing import Any

from twisted.internet import reactor
from twisted.trial import unittest

from cstaserver.csta.namespaces import ED3
from tests.soap.soap_support import DEMO_PASSWORD, DEMO_USER, LoopbackWeb, in_thread


def zeep_client(wsdl_url: str, user: str = DEMO_USER, password: str = DEMO_PASSWORD) -> Any:
    import requests
    import zeep
    from zeep.transports import Transport

    session = requests.Session()
    session.auth = (user, password)
    return zeep.Client(wsdl_url, transport=Transport(session=session))


def device(number: str) -> dict[str, str]:
    return {"_value_1": number}


class ZeepTests(unittest.TestCase):
    def setUp(self) -> None:
        self.web = LoopbackWeb(reactor)
        self.web.listen()
        self.addCleanup(lambda: self.web.stop())

    async def client(self) -> Any:
        client = await in_thread(reactor, zeep_client, self.web.url + "?wsdl")
        self.addCleanup(lambda: in_thread(reactor, client.transport.session.close))
        return client

    async def call(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        return await in_thread(reactor, lambda: function(*args, **kwargs))

    async def test_features_monitor_make_call(self) -> None:
        client = await self.client()
        service = client.service
        features = await self.call(service.GetCSTAFeatures)
        flags = features.supportedServices.callControlServList._value_1
        names = {element.tag.rsplit("}", 1)[-1] for element in flags}
        self.assertIn("makeCall", names)

        monitor = await self.call(
            service.MonitorStart, monitorObject={"deviceObject": device("1000")}
        )
        self.assertTrue(monitor.monitorCrossRefID)
        made = await self.call(
            service.MakeCall, callingDevice=device("1000"), calledDirectoryNumber=device("1001")
        )
        self.assertEqual(made.callingDevice.deviceID._value_1, "1000")
        self.assertIn(made.callingDevice.callID, self.web.switch.calls)
        states = dict(self.web.switch.snapshot_call(made.callingDevice.callID))
        self.assertEqual(states["1001"].value, "alerting")

    async def test_session_start_stop_with_header(self) -> None:
        client = await self.client()
        service = client.service
        started = await self.call(
            service.StartApplicationSession,
            applicationInfo={"applicationID": "demo"},
            requestedProtocolVersions={"protocolVersion": [ED3]},
        )
        session_id = started.sessionID
        self.assertIn(session_id, self.web.core.sessions.sessions)
        headers = {"sessionID": session_id}
        monitor = await self.call(
            service.MonitorStart,
            monitorObject={"deviceObject": device("1002")},
            _soapheaders=headers,
        )
        session = self.web.core.sessions.sessions[session_id]
        owned = [m.cross_ref_id for m in self.web.core.monitors.owned_by(session)]
        self.assertEqual(owned, [monitor.monitorCrossRefID])
        # the same association serves the next request of the session
        channel = self.web.site.channels.by_session[session_id]
        reset = await self.call(
            service.ResetApplicationSessionTimer,
            sessionID=session_id,
            requestedSessionDuration=120,
            _soapheaders=headers,
        )
        self.assertEqual(reset.actualSessionDuration, 120)
        self.assertIs(self.web.site.channels.by_session[session_id], channel)

        await self.call(service.StopApplicationSession, sessionID=session_id, _soapheaders=headers)
        self.assertNotIn(session_id, self.web.core.sessions.sessions)
        self.assertNotIn(session_id, self.web.site.channels.by_session)
        self.assertEqual(self.web.core.monitors.owned_by(session), [])  # monitors ended too
        self.assertTrue(channel.closed)
        self.assertNotIn(channel.association, self.web.core.associations)

    async def test_session_header_of_an_ended_session_is_a_client_fault(self) -> None:
        import zeep.exceptions

        client = await self.client()
        with self.assertRaises(zeep.exceptions.Fault) as caught:
            await self.call(
                client.service.GetCSTAFeatures, _soapheaders={"sessionID": "0123456789abcdef"}
            )
        self.assertIn("invalidSessionID", caught.exception.message)

    async def test_soap12_binding(self) -> None:
        client = await self.client()
        service = client.bind("CstaService", "CstaSoap12Port")
        made = await self.call(
            service.MakeCall, callingDevice=device("1003"), calledDirectoryNumber=device("1004")
        )
        self.assertEqual(made.callingDevice.deviceID._value_1, "1003")

    async def test_csta_error_is_a_fault_with_the_error_code(self) -> None:
        import zeep.exceptions

        client = await self.client()
        with self.assertRaises(zeep.exceptions.Fault) as caught:
            await self.call(
                client.service.AnswerCall,
                callToBeAnswered={"callID": "999", "deviceID": device("1001")},
            )
        fault = caught.exception
        self.assertIn("CSTA error", fault.message)
        codes = fault.detail.xpath("//*[local-name()='CSTAErrorCode']")
        self.assertEqual(len(codes), 1)
