"""The switch's enumerations in ECMA-269 terms (``csta.mapping``): every switch value has its
wire value, every wire value a request may carry has a switch value or a clear refusal, and a
ring time-out reaches a client with the cause ECMA-269 gives it (alertTimeExpired)."""

from __future__ import annotations

import pytest
from twisted.trial import unittest

from cstaserver.csta import mapping
from cstaserver.csta import types as csta_types
from cstaserver.csta.errors import CstaError, ErrorValue
from cstaserver.pbx import states as pbx_states
from tests.xmlproto.xml_client import Req, brief, for_monitor, make_world

#: (table, switch enumeration, wire enumeration) for the switch -> wire direction.
OUTGOING = [
    (mapping.CAUSES, pbx_states.EventCause, csta_types.EventCause),
    (mapping.CONNECTION_STATES, pbx_states.ConnectionState, csta_types.LocalConnectionState),
    (mapping.AGENT_STATES, pbx_states.AgentState, csta_types.AgentState),
    (mapping.FORWARDING_TYPES, pbx_states.ForwardingType, csta_types.ForwardingType),
]


@pytest.mark.parametrize(("table", "switch_enum", "wire_enum"), OUTGOING)
def test_every_switch_value_has_one_wire_value(table, switch_enum, wire_enum) -> None:
    assert set(table) == set(switch_enum)
    assert all(isinstance(wire, wire_enum) for wire in table.values())
    assert len(set(table.values())) == len(table)  # no two switch values share a wire value


def test_causes_ecma_269_spells_otherwise() -> None:
    assert mapping.wire_cause(pbx_states.EventCause.ALERT_TIME_OUT).value == "alertTimeExpired"
    assert mapping.wire_cause(pbx_states.EventCause.ACD_BUSY).value == "aCDBusy"
    assert mapping.wire_cause(None) is None


def test_every_requested_agent_state_reaches_the_switch() -> None:
    table = mapping.REQUESTED_AGENT_STATES
    assert set(table) == set(csta_types.RequestedAgentState)
    assert set(table.values()) == set(pbx_states.RequestedAgentState)
    for wire, requested in table.items():
        assert mapping.switch_requested_agent_state(wire) is requested


def test_every_forwarding_type_reaches_the_switch_or_is_refused() -> None:
    refused = set()
    for wire in csta_types.ForwardingType:
        try:
            kind = mapping.switch_forwarding_type(wire)
        except CstaError as error:
            assert error.value is ErrorValue.INVALID_PARAMETER_VALUE
            assert wire.value in error.message
            refused.add(wire.value)
        else:
            assert mapping.wire_forwarding_type(kind) is wire
    assert refused == {"forwardDND", "forwardDNDInt", "forwardDNDExt"}


class OverXml(unittest.TestCase):
    async def test_ring_time_out_clears_with_alert_time_expired(self) -> None:
        world = make_world()
        client = world.connect()
        calling, called = await client.monitor("1000"), await client.monitor("1001")
        call = await client.make_call("1000", "1001")
        await client.drain()
        world.advance(world.switch.plan.alerting_timeout)
        events = await client.drain()
        # the alerting 1001 is released first, then 1000, then the call ends
        assert [brief(e) for e in for_monitor(events, called)] == [
            ("ConnectionClearedEvent", "null", "alertTimeExpired"),
            ("CallClearedEvent", None, "alertTimeExpired"),
        ]
        assert [brief(e) for e in for_monitor(events, calling)] == [
            ("ConnectionClearedEvent", "connected", "alertTimeExpired"),
            ("ConnectionClearedEvent", "null", "alertTimeExpired"),
            ("CallClearedEvent", None, "alertTimeExpired"),
        ]
        dropped = [e.get("dropped_connection") for e in for_monitor(events, calling)[:2]]
        assert dropped == [(call, "1001"), (call, "1000")]
        assert call not in world.switch.calls

    async def test_forwarding_on_do_not_disturb_is_refused(self) -> None:
        client = make_world().connect()
        answer = await client.error(Req.set_forwarding("1002", "forwardDND", "1003"))
        assert answer == "operation/invalidParameterValue"
