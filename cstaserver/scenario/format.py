"""Scenario files: a test of a running server written as data, in TOML (read with the
standard library's ``tomllib``, TOML 1.0), checked whole before anything runs
(docs/testing-your-application.md, "Scenario files", lists every key).

A scenario is a few top-level keys (``name``, ``description``, ``timeout``, ``[vars]``)
and an ordered array of ``[[step]]`` tables. Each step has exactly one key saying what it
does:

- ``api = "POST /devices/1001/dial"``: a JSON API request (``body``, ``status``,
  ``match``, ``capture``);
- ``watch = "1001"``: MonitorStart on a device over the XML port (``as``: the monitor's
  name for later steps, default the device, and a variable holding its monitorCrossRefID);
- ``csta = "RouteRegister"``: a CSTA request over the XML port (``body`` or ``xml``,
  ``response``, ``error``, ``match``, ``capture``);
- ``expect = "DeliveredEvent"``: a message from the server by name (``monitor``, ``match``,
  ``capture``, ``timeout``);
- ``wait = 0.5``: real seconds; ``advance = 10``: simulated seconds (the API's
  ``POST /time/advance``).

Any step may have a ``title`` (printed instead of what it does); XML steps a ``connection``
(the name of one of the scenario's connections to the XML port, opened at first use;
``main`` unless told). Strings may hold ``${name}``: a variable of ``[vars]``, of the
command line, captured by an earlier step or named by its ``as`` (``$$`` is a ``$``); a
variable used before any step could have set it is an error of the file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

KINDS = ("api", "watch", "csta", "expect", "wait", "advance")
COMMON = {"title"}
XML_KEYS = {"connection"}
#: The keys each kind of step takes, besides its own and ``title``.
STEP_KEYS: dict[str, set[str]] = {
    "api": {"body", "status", "match", "capture"},
    "watch": {"as", "timeout"} | XML_KEYS,
    "csta": {"body", "xml", "response", "error", "match", "capture", "timeout"} | XML_KEYS,
    "expect": {"monitor", "match", "capture", "timeout"} | XML_KEYS,
    "wait": set(),
    "advance": set(),
}
TOP_KEYS = {"name", "description", "timeout", "vars", "step"}
METHODS = ("GET", "POST")
DEFAULT_TIMEOUT = 5.0
#: The longest wait or time-out a step may ask for, and the most simulated time to skip.
MAX_SECONDS = 3600.0
MAX_ADVANCE = 86_400.0
MAX_STEPS = 1000
VARIABLE = re.compile(r"\$(\$|\{([A-Za-z_][A-Za-z0-9_]*)\})")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class ScenarioError(ValueError):
    """A scenario file that cannot run: one line saying where and why."""


@attrs.frozen
class Step:
    """One ``[[step]]``: its number (from 1), kind, the kind's value (``target``) and the
    rest of its keys as written (checked)."""

    number: int
    kind: str
    target: Any
    title: str | None = None
    connection: str = "main"
    body: Any = None
    xml: str | None = None
    status: int | None = None
    response: bool | None = None
    error: str | None = None
    monitor: str | None = None
    alias: str | None = None
    match: Mapping[str, Any] = attrs.field(factory=dict)
    capture: Mapping[str, str] = attrs.field(factory=dict)
    timeout: float | None = None

    def describe(self) -> str:
        """What the step does, in a few words (``expect DeliveredEvent on 1001``)."""
        if self.kind == "expect":
            where = f" on {self.monitor}" if self.monitor is not None else ""
            return f"expect {self.target}{where}"
        if self.kind == "wait":
            return f"wait {self.target:g} s"
        if self.kind == "advance":
            return f"advance {self.target:g} s of simulated time"
        return f"{self.kind} {self.target}"

    @property
    def label(self) -> str:
        return self.title or self.describe()


@attrs.frozen
class Scenario:
    """A checked scenario: its steps in order, the variables it starts with, the default
    time-out of its waits (seconds)."""

    path: str
    name: str
    description: str
    timeout: float
    variables: Mapping[str, str]
    steps: tuple[Step, ...]


def load_scenario(path: str | Path, variables: Mapping[str, str] | None = None) -> Scenario:
    """Read and check a scenario file; ScenarioError (one line) if it cannot run."""
    shown = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ScenarioError(f"{shown}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise ScenarioError(f"{shown}: not UTF-8 text") from None
    return parse_scenario(text, shown, variables)


def parse_scenario(
    text: str, path: str = "<scenario>", variables: Mapping[str, str] | None = None
) -> Scenario:
    """A scenario from TOML text (``path`` names it in errors); ``variables`` add to or
    replace its ``[vars]``."""
    toml = _toml()
    try:
        data = toml.loads(text)
    except toml.TOMLDecodeError as error:
        raise ScenarioError(f"{path}: not valid TOML: {error}") from None
    return _Checker(path).scenario(data, dict(variables or {}))


def _toml() -> Any:
    """The TOML parser: ``tomllib`` (Python 3.11+), else ``tomli`` (the same parser), imported
    only when a scenario is read, so that the pytest plugin loads without either."""
    try:
        import tomllib

        return tomllib
    except ImportError:  # Python 3.10
        try:
            import tomli

            return tomli
        except ImportError:
            raise ScenarioError(
                "reading scenario files needs Python 3.11 or the tomli package"
            ) from None


class _Checker:
    def __init__(self, path: str) -> None:
        self.path = path
        self.where = path

    def fail(self, message: str) -> ScenarioError:
        return ScenarioError(f"{self.where}: {message}")

    # -- the file ------------------------------------------------------------------------------
    def scenario(self, data: dict[str, Any], extra: dict[str, str]) -> Scenario:
        unknown = sorted(set(data) - TOP_KEYS)
        if unknown:
            raise self.fail(f"unknown key {unknown[0]!r}; a scenario takes: {_list(TOP_KEYS)}")
        name = self.string(data, "name") or Path(self.path).stem
        description = self.string(data, "description") or ""
        timeout = self.seconds(data, "timeout", DEFAULT_TIMEOUT)
        variables = data.get("vars", {})
        if not isinstance(variables, dict):
            raise self.fail("'vars' must be a table of names and strings")
        for key, value in variables.items():
            if not NAME.match(key) or not isinstance(value, (str, int, float)):
                raise self.fail(f"vars.{key}: a variable is a name and a string or number")
        known = {k: str(v) for k, v in variables.items()}
        for key in extra:
            if not NAME.match(key):
                raise ScenarioError(f"variable {key!r}: not a name (letters, digits, _)")
        known.update(extra)
        raw_steps = data.get("step")
        if not isinstance(raw_steps, list) or not raw_steps:
            raise self.fail("no steps: a scenario has one or more [[step]] tables")
        if len(raw_steps) > MAX_STEPS:
            raise self.fail(f"{len(raw_steps)} steps: at most {MAX_STEPS}")
        defined = set(known)
        steps = []
        for number, raw in enumerate(raw_steps, 1):
            self.where = f"{self.path}: step {number}"
            if not isinstance(raw, dict):
                raise self.fail("a step is a table ([[step]])")
            step = self.step(number, raw)
            self.variables_used(step, defined)
            defined |= set(step.capture)
            if step.alias is not None:
                defined.add(step.alias)
            steps.append(step)
        self.where = self.path
        return Scenario(self.path, name, description, timeout, known, tuple(steps))

    # -- one step ------------------------------------------------------------------------------
    def step(self, number: int, raw: dict[str, Any]) -> Step:
        kinds = [k for k in KINDS if k in raw]
        if len(kinds) != 1:
            what = " and ".join(kinds) if kinds else f"none; its keys: {_list(set(raw))}"
            raise self.fail(f"a step has exactly one of {', '.join(KINDS)} (this one: {what})")
        kind = kinds[0]
        allowed = STEP_KEYS[kind] | COMMON | {kind}
        unknown = sorted(set(raw) - allowed)
        if unknown:
            raise self.fail(
                f"unknown key {unknown[0]!r} for a {kind} step; it takes: "
                + _list(allowed - {kind})
            )
        self.where = f"{self.where} ({kind})"
        fields: dict[str, Any] = {
            "title": self.string(raw, "title"),
            "match": self.match(raw),
            "capture": self.capture(raw),
            "timeout": self.seconds(raw, "timeout", None),
        }
        if "connection" in raw:
            fields["connection"] = self.name(raw, "connection")
        target = raw[kind]
        if kind == "api":
            target = self.api(target)
            fields["body"] = self.table(raw, "body")
            fields["status"] = self.status(raw)
        elif kind in ("watch", "expect"):
            target = self.text(target, kind)
            if kind == "watch":
                fields["alias"] = self.name(raw, "as") if "as" in raw else None
                if fields["capture"] or fields["match"]:
                    raise self.fail("a watch step takes no match or capture")
            else:
                fields["monitor"] = self.string(raw, "monitor")
        elif kind == "csta":
            target = self.text(target, kind)
            if not re.fullmatch(r"[A-Za-z_][\w.-]*", target):
                raise self.fail(f"csta = {target!r}: the name of a CSTA request (its root)")
            if "body" in raw and "xml" in raw:
                raise self.fail("give body or xml, not both")
            fields["body"] = self.table(raw, "body")
            fields["xml"] = self.string(raw, "xml")
            fields["response"] = self.boolean(raw, "response")
            fields["error"] = self.string(raw, "error")
            if fields["response"] is False and (fields["error"] or fields["capture"]):
                raise self.fail("a request sent with response = false has no answer to check")
        else:  # wait, advance
            limit = MAX_ADVANCE if kind == "advance" else MAX_SECONDS
            target = self.number(target, kind, limit)
        return Step(number, kind, target, **fields)

    def api(self, value: Any) -> str:
        text = self.text(value, "api")
        method, _, path = text.partition(" ")
        path = path.strip()
        if method not in METHODS or not path.startswith("/") or " " in path:
            raise self.fail(f"api = {text!r}: write 'GET /path' or 'POST /path' (below /api/v1)")
        return f"{method} {path}"

    def status(self, raw: dict[str, Any]) -> int | None:
        value = raw.get("status")
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 100 <= value <= 599:
            raise self.fail(f"status = {value!r}: an HTTP status (100-599)")
        return value

    def match(self, raw: dict[str, Any]) -> dict[str, Any]:
        value = raw.get("match", {})
        if not isinstance(value, dict):
            raise self.fail("'match' must be a table of field paths and values")
        flat: dict[str, Any] = {}

        def walk(table: dict[str, Any], prefix: str) -> None:
            for key, item in table.items():
                path = f"{prefix}.{key}" if prefix else key
                if isinstance(item, dict):
                    walk(item, path)
                elif isinstance(item, (str, int, float, bool)):
                    flat[path] = item
                else:
                    raise self.fail(f"match.{path}: a string, number or boolean")

        walk(value, "")
        return flat

    def capture(self, raw: dict[str, Any]) -> dict[str, str]:
        value = raw.get("capture", {})
        if not isinstance(value, dict):
            raise self.fail("'capture' must be a table: variable = \"field path\"")
        for key, path in value.items():
            if not NAME.match(key):
                raise self.fail(f"capture.{key}: a variable name is letters, digits and _")
            if not isinstance(path, str) or not path:
                raise self.fail(f"capture.{key}: the path of a field, as a string")
        return dict(value)

    # -- values --------------------------------------------------------------------------------
    def text(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{key} must be a non-empty string")
        return value.strip()

    def string(self, raw: dict[str, Any], key: str) -> str | None:
        if key not in raw:
            return None
        return self.text(raw[key], key)

    def name(self, raw: dict[str, Any], key: str) -> str:
        value = self.text(raw[key], key)
        if not re.fullmatch(r"[\w.+-]+", value):
            raise self.fail(f"{key} = {value!r}: letters, digits and . _ + - only")
        return value

    def boolean(self, raw: dict[str, Any], key: str) -> bool | None:
        value = raw.get(key)
        if value is not None and not isinstance(value, bool):
            raise self.fail(f"{key} must be true or false")
        return value

    def table(self, raw: dict[str, Any], key: str) -> dict[str, Any] | None:
        value = raw.get(key)
        if value is not None and not isinstance(value, dict):
            raise self.fail(f'{key} must be a table (body = {{ field = "value" }})')
        return value

    def number(self, value: Any, key: str, limit: float) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(f"{key} must be a number of seconds")
        if not 0 <= value <= limit:
            raise self.fail(f"{key} = {value!r}: from 0 to {limit:g} seconds")
        return float(value)

    def seconds(self, raw: dict[str, Any], key: str, default: float | None) -> float | None:
        if key not in raw:
            return default
        value = self.number(raw[key], key, MAX_SECONDS)
        if value <= 0:
            raise self.fail(f"{key} must be over 0 seconds")
        return value

    # -- variables -----------------------------------------------------------------------------
    def variables_used(self, step: Step, defined: set[str]) -> None:
        for text in _strings([step.target, step.body, step.xml, step.error, step.monitor]):
            self.known(text, defined)
        for value in step.match.values():
            if isinstance(value, str):
                self.known(value, defined)

    def known(self, text: str, defined: set[str]) -> None:
        for found in VARIABLE.finditer(text):
            name = found.group(2)
            if name is not None and name not in defined:
                raise self.fail(
                    f"${{{name}}} is used before anything sets it ([vars], --var, an earlier "
                    "capture or watch's as)"
                )


def _strings(values: Any) -> list[str]:
    found: list[str] = []
    stack = [values]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, (list, tuple)):
            stack.extend(value)
    return found


def _list(keys: set[str]) -> str:
    return ", ".join(sorted(keys))


def substitute(value: Any, variables: Mapping[str, str]) -> Any:
    """``value`` with ``${name}`` replaced in every string (tables and lists too); ``$$`` is
    a ``$``. KeyError for a variable that has no value."""
    if isinstance(value, str):

        def one(found: re.Match[str]) -> str:
            name = found.group(2)
            return "$" if name is None else variables[name]

        return VARIABLE.sub(one, value)
    if isinstance(value, dict):
        return {key: substitute(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute(item, variables) for item in value]
    return value
