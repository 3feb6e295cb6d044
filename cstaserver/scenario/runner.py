"""Playing a scenario (:mod:`cstaserver.scenario.format`) against a running server: each step
in order, one line per step as it ends, stopping at the first that fails with what was
expected and what came.

What each kind of step does, and when it passes:

- ``api``: the request through :class:`~cstaserver.scenario.clients.ApiClient`; passes on
  ``status`` (default: any 2xx) and ``match`` (dotted paths into the JSON answer:
  ``device.agent.state``, ``calls.0.id``; numbers compare as numbers).
- ``watch``: MonitorStart on the device; passes on a MonitorStartResponse, whose
  ``monitorCrossRefID`` is then the monitor's (``as`` names it, and is a variable of it).
- ``csta``: the request on its connection; without ``response = false`` (the default for
  requests with no positive response: RouteSelectRequest, RouteEndRequest, RouteReject) it
  waits for the answer and passes on a response (or, with ``error``, on a CSTAErrorCode
  ``category/value``, or just the value) whose fields fit ``match``.
- ``expect``: :meth:`~cstaserver.scenario.clients.CstaConnection.wait_for` on its connection
  (``monitor``: a watched device or ``as`` name, else a monitorCrossRefID as is).
- ``wait`` sleeps; ``advance`` posts ``/time/advance`` (simulated time) and passes on 200.

``capture`` stores fields of what came (the answer, the event, the JSON) as variables for
the steps after it. Connections to the XML port are opened at first use and closed at the
end, whatever happened.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping
from typing import Any, TextIO

import attrs

from cstaserver.scenario.clients import (
    ONE_WAY,
    ApiClient,
    ApiError,
    ApiUnreachable,
    CstaConnection,
    CstaRefused,
    CstaTimeout,
    Message,
)
from cstaserver.scenario.format import Scenario, Step, substitute


@attrs.frozen
class Target:
    """Where the server is: host, XML and web ports, the API account (actions need an admin
    account)."""

    host: str = "127.0.0.1"
    xml_port: int = 8882
    web_port: int = 8080
    user: str = "admin"
    password: str = ""  # no default: the admin password is the server's own


@attrs.frozen
class StepResult:
    """How one step ended: passed or not, one line of detail, seconds it took."""

    step: Step
    passed: bool
    detail: str
    seconds: float

    def line(self) -> str:
        """``  3 pass  label [what it does]: detail (0.01 s)``; a failure's detail on the
        lines below it."""
        status = "pass" if self.passed else "FAIL"
        head = f"{self.step.number:>3} {status}  {self.step.label}"
        if self.step.title:
            head += f" [{self.step.describe()}]"
        took = f"({self.seconds:.2f} s)"
        if self.passed:
            return f"{head}: {self.detail} {took}" if self.detail else f"{head} {took}"
        lines = [f"{head} {took}", *self.detail.splitlines()]
        return "\n          ".join(lines)


@attrs.frozen
class ScenarioResult:
    """Every step that ran, in order; the last one failed unless all passed."""

    scenario: Scenario
    results: tuple[StepResult, ...]
    seconds: float

    @property
    def passed(self) -> bool:
        return len(self.results) == len(self.scenario.steps) and all(r.passed for r in self.results)

    @property
    def failure(self) -> StepResult | None:
        return next((r for r in self.results if not r.passed), None)

    def summary(self) -> str:
        total = len(self.scenario.steps)
        if self.passed:
            return f"passed: {total} of {total} steps in {self.seconds:.2f} s"
        failed = self.failure
        assert failed is not None
        return (
            f"failed: step {failed.step.number} of {total} ({failed.step.describe()}) "
            f"after {self.seconds:.2f} s"
        )

    def report(self) -> str:
        """The header, one line per step that ran, and the summary."""
        lines = [header(self.scenario), *(r.line() for r in self.results), self.summary()]
        return "\n".join(lines)


def header(scenario: Scenario) -> str:
    return f"{scenario.path}: {scenario.name} ({len(scenario.steps)} steps)"


class StepFailed(Exception):
    """A step did not pass: what was expected and, when something came, what came."""

    def __init__(self, expected: str, came: str | None = None) -> None:
        super().__init__(expected if came is None else f"{expected}; came: {came}")
        self.expected = expected
        self.came = came

    def detail(self) -> str:
        if self.came is None:
            return self.expected
        return f"expected: {self.expected}\ncame: {self.came}"


class Player:
    """Plays one scenario against ``target`` (see the module docstring)."""

    def __init__(self, scenario: Scenario, target: Target, out: TextIO | None = None) -> None:
        self.scenario = scenario
        self.target = target
        self.out = out
        self.api = ApiClient(f"http://{_host(target.host)}:{target.web_port}")
        self.api.user, self.api.password = target.user, target.password
        self.variables: dict[str, str] = dict(scenario.variables)
        self.connections: dict[str, CstaConnection] = {}
        self.watched: dict[tuple[str, str], str] = {}  # (connection, device or as): xref

    def play(self) -> ScenarioResult:
        started = time.monotonic()
        results: list[StepResult] = []
        if self.out is not None:
            print(header(self.scenario), file=self.out, flush=True)
        try:
            for step in self.scenario.steps:
                result = self.run(step)
                results.append(result)
                if self.out is not None:
                    print(result.line(), file=self.out, flush=True)
                if not result.passed:
                    break
        finally:
            for connection in self.connections.values():
                connection.close()
        outcome = ScenarioResult(self.scenario, tuple(results), time.monotonic() - started)
        if self.out is not None:
            print(outcome.summary(), file=self.out, flush=True)
        return outcome

    def run(self, step: Step) -> StepResult:
        started = time.monotonic()
        try:
            detail = getattr(self, "_" + step.kind)(step)
            passed = True
        except StepFailed as failed:
            detail, passed = failed.detail(), False
        except CstaTimeout as missed:
            detail, passed = StepFailed(missed.expected, missed.came).detail(), False
        except CstaRefused as refused:
            expected = "no CSTAErrorCode" if step.kind == "expect" else "a response"
            detail = StepFailed(expected, str(refused)).detail()
            passed = False
        except ApiError as error:
            detail, passed = StepFailed(_status(step), str(error)).detail(), False
        except (ApiUnreachable, OSError) as error:  # refused, reset, closed by the server
            detail, passed = str(error.strerror or error), False
        return StepResult(step, passed, detail, time.monotonic() - started)

    # -- helpers -------------------------------------------------------------------------------
    def value(self, value: Any) -> Any:
        return substitute(value, self.variables)

    def timeout(self, step: Step) -> float:
        return step.timeout if step.timeout is not None else self.scenario.timeout

    def connection(self, step: Step) -> CstaConnection:
        name = step.connection
        if name not in self.connections:
            try:
                self.connections[name] = CstaConnection(
                    self.target.host, self.target.xml_port, timeout=self.scenario.timeout
                )
            except OSError as error:
                where = f"{self.target.host}:{self.target.xml_port}"
                raise StepFailed(
                    f"cannot connect to the XML port {where}: {error.strerror or error}"
                ) from None
        return self.connections[name]

    def capture_xml(self, step: Step, message: Message) -> str:
        shown = []
        for variable, path in step.capture.items():
            value = message.get(self.value(path))
            if value is None:
                raise StepFailed(f"{message.name} has no {path!r} to capture as {variable}")
            self.variables[variable] = value
            shown.append(f"{variable} = {value!r}")
        return ", ".join(shown)

    # -- the kinds of step ---------------------------------------------------------------------
    def _api(self, step: Step) -> str:
        method, path = self.value(step.target).split(" ", 1)
        body = self.value(step.body) if method == "POST" else None
        status, answer = self.api.exchange(method, path, body if method == "POST" else None)
        expected = step.status
        if (expected is None and not 200 <= status < 300) or (
            expected is not None and status != expected
        ):
            raise StepFailed(_status(step), f"{status} {_brief(answer)}")
        wrong = []
        for key, want in step.match.items():
            found, actual = _json_path(answer, key)
            want = self.value(want)
            if not found:
                wrong.append(f"no {key} (expected {want!r})")
            elif not _json_equal(actual, want):
                wrong.append(f"{key} = {json.dumps(actual)} (expected {want!r})")
        if wrong:
            raise StepFailed(_fields(step.match), "; ".join(wrong))
        shown = []
        for variable, key in step.capture.items():
            found, actual = _json_path(answer, key)
            if not found:
                raise StepFailed(f"the answer has no {key!r} to capture as {variable}")
            self.variables[variable] = actual if isinstance(actual, str) else json.dumps(actual)
            shown.append(f"{variable} = {self.variables[variable]!r}")
        return ", ".join([str(status), *shown])

    def _watch(self, step: Step) -> str:
        device = self.value(step.target)
        connection = self.connection(step)
        answer = connection.request(
            "MonitorStart", {"monitorObject": {"deviceObject": device}}, timeout=self.timeout(step)
        )
        xref = answer.get("monitorCrossRefID")
        if xref is None:
            raise StepFailed("a MonitorStartResponse", _came(answer))
        self.watched[(step.connection, device)] = xref
        if step.alias is not None:
            self.watched[(step.connection, step.alias)] = xref
            self.variables[step.alias] = xref
        return f"monitor {xref}"

    def _csta(self, step: Step) -> str:
        connection = self.connection(step)
        body = self.value(step.xml) if step.xml is not None else self.value(step.body)
        invoke_id = connection.send(step.target, body)
        response = step.response if step.response is not None else step.target not in ONE_WAY
        if not response:
            return f"sent ({invoke_id})"
        answer = connection.answer(invoke_id, self.timeout(step))
        error = answer.error()
        if step.error is not None:
            wanted = self.value(step.error)
            if error is None or (error != wanted and error.split("/")[-1] != wanted):
                raise StepFailed(f"CSTAErrorCode {wanted}", _came(answer))
        elif error is not None:
            raise StepFailed(f"a response to {step.target}", _came(answer))
        match = {k: _text(self.value(v)) for k, v in step.match.items()}
        wrong = answer.mismatches(match)
        if wrong:
            raise StepFailed(f"{answer.name} with {_fields(match)}", "; ".join(wrong))
        captured = self.capture_xml(step, answer)
        return answer.name + (f": {captured}" if captured else "")

    def _expect(self, step: Step) -> str:
        connection = self.connection(step)
        monitor = None
        if step.monitor is not None:
            given = self.value(step.monitor)
            monitor = self.watched.get((step.connection, given), given)
        match = {k: _text(self.value(v)) for k, v in step.match.items()}
        timeout = self.timeout(step)
        message = connection.wait_for(step.target, monitor=monitor, match=match, timeout=timeout)
        captured = self.capture_xml(step, message)
        where = f"monitor {message.monitor}" if message.monitor is not None else ""
        fields = ", ".join(f"{k} = {message.get(k)!r}" for k in match)
        return ", ".join(part for part in (where, fields, captured) if part) or "came"

    def _wait(self, step: Step) -> str:
        time.sleep(step.target)
        return ""

    def _advance(self, step: Step) -> str:
        answer = self.api.post("/time/advance", {"seconds": step.target})
        ran = answer.get("ran") if isinstance(answer, dict) else None
        if not isinstance(ran, int):
            return "done"
        return f"{ran} time-out{'s' if ran != 1 else ''} ran"


def play(scenario: Scenario, target: Target, out: TextIO | None = sys.stdout) -> ScenarioResult:
    """Play ``scenario`` against ``target``, printing each step to ``out`` (None: silent)."""
    return Player(scenario, target, out).play()


# -- small helpers ---------------------------------------------------------------------------


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _status(step: Step) -> str:
    return f"status {step.status}" if step.status is not None else "a 2xx status"


def _fields(match: Mapping[str, Any]) -> str:
    return ", ".join(f"{path} = {value!r}" for path, value in match.items())


def _came(answer: Message) -> str:
    return answer.name + (f" {answer.error()}" if answer.error() else "")


def _brief(answer: Any) -> str:
    if isinstance(answer, dict) and isinstance(answer.get("error"), dict):
        error = answer["error"]
        return f"{error.get('code')}: {error.get('message')}"
    text = answer if isinstance(answer, str) else json.dumps(answer)
    return text if len(text) <= 200 else text[:200] + "..."


def _json_path(answer: Any, path: str) -> tuple[bool, Any]:
    """The value at a dotted path (object keys, list indices), and whether it is there."""
    value = answer
    for key in path.split("."):
        if isinstance(value, Mapping) and key in value:
            value = value[key]
        elif (
            isinstance(value, list)
            and key.lstrip("-").isdigit()
            and -len(value) <= int(key) < len(value)
        ):
            value = value[int(key)]
        else:
            return False, None
    return True, value


def _json_equal(actual: Any, wanted: Any) -> bool:
    if isinstance(wanted, bool) or isinstance(actual, bool):
        return actual is wanted or (isinstance(wanted, str) and _text(actual) == wanted)
    if isinstance(wanted, (int, float)) and isinstance(actual, (int, float)):
        return float(actual) == float(wanted)
    if wanted == "*":
        return True
    if actual is None:
        return wanted in ("null", "")
    return _text(actual) == _text(wanted)


__all__ = [
    "Player",
    "ScenarioResult",
    "StepFailed",
    "StepResult",
    "Target",
    "header",
    "play",
]
