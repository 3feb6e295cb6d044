"""How devices are named to a client: the echo rule first, then deviceid.present."""

from __future__ import annotations

import pytest

from cstaserver.csta import codec
from cstaserver.csta.deviceid import PrefixNumberPlan
from cstaserver.csta.namespaces import ED4
from cstaserver.csta.presentation import Presenter

PLAN = PrefixNumberPlan(public_prefix="+468555", internal_length=4)


@pytest.mark.parametrize(
    ("e164", "number", "expected"),
    [
        (True, "1001", "tel:+4685551001"),
        (True, "+4685550107", "tel:+4685550107"),
        (True, "0812345", "tel:0812345;phone-context=dialstring"),
        (False, "1001", "1001"),
        (False, "+4685550107", "+4685550107"),
    ],
)
def test_other_parties_as_the_dialect_wants(e164: bool, number: str, expected: str) -> None:
    assert Presenter(PLAN, e164=e164).text(number) == expected


def test_the_clients_own_string_is_echoed_byte_for_byte() -> None:
    line = "tel:1001;phone-context=dialstring;partition=BE"
    presenter = Presenter(PLAN, e164=True, echo=(("1001", line),))
    assert presenter.text("1001") == line
    assert presenter.text("1002") == "tel:+4685551002"


def test_decode_error_carries_the_request_namespace() -> None:
    body = f'<MakeCall xmlns="{ED4}"><callingDevice>1000</callingDevice></MakeCall>'.encode()
    with pytest.raises(codec.DecodeError) as caught:
        codec.decode(body)
    assert caught.value.namespace == ED4
    assert caught.value.missing


def test_an_associations_presenter_follows_its_echo_strings() -> None:
    """The core makes a presenter once per change of an association's echo strings."""
    from twisted.internet.task import Clock

    from cstaserver.csta.association import Profile
    from cstaserver.csta.core import CstaCore
    from cstaserver.pbx.demo import demo_plan
    from cstaserver.pbx.switch import Switch

    class Sink:
        peer = "127.0.0.1:1"

        def write_message(self, data: bytes, correlation: object) -> None:
            pass

    clock = Clock()
    core = CstaCore(Switch(demo_plan(), clock), clock)
    association = core.associate(Sink(), Profile(name="tr87", e164_presentation=True))
    first = core.presenter_for(association)
    assert first.text("1000") == first.text("1000") != "1000;mine"
    assert core.presenter_for(association) is first  # nothing changed: the same one
    association.remember_device_string("1000", "1000;mine")
    second = core.presenter_for(association)
    assert second is not first
    assert second.text("1000") == "1000;mine"
    association.remember_device_string("1000", "1000;mine")  # the same string again
    assert core.presenter_for(association) is second
    association.device_strings["1001"] = "1001;direct"  # written without the method
    assert core.presenter_for(association).text("1001") == "1001;direct"
    many = {f"{2000 + i}": f"tel:{2000 + i};x" for i in range(1000)}
    for number, text in many.items():
        association.remember_device_string(number, text)
    presenter = core.presenter_for(association)
    assert all(presenter.text(number) == text for number, text in many.items())


def test_a_new_public_numbering_reaches_the_presentation_at_once() -> None:
    """After a plan change (``csta -i`` with a new public prefix) the next message names
    devices in the new E.164 form, also on an association whose presenter was made before."""
    import attrs
    from twisted.internet.task import Clock

    from cstaserver.csta.association import Profile
    from cstaserver.csta.core import CstaCore
    from cstaserver.pbx.demo import demo_plan
    from cstaserver.pbx.switch import Switch

    class Sink:
        peer = "127.0.0.1:1"

        def write_message(self, data: bytes, correlation: object) -> None:
            pass

    clock = Clock()
    plan = demo_plan()
    switch = Switch(plan, clock)
    core = CstaCore(switch, clock)
    association = core.associate(Sink(), Profile(name="tr87", e164_presentation=True))
    assert core.presenter_for(association).text("1000") == "tel:+4685551000"
    numbering = attrs.evolve(plan.public_numbering, public_prefix="+4631777")
    switch.update_plan(attrs.evolve(plan, public_numbering=numbering))
    assert core.presenter_for(association).text("1000") == "tel:+46317771000"
    assert core.renderer.presenter((True, ())).text("1000") == "tel:+46317771000"
