"""Faults and HTTP errors of the SOAP endpoint (SOAP 1.1 4.4 / 6.2, SOAP 1.2 part 1 5.4 and
part 2 7.5; RFC 9110 413/415): always an answer with a body, never a traceback page."""

from __future__ import annotations

from lxml import etree
from twisted.internet import reactor
from twisted.trial import unittest

from cstaserver.csta.namespaces import ED3, ED4
from tests.soap.soap_support import LoopbackWeb, basic, soap11, soap12

S11 = "http://schemas.xmlsoap.org/soap/envelope/"
S12 = "http://www.w3.org/2003/05/soap-envelope"
SOAP12_TYPE = b"application/soap+xml; charset=utf-8"


def fault_code(body: bytes) -> str:
    root = etree.fromstring(body)
    code = root.find(f".//{{{S11}}}Fault/faultcode")
    if code is None:
        code = root.find(f".//{{{S12}}}Fault/{{{S12}}}Code/{{{S12}}}Value")
    return code.text


def error_code(body: bytes) -> etree._Element | None:
    found = etree.fromstring(body).xpath("//*[local-name()='CSTAErrorCode']")
    return found[0] if found else None


class FaultTests(unittest.TestCase):
    def setUp(self) -> None:
        self.web = LoopbackWeb(reactor)
        self.web.listen()
        self.addCleanup(lambda: self.web.stop())

    async def test_csta_error_soap11_server_fault_with_detail(self) -> None:
        body = f'<AnswerCall xmlns="{ED3}"><callToBeAnswered><callID>77</callID><deviceID>1001</deviceID></callToBeAnswered></AnswerCall>'
        status, headers, data = await self.web.post(soap11(body))
        self.assertEqual(status, 500)
        self.assertEqual(fault_code(data), "soap:Server")
        code = error_code(data)
        self.assertIsNotNone(code)
        self.assertEqual(etree.QName(code).namespace, ED3)
        self.assertTrue(headers.getRawHeaders(b"content-type")[0].startswith(b"text/xml"))

    async def test_csta_error_soap12_receiver_fault_in_request_namespace(self) -> None:
        body = f'<ClearConnection xmlns="{ED4}"><connectionToBeCleared><callID>9</callID><deviceID>1001</deviceID></connectionToBeCleared></ClearConnection>'
        status, headers, data = await self.web.post(soap12(body), content_type=SOAP12_TYPE)
        self.assertEqual(status, 500)
        self.assertEqual(fault_code(data), "soap:Receiver")
        self.assertEqual(etree.QName(error_code(data)).namespace, ED4)
        self.assertTrue(
            headers.getRawHeaders(b"content-type")[0].startswith(b"application/soap+xml")
        )

    async def test_unsupported_service_is_a_csta_fault(self) -> None:
        status, _h, data = await self.web.post(soap11(f'<NoSuchService xmlns="{ED3}"/>'))
        self.assertEqual(status, 500)
        self.assertIsNotNone(error_code(data))

    async def test_bad_envelopes_are_client_faults(self) -> None:
        cases = [
            b"not xml at all",
            soap11(""),
            soap11(f'<GetCSTAFeatures xmlns="{ED3}"/><GetCSTAFeatures xmlns="{ED3}"/>'),
            b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"/>',
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>',
        ]
        for envelope in cases:
            status, _h, data = await self.web.post(envelope)
            self.assertEqual(status, 500, envelope)
            self.assertEqual(fault_code(data), "soap:Client", envelope)

    async def test_envelope_in_no_namespace_is_version_mismatch(self) -> None:
        status, _h, data = await self.web.post(b"<Envelope><Body/></Envelope>")
        self.assertEqual(status, 500)
        self.assertEqual(fault_code(data), "soap:VersionMismatch")

    async def test_bad_envelope_soap12_is_sender_400(self) -> None:
        status, _h, data = await self.web.post(soap12(""), content_type=SOAP12_TYPE)
        self.assertEqual(status, 400)
        self.assertEqual(fault_code(data), "soap:Sender")

    async def test_version_mismatch(self) -> None:
        status, _h, data = await self.web.post(soap12(f'<GetCSTAFeatures xmlns="{ED3}"/>'))
        self.assertEqual(status, 500)
        self.assertEqual(fault_code(data), "soap:VersionMismatch")

    async def test_must_understand(self) -> None:
        header = '<x:Secret xmlns:x="urn:other" s:mustUnderstand="1"/>'
        status, _h, data = await self.web.post(soap11(f'<GetCSTAFeatures xmlns="{ED3}"/>', header))
        self.assertEqual(status, 500)
        self.assertEqual(fault_code(data), "soap:MustUnderstand")

    async def test_wrong_content_type_is_415(self) -> None:
        status, headers, data = await self.web.post(
            soap11(f'<GetCSTAFeatures xmlns="{ED3}"/>'), content_type=b"application/json"
        )
        self.assertEqual(status, 415)
        self.assertTrue(data)
        self.assertIn(b"text/xml", headers.getRawHeaders(b"accept")[0])

    async def test_body_over_the_limit_is_413(self) -> None:
        filler = "x" * (self.web.core.limits.max_message_bytes + 10)
        envelope = soap11(
            f'<GetCSTAFeatures xmlns="{ED3}"><extensions>{filler}</extensions></GetCSTAFeatures>'
        )
        status, _h, data = await self.web.post(envelope)
        self.assertEqual(status, 413)
        self.assertIn(b"Fault", data)

    async def test_internal_error_is_a_server_fault_not_a_traceback(self) -> None:
        dispatcher = self.web.site.resource.children[b"csta"].dispatcher

        async def broken(*args: object) -> bytes:
            raise RuntimeError("boom")

        self.patch(dispatcher, "handle", broken)
        status, _h, data = await self.web.post(soap11(f'<GetCSTAFeatures xmlns="{ED3}"/>'))
        self.assertEqual(status, 500)
        self.assertEqual(fault_code(data), "soap:Server")
        self.assertNotIn(b"Traceback", data)
        self.assertNotIn(b"boom", data)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    async def test_one_bad_request_does_not_harm_the_next(self) -> None:
        await self.web.post(b"<<<")
        status, _h, data = await self.web.post(soap11(f'<GetCSTAFeatures xmlns="{ED3}"/>'))
        self.assertEqual(status, 200)
        self.assertIn(b"GetCSTAFeaturesResponse", data)

    async def test_soapaction_is_ignored(self) -> None:
        status, _h, data = await self.web.request(
            b"POST",
            self.web.url,
            soap11(f'<GetCSTAFeatures xmlns="{ED3}"/>'),
            {
                b"Content-Type": b"text/xml",
                b"SOAPAction": b'"urn:#CSTA-Delivered-event"',
                b"Authorization": basic(),
            },
        )
        self.assertEqual(status, 200)
