"""Response templates: the bytes of messages whose fields all hold their defaults, reused per
class and namespace, and ``SlotTemplates`` (MakeCallResponse) - always the bytes the codec
writes for the message itself."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from cstaserver.csta import codec, namespaces
from cstaserver.csta.messages import ClearCallResponse, MakeCallResponse
from cstaserver.csta.types import ConnectionID, DeviceID

NAMESPACES = [namespaces.ED2, namespaces.ED3, namespaces.ED5, namespaces.ED6_ECMA_CH, "urn:x"]


def _made(call_id: str, device: str) -> MakeCallResponse:
    return MakeCallResponse(
        calling_device=ConnectionID(call_id=call_id, device_id=DeviceID(value=device))
    )


TEMPLATES = codec.SlotTemplates(_made, 2)


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_a_bare_response_is_the_same_bytes_each_time_and_as_written(namespace):
    first = codec.encode(ClearCallResponse(), namespace)
    assert first == codec._encode_str(ClearCallResponse(), namespace).encode("utf-8")
    assert codec.encode(ClearCallResponse(), namespace) == first
    assert codec.decode(first).message == ClearCallResponse()


def test_a_response_with_a_field_set_is_encoded_for_itself():
    bare = codec.encode(ClearCallResponse(), namespaces.ED3)
    extensions = etree.fromstring(b"<extensions><privateData>x</privateData></extensions>")
    with_field = codec.encode(ClearCallResponse(extensions=extensions), namespaces.ED3)
    assert with_field != bare
    assert b"<privateData>x</privateData>" in with_field
    assert codec.encode(ClearCallResponse(), namespaces.ED3) == bare


def test_the_bare_responses_kept_are_bounded(monkeypatch):
    monkeypatch.setattr(codec, "_CONSTANTS", {})
    monkeypatch.setattr(codec, "_MAX_CONSTANTS", 3)
    written = [codec.encode(ClearCallResponse(), f"urn:client:{i}") for i in range(10)]
    assert len(codec._CONSTANTS) == 3
    assert written[9] == codec._encode_str(ClearCallResponse(), "urn:client:9").encode()


texts = st.text(min_size=1, max_size=30)


@given(call_id=texts, device=texts, namespace=st.sampled_from(NAMESPACES))
def test_make_call_response_from_its_template_is_what_encode_writes(call_id, device, namespace):
    """Any text, escaped or with characters XML cannot carry dropped, as encode does."""
    assert TEMPLATES.render(namespace, call_id, device) == codec.encode(
        _made(call_id, device), namespace
    )


def test_the_template_namespaces_are_bounded():
    templates = codec.SlotTemplates(_made, 2, max_namespaces=2)
    for i in range(5):
        namespace = f"urn:client:{i}"
        assert templates.render(namespace, "7", "1001") == codec.encode(
            _made("7", "1001"), namespace
        )
    assert len(templates._parts) == 2


def test_a_shape_that_does_not_carry_its_slots_is_encoded_each_time():
    # a build that drops the device: no slot for it in the bytes, so no template
    templates = codec.SlotTemplates(
        lambda call_id, device: MakeCallResponse(calling_device=ConnectionID(call_id=call_id)), 2
    )
    data = templates.render(namespaces.ED3, "7", "1001")
    assert data == codec.encode(
        MakeCallResponse(calling_device=ConnectionID(call_id="7")), namespaces.ED3
    )
    assert templates._parts == {}


@given(call_id=texts, device=texts)
def test_a_template_in_a_namespace_beyond_ascii_gives_the_same_bytes(call_id, device):
    namespace = "urn:clïent:名前:\U0001f4de"  # the text between the slots is multi-byte UTF-8
    assert TEMPLATES.render(namespace, call_id, device) == codec.encode(
        _made(call_id, device), namespace
    )


def test_a_template_refuses_a_wrong_number_of_values():
    with pytest.raises(ValueError):
        TEMPLATES.render(namespaces.ED3, "7")
    with pytest.raises(ValueError):
        TEMPLATES.render(namespaces.ED3, "7", "1001", "extra")
