"""The decoder's fast construction (``csta.builders``) builds what the class itself builds."""

from __future__ import annotations

import attrs
import pytest
from lxml import etree

from cstaserver.csta import codec
from cstaserver.csta.builders import builder
from cstaserver.csta.codec import Decoded, DecodeError, decode
from cstaserver.csta.schema import all_messages, fields_of, x
from cstaserver.csta.types import ConnectionID, DeviceID


def _classes() -> list[type]:
    """Every registered message and every structure class under them, once."""
    seen: dict[type, None] = {}
    todo = list(all_messages().values())
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen[cls] = None
        todo.extend(info.base for info in fields_of(cls) if attrs.has(info.base))
    return sorted(seen, key=lambda c: c.__qualname__)


CLASSES = _classes()


def _mandatory(cls: type) -> dict[str, object]:
    return {f.name: f"<{f.name}>" for f in attrs.fields(cls) if f.default is attrs.NOTHING}


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_built_equals_constructed(cls: type) -> None:
    values = _mandatory(cls)
    built = builder(cls)(dict(values))
    made = cls(**values)
    assert type(built) is cls
    assert built == made
    assert repr(built) == repr(made)
    try:
        expected = hash(made)
    except TypeError:  # a list field (a Factory default): unhashable either way
        with pytest.raises(TypeError):
            hash(built)
    else:
        assert hash(built) == expected


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_field_given(cls: type) -> None:
    values = {f.name: f"<{f.name}>" for f in attrs.fields(cls)}
    built = builder(cls)(dict(values))
    assert built == cls(**values)
    assert all(getattr(built, name) == value for name, value in values.items())


@pytest.mark.parametrize("cls", [c for c in CLASSES if _mandatory(c)], ids=lambda c: c.__name__)
def test_missing_mandatory_field_raises_as_the_class_does(cls: type) -> None:
    with pytest.raises(TypeError):
        builder(cls)({})


def test_built_values_stay_frozen() -> None:
    device = builder(DeviceID)({"value": "1001"})
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        device.value = "1002"  # type: ignore[misc]
    assert device == DeviceID(value="1001")


def test_decoded_request_equals_the_constructed_one() -> None:
    decoded = decode(
        b'<ClearCall xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3">'
        b'<callToBeCleared><callID>17</callID><deviceID typeOfNumber="other">1001</deviceID>'
        b"</callToBeCleared></ClearCall>"
    )
    assert isinstance(decoded, Decoded)
    assert decoded.message.call_to_be_cleared == ConnectionID(
        call_id="17", device_id=DeviceID(value="1001", type_of_number="other")
    )


def test_the_first_problem_in_field_order_is_the_one_reported() -> None:
    # autoOriginate (a later, optional field) is bad and callingDevice (the first,
    # mandatory) is missing: the answer names the missing callingDevice
    with pytest.raises(DecodeError) as caught:
        decode(
            b'<MakeCall xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3">'
            b"<autoOriginate>sometimes</autoOriginate>"
            b"<calledDirectoryNumber>1002</calledDirectoryNumber></MakeCall>"
        )
    assert caught.value.field == "MakeCall/callingDevice"
    assert caught.value.missing


@attrs.frozen(kw_only=True)
class _Renamed:
    """A structure one of whose fields also answers to the other's name (an alias)."""

    new_name: str | None = None
    old_name: str | None = x("oldName", aliases=("newName",), default=None)


def test_a_name_two_fields_answer_to_fills_both() -> None:
    element = etree.fromstring(b"<renamed><newName>17</newName></renamed>")
    decoded = codec._plan(_Renamed).decode(element)
    assert decoded == _Renamed(new_name="17", old_name="17")
