"""makeService / build_service: data directory, switch, builders, listeners (issue 3 §3)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import attrs
import pytest
from twisted.application.service import IServiceCollection
from twisted.internet.address import IPv6Address
from twisted.internet.error import CannotListenError
from twisted.internet.protocol import DatagramProtocol, Factory, Protocol
from twisted.internet.testing import MemoryReactorClock, RaisingMemoryReactor, _FakePort
from twisted.logger import capturedLogs, formatEvent

from cstaserver.config import (
    DataDirectory,
    Limits,
    ServerType,
    demo_exchange_data,
)
from cstaserver.passwords import hash_password
from cstaserver.service import (
    CstaService,
    ListenerService,
    Options,
    RunSettings,
    ServiceContext,
    StartupError,
    SwitchService,
    apply_port_options,
    build_service,
    makeService,
    service_builders,
)


class UdpMemoryReactor(MemoryReactorClock):
    """MemoryReactorClock has no listenUDP; record it like listenTCP."""

    def __init__(self) -> None:
        super().__init__()
        self.udpServers: list[tuple] = []

    def listenUDP(self, port, protocol, interface="", maxPacketSize=8192):
        self.udpServers.append((port, protocol, interface, maxPacketSize))
        return _FakePort(IPv6Address("UDP", interface, port))


@attrs.define
class FakeSwitch:
    plan: object
    clock: object


def build(tmp_path: Path, reactor=None, **kwargs) -> CstaService:
    settings = kwargs.pop("settings", RunSettings(data=tmp_path / "data"))
    kwargs.setdefault("builders", [])  # the switch and the summary only
    return build_service(
        settings, reactor or MemoryReactorClock(), switch_factory=FakeSwitch, **kwargs
    )


def messages(events) -> list[str]:
    return [formatEvent(event) for event in events]


def test_builds_the_demo_and_the_switch_first(tmp_path: Path) -> None:
    reactor = MemoryReactorClock()
    with capturedLogs() as events:
        root = build(tmp_path, reactor)
    data = DataDirectory(tmp_path / "data").load()
    assert root.context.exchange == data
    assert data.plan == demo_exchange_data().plan
    services = list(IServiceCollection(root))
    assert isinstance(services[0], SwitchService)
    assert root.getServiceNamed("switch").switch.plan == data.plan
    assert root.context.switch.clock is reactor
    assert f"created the demo exchange in {tmp_path / 'data'}" in messages(events)


def test_no_demo_builds_the_empty_exchange(tmp_path: Path) -> None:
    root = build(tmp_path, settings=RunSettings(data=tmp_path / "data", demo=False))
    assert root.context.exchange.plan.extensions == []
    assert [s.lim for s in root.context.exchange.csta_servers] == [1, 1]


def test_restart_keeps_the_data(tmp_path: Path) -> None:
    build(tmp_path)
    directory = DataDirectory(tmp_path / "data")
    changed = attrs.evolve(directory.load(), limits=Limits(max_sessions=3))
    directory.save(changed)
    root = build(tmp_path)
    assert root.context.exchange == changed
    # --no-demo only matters for an empty directory
    root = build(tmp_path, settings=RunSettings(data=tmp_path / "data", demo=False))
    assert root.context.exchange == changed


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
    with pytest.raises(StartupError, match=r"^csta: .*data: File exists$"):
        build(tmp_path)


def test_port_options_apply_to_the_first_server_of_each_type() -> None:
    servers = demo_exchange_data().csta_servers
    settings = RunSettings(xml_port=0, web_port=9080, sip_port=15062)
    xml, tr87 = apply_port_options(servers, settings)
    assert (xml.port, xml.tls_port, xml.web_port) == (0, 8883, 9080)
    assert (tr87.port, tr87.tls_port) == (15062, None)
    assert apply_port_options(servers, RunSettings()) == servers


def test_summary_and_admin_hint(tmp_path: Path) -> None:
    reactor = MemoryReactorClock()
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
        "exchange: 2 LIMs, 48 extensions, 3 groups, 5 agents",
        "LIM 1 (LIM 1): 28 devices: ip 10, sip 10, virtual 5, acd 1, hunt 1, cascade 1",
        "LIM 2 (LIM 2): 23 devices: remote 5, dect 5, digital 5, analog 5, cas 3",
        "group 2000 (CTI/ACD, LIM 1): agents 5001-5005 log on at 1000-1004",
        "group 2100 (hunt group, LIM 1): members 1100-1103",
        "group 2101 (cascade ring group, LIM 1): members 1104-1106",
        "CSTA server on LIM 1: xml port 9882, TLS port 8883, web port 8080, "
        "authentication optional",
        "CSTA server on LIM 2: tr87 port 5062, TLS port none, web port none, "
        "authentication optional",
        "authentication criteria for applications: demo",
        "admin shell login: admin / admin (the default: please change it)",
    ]:
        assert line in text
    assert text[-1] == "csta: started"
    summary = next(e for e in events if e.get("log_format", "").startswith("LIM {lim}"))
    assert (summary["lim"], summary["count"]) == (1, 28)
    root.stopService()


def test_no_hint_once_the_admin_password_is_changed(tmp_path: Path) -> None:
    build(tmp_path)
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


# -- builders and listeners -------------------------------------------------------------


def test_service_builders_in_start_up_order() -> None:
    names = [getattr(b, "__name__", "") for b in service_builders()]
    assert names == [
        "build_core",
        "build_xml_listeners",
        "build_tls_listeners",
        "build_sip_listeners",
        "build_web_listeners",
        "build_admin",
    ]


def test_builders_get_the_context_and_add_listeners(tmp_path: Path) -> None:
    reactor = UdpMemoryReactor()
    seen: list[ServiceContext] = []

    def core(context: ServiceContext):
        seen.append(context)
        context.components["csta"] = "core"
        return []

    def xml(context: ServiceContext):
        assert context.components["csta"] == "core"
        (server,) = context.servers(ServerType.XML)
        yield context.tcp_listener("xml", server.port, Factory.forProtocol(Protocol))
        yield context.udp_listener("sip", 5062, DatagramProtocol())
        admin = context.settings.admin_interface
        yield context.tcp_listener("admin-telnet", 0, Factory(), interface=admin)

    settings = RunSettings(data=tmp_path / "data", interface="::", xml_port=0)
    root = build(tmp_path, reactor, settings=settings, builders=[core, xml])
    assert seen[0].switch is root.getServiceNamed("switch").switch
    assert seen[0].reactor is reactor
    with capturedLogs() as events:
        root.privilegedStartService()
        root.startService()
        reactor.run()
    text = messages(events)
    assert "listening: xml on [::]:0" in text
    assert "listening: sip on [::]:5062" in text
    assert "listening: admin-telnet on 0.0.0.0:0" in text  # MemoryReactor's IPv4 getHost()
    # the summary before the listeners, the admin hint after them
    assert text.index("exchange: 2 LIMs, 48 extensions, 3 groups, 5 agents") < text.index(
        "listening: xml on [::]:0"
    )
    assert text[-1] == "csta: started"
    assert [(port, interface) for port, _, _, interface in reactor.tcpServers] == [
        (0, "::"),
        (0, "127.0.0.1"),
    ]
    assert reactor.udpServers[0][0] == 5062
    listener = root.getServiceNamed("xml")
    assert listener.port is not None
    root.stopService()
    assert listener.port is None


def test_listener_logs_the_real_port() -> None:
    import twisted.internet.reactor as reactor

    listener = ListenerService(
        "xml",
        "127.0.0.1",
        0,
        lambda: reactor.listenTCP(0, Factory.forProtocol(Protocol), interface="127.0.0.1"),
    )
    with capturedLogs() as events:
        listener.startService()
    try:
        real = listener.port.getHost().port
        assert real != 0
        (event,) = [e for e in events if e["log_namespace"] == "cstaserver.service"]
        assert formatEvent(event) == f"listening: xml on 127.0.0.1:{real}"
        assert (event["name"], event["host"], event["port"]) == ("xml", "127.0.0.1", real)
    finally:
        listener.stopService()


def test_port_in_use_stops_startup_with_one_line() -> None:
    import twisted.internet.reactor as reactor

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        context = ServiceContext(
            reactor=reactor,
            settings=RunSettings(),
            data_directory=DataDirectory("unused"),
            exchange=None,
            switch=None,
            csta_servers=[],
        )
        listener = context.tcp_listener("xml", port, Factory())
        with pytest.raises(StartupError) as caught:
            listener.privilegedStartService()
    assert caught.value.code == (
        f"csta: cannot listen: xml on 127.0.0.1:{port}: Address already in use"
    )


def test_bind_error_from_any_listen_call() -> None:
    error = CannotListenError("127.0.0.1", 5062, OSError(13, "Permission denied"))
    reactor = RaisingMemoryReactor(listenException=error)
    listener = ListenerService("sip", "::", 5062, lambda: reactor.listenTCP(5062, None))
    with pytest.raises(StartupError, match=r"^csta: cannot listen: sip on \[::\]:5062: Perm"):
        listener.startService()


def test_a_bug_in_a_listener_is_not_hidden() -> None:
    listener = ListenerService("web", "127.0.0.1", 8080, lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        listener.privilegedStartService()


def test_make_service_with_the_real_switch(tmp_path: Path) -> None:
    pytest.importorskip("cstaserver.pbx.switch")
    from cstaserver.pbx.interfaces import ISwitch

    options = Options()
    options.parseOptions(["--data", str(tmp_path / "data"), "--admin-port", "0"])
    root = makeService(options)
    switch = root.getServiceNamed("switch").switch
    assert ISwitch.providedBy(switch)
    assert switch.device("1000").number == "1000"
    assert json.loads((tmp_path / "data" / "exchange.json").read_text())["schema_version"] == 1
