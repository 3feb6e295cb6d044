"""A pytest plugin (registered as ``cstaserver`` through the ``pytest11`` entry point): whole
cstaserver processes for a test suite, each on loopback ports of its own.

Fixtures (docs/testing-your-application.md):

- ``csta_server``: a fresh server for one test, stopped after it. The exchange is the demo
  exchange, or the file given by ``--csta-exchange FILE`` (every server of the run), or by
  ``@pytest.mark.csta_server(exchange="file.json", args=[...])`` on the test (a path
  relative to the test's file), or by an indirect parameter of the same keywords.
- ``csta_servers``: the factory, for a server shared by a module or class, several at once,
  or custom ones: ``csta_servers.start(exchange=None, args=())`` gives a running
  :class:`CstaServer`; it is a context manager, and whatever the factory started is stopped
  at the end of the session at the latest.

A server is ``twistd -n csta`` of this interpreter with ``--data`` a fresh directory, every
port 0 and ``--log-format json``: the ``listening: <name> on <host>:<port>`` events give the
ports it got, ``csta: started`` says it serves (waited for up to ``--csta-start-timeout``,
30 s). Its log goes to a file beside the data; when a test fails, the report shows the last
lines of the log of every server running then. It is stopped by its PID: SIGINT, then
SIGKILL if it has not ended within 10 s.

:class:`CstaServer` gives the ports, the data directory, the PID, ``api`` (a JSON API client
with the admin account), ``xml()`` (a CSTA XML connection) and ``run_scenario(file)``. Each
server is started with ``--reset-admin-password`` (unless an ``admin`` login is given): its
copy of the data gets the login ``admin`` with a new random password, which the server logs
once and the plugin reads from that event into ``server.admin``.
:func:`start_server` does the same without pytest.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import attrs
import pytest

import cstaserver
from cstaserver.scenario.clients import ApiClient, CstaConnection
from cstaserver.scenario.format import Scenario, load_scenario
from cstaserver.scenario.runner import ScenarioResult, Target, play

#: Every listener on a port of its own, so that parallel runs never collide (port 0; an
#: admin port 0 is no admin shell at all).
FREE_PORTS = (
    "--xml-port=0",
    "--tls-port=0",
    "--sip-port=0",
    "--web-port=0",
    "--admin-port=0",
    "--admin-ssh-port=0",
)
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
#: The demo exchange's web account (reads of the JSON API, SOAP).
DEMO_READER = ("csta_user", "csta")
#: The admin login before the server told it: the first run of a new data directory makes
#: ``admin`` with a random password and logs it once (the plugin reads it from there).
UNKNOWN_ADMIN = ("admin", "")
#: The start-up log event that shows the first run's admin password (its fields ``user``
#: and ``password``).
ADMIN_PASSWORD_SHOWN = "admin login: {user} / {password}"
RESET_ADMIN = "--reset-admin-password"
LOG_LINES = 40
STARTED = "csta: started"
LISTENING = "listening: {name} on {address}{detail}"


def twistd_command(*args: str) -> list[str]:
    """``twistd ARGS`` of the running interpreter: the script beside it, else the module."""
    script = Path(sys.executable).parent / "twistd"
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-c", "from twisted.scripts.twistd import run; run()", *args]


def server_environment() -> dict[str, str]:
    """The environment of a server process: unbuffered output, and this cstaserver first on
    the import path (the twistd plugin is found beside the package)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    source = str(Path(cstaserver.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [source, env.get("PYTHONPATH")]))
    return env


class ServerError(RuntimeError):
    """A server that did not start (it ended, or did not say it started in time); the
    message ends with the last lines of its log."""


@attrs.frozen
class Listener:
    """One ``listening:`` event: the listener's name (``xml``, ``tls``, ``sip``, ``web``),
    host and port."""

    name: str
    host: str
    port: int


def format_log_line(line: str) -> str:
    """One JSON log line as text (``12:00:01 [cstaserver.app.root] csta: started``), with a
    traceback if the event has one; a line that is not a JSON event as it is."""
    try:
        from twisted.logger import eventAsText, eventFromJSON

        event = eventFromJSON(line)
        return eventAsText(event, includeTraceback=True, includeTimestamp=True)
    except Exception:  # noqa: BLE001 - not an event: shown as it came
        return line


@attrs.define(eq=False, repr=False)
class CstaServer:
    """A running server process (see the module docstring). ``directory`` holds ``data``
    (the exchange data, certificate, control socket), ``csta.log`` (stdout: the JSON log)
    and ``stderr.log``."""

    process: subprocess.Popen[bytes]
    directory: Path
    listeners: list[Listener]
    admin: tuple[str, str] = UNKNOWN_ADMIN
    reader: tuple[str, str] = DEMO_READER
    start_seconds: float = 0.0
    returncode: int | None = None
    _connections: list[CstaConnection] = attrs.field(factory=list)
    _on_stop: list[Any] = attrs.field(factory=list)

    def __repr__(self) -> str:
        ports = ", ".join(f"{name} {port}" for name, port in self.ports.items())
        state = "running" if self.alive else f"ended ({self.process.returncode})"
        return f"<CstaServer PID {self.pid} {state} on {self.host}: {ports}; {self.directory}>"

    # -- where it is -----------------------------------------------------------------------------
    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def data(self) -> Path:
        return self.directory / "data"

    @property
    def log_path(self) -> Path:
        return self.directory / "csta.log"

    @property
    def stderr_path(self) -> Path:
        return self.directory / "stderr.log"

    @property
    def ports(self) -> dict[str, int]:
        """The first listener of each name: ``{"xml": 41233, "tls": ..., "web": ...}``."""
        found: dict[str, int] = {}
        for listener in self.listeners:
            found.setdefault(listener.name, listener.port)
        return found

    @property
    def host(self) -> str:
        xml = [entry for entry in self.listeners if entry.name == "xml"]
        return xml[0].host if xml else "127.0.0.1"

    def _port(self, name: str) -> int:
        try:
            return self.ports[name]
        except KeyError:
            raise LookupError(f"the server has no {name} listener: {self.ports}") from None

    @property
    def xml_port(self) -> int:
        return self._port("xml")

    @property
    def tls_port(self) -> int:
        return self._port("tls")

    @property
    def sip_port(self) -> int:
        return self._port("sip")

    @property
    def web_port(self) -> int:
        return self._port("web")

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    # -- talking to it ---------------------------------------------------------------------------
    @property
    def api(self) -> ApiClient:
        """The JSON API with the admin account (reads and actions)."""
        return self.api_as(*self.admin)

    def api_as(self, user: str, password: str) -> ApiClient:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return ApiClient(f"http://{host}:{self.web_port}", user, password)

    def xml(self, *, timeout: float = 5.0) -> CstaConnection:
        """A new connection to the CSTA XML port (closed when the server stops, if not
        before)."""
        connection = CstaConnection(self.host, self.xml_port, timeout=timeout)
        self._connections.append(connection)
        return connection

    def target(self) -> Target:
        """Where ``csta-sim run`` would play against this server."""
        return Target(self.host, self.xml_port, self.web_port, *self.admin)

    def run_scenario(
        self,
        scenario: str | os.PathLike[str] | Scenario,
        variables: Mapping[str, str] | None = None,
        out: IO[str] | None = None,
    ) -> ScenarioResult:
        """Play a scenario file (or a loaded :class:`Scenario`) against this server;
        ``result.passed``, and ``result.report()`` says how each step went."""
        if not isinstance(scenario, Scenario):
            scenario = load_scenario(scenario, variables)
        return play(scenario, self.target(), out)

    # -- its log ---------------------------------------------------------------------------------
    def log_events(self) -> list[dict[str, Any]]:
        """Every JSON event logged so far."""
        events = []
        for line in _read_lines(self.log_path):
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                events.append(event)
        return events

    def log_tail(self, lines: int = LOG_LINES) -> str:
        """The last ``lines`` lines of the log as text, then whatever went to stderr."""
        shown = [format_log_line(line) for line in _read_lines(self.log_path)[-lines:]]
        errors = _read_lines(self.stderr_path)[-lines:]
        if errors:
            shown += ["-- stderr:", *errors]
        return "\n".join(shown)

    # -- stopping --------------------------------------------------------------------------------
    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """Close the connections opened through it, then SIGINT; SIGKILL if it has not ended
        within ``timeout``. Its exit status (twistd ends a clean SIGINT stop with -SIGINT)."""
        for connection in self._connections:
            connection.close()
        self._connections.clear()
        if self.process.poll() is None:
            try:
                os.kill(self.process.pid, signal.SIGINT)
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=timeout)
            except ProcessLookupError:  # it ended between the poll and the signal
                self.process.wait(timeout=timeout)
        self.returncode = self.process.returncode
        for callback in self._on_stop:
            callback(self)
        self._on_stop.clear()
        return self.returncode

    def __enter__(self) -> CstaServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []


def start_server(
    directory: str | os.PathLike[str],
    *,
    exchange: str | os.PathLike[str] | None = None,
    data_from: str | os.PathLike[str] | None = None,
    args: Sequence[str] = (),
    timeout: float = START_TIMEOUT,
    admin: tuple[str, str] | None = None,
    reader: tuple[str, str] = DEMO_READER,
) -> CstaServer:
    """Start a server in ``directory`` (created; its ``data`` must not exist yet), every
    port 0, and wait for ``csta: started``; ServerError (with its log's last lines) if it
    ends or does not start within ``timeout`` seconds, and then it is stopped.

    Its data directory starts as a copy of ``data_from`` (a server's data directory: the
    exchange data, the TLS certificate), with ``exchange`` (exchange data, JSON) copied over
    it; with neither, the server creates the demo exchange and a certificate. A data
    directory without a certificate has no TLS listener. ``args``: more options of
    ``twistd csta`` (after the defaults, so ``--xml-port=9882`` wins). ``admin``: the admin
    login (user, password) the exchange data has; without it the server starts with
    ``--reset-admin-password`` (its copy of the data gets an ``admin`` login with a new random
    password) and ``server.admin`` is read from the start-up event that shows it once."""
    directory = Path(directory)
    data = directory / "data"
    if data_from is not None:
        directory.mkdir(parents=True, exist_ok=True)
        shutil.copytree(
            data_from, data, ignore=shutil.ignore_patterns("*.sock", "*.sock.lock", "server.lock")
        )
    else:
        data.mkdir(parents=True)
    if exchange is not None:
        shutil.copyfile(exchange, data / "exchange.json")
    command = twistd_command(
        "-n",
        "--pidfile=",
        "csta",
        "--data",
        str(data),
        "--log-format",
        "json",
        *FREE_PORTS,
        *args,
        *([] if admin is not None or RESET_ADMIN in args else [RESET_ADMIN]),
    )
    started = time.monotonic()
    with open(directory / "csta.log", "wb") as out, open(directory / "stderr.log", "wb") as err:
        process = subprocess.Popen(
            command,
            cwd=directory,
            env=server_environment(),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
        )
    server = CstaServer(process, directory, [], admin or UNKNOWN_ADMIN, reader)
    try:
        _wait_started(server, started + timeout, timeout)
    except BaseException:
        server.stop()
        raise
    server.start_seconds = time.monotonic() - started
    return server


def _wait_started(server: CstaServer, deadline: float, timeout: float) -> None:
    """Read the log as it grows: its listeners, until ``csta: started``."""
    pending = b""
    with open(server.log_path, "rb") as log:
        while True:
            chunk = log.read()
            if chunk:
                *lines, pending = (pending + chunk).split(b"\n")
                for line in lines:
                    event = _event(line)
                    if event.get("log_format") == LISTENING and isinstance(event.get("port"), int):
                        server.listeners.append(
                            Listener(str(event["name"]), str(event.get("host")), event["port"])
                        )
                    elif event.get("log_format", "").startswith(ADMIN_PASSWORD_SHOWN):
                        server.admin = (str(event["user"]), str(event["password"]))
                    elif event.get("log_format") == STARTED:
                        return
                continue
            status = server.process.poll()
            if status is not None:
                raise ServerError(
                    f"the CSTA server (PID {server.pid}) ended with status {status} before "
                    f"it started; the last lines of {server.log_path}:\n{server.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise ServerError(
                    f"the CSTA server (PID {server.pid}) did not start within {timeout:g} s; "
                    f"the last lines of {server.log_path}:\n{server.log_tail()}"
                )
            time.sleep(0.02)


def _created_demo(server: CstaServer) -> bool:
    return any(
        event.get("log_format") == "created the {kind} exchange in {path}"
        and event.get("kind") == "demo"
        for event in server.log_events()
    )


def _event(line: bytes) -> dict[str, Any]:
    try:
        event = json.loads(line)
    except ValueError:
        return {}
    return event if isinstance(event, dict) else {}


# -- pytest -------------------------------------------------------------------------------------


class ServerFactory:
    """``csta_servers``: starts servers in fresh directories of the session's temporary
    directory, remembers the running ones (for failure reports), stops what is left at the
    end of the session."""

    def __init__(
        self,
        tmp_path_factory: pytest.TempPathFactory,
        exchange: Path | None = None,
        timeout: float = START_TIMEOUT,
    ) -> None:
        self.tmp_path_factory = tmp_path_factory
        self.exchange = exchange
        self.timeout = timeout
        self.running: list[CstaServer] = []
        #: The demo exchange's data as the first demo server created it: later demo servers
        #: start from a copy (the same data, without hashing its passwords again).
        self.demo: Path | None = None

    def start(
        self,
        *,
        exchange: str | os.PathLike[str] | None = None,
        args: Sequence[str] = (),
        admin: tuple[str, str] | None = None,
        reader: tuple[str, str] = DEMO_READER,
    ) -> CstaServer:
        """A running server: on ``exchange`` (default: ``--csta-exchange``, else the
        demo), with ``args`` added to its command line; the accounts the API and tests use
        (``admin``: the admin login the exchange data has; without it the server makes
        one with a random password and tells it, see :func:`start_server`)."""
        directory = self.tmp_path_factory.mktemp("csta")
        exchange = exchange if exchange is not None else self.exchange
        demo = exchange is None and "--no-demo" not in args
        server = start_server(
            directory,
            exchange=exchange,
            data_from=self.demo if demo else None,
            args=args,
            timeout=self.timeout,
            admin=admin,
            reader=reader,
        )
        if demo and self.demo is None and _created_demo(server):
            template = self.tmp_path_factory.mktemp("csta-demo")
            shutil.copyfile(server.data / "exchange.json", template / "exchange.json")
            if (server.data / "tls").is_dir():
                shutil.copytree(server.data / "tls", template / "tls")
            self.demo = template
        self.running.append(server)
        server._on_stop.append(self._stopped)
        return server

    def _stopped(self, server: CstaServer) -> None:
        if server in self.running:
            self.running.remove(server)

    def stop_all(self) -> None:
        for server in list(self.running):
            server.stop()


_FACTORIES = pytest.StashKey[list[ServerFactory]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cstaserver", "cstaserver: simulated MX-ONE CSTA servers")
    group.addoption(
        "--csta-exchange",
        metavar="FILE",
        default=None,
        help="exchange data (JSON) for every server the fixtures start (default: the demo "
        "exchange)",
    )
    group.addoption(
        "--csta-start-timeout",
        metavar="SECONDS",
        type=float,
        default=START_TIMEOUT,
        help=f"how long a server may take to start (default {START_TIMEOUT:g})",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "csta_server(exchange=None, args=()): the csta_server fixture's exchange data file "
        "(relative to the test's file) and more twistd csta options",
    )
    config.stash[_FACTORIES] = []


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A failed test's report gets the last lines of the log of every server running."""
    report = yield
    if report.failed:
        for factory in item.config.stash.get(_FACTORIES, []):
            for server in factory.running:
                report.sections.append(
                    (
                        f"csta server PID {server.pid}: last lines of {server.log_path}",
                        server.log_tail(),
                    )
                )
    return report


@pytest.fixture(scope="session")
def csta_servers(
    tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> Iterator[ServerFactory]:
    """The factory of servers (see the module docstring)."""
    exchange = pytestconfig.getoption("csta_exchange")
    factory = ServerFactory(
        tmp_path_factory,
        Path(exchange).resolve() if exchange else None,
        pytestconfig.getoption("csta_start_timeout"),
    )
    factories = pytestconfig.stash[_FACTORIES]
    factories.append(factory)
    try:
        yield factory
    finally:
        factory.stop_all()
        factories.remove(factory)


@pytest.fixture
def csta_server(
    request: pytest.FixtureRequest, csta_servers: ServerFactory
) -> Iterator[CstaServer]:
    """A fresh server for one test (the marker or an indirect parameter choose its
    exchange and options), stopped after it."""
    options: dict[str, Any] = {}
    marker = request.node.get_closest_marker("csta_server")
    if marker is not None:
        options.update(marker.kwargs)
        if marker.args:
            options.setdefault("exchange", marker.args[0])
        if options.get("exchange") is not None:
            options["exchange"] = Path(request.path).parent / options["exchange"]
    options.update(getattr(request, "param", None) or {})
    server = csta_servers.start(**options)
    try:
        yield server
    finally:
        server.stop()
