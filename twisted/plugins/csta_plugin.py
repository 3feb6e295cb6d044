"""twistd plugin: ``twistd -n csta`` starts the simulated MX-ONE CSTA Server."""

from twisted.application.service import ServiceMaker

csta = ServiceMaker(
    "cstaserver",
    "cstaserver.app",
    "Simulated Mitel MX-ONE CSTA Server (Phase III): ECMA-323 XML, TR/87, SOAP",
    "csta",
)
