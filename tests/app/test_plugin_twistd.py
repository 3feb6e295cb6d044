"""The twistd plugin, run for real in subprocesses (README: make run, Options).

Every process is started with a bounded deadline and killed by its PID in a ``finally``. The
command line, its environment and the free ports are the pytest plugin's
(:mod:`cstaserver.pytest_plugin`), which starts servers the same way.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from twisted.application.service import IServiceMaker
from twisted.plugin import getPlugins

import cstaserver.app
from cstaserver.pytest_plugin import FREE_PORTS, twistd_command
from cstaserver.pytest_plugin import server_environment as environment

TIMEOUT = 60.0  # an upper bound only: start and stop take about 1 s and 0.01 s


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        twistd_command(*args),
        cwd=tmp_path,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


@contextmanager
def running(tmp_path: Path, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        twistd_command("-n", "--pidfile=", "csta", *args),
        cwd=tmp_path,
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=TIMEOUT)
        process.stdout.close()
        process.stderr.close()


def read_until(process: subprocess.Popen[bytes], marker: str) -> tuple[list[str], str]:
    """Lines of stdout up to the first containing ``marker``, and the rest read so far;
    fails after TIMEOUT seconds.

    Reads the pipe's file descriptor directly (``select`` + ``os.read``): a buffered
    ``readline`` could hold complete lines in its buffer while ``select`` waits for more."""
    lines: list[str] = []
    pending = b""
    fd = process.stdout.fileno()
    deadline = time.monotonic() + TIMEOUT
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
                break
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            *complete, pending = (pending + chunk).split(b"\n")
            for index, raw in enumerate(complete):
                lines.append(raw.decode("utf-8", "replace"))
                if marker in lines[-1]:
                    rest = b"\n".join([*complete[index + 1 :], pending])
                    return lines, rest.decode("utf-8", "replace")
    stderr = process.stderr.read() if process.poll() is not None else "(running)"
    pytest.fail(f"no {marker!r} in the output: {lines!r}; stderr: {stderr!r}")


def stop(process: subprocess.Popen[bytes]) -> tuple[int, str, str]:
    """SIGINT, then wait. A clean stop ends with "Server Shut Down." and, as twistd re-raises
    the terminating signal after shutting down (``app._exitWithSignal``), status -SIGINT."""
    os.kill(process.pid, signal.SIGINT)
    out, err = process.communicate(timeout=TIMEOUT)
    return process.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


CLEAN = -signal.SIGINT


# -- the plugin ---------------------------------------------------------------------------


def test_plugin_is_found() -> None:
    (maker,) = [p for p in getPlugins(IServiceMaker) if p.tapname == "csta"]
    assert maker.options is cstaserver.app.Options
    assert maker.makeService is cstaserver.app.makeService


def test_twistd_help_lists_csta(tmp_path: Path) -> None:
    result = run(tmp_path, "--help")
    assert result.returncode == 0
    assert any(line.split()[:1] == ["csta"] for line in result.stdout.splitlines())


def test_csta_help_lists_every_option(tmp_path: Path) -> None:
    result = run(tmp_path, "-n", "csta", "--help")
    assert result.returncode == 0, result.stderr
    for option in ["--data=", "--interface=", "--xml-port=", "--tls-port=", "--sip-port="]:
        assert option in result.stdout
    for option in ["--web-port=", "--admin-port=", "--admin-ssh-port=", "--no-demo"]:
        assert option in result.stdout
    assert "--log-format=" in result.stdout


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--xml-port", "99999"], "--xml-port: 99999 is not a port number (0-65535)"),
        (["--interface", "example.org"], "--interface: 'example.org' is not an IP address"),
        (["--log-format", "yaml"], "--log-format: 'yaml' is not one of: text, json"),
    ],
)
def test_bad_option_is_a_usage_error(tmp_path: Path, args: list[str], line: str) -> None:
    """The error first and short: one line and a hint on stderr, no usage text, status 2."""
    result = run(tmp_path, "-n", "--pidfile=", "csta", *args)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and line in lines[0] and lines[0].startswith("twistd csta: ")
    assert lines[1] == "(twistd csta --help lists the options)"
    assert not (tmp_path / "mxone-data").exists()


# -- start-up -----------------------------------------------------------------------------


def test_corrupt_file_one_line_and_non_zero_exit(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    exchange = data / "exchange.json"
    exchange.write_text('{"schema_version": 1, "plan": {"lims": [}}')
    result = run(tmp_path, "-n", "--pidfile=", "csta", "--data", str(data), *FREE_PORTS)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"csta: {exchange}: not valid JSON: Expecting value at line 1 column 41"
    ]
    assert "Traceback" not in result.stdout
    assert exchange.read_text() == '{"schema_version": 1, "plan": {"lims": [}}'
    assert sorted(os.listdir(data)) == ["exchange.json", "server.lock"]


def test_run_smoke_demo_then_restart(tmp_path: Path) -> None:
    """``make run``: the demo is created, the summary logged; SIGINT stops it cleanly."""
    data = tmp_path / "data"
    with running(tmp_path, "--data", str(data), *FREE_PORTS) as process:
        lines, _ = read_until(process, "csta: started")
        code, out, err = stop(process)
    text = "\n".join(lines)
    assert f"created the demo exchange in {data}" in text
    assert "exchange: 2 LIMs, 48 extensions, 4 groups, 9 agents" in text
    assert "group 2100 (hunt group, LIM 1): members 1100-1103" in text
    assert "admin login: admin / " in text and "shown only this once" in text
    for name in ("xml", "tls", "sip", "web"):  # every port 0: the real port is logged
        (line,) = [line for line in lines if f"listening: {name} on " in line]
        assert int(re.search(r":(\d+)", line.split(" on ", 1)[1]).group(1)) > 0, line
    assert not any("listening: admin-" in line for line in lines)  # --admin-port=0
    assert code == CLEAN, err
    assert "Server Shut Down." in out
    assert "Traceback" not in text + out + err
    first = (data / "exchange.json").read_bytes()

    with running(tmp_path, "--data", str(data), "--no-demo", *FREE_PORTS) as process:
        lines, _ = read_until(process, "csta: started")
        code, _, err = stop(process)
    assert code == CLEAN, err
    assert not any("created the" in line for line in lines)
    assert any("exchange: 2 LIMs" in line for line in lines)
    assert (data / "exchange.json").read_bytes() == first


def test_port_in_use_one_line_and_non_zero_exit(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = run(
            tmp_path,
            "-n",
            "--pidfile=",
            "csta",
            "--data",
            "data",
            *FREE_PORTS,
            f"--xml-port={port}",
        )
    # Logging has begun by then and twistd routes stderr into the log: the one line is a
    # log line (in JSON with --log-format json).
    assert result.returncode == 1
    line = f"csta: cannot listen: xml on 127.0.0.1:{port}: Address already in use"
    assert [entry for entry in result.stdout.splitlines() if line in entry] == [
        entry for entry in result.stdout.splitlines() if "cannot listen" in entry
    ]
    assert sum(line in entry for entry in result.stdout.splitlines()) == 1
    assert "Traceback" not in result.stdout + result.stderr


def test_default_data_directory_is_relative_to_the_working_directory(tmp_path: Path) -> None:
    with running(tmp_path, "--no-demo", *FREE_PORTS) as process:
        read_until(process, "csta: started")
        code, _, err = stop(process)
    assert code == CLEAN, err
    assert (tmp_path / "mxone-data" / "exchange.json").exists()


def test_json_log_format_one_event_per_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with running(tmp_path, "--data", str(data), "--log-format", "json", *FREE_PORTS) as process:
        lines, rest = read_until(process, "csta: started")
        code, out, err = stop(process)
    assert code == CLEAN, err
    lines += (rest + out).splitlines()
    events = [json.loads(line) for line in lines]  # every line is one JSON event
    assert all(isinstance(event, dict) for event in events)
    formats = [event.get("log_format") for event in events]
    assert "LIM {lim} ({name}): {count} devices: {kinds}" in formats
    assert "Server Shut Down." in formats
    summary = next(e for e in events if e.get("log_format", "").startswith("exchange: {lims}"))
    assert (summary["lims"], summary["extensions"], summary["agents"]) == (2, 48, 9)
    assert summary["log_namespace"] == "cstaserver.app.root"
    assert "Traceback" not in err
