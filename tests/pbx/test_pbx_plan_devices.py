"""The switch built from the demo plan: ISwitch conformance, devices, numbering."""

from __future__ import annotations

import pytest
from twisted.internet.task import Clock
from zope.interface.verify import verifyObject

from cstaserver.pbx.interfaces import ISwitch
from cstaserver.pbx.plan import DeviceKind, DirectoryNumberType, ExchangePlan, Extension
from cstaserver.pbx.switch import Switch


def test_switch_provides_iswitch(switch):
    assert verifyObject(ISwitch, switch)


def test_demo_devices(switch):
    numbers = [d.number for d in switch.devices()]
    assert numbers[0] == "1000" and numbers[-1] == "0"
    assert len(numbers) == 10 + 10 + 5 + 5 + 5 + 5 + 5 + 3 + 4 + 1
    info = switch.device("1105")
    assert (info.kind, info.lim, info.dn_type) == (
        DeviceKind.SIP_EXTENSION,
        1,
        DirectoryNumberType.EDN,
    )
    assert switch.device("1400").terminal is False
    assert switch.device("2100").members == ("1100", "1101", "1102", "1103")
    assert switch.device("0").kind is DeviceKind.TRUNK


@pytest.mark.parametrize(
    ("number", "external"),
    [
        ("0812345", True),
        ("+4685550107", True),
        ("+4685551001", False),
        ("1001", False),
        ("0", False),
        ("x", False),
    ],
)
def test_is_external(switch, number, external):
    assert switch.is_external(number) is external


def test_public_numbering(switch):
    assert switch.public_numbering.to_public("1001") == "+4685551001"
    assert switch.device("+4685551001").number == "1001"


def test_duplicate_number_rejected():
    plan = ExchangePlan(
        extensions=[
            Extension("1000", DeviceKind.IP_EXTENSION),
            Extension("1000", DeviceKind.IP_EXTENSION),
        ]
    )
    with pytest.raises(ValueError, match="1000"):
        Switch(plan, Clock())
