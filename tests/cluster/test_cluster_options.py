"""``twistd -n csta --cluster redis://HOST:PORT --role front|exchange|all``: the options
checked, and a broker that does not answer stopping start-up with one line (exit status 1),
as an operator running it under systemd or in a container expects."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest
from twisted.python import usage

from cstaserver.app.options import Options
from cstaserver.bus.address import BrokerAddress, BrokerUnreachable
from cstaserver.pytest_plugin import FREE_PORTS, twistd_command
from cstaserver.pytest_plugin import server_environment as environment


def parse(*args: str) -> Options:
    options = Options()
    options.parseOptions(list(args))
    return options


def test_without_cluster_one_process_as_before() -> None:
    settings = parse().settings
    assert settings.cluster is None and settings.role == "all"
    assert settings.exchange_name == "default"


def test_cluster_options_are_kept() -> None:
    settings = parse(
        "--cluster", "redis://10.0.0.5:6380", "--role", "front", "--exchange-name", "lim-2"
    ).settings
    assert settings.cluster == BrokerAddress("10.0.0.5", 6380)
    assert (settings.role, settings.exchange_name) == ("front", "lim-2")
    assert parse("--cluster", "valkey://broker").settings.cluster == BrokerAddress("broker", 6379)


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--role", "front"], "--role front: needs --cluster redis://HOST:PORT"),
        (["--cluster", "redis://h", "--role", "lim"], "--role: 'lim' is not one of"),
        (["--cluster", "http://h:1"], "--cluster: 'http://h:1' is not a redis://HOST:PORT"),
        (["--cluster", "redis://h:70000"], "the port must be a number"),
        (["--cluster", "redis://h:1/0"], "only redis://HOST:PORT is understood"),
        (["--cluster", "redis://u:pw@h:1"], "the broker's password is not supported"),
        (["--exchange-name", "a/b"], "--exchange-name: 'a/b': use 1-64 letters"),
    ],
)
def test_bad_cluster_option_is_one_line(args: list[str], line: str) -> None:
    with pytest.raises(usage.UsageError) as raised:
        parse(*args)
    assert line in str(raised.value)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens on it once closed


def test_the_probe_names_the_broker_that_does_not_answer() -> None:
    port = closed_port()
    with pytest.raises(BrokerUnreachable) as raised:
        BrokerAddress("127.0.0.1", port).probe(timeout=2)
    assert str(raised.value).startswith(f"cannot reach the broker redis://127.0.0.1:{port}: ")


def test_a_broker_that_is_not_redis_is_refused() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        address = BrokerAddress("127.0.0.1", server.getsockname()[1])
        # the listener accepts (backlog) and never answers: the probe's time-out ends it
        with pytest.raises(BrokerUnreachable):
            address.probe(timeout=0.5)


@pytest.mark.parametrize("role", ["front", "exchange", "all"])
def test_no_broker_no_start_one_line(tmp_path: Path, role: str) -> None:
    port = closed_port()
    result = subprocess.run(
        twistd_command(
            "-n",
            "--pidfile=",
            "csta",
            "--data",
            str(tmp_path / "data"),
            *FREE_PORTS,
            "--cluster",
            f"redis://127.0.0.1:{port}",
            "--role",
            role,
        ),
        cwd=tmp_path,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"csta: cannot reach the broker redis://127.0.0.1:{port}: Connection refused"
    ]
    assert "Traceback" not in result.stdout
    assert not (tmp_path / "data").exists()  # nothing made before the broker answered
