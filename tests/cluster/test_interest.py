"""The exchange publishes an event only on the channels a front end listens to: front ends
tell it when they start and stop listening (a monitor's device or call), again all at once
after the exchange restarted, and the exchange forgets a front end that went quiet. An
event nobody monitors costs the exchange no message on the broker."""

from __future__ import annotations

from tests.cluster.harness import Cluster, ask, field
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
