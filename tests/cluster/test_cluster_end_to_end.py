"""Every end-to-end scenario class (CSTA XML, TR/87 over UDP and TCP, SOAP), run once more
through a cluster's front end that does not hold the exchange (tests/cluster/
cluster_world.py): the same tests and assertions (responses before the events they caused
included), the requests forwarded over the bus to the exchange's core, the events coming
back over it. Each module builds its server in one place, which is replaced for these runs:
``make_world`` (XML), ``tr87_ua``'s core (TR/87), ``soap_support``'s core (SOAP)."""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable
from typing import Any

from twisted.trial import unittest

from cstaserver.csta.core import CstaCore
from cstaserver.csta.service import make_core
from tests.cluster.cluster_world import cluster_world, front_end
from tests.sip import tr87_ua
from tests.soap import soap_support


def _modules(*names: str) -> tuple[Any, ...]:
    return tuple(importlib.import_module(f"tests.{name}") for name in names)


XML_MODULES = _modules(
    "xmlproto.test_xml_scenarios",
    "xmlproto.test_xml_loopback_services",
    "xmlproto.test_xml_call_data",
    "xmlproto.test_xml_call_features",
    "xmlproto.test_xml_call_type_monitor",
    "xmlproto.test_xml_errors",
    "xmlproto.test_xml_partial_connection_id",
    "xmlproto.test_xml_pickup_park",
    "xmlproto.test_xml_call_centre",
    "xmlproto.test_xml_call_centre_docs",
    "xmlproto.test_xml_docs_example",
    "csta.test_sessions_xml",
)
SIP_MODULES = _modules(
    "sip.test_tr87_call_features",
    "sip.test_tr87_docs_example",
    "sip.test_tr87_errors",
    "sip.test_tr87_features",
    "sip.test_tr87_flow",
    "sip.test_tr87_lines",
    "sip.test_tr87_one_way",
    "sip.test_tr87_quirks",
)
SOAP_MODULES = _modules(
    "soap.test_soap_auth",
    "soap.test_soap_call_features",
    "soap.test_soap_events",
    "soap.test_soap_example",
    "soap.test_soap_faults",
    "soap.test_soap_routeing",
)


def _replace_xml_world(test: Any, modules: list[Any]) -> None:
    for module in modules:  # the test's module and those of the classes it inherits
        if hasattr(module, "make_world"):
            test.patch(module, "make_world", cluster_world)


def _replace_sip_core(test: Any, modules: list[Any]) -> None:
    def core(switch: Any, clock: Any) -> Any:
        front = front_end(
            switch, clock, lambda remote, services: CstaCore(remote, clock, services=services)
        )
        return front.core

    test.patch(tr87_ua, "CstaCore", core)


def _replace_soap_core(test: Any, modules: list[Any]) -> None:
    def core(switch: Any, clock: Any, **options: Any) -> Any:
        front = front_end(
            switch,
            clock,
            lambda remote, services: make_core(remote, clock, services=services, **options),
        )
        return front.core

    test.patch(soap_support, "make_core", core)


def through_a_front_end(cls: type, replace: Callable[[Any, Any], None]) -> type:
    modules = [sys.modules[k.__module__] for k in cls.__mro__ if k.__module__.startswith("tests.")]

    async def setUp(self: Any) -> None:  # noqa: N802 (trial)
        replace(self, modules)
        started = super(through, self).setUp()
        if inspect.isawaitable(started):
            await started

    name = f"{cls.__name__}ThroughAFrontEnd"
    through = type(name, (cls,), {"setUp": setUp, "__module__": __name__, "__qualname__": name})
    return through


def _test_classes(modules: tuple[Any, ...]) -> list[type]:
    return [
        value
        for module in modules
        for value in vars(module).values()
        if inspect.isclass(value)
        and value.__module__ == module.__name__
        and issubclass(value, unittest.TestCase)
        and any(name.startswith("test_") for name in dir(value))
    ]


for _modules, _replace in (
    (XML_MODULES, _replace_xml_world),
    (SIP_MODULES, _replace_sip_core),
    (SOAP_MODULES, _replace_soap_core),
):
    for _cls in _test_classes(_modules):
        globals()[f"{_cls.__name__}ThroughAFrontEnd"] = through_a_front_end(_cls, _replace)
del _cls, _modules, _replace
