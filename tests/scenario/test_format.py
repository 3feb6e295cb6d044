"""Scenario files read and checked (cstaserver.scenario.format), and the pieces of the clients
that need no server: building requests, reading fields, picking messages."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from cstaserver.scenario import CstaTimeout, Message, ScenarioError, csta_xml, load_scenario
from cstaserver.scenario.clients import CstaConnection
from cstaserver.scenario.format import parse_scenario, substitute
from cstaserver.xmlproto.framing import encode_frame

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "call_centre.toml"
NS = "http://www.ecma-international.org/standards/ecma-323/csta/ed3"


def test_the_example_loads() -> None:
    scenario = load_scenario(EXAMPLE)
    assert scenario.name == "call centre: an outside caller routed to agent 1001"
    assert scenario.timeout == 5.0
    assert scenario.variables == {"caller": "+4685550107", "group": "2000"}
    kinds = [step.kind for step in scenario.steps]
    assert kinds.count("expect") == 8 and kinds.count("advance") == 1
    route = scenario.steps[7]
    assert (route.kind, route.target, route.capture) == (
        "expect",
        "RouteRequest",
        {"route": "crossRefIdentifier"},
    )
    assert route.match["routedCall/callID"] == "${call}"
    select = scenario.steps[8]
    assert select.body == {
        "crossRefIdentifier": "${route}",
        "routeSelected": "1001",
        "routeUsedReq": True,
    }
    assert scenario.steps[0].alias == "agent"
    assert scenario.steps[15].describe() == "advance 10 s of simulated time"


def test_variables_from_the_command_line_win() -> None:
    scenario = load_scenario(EXAMPLE, {"caller": "+4685550199", "extra": "x"})
    assert scenario.variables == {"caller": "+4685550199", "group": "2000", "extra": "x"}
    with pytest.raises(ScenarioError, match="variable '1x': not a name"):
        load_scenario(EXAMPLE, {"1x": "y"})


def test_nested_match_tables_are_paths() -> None:
    scenario = parse_scenario(
        "[[step]]\nexpect = 'DeliveredEvent'\n"
        "match = { connection = { callID = '1', deviceID = 1001 }, cause = 'newCall' }\n"
    )
    assert scenario.steps[0].match == {
        "connection.callID": "1",
        "connection.deviceID": 1001,
        "cause": "newCall",
    }


def test_substitute() -> None:
    values = {"a": "1", "b": "two"}
    assert substitute("${a}-${b}-$$-$${a}", values) == "1-two-$-${a}"
    assert substitute({"x": ["${a}", 3, True]}, values) == {"x": ["1", 3, True]}
    with pytest.raises(KeyError):
        substitute("${c}", values)


def test_csta_xml_from_plain_data() -> None:
    body = {
        "monitorObject": {"deviceObject": "1001"},
        "flag": True,
        "empty": None,
        "many": ["a", "<b>"],
    }
    assert (
        csta_xml("MonitorStart", body)
        == (
            f'<MonitorStart xmlns="{NS}"><monitorObject><deviceObject>1001</deviceObject>'
            "</monitorObject><flag>true</flag><empty/><many>a</many><many>&lt;b&gt;</many>"
            "</MonitorStart>"
        ).encode()
    )
    assert csta_xml("X", "<raw/>", namespace="") == b"<X><raw/></X>"
    assert csta_xml("<Whole/>") == b"<Whole/>"


def test_message_fields() -> None:
    message = Message.parse(
        "9999",
        f'<DeliveredEvent xmlns="{NS}"><monitorCrossRefID>3</monitorCrossRefID>'
        "<connection><callID>7</callID><deviceID>1001</deviceID></connection>"
        "<callingDevice><deviceIdentifier>+4685550107</deviceIdentifier></callingDevice>"
        "<lastRedirectionDevice><notKnown/></lastRedirectionDevice></DeliveredEvent>".encode(),
    )
    assert (message.name, message.monitor) == ("DeliveredEvent", "3")
    assert message["callingDevice"] == "+4685550107"
    assert message["connection/callID"] == message["connection.callID"] == "7"
    assert message["callID"] == "7"  # anywhere in the document
    assert message["lastRedirectionDevice"] == "notKnown"
    assert "calledDevice" not in message and message.get("calledDevice") is None
    with pytest.raises(KeyError, match="DeliveredEvent has no 'calledDevice'"):
        message["calledDevice"]
    assert message.mismatches({"callingDevice": "+4685550107", "cause": "*"}) == [
        "no cause (expected '*')"
    ]
    assert message.fields()["connection/deviceID"] == "1001"


def test_wait_for_keeps_a_place_per_monitor() -> None:
    """Events of two monitors interleaved: each monitor's expectations in order, and an
    event already passed is not taken again."""
    server, client = socket.socketpair()
    try:
        connection = CstaConnection("pair", 0, timeout=0.2, sock=client)

        def event(name: str, xref: str) -> bytes:
            body = f"<{name}><monitorCrossRefID>{xref}</monitorCrossRefID></{name}>"
            return encode_frame("9999", body.encode())

        names = [("AgentReadyEvent", "1"), ("DeliveredEvent", "2"), ("DeliveredEvent", "1")]
        server.sendall(b"".join(event(name, xref) for name, xref in names))
        server.sendall(event("AgentReadyEvent", "1"))
        assert connection.wait_for("DeliveredEvent", monitor="1").monitor == "1"
        assert connection.wait_for("DeliveredEvent", monitor="2").monitor == "2"
        second = connection.wait_for("AgentReadyEvent", monitor="1")
        assert second is connection.messages[3]  # not the one before the DeliveredEvent
        with pytest.raises(CstaTimeout) as missed:
            connection.wait_for("AgentReadyEvent", monitor="1", timeout=0.05)
        assert missed.value.came == "nothing"
        assert connection.wait_for("AgentReadyEvent").monitor == "1"  # no monitor: from start
    finally:
        server.close()
        client.close()
