"""The pytest plugin (cstaserver.pytest_plugin) as a user's suite uses it: its fixtures come
through the ``pytest11`` entry point, one real server subprocess is shared by the module.

The worked example of docs/testing-your-application.md is run as it stands by a pytest
subprocess (the plugin loaded as any user's pytest loads it), beside a test that fails on
purpose to show the server's log in its report.
"""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path

import pytest

import cstaserver.pytest_plugin
from cstaserver.pytest_plugin import (
    CstaServer,
    ServerError,
    ServerFactory,
    format_log_line,
)
from cstaserver.scenario import ApiError, CstaRefused, CstaTimeout

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "docs" / "testing-your-application.md"
EXAMPLE = REPO / "docs" / "examples" / "call_centre.toml"
CALLER = "+4685550107"
#: The bound of the pytest subprocess (three server starts of about a second each).
INNER_TIMEOUT = 120.0


@pytest.fixture(scope="module")
def server(csta_servers: ServerFactory) -> Iterator[CstaServer]:
    with csta_servers.start() as server:
        yield server


def test_registered_through_the_entry_point(pytestconfig: pytest.Config) -> None:
    (entry,) = [e for e in entry_points(group="pytest11") if e.name == "cstaserver"]
    assert entry.value == "cstaserver.pytest_plugin"
    assert pytestconfig.pluginmanager.get_plugin("cstaserver") is cstaserver.pytest_plugin


def test_the_server_it_started(server: CstaServer) -> None:
    assert server.alive
    os.kill(server.pid, 0)  # the process is there
    assert set(server.ports) == {"xml", "tls", "sip", "web"}
    assert all(port > 0 for port in server.ports.values())
    assert server.host == "127.0.0.1"
    assert (server.data / "exchange.json").is_file()
    formats = [event.get("log_format") for event in server.log_events()]
    assert "csta: started" in formats
    assert "csta: started" in server.log_tail()
    servers = server.api.get("/servers")["servers"]
    bound = {port for run in servers for port in run["bound"].values()}
    assert {server.xml_port, server.web_port, server.sip_port} <= bound


def test_api_reads_actions_and_refusals(server: CstaServer) -> None:
    group = server.api.get("/groups/2000")["group"]
    assert (group["number"], group["routing"]) == ("2000", "application")
    reader = server.api_as(*server.reader)
    assert reader.get("/devices/1001")["device"]["number"] == "1001"
    with pytest.raises(ApiError) as missing:
        server.api.post("/devices/9999/dial", {"to": "1002"})
    assert (missing.value.status, missing.value.code) == (404, "no_such_device")
    assert str(missing.value) == (
        "POST /devices/9999/dial: 404 no_such_device: no device '9999' in the exchange"
    )
    assert missing.value.body == {
        "error": {"code": "no_such_device", "message": "no device '9999' in the exchange"}
    }


def test_xml_connection_requests_and_waits(server: CstaServer) -> None:
    with server.xml(timeout=2) as csta:
        watched = csta.monitor("1003")
        with pytest.raises(CstaRefused) as refused:
            csta.request("MakeCall", {"callingDevice": "9999", "calledDirectoryNumber": "1003"})
        assert refused.value.answer.error() == "operation/invalidCallingDevice"
        answer = csta.request(
            "MakeCall", {"callingDevice": "1002", "calledDirectoryNumber": "1003"}
        )
        assert answer.name == "MakeCallResponse"
        with pytest.raises(CstaTimeout) as missed:  # the place does not move on a miss
            csta.wait_for(
                "DeliveredEvent", monitor=watched, match={"callingDevice": "1004"}, timeout=0.3
            )
        assert missed.value.expected == (
            f"DeliveredEvent on monitor {watched} with callingDevice = '1004' within 0.3 s"
        )
        assert missed.value.came == (
            f"DeliveredEvent (monitor {watched}): callingDevice = '1002' (expected '1004')"
        )
        delivered = csta.wait_for(
            "DeliveredEvent", monitor=watched, match={"callingDevice": "1002"}
        )
        assert delivered["connection/callID"] == answer["callingDevice/callID"]
        assert delivered["lastRedirectionDevice"] == "notKnown"
        assert delivered.invoke_id == "9999"
    server.api.post("/devices/1002/hangup")


def test_call_centre_through_the_fixture(server: CstaServer) -> None:
    """The call-centre case: the agent's DeliveredEvent carries the A-number."""
    api = server.api
    api.post("/devices/1001/agent", {"action": "login", "agent": "5001", "group": "2000"})
    api.post("/devices/1001/agent", {"action": "ready"})
    try:
        with server.xml() as csta:
            agent = csta.monitor("1001")
            csta.request("RouteRegister", {"routeingDevice": "2000"})
            call = api.post("/callers", {"from": CALLER, "to": "+4685552000"})["call"]
            route = csta.wait_for("RouteRequest", match={"callingDevice": CALLER})
            assert route["routedCall/callID"] == call["id"]
            select_ = {"crossRefIdentifier": route["crossRefIdentifier"], "routeSelected": "1001"}
            csta.send("RouteSelectRequest", select_)
            delivered = csta.wait_for("DeliveredEvent", monitor=agent)
            assert delivered["callingDevice"] == CALLER
            assert delivered["calledDevice"] == "2000"
            assert delivered["networkCalledDevice"] == "+4685552000"
            api.post("/devices/1001/answer")
            api.post("/devices/1001/hangup")
            csta.wait_for("AgentWorkingAfterCallEvent", monitor=agent)
            assert api.post("/time/advance", {"seconds": 10})["ran"] >= 1
            ready = csta.wait_for("AgentReadyEvent", monitor=agent)
            assert ready["agentID"] == "5001"
    finally:
        api.post("/devices/1001/agent", {"action": "logout"})


def test_the_example_scenario_through_the_fixture(server: CstaServer) -> None:
    result = server.run_scenario(EXAMPLE)
    assert result.passed, result.report()
    assert len(result.results) == len(result.scenario.steps) == 19
    assert result.report().splitlines()[-1].startswith("passed: 19 of 19 steps in ")


def test_a_server_that_cannot_start_says_why(csta_servers: ServerFactory, tmp_path: Path) -> None:
    bad = tmp_path / "exchange.json"
    bad.write_text('{"schema_version": 1, "plan": {"lims": [}}')
    before = list(csta_servers.running)
    with pytest.raises(ServerError) as failed:
        csta_servers.start(exchange=bad)
    message = str(failed.value)
    assert "ended with status 1 before it started" in message
    assert "not valid JSON" in message
    assert csta_servers.running == before


def test_stop_is_sigint_then_sigkill(tmp_path: Path) -> None:
    """A process that ignores SIGINT is killed once the bound has passed."""
    code = (
        "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); "
        "print('ready', flush=True); time.sleep(30)"
    )
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 10)
        assert ready and process.stdout.readline() == b"ready\n"
        stubborn = CstaServer(process, tmp_path, [])
        assert stubborn.stop(timeout=0.3) == -signal.SIGKILL
        assert not stubborn.alive
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        process.stdout.close()


def test_log_lines_are_shown_as_text() -> None:
    line = (
        '{"log_format": "csta: started", "log_namespace": "cstaserver.app.root", '
        '"log_level": {"name": "info", "__class_uuid__": "02e59486-f24d-46ad-8224-3acdf2a5732a"}, '
        '"log_time": 1796402463.0}'
    )
    assert format_log_line(line).endswith("[cstaserver.app.root#info] csta: started")
    assert format_log_line("not json") == "not json"


# -- the guide's worked example, by a pytest of its own ----------------------------------------

#: Beside the guide's module: a test on the marker's exchange that fails on purpose.
EXTRA = """
import pytest


@pytest.mark.csta_server(exchange="marked.json")
def test_marked_exchange_then_a_failure(csta_server, csta_servers):
    assert csta_servers.exchange.name == "option.json"  # --csta-exchange
    assert csta_server.api.get("/devices/1001")["device"]["name"] == "Marked 1001"
    assert False, "this test fails on purpose"
"""


def guide_example() -> str:
    """The guide's Python block marked as the one the test suite runs."""
    text = GUIDE.read_text(encoding="utf-8")
    found = re.search(
        r"<!-- the test suite runs this block[^>]*-->\n```python\n(.*?)```", text, re.S
    )
    assert found, "the guide has no marked example"
    return found.group(1)


def test_the_guides_example_in_a_pytest_of_its_own(server: CstaServer, tmp_path: Path) -> None:
    demo = (server.data / "exchange.json").read_text(encoding="utf-8")
    assert '"IP 1001"' in demo
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_routeing.py").write_text(guide_example(), encoding="utf-8")
    (suite / "call_centre.toml").write_bytes(EXAMPLE.read_bytes())
    (suite / "test_extra.py").write_text(EXTRA, encoding="utf-8")
    (suite / "option.json").write_text(demo.replace('"IP 1001"', '"Option 1001"'))
    (suite / "marked.json").write_text(demo.replace('"IP 1001"', '"Marked 1001"'))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA"]
    command += ["--basetemp", str(tmp_path / "base"), "--csta-exchange", "option.json"]
    command += ["test_routeing.py", "test_extra.py"]
    result = subprocess.run(
        command,
        cwd=suite,
        env=env,
        capture_output=True,
        text=True,
        timeout=INNER_TIMEOUT,
    )
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert re.search(r"\b1 failed, 3 passed\b", out), out
    for name in ("the_agent_sees_the_caller", "the_call_centre_scenario", "a_fresh_server"):
        assert f"PASSED test_routeing.py::test_{name}" in out
    assert "FAILED test_extra.py::test_marked_exchange_then_a_failure" in out
    assert "this test fails on purpose" in out
    (heading,) = re.findall(r"-+ csta server PID \d+: last lines of (\S+) -+", out)
    assert heading.startswith(str(tmp_path / "base"))
    assert Path(heading).is_file()  # kept for the failing test
    assert "[cstaserver.app.root#info] csta: started" in out
    assert "Server Shut Down." in Path(heading).read_text()  # stopped after the test
