"""Generate ``docs/conformance.md``: every CSTA service and event x every transport, each
cell marked by the tests that prove it, derived from the test suite itself.

    .venv/bin/python tools/conformance.py [--output docs/conformance.md] [pytest args...]

How the marks are derived (no hand-written table):

1. The rows are the service table (``cstaserver.csta.core.default_services()``: one row per
   request class) and the event builders (``cstaserver.csta.events.BUILDERS``: one row per
   switch event, named by the ECMA-323 element its builder makes).
2. The whole test suite runs under pytest with this module as a plugin (``-p conformance``).
   The plugin wraps ``CstaCore.dispatch`` (every request of every transport reaches the
   core there, through ``Association.receive``) and ``Association.deliver_event`` (every event
   to a monitor), and records, for the test running at that moment (its node ID), the
   request's root element and whether its answer was positive or an error
   (``CSTAErrorCode``, ``...NegResponse``), and each event's root element.
3. The transport is the association's own: the XML port's protocol object
   (``cstaserver.xmlproto``; TLS when the Twisted transport under it provides
   ``ISSLTransport``), a TR/87 dialog (``cstaserver.sip``), or a SOAP channel
   (``cstaserver.soap``). Associations of in-memory test doubles count for no transport.
4. A cell is marked when at least one test got a positive answer to the request over that
   transport (or received the event over it), with the count of such tests; a cell reached
   only by tests that got errors is marked as such (the service is reachable over the
   transport, but no test shows it succeeding there); empty cells are the gaps.

The test outcome does not change a mark (a failing test still exercised the path); the
run's pass/fail counts are printed in the document's header. Writes the Markdown and a JSON
twin (``docs/conformance.json``) with every test node ID per cell.
"""

from __future__ import annotations

import argparse
import datetime
import inspect
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
TRANSPORTS = ("XML", "TLS", "TR/87", "SOAP")
#: Cells that cannot exist: TR/87 has no ECMA-354 messages, the SIP dialog is the session
#: (TR/87 clause 7.1; docs/sessions.md). Shown as "n/a", not counted as gaps.
NOT_APPLICABLE = {
    ("StartApplicationSession", "TR/87"),
    ("StopApplicationSession", "TR/87"),
    ("ResetApplicationSessionTimer", "TR/87"),
}
_ROOT = re.compile(rb"<\s*(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)")

# -- the pytest plugin ---------------------------------------------------------------------------
_current: list[str] = [""]
# (kind, name, transport, outcome) -> set of node IDs
_records: dict[tuple[str, str, str, str], set[str]] = defaultdict(set)


def _root(body: bytes) -> str:
    pos = 0
    while True:
        match = _ROOT.search(body, pos)
        if match is None:
            return ""
        if body.startswith((b"<?", b"<!"), match.start()):
            pos = body.find(b">", match.start()) + 1
            if pos <= 0:
                return ""
            continue
        return match.group(1).decode("ascii", "replace")


def _transport(association: Any) -> str | None:
    carrier = getattr(association, "transport", None)
    module = type(carrier).__module__
    if module.startswith("cstaserver.xmlproto"):
        from twisted.internet.interfaces import ISSLTransport

        below = getattr(carrier, "transport", None)
        return "TLS" if below is not None and ISSLTransport.providedBy(below) else "XML"
    if module.startswith("cstaserver.sip"):
        return "TR/87"
    if module.startswith("cstaserver.soap"):
        return "SOAP"
    return None


def _install() -> None:
    from cstaserver.csta.association import Association
    from cstaserver.csta.core import CstaCore

    dispatch = CstaCore.dispatch
    deliver = Association.deliver_event

    def traced_dispatch(self: Any, association: Any, body: bytes, correlation: Any, answer: Any):
        transport = _transport(association)
        if transport is None or not _current[0]:
            return dispatch(self, association, body, correlation, answer)
        name = _root(body)
        node = _current[0]

        def traced_answer(data: bytes, corr: Any) -> Any:
            root = _root(data)
            bad = root == "CSTAErrorCode" or root.endswith("NegResponse")
            _records[("request", name, transport, "error" if bad else "ok")].add(node)
            return answer(data, corr)

        return dispatch(self, association, body, correlation, traced_answer)

    def traced_deliver(self: Any, data: bytes) -> Any:
        transport = _transport(self)
        if transport is not None and _current[0] and not self.closed:
            _records[("event", _root(data), transport, "ok")].add(_current[0])
        return deliver(self, data)

    CstaCore.dispatch = traced_dispatch  # type: ignore[method-assign]
    Association.deliver_event = traced_deliver  # type: ignore[method-assign]


def pytest_configure(config: Any) -> None:
    _install()


def pytest_runtest_protocol(item: Any, nextitem: Any) -> None:
    _current[0] = item.nodeid


def pytest_runtest_logreport(report: Any) -> None:
    if report.when == "call" or report.outcome != "passed":
        _outcomes[report.nodeid] = report.outcome


_outcomes: dict[str, str] = {}


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    path = os.environ.get("CONFORMANCE_TRACE")
    if not path:
        return
    Path(path).write_text(
        json.dumps(
            {
                "records": [[*key, sorted(nodes)] for key, nodes in _records.items()],
                "outcomes": _outcomes,
                "exitstatus": int(exitstatus),
            }
        )
    )


# -- the rows --------------------------------------------------------------------------------------
def service_rows() -> list[str]:
    from cstaserver.csta.core import default_services

    return [cls.__name__ for cls in default_services()]


def event_rows() -> list[tuple[str, str]]:
    """(switch event, ECMA-323 element) for each builder; the element is the message class
    the builder constructs (its source names it: ``csta_events.<Element>(``)."""
    from cstaserver.csta.events import BUILDERS

    rows = []
    for event, builder in BUILDERS.items():
        match = re.search(r"csta_events\.(\w+)\(", inspect.getsource(builder))
        rows.append((event.__name__, match.group(1) if match else f"{event.__name__}Event"))
    return rows


# -- the document ----------------------------------------------------------------------------------
def run_suite(trace: Path, pytest_args: list[str]) -> int:
    env = dict(os.environ)
    env["CONFORMANCE_TRACE"] = str(trace)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "tools"), str(REPO), env.get("PYTHONPATH", "")])
    command = [sys.executable, "-m", "pytest", "-p", "conformance", "-q", "-p", "no:cacheprovider"]
    command += pytest_args or ["tests"]
    print("$ " + " ".join(command[1:]), file=sys.stderr)
    return subprocess.run(command, cwd=REPO, env=env, check=False, timeout=3600).returncode


def cell(ok: set[str], error: set[str]) -> str:
    if ok:
        return f"✓ {len(ok)}"
    if error:
        return f"errors only ({len(error)})"
    return ""


def build(trace: dict[str, Any], pytest_args: list[str]) -> tuple[str, dict[str, Any]]:
    found: dict[tuple[str, str, str], dict[str, set[str]]] = defaultdict(
        lambda: {"ok": set(), "error": set()}
    )
    for kind, name, transport, outcome, nodes in trace["records"]:
        found[(kind, name, transport)][outcome].update(nodes)
    outcomes = trace["outcomes"]
    counts: dict[str, int] = defaultdict(int)
    for outcome in outcomes.values():
        counts[outcome] += 1

    services = service_rows()
    events = event_rows()
    header = "| | " + " | ".join(TRANSPORTS) + " |\n|---|" + "---|" * len(TRANSPORTS)
    lines: list[str] = []
    gaps: list[str] = []
    by_transport: dict[str, list[str]] = defaultdict(list)
    details: list[str] = []
    data: dict[str, Any] = {"services": {}, "events": {}}

    def section(kind: str, rows: list[tuple[str, str]]) -> list[str]:
        out = [header]
        for label, name in rows:
            marks = []
            entry: dict[str, Any] = {}
            for transport in TRANSPORTS:
                got = found.get((kind, name, transport), {"ok": set(), "error": set()})
                if (label, transport) in NOT_APPLICABLE and not got["ok"] and not got["error"]:
                    marks.append("n/a")
                    continue
                marks.append(cell(got["ok"], got["error"]))
                entry[transport] = {"ok": sorted(got["ok"]), "error": sorted(got["error"])}
                if not got["ok"]:
                    suffix = " (only error answers)" if got["error"] else ""
                    gaps.append(f"- {label} over {transport}{suffix}")
                    by_transport[transport].append(f"{label}{suffix}")
                proof = sorted(got["ok"]) or sorted(got["error"])
                if proof:
                    shown = ", ".join(f"`{n}`" for n in proof[:6])
                    more = f" and {len(proof) - 6} more" if len(proof) > 6 else ""
                    details.append(f"| {label} | {transport} | {shown}{more} |")
            data["services" if kind == "request" else "events"][label] = entry
            out.append(f"| {label} | " + " | ".join(marks) + " |")
        return out

    lines += ["## Services (`default_services()`)", ""]
    lines += section("request", [(s, s) for s in services])
    lines += ["", "## Events (`events.BUILDERS`)", ""]
    lines += section("event", [(element, element) for _event, element in events])
    now = datetime.datetime.now()
    total = sum(counts.values())
    doc = [
        "# Conformance: CSTA services and events x transports",
        "",
        "Generated by `tools/conformance.py` (`make conformance`) from a run of the test suite "
        f"on {now:%Y-%m-%d} (`pytest {' '.join(pytest_args) or 'tests'}`: {total} tests, "
        + ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
        + "). Do not edit by hand.",
        "",
        "A cell shows **✓ n**: n tests got a positive answer to the request over that "
        "transport (or received the event over it); **errors only (n)**: tests reached the "
        "service over the transport but every answer there was a `CSTAErrorCode` or "
        "NegResponse (error-path tests); **n/a**: the transport has no such message (ECMA-354 "
        "over TR/87, where the SIP dialog is the session); empty: no test covers it (a gap). "
        "The marks are "
        "recorded while the tests run: the script wraps `CstaCore.dispatch` and "
        "`Association.deliver_event` and files each request and event under the running test "
        "and the transport of its association (XML port, TLS, TR/87 dialog, SOAP channel). "
        "Tests of the core with in-memory doubles count for no transport. Which tests: the "
        "table at the end (up to six per cell) and `docs/conformance.json` (all of them).",
        "",
        *lines,
        "",
        f"## Gaps ({len(gaps)} cells)",
        "",
        *(
            [
                f"- **{transport}** ({len(by_transport[transport])}): "
                + ", ".join(by_transport[transport])
                for transport in TRANSPORTS
                if by_transport[transport]
            ]
            or ["None."]
        ),
        "",
        "## The tests behind each cell",
        "",
        "| row | transport | tests |",
        "|---|---|---|",
        *details,
        "",
    ]
    data["generated"] = now.isoformat(timespec="seconds")
    data["test_outcomes"] = dict(counts)
    data["gaps"] = [g[2:] for g in gaps]
    return "\n".join(doc), data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=str(REPO / "docs" / "conformance.md"))
    parser.add_argument("--trace", help="reuse a trace file instead of running the suite")
    parser.add_argument("--keep-trace", help="also write the raw trace to this file")
    args, pytest_args = parser.parse_known_args()
    if args.trace:
        trace = json.loads(Path(args.trace).read_text())
    else:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "trace.json"
            status = run_suite(path, pytest_args)
            if not path.exists():
                sys.exit(f"conformance: the test run wrote no trace (pytest exit {status})")
            trace = json.loads(path.read_text())
    if args.keep_trace:
        Path(args.keep_trace).write_text(json.dumps(trace))
    sys.path.insert(0, str(REPO))
    markdown, data = build(trace, pytest_args)
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(markdown)
    output.with_suffix(".json").write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {output} and {output.with_suffix('.json')} ({len(data['gaps'])} gaps)")


if __name__ == "__main__":
    main()
