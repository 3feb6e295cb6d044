"""A front end and an exchange process over the bus (LocalBus): a client of the front end
gets, byte for byte and in the same order, what a client of the single process gets -
responses before the events their requests caused, the same CSTAErrorCodes - and a CSTA
error within the time-out when the exchange does not answer."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from cstaserver.bus import LocalBus
from cstaserver.csta.association import Profile
from cstaserver.csta.errors import CstaError, ErrorValue, encode_error
from cstaserver.csta.namespaces import ED3
from tests.cluster.harness import TIMEOUT, Cluster, Single, ask, field, names
from tests.xmlproto.xml_client import Req, xml

CALLER = "+4685550107"

Scenario = Callable[[object, object], None]


def compare(scenario: Scenario, profile: Profile | None = None) -> tuple[list, list]:
    """What one client writes in ``scenario`` with one process and with a front end."""
    written = []
    for world in (Single(), Cluster()):
        client = world.client()
        if profile is not None:
            client.associate(
                world.core if isinstance(world, Single) else world.fronts[0][1], profile
            )
        scenario(world, client)
        written.append(list(client.written))
    return written[0], written[1]


def monitor_start(device: str, monitor_type: str = "device") -> str:
    return xml(
        "MonitorStart",
        f"<monitorObject><deviceObject>{device}</deviceObject></monitorObject>"
        f"<monitorType>{monitor_type}</monitorType>",
    )


def basic_call(world, client) -> None:
    ask(world, client, Req.monitor_start("1000"))
    ask(world, client, Req.monitor_start("1001"))
    call = field(ask(world, client, Req.make_call("1000", "1001")), "callID")
    ask(world, client, Req.answer(call, "1001"))
    ask(world, client, Req.hold(call, "1000"))
    ask(world, client, Req.retrieve(call, "1000"))
    ask(world, client, xml("SnapshotDevice", "<snapshotObject>1001</snapshotObject>"))
    ask(world, client, Req.clear_connection(call, "1000"))


def test_a_call_made_answered_and_cleared_through_a_front_end_is_what_one_process_sends():
    single, cluster = compare(basic_call)
    assert cluster == single
    # each response before the events its request caused (ECMA-323), as one process does
    assert names([w.data for w in cluster]) == [
        "MonitorStartResponse",
        "MonitorStartResponse",
        "MakeCallResponse",
        "ServiceInitiatedEvent",
        "OriginatedEvent",
        "DeliveredEvent",
        "DeliveredEvent",
        "AnswerCallResponse",
        "EstablishedEvent",
        "EstablishedEvent",
        "HoldCallResponse",
        "HeldEvent",
        "HeldEvent",
        "RetrieveCallResponse",
        "RetrievedEvent",
        "RetrievedEvent",
        "SnapshotDeviceResponse",
        "ClearConnectionResponse",
        "ConnectionClearedEvent",
        "ConnectionClearedEvent",
        "ConnectionClearedEvent",
        "CallClearedEvent",
        "CallClearedEvent",
    ]


def outside_call(world, client) -> None:
    ask(world, client, Req.monitor_start("1001"))
    world.sim.call(CALLER, "1001")
    world.settle()
    world.sim.answer("1001")
    world.settle()
    world.sim.hangup(CALLER)
    world.settle()


def test_events_outside_any_request_reach_the_front_ends_monitors():
    single, cluster = compare(outside_call)
    assert cluster == single
    assert names([w.data for w in cluster if w.correlation is None]) == [
        "DeliveredEvent",
        "EstablishedEvent",
        "ConnectionClearedEvent",
        "ConnectionClearedEvent",
        "CallClearedEvent",
    ]


def call_type_monitor(world, client) -> None:
    call = world.sim.call("1000", "1001")
    world.settle()
    ask(world, client, monitor_start("1001", "call"))
    ask(world, client, Req.answer(call, "1001"))
    ask(world, client, Req.single_step_transfer(call, "1001", "1002"))
    world.sim.answer("1002")
    world.settle()
    world.sim.hangup("1002")
    world.settle()


def test_a_call_type_monitor_follows_a_call_it_had_before_it_started():
    single, cluster = compare(call_type_monitor)
    assert cluster == single
    events = names([w.data for w in cluster if w.correlation is None])
    # it follows the call after it left 1001: Delivered at 1002, answered, cleared
    assert events == [
        "EstablishedEvent",
        "TransferedEvent",
        "DeliveredEvent",
        "EstablishedEvent",
        "ConnectionClearedEvent",
        "ConnectionClearedEvent",
        "CallClearedEvent",
    ]


def call_monitors(world, client) -> None:
    call = world.sim.call("1000", "1001")
    world.settle()
    ask(world, client, Req.monitor_call(call, "1000"))
    ask(world, client, Req.monitor_call("999", "1000"))
    world.sim.answer("1001")
    world.settle()
    world.sim.hangup("1000")
    world.settle()


def test_a_call_monitor_on_a_front_end_and_one_on_an_unknown_call():
    single, cluster = compare(call_monitors)
    assert cluster == single
    assert names([w.data for w in cluster]) == [
        "MonitorStartResponse",
        "CSTAErrorCode",
        "EstablishedEvent",
        "ConnectionClearedEvent",
        "ConnectionClearedEvent",
        "CallClearedEvent",
    ]


def refusals(world, client) -> None:
    ask(world, client, Req.make_call("9999", "1001"))
    ask(world, client, Req.make_call("1000", "77777"))
    ask(world, client, Req.answer("4711", "1001"))
    ask(world, client, xml("SnapshotDevice", "<snapshotObject>9999</snapshotObject>"))
    ask(world, client, Req.monitor_start("9999"))
    ask(
        world,
        client,
        xml("SetDoNotDisturb", "<device>9999</device><doNotDisturbOn>true</doNotDisturbOn>"),
    )


def test_refusals_are_the_same_csta_error_codes_as_one_process():
    single, cluster = compare(refusals)
    assert cluster == single
    assert set(names([w.data for w in cluster])) == {"CSTAErrorCode"}


def lync_call(world, client) -> None:
    ask(world, client, Req.monitor_start("tel:+4685551000"))
    call = field(ask(world, client, Req.make_call("tel:+4685551000", "tel:+4685551001")), "callID")
    world.sim.answer("1001")
    world.settle()
    ask(world, client, Req.clear_call(call, "tel:+4685551000"))


def test_the_lync_dialect_names_devices_through_a_front_end_as_in_one_process():
    single, cluster = compare(lync_call, Profile(name="tr87", e164_presentation=True))
    assert cluster == single
    made = next(w.data for w in cluster if b"MakeCallResponse" in w.data)
    assert b"tel:+4685551000" in made


def test_without_an_exchange_a_request_is_answered_with_a_csta_error_within_the_timeout():
    world = Cluster(serving=False)
    client = world.client()
    correlation = client.receive(Req.make_call("1000", "1001"))
    world.settle()
    world.clock.advance(TIMEOUT * 0.9)
    assert client.answer_to(correlation) is None
    world.clock.advance(TIMEOUT * 0.1 + 0.001)
    answer = client.answer_to(correlation)
    assert answer is not None
    assert b"<systemResourceAvailibility>generic</systemResourceAvailibility>" in answer
    # the request is never carried out later: the exchange that starts now drops it
    world.start()
    world.settle()
    assert world.switch.calls == {}
    # and the next request is served
    assert names([ask(world, client, Req.make_call("1000", "1001"))]) == ["MakeCallResponse"]


def test_two_front_ends_each_see_the_events_of_their_own_monitors():
    world = Cluster()
    (remote_a, core_a), (remote_b, core_b) = world.front(), world.front()
    a, b = world.client(core_a), world.client(core_b)
    ask(world, a, Req.monitor_start("1001"))
    ask(world, b, Req.monitor_start("1001"))
    ask(world, b, Req.monitor_start("1002"))
    call = field(ask(world, a, Req.make_call("1000", "1001")), "callID")
    ask(world, b, Req.answer(call, "1001"))
    ask(world, a, Req.clear_connection(call, "1000"))
    expected = [
        "DeliveredEvent",
        "EstablishedEvent",
        "ConnectionClearedEvent",
        "ConnectionClearedEvent",
        "CallClearedEvent",
    ]
    assert names(a.events) == expected
    assert names(b.events) == expected
    assert a.events == b.events  # the same view (device 1001, ed3), the same crossRefID 1
    assert remote_a.channels == ["csta:ev:default:d:1001"]
    assert remote_b.channels == ["csta:ev:default:d:1001", "csta:ev:default:d:1002"]
    # 1002 had nothing: front b got no more events than it watches
    before = remote_a.events_received
    world.sim.call("1003", "1002")
    world.settle()
    assert remote_a.events_received == before
    assert names(b.events[len(expected) :]) == ["DeliveredEvent"]


def test_a_front_end_stops_listening_when_its_last_monitor_of_a_device_goes():
    world = Cluster()
    remote, core = world.front()
    client = world.client(core)
    xref = field(ask(world, client, Req.monitor_start("1001")), "monitorCrossRefID")
    assert remote.channels == ["csta:ev:default:d:1001"]
    ask(world, client, Req.monitor_stop(xref))
    assert remote.channels == []
    received = remote.events_received
    world.sim.call("1000", "1001")
    world.settle()
    assert remote.events_received == received
    assert client.events == []


def test_a_client_that_goes_takes_its_front_ends_subscriptions_with_it():
    world = Cluster()
    remote, core = world.front()
    client = world.client(core)
    ask(world, client, Req.monitor_start("1001"))
    call = world.sim.call("1000", "1001")
    world.settle()
    ask(world, client, Req.monitor_call(call, "1000"))
    assert len(remote.channels) == 2
    client.disconnect()
    assert remote.channels == []


def route_select(cross_ref: str, destination: str) -> str:
    return xml(
        "RouteSelectRequest",
        f"<crossRefIdentifier>{cross_ref}</crossRefIdentifier>"
        f"<routeSelected>{destination}</routeSelected><routeUsedReq>true</routeUsedReq>",
    )


def call_centre(world, client) -> None:
    """A routeing application that is its agents' desktop too (ECMA-269 clause 20)."""
    world.sim.call("+4685550108", "2000")  # waiting before the application registers
    world.settle()
    ask(world, client, xml("RouteRegister", "<routeingDevice>2000</routeingDevice>"))
    ask(world, client, Req.monitor_start("1001"))
    ask(world, client, Req.monitor_start("2000"))
    ask(world, client, Req.set_agent_state("1001", "loggedOn", "5001", "2000"))
    ask(world, client, Req.set_agent_state("1001", "ready"))
    world.sim.call(CALLER, "+4685552000")
    world.settle()
    requests = [data for data in client.events if b"<RouteRequest" in data]
    cross_ref = field(requests[-1], "crossRefIdentifier")
    client.receive(route_select(cross_ref, "1001"))
    world.settle()
    world.sim.answer("1001")
    world.settle()
    world.sim.hangup(CALLER)
    world.settle()
    first = field(requests[0], "crossRefIdentifier")
    ask(world, client, xml("RouteReject", f"<crossRefIdentifier>{first}</crossRefIdentifier>"))
    ask(world, client, xml("RouteEndRequest", "<crossRefIdentifier>99</crossRefIdentifier>"))


def test_routeing_through_a_front_end_is_what_one_process_sends():
    single, cluster = compare(call_centre)
    assert cluster == single
    kinds = names([w.data for w in cluster if w.data])
    assert kinds[:2] == ["RouteRegisterResponse", "RouteRequest"]  # the call already waiting
    assert kinds.count("RouteRequest") == 2
    # the group's monitor sees Queued before the application gets the Route Request, and
    # the route's events come before Route Used and Route End, as in one process
    after_call = kinds[kinds.index("QueuedEvent") :]
    assert after_call[:2] == ["QueuedEvent", "RouteRequest"]
    assert "RouteUsedRequest" in kinds and "RouteEndRequest" in kinds
    assert kinds[-1] == "CSTAErrorCode"  # Route End on a dialogue the client does not have


def test_a_routeing_client_that_goes_ends_its_registrations_on_the_exchange():
    world = Cluster()
    remote, core = world.front()
    client = world.client(core)
    ask(world, client, xml("RouteRegister", "<routeingDevice>2000</routeingDevice>"))
    assert len(world.exchange_core.routeing.registrations) == 1
    assert list(world.server.clients) == [(remote.front_channel, client.association.id)]
    client.disconnect()
    world.settle()
    assert world.exchange_core.routeing.registrations == {}
    assert world.server.clients == {} and remote.clients == {}
    other = world.client(core)
    world.sim.call(CALLER, "2000")
    world.settle()
    assert other.written == []


@pytest.mark.parametrize("world_kind", ["single", "cluster"])
def test_a_client_gets_one_answer_per_request_in_order(world_kind):
    world = Single() if world_kind == "single" else Cluster()
    client = world.client()
    sent = [client.receive(Req.make_call("1000", str(n))) for n in (1001, 1002, 1003)]
    world.settle()
    answered = [w.correlation for w in client.written if w.correlation is not None]
    assert answered == sent


def test_an_exchange_that_fails_on_a_request_is_answered_generic_and_the_next_one_served():
    world = Cluster(serving=False)
    broken = LocalBus(world.clock, world.broker, node_id="broken")
    calls = []

    def fail(text: str) -> str:
        calls.append(text)
        raise RuntimeError("the switching model is broken")

    broken.serve("csta:exchange:default", fail)
    client = world.client()
    answer = ask(world, client, Req.make_call("1000", "1001"))
    assert len(calls) == 1
    assert answer == encode_error(ErrorValue.GENERIC, ED3)


def test_an_event_message_a_front_end_cannot_read_is_dropped_and_the_next_one_delivered():
    world = Cluster()
    remote, core = world.front()
    client = world.client(core)
    ask(world, client, Req.monitor_start("1001"))
    world.exchange_bus.publish("csta:ev:default:d:1001", "not an event")
    world.exchange_bus.publish("csta:ev:default:d:1001", '{"x": "run", "n": 1, "e": {"A": "Nope"}}')
    world.settle()
    world.sim.call("1000", "1001")
    world.settle()
    assert names(client.events) == ["DeliveredEvent"]


def test_a_live_look_up_not_fetched_first_is_refused_as_a_csta_error():
    world = Cluster()
    remote, core = world.front()
    with pytest.raises(CstaError) as refused:
        core.monitors.start(object(), device="1001", follows_calls=True)
    assert refused.value.value is ErrorValue.SYSTEM_RESOURCE_GENERIC
    assert len(core.monitors) == 0
