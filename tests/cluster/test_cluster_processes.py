"""A cluster for real: a redis-server, an exchange process and two front ends, each a
``twistd -n csta`` of its own on loopback ports (cstaserver.cluster.launch, as ``make
cluster`` starts them), driven by CSTA XML clients on the front ends, which do not hold the
exchange. Then the faults: kill -9 of a front end, of the exchange process and of Redis, each
with what the survivors must do asserted. Every process is stopped by its PID."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cstaserver.cluster.broker import REDIS, WHY_MISSING
from cstaserver.cluster.launch import Cluster, exchange_arguments
from cstaserver.pytest_plugin import CstaServer, start_server
from cstaserver.scenario.clients import CstaConnection, CstaRefused

pytestmark = pytest.mark.skipif(REDIS is None, reason=WHY_MISSING)

WAIT = 20.0  # an upper bound for what the faults take (heartbeat 3.5 s, request 5 s)


def new_cluster(directory: Path) -> Cluster:
    cluster = Cluster(directory)
    cluster.start(fronts=2, fixed_ports=False)
    return cluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    running = new_cluster(tmp_path_factory.mktemp("cluster"))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def own_cluster(tmp_path: Path) -> Iterator[Cluster]:
    running = new_cluster(tmp_path / "cluster")
    try:
        yield running
    finally:
        running.stop()


def make_call(csta: CstaConnection, calling: str, called: str) -> str:
    body = {"callingDevice": calling, "calledDirectoryNumber": called}
    return csta.request("MakeCall", body, timeout=WAIT)["callingDevice/callID"]


def clear(csta: CstaConnection, call_id: str, device: str) -> None:
    body = {"connectionToBeCleared": {"callID": call_id, "deviceID": device}}
    csta.request("ClearConnection", body, timeout=WAIT)


def position(csta: CstaConnection, name: str) -> int:
    return next(i for i, m in enumerate(csta.messages) if m.name == name)


def test_a_call_between_clients_of_two_front_ends(cluster: Cluster) -> None:
    front1, front2 = cluster.fronts
    with front1.xml() as caller, front2.xml() as callee:
        watched1 = caller.monitor("1001")
        watched2 = callee.monitor("1002")
        call_id = make_call(caller, "1001", "1002")
        caller.wait_for("ServiceInitiatedEvent", monitor=watched1)
        caller.wait_for("OriginatedEvent", monitor=watched1)
        # the response came before the events it caused, on the front end that asked
        assert position(caller, "MakeCallResponse") < position(caller, "ServiceInitiatedEvent")
        delivered = callee.wait_for("DeliveredEvent", monitor=watched2, timeout=WAIT)
        assert delivered["connection/callID"] == call_id
        assert delivered["callingDevice"] == "1001"
        body = {"callToBeAnswered": {"callID": call_id, "deviceID": "1002"}}
        callee.request("AnswerCall", body, timeout=WAIT)
        established = caller.wait_for("EstablishedEvent", monitor=watched1, timeout=WAIT)
        assert established["answeringDevice"] == "1002"
        callee.wait_for("EstablishedEvent", monitor=watched2)
        clear(caller, call_id, "1001")
        callee.wait_for("ConnectionClearedEvent", monitor=watched2, timeout=WAIT)
        caller.wait_for("ConnectionClearedEvent", monitor=watched1)


def test_every_process_freezes_its_start_up_out_of_the_collector(cluster: Cluster) -> None:
    """As one server does (``freeze_long_lived_objects``): the front ends too, once they
    have built their server from the exchange data, before their "csta: started"."""
    for server in [cluster.exchange, *cluster.fronts]:
        assert server is not None
        formats = [e.get("log_format", "") for e in server.log_events()]
        frozen = [i for i, f in enumerate(formats) if f.startswith("collector: {frozen} ")]
        assert frozen, f"no start-up frozen in {server.log_path}"
        assert frozen[0] < formats.index("csta: started")


def test_a_refusal_is_the_exchange_s_csta_error(cluster: Cluster) -> None:
    with cluster.fronts[0].xml() as csta:
        with pytest.raises(CstaRefused) as refused:
            make_call(csta, "1999", "1002")
        assert "invalidCallingDevice" in str(refused.value) or "invalidDeviceID" in str(
            refused.value
        )


def test_monitors_on_two_front_ends_each_get_the_events(cluster: Cluster) -> None:
    front1, front2 = cluster.fronts
    with front1.xml() as a, front2.xml() as b, front1.xml() as caller:
        watched_a, watched_b = a.monitor("1003"), b.monitor("1003")
        call_id = make_call(caller, "1004", "1003")
        for csta, watched in ((a, watched_a), (b, watched_b)):
            delivered = csta.wait_for("DeliveredEvent", monitor=watched, timeout=WAIT)
            assert delivered["connection/callID"] == call_id
        clear(caller, call_id, "1004")
        for csta, watched in ((a, watched_a), (b, watched_b)):
            csta.wait_for("ConnectionClearedEvent", monitor=watched, timeout=WAIT)
        # each event once: no duplicate from the two channels of the call's two devices
        assert [m.name for m in a.messages].count("DeliveredEvent") == 1


APPL = "http://www.ecma-international.org/standards/ecma-354/appl_session"


def start_session(server: CstaServer, reattach: str | None = None) -> tuple[CstaConnection, str]:
    """An ECMA-354 session of the demo application's user (``reattach``: an old one's ID)."""
    login = "<userName>csta_user</userName><password>csta</password>"
    if reattach is not None:
        login += f"<sessionID>{reattach}</sessionID>"
    body = (
        "<applicationInfo><applicationID>demo</applicationID><applicationSpecificInfo>"
        f'<SessionLoginInfo xmlns="urn:cstaserver:session">{login}</SessionLoginInfo>'
        "</applicationSpecificInfo></applicationInfo><requestedProtocolVersions>"
        "<protocolVersion>http://www.ecma-international.org/standards/ecma-323/csta/ed3"
        "</protocolVersion></requestedProtocolVersions>"
    )
    csta = server.xml(timeout=WAIT)
    csta.namespace = APPL
    answer = csta.request("StartApplicationSession", body)
    csta.namespace = "http://www.ecma-international.org/standards/ecma-323/csta/ed3"
    return csta, answer["sessionID"]


def wait_for_log(server: CstaServer, log_format: str, version: int) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        events = server.log_events()
        if any(e.get("log_format") == log_format and e.get("version") == version for e in events):
            return
        time.sleep(0.05)
    raise AssertionError(f"no {log_format!r} (version {version}) in {server.log_path}")


def admin_command(server: CstaServer, *args: str) -> str:
    """A console command against the running exchange process (its control socket)."""
    command = [str(Path(sys.executable).parent / args[0]), "--data", str(server.data), *args[1:]]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_session_reattaches_through_the_other_front_end(own_cluster: Cluster) -> None:
    front1, front2 = own_cluster.fronts
    assert own_cluster.exchange is not None
    # an admin change on the exchange process reaches the front ends: sessions now outlive
    # their connection for a minute (the demo's cleanup delay is 0: no reattach)
    admin_command(own_cluster.exchange, "csta_limits", "-c", "--session-cleanup-delay", "60")
    for front in own_cluster.fronts:  # within a heartbeat (1 s) each has the new data
        wait_for_log(front, "cluster: exchange data version {version} from exchange {exchange}", 2)
    first, session_id = start_session(front1)
    watched = first.monitor("1002")
    ringing = make_call(first, "1004", "1003")  # a call at 1003 before the move
    body = {"monitorObject": {"deviceObject": "1003"}, "monitorType": "call"}
    follower = first.request("MonitorStart", body)["monitorCrossRefID"]
    # a monitor reaches the session's record on the bus within 0.5 s (docs/cluster.md,
    # "Application sessions"): the front end dies after that, as most crashes would
    time.sleep(1.0)
    os.kill(front1.pid, signal.SIGKILL)  # its front end dies; the session is on the bus
    front1.process.wait(WAIT)
    again, same = start_session(front2, reattach=session_id)
    assert same == session_id
    # the call-type monitor follows 1003's call of before the move, from front 2
    answer = {"callToBeAnswered": {"callID": ringing, "deviceID": "1003"}}
    again.request("AnswerCall", answer, timeout=WAIT)
    established = again.wait_for("EstablishedEvent", monitor=follower, timeout=WAIT)
    assert established["establishedConnection/callID"] == ringing
    clear(again, ringing, "1004")
    with front2.xml() as caller:
        call_id = make_call(caller, "1001", "1002")
        delivered = again.wait_for("DeliveredEvent", monitor=watched, timeout=WAIT)
        assert delivered["connection/callID"] == call_id  # the same crossRefID, on front 2
        clear(caller, call_id, "1001")


def test_kill_9_of_a_front_end_loses_only_its_own_clients(own_cluster: Cluster) -> None:
    front1, front2 = own_cluster.fronts
    lost = front1.xml()
    kept = front2.xml()
    watched = kept.monitor("1002")
    os.kill(front1.pid, signal.SIGKILL)
    front1.process.wait(WAIT)
    with pytest.raises(ConnectionError):
        lost.request("MakeCall", {"callingDevice": "1001", "calledDirectoryNumber": "1002"})
    call_id = make_call(kept, "1001", "1002")
    assert (
        kept.wait_for("DeliveredEvent", monitor=watched, timeout=WAIT)["connection/callID"]
        == call_id
    )
    clear(kept, call_id, "1001")


def registered(server: CstaServer) -> CstaConnection:
    csta = server.xml(timeout=WAIT)
    csta.request("SystemRegister", {})
    return csta


def test_kill_9_of_the_exchange_disables_and_its_return_is_normal(
    own_cluster: Cluster, tmp_path: Path
) -> None:
    exchange = own_cluster.exchange
    assert exchange is not None
    clients = [registered(front) for front in own_cluster.fronts]
    os.kill(exchange.pid, signal.SIGKILL)
    exchange.process.wait(WAIT)
    for csta in clients:
        csta.wait_for("SystemStatus", match={"systemStatus": "disabled"}, timeout=WAIT)
    started = time.monotonic()
    with pytest.raises(CstaRefused):  # answered with a CSTA error, not left hanging
        make_call(clients[0], "1001", "1002")
    assert time.monotonic() - started < WAIT
    broker = own_cluster.redis.url  # type: ignore[union-attr]
    again = start_server(
        tmp_path / "exchange-again",
        data_from=exchange.data,
        args=exchange_arguments(broker, admin=False),
        admin=exchange.admin,
    )
    own_cluster.exchange = again
    for csta in clients:
        csta.wait_for("SystemStatus", match={"systemStatus": "normal"}, timeout=WAIT)
    call_id = make_call(clients[1], "1001", "1002")
    clear(clients[1], call_id, "1001")


def test_kill_9_of_redis_is_survived(own_cluster: Cluster) -> None:
    redis = own_cluster.redis
    assert redis is not None
    csta = registered(own_cluster.fronts[0])
    redis.kill()
    started = time.monotonic()
    with pytest.raises(CstaRefused):  # no broker: a CSTA error within the time-out
        make_call(csta, "1001", "1002")
    assert time.monotonic() - started < WAIT
    csta.wait_for("SystemStatus", match={"systemStatus": "disabled"}, timeout=WAIT)
    redis.start()  # the same port: every process reconnects by itself
    csta.wait_for("SystemStatus", match={"systemStatus": "normal"}, timeout=WAIT)
    call_id = make_call(csta, "1001", "1002")
    clear(csta, call_id, "1001")
    assert all(p.alive for p in [own_cluster.exchange, *own_cluster.fronts] if p is not None)


def test_csta_p_on_the_exchange_lists_its_front_ends(cluster: Cluster) -> None:
    assert cluster.exchange is not None
    printed = admin_command(cluster.exchange, "csta", "-p")
    front_ends = printed.split("Front ends (cluster: they run the CSTA servers above)\n")[1]
    rows = [line for line in front_ends.splitlines()[1:] if line.startswith("front-")]
    assert len(rows) == 2
    for front in cluster.fronts:
        assert any(f"xml {front.xml_port}" in row for row in rows)


def test_role_all_serves_its_own_clients_and_a_front_end(tmp_path: Path) -> None:
    """One process with the exchange and its listeners (``--role all``), and a front end."""
    from cstaserver.cluster.broker import RedisServer
    from cstaserver.cluster.launch import front_arguments

    redis = RedisServer(tmp_path / "redis")
    redis.start()
    servers: list[CstaServer] = []
    try:
        servers.append(
            start_server(tmp_path / "all", args=["--cluster", redis.url, "--role", "all"])
        )
        servers.append(
            start_server(tmp_path / "front", args=front_arguments(redis.url, 1, fixed_ports=False))
        )
        whole, front = servers
        with whole.xml() as local, front.xml() as remote:
            watched = remote.monitor("1002")
            call_id = make_call(local, "1001", "1002")
            delivered = remote.wait_for("DeliveredEvent", monitor=watched, timeout=WAIT)
            assert delivered["connection/callID"] == call_id
            clear(local, call_id, "1001")
            remote.wait_for("ConnectionClearedEvent", monitor=watched, timeout=WAIT)
    finally:
        for server in reversed(servers):
            server.stop()
        redis.stop()
