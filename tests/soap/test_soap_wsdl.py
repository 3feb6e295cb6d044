"""The served WSDL 1.1 and XSDs: generated from the codec's declarations, self-contained,
valid XML Schema, and the codec's own output validates against them."""

from __future__ import annotations

import re

from lxml import etree
from twisted.internet import reactor
from twisted.trial import unittest

from cstaserver.csta import codec
from cstaserver.csta.core import default_services
from cstaserver.csta.errors import ErrorValue, encode_error
from cstaserver.csta.messages import MakeCall, MakeCallResponse, MonitorStart
from cstaserver.csta.messages.monitoring import MonitorObject
from cstaserver.csta.namespaces import APPL_SESSION, ED3
from cstaserver.csta.types import ConnectionID, DeviceID
from cstaserver.soap.wsdl import XSD_FILES, operations, wsdl_document, xsd_document
from tests.soap.soap_support import LoopbackWeb

WSDL = "http://schemas.xmlsoap.org/wsdl/"


class GeneratedTests(unittest.TestCase):
    def test_every_service_has_an_operation_with_typed_elements(self) -> None:
        names = {op[0] for op in operations()}
        for cls in default_services():
            self.assertIn(cls.csta_name, names)
        schema = etree.fromstring(xsd_document("csta.xsd"))
        declared = {
            e.get("name") for e in schema.findall("{http://www.w3.org/2001/XMLSchema}element")
        }
        for _op, namespace, request, response, _neg in operations():
            if namespace == ED3:
                self.assertIn(request, declared)
                if response is not None:  # a one-way operation has none
                    self.assertIn(response, declared)
        self.assertIn("CSTAErrorCode", declared)
        self.assertIn("DeliveredEvent", declared)

    def test_schemas_compile_and_imports_stay_local(self) -> None:
        for name in XSD_FILES:
            document = xsd_document(name)
            etree.XMLSchema(etree.fromstring(document))
            self.assertNotIn(b"schemaLocation", document)
        wsdl = wsdl_document("http://example.test:8080/csta")
        locations = re.findall(rb'schemaLocation="([^"]+)"', wsdl)
        self.assertEqual(len(locations), 3)
        for location in locations:
            self.assertTrue(location.startswith(b"csta?xsd="), location)
        self.assertIsNone(xsd_document("../../etc/passwd"))

    def test_codec_output_validates(self) -> None:
        schema = etree.XMLSchema(etree.fromstring(xsd_document("csta.xsd")))
        messages = [
            MakeCall(
                calling_device=DeviceID(value="1000"),
                called_directory_number=DeviceID(value="1001"),
            ),
            MakeCallResponse(calling_device=ConnectionID.of("7", "1000")),
            MonitorStart(monitor_object=MonitorObject(device_object=DeviceID(value="1000"))),
        ]
        for message in messages:
            schema.assertValid(etree.fromstring(codec.encode(message, ED3)))
        schema.assertValid(etree.fromstring(encode_error(ErrorValue.NO_CALL_TO_ANSWER, ED3)))

    def test_session_operations_use_ecma354_and_have_neg_faults(self) -> None:
        ops = {op[0]: op for op in operations()}
        self.assertEqual(ops["StartApplicationSession"][1], APPL_SESSION)
        self.assertEqual(ops["StartApplicationSession"][3], "StartApplicationSessionPosResponse")
        self.assertEqual(ops["StartApplicationSession"][4], "StartApplicationSessionNegResponse")

    def test_bindings_actions_and_header(self) -> None:
        wsdl = etree.fromstring(wsdl_document("http://h:1/csta"))
        bindings = wsdl.findall(f"{{{WSDL}}}binding")
        self.assertEqual(len(bindings), 2)
        actions = wsdl.xpath("//*[local-name()='operation'][@soapAction]/@soapAction")
        self.assertIn("urn:cstaserver:soap#MakeCall", actions)
        self.assertTrue(wsdl.xpath("//*[local-name()='header'][@part='sessionID']"))
        addresses = wsdl.xpath("//*[local-name()='address']/@location")
        self.assertEqual(addresses, ["http://h:1/csta", "http://h:1/csta"])


class ServedTests(unittest.TestCase):
    def setUp(self) -> None:
        self.web = LoopbackWeb(reactor)
        self.web.listen()
        self.addCleanup(lambda: self.web.stop())

    async def test_address_from_the_host_header(self) -> None:
        status, headers, data = await self.web.request(
            b"GET", self.web.url + "?wsdl", headers={b"Host": b"pbx.example.com:8080"}
        )
        self.assertEqual(status, 200)
        self.assertIn(b'location="http://pbx.example.com:8080/csta"', data)
        self.assertTrue(headers.getRawHeaders(b"content-type")[0].startswith(b"text/xml"))

    async def test_bad_host_header_falls_back_to_our_address(self) -> None:
        _s, _h, data = await self.web.request(
            b"GET", self.web.url + "?wsdl", headers={b"Host": b'evil"><x'}
        )
        self.assertIn(f'location="{self.web.url}"'.encode(), data)

    async def test_xsd_files_and_unknown(self) -> None:
        for name in XSD_FILES:
            status, _h, data = await self.web.request(b"GET", f"{self.web.url}?xsd={name}")
            self.assertEqual(status, 200)
            self.assertIn(b"xs:schema", data)
        status, _h, _d = await self.web.request(b"GET", self.web.url + "?xsd=nope.xsd")
        self.assertEqual(status, 404)
        status, _h, data = await self.web.request(b"GET", self.web.url)
        self.assertEqual(status, 200)
        self.assertIn(b"WSDL", data)
