"""``csta-sim run`` against a real server (the pytest plugin's, one for the module): the
shipped call-centre example passes, a scenario that must fail does (exit status 1, the step
named, what was expected and what came), files that cannot run give exit status 2 and one
line."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cstaserver.pytest_plugin import CstaServer, ServerFactory
from cstaserver.scenario import parse_scenario, play
from cstaserver.scenario.cli import main

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "docs" / "examples" / "call_centre.toml"
TIMEOUT = 60.0


@pytest.fixture(scope="module")
def server(csta_servers: ServerFactory) -> Iterator[CstaServer]:
    with csta_servers.start() as server:
        yield server


def csta_sim(*args: str) -> list[str]:
    """The console script beside this interpreter, else the module."""
    script = Path(sys.executable).parent / "csta-sim"
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-m", "cstaserver.scenario", *args]


def run(server: CstaServer, scenario: Path, *more: str) -> subprocess.CompletedProcess[str]:
    ports = ["--web-port", str(server.web_port), "--xml-port", str(server.xml_port)]
    ports += ["--user", server.admin[0], "--password", server.admin[1]]
    return subprocess.run(
        csta_sim("run", str(scenario), "--host", server.host, *ports, *more),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def test_the_call_centre_example_passes(server: CstaServer) -> None:
    result = run(server, EXAMPLE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == (
        f"{EXAMPLE}: call centre: an outside caller routed to agent 1001 (19 steps)"
    )
    assert [line[:8] for line in lines[1:-1]] == [f"{n:>3} pass" for n in range(1, 20)]
    assert lines[8].startswith(
        "  8 pass  the RouteRequest names the caller and the group [expect RouteRequest]: "
        "callingDevice = '+4685550107', routeingDevice = '2000', routedCall/callID = '"
    )
    assert lines[11].startswith(
        " 11 pass  the agent's telephone rings, showing the caller and the group "
        "[expect DeliveredEvent on agent]: monitor "
    )
    assert "callingDevice = '+4685550107', calledDevice = '2000'" in lines[11]
    assert lines[16].startswith(" 16 pass  the group's wrap-up time (10 s) passes [advance ")
    assert lines[-1].startswith("passed: 19 of 19 steps in ")


WRONG_CALLER = """\
name = "the agent is shown the wrong caller"
timeout = 0.5

[[step]]
watch = "1003"

[[step]]
api = "POST /devices/1002/dial"
body = { to = "1003" }

[[step]]
expect = "DeliveredEvent"
monitor = "1003"
match = { callingDevice = "+4685550199" }

[[step]]
api = "POST /devices/1002/hangup"
"""


def test_a_scenario_that_must_fail_fails_at_its_step(server: CstaServer, tmp_path: Path) -> None:
    scenario = tmp_path / "wrong_caller.toml"
    scenario.write_text(WRONG_CALLER)
    try:
        result = run(server, scenario)
    finally:
        server.api.exchange("POST", "/devices/1002/hangup")  # the run stopped before it
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == f"{scenario}: the agent is shown the wrong caller (4 steps)"
    assert lines[1].startswith("  1 pass  watch 1003: monitor ")
    xref = lines[1].split("monitor ")[1].split()[0]
    assert lines[2].startswith("  2 pass  api POST /devices/1002/dial: 200 (")
    assert lines[3].startswith("  3 FAIL  expect DeliveredEvent on 1003 (")
    assert lines[4:6] == [
        f"          expected: DeliveredEvent on monitor {xref} with callingDevice = "
        "'+4685550199' within 0.5 s",
        f"          came: DeliveredEvent (monitor {xref}): callingDevice = '1002' "
        "(expected '+4685550199')",
    ]
    assert lines[6].startswith("failed: step 3 of 4 (expect DeliveredEvent on 1003) after ")
    assert len(lines) == 7  # step 4 never ran


def test_api_and_csta_steps_check_refusals(server: CstaServer) -> None:
    """Refusals as expectations (status, error), and an API refusal failing its step."""
    scenario = parse_scenario(
        """
[[step]]
api = "POST /devices/1005/answer"
status = 409
match = { "error.code" = "no_call_to_answer" }

[[step]]
csta = "MakeCall"
body = { callingDevice = "9999", calledDirectoryNumber = "1003" }
error = "invalidCallingDevice"

[[step]]
csta = "MakeCall"
body = { callingDevice = "1005", calledDirectoryNumber = "1006" }
capture = { call = "callingDevice/callID" }

[[step]]
api = "GET /calls/${call}"
match = { "call.calling" = "1005", "call.connections.1.device" = "1006" }

[[step]]
api = "POST /devices/1005/hangup"

[[step]]
api = "POST /devices/1005/answer"
""",
        "refusals.toml",
    )
    result = play(scenario, server.target(), out=None)
    assert [r.passed for r in result.results] == [True] * 5 + [False]
    assert result.results[2].detail.startswith("MakeCallResponse: call = '")
    assert result.results[-1].detail == (
        "expected: a 2xx status\ncame: 409 no_call_to_answer: 1005 has no call alerting"
    )
    assert result.summary().startswith("failed: step 6 of 6 (api POST /devices/1005/answer)")


def test_no_server_is_a_failed_step(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = tmp_path / "one.toml"
    scenario.write_text('[[step]]\nwatch = "1001"\n')
    assert main(["run", str(scenario), "--xml-port", "1"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[1].startswith("  1 FAIL  watch 1001 (")
    assert out[2] == "          cannot connect to the XML port 127.0.0.1:1: Connection refused"
    assert out[3].startswith("failed: step 1 of 1 (watch 1001) after ")


BAD_FILES = [
    ("[[step]\n", "bad.toml: not valid TOML: "),
    ("", "bad.toml: no steps: a scenario has one or more [[step]] tables"),
    ("nmae = 'x'\n[[step]]\nwait = 1\n", "bad.toml: unknown key 'nmae'; a scenario takes: "),
    (
        "[[step]]\nwait = 1\nadvance = 2\n",
        "bad.toml: step 1: a step has exactly one of api, watch, csta, expect, wait, advance "
        "(this one: wait and advance)",
    ),
    (
        "[[step]]\nexpect = 'DeliveredEvent'\nmatch = { callingDevice = '${caller}' }\n",
        "bad.toml: step 1 (expect): ${caller} is used before anything sets it",
    ),
    (
        "[[step]]\napi = 'DELETE /calls/1'\n",
        "bad.toml: step 1 (api): api = 'DELETE /calls/1': write 'GET /path' or 'POST /path'",
    ),
    (
        "[[step]]\ncsta = 'MakeCall'\nbodyy = {}\n",
        "bad.toml: step 1: unknown key 'bodyy' for a csta step; it takes: ",
    ),
    ("[[step]]\nwait = -1\n", "bad.toml: step 1 (wait): wait = -1: from 0 to 3600 seconds"),
    (
        "[[step]]\nexpect = 'X'\ntimeout = 0\n",
        "bad.toml: step 1 (expect): timeout must be over 0 seconds",
    ),
]


@pytest.mark.parametrize(("text", "line"), BAD_FILES)
def test_a_bad_file_is_exit_2_and_one_line(
    text: str, line: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    assert main(["run", str(bad)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith(f"csta-sim: {tmp_path}/{line}"), err


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["run", "none.toml"], "none.toml: No such file or directory"),
        (["run", str(EXAMPLE), "--web-port", "http"], "argument --web-port: 'http' is not a port"),
        (["run", str(EXAMPLE), "--var", "caller"], "argument --var: 'caller': write NAME=VALUE"),
        (["run"], "the following arguments are required: FILE"),
        ([], "the following arguments are required: COMMAND"),
    ],
)
def test_a_missing_file_or_bad_options(
    args: list[str], line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        status = main(args)
    except SystemExit as exit:
        status = exit.code
    out, err = capsys.readouterr()
    assert status == 2
    assert out == ""
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"csta-sim: {line}"), err


def test_the_console_script_exit_status_for_a_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[[step]]\nwat = 1\n")
    result = subprocess.run(
        csta_sim("run", str(bad)), capture_output=True, text=True, timeout=TIMEOUT
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"csta-sim: {bad}: step 1: a step has exactly one of api, watch, csta, expect, wait, "
        "advance (this one: none; its keys: wat)\n"
    )
