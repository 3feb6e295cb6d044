"""``make cluster`` (``python -m cstaserver.cluster.launch``): a cluster on this machine, on
loopback, until Ctrl-C: a redis-server, one exchange process with the demo exchange, and
front ends (two by default), each a ``twistd -n csta`` of its own (docs/cluster.md).

Ports: the exchange process has the admin shell (telnet 8023, ssh 8022); front end 1 listens
where one server would (XML 8882, TLS 8883, web 8080, SIP 5062), front end N on the same
ports plus ``1000 x (N - 1)`` (front end 2: 9882, 9883, 9080, 6062). Redis listens on
``--redis-port`` (6390 by default, not Redis's own 6379, so that a Redis of the machine is
left alone). Each process writes its log (JSON lines) under ``--directory``; every process is
started with a bounded wait for its ``csta: started`` and stopped by its PID, also when one of
them fails to start.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from cstaserver.cluster.broker import BrokerError, RedisServer
from cstaserver.pytest_plugin import CstaServer, ServerError, start_server

FRONT_PORTS = {"xml": 8882, "tls": 8883, "web": 8080, "sip": 5062}
PORT_STEP = 1000


def front_arguments(
    url: str, number: int, exchange: str = "default", *, fixed_ports: bool = True
) -> list[str]:
    """``twistd csta`` options of front end ``number`` (1, 2, ...); without ``fixed_ports``
    every port is a free one (``start_server``'s default)."""
    offset = PORT_STEP * (number - 1)
    ports = [f"--{role}-port={port + offset}" for role, port in FRONT_PORTS.items()]
    ports = ports if fixed_ports else []
    return ["--cluster", url, "--role", "front", "--exchange-name", exchange, *ports]


def exchange_arguments(url: str, exchange: str = "default", admin: bool = True) -> list[str]:
    """``twistd csta`` options of the exchange process (admin shell on 8023/8022)."""
    shell = ["--admin-port=8023", "--admin-ssh-port=8022"] if admin else []
    return ["--cluster", url, "--role", "exchange", "--exchange-name", exchange, *shell]


class Cluster:
    """The processes of one cluster; :meth:`stop` stops them by PID, fronts first."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.redis: RedisServer | None = None
        self.exchange: CstaServer | None = None
        self.fronts: list[CstaServer] = []

    def start(
        self,
        *,
        fronts: int = 2,
        redis_port: int | None = None,
        broker: str | None = None,
        fixed_ports: bool = True,
        data_from: Path | None = None,
    ) -> None:
        """Redis (unless ``broker`` is given), the exchange, then the front ends, each
        waited for; without ``fixed_ports`` every port is a free one (tests, benchmarks);
        ``data_from``: a data directory the exchange starts from (else the demo)."""
        try:
            if broker is None:
                self.redis = RedisServer(self.directory / "redis", redis_port)
                self.redis.start()
                broker = self.redis.url
            self.exchange = start_server(
                self.directory / "exchange",
                data_from=data_from,
                args=exchange_arguments(broker, admin=fixed_ports),
            )
            for number in range(1, fronts + 1):
                self.fronts.append(self.start_front(broker, number, fixed_ports=fixed_ports))
        except BaseException:
            self.stop()
            raise

    def start_front(self, broker: str, number: int, *, fixed_ports: bool = False) -> CstaServer:
        args = front_arguments(broker, number, fixed_ports=fixed_ports)
        return start_server(self.directory / f"front{number}", args=args)

    def stop(self) -> None:
        for front in reversed(self.fronts):
            front.stop()
        if self.exchange is not None:
            self.exchange.stop()
        if self.redis is not None:
            self.redis.stop()

    def describe(self) -> list[str]:
        lines = []
        if self.redis is not None:
            lines.append(f"redis-server   PID {self.redis.pid}  {self.redis.url}")
        if self.exchange is not None:
            user, password = self.exchange.admin
            lines.append(
                f"exchange       PID {self.exchange.pid}  admin shell: telnet 127.0.0.1 8023 "
                f"or ssh -p 8022 {user}@127.0.0.1 (password {password})"
            )
        for number, front in enumerate(self.fronts, 1):
            ports = ", ".join(f"{name} {port}" for name, port in front.ports.items())
            lines.append(f"front end {number}    PID {front.pid}  {ports}")
        lines.append(f"logs: {self.directory}/*/csta.log")
        return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make cluster", description=__doc__.split("\n\n")[0])
    parser.add_argument("--directory", default="mxone-cluster", type=Path)
    parser.add_argument("--fronts", type=int, default=2, choices=range(1, 10))
    parser.add_argument("--redis-port", type=int, default=6390)
    parser.add_argument("--broker", help="an existing broker (redis://HOST:PORT) instead")
    options = parser.parse_args(argv)
    if options.directory.exists():  # each run starts from the demo exchange
        shutil.rmtree(options.directory)
    options.directory.mkdir(parents=True)
    cluster = Cluster(options.directory.resolve())
    try:
        cluster.start(fronts=options.fronts, redis_port=options.redis_port, broker=options.broker)
    except (BrokerError, ServerError) as error:
        print(f"make cluster: {error}", file=sys.stderr)
        return 1
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        print("\n".join(cluster.describe()))
        print("Ctrl-C stops the cluster.", flush=True)
        while not stop.wait(1.0):
            ended = [p for p in [cluster.exchange, *cluster.fronts] if p and not p.alive]
            if ended:
                print(f"make cluster: a process ended: {ended[0]!r}", file=sys.stderr)
                return 1
        return 0
    finally:
        cluster.stop()
        print("cluster stopped", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
