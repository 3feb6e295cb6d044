"""Generate ``docs/scenarios.md``: every clause of ECMA TR/82 (Scenarios for CSTA Phase III)
with the tests that reproduce it, or why none does, from ``tools/scenarios_map.py``.

    .venv/bin/python tools/scenarios.py            # rewrite docs/scenarios.md (make scenarios)
    .venv/bin/python tools/scenarios.py --check    # exit 1 if a test is missing, a clause has
                                                   # neither tests nor a reason, or the
                                                   # document is not current

Each named test is checked by asking pytest to collect the files the map names
(``pytest --collect-only``): a node ID resolves when pytest collects exactly it, or, for a
parametrised test named without ``[...]``, its cases. ``tests/test_scenarios_doc.py`` runs
the same checks.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parent.parent


def _load_map() -> ModuleType:
    """``tools/scenarios_map.py`` (the tools directory is not a package)."""
    path = Path(__file__).resolve().parent / "scenarios_map.py"
    spec = importlib.util.spec_from_file_location("scenarios_map", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("scenarios_map", module)  # attrs resolves the classes by module
    spec.loader.exec_module(module)
    return module


scenarios_map = _load_map()
CLAUSES = scenarios_map.CLAUSES
FAMILIES = scenarios_map.FAMILIES
EDITION = scenarios_map.EDITION
WHY = scenarios_map.WHY
Clause = scenarios_map.Clause

DOCUMENT = REPO / "docs" / "scenarios.md"

#: Which part of the product a test exercises, from where it lives under tests/.
LAYERS = (
    ("tests/pbx/", "switch"),
    ("tests/csta/", "CSTA"),
    ("tests/xmlproto/", "XML"),
    ("tests/sip/", "TR/87"),
    ("tests/soap/", "SOAP"),
    ("tests/api/", "API"),
    ("tests/scenario/", "csta-sim"),
)


def everything() -> tuple[Clause, ...]:
    return CLAUSES + FAMILIES


def layers(tests: Iterable[str]) -> list[str]:
    found = {name for prefix, name in LAYERS for test in tests if test.startswith(prefix)}
    return [name for _, name in LAYERS if name in found]


# -- checks ----------------------------------------------------------------------------------
def collect(files: Iterable[str]) -> set[str]:
    """The node IDs pytest collects from ``files`` (relative to the repository)."""
    wanted = sorted({f for f in files if (REPO / f).is_file()})
    if not wanted:
        return set()
    command = [
        sys.executable,
        "-m",
        "pytest",
        "--collect-only",
        "-q",
        "-o",
        "addopts=",
        "-p",
        "no:cacheprovider",
        "--import-mode=importlib",
        *wanted,
    ]
    # a clean pytest: no -k/-m of the caller's PYTEST_ADDOPTS, no conformance trace to write
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "CONFORMANCE_TRACE")}
    done = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    return {line.strip() for line in done.stdout.splitlines() if "::" in line}


def unresolved(tests: Iterable[str], collected: set[str] | None = None) -> list[str]:
    """The node IDs among ``tests`` that name no collected test."""
    tests = list(tests)
    if collected is None:
        collected = collect(test.split("::")[0] for test in tests)
    missing = []
    for test in tests:
        if test in collected:
            continue
        if "[" not in test and any(c.startswith(test + "[") for c in collected):
            continue
        missing.append(test)
    return missing


def map_problems(clauses: Iterable[Clause] | None = None) -> list[str]:
    """What is wrong with the map itself (no pytest needed)."""
    clauses = list(everything() if clauses is None else clauses)
    found = []
    for key, count in Counter(c.key for c in clauses).items():
        if count > 1:
            found.append(f"{key}: listed {count} times")
    for c in clauses:
        if c.tests and (c.reason or c.why):
            found.append(f"{c.key}: has tests and a reason; give one (a note for what is missing)")
        elif not c.tests and not (c.reason and c.why in WHY):
            found.append(f"{c.key}: no test, and no reason with a why of {sorted(WHY)}")
        if c.note and not c.tests:
            found.append(f"{c.key}: a note needs tests (use reason)")
        for test in c.tests:
            if not test.startswith("tests/") or "::" not in test:
                found.append(f"{c.key}: {test!r} is not a pytest node ID under tests/")
            if "|" in test:
                found.append(f"{c.key}: {test!r} contains '|'")
        if "|" in c.title + c.reason + c.note:
            found.append(f"{c.key}: '|' breaks the table")
    return found


def problems(text: str | None = None) -> list[str]:
    """Everything ``--check`` reports: the map, the node IDs, the document."""
    found = map_problems()
    tests = [test for c in everything() for test in c.tests]
    found += [f"no such test: {test}" for test in unresolved(tests)]
    if text is None:
        text = DOCUMENT.read_text(encoding="utf-8") if DOCUMENT.exists() else ""
    if text != render():
        found.append(f"{DOCUMENT.relative_to(REPO)} is not current: run make scenarios")
    return found


# -- the document ----------------------------------------------------------------------------
def _cell(c: Clause) -> str:
    if c.tests:
        listed = "<br>".join(f"`{test}`" for test in c.tests)
        return listed + (f"<br>*Not shown:* {c.note}" if c.note else "")
    return c.reason


def _row(c: Clause, first: str) -> str:
    shown = ", ".join(layers(c.tests)) or "-"
    return f"| {first} | {c.title} | {c.status} | {shown} | {_cell(c)} |"


def render() -> str:
    everyone = everything()
    counts = Counter(c.status for c in everyone)
    order = ["reproduced", "partly reproduced", *WHY.values()]
    summary = ", ".join(f"{counts[s]} {s}" for s in order if counts[s])
    scenarios = [c for c in CLAUSES if c.why != "no-scenario"]
    covered = sum(1 for c in scenarios if c.tests)
    lines = [
        "# ECMA TR/82 scenarios: the tests that reproduce them",
        "",
        "Generated by `tools/scenarios.py` (`make scenarios`) from `tools/scenarios_map.py`. "
        "Do not edit by hand: add a test or a reason to the map and regenerate; "
        "`tests/test_scenarios_doc.py` fails while a named test does not exist, a clause has "
        "neither tests nor a reason, or this page is not current.",
        "",
        "Ecma TR/82 *Scenarios for Computer Supported Telecommunications Applications (CSTA) "
        "Phase III* shows, clause by clause, the CSTA services and events of typical call "
        "scenarios (ECMA-269 services, ECMA-323 messages). For each clause this page names "
        "the tests of this project that play the scenario and check its events, or says why "
        "none does. Run a clause's tests with `.venv/bin/python -m pytest -q NODE_ID ...` "
        "(each node ID as listed). Which services and events each transport carries is in "
        "[conformance.md](conformance.md); the event sequences this exchange produces are "
        "described in [devices.md](devices.md) and [call-features.md](call-features.md).",
        "",
        "**Shown by** says where the tests play the scenario: *switch* - the simulated "
        "exchange's own events (`tests/pbx`); *CSTA* - the ECMA-323 messages built from them "
        "(`tests/csta`); *XML* - requests and events over the XML port (`tests/xmlproto`); "
        "*TR/87* - a Lync-style client over SIP (`tests/sip`); *SOAP*; *API* - the JSON API "
        "that drives the simulated people (`tests/api`).",
        "",
        "## Where the clause list comes from",
        "",
        f"The clauses and titles below are those of **{EDITION}**, taken from its published "
        "table of contents. That contents could be read only up to clause 8.3: clauses 1 to "
        "8.2 are listed with their full titles; clause 8.3 exists but its title was seen only "
        "in part; the clauses after it (the report has 64 pages) could not be verified and "
        "are not numbered here. The scenario families this exchange models beyond clause 8, "
        "and those not yet modelled, are listed by subject in the second table, without "
        "clause numbers, until they can be checked against the report.",
        "",
        f"Scenarios of clauses 4 to 8: {covered} of {len(scenarios)} have tests. "
        f"All entries: {summary}.",
        "",
        "## Clauses 1 to 8.3",
        "",
        "| Clause | Scenario | Status | Shown by | Tests, or why none |",
        "|---|---|---|---|---|",
        *(_row(c, c.clause or c.key) for c in CLAUSES),
        "",
        "## Further scenario families (TR/82 clause numbers not verified)",
        "",
        "| Family | Scenario | Status | Shown by | Tests, or why none |",
        "|---|---|---|---|---|",
        *(_row(c, f"`{c.key}`") for c in FAMILIES),
        "",
        "*Not yet modelled*: features the simulated exchange does not offer yet; they are "
        "mapped here when they are. *Not modelled*: the simulated exchange behaves otherwise "
        "on purpose, for the reason given.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check; exit 1 on problems")
    args = parser.parse_args(argv)
    if args.check:
        found = problems()
        for problem in found:
            print(problem)
        return 1 if found else 0
    found = map_problems() + [
        f"no such test: {t}" for t in unresolved(t for c in everything() for t in c.tests)
    ]
    for problem in found:
        print(problem, file=sys.stderr)
    if found:
        return 1
    DOCUMENT.write_text(render(), encoding="utf-8")
    print(f"wrote {DOCUMENT.relative_to(REPO)} ({len(everything())} entries)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
