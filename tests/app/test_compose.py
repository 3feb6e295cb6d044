"""build_service: data directory, switch, runtime, CSTA servers and their listeners."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import attrs
import pytest
from twisted.internet.address import IPv6Address
from twisted.internet.error import CannotListenError
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.testing import MemoryReactorClock, RaisingMemoryReactor, _FakePort
from twisted.logger import capturedLogs, formatEvent

from cstaserver.app.endpoints import Address, CannotListen, Listener
from cstaserver.app.options import Options, RunSettings
from cstaserver.app.root import (
    CstaRoot,
    StartupError,
    apply_port_options,
    build_service,
    make_service,
    run_overrides,
)
from cstaserver.app.servers import CstaServerService
from cstaserver.config import (
    DataDirectory,
    Limits,
    ServerType,
    demo_exchange_data,
)
from cstaserver.config.passwords import hash_password, verify_password


class UdpMemoryReactor(MemoryReactorClock):
    """MemoryReactorClock has no listenUDP; record it like listenTCP."""

    def __init__(self) -> None:
        super().__init__()
        self.udpServers: list[tuple] = []

    def listenUDP(self, port, protocol, interface="", maxPacketSize=8192):
        self.udpServers.append((port, protocol, interface, maxPacketSize))
        return _FakePort(IPv6Address("UDP", interface, port))


def build(tmp_path: Path, reactor=None, **kwargs) -> CstaRoot:
    """The whole server on a memory reactor (nothing is really bound)."""
    settings = kwargs.pop(
        "settings", RunSettings(data=tmp_path / "data", admin_port=0, admin_ssh_port=0)
    )
    return build_service(settings, reactor or UdpMemoryReactor(), **kwargs)


def messages(events) -> list[str]:
    return [formatEvent(event) for event in events]


def test_builds_the_demo_and_the_switch_first(tmp_path: Path) -> None:
    reactor = UdpMemoryReactor()
    with capturedLogs() as events:
        root = build(tmp_path, reactor)
    data = DataDirectory(tmp_path / "data").load()
    assert root.runtime.exchange == data
    assert data.plan == demo_exchange_data().plan
    assert root.runtime.switch.plan == data.plan
    assert root.runtime.switch.clock is root.runtime.clock  # simulated time
    assert root.runtime.clock.reactor is reactor
    assert root.runtime.core.clock is root.runtime.clock
    assert root.runtime.core.switch is root.runtime.switch
    assert [s.name for s in root][:4] == ["password-checks", "csta", "xml-1", "tr87-2"]
    assert f"created the demo exchange in {tmp_path / 'data'}" in messages(events)


def test_no_demo_builds_the_empty_exchange(tmp_path: Path) -> None:
    root = build(tmp_path, settings=RunSettings(data=tmp_path / "data", demo=False))
    assert root.runtime.exchange.plan.extensions == []
    assert [s.lim for s in root.runtime.exchange.csta_servers] == [1, 1]


def test_restart_keeps_the_data(tmp_path: Path) -> None:
    build(tmp_path).lock.release()  # as when the server stops
    directory = DataDirectory(tmp_path / "data")
    changed = attrs.evolve(directory.load(), limits=Limits(max_sessions=3))
    directory.save(changed)
    root = build(tmp_path)
    assert root.runtime.exchange == changed
    root.lock.release()
    # --no-demo only matters for an empty directory
    root = build(tmp_path, settings=RunSettings(data=tmp_path / "data", demo=False))
    assert root.runtime.exchange == changed


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (
            b"{",
            "not valid JSON: Expecting property name enclosed in double quotes at line 1 column 2",
        ),
        (b'{"schema_version": 3}', "unknown schema_version 3 (this cstaserver reads 1)"),
    ],
)
def test_corrupt_file_stops_startup_with_one_line(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    (tmp_path / "data").mkdir()
    exchange = tmp_path / "data" / "exchange.json"
    exchange.write_bytes(content)
    with pytest.raises(StartupError) as caught:
        build(tmp_path)
    assert caught.value.code == f"csta: {exchange}: {problem}"
    assert isinstance(caught.value, SystemExit)
    assert exchange.read_bytes() == content


def test_data_path_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("not a directory")
    with pytest.raises(StartupError, match=r"^csta: --data .*data: exists and is not a directory$"):
        build(tmp_path)


def test_port_options_apply_to_the_first_server_of_each_type() -> None:
    servers = demo_exchange_data().csta_servers
    settings = RunSettings(xml_port=0, web_port=9080, sip_port=15062)
    xml, tr87 = apply_port_options(servers, settings)
    assert (xml.port, xml.tls_port, xml.web_port) == (0, 8883, 9080)
    assert (tr87.port, tr87.tls_port) == (15062, None)
    assert apply_port_options(servers, RunSettings()) == servers


def test_summary_and_admin_hint(tmp_path: Path) -> None:
    reactor = UdpMemoryReactor()
    settings = RunSettings(data=tmp_path / "data", xml_port=9882)
    root = build(tmp_path, reactor, settings=settings)
    with capturedLogs() as events:
        root.privilegedStartService()
        root.startService()
        assert "csta: started" not in messages(events)
        reactor.run()
    text = messages(events)
    assert text[0] == f"exchange data: {tmp_path / 'data' / 'exchange.json'}"
    for line in [
        "exchange: 2 LIMs, 48 extensions, 4 groups, 9 agents",
        "LIM 1 (LIM 1): 29 devices: ip 10, sip 10, virtual 5, acd 2, hunt 1, cascade 1",
        "LIM 2 (LIM 2): 23 devices: remote 5, dect 5, digital 5, analog 5, cas 3",
        "group 2000 (CTI, routed by the application, LIM 1): agents 5001-5005 log on at "
        "1000-1004; diverted position 1009",
        "group 2001 (ACD, LIM 1): agents 5006-5009 log on at 1005-1008; diverted position 1009",
        "group 2100 (hunt group, LIM 1): members 1100-1103; diverted position 1009",
        "group 2101 (cascade ring group, LIM 1): members 1104-1106; diverted position none",
        "CSTA server on LIM 1: xml port 9882, TLS port 8883, web port 8080, "
        "authentication optional",
        "CSTA server on LIM 2: tr87 port 5062, TLS port none, web port none, "
        "authentication optional",
        "authentication criteria for applications: demo",
    ]:
        assert line in text
    (shown,) = [e for e in events if e.get("log_format", "").startswith("admin login: {user}")]
    (account,) = root.runtime.exchange.admin_accounts
    assert verify_password(shown["password"], account.password_hash)  # the first run's
    assert text[-1] == "csta: started"
    summary = next(e for e in events if e.get("log_format", "").startswith("LIM {lim}"))
    assert (summary["lim"], summary["count"]) == (1, 29)
    root.stopService()


def test_no_hint_once_the_admin_password_is_changed(tmp_path: Path) -> None:
    build(tmp_path).lock.release()
    directory = DataDirectory(tmp_path / "data")
    data = directory.load()
    data.admin_accounts[0] = attrs.evolve(
        data.admin_accounts[0], password_hash=hash_password("s3cret", n=16, r=1)
    )
    directory.save(data)
    root = build(tmp_path)
    with capturedLogs() as events:
        root.startService()
    text = messages(events)
    assert "admin shell accounts: admin" in text
    assert not any("please change" in line for line in text)


# -- CSTA servers and listeners ----------------------------------------------------------


def test_one_service_per_csta_server_with_its_listeners(tmp_path: Path) -> None:
    reactor = UdpMemoryReactor()
    settings = RunSettings(
        data=tmp_path / "data", interface="::", xml_port=0, admin_port=0, admin_ssh_port=0
    )
    root = build(tmp_path, reactor, settings=settings)
    xml, tr87 = root.servers()
    assert isinstance(xml, CstaServerService) and (xml.name, tr87.name) == ("xml-1", "tr87-2")
    assert sorted(xml.listeners) == ["tls", "web", "xml"]
    assert list(tr87.listeners) == ["sip"]
    with capturedLogs() as events:
        root.privilegedStartService()
        root.startService()
        reactor.run()
    text = messages(events)
    assert "listening: xml on [::]:0" in text
    assert "listening: tls on [::]:8883" in text
    assert "listening: web on [::]:8080" in text
    assert "listening: sip on [::]:5062 (udp, tcp)" in text
    # the summary before the listeners, "csta: started" last
    assert text.index("exchange: 2 LIMs, 48 extensions, 4 groups, 9 agents") < text.index(
        "listening: xml on [::]:0"
    )
    assert text[-1] == "csta: started"
    assert [(port, interface) for port, _, _, interface in reactor.tcpServers] == [
        (0, "::"),
        (8883, "::"),
        (8080, "::"),
        (5062, "::"),
    ]
    assert reactor.udpServers[0][0] == 5062
    listener = xml.listeners["xml"]
    assert listener.port is not None
    root.stopService()
    assert listener.port is None


def test_run_options_override_the_first_server_of_each_type() -> None:
    servers = demo_exchange_data().csta_servers
    settings = RunSettings(xml_port=0, web_endpoint="unix:/tmp/web.sock", sip_port=15062)
    overrides = run_overrides(servers, settings)
    assert overrides[(1, ServerType.XML)] == {
        "xml": Address.tcp(0, "127.0.0.1"),
        "web": Address.described("unix:/tmp/web.sock"),
    }
    assert overrides[(2, ServerType.TR87)] == {"sip": Address.tcp(15062, "127.0.0.1")}
    assert run_overrides(servers, RunSettings()) == {
        (1, ServerType.XML): {},
        (2, ServerType.TR87): {},
    }


def test_addresses_are_endpoint_descriptions() -> None:
    assert Address.tcp(8882, "127.0.0.1").description == "tcp:port=8882:interface=127.0.0.1"
    v6 = Address.tcp(8882, "::1")
    assert v6.description == "tcp6:port=8882:interface=\\:\\:1"
    assert v6.where == "[::1]:8882"
    reactor = MemoryReactorClock()
    v6.endpoint(reactor).listen(Factory())
    assert reactor.tcpServers[0][0] == 8882 and reactor.tcpServers[0][3] == "::1"
    with pytest.raises(CannotListen, match="bad endpoint description 'carrier-pigeon:1'"):
        Address.described("carrier-pigeon:1").endpoint(reactor)


def test_an_endpoint_option_listens_on_a_unix_socket(tmp_path: Path) -> None:
    import twisted.internet.reactor as reactor

    path = tmp_path / "web.sock"
    settings = RunSettings.ephemeral(tmp_path / "data", web_port=None, web_endpoint=f"unix:{path}")
    root = build_service(settings, reactor)
    with capturedLogs() as events:
        root.startService()
    try:
        assert path.exists()
        assert f"listening: web on {path}" in messages(events)
    finally:
        root.stopService()


def test_a_bad_endpoint_option_stops_startup_with_one_line(tmp_path: Path) -> None:
    settings = RunSettings(data=tmp_path / "data", xml_endpoint="carrier-pigeon:1")
    with pytest.raises(StartupError) as caught:
        build(tmp_path, settings=settings)
    assert str(caught.value.code).startswith("csta: bad endpoint description 'carrier-pigeon:1': ")
    assert "\n" not in str(caught.value.code)


def test_listener_logs_the_real_port() -> None:
    import twisted.internet.reactor as reactor

    address = Address.tcp(0, "127.0.0.1")
    listener = Listener("xml", address, address.endpoint(reactor), Factory.forProtocol(Protocol))
    with capturedLogs() as events:
        listener.startService()
    try:
        real = listener.port.getHost().port
        assert real != 0 and listener.bound_port == real
        (event,) = [e for e in events if e["log_namespace"] == "cstaserver.app.endpoints"]
        assert formatEvent(event) == f"listening: xml on 127.0.0.1:{real}"
        assert (event["name"], event["host"], event["port"]) == ("xml", "127.0.0.1", real)
        assert address.pinned(listener.port) == Address.tcp(real, "127.0.0.1")
    finally:
        listener.stopService()
    assert listener.port is None


def test_port_in_use_stops_startup_with_one_line(tmp_path: Path) -> None:
    import twisted.internet.reactor as reactor

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        settings = RunSettings.ephemeral(tmp_path / "data", xml_port=port)
        root = build_service(settings, reactor)
        with pytest.raises(StartupError) as caught:
            root.privilegedStartService()
        root.stopService()
    assert caught.value.code == (
        f"csta: cannot listen: xml on 127.0.0.1:{port}: Address already in use"
    )


def test_bind_error_from_any_listen_call() -> None:
    error = CannotListenError("::", 5062, OSError(13, "Permission denied"))
    reactor = RaisingMemoryReactor(listenException=error)
    address = Address.tcp(5062, "::")
    listener = Listener("sip", address, address.endpoint(reactor), Factory())
    with pytest.raises(CannotListen, match=r"^cannot listen: sip on \[::\]:5062: Perm"):
        listener.startService()
    assert listener.stopService() is None  # never bound: nothing to stop


def test_a_bug_in_a_listener_is_not_hidden() -> None:
    class Broken:
        def listen(self, factory):
            return 1 / 0

    listener = Listener("web", Address.tcp(8080, "127.0.0.1"), Broken(), Factory())
    with pytest.raises(ZeroDivisionError):
        listener.privilegedStartService()


def test_make_service_with_the_real_switch(tmp_path: Path) -> None:
    from cstaserver.pbx.interfaces import ISwitch

    options = Options()
    options.parseOptions(["--data", str(tmp_path / "data"), "--admin-port", "0"])
    root = make_service(options)
    assert root.freeze_when_started  # the process that is the server freezes its start-up
    switch = root.runtime.switch
    assert ISwitch.providedBy(switch)
    assert switch.device("1000").number == "1000"
    assert json.loads((tmp_path / "data" / "exchange.json").read_text())["schema_version"] == 1


@pytest.mark.parametrize("freeze", [True, False])
def test_start_up_frozen_out_of_the_collector_once_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, freeze: bool
) -> None:
    """make_service's root: gc.collect + gc.freeze once the reactor runs, logged, before
    "csta: started"; a root built for tests (flag off) leaves the collector alone."""
    import gc

    calls: list[str] = []
    monkeypatch.setattr(gc, "collect", lambda *a: calls.append("collect") or 0)
    monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))
    monkeypatch.setattr(gc, "get_freeze_count", lambda: 4321)
    reactor = UdpMemoryReactor()
    root = build(tmp_path, reactor)
    root.freeze_when_started = freeze
    with capturedLogs() as events:
        root.privilegedStartService()
        root.startService()
        assert calls == []  # not before the reactor runs
        reactor.run()
    text = messages(events)
    frozen = "collector: 4321 objects of the start-up frozen out of full collections"
    if freeze:
        assert calls == ["collect", "freeze"]
        assert text[-2:] == [frozen, "csta: started"]
    else:
        assert calls == [] and frozen not in text
    root.stopService()
