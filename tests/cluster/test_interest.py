"""The exchange publishes an event only on the channels a front end listens to: front ends
tell it when they start and stop listening (a monitor's device or call), again all at once
after the exchange restarted, and the exchange forgets a front end that went quiet. An
event nobody monitors costs the exchange no message on the broker."""

from __future__ import annotations

from cstaserver.cluster import wire
from cstaserver.pbx.bus import Interest
from tests.cluster.harness import Cluster, Single, ask, field
from tests.xmlproto.xml_client import Req

DEVICE = "csta:ev:default:d:1001"


def monitor(world: Cluster, client, device: str) -> str:  # type: ignore[no-untyped-def]
    return field(ask(world, client, Req.monitor_start(device)), "monitorCrossRefID")


def test_a_monitored_device_is_wanted_until_its_last_monitor_stops() -> None:
    world = Cluster()
    (_, core1), (_, core2) = world.front(), world.front()
    one, two = world.client(core1), world.client(core2)
    assert world.server.wanted == {}
    first = monitor(world, one, "1001")
    second = monitor(world, two, "1001")
    assert world.server.wanted == {DEVICE: {"front-1", "front-2"}}
    ask(world, one, Req.monitor_stop(first))
    assert world.server.wanted == {DEVICE: {"front-2"}}
    ask(world, two, Req.monitor_stop(second))
    assert world.server.wanted == {}


def test_events_of_unmonitored_devices_are_not_published() -> None:
    world = Cluster()
    _, core = world.front()
    client = world.client(core)
    published: list[str] = []
    publish = world.exchange_bus.publish
    world.exchange_bus.publish = lambda channel, payload: (  # type: ignore[method-assign]
        published.append(channel),
        publish(channel, payload),
    )[1]
    world.sim.call("1002", "1003")  # nobody monitors 1002 or 1003
    world.settle()
    assert [c for c in published if c.startswith("csta:ev:")] == []
    monitor(world, client, "1001")
    world.sim.call("1004", "1001")
    world.settle()
    assert set(c for c in published if c.startswith("csta:ev:")) == {DEVICE}
    assert any(b"DeliveredEvent" in written.data for written in client.written)


def test_a_quiet_front_end_is_forgotten_and_a_restarted_exchange_is_told_again() -> None:
    world = Cluster()
    remote, core = world.front()
    monitor(world, world.client(core), "1001")
    world.server.forget("front-1")  # its heartbeats stopped (the roster says so)
    assert world.server.wanted == {}
    announced = remote.announce()  # as after the exchange came back
    world.settle()
    assert announced.called
    assert world.server.wanted == {DEVICE: {"front-1"}}


def test_the_routeing_registrations_of_a_quiet_front_end_end() -> None:
    world = Cluster()
    _, core = world.front()
    router = world.client(core)
    ask(
        world,
        router,
        "<RouteRegister xmlns='http://www.ecma-international.org/standards/"
        "ecma-323/csta/ed3'><routeingDevice>2000</routeingDevice></RouteRegister>",
    )
    assert world.exchange_core.routeing.registrations
    world.server.forget("front-1")  # its heartbeats stopped
    assert world.exchange_core.routeing.registrations == {}
    assert world.server.clients == {}


def built_events(world: Cluster) -> list[object]:
    """Every event the exchange's switch builds from now on: a subscriber that wants nothing
    built for it still gets each event that is built."""
    seen: list[object] = []
    world.switch.subscribe(seen.append, Interest())
    return seen


def a_monitored_call(world: Cluster | Single, client) -> None:  # type: ignore[no-untyped-def]
    """1002 calls 1003 (unmonitored), then 1000 calls 1001 (monitored), answered, cleared."""
    unwatched = field(ask(world, client, Req.make_call("1002", "1003")), "callID")
    call = field(ask(world, client, Req.make_call("1000", "1001")), "callID")
    ask(world, client, Req.answer(call, "1001"))
    ask(world, client, Req.clear_connection(call, "1000"))
    ask(world, client, Req.clear_connection(unwatched, "1002"))


def test_the_switch_builds_only_the_events_of_monitored_devices() -> None:
    single = Single()
    expected = single.client()
    ask(single, expected, Req.monitor_start("1001"))
    a_monitored_call(single, expected)

    world = Cluster()
    _, core = world.front()
    client = world.client(core)
    built = built_events(world)
    ask(world, client, Req.monitor_start("1001"))
    assert world.server.interest.devices == {"1001"}
    a_monitored_call(world, client)
    # the monitor of 1001 gets every event of it, as from one process
    assert client.written == expected.written
    assert any(b"DeliveredEvent" in w.data for w in client.written)
    # and the switch built only the events of the call that 1001 is in
    assert built
    assert all("1001" in event.devices for event in built)  # type: ignore[attr-defined]


def test_the_interest_narrows_when_the_last_monitor_stops() -> None:
    world = Cluster()
    (_, core1), (_, core2) = world.front(), world.front()
    one, two = world.client(core1), world.client(core2)
    built = built_events(world)
    first = monitor(world, one, "1001")
    second = monitor(world, two, "1001")
    ask(world, one, Req.monitor_stop(first))
    assert world.server.interest.devices == {"1001"}  # front end 2 still monitors it
    ask(world, two, Req.monitor_stop(second))
    assert world.server.interest.devices == set()
    world.sim.call("1004", "1001")
    world.settle()
    assert built == []


def test_a_forgotten_front_end_narrows_the_interest() -> None:
    world = Cluster()
    _, core = world.front()
    monitor(world, world.client(core), "1001")
    built = built_events(world)
    world.server.forget("front-1")  # its heartbeats stopped
    assert world.server.interest.devices == set()
    world.sim.call("1004", "1001")
    world.settle()
    assert built == []


def test_a_monitored_call_is_wanted_until_its_monitor_stops() -> None:
    world = Cluster()
    _, core = world.front()
    client = world.client(core)
    call = field(ask(world, client, Req.make_call("1002", "1003")), "callID")
    built = built_events(world)
    xref = field(ask(world, client, Req.monitor_call(call, "1002")), "monitorCrossRefID")
    assert world.server.interest.calls == {call}
    ask(world, client, Req.answer(call, "1003"))
    assert [type(event).__name__ for event in built] == ["Established"]
    ask(world, client, Req.monitor_stop(xref))
    assert world.server.interest.calls == set()
    ask(world, client, Req.clear_connection(call, "1002"))
    assert [type(event).__name__ for event in built] == ["Established"]


def test_an_event_channel_names_its_device_or_call() -> None:
    assert wire.channel_subject("x", wire.device_channel("x", "1001")) == ("device", "1001")
    assert wire.channel_subject("x", wire.call_channel("x", "C:1")) == ("call", "C:1")
    assert wire.channel_subject("x", wire.device_channel("y", "1001")) is None
    assert wire.channel_subject("x", wire.front_channel("x", "n")) is None
