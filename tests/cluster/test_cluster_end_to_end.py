"""Every XML end-to-end scenario class, run once more through a cluster's front end that
does not hold the exchange (tests/cluster/cluster_world.py): the same tests, the same
assertions (responses before the events they caused included), with the requests forwarded
over the bus to the exchange's core and the events coming back over it."""

from __future__ import annotations

import inspect
import sys
from typing import Any

from tests.cluster.cluster_world import ClusterWorld, cluster_world
from tests.csta import test_sessions_xml
from tests.xmlproto import (
    test_xml_call_centre,
    test_xml_call_centre_docs,
    test_xml_call_data,
    test_xml_call_features,
    test_xml_call_type_monitor,
    test_xml_docs_example,
    test_xml_errors,
    test_xml_loopback_services,
    test_xml_partial_connection_id,
    test_xml_pickup_park,
    test_xml_scenarios,
)

MODULES = (
    test_xml_scenarios,
    test_xml_loopback_services,
    test_xml_call_data,
    test_xml_call_features,
    test_xml_call_type_monitor,
    test_xml_errors,
    test_xml_partial_connection_id,
    test_xml_pickup_park,
    test_xml_call_centre,
    test_xml_call_centre_docs,
    test_xml_docs_example,
    test_sessions_xml,
)


def through_a_front_end(cls: type) -> type:
    module = sys.modules[cls.__module__]

    async def setUp(self: Any) -> None:  # noqa: N802 (trial)
        def make_world(**options: Any) -> ClusterWorld:
            world = cluster_world(**options)
            self.addCleanup(world.close)
            return world

        self.patch(module, "make_world", make_world)
        started = cls.setUp(self)
        if inspect.isawaitable(started):
            await started

    name = f"{cls.__name__}ThroughAFrontEnd"
    return type(name, (cls,), {"setUp": setUp, "__module__": __name__, "__qualname__": name})


def _test_classes() -> list[type]:
    found = []
    for module in MODULES:
        for value in vars(module).values():
            if (
                inspect.isclass(value)
                and value.__module__ == module.__name__
                and any(name.startswith("test_") for name in dir(value))
                and "make_world" in inspect.getsource(module)
            ):
                found.append(value)
    return found


for _cls in _test_classes():
    globals()[f"{_cls.__name__}ThroughAFrontEnd"] = through_a_front_end(_cls)
del _cls
